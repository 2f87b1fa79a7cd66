package sequential

import (
	"fmt"
	"math"
)

// Counts are a version's requests and failed requests since its analysis
// began, cumulative: the test is valid over the whole sequence of looks only
// if each look sees everything since the start, never a window.
type Counts struct {
	Requests float64
	Errors   float64
}

// Interval is a confidence interval of an error rate (or of a difference).
type Interval struct {
	Lower, Upper float64
}

// Config is what the spec declares.
type Config struct {
	// Confidence is 1 - the chance of ever deciding wrongly, in (0, 1), such as 0.95.
	Confidence float64
	// Tolerance is how much higher the candidate's error rate may be than the
	// stable's, as a difference of rates in [0, 1]: 0.005 is half a
	// percentage point. A breach needs the candidate worse by more than this;
	// an early pass needs it shown worse by less, so with 0 only a candidate
	// shown better than stable passes early.
	Tolerance float64
}

// Verdict is what the judge decides after a look.
type Verdict string

const (
	// Continue: the evidence is not enough either way yet; keep the canary going.
	Continue Verdict = "Continue"
	// Breach: the candidate's error rate is above the stable's by more than
	// the tolerance, at the confidence asked for.
	Breach Verdict = "Breach"
	// PassEarly: the candidate's error rate is above the stable's by less than
	// the tolerance (or below it), at the confidence asked for.
	PassEarly Verdict = "PassEarly"
)

// Result is a verdict and the intervals it was read from.
type Result struct {
	Verdict Verdict
	// Candidate and Stable are the confidence sequences of each error rate at
	// this look, each at 1 - (1-Confidence)/2 so that both hold at once.
	Candidate, Stable Interval
	// Difference bounds candidate - stable: [Candidate.Lower - Stable.Upper,
	// Candidate.Upper - Stable.Lower].
	Difference Interval
}

// Judge compares the candidate's errors with the stable's.
//
// Each error rate gets a confidence sequence: an interval at every number of
// requests that holds at all of them at once with probability at least
// 1 - alpha/2 (ErrorRate), so a union bound makes both hold at every look with
// probability 1 - alpha, alpha = 1 - Confidence. While they hold, a Breach
// (Difference.Lower > Tolerance) can only be called for a candidate truly
// worse than stable by more than the tolerance, and a PassEarly
// (Difference.Upper < Tolerance) only for one truly worse by less. Hence: for
// a candidate no worse than stable + Tolerance, the chance that any look, ever,
// says Breach is at most 1 - Confidence, however often the judge is asked and
// however the traffic is split; and likewise for a wrong PassEarly.
//
// This assumes each version's requests fail independently at a fixed rate;
// errors in bursts make the intervals too narrow, for stable and candidate alike.
func Judge(candidate, stable Counts, cfg Config) (Result, error) {
	if math.IsNaN(cfg.Confidence) || cfg.Confidence <= 0 || cfg.Confidence >= 1 {
		return Result{}, fmt.Errorf("confidence %g is not in (0, 1)", cfg.Confidence)
	}
	if math.IsNaN(cfg.Tolerance) || cfg.Tolerance < 0 || cfg.Tolerance > 1 {
		return Result{}, fmt.Errorf("tolerance %g is not in [0, 1]", cfg.Tolerance)
	}
	alpha := (1 - cfg.Confidence) / 2
	c, err := ErrorRate(candidate, alpha)
	if err != nil {
		return Result{}, fmt.Errorf("candidate: %w", err)
	}
	s, err := ErrorRate(stable, alpha)
	if err != nil {
		return Result{}, fmt.Errorf("stable: %w", err)
	}
	r := Result{
		Verdict: Continue, Candidate: c, Stable: s,
		Difference: Interval{Lower: c.Lower - s.Upper, Upper: c.Upper - s.Lower},
	}
	switch {
	case r.Difference.Lower > cfg.Tolerance:
		r.Verdict = Breach
	case r.Difference.Upper < cfg.Tolerance:
		r.Verdict = PassEarly
	}
	return r, nil
}

// The mixture's prior, Beta(priorA, priorB): Jeffreys' shape near zero
// (density growing as p^-1/2) and most of its weight below 20%, where the
// error rates of a serving model lie. The guarantee holds whatever the
// prior; the prior only sets which error rates the test resolves fastest.
const (
	priorA = 0.5
	priorB = 10
)

// ErrorRate is the confidence sequence of an error rate p after
// c.Requests requests of which c.Errors failed: the rates p at which the
// beta-binomial mixture likelihood ratio
//
//	M_n(p) = B(a+S, b+n-S) / B(a, b) / (p^S (1-p)^(n-S))
//
// (S errors in n requests, prior Beta(a, b)) is below 1/alpha. Under the
// true p, M_n(p) is a nonnegative martingale starting at 1 (a mixture of
// likelihood ratios), so by Ville's inequality it ever reaches 1/alpha with
// probability at most alpha: the interval holds at every n at once with
// probability at least 1 - alpha. This is Robbins' (1970) mixture method as
// set out by Howard, Ramdas, McAuliffe and Sekhon, "Time-uniform,
// nonparametric, nonasymptotic confidence sequences", Annals of Statistics
// 49(2), 2021, with the beta-binomial mixture for Bernoulli observations.
// ln M_n is convex in p with its minimum, at most 0, at S/n, so the set is an
// interval; its ends are found by a safeguarded Newton's method.
func ErrorRate(c Counts, alpha float64) (Interval, error) {
	n, s := c.Requests, c.Errors
	if math.IsNaN(n) || math.IsNaN(s) || math.IsInf(n, 0) || s < 0 || s > n {
		return Interval{}, fmt.Errorf("%g errors out of %g requests is not a count", s, n)
	}
	if math.IsNaN(alpha) || alpha <= 0 || alpha >= 1 {
		return Interval{}, fmt.Errorf("alpha %g is not in (0, 1)", alpha)
	}
	if n == 0 {
		return Interval{Lower: 0, Upper: 1}, nil
	}
	bound := math.Log(1 / alpha)
	mix := lbeta(priorA+s, priorB+n-s) - lbeta(priorA, priorB)
	f := func(p float64) float64 { return mix - s*math.Log(p) - (n-s)*math.Log1p(-p) - bound }
	df := func(p float64) float64 { return -s/p + (n-s)/(1-p) }
	mle := s / n
	out := Interval{Lower: 0, Upper: 1}
	if s > 0 {
		// ln M falls from +Inf at 0 to at most 0 at the mle.
		out.Lower = root(0, mle, f, df, false)
	}
	if s < n {
		// ln M rises from at most 0 at the mle to +Inf at 1.
		out.Upper = root(mle, 1, f, df, true)
	}
	return out, nil
}

// root finds where f, monotone on (lo, hi) (rising or not), crosses zero:
// Newton's steps, which converge in a few since ln M is smooth and convex,
// and a bisection of the bracket whenever a step would leave it.
func root(lo, hi float64, f, df func(float64) float64, rising bool) float64 {
	x := (lo + hi) / 2
	for range 200 {
		fx := f(x)
		if fx == 0 {
			return x
		}
		if (fx > 0) == rising {
			hi = x
		} else {
			lo = x
		}
		next := x - fx/df(x)
		if !(next > lo && next < hi) {
			next = (lo + hi) / 2
		}
		if math.Abs(next-x) <= 1e-13*x || hi-lo <= 1e-15 {
			return next
		}
		x = next
	}
	return x
}

func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// Describe says in one line what the judge saw, for a condition or an event:
// "candidate error rate 3.71% to 9.02%, stable 0.67% to 1.42%, difference +2.29 to +8.35 points".
func (r Result) Describe() string {
	return fmt.Sprintf("candidate error rate %.2f%% to %.2f%%, stable %.2f%% to %.2f%%, difference %+.2f to %+.2f points",
		100*r.Candidate.Lower, 100*r.Candidate.Upper, 100*r.Stable.Lower, 100*r.Stable.Upper,
		100*r.Difference.Lower, 100*r.Difference.Upper)
}
