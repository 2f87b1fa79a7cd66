package loadtest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modelgate/modelgate/internal/egress"
)

// maxBody is the most of an answer read: smoke answers are parsed from it,
// load answers drained up to it so the connection can be reused.
const maxBody = 1 << 20

// NewClient returns the client the tests should be sent with: it dials with
// dialer (the manager's goes through the egress policy; nil is a plain one),
// never goes through a proxy (a proxy would be a host other than the
// candidate), keeps enough idle connections per endpoint for an open-loop
// test, and has no overall timeout of its own (each request carries its own).
func NewClient(dialer *net.Dialer) *http.Client {
	if dialer == nil {
		dialer = &net.Dialer{}
	}
	d := *dialer
	d.Timeout, d.KeepAlive = 5*time.Second, 30*time.Second
	return &http.Client{Transport: &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          DefaultMaxInFlight,
		MaxIdleConnsPerHost:   DefaultMaxInFlight,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

// confined returns a copy of c that never follows a redirect: a redirect is
// the answer, so no request leaves the targets it was aimed at. When c is
// nil it makes a client with NewClient, and done closes its connections.
func confined(c *http.Client) (client *http.Client, done func()) {
	done = func() {}
	if c == nil {
		c = NewClient(nil)
		done = c.CloseIdleConnections
	}
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc, done
}

// target is one endpoint of the candidate, parsed.
type target struct {
	base *url.URL
	// host is the endpoint as messages name it, such as 10.0.0.12:8080.
	host string
}

// parseTargets parses base URLs such as http://10.0.0.12:8080.
func parseTargets(raw []string) ([]target, error) {
	if len(raw) == 0 {
		return nil, errors.New("the candidate has no ready endpoint to test")
	}
	out := make([]target, 0, len(raw))
	for _, r := range raw {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("endpoint %q is not a base URL such as http://10.0.0.12:8080", clip(r, 256))
		}
		out = append(out, target{base: u, host: u.Host})
	}
	return out, nil
}

// url is the target's URL for path (which starts with /, and may carry a
// query). It fails rather than return a URL on another host.
func (t target) url(path string) (string, error) {
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("path %q does not start with /", clip(path, 256))
	}
	raw := t.base.Scheme + "://" + t.base.Host + path
	u, err := url.Parse(raw)
	if err != nil || u.Host != t.base.Host || u.Scheme != t.base.Scheme || u.User != nil {
		return "", fmt.Errorf("path %q is not a path on the endpoint", clip(path, 256))
	}
	return raw, nil
}

// describe says why a request got no answer, in a few fixed words
// classified from the error (egress.Reason), never the error's text.
func describe(err error, timeout time.Duration) string {
	switch r := egress.Reason(err); r {
	case "timeout":
		return fmt.Sprintf("did not answer within %s", timeout)
	case "cancelled":
		return "was cancelled"
	case "connection refused":
		return "refused the connection"
	case "connection reset":
		return "reset the connection"
	default:
		return "failed: " + r
	}
}

// notSent is true for an error that happened before the request was written:
// the connection could not be made.
func notSent(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var de *net.DNSError
	return errors.As(err, &de)
}

// clip shortens s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
