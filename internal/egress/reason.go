package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

const reasonTLS = "TLS handshake failed"

// Reason says in a few fixed words why a request got no answer: "timeout",
// "connection refused", "TLS handshake failed", "DNS lookup failed"... It is
// classified from the error's type, never copied from its text, which may
// quote what the far end sent or a URL with credentials; what it cannot
// classify is "request failed".
func Reason(err error) string {
	var (
		denied   *DeniedError
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		alert    tls.AlertError
		record   tls.RecordHeaderError
		netErr   net.Error
		opErr    *net.OpError
		tlsAlert = func() bool { return errors.As(err, &alert) }
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &denied):
		return "address not allowed by the egress policy"
	case errors.Is(err, ErrTooManyRedirects):
		return "too many redirects"
	case errors.Is(err, ErrRedirectDowngrade):
		return "redirect from https to http refused"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &dnsErr):
		return "DNS lookup failed"
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr), errors.As(err, &invalid):
		return "TLS certificate not trusted"
	case tlsAlert(), errors.As(err, &record):
		return reasonTLS
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed without an answer"
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return reasonTLS
	case isTLS(err):
		return reasonTLS
	}
	return "request failed"
}

// isTLS is true for crypto/tls's untyped handshake errors, which all begin
// with its "tls: " prefix; only that fixed prefix is looked at.
func isTLS(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.HasPrefix(e.Error(), "tls: ") {
			return true
		}
	}
	return false
}
