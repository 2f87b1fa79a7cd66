package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// Defaults of a load test, where the spec or the Limits say nothing.
const (
	DefaultLoadDuration       = time.Minute
	DefaultLoadPath           = "/predict"
	DefaultMaxErrorPercent    = 1.0
	DefaultMinAchievedPercent = 95.0

	DefaultRequestTimeout = 5 * time.Second
	DefaultMaxInFlight    = 512
	DefaultMaxRequests    = 200_000
)

// Limits bound a load test whatever its spec asks. Zero fields take the defaults.
type Limits struct {
	// RequestTimeout is how long after its scheduled time a request is given
	// up and counted as failed. The load test ends at the latest this long
	// after its duration. Default 5s.
	RequestTimeout time.Duration
	// MaxInFlight caps the requests awaiting an answer; a request whose time
	// comes while the cap is reached is not sent and counts as failed.
	// Default 512.
	MaxInFlight int
	// MaxRequests caps the requests of one test: a test that would send more
	// stops when it has sent this many, at its rate. Default 200,000.
	MaxRequests int64
}

func (l Limits) withDefaults() Limits {
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = DefaultRequestTimeout
	}
	if l.MaxInFlight <= 0 {
		l.MaxInFlight = DefaultMaxInFlight
	}
	if l.MaxRequests <= 0 {
		l.MaxRequests = DefaultMaxRequests
	}
	return l
}

// plan is a load test's spec with its defaults filled in.
type plan struct {
	rps      int64
	duration time.Duration
	requests int64
	// cut is true when MaxRequests made requests fewer than rps × duration.
	cut    bool
	method string
	path   string
	body   string
	bounds bounds
}

// bounds are the declared bounds a load test is judged against.
type bounds struct {
	p95Ms, p99Ms       float64 // 0: not declared
	maxErrorPercent    float64
	minAchievedPercent float64
	timeout            time.Duration
	maxInFlight        int
}

func newPlan(spec servingv1alpha1.LoadTestSpec, lim Limits) (plan, error) {
	p := plan{rps: int64(spec.RPS), duration: DefaultLoadDuration, method: http.MethodGet, path: spec.Path, body: spec.Body}
	if p.rps <= 0 {
		return p, fmt.Errorf("rps %d is not a positive rate", spec.RPS)
	}
	if spec.Duration != nil {
		p.duration = spec.Duration.Duration
	}
	if p.duration <= 0 {
		return p, fmt.Errorf("duration %s is not positive", p.duration)
	}
	if p.path == "" {
		p.path = DefaultLoadPath
	}
	if p.body != "" {
		p.method = http.MethodPost
	}
	p.requests = max(1, int64(float64(p.rps)*p.duration.Seconds()))
	if p.requests > lim.MaxRequests {
		p.requests, p.cut = lim.MaxRequests, true
	}
	b := bounds{timeout: lim.RequestTimeout, maxInFlight: lim.MaxInFlight}
	if v := spec.P95Bound(); v != nil {
		b.p95Ms = float64(*v)
	}
	if v := spec.P99Bound(); v != nil {
		b.p99Ms = float64(*v)
	}
	var err error
	if b.maxErrorPercent, err = percent("maxErrorPercent", spec.MaxErrorPercent, DefaultMaxErrorPercent); err != nil {
		return p, err
	}
	if b.minAchievedPercent, err = percent("minAchievedPercent", spec.MinAchievedPercent, DefaultMinAchievedPercent); err != nil {
		return p, err
	}
	p.bounds = b
	return p, nil
}

// percent parses a Percent, "" being def.
func percent(name string, p servingv1alpha1.Percent, def float64) (float64, error) {
	if p == "" {
		return def, nil
	}
	v, err := strconv.ParseFloat(string(p), 64)
	if err != nil || v < 0 || v > 100 {
		return 0, fmt.Errorf("%s %q is not a percent from 0 to 100", name, clip(string(p), 32))
	}
	return v, nil
}

// offset is when request i is due, from the start.
func (p plan) offset(i int64) time.Duration {
	return time.Duration(i * int64(time.Second) / p.rps)
}

// Load drives open-loop load at the endpoints (base URLs such as
// http://10.0.0.12:8080), round-robin, at spec.RPS for spec.Duration, and
// judges what it measured against the spec's bounds. Requests go out on
// schedule whether or not earlier ones were answered, and each request's
// latency runs from the time it was due, so a server that stalls is not
// spared the requests it would have received. The test sends at most
// lim.MaxRequests requests, at most lim.MaxInFlight at once, and returns at
// the latest lim.RequestTimeout after its duration. Redirects are not
// followed; a nil client means one from NewClient, closed afterwards. The
// status's time comes from clk; the schedule and the latencies
// from the monotonic clock.
func Load(ctx context.Context, client *http.Client, targets []string, spec servingv1alpha1.LoadTestSpec,
	version string, clk clock.PassiveClock, lim Limits) *servingv1alpha1.LoadTestStatus {
	lim = lim.withDefaults()
	st := &servingv1alpha1.LoadTestStatus{Version: version, TargetRPS: spec.RPS}
	p, err := newPlan(spec, lim)
	var urls []string
	if err == nil {
		urls, err = loadURLs(targets, p.path)
	}
	if err != nil {
		setFigures(st, tally{})
		st.Verdict, st.Message = servingv1alpha1.VerdictError, "the load test could not start: "+err.Error()
	} else {
		c, done := confined(client)
		t := runOpenLoop(ctx, c, urls, p, lim)
		done()
		setFigures(st, t)
		st.Verdict, st.Message = judge(p, t)
	}
	st.Time = metav1.NewTime(clk.Now())
	return st
}

func loadURLs(targets []string, path string) ([]string, error) {
	ts, err := parseTargets(targets)
	if err != nil {
		return nil, err
	}
	urls := make([]string, len(ts))
	for i, t := range ts {
		if urls[i], err = t.url(path); err != nil {
			return nil, err
		}
	}
	return urls, nil
}

// outcome of one load request.
type outcome uint8

const (
	outcomeOK       outcome = iota // answered 2xx
	outcomeStatus                  // answered another status
	outcomeTimeout                 // not answered within the timeout
	outcomeBroken                  // sent, then the connection failed
	outcomeNotSent                 // the connection could not be made
	outcomeDropped                 // not sent: MaxInFlight reached
	outcomeCanceled                // the test was cancelled
)

// shot is one load request's result.
type shot struct {
	// latency from the time the request was due to the end of its answer, or
	// to when it was given up.
	latency time.Duration
	code    int16
	outcome outcome
}

// runOpenLoop sends p.requests requests on schedule and tallies them.
func runOpenLoop(ctx context.Context, c *http.Client, urls []string, p plan, lim Limits) tally {
	shots := make([]shot, p.requests)
	sem := make(chan struct{}, lim.MaxInFlight)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr string
	)
	noteErr := func(s string) { errOnce.Do(func() { firstErr = s }) }
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	var i int64
	for ; i < p.requests; i++ {
		due := start.Add(p.offset(i))
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
			n := i // i outlives the iteration
			wg.Go(func() {
				defer func() { <-sem }()
				shots[n] = fire(ctx, c, urls[n%int64(len(urls))], p, due, lim.RequestTimeout, noteErr)
			})
		default:
			shots[i] = shot{outcome: outcomeDropped}
		}
	}
	wg.Wait()
	t := tally{scheduled: i, window: p.offset(i), cancelled: ctx.Err() != nil, firstErr: firstErr}
	t.add(shots[:i], p)
	t.elapsed = max(t.elapsed, t.window)
	return t
}

// fire sends one request due at due and waits for its answer, giving up
// timeout after due.
func fire(ctx context.Context, c *http.Client, u string, p plan, due time.Time, timeout time.Duration, noteErr func(string)) shot {
	ctx, cancel := context.WithDeadline(ctx, due.Add(timeout))
	defer cancel()
	var body io.Reader
	if p.body != "" {
		body = strings.NewReader(p.body)
	}
	req, err := http.NewRequestWithContext(ctx, p.method, u, body)
	if err != nil {
		noteErr("the request could not be made")
		return shot{outcome: outcomeNotSent}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		_ = resp.Body.Close()
	}
	s := shot{latency: time.Since(due)}
	switch {
	case err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300:
		s.outcome, s.code = outcomeOK, int16(resp.StatusCode)
	case err == nil:
		s.outcome, s.code = outcomeStatus, int16(resp.StatusCode)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		s.outcome = outcomeTimeout
	case ctx.Err() != nil:
		s.outcome = outcomeCanceled
	case notSent(err):
		s.outcome = outcomeNotSent
		noteErr(describe(err, timeout))
	default:
		s.outcome = outcomeBroken
		noteErr(describe(err, timeout))
	}
	return s
}
