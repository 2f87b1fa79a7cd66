package drift

import (
	"errors"
	"math"
	"strings"
	"testing"
)

var inf = math.Inf(1)

// cum builds cumulative buckets from per-bucket counts at the given bounds.
func cum(bounds []float64, counts ...float64) []Bucket {
	out := make([]Bucket, len(bounds))
	total := 0.0
	for i, ub := range bounds {
		total += counts[i]
		out[i] = Bucket{UpperBound: ub, Count: total}
	}
	return out
}

func TestCompare(t *testing.T) {
	three := []float64{1, 2, inf}
	// The values were worked by hand from the formula: for the first case the
	// smoothed shares are 50.5/101.5, 30.5/101.5, 20.5/101.5 against 30.5/101.5,
	// 30.5/101.5, 40.5/101.5, so PSI = (20/101.5) ln(50.5/30.5) + 0
	// + (20/101.5) ln(40.5/20.5) = 0.099359 + 0.134163.
	tests := []struct {
		name              string
		candidate, stable []Bucket
		opts              Options
		wantPSI, wantJS   float64
		wantBuckets       int
		wantMoved         []string // ranges, largest term first
		wantErr           string
		wantNoData        bool
	}{
		{
			name:      "a moderate shift",
			candidate: cum(three, 50, 30, 20), stable: cum(three, 30, 30, 40), opts: Options{MinObservations: 10},
			wantPSI: 0.233522, wantJS: 0.041468, wantBuckets: 3,
			wantMoved: []string{"(2, +Inf]", "(-Inf, 1]", "(1, 2]"},
		},
		{
			name:      "the same shares of different sizes",
			candidate: cum(three, 20, 60, 20), stable: cum(three, 200, 600, 200), opts: Options{MinObservations: 10, Pseudocount: 1e-9},
			wantPSI: 0, wantJS: 0, wantBuckets: 3,
		},
		{
			name:      "a bucket empty on one side stays finite by smoothing",
			candidate: cum(three, 0, 60, 40), stable: cum(three, 20, 60, 20), opts: Options{MinObservations: 10},
			// (20/101.5) ln(20.5/0.5) + (20/101.5) ln(40.5/20.5)
			wantPSI: 0.865901, wantJS: 0.110394, wantBuckets: 3,
			wantMoved: []string{"(-Inf, 1]", "(2, +Inf]", "(1, 2]"},
		},
		{
			name:      "buckets empty on both sides are left out",
			candidate: cum([]float64{0.5, 1, 2, 5, inf}, 0, 50, 30, 20, 0),
			stable:    cum([]float64{0.5, 1, 2, 5, inf}, 0, 30, 30, 40, 0), opts: Options{MinObservations: 10},
			wantPSI: 0.233522, wantJS: 0.041468, wantBuckets: 3,
			wantMoved: []string{"(2, 5]", "(0.5, 1]", "(1, 2]"},
		},
		{
			name:      "only the bounds both sides have are compared",
			candidate: cum([]float64{1, 1.5, 2, inf}, 50, 10, 20, 20),
			stable:    []Bucket{{2, 60}, {1, 30}, {inf, 100}}, // in any order
			opts:      Options{MinObservations: 10},
			wantPSI:   0.233522, wantJS: 0.041468, wantBuckets: 3,
		},
		{
			name:      "a count that goes down between bounds is an empty bucket",
			candidate: []Bucket{{1, 50}, {2, 49.5}, {inf, 100}},
			stable:    []Bucket{{1, 50}, {2, 50}, {inf, 100}},
			opts:      Options{MinObservations: 10},
			// Both sides: 50, 0, 50 (the candidate's -0.5 taken as 0); the
			// middle bucket is empty on both and left out.
			wantPSI: 0, wantJS: 0, wantBuckets: 2,
		},
		{
			name:      "two buckets swapped",
			candidate: cum([]float64{1, inf}, 300, 700), stable: cum([]float64{1, inf}, 700, 300),
			// 2 (0.4 ln(700.5/300.5)) with shares 700.5/1001 and 300.5/1001
			wantPSI: 0.676401, wantJS: 0.118465, wantBuckets: 2,
		},
		{
			name:      "too few candidate observations",
			candidate: cum(three, 50, 30, 19), stable: cum(three, 300, 300, 400), opts: Options{MinObservations: 100},
			wantNoData: true, wantErr: "too few observations: candidate 99, stable 1000, each needs 100",
		},
		{
			name:      "too few by default",
			candidate: cum(three, 500, 300, 200), stable: cum(three, 50, 50, 50),
			wantNoData: true, wantErr: "stable 150, each needs 200",
		},
		{
			name:      "no +Inf bucket",
			candidate: []Bucket{{1, 10}, {2, 20}}, stable: cum(three, 1, 1, 1),
			wantErr: "the candidate's histogram ends at le=2, not +Inf",
		},
		{
			name:      "no buckets",
			candidate: cum(three, 1, 1, 1), stable: nil,
			wantErr: "the stable's histogram has no buckets",
		},
		{
			name:      "a bound twice",
			candidate: []Bucket{{1, 10}, {1, 10}, {inf, 20}}, stable: cum(three, 1, 1, 1),
			wantErr: "has the bound le=1 twice",
		},
		{
			name:      "not a number",
			candidate: []Bucket{{1, math.NaN()}, {inf, 20}}, stable: cum(three, 1, 1, 1),
			wantErr: "the candidate's bucket le=1 holds NaN",
		},
		{
			name:      "no common bound",
			candidate: cum([]float64{0.5, inf}, 1, 1), stable: cum(three, 1, 1, 1),
			wantErr: "share no bucket bound but +Inf",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compare(tt.candidate, tt.stable, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if errors.Is(err, ErrNoData) != tt.wantNoData {
					t.Errorf("errors.Is(%v, ErrNoData) = %v, want %v", err, !tt.wantNoData, tt.wantNoData)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got.PSI-tt.wantPSI) > 1e-6 || math.Abs(got.JensenShannon-tt.wantJS) > 1e-6 || got.Buckets != tt.wantBuckets {
				t.Errorf("PSI %.6f, JS %.6f over %d buckets; want %.6f, %.6f over %d", got.PSI, got.JensenShannon, got.Buckets, tt.wantPSI, tt.wantJS, tt.wantBuckets)
			}
			sum := 0.0
			for _, m := range got.Moved {
				sum += m.PSI
			}
			if got.Buckets <= 3 && math.Abs(sum-got.PSI) > 1e-12 {
				t.Errorf("the terms of the moved buckets add up to %g, not the PSI %g", sum, got.PSI)
			}
			for i, want := range tt.wantMoved {
				if i >= len(got.Moved) || got.Moved[i].Range() != want {
					t.Errorf("moved %v, want the ranges %v", got.Moved, tt.wantMoved)
					break
				}
			}
		})
	}
}

func TestCompareKeepsThreeMovedAndAFloor(t *testing.T) {
	bounds := []float64{1, 2, 3, 4, inf}
	got, err := Compare(cum(bounds, 100, 100, 100, 100, 600), cum(bounds, 100, 100, 100, 100, 100), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Moved) != 3 || got.Moved[0].Range() != "(4, +Inf]" {
		t.Fatalf("moved %+v, want three buckets led by (4, +Inf]", got.Moved)
	}
	// (5-1)(1/1000 + 1/500)
	if math.Abs(got.NoiseFloor-0.012) > 1e-12 || got.Candidate != 1000 || got.Stable != 500 {
		t.Errorf("noise floor %g from %g and %g observations, want 0.012 from 1000 and 500", got.NoiseFloor, got.Candidate, got.Stable)
	}
}

func TestDescribe(t *testing.T) {
	three := []float64{1, 2, inf}
	got, err := Compare(cum(three, 50, 30, 20), cum(three, 30, 30, 40), Options{MinObservations: 10})
	if err != nil {
		t.Fatal(err)
	}
	// Noise floor (3-1)(1/100 + 1/100) = 0.04.
	want := "PSI 0.234 (noise 0.04): (2, +Inf] 20.2% vs 39.9%, (-Inf, 1] 49.8% vs 30.0%, (1, 2] 30.0% vs 30.0%"
	if d := got.Describe(); d != want {
		t.Errorf("got  %q\nwant %q", d, want)
	}
}
