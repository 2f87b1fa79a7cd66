package loadtest

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func ms(v ...float64) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x * float64(time.Millisecond))
	}
	return out
}

// hundred is 100 latencies: 1ms to 100ms.
func hundred() []time.Duration {
	out := make([]time.Duration, 100)
	for i := range out {
		out[i] = time.Duration(100-i) * time.Millisecond
	}
	return out
}

func TestPercentiles(t *testing.T) {
	g := NewWithT(t)
	g.Expect(percentileMs(nil, 95)).To(BeZero())
	g.Expect(percentileMs(ms(7), 50)).To(BeEquivalentTo(7))
	g.Expect(percentileMs(ms(7), 99)).To(BeEquivalentTo(7))
	g.Expect(percentileMs(ms(1, 2, 3, 4), 50)).To(BeEquivalentTo(2), "nearest rank: the 2nd of 4")
	g.Expect(percentileMs(ms(1, 2, 3, 4), 95)).To(BeEquivalentTo(4))

	f := tally{scheduled: 100, ok: 100, latencies: hundred(), elapsed: time.Second}.figures()
	g.Expect(f).To(Equal(figures{achievedRPS: 100, errorPercent: 0, p50: 50, p95: 95, p99: 99}))
}

func TestDecimal(t *testing.T) {
	g := NewWithT(t)
	g.Expect(decimal(412.5749, 2)).To(Equal("412.57"))
	g.Expect(decimal(49.6, 1)).To(Equal("49.6"))
	g.Expect(decimal(12, 2)).To(Equal("12"))
	g.Expect(decimal(0.004, 2)).To(Equal("0"))
	g.Expect(decimal(99.96, 1)).To(Equal("100"))
}

func TestJudge(t *testing.T) {
	base := plan{rps: 100, duration: time.Second, requests: 100, bounds: bounds{
		p95Ms: 250, p99Ms: 500, maxErrorPercent: 1, minAchievedPercent: 95, timeout: 5 * time.Second, maxInFlight: 512,
	}}
	good := func() tally {
		return tally{scheduled: 100, ok: 100, latencies: hundred(), window: time.Second, elapsed: time.Second}
	}
	for _, tc := range []struct {
		name        string
		plan        func(*plan)
		tally       func(*tally)
		want        servingv1alpha1.Verdict
		wantMessage string
	}{{
		name: "every bound met",
		want: servingv1alpha1.VerdictPass,
	}, {
		name:        "p95 above its bound",
		plan:        func(p *plan) { p.bounds.p95Ms = 90 },
		want:        servingv1alpha1.VerdictBreach,
		wantMessage: "p95 95ms above maxP95Milliseconds 90",
	}, {
		name:  "p95 on its bound passes",
		plan:  func(p *plan) { p.bounds.p95Ms = 95 },
		want:  servingv1alpha1.VerdictPass,
		tally: func(*tally) {},
	}, {
		name:        "p99 above its bound",
		plan:        func(p *plan) { p.bounds.p99Ms = 98 },
		want:        servingv1alpha1.VerdictBreach,
		wantMessage: "p99 99ms above maxP99Milliseconds 98",
	}, {
		name: "no latency bounds declared",
		plan: func(p *plan) { p.bounds.p95Ms, p.bounds.p99Ms = 0, 0 },
		tally: func(t *tally) {
			t.latencies = ms(9000)
		},
		want: servingv1alpha1.VerdictPass,
	}, {
		name: "errors above the bound, by kind",
		tally: func(t *tally) {
			t.ok = 90
			t.codes = map[int16]int64{503: 2, 500: 5}
			t.timeouts, t.broken, t.dropped, t.firstErr = 1, 1, 1, "reset the connection"
		},
		want: servingv1alpha1.VerdictBreach,
		wantMessage: "error percent 10 above maxErrorPercent 1 (5 answered 500, 2 answered 503, 1 did not answer within 5s, " +
			"1 failed on the connection (the first reset the connection), 1 not sent with 512 already in flight); " +
			"achieved 97 RPS, 97% of the target 100 RPS, below minAchievedPercent 98",
		plan: func(p *plan) { p.bounds.minAchievedPercent = 98 },
	}, {
		name:        "errors on the bound pass",
		tally:       func(t *tally) { t.ok, t.codes = 99, map[int16]int64{500: 1} },
		want:        servingv1alpha1.VerdictPass,
		wantMessage: "",
	}, {
		name:        "requests not sent under a lenient error bound are noted",
		plan:        func(p *plan) { p.bounds.maxErrorPercent = 50 },
		tally:       func(t *tally) { t.ok, t.dropped = 96, 4 },
		want:        servingv1alpha1.VerdictPass,
		wantMessage: "4 requests not sent with 512 already in flight",
	}, {
		name:        "achieved rate too low",
		tally:       func(t *tally) { t.elapsed = 1250 * time.Millisecond },
		want:        servingv1alpha1.VerdictBreach,
		wantMessage: "achieved 80 RPS, 80% of the target 100 RPS, below minAchievedPercent 95",
	}, {
		name:        "cut at the request cap",
		plan:        func(p *plan) { p.cut, p.duration = true, time.Hour },
		want:        servingv1alpha1.VerdictPass,
		wantMessage: "stopped at the cap of 100 requests, after 1s of the 1h0m0s declared",
	}, {
		name:        "nothing sent",
		tally:       func(t *tally) { *t = tally{scheduled: 100, notSent: 100, firstErr: "refused the connection"} },
		want:        servingv1alpha1.VerdictError,
		wantMessage: "no request could be sent: 100 failed on the connection (the first refused the connection)",
	}, {
		name:        "cancelled",
		tally:       func(t *tally) { t.scheduled, t.cancelled = 40, true },
		want:        servingv1alpha1.VerdictError,
		wantMessage: "the load test was cancelled after 40 of 100 requests",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			p, ta := base, good()
			if tc.plan != nil {
				tc.plan(&p)
			}
			if tc.tally != nil {
				tc.tally(&ta)
			}
			verdict, msg := judge(p, ta)
			g.Expect(verdict).To(Equal(tc.want))
			g.Expect(msg).To(Equal(tc.wantMessage))
		})
	}
}

func TestSetFigures(t *testing.T) {
	g := NewWithT(t)
	st := &servingv1alpha1.LoadTestStatus{}
	setFigures(st, tally{scheduled: 3, ok: 2, timeouts: 1, latencies: ms(1.234, 20, 5000), elapsed: 1500 * time.Millisecond})
	g.Expect(*st).To(Equal(servingv1alpha1.LoadTestStatus{
		Requests: 3, AchievedRPS: "1.3", ErrorPercent: "33.33", P50Ms: "20", P95Ms: "5000", P99Ms: "5000",
	}))
}
