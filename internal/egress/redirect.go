package egress

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
)

const schemeHTTPS = "https"

// MaxRedirects is the most redirects a request follows.
const MaxRedirects = 3

// Errors of a refused redirect.
var (
	ErrTooManyRedirects  = errors.New("too many redirects")
	ErrRedirectDowngrade = errors.New("redirect from https to http")
)

// credentialHeaders are never sent to a host other than the one first asked.
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie"}

// CheckRedirect is an http.Client's CheckRedirect: at most MaxRedirects
// redirects, none from https to http anywhere in the chain, and no
// credential header sent to a host other than the first request's (net/http
// keeps them for a subdomain; a subdomain may be another tenant's).
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	if len(via) > MaxRedirects {
		return ErrTooManyRedirects
	}
	if req.URL.Scheme != schemeHTTPS {
		for _, v := range via {
			if v.URL.Scheme == schemeHTTPS {
				return ErrRedirectDowngrade
			}
		}
	}
	if hostPort(req.URL) != hostPort(via[0].URL) {
		for _, h := range credentialHeaders {
			req.Header.Del(h)
		}
	}
	return nil
}

// hostPort is u's host and port, the port made explicit, lower-cased.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == schemeHTTPS {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// Guard wraps next so that a request made to follow a redirect is checked
// as CheckRedirect does, below any RoundTripper that adds credentials above
// it: the client's own CheckRedirect cannot strip a header added after it.
func Guard(next http.RoundTripper) http.RoundTripper { return guard{next: next} }

type guard struct{ next http.RoundTripper }

func (g guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Response == nil {
		return g.next.RoundTrip(req)
	}
	// The chain of requests that led here, first one first.
	var via []*http.Request
	for r := req.Response.Request; r != nil; {
		via = append([]*http.Request{r}, via...)
		if r.Response == nil {
			break
		}
		r = r.Response.Request
	}
	out := req.Clone(req.Context())
	if err := CheckRedirect(out, via); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return g.next.RoundTrip(out)
}
