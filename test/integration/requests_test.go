package integration

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// apiRequest is one request the manager sent to the API server, as the
// audit log would name it.
type apiRequest struct {
	Verb, Resource, Name, Subresource string
	Code                              int
	// Body is what a write sent (JSON for patches, protobuf for creations).
	Body string
}

func (q apiRequest) String() string {
	res := q.Resource
	if q.Subresource != "" {
		res += "/" + q.Subresource
	}
	return fmt.Sprintf("%s %s %s %d", q.Verb, res, q.Name, q.Code)
}

// requestLog keeps the manager's requests by namespace: each story has a
// namespace of its own, so it reads its own requests only.
type requestLog struct {
	mu   sync.Mutex
	byNS map[string][]apiRequest
}

// managerRequests are the requests of the suite's manager (its client, its
// cache and its event recorder).
var managerRequests = &requestLog{byNS: map[string][]apiRequest{}}

// wrap is a rest.Config WrapTransport that logs every namespaced request.
func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		var body string
		if req.GetBody != nil && req.Method != http.MethodGet {
			if rc, err := req.GetBody(); err == nil {
				b, _ := io.ReadAll(rc)
				body = string(b)
			}
		}
		resp, err := rt.RoundTrip(req)
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		l.add(req, code, body)
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func (l *requestLog) add(req *http.Request, code int, body string) {
	// /api/v1/namespaces/<ns>/<resource>[/<name>[/<subresource>]] or
	// /apis/<group>/<version>/namespaces/<ns>/...
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	i := 0
	for i < len(parts) && parts[i] != "namespaces" {
		i++
	}
	if i+2 >= len(parts) {
		return // cluster-scoped, or a namespace itself
	}
	ns, rest := parts[i+1], parts[i+2:]
	q := apiRequest{Verb: req.Method, Resource: rest[0], Code: code, Body: body}
	if len(rest) > 1 {
		q.Name = rest[1]
	}
	if len(rest) > 2 {
		q.Subresource = rest[2]
	}
	if req.Method == http.MethodGet && req.URL.Query().Get("watch") == "true" {
		q.Verb = "WATCH"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byNS[ns] = append(l.byNS[ns], q)
}

// writes are the requests that change something.
func writes(qs []apiRequest) []apiRequest {
	var out []apiRequest
	for _, q := range qs {
		if q.Verb != http.MethodGet && q.Verb != "WATCH" {
			out = append(out, q)
		}
	}
	return out
}

// of is what the manager asked of a namespace so far.
func (l *requestLog) of(ns string) []apiRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]apiRequest(nil), l.byNS[ns]...)
}
