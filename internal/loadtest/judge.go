package loadtest

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// tally counts a load test's requests by outcome.
type tally struct {
	// scheduled counts the requests whose time came.
	scheduled int64
	ok        int64
	timeouts  int64
	broken    int64
	notSent   int64
	dropped   int64
	canceled  int64
	// codes counts the answers outside 2xx, by status.
	codes map[int16]int64
	// latencies of the requests sent and answered or given up.
	latencies []time.Duration
	// window is when the last request was due, from the start; elapsed is
	// when the last answer came, at least window.
	window, elapsed time.Duration
	cancelled       bool
	// firstErr says how the first failed connection failed.
	firstErr string
}

// add counts shots, shot i being due at p.offset(i).
func (t *tally) add(shots []shot, p plan) {
	t.latencies = make([]time.Duration, 0, len(shots))
	for i, s := range shots {
		switch s.outcome {
		case outcomeOK, outcomeStatus:
			if s.outcome == outcomeOK {
				t.ok++
			} else {
				if t.codes == nil {
					t.codes = map[int16]int64{}
				}
				t.codes[s.code]++
			}
			t.elapsed = max(t.elapsed, p.offset(int64(i))+s.latency)
		case outcomeTimeout:
			t.timeouts++
		case outcomeBroken:
			t.broken++
		case outcomeNotSent:
			t.notSent++
		case outcomeDropped:
			t.dropped++
		case outcomeCanceled:
			t.canceled++
		}
		switch s.outcome {
		case outcomeOK, outcomeStatus, outcomeTimeout, outcomeBroken:
			t.latencies = append(t.latencies, s.latency)
		}
	}
}

// answered counts the requests that got an HTTP answer, whatever its status.
func (t tally) answered() int64 {
	n := t.ok
	for _, c := range t.codes {
		n += c
	}
	return n
}

// failed counts the requests that count as errors.
func (t tally) failed() int64 {
	return t.answered() - t.ok + t.timeouts + t.broken + t.notSent + t.dropped
}

// figures are what a load test measured.
type figures struct {
	achievedRPS   float64
	errorPercent  float64
	p50, p95, p99 float64 // milliseconds
}

func (t tally) figures() figures {
	var f figures
	if t.elapsed > 0 {
		f.achievedRPS = float64(t.answered()) / t.elapsed.Seconds()
	}
	if t.scheduled > 0 {
		f.errorPercent = 100 * float64(t.failed()) / float64(t.scheduled)
	}
	sorted := slices.Clone(t.latencies)
	slices.Sort(sorted)
	f.p50, f.p95, f.p99 = percentileMs(sorted, 50), percentileMs(sorted, 95), percentileMs(sorted, 99)
	return f
}

// percentileMs is the nearest-rank q-th percentile of sorted, in
// milliseconds: the smallest latency at least q percent of them do not exceed.
func percentileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return float64(sorted[rank-1]) / float64(time.Millisecond)
}

// setFigures writes what t measured into st.
func setFigures(st *servingv1alpha1.LoadTestStatus, t tally) {
	f := t.figures()
	st.Requests = t.scheduled
	st.AchievedRPS = decimal(f.achievedRPS, 1)
	st.ErrorPercent = decimal(f.errorPercent, 2)
	st.P50Ms, st.P95Ms, st.P99Ms = decimal(f.p50, 2), decimal(f.p95, 2), decimal(f.p99, 2)
}

// judge gives a load test's verdict and says which bounds were missed.
func judge(p plan, t tally) (servingv1alpha1.Verdict, string) {
	sent := t.answered() + t.timeouts + t.broken
	switch {
	case t.cancelled:
		return servingv1alpha1.VerdictError, fmt.Sprintf("the load test was cancelled after %d of %d requests", t.scheduled, p.requests)
	case sent == 0:
		return servingv1alpha1.VerdictError, "no request could be sent: " + t.failures(p.bounds)
	}
	b := p.bounds
	f := t.figures()
	var missed, notes []string
	if f.errorPercent > b.maxErrorPercent {
		missed = append(missed, fmt.Sprintf("error percent %s above maxErrorPercent %s (%s)",
			decimal(f.errorPercent, 2), decimal(b.maxErrorPercent, 2), t.failures(b)))
	} else if t.dropped > 0 {
		notes = append(notes, fmt.Sprintf("%d requests not sent with %d already in flight", t.dropped, b.maxInFlight))
	}
	if b.p95Ms > 0 && f.p95 > b.p95Ms {
		missed = append(missed, fmt.Sprintf("p95 %sms above maxP95Milliseconds %s", decimal(f.p95, 2), decimal(b.p95Ms, 0)))
	}
	if b.p99Ms > 0 && f.p99 > b.p99Ms {
		missed = append(missed, fmt.Sprintf("p99 %sms above maxP99Milliseconds %s", decimal(f.p99, 2), decimal(b.p99Ms, 0)))
	}
	if achieved := 100 * f.achievedRPS / float64(p.rps); achieved < b.minAchievedPercent {
		missed = append(missed, fmt.Sprintf("achieved %s RPS, %s%% of the target %d RPS, below minAchievedPercent %s",
			decimal(f.achievedRPS, 1), decimal(achieved, 1), p.rps, decimal(b.minAchievedPercent, 2)))
	}
	if p.cut {
		notes = append(notes, fmt.Sprintf("stopped at the cap of %d requests, after %s of the %s declared",
			p.requests, t.window.Round(time.Millisecond), p.duration))
	}
	msg := strings.Join(append(missed, notes...), "; ")
	if len(missed) > 0 {
		return servingv1alpha1.VerdictBreach, msg
	}
	return servingv1alpha1.VerdictPass, msg
}

// failures says how the failed requests failed, such as "52 answered 500,
// 3 did not answer within 5s".
func (t tally) failures(b bounds) string {
	var parts []string
	codes := make([]int16, 0, len(t.codes))
	for c := range t.codes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d answered %d", t.codes[c], c))
	}
	if t.timeouts > 0 {
		parts = append(parts, fmt.Sprintf("%d did not answer within %s", t.timeouts, b.timeout))
	}
	if n := t.broken + t.notSent; n > 0 {
		parts = append(parts, fmt.Sprintf("%d failed on the connection (the first %s)", n, t.firstErr))
	}
	if t.dropped > 0 {
		parts = append(parts, fmt.Sprintf("%d not sent with %d already in flight", t.dropped, b.maxInFlight))
	}
	if len(parts) == 0 {
		return "none failed"
	}
	return strings.Join(parts, ", ")
}

// decimal writes v rounded to places decimals, without trailing zeros.
func decimal(v float64, places int) string {
	scale := math.Pow10(places)
	return strconv.FormatFloat(math.Round(v*scale)/scale, 'f', -1, 64)
}
