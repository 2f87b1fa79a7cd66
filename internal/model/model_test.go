package model

import (
	"bytes"
	"errors"
	"math"
	"os"
	"sort"
	"strings"
	"testing"
)

// validPayment is a payment with every feature set to a plausible value.
func validPayment() map[string]float64 {
	return map[string]float64{
		"amount": 42.5, "hour": 14, "merchant_risk": 0.2, "distance_km": 3,
		"transactions_24h": 2, "card_present": 1, "foreign": 0, "account_age_days": 900,
	}
}

func TestPredict(t *testing.T) {
	m := Shipped()
	tests := []struct {
		name      string
		change    func(map[string]float64)
		wantFraud bool
		wantErr   string
	}{
		{name: "an everyday payment is legit", change: func(map[string]float64) {}},
		{name: "a large foreign night payment far from home on a new account is fraud", change: func(p map[string]float64) {
			p["amount"], p["hour"], p["merchant_risk"], p["distance_km"] = 900, 3, 0.7, 400
			p["transactions_24h"], p["card_present"], p["foreign"], p["account_age_days"] = 12, 0, 1, 20
		}, wantFraud: true},
		{name: "a missing feature names it and lists all", change: func(p map[string]float64) { delete(p, "hour") },
			wantErr: `feature "hour" is missing; send all of: amount, hour,`},
		{name: "an unknown feature is refused, not ignored", change: func(p map[string]float64) { p["amout"] = 1 },
			wantErr: `feature "amout" is unknown`},
		{name: "a negative amount", change: func(p map[string]float64) { p["amount"] = -1 },
			wantErr: `feature "amount" must be zero or more, got -1`},
		{name: "an hour past midnight", change: func(p map[string]float64) { p["hour"] = 24 },
			wantErr: `feature "hour" must be an hour of day in [0, 24)`},
		{name: "not a number", change: func(p map[string]float64) { p["merchant_risk"] = math.NaN() },
			wantErr: `feature "merchant_risk" is not a finite number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPayment()
			tt.change(p)
			got, err := m.Predict(p)
			if tt.wantErr != "" {
				var inErr *InputError
				if !errors.As(err, &inErr) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want an InputError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Fraud != tt.wantFraud {
				t.Errorf("fraud = %v (p=%.3f), want %v", got.Fraud, got.Probability, tt.wantFraud)
			}
			if c := got.Confidence(); c < 0.5 || c > 1 {
				t.Errorf("confidence %.3f is outside [0.5, 1]", c)
			}
		})
	}
}

func TestTransformApply(t *testing.T) {
	tests := []struct {
		tr      Transform
		in      float64
		want    float64
		wantErr bool
	}{
		{Identity, -3, -3, false},
		{Log1p, 0, 0, false},
		{Log1p, math.E - 1, 1, false},
		{Log1p, -0.5, 0, true},
		{Night, 0, 1, false},
		{Night, 5.9, 1, false},
		{Night, 6, 0, false},
		{Night, 23.5, 0, false},
		{Night, -1, 0, true},
		{Transform("square"), 2, 0, true},
	}
	for _, tt := range tests {
		got, err := tt.tr.Apply(tt.in)
		if (err != nil) != tt.wantErr || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s(%g) = %g, %v; want %g, error %v", tt.tr, tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestLoadRefusesBrokenWeights(t *testing.T) {
	good, err := Shipped().Weights().MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		change  func(w *Weights)
		raw     string
		wantErr string
	}{
		{name: "a feature missing", change: func(w *Weights) { w.Features = w.Features[:7] }, wantErr: "7 features, want 8"},
		{name: "features out of order", change: func(w *Weights) { w.Features[0], w.Features[1] = w.Features[1], w.Features[0] },
			wantErr: "feature 0 is hour (night), want amount (log1p)"},
		{name: "a zero spread", change: func(w *Weights) { w.Features[2].Std = 0 }, wantErr: "merchant_risk needs finite numbers and a positive std"},
		{name: "a threshold of one", change: func(w *Weights) { w.Threshold = 1 }, wantErr: "threshold in (0, 1)"},
		{name: "no name", change: func(w *Weights) { w.Model = "" }, wantErr: "model name is empty"},
		{name: "an unknown field", raw: strings.Replace(string(good), `"bias"`, `"biass"`, 1), wantErr: `unknown field "biass"`},
		{name: "not JSON", raw: "weights", wantErr: "reading weights"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			if tt.change != nil {
				w := Shipped().Weights()
				tt.change(&w)
				if raw, err = w.MarshalIndent(); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Load(bytes.NewReader(raw)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// The weights in the repository are what hack/train-model makes: anyone can
// make them again, and nobody edited them by hand.
func TestShippedWeightsAreReproducible(t *testing.T) {
	w, err := Train(DefaultTrainConfig)
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("weights.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, shipped) {
		t.Fatalf("weights.json differs from a fresh training; run 'make model-weights' and commit:\n%s", got)
	}
}

// On payments it never saw, the shipped model is good and not perfect: the
// accuracy trigger of the analysis has something to lose.
func TestShippedModelAccuracyOnFreshData(t *testing.T) {
	e := Shipped().Evaluate(12345, 5000)
	if e.Accuracy < 0.92 || e.Accuracy > 0.97 {
		t.Errorf("accuracy %.4f on fresh data, want between 0.92 and 0.97", e.Accuracy)
	}
	if e.Recall < 0.8 || e.Precision < 0.85 {
		t.Errorf("recall %.4f, precision %.4f; want at least 0.8 and 0.85", e.Recall, e.Precision)
	}
}

func TestGeneratorIsDeterministicAndFraudLike(t *testing.T) {
	a, b := NewGenerator(7).Generate(10000), NewGenerator(7).Generate(10000)
	fraud := 0
	for i := range a {
		for j := range a[i].X {
			if a[i].X[j] != b[i].X[j] {
				t.Fatalf("example %d feature %d differs between two generators of one seed", i, j)
			}
		}
		if a[i].Fraud {
			fraud++
		}
		if _, err := Shipped().Predict(a[i].Features()); err != nil {
			t.Fatalf("example %d is not a valid request: %v", i, err)
		}
	}
	// Label noise flips a few labels each way.
	want := FraudShare*(1-labelNoise) + (1-FraudShare)*labelNoise
	if share := float64(fraud) / float64(len(a)); math.Abs(share-want) > 0.015 {
		t.Errorf("fraud share %.3f, want about %.3f", share, want)
	}
	if NewGenerator(8).Next().X[0] == a[0].X[0] {
		t.Error("another seed drew the same first amount")
	}
}

// The histogram buckets of every feature fit the training data: each bucket
// holds at least 0.5% of it, at most 1% lies above the last bound.
func TestFeatureBucketsFitTheTrainingData(t *testing.T) {
	cfg := DefaultTrainConfig
	data := NewGenerator(cfg.Seed).Generate(cfg.Samples)
	for j, f := range Features {
		if !sort.Float64sAreSorted(f.Buckets) || len(f.Buckets) < 2 || len(f.Buckets) > 12 {
			t.Errorf("%s: buckets %v, want 2 to 12 increasing bounds", f.Name, f.Buckets)
			continue
		}
		counts := make([]int, len(f.Buckets)+1)
		for _, e := range data {
			counts[sort.SearchFloat64s(f.Buckets, e.X[j])]++ // the first bound >= x: Prometheus' le
		}
		n := float64(len(data))
		for i, ub := range f.Buckets {
			if share := float64(counts[i]) / n; share < 0.005 {
				t.Errorf("%s: the bucket le=%g holds %.2f%% of the training data, want at least 0.5%%", f.Name, ub, 100*share)
			}
		}
		if share := float64(counts[len(f.Buckets)]) / n; share > 0.01 {
			t.Errorf("%s: %.2f%% of the training data is above le=%g, want at most 1%%", f.Name, 100*share, f.Buckets[len(f.Buckets)-1])
		}
	}
}
