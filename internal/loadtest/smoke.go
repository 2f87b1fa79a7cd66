package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

const (
	// DefaultSmokeTimeout bounds each smoke request when the spec gives none.
	DefaultSmokeTimeout = 5 * time.Second
	// MaxSmokeTimeout bounds each smoke request whatever the spec says, so
	// that a candidate that never answers holds a test slot for a bounded
	// time. (The CRD's own bound on spec.analysis.smokeTest.timeout is #18
	// item 2's.)
	MaxSmokeTimeout = 30 * time.Second
	// smokeParallel is how many endpoints are smoke-tested at once; the
	// requests to one endpoint go in order.
	smokeParallel = 8
)

// SmokeResult is what a smoke test found.
type SmokeResult struct {
	// Passed is true when every request to every endpoint was answered as declared.
	Passed bool
	// Message is the first failure, such as "POST /predict to 10.0.0.12:8080
	// answered 500, expected 200".
	Message string
	// Checked counts the requests sent and judged, the failing one included.
	Checked int
}

// Smoke sends every declared request, in order, to each endpoint (a base URL
// such as http://10.0.0.12:8080), and checks each answer's status and JSON
// fields. It stops at the first failure. Each request is bounded by the
// spec's timeout (default 5s) and at most 1 MiB of each answer is read.
// Redirects are not followed: a redirect is the answer. A nil client means
// one from NewClient, closed afterwards; a client of the caller's should not
// use a proxy.
func Smoke(ctx context.Context, client *http.Client, targets []string, spec servingv1alpha1.SmokeTestSpec) SmokeResult {
	ts, err := parseTargets(targets)
	if err != nil {
		return SmokeResult{Message: err.Error()}
	}
	if len(spec.Requests) == 0 {
		return SmokeResult{Passed: true, Message: "no smoke requests are declared"}
	}
	timeout := smokeTimeout(spec)
	c, done := confined(client)
	defer done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu      sync.Mutex
		first   string
		checked int
		wg      sync.WaitGroup
	)
	sem := make(chan struct{}, smokeParallel)
	for _, t := range ts {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				return
			}
			n, msg := smokeTarget(ctx, c, t, spec.Requests, timeout)
			mu.Lock()
			defer mu.Unlock()
			checked += n
			if msg != "" && first == "" {
				first = msg
				cancel() // the others stop: one failure decides
			}
		})
	}
	wg.Wait()
	if first == "" && ctx.Err() != nil {
		first = "the smoke test was cancelled before it finished"
	}
	if first != "" {
		return SmokeResult{Message: first, Checked: checked}
	}
	return SmokeResult{
		Passed:  true,
		Message: fmt.Sprintf("%d requests to %d endpoints answered as declared", checked, len(ts)),
		Checked: checked,
	}
}

// smokeTimeout is the spec's timeout of each request, DefaultSmokeTimeout
// when it gives none, at most MaxSmokeTimeout.
func smokeTimeout(spec servingv1alpha1.SmokeTestSpec) time.Duration {
	if spec.Timeout == nil || spec.Timeout.Duration <= 0 {
		return DefaultSmokeTimeout
	}
	return min(spec.Timeout.Duration, MaxSmokeTimeout)
}

// smokeTarget sends the requests to one endpoint, in order, and returns how
// many were judged and the first failure.
func smokeTarget(ctx context.Context, c *http.Client, t target, reqs []servingv1alpha1.SmokeRequest, timeout time.Duration) (int, string) {
	for i, r := range reqs {
		if ctx.Err() != nil {
			return i, ""
		}
		if msg := smokeRequest(ctx, c, t, r, timeout); msg != "" {
			if ctx.Err() != nil {
				return i, "" // cancelled: not this request's failure
			}
			return i + 1, msg
		}
	}
	return len(reqs), ""
}

// smokeRequest sends one request and says how its answer differs from the
// declared one, or returns "".
func smokeRequest(ctx context.Context, c *http.Client, t target, r servingv1alpha1.SmokeRequest, timeout time.Duration) string {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	want := int(r.ExpectedStatus)
	if want == 0 {
		want = http.StatusOK
	}
	what := fmt.Sprintf("%s %s to %s", method, clip(r.Path, 128), t.host)
	u, err := t.url(r.Path)
	if err != nil {
		return what + ": " + err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return what + ": the request could not be made"
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return what + " " + describe(err, timeout)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return what + ": the answer could not be read: it " + describe(err, timeout)
	}
	if resp.StatusCode != want {
		return fmt.Sprintf("%s answered %d, expected %d", what, resp.StatusCode, want)
	}
	if len(r.ExpectedFields) == 0 {
		return ""
	}
	if len(b) > maxBody {
		return what + ": the answer is larger than 1 MiB"
	}
	doc, err := decodeJSON(b)
	if err != nil {
		// Neither the answer nor the parser's error, which quotes it.
		return what + ": the answer is not JSON"
	}
	for _, f := range r.ExpectedFields {
		if msg := checkField(doc, f.Path, f.Value); msg != "" {
			return what + ": " + msg
		}
	}
	return ""
}
