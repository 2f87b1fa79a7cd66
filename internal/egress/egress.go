package egress

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"
)

// defaultDenied are never reached on a spec's behalf: link-local ranges and
// the cloud metadata services, which hand out the node's credentials to
// whoever asks from inside the cluster.
var defaultDenied = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),     // IPv4 link-local; AWS, GCP, Azure and OpenStack metadata at 169.254.169.254
	netip.MustParsePrefix("fe80::/10"),          // IPv6 link-local
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata over IPv6
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
	netip.MustParsePrefix("192.0.0.192/32"),     // Oracle Cloud metadata (legacy address)
	netip.MustParsePrefix("168.63.129.16/32"),   // Azure WireServer
}

// DefaultDenied returns the ranges every Policy denies.
func DefaultDenied() []netip.Prefix { return slices.Clone(defaultDenied) }

// Policy is a deny list of address ranges, checked on every connection a
// Dialer makes, after DNS resolution: a name that resolves to a denied
// address, now or on a later lookup (DNS rebinding), is refused all the same.
type Policy struct {
	denied []netip.Prefix
}

// New returns a Policy denying DefaultDenied and extra, such as the cluster's
// pod and Service ranges.
func New(extra ...netip.Prefix) *Policy {
	p := &Policy{denied: DefaultDenied()}
	for _, e := range extra {
		p.denied = append(p.denied, e.Masked())
	}
	return p
}

// Denied returns the ranges the Policy denies.
func (p *Policy) Denied() []netip.Prefix { return slices.Clone(p.denied) }

// ParsePrefixes reads a comma-separated list of CIDRs or single addresses,
// such as "10.0.0.0/8,fd00::/8,192.168.1.1".
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR nor an IP address", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		pf, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR nor an IP address", f)
		}
		out = append(out, pf.Masked())
	}
	return out, nil
}

// DeniedError is the error of a connection to a denied address.
type DeniedError struct {
	Addr netip.Addr
}

func (e *DeniedError) Error() string {
	return "connecting to " + e.Addr.String() + " is not allowed by the egress policy"
}

// Check returns a *DeniedError when addr is in a denied range. An IPv4
// address written as IPv6 (::ffff:a.b.c.d) is checked as IPv4, and a zone is
// ignored, so neither form slips past an IPv4 or IPv6 range.
func (p *Policy) Check(addr netip.Addr) error {
	a := addr.Unmap().WithZone("")
	if !a.IsValid() {
		return &DeniedError{Addr: addr}
	}
	for _, d := range p.denied {
		if d.Contains(a) {
			return &DeniedError{Addr: a}
		}
	}
	return nil
}

// control is a net.Dialer's Control: it sees the resolved address just
// before the socket connects.
func (p *Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Not an address and port: fail closed.
		return &DeniedError{}
	}
	return p.Check(ap.Addr())
}

// Dialer returns a dialer that refuses the denied addresses.
func (p *Policy) Dialer() *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: p.control}
}

// Transport returns an HTTP transport that dials with Dialer and uses no
// proxy: a proxy would connect to the target itself, out of the deny list's
// reach. Redirects are not checked by the transport alone; use RoundTripper
// or Client for that.
func (p *Policy) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = p.Dialer().DialContext
	return t
}

// RoundTripper is Transport behind Guard: for a client whose credentials are
// added below the http.Client (a bearer-token RoundTripper), which
// CheckRedirect cannot strip.
func (p *Policy) RoundTripper() http.RoundTripper { return Guard(p.Transport()) }

// Client returns an HTTP client through RoundTripper that checks every
// redirect with CheckRedirect; timeout bounds a request, 0 for none.
func (p *Policy) Client(timeout time.Duration) *http.Client {
	return &http.Client{Transport: p.RoundTripper(), CheckRedirect: CheckRedirect, Timeout: timeout}
}
