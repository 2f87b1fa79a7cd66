package sequential

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/modelgate/modelgate/test/bars"
)

// The simulation runs synthetic canaries through the sequential judge and
// through the fixed-interval threshold the analysis applies today (a breach
// when the candidate's error rate over one interval exceeds a bound), on the
// same simulated traffic, and records what each needs.
//
// A canary: every interval the candidate gets perInterval requests and the
// stable version nine times as many (a 10% canary), each request failing
// independently at its version's rate; the stable version fails 1% of its
// requests; the judge looks after every interval; the canary ends after
// maxCandidate candidate requests. Equal canaries have the candidate at 1%,
// doubled ones at 2%.
//
// The fixed threshold is given every advantage: its bound is calibrated on
// the equal canaries themselves (which a real spec cannot do, not knowing the
// true rates) to the tightest whole number of errors per interval that rolls
// back at most 1 - confidence of them, the guarantee the sequential judge
// gives without calibration. The naive bound, 1.5 times the stable's rate,
// is shown too.
const (
	canaries     = 1000
	stableRate   = 0.01
	confidence   = 0.95
	maxCandidate = 20000
	seed         = 14
)

type scenario struct {
	name        string
	perInterval int // candidate requests per interval
}

// canary is one simulated canary's errors per interval.
type canary struct {
	candidate, stable []int
}

func TestSimulatedCanaries(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	for _, sc := range []scenario{{name: "100PerInterval", perInterval: 100}, {name: "1000PerInterval", perInterval: 1000}} {
		t.Run(sc.name, func(t *testing.T) {
			intervals := maxCandidate / sc.perInterval
			rng := rand.New(rand.NewPCG(seed, uint64(sc.perInterval)))
			equal := simulate(rng, sc.perInterval, intervals, stableRate)
			doubled := simulate(rng, sc.perInterval, intervals, 2*stableRate)

			strict := Config{Confidence: confidence}
			seqEqual := sequentialLooks(t, equal, sc.perInterval, strict, Breach)
			seqDoubled := sequentialLooks(t, doubled, sc.perInterval, strict, Breach)
			falseRollbacks := detected(seqEqual)
			if rate := float64(falseRollbacks) / canaries; rate > 1-confidence {
				t.Errorf("the sequential judge rolled back %d of %d equal canaries (%.3f), more than 1 - confidence = %.2f",
					falseRollbacks, canaries, rate, 1-confidence)
			}
			if n := detected(seqDoubled); n < canaries*9/10 {
				t.Errorf("the sequential judge caught %d of %d canaries at twice the error rate, want at least 90%%", n, canaries)
			}

			// The tightest bound, in errors per interval, with at most 1 - confidence false rollbacks.
			bound := 0
			for ; bound <= sc.perInterval; bound++ {
				if float64(detected(fixedLooks(equal, bound, sc.perInterval))) <= (1-confidence)*canaries {
					break
				}
			}
			fixEqual, fixDoubled := fixedLooks(equal, bound, sc.perInterval), fixedLooks(doubled, bound, sc.perInterval)
			naive := int(math.Floor(1.5 * stableRate * float64(sc.perInterval))) // a breach above 1.5%
			naiveEqual := fixedLooks(equal, naive, sc.perInterval)

			seqMedian, fixMedian := median(seqDoubled), median(fixDoubled)
			t.Logf("%d canaries of %d candidate requests an interval, up to %d; stable at %.0f%%, confidence %.2f", canaries, sc.perInterval, maxCandidate, 100*stableRate, confidence)
			t.Logf("sequential: %d false rollbacks of equal canaries; doubled error rate caught in %d, median %s candidate requests",
				falseRollbacks, detected(seqDoubled), show(seqMedian))
			t.Logf("fixed bound calibrated to > %d errors in an interval (%.1f%%): %d false rollbacks; doubled caught in %d, median %s candidate requests",
				bound, 100*float64(bound)/float64(sc.perInterval), detected(fixEqual), detected(fixDoubled), show(fixMedian))
			t.Logf("naive fixed bound 1.5x stable (> %d errors in an interval): %d false rollbacks of %d equal canaries",
				naive, detected(naiveEqual), canaries)
			bars.Record("simulation", "SequentialFalseRollbacksOf1000EqualCanaries/"+sc.name, float64(falseRollbacks), "rollbacks")
			bars.Record("simulation", "SequentialRequestsToCatchDoubledErrors/"+sc.name, seqMedian, "candidate-requests")
			bars.Record("simulation", "FixedCalibratedFalseRollbacksOf1000EqualCanaries/"+sc.name, float64(detected(fixEqual)), "rollbacks")
			bars.Record("simulation", "FixedCalibratedRequestsToCatchDoubledErrors/"+sc.name, fixMedian, "candidate-requests")
			bars.Record("simulation", "FixedNaiveFalseRollbacksOf1000EqualCanaries/"+sc.name, float64(detected(naiveEqual)), "rollbacks")

			// promoteEarly with a tolerance of one point: equal canaries finish
			// early, while doubled ones (1% worse, on the tolerance's edge) must
			// not, but for at most 1 - confidence of them.
			tolerant := Config{Confidence: confidence, Tolerance: 0.01}
			earlyEqual := sequentialLooks(t, equal, sc.perInterval, tolerant, PassEarly)
			wrongEarly := detected(sequentialLooks(t, doubled, sc.perInterval, tolerant, PassEarly))
			if rate := float64(wrongEarly) / canaries; rate > 1-confidence {
				t.Errorf("the judge passed early %d of %d canaries one point worse than stable with a tolerance of one point, more than 1 - confidence", wrongEarly, canaries)
			}
			t.Logf("promoteEarly, tolerance 1 point: %d of %d equal canaries finished early, median %s candidate requests; %d doubled ones did",
				detected(earlyEqual), canaries, show(median(earlyEqual)), wrongEarly)
			bars.Record("simulation", "SequentialRequestsToPassEqualCanaryEarly/"+sc.name, median(earlyEqual), "candidate-requests")
			bars.Record("simulation", "SequentialWrongEarlyPassesOf1000DoubledCanaries/"+sc.name, float64(wrongEarly), "passes")
			if !math.IsInf(seqMedian, 0) && !math.IsInf(fixMedian, 0) {
				bars.Record("simulation", "SequentialOverFixedRequestsToCatchDoubledErrors/"+sc.name, seqMedian/fixMedian, "ratio")
			}
		})
	}
}

// simulate draws the canaries' errors, interval by interval.
func simulate(rng *rand.Rand, perInterval, intervals int, candidateRate float64) []canary {
	out := make([]canary, canaries)
	for i := range out {
		c := canary{candidate: make([]int, intervals), stable: make([]int, intervals)}
		for k := range intervals {
			c.candidate[k] = binomial(rng, perInterval, candidateRate)
			c.stable[k] = binomial(rng, 9*perInterval, stableRate)
		}
		out[i] = c
	}
	return out
}

// sequentialLooks returns, per canary, the candidate requests after which
// the judge first said want, or +Inf if it never did.
func sequentialLooks(t *testing.T, cs []canary, perInterval int, cfg Config, want Verdict) []float64 {
	out := make([]float64, len(cs))
	for i, c := range cs {
		out[i] = math.Inf(1)
		var cand, stable Counts
		for k := range c.candidate {
			cand.Requests += float64(perInterval)
			cand.Errors += float64(c.candidate[k])
			stable.Requests += float64(9 * perInterval)
			stable.Errors += float64(c.stable[k])
			r, err := Judge(cand, stable, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict == want {
				out[i] = cand.Requests
				break
			}
		}
	}
	return out
}

// fixedLooks is the same for the fixed threshold: a breach when an
// interval's candidate errors exceed bound.
func fixedLooks(cs []canary, bound, perInterval int) []float64 {
	out := make([]float64, len(cs))
	for i, c := range cs {
		out[i] = math.Inf(1)
		for k, errs := range c.candidate {
			if errs > bound {
				out[i] = float64((k + 1) * perInterval)
				break
			}
		}
	}
	return out
}

func detected(looks []float64) int {
	n := 0
	for _, l := range looks {
		if !math.IsInf(l, 1) {
			n++
		}
	}
	return n
}

// median counts a canary never caught as needing more than any caught: +Inf
// when fewer than half were caught.
func median(looks []float64) float64 {
	s := slices.Clone(looks)
	slices.Sort(s)
	return s[len(s)/2]
}

func show(v float64) string {
	if math.IsInf(v, 1) {
		return fmt.Sprintf("more than %d", maxCandidate)
	}
	return fmt.Sprintf("%.0f", v)
}

// binomial draws by inversion, walking the probabilities up from zero:
// exact, and quick for the tens of errors a draw holds here.
func binomial(rng *rand.Rand, n int, p float64) int {
	u := rng.Float64()
	q := math.Pow(1-p, float64(n))
	cdf := q
	k := 0
	for u > cdf && k < n {
		q *= float64(n-k) / float64(k+1) * p / (1 - p)
		k++
		cdf += q
	}
	return k
}
