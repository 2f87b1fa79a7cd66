package model

import (
	"encoding/json"
	"math"
)

// TrainConfig says how to train: on how many examples of which seed, for how
// long, and on which held-out seed to evaluate.
type TrainConfig struct {
	Name         string
	Seed         uint64
	Samples      int
	Epochs       int
	LearningRate float64
	L2           float64
	EvalSeed     uint64
	EvalSamples  int
}

// DefaultTrainConfig made the shipped weights.json.
var DefaultTrainConfig = TrainConfig{
	Name: "fraud-scorer", Seed: 1, Samples: 20000, Epochs: 300, LearningRate: 0.5, L2: 1e-4,
	EvalSeed: 2, EvalSamples: 5000,
}

// Train fits the logistic regression by full-batch gradient descent on
// standardised, transformed features, then evaluates it on held-out data.
// Everything is deterministic: the same config gives the same weights.
func Train(cfg TrainConfig) (Weights, error) {
	data := NewGenerator(cfg.Seed).Generate(cfg.Samples)
	n, d := len(data), len(Features)

	// Transform every example once, then standardise with the training means.
	xs := make([][]float64, n)
	for i, e := range data {
		xs[i] = make([]float64, d)
		for j, f := range Features {
			t, err := f.Transform.Apply(e.X[j])
			if err != nil {
				return Weights{}, err
			}
			xs[i][j] = t
		}
	}
	mean, std := make([]float64, d), make([]float64, d)
	for j := range d {
		for i := range n {
			mean[j] += xs[i][j]
		}
		mean[j] /= float64(n)
		for i := range n {
			std[j] += (xs[i][j] - mean[j]) * (xs[i][j] - mean[j])
		}
		std[j] = math.Sqrt(std[j] / float64(n))
		for i := range n {
			xs[i][j] = (xs[i][j] - mean[j]) / std[j]
		}
	}

	w, b := make([]float64, d), 0.0
	grad := make([]float64, d)
	for range cfg.Epochs {
		clear(grad)
		gb := 0.0
		for i, e := range data {
			z := b
			for j := range d {
				z += w[j] * xs[i][j]
			}
			diff := sigmoid(z) - boolToFloat(e.Fraud)
			for j := range d {
				grad[j] += diff * xs[i][j]
			}
			gb += diff
		}
		for j := range d {
			w[j] -= cfg.LearningRate * (grad[j]/float64(n) + cfg.L2*w[j])
		}
		b -= cfg.LearningRate * gb / float64(n)
	}

	out := Weights{
		Model: cfg.Name, Bias: round(b), Threshold: 0.5,
		Training: Training{Seed: cfg.Seed, Samples: cfg.Samples, Epochs: cfg.Epochs, LearningRate: cfg.LearningRate, L2: cfg.L2},
	}
	for j, f := range Features {
		out.Features = append(out.Features, FeatureWeight{Name: f.Name, Transform: f.Transform, Mean: round(mean[j]), Std: round(std[j]), Weight: round(w[j])})
	}
	m := &Model{w: out}
	out.Evaluation = m.Evaluate(cfg.EvalSeed, cfg.EvalSamples)
	return out, nil
}

// Evaluate measures accuracy, precision and recall on fresh synthetic examples.
func (m *Model) Evaluate(seed uint64, samples int) Evaluation {
	var tp, fp, fn, correct int
	for _, e := range NewGenerator(seed).Generate(samples) {
		p, err := m.PredictVector(e.X)
		if err != nil {
			continue // the generator only draws valid values
		}
		switch {
		case p.Fraud && e.Fraud:
			tp++
		case p.Fraud && !e.Fraud:
			fp++
		case !p.Fraud && e.Fraud:
			fn++
		}
		if p.Fraud == e.Fraud {
			correct++
		}
	}
	return Evaluation{
		Seed: seed, Samples: samples,
		Accuracy:  round(ratio(correct, samples)),
		Precision: round(ratio(tp, tp+fp)),
		Recall:    round(ratio(tp, tp+fn)),
	}
}

// MarshalIndent writes weights the way weights.json is committed.
func (w Weights) MarshalIndent() ([]byte, error) {
	b, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// round keeps six decimals: the file stays readable and a rerun on another
// machine writes the same bytes.
func round(v float64) float64 { return math.Round(v*1e6) / 1e6 }
