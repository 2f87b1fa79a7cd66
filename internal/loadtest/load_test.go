package loadtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

var clk = clocktesting.NewFakePassiveClock(now)

func loadSpec(rps int32, d time.Duration, mut ...func(*servingv1alpha1.LoadTestSpec)) servingv1alpha1.LoadTestSpec {
	s := servingv1alpha1.LoadTestSpec{RPS: rps, Duration: &metav1.Duration{Duration: d}, Path: "/predict",
		MinAchievedPercent: "80"}
	for _, m := range mut {
		m(&s)
	}
	return s
}

func num(g Gomega, s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	g.Expect(err).NotTo(HaveOccurred())
	return v
}

func TestLoadPassesAgainstAFastServer(t *testing.T) {
	g := NewWithT(t)
	var mu sync.Mutex
	seen := map[string]int{}
	handler := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen[r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+string(b)]++
		mu.Unlock()
		_, _ = io.WriteString(w, prediction)
	}
	a, na := countingServer(t, handler)
	b, nb := countingServer(t, handler)
	spec := loadSpec(100, time.Second, func(s *servingv1alpha1.LoadTestSpec) {
		s.Body = `{"amount": 1}`
		s.MaxP95Milliseconds, s.MaxP99Milliseconds = ptr.To[int32](250), ptr.To[int32](500)
	})

	st := Load(context.Background(), nil, []string{a.URL, b.URL}, spec, "2.6.0", clk, Limits{})

	g.Expect(st.Verdict).To(Equal(servingv1alpha1.VerdictPass), st.Message)
	g.Expect(st.Message).To(BeEmpty())
	g.Expect(st.Version).To(Equal("2.6.0"))
	g.Expect(st.TargetRPS).To(BeEquivalentTo(100))
	g.Expect(st.Time.Time).To(Equal(now))
	g.Expect(st.Requests).To(BeEquivalentTo(100))
	g.Expect(st.ErrorPercent).To(Equal("0"))
	g.Expect(na.Load()).To(BeEquivalentTo(50), "round-robin")
	g.Expect(nb.Load()).To(BeEquivalentTo(50), "round-robin")
	g.Expect(seen).To(Equal(map[string]int{`POST /predict application/json {"amount": 1}`: 100}))
	g.Expect(num(g, st.AchievedRPS)).To(BeNumerically("~", 95, 5), "100 answers over the second the schedule took, or a little more")
	p50, p95, p99 := num(g, st.P50Ms), num(g, st.P95Ms), num(g, st.P99Ms)
	g.Expect(p50).To(BeNumerically(">", 0))
	g.Expect(p50).To(BeNumerically("<=", p95))
	g.Expect(p95).To(BeNumerically("<=", p99))
	g.Expect(p99).To(BeNumerically("<", 250))
}

func TestLoadMeasuresKnownLatency(t *testing.T) {
	g := NewWithT(t)
	// Every tenth request takes 120ms, the others 20ms: p50 is about 20ms,
	// p95 and p99 about 120ms.
	var n atomic.Int64
	s, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		d := 20 * time.Millisecond
		if n.Add(1)%10 == 0 {
			d = 120 * time.Millisecond
		}
		time.Sleep(d)
	})
	spec := loadSpec(100, time.Second, func(s *servingv1alpha1.LoadTestSpec) { s.MaxP95Milliseconds = ptr.To[int32](60) })

	st := Load(context.Background(), nil, []string{s.URL}, spec, "2.6.0", clk, Limits{})

	g.Expect(st.Verdict).To(Equal(servingv1alpha1.VerdictBreach))
	g.Expect(num(g, st.P50Ms)).To(BeNumerically(">=", 20))
	g.Expect(num(g, st.P50Ms)).To(BeNumerically("<", 60))
	g.Expect(num(g, st.P95Ms)).To(BeNumerically(">=", 120))
	g.Expect(num(g, st.P99Ms)).To(BeNumerically(">=", 120))
	g.Expect(st.Message).To(MatchRegexp(`^p95 1\d\d(\.\d+)?ms above maxP95Milliseconds 60$`))
}

func TestLoadBreachesOnASlowServer(t *testing.T) {
	g := NewWithT(t)
	s, _ := countingServer(t, func(http.ResponseWriter, *http.Request) { time.Sleep(30 * time.Millisecond) })
	// The deprecated spelling of the bounds still bounds.
	spec := loadSpec(50, 600*time.Millisecond, func(s *servingv1alpha1.LoadTestSpec) {
		s.P95Milliseconds, s.P99Milliseconds = ptr.To[int32](10), ptr.To[int32](1000) //nolint:staticcheck // the deprecated spelling, on purpose
	})

	st := Load(context.Background(), nil, []string{s.URL}, spec, "2.6.0", clk, Limits{})

	g.Expect(st.Verdict).To(Equal(servingv1alpha1.VerdictBreach))
	g.Expect(st.Message).To(MatchRegexp(`^p95 \d+(\.\d+)?ms above maxP95Milliseconds 10$`), "only the p95 bound is missed")
	g.Expect(num(g, st.P50Ms)).To(BeNumerically(">=", 30))
	g.Expect(st.Requests).To(BeEquivalentTo(30))
}

func TestLoadBreachesOnErrors(t *testing.T) {
	g := NewWithT(t)
	var n atomic.Int64
	s, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%10 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	})
	spec := loadSpec(100, time.Second, func(s *servingv1alpha1.LoadTestSpec) { s.MaxErrorPercent = "1" })

	st := Load(context.Background(), nil, []string{s.URL}, spec, "2.6.0", clk, Limits{})

	g.Expect(st.Verdict).To(Equal(servingv1alpha1.VerdictBreach))
	g.Expect(st.ErrorPercent).To(Equal("10"))
	g.Expect(st.Message).To(Equal("error percent 10 above maxErrorPercent 1 (10 answered 500)"))
	g.Expect(num(g, st.AchievedRPS)).To(BeNumerically(">=", 80), "answers with errors are answers")
}

func TestLoadIsOpenLoop(t *testing.T) {
	g := NewWithT(t)
	// The server takes twice the interval over each request: a closed loop
	// would send half the requests; an open loop sends every one on time.
	var mu sync.Mutex
	var arrivals []time.Time
	s, n := countingServer(t, func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		time.Sleep(40 * time.Millisecond)
	})

	st := Load(context.Background(), nil, []string{s.URL}, loadSpec(50, time.Second), "2.6.0", clk, Limits{})

	g.Expect(n.Load()).To(BeEquivalentTo(50))
	g.Expect(st.Requests).To(BeEquivalentTo(50))
	g.Expect(st.ErrorPercent).To(Equal("0"))
	g.Expect(arrivals[49].Sub(arrivals[0])).To(BeNumerically("<", 1200*time.Millisecond),
		"the 50 requests arrive over the second of the schedule, not the two a closed loop needs")
	g.Expect(num(g, st.P50Ms)).To(BeNumerically(">=", 40))
}

func TestLoadCapsTheRequestsInFlight(t *testing.T) {
	g := NewWithT(t)
	// The server never answers; the test sends 3 and counts the other 17 as
	// not sent. The timeout outlasts the schedule so no slot frees up.
	s, n := countingServer(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	lim := Limits{MaxInFlight: 3, RequestTimeout: 700 * time.Millisecond}

	st := Load(context.Background(), nil, []string{s.URL}, loadSpec(50, 400*time.Millisecond), "2.6.0", clk, lim)

	g.Expect(n.Load()).To(BeEquivalentTo(3))
	g.Expect(st.Requests).To(BeEquivalentTo(20))
	g.Expect(st.ErrorPercent).To(Equal("100"))
	g.Expect(st.Verdict).To(Equal(servingv1alpha1.VerdictBreach))
	g.Expect(st.Message).To(HavePrefix("error percent 100 above maxErrorPercent 1 (3 did not answer within 700ms, 17 not sent with 3 already in flight); " +
		"achieved 0 RPS, 0% of the target 50 RPS, below minAchievedPercent 80"))
}

func TestLoadStopsAtItsDurationAndOneTimeout(t *testing.T) {
	g := NewWithT(t)
	s, n := countingServer(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	lim := Limits{RequestTimeout: 300 * time.Millisecond}

	start := time.Now()
	st := Load(context.Background(), nil, []string{s.URL}, loadSpec(20, 500*time.Millisecond), "2.6.0", clk, lim)
	took := time.Since(start)

	g.Expect(took).To(BeNumerically(">=", 450*time.Millisecond))
	g.Expect(took).To(BeNumerically("<", 500*time.Millisecond+300*time.Millisecond+300*time.Millisecond), "hard stop")
	g.Expect(n.Load()).To(BeEquivalentTo(10))
	g.Expect(st.Verdict).To(Equal(servingv1alpha1.VerdictBreach))
	g.Expect(st.Message).To(HavePrefix("error percent 100 above maxErrorPercent 1 (10 did not answer within 300ms)"))
	g.Expect(num(g, st.P50Ms)).To(BeNumerically(">=", 300), "a request given up counts at its timeout")
}

func TestLoadStopsAtTheRequestCap(t *testing.T) {
	g := NewWithT(t)
	s, n := countingServer(t, nil)

	st := Load(context.Background(), nil, []string{s.URL}, loadSpec(100, 10*time.Minute), "2.6.0", clk, Limits{MaxRequests: 30})

	g.Expect(n.Load()).To(BeEquivalentTo(30))
	g.Expect(st.Requests).To(BeEquivalentTo(30))
	g.Expect(st.Verdict).To(Equal(servingv1alpha1.VerdictPass))
	g.Expect(st.Message).To(Equal("stopped at the cap of 30 requests, after 300ms of the 10m0s declared"))
}

func TestLoadNeverLeavesTheTargets(t *testing.T) {
	g := NewWithT(t)
	elsewhere, hits := countingServer(t, nil)
	s, n := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/predict", http.StatusFound)
	})

	st := Load(context.Background(), http.DefaultClient, []string{s.URL}, loadSpec(50, 200*time.Millisecond), "2.6.0", clk, Limits{})

	g.Expect(n.Load()).To(BeEquivalentTo(10))
	g.Expect(hits.Load()).To(BeZero())
	g.Expect(st.Message).To(HavePrefix("error percent 100 above maxErrorPercent 1 (10 answered 302)"))
}

func TestLoadErrsWhenNothingCanBeSent(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	for _, tc := range []struct {
		name    string
		targets []string
		spec    servingv1alpha1.LoadTestSpec
		want    string
	}{{
		name: "no endpoint",
		spec: loadSpec(10, time.Second),
		want: "the load test could not start: the candidate has no ready endpoint to test",
	}, {
		name:    "endpoint down",
		targets: []string{down.URL},
		spec:    loadSpec(10, 300*time.Millisecond),
		want:    "no request could be sent: 3 failed on the connection (the first refused the connection)",
	}, {
		name:    "bad bound",
		targets: []string{down.URL},
		spec:    loadSpec(10, time.Second, func(s *servingv1alpha1.LoadTestSpec) { s.MaxErrorPercent = "lots" }),
		want:    `the load test could not start: maxErrorPercent "lots" is not a percent from 0 to 100`,
	}, {
		name:    "bad path",
		targets: []string{down.URL},
		spec:    loadSpec(10, time.Second, func(s *servingv1alpha1.LoadTestSpec) { s.Path = "predict" }),
		want:    `the load test could not start: path "predict" does not start with /`,
	}, {
		name:    "no rate",
		targets: []string{down.URL},
		spec:    loadSpec(0, time.Second),
		want:    "the load test could not start: rps 0 is not a positive rate",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			st := Load(context.Background(), nil, tc.targets, tc.spec, "2.6.0", clk, Limits{})
			g.Expect(st.Verdict).To(Equal(servingv1alpha1.VerdictError))
			g.Expect(st.Message).To(Equal(tc.want))
			g.Expect(st.Time.Time).To(Equal(now))
			g.Expect(st.P95Ms).To(Equal("0"))
		})
	}
}

func TestLoadStopsWhenCancelled(t *testing.T) {
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	s, _ := countingServer(t, func(http.ResponseWriter, *http.Request) { once.Do(cancel) })

	start := time.Now()
	st := Load(ctx, nil, []string{s.URL}, loadSpec(100, time.Minute), "2.6.0", clk, Limits{})

	g.Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second))
	g.Expect(st.Verdict).To(Equal(servingv1alpha1.VerdictError))
	g.Expect(st.Message).To(MatchRegexp(`^the load test was cancelled after \d+ of 6000 requests$`))
}

func TestLoadDefaults(t *testing.T) {
	g := NewWithT(t)
	p, err := newPlan(servingv1alpha1.LoadTestSpec{RPS: 50}, Limits{}.withDefaults())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.duration).To(Equal(time.Minute))
	g.Expect(p.requests).To(BeEquivalentTo(3000))
	g.Expect(p.path).To(Equal("/predict"))
	g.Expect(p.method).To(Equal(http.MethodGet))
	g.Expect(p.bounds).To(Equal(bounds{maxErrorPercent: 1, minAchievedPercent: 95, timeout: 5 * time.Second, maxInFlight: 512}))
	g.Expect(p.offset(1)).To(Equal(20 * time.Millisecond))

	p, err = newPlan(servingv1alpha1.LoadTestSpec{RPS: 3, Duration: &metav1.Duration{Duration: 100 * time.Millisecond}}, Limits{}.withDefaults())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.requests).To(BeEquivalentTo(1), "at least one request")
}

func TestLoadLeavesNoGoroutineBehind(t *testing.T) {
	g := NewWithT(t)
	s, _ := countingServer(t, nil)
	hanging, _ := countingServer(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	before := runtime.NumGoroutine()

	Load(context.Background(), nil, []string{s.URL, hanging.URL}, loadSpec(100, 200*time.Millisecond), "2.6.0", clk,
		Limits{RequestTimeout: 100 * time.Millisecond})
	Smoke(context.Background(), nil, []string{s.URL}, smokeSpec(servingv1alpha1.SmokeRequest{Path: "/"}))

	g.Eventually(runtime.NumGoroutine).Should(BeNumerically("<=", before),
		"the requests' goroutines and the connections of the client made for the test are gone")
}
