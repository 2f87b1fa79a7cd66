package sequential

import (
	"math"
	"strings"
	"testing"
)

// The expected ends were worked out independently of this package: in closed
// form where the equation M_n(p) = 1/alpha has one (no errors, or only
// errors), and otherwise by bisection of the same equation in a separate
// script (Python's math.lgamma).
func TestErrorRate(t *testing.T) {
	const alpha = 0.025
	tests := []struct {
		name    string
		counts  Counts
		want    Interval
		wantErr string
	}{
		{name: "no requests", counts: Counts{}, want: Interval{0, 1}},
		// S = 0: M(p) = B(a, b+n) / B(a, b) / (1-p)^n, so the upper end is
		// 1 - (alpha B(a, b+n) / B(a, b))^(1/n).
		{name: "no errors in 1000", counts: Counts{Requests: 1000}, want: Interval{0, 0.005990793959}},
		// S = n = 1: M(p) = (a/(a+b)) / p, so the lower end is alpha a/(a+b).
		{name: "one error in one", counts: Counts{Requests: 1, Errors: 1}, want: Interval{0.001190476190, 1}},
		// S = n = 10: p = exp((ln B(a+10, b) - ln B(a, b) - ln(1/alpha)) / 10).
		{name: "ten errors in ten", counts: Counts{Requests: 10, Errors: 10}, want: Interval{0.1788604308, 1}},
		{name: "1% of 1000", counts: Counts{Requests: 1000, Errors: 10}, want: Interval{0.002721767483, 0.02468914920}},
		{name: "1% of 10000", counts: Counts{Requests: 10000, Errors: 100}, want: Interval{0.006740217501, 0.01416032442}},
		{name: "1% of a billion", counts: Counts{Requests: 1e9, Errors: 1e7}, want: Interval{0.009984175385, 0.01001584116}},
		{name: "one error in a million", counts: Counts{Requests: 1e6, Errors: 1}, want: Interval{3.903862530e-11, 1.269189370e-05}},
		{name: "more errors than requests", counts: Counts{Requests: 10, Errors: 11}, wantErr: "11 errors out of 10 requests is not a count"},
		{name: "negative errors", counts: Counts{Requests: 10, Errors: -1}, wantErr: "is not a count"},
		{name: "not a number", counts: Counts{Requests: math.NaN()}, wantErr: "is not a count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ErrorRate(tt.counts, alpha)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// To seven significant digits, or 1e-15 near zero.
			close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-7*math.Abs(b)+1e-15 }
			if !close(got.Lower, tt.want.Lower) || !close(got.Upper, tt.want.Upper) {
				t.Errorf("got [%.9f, %.9f], want [%.9f, %.9f]", got.Lower, got.Upper, tt.want.Lower, tt.want.Upper)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	stable := Counts{Requests: 10000, Errors: 100} // [0.006740, 0.014160] at alpha 0.025
	tests := []struct {
		name      string
		candidate Counts
		stable    Counts
		cfg       Config
		want      Verdict
		wantDiff  Interval
		wantErr   string
	}{
		{name: "no candidate requests yet", candidate: Counts{}, stable: stable, cfg: Config{Confidence: 0.95},
			want: Continue, wantDiff: Interval{0 - 0.014160324, 1 - 0.006740218}},
		{name: "6% against 1%: worse", candidate: Counts{Requests: 1000, Errors: 60}, stable: stable, cfg: Config{Confidence: 0.95},
			want: Breach, wantDiff: Interval{0.022893, 0.083496}},
		{name: "3% against 1%: just worse", candidate: Counts{Requests: 1000, Errors: 30}, stable: stable, cfg: Config{Confidence: 0.95},
			want: Breach, wantDiff: Interval{0.000798, 0.045705}},
		{name: "3% against 1%, two points tolerated: not yet known", candidate: Counts{Requests: 1000, Errors: 30}, stable: stable,
			cfg: Config{Confidence: 0.95, Tolerance: 0.02}, want: Continue, wantDiff: Interval{0.000798, 0.045705}},
		{name: "1% against 1%: not known either way", candidate: Counts{Requests: 1000, Errors: 10}, stable: stable, cfg: Config{Confidence: 0.95},
			want: Continue, wantDiff: Interval{-0.011439, 0.017949}},
		{name: "1% against 1%, two points tolerated: passes early", candidate: Counts{Requests: 1000, Errors: 10}, stable: stable,
			cfg: Config{Confidence: 0.95, Tolerance: 0.02}, want: PassEarly, wantDiff: Interval{-0.011439, 0.017949}},
		{name: "no errors in 2000 against 1%: better", candidate: Counts{Requests: 2000}, stable: stable, cfg: Config{Confidence: 0.95},
			want: PassEarly, wantDiff: Interval{-0.014160, -0.003569}},
		{name: "no errors on either side, too few to pass a point", candidate: Counts{Requests: 500}, stable: Counts{Requests: 5000},
			cfg: Config{Confidence: 0.95, Tolerance: 0.01}, want: Continue, wantDiff: Interval{-0.001361, 0.011270}},
		{name: "5 errors in 50 against none in 50: too few to tell", candidate: Counts{Requests: 50, Errors: 5}, stable: Counts{Requests: 50},
			cfg: Config{Confidence: 0.95}, want: Continue, wantDiff: Interval{-0.071888, 0.286118}},
		{name: "confidence 1", candidate: Counts{}, stable: stable, cfg: Config{Confidence: 1}, wantErr: "confidence 1 is not in (0, 1)"},
		{name: "a negative tolerance", candidate: Counts{}, stable: stable, cfg: Config{Confidence: 0.9, Tolerance: -0.1}, wantErr: "tolerance -0.1 is not in [0, 1]"},
		{name: "bad stable counts", candidate: Counts{}, stable: Counts{Requests: 1, Errors: 2}, cfg: Config{Confidence: 0.9}, wantErr: "stable: 2 errors out of 1 requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Judge(tt.candidate, tt.stable, tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Verdict != tt.want {
				t.Errorf("verdict %s, want %s (%+v)", got.Verdict, tt.want, got)
			}
			if math.Abs(got.Difference.Lower-tt.wantDiff.Lower) > 1e-6 || math.Abs(got.Difference.Upper-tt.wantDiff.Upper) > 1e-6 {
				t.Errorf("difference [%.6f, %.6f], want [%.6f, %.6f]", got.Difference.Lower, got.Difference.Upper, tt.wantDiff.Lower, tt.wantDiff.Upper)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	r, err := Judge(Counts{Requests: 1000, Errors: 60}, Counts{Requests: 10000, Errors: 100}, Config{Confidence: 0.95})
	if err != nil {
		t.Fatal(err)
	}
	want := "candidate error rate 3.71% to 9.02%, stable 0.67% to 1.42%, difference +2.29 to +8.35 points"
	if got := r.Describe(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
