package model

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Weights is the weights file: what hack/train-model writes and the server loads.
type Weights struct {
	// Model is the model's name, the default of the server's model label.
	Model string `json:"model"`
	// Features are the standardisation and weight of each input, in the order of Features.
	Features []FeatureWeight `json:"features"`
	// Bias is the intercept.
	Bias float64 `json:"bias"`
	// Threshold is the probability from which a payment is called fraud.
	Threshold float64 `json:"threshold"`
	// Training records how the weights were made, so they can be made again.
	Training Training `json:"training"`
	// Evaluation is the model's quality on held-out synthetic data.
	Evaluation Evaluation `json:"evaluation"`
}

// FeatureWeight standardises and weighs one transformed feature.
type FeatureWeight struct {
	Name      string    `json:"name"`
	Transform Transform `json:"transform"`
	Mean      float64   `json:"mean"`
	Std       float64   `json:"std"`
	Weight    float64   `json:"weight"`
}

// Training is how hack/train-model made the weights.
type Training struct {
	Seed         uint64  `json:"seed"`
	Samples      int     `json:"samples"`
	Epochs       int     `json:"epochs"`
	LearningRate float64 `json:"learningRate"`
	L2           float64 `json:"l2"`
}

// Evaluation is measured on examples drawn with another seed than the training's.
type Evaluation struct {
	Seed      uint64  `json:"seed"`
	Samples   int     `json:"samples"`
	Accuracy  float64 `json:"accuracy"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

// Model predicts with validated weights.
type Model struct {
	w Weights
}

//go:embed weights.json
var shippedWeights []byte

// Shipped is the model whose weights ship in this package (weights.json),
// made by `make model-weights`.
func Shipped() *Model {
	m, err := Load(bytes.NewReader(shippedWeights))
	if err != nil {
		// The file is checked in and tested; a broken one is a build defect.
		panic(fmt.Sprintf("the shipped weights.json is invalid: %v", err))
	}
	return m
}

// Load reads and validates a weights file: every feature of Features, in order,
// with a known transform, a positive spread and finite numbers.
func Load(r io.Reader) (*Model, error) {
	var w Weights
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("reading weights: %w", err)
	}
	if err := w.validate(); err != nil {
		return nil, err
	}
	return &Model{w: w}, nil
}

func (w *Weights) validate() error {
	if w.Model == "" {
		return errors.New("weights: model name is empty")
	}
	if len(w.Features) != len(Features) {
		return fmt.Errorf("weights: %d features, want %d (%s)", len(w.Features), len(Features), strings.Join(FeatureNames(), ", "))
	}
	for i, f := range w.Features {
		want := Features[i]
		if f.Name != want.Name || f.Transform != want.Transform {
			return fmt.Errorf("weights: feature %d is %s (%s), want %s (%s)", i, f.Name, f.Transform, want.Name, want.Transform)
		}
		if !finite(f.Mean, f.Std, f.Weight) || f.Std <= 0 {
			return fmt.Errorf("weights: feature %s needs finite numbers and a positive std", f.Name)
		}
	}
	if !finite(w.Bias, w.Threshold) || w.Threshold <= 0 || w.Threshold >= 1 {
		return errors.New("weights: bias must be finite and threshold in (0, 1)")
	}
	return nil
}

// Name is the model's name from its weights file.
func (m *Model) Name() string { return m.w.Model }

// Weights returns a copy of the weights.
func (m *Model) Weights() Weights {
	w := m.w
	w.Features = append([]FeatureWeight(nil), m.w.Features...)
	return w
}

// Prediction is the model's answer for one payment.
type Prediction struct {
	// Fraud is the predicted class.
	Fraud bool
	// Probability is the model's probability that the payment is fraud.
	Probability float64
}

// Confidence is the probability of the predicted class.
func (p Prediction) Confidence() float64 {
	if p.Fraud {
		return p.Probability
	}
	return 1 - p.Probability
}

// InputError is a request the model cannot score; its message names the
// feature and what a valid value is.
type InputError struct{ msg string }

func (e *InputError) Error() string { return e.msg }

// Predict scores a payment given by feature name. Every feature is required
// and no other is accepted: a misspelt key would otherwise be scored as zero.
func (m *Model) Predict(features map[string]float64) (Prediction, error) {
	// Unknown names first: a misspelt key is the cause of the feature missing.
	for name := range features {
		if !known(name) {
			return Prediction{}, &InputError{fmt.Sprintf("feature %q is unknown; the model takes: %s", name, strings.Join(FeatureNames(), ", "))}
		}
	}
	x := make([]float64, len(Features))
	for i, f := range Features {
		v, ok := features[f.Name]
		if !ok {
			return Prediction{}, &InputError{fmt.Sprintf("feature %q is missing; send all of: %s", f.Name, strings.Join(FeatureNames(), ", "))}
		}
		x[i] = v
	}
	return m.PredictVector(x)
}

// PredictVector scores raw feature values in the order of Features.
func (m *Model) PredictVector(x []float64) (Prediction, error) {
	if len(x) != len(Features) {
		return Prediction{}, &InputError{fmt.Sprintf("%d feature values, want %d", len(x), len(Features))}
	}
	z := m.w.Bias
	for i, f := range m.w.Features {
		if !finite(x[i]) {
			return Prediction{}, &InputError{fmt.Sprintf("feature %q is not a finite number", f.Name)}
		}
		t, err := f.Transform.Apply(x[i])
		if err != nil {
			return Prediction{}, &InputError{fmt.Sprintf("feature %q %v (%s)", f.Name, err, Features[i].Description)}
		}
		z += f.Weight * (t - f.Mean) / f.Std
	}
	p := sigmoid(z)
	return Prediction{Fraud: p >= m.w.Threshold, Probability: p}, nil
}

func known(name string) bool {
	for _, f := range Features {
		if f.Name == name {
			return true
		}
	}
	return false
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
