package drift

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Bucket is one bucket of a Prometheus histogram as a query of
// `sum by (le) (increase(<name>_bucket{...}[W]))` returns it: Count
// observations were at most UpperBound (the le label), cumulative.
type Bucket struct {
	UpperBound float64
	Count      float64
}

// Options tune Compare; the zero value takes the defaults.
type Options struct {
	// MinObservations is the least number of observations each side needs
	// for a value; fewer is ErrNoData. Default DefaultMinObservations.
	MinObservations float64
	// Pseudocount is added to the count of every bucket kept, on both sides,
	// so that a bucket empty on one side has a small share, not zero, and the
	// index stays finite. Default DefaultPseudocount.
	Pseudocount float64
}

const (
	// DefaultMinObservations: two samples of one distribution over k buckets
	// have a PSI of about (k-1)(1/n_c + 1/n_s) from chance alone (NoiseFloor);
	// with 200 observations a side and 10 buckets that is 0.09, under the
	// 0.1 and 0.25 bounds PSI is usually read against.
	DefaultMinObservations = 200
	// DefaultPseudocount is half an observation a bucket (Jeffreys'
	// prior, the Krichevsky-Trofimov estimator): an empty bucket weighs like
	// a share too small to see in that many observations.
	DefaultPseudocount = 0.5
)

// ErrNoData says a side has too few observations to be compared.
var ErrNoData = errors.New("too few observations")

// Shift is how one bucket moved: its share of each side, after smoothing,
// and what it adds to the index.
type Shift struct {
	// Lower and Upper bound the bucket: (Lower, Upper]; Lower is -Inf for the first.
	Lower, Upper float64
	// Candidate and Stable are the bucket's shares of each side, smoothed.
	Candidate, Stable float64
	// PSI is the bucket's term (Candidate - Stable) ln(Candidate / Stable),
	// zero or more; the terms sum to Result.PSI.
	PSI float64
}

// Range writes the bucket as "(0.1, 0.25]", for status.
func (s Shift) Range() string {
	return "(" + formatBound(s.Lower) + ", " + formatBound(s.Upper) + "]"
}

func formatBound(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// Result is the comparison of two histograms.
type Result struct {
	// PSI is the Population Stability Index, sum over buckets of
	// (c_i - s_i) ln(c_i / s_i), where c_i and s_i are the smoothed shares of
	// the candidate and the stable version: zero when the distributions agree;
	// by custom under 0.1 is no shift, 0.1 to 0.25 a moderate one, above 0.25
	// a large one.
	PSI float64
	// JensenShannon is the Jensen-Shannon divergence of the same shares, in
	// bits: from 0 (same) to 1 (disjoint), symmetric and bounded, for readers
	// who prefer a bounded scale.
	JensenShannon float64
	// Candidate and Stable are the observations on each side.
	Candidate, Stable float64
	// Buckets is the number of buckets compared.
	Buckets int
	// NoiseFloor is about the PSI two samples of the same distribution of
	// these sizes show by chance, (Buckets-1)(1/Candidate + 1/Stable): a
	// value near it is no evidence of drift.
	NoiseFloor float64
	// Moved are the three buckets that add most to the index, largest first.
	Moved []Shift
}

// Compare computes the PSI of the candidate's histogram against the
// stable's. Both are cumulative buckets, in any order, the last at +Inf.
//
// Only the bounds both histograms have are compared: cumulative counts at a
// common bound are exact, so a candidate that added or dropped buckets is
// still compared on the buckets they share. Counts that go down from one
// bound to the next (increase() extrapolates each bucket's series on its
// own) are taken as an empty bucket. Buckets empty on both sides are left
// out: they carry no evidence, and smoothing them would add noise when the
// sides differ in size. Then every bucket kept gets Options.Pseudocount on
// both sides before the shares are taken.
//
// Either side with fewer than Options.MinObservations observations returns
// an error wrapping ErrNoData; histograms that do not end at +Inf, hold no
// number, or share no bound but +Inf return another error.
func Compare(candidate, stable []Bucket, opts Options) (Result, error) {
	if opts.MinObservations <= 0 {
		opts.MinObservations = DefaultMinObservations
	}
	if opts.Pseudocount <= 0 {
		opts.Pseudocount = DefaultPseudocount
	}
	c, err := normalise("candidate", candidate)
	if err != nil {
		return Result{}, err
	}
	s, err := normalise("stable", stable)
	if err != nil {
		return Result{}, err
	}
	bounds := commonBounds(c, s)
	if len(bounds) < 2 {
		return Result{}, fmt.Errorf("the candidate's and the stable's histograms share no bucket bound but +Inf: "+
			"candidate %v, stable %v", upperBounds(c), upperBounds(s))
	}
	cCounts, sCounts := perBucket(c, bounds), perBucket(s, bounds)
	res := Result{Candidate: sum(cCounts), Stable: sum(sCounts)}
	if res.Candidate < opts.MinObservations || res.Stable < opts.MinObservations {
		return res, fmt.Errorf("%w: candidate %g, stable %g, each needs %g", ErrNoData, res.Candidate, res.Stable, opts.MinObservations)
	}

	var kept []Shift
	var cKept, sKept []float64
	lower := math.Inf(-1)
	for i, upper := range bounds {
		if cCounts[i] > 0 || sCounts[i] > 0 {
			kept = append(kept, Shift{Lower: lower, Upper: upper})
			cKept = append(cKept, cCounts[i])
			sKept = append(sKept, sCounts[i])
		}
		lower = upper
	}
	res.Buckets = len(kept)
	k := float64(len(kept))
	cTotal, sTotal := res.Candidate+k*opts.Pseudocount, res.Stable+k*opts.Pseudocount
	for i := range kept {
		b := &kept[i]
		b.Candidate = (cKept[i] + opts.Pseudocount) / cTotal
		b.Stable = (sKept[i] + opts.Pseudocount) / sTotal
		b.PSI = (b.Candidate - b.Stable) * math.Log(b.Candidate/b.Stable)
		res.PSI += b.PSI
		m := (b.Candidate + b.Stable) / 2
		res.JensenShannon += (b.Candidate*math.Log2(b.Candidate/m) + b.Stable*math.Log2(b.Stable/m)) / 2
	}
	res.NoiseFloor = (k - 1) * (1/res.Candidate + 1/res.Stable)
	// A stable sort keeps equal terms in bucket order, so status does not
	// flip between rounds on ties.
	moved := slices.Clone(kept)
	sort.SliceStable(moved, func(i, j int) bool { return moved[i].PSI > moved[j].PSI })
	res.Moved = moved[:min(3, len(moved))]
	return res, nil
}

// normalise sorts a histogram by bound and checks it.
func normalise(side string, h []Bucket) ([]Bucket, error) {
	if len(h) == 0 {
		return nil, fmt.Errorf("the %s's histogram has no buckets", side)
	}
	h = slices.Clone(h)
	sort.Slice(h, func(i, j int) bool { return h[i].UpperBound < h[j].UpperBound })
	for i, b := range h {
		if math.IsNaN(b.UpperBound) || math.IsNaN(b.Count) || math.IsInf(b.Count, 0) || b.Count < 0 {
			return nil, fmt.Errorf("the %s's bucket le=%g holds %g, not a count", side, b.UpperBound, b.Count)
		}
		if i > 0 && h[i-1].UpperBound == b.UpperBound {
			return nil, fmt.Errorf("the %s's histogram has the bound le=%g twice: sum the series by le", side, b.UpperBound)
		}
	}
	if last := h[len(h)-1].UpperBound; !math.IsInf(last, 1) {
		return nil, fmt.Errorf("the %s's histogram ends at le=%g, not +Inf: the query lost the +Inf bucket", side, last)
	}
	return h, nil
}

func commonBounds(c, s []Bucket) []float64 {
	in := make(map[float64]bool, len(s))
	for _, b := range s {
		in[b.UpperBound] = true
	}
	var out []float64
	for _, b := range c {
		if in[b.UpperBound] {
			out = append(out, b.UpperBound)
		}
	}
	return out
}

// perBucket turns cumulative counts at the given bounds (a subset of h's,
// sorted, the last +Inf) into counts per bucket.
func perBucket(h []Bucket, bounds []float64) []float64 {
	at := make(map[float64]float64, len(h))
	for _, b := range h {
		at[b.UpperBound] = b.Count
	}
	out := make([]float64, len(bounds))
	below := 0.0
	for i, ub := range bounds {
		cum := at[ub]
		out[i] = math.Max(0, cum-below)
		below = math.Max(below, cum)
	}
	return out
}

func upperBounds(h []Bucket) []float64 {
	out := make([]float64, len(h))
	for i, b := range h {
		out[i] = b.UpperBound
	}
	return out
}

func sum(xs []float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t
}

// Describe says in one line what moved, for a condition or an event:
// "PSI 0.234 (noise 0.080): (2, +Inf] 20.2% vs 39.9%, (-Inf, 1] 49.8% vs 30.0%, (1, 2] 30.0% vs 30.0%".
func (r Result) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "PSI %.3g (noise %.2g)", r.PSI, r.NoiseFloor)
	for i, m := range r.Moved {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s %.1f%% vs %.1f%%", sep, m.Range(), 100*m.Candidate, 100*m.Stable)
	}
	return b.String()
}
