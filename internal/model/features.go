package model

import (
	"fmt"
	"math"
)

// Feature is one input of the model, as a client sends it to /predict.
type Feature struct {
	// Name is the JSON key in a /predict request.
	Name string
	// Description says what the value means and its unit.
	Description string
	// Transform turns the raw value into what the regression weighs.
	Transform Transform
	// Buckets are the upper bounds of the histogram of raw values the model
	// server exports, for input drift: chosen from the range of the training
	// data (hack/train-model), so that every bucket holds some of it and
	// little falls above the last. Few buckets, since two samples of one
	// distribution differ by chance more the more buckets they are split into.
	Buckets []float64
}

// Transform names a fixed function applied to a raw feature value before it is
// standardised: it lets a linear model use a skewed amount or the hour of day.
type Transform string

const (
	// Identity keeps the value as it is.
	Identity Transform = "identity"
	// Log1p weighs heavy-tailed amounts and distances by order of magnitude.
	Log1p Transform = "log1p"
	// Night is 1 for an hour of day in [0, 6), else 0: a linear weight on the
	// hour itself could not say "midnight to dawn".
	Night Transform = "night"
)

// Apply returns the transformed value.
func (t Transform) Apply(v float64) (float64, error) {
	switch t {
	case Identity:
		return v, nil
	case Log1p:
		if v < 0 {
			return 0, fmt.Errorf("must be zero or more, got %g", v)
		}
		return math.Log1p(v), nil
	case Night:
		if v < 0 || v >= 24 {
			return 0, fmt.Errorf("must be an hour of day in [0, 24), got %g", v)
		}
		if v < 6 {
			return 1, nil
		}
		return 0, nil
	default:
		return 0, fmt.Errorf("unknown transform %q", t)
	}
}

// Features are the model's inputs, in the order of its weights. Every one is
// required in a /predict request; the values are numbers (booleans as 0 or 1).
var Features = []Feature{
	{Name: "amount", Description: "payment amount in US dollars, zero or more", Transform: Log1p,
		Buckets: []float64{5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000}},
	{Name: "hour", Description: "local hour of day of the payment, in [0, 24)", Transform: Night,
		Buckets: []float64{2, 5, 8, 11, 14, 17, 20, 23}},
	{Name: "merchant_risk", Description: "risk score of the merchant, in [0, 1]", Transform: Identity,
		Buckets: []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1}},
	{Name: "distance_km", Description: "distance from the card holder's home, in km, zero or more", Transform: Log1p,
		Buckets: []float64{0.5, 1, 2.5, 5, 10, 25, 50, 100, 250}},
	{Name: "transactions_24h", Description: "payments on the card in the last 24 hours, zero or more", Transform: Log1p,
		Buckets: []float64{0, 1, 2, 3, 5, 8, 12, 20, 30}},
	{Name: "card_present", Description: "1 when the card was present, else 0", Transform: Identity,
		Buckets: []float64{0, 1}},
	{Name: "foreign", Description: "1 when the merchant is in another country than the card's, else 0", Transform: Identity,
		Buckets: []float64{0, 1}},
	{Name: "account_age_days", Description: "age of the account in days, zero or more", Transform: Log1p,
		Buckets: []float64{30, 90, 180, 365, 730, 1095, 1825, 2555, 3650}},
}

// FeatureNames lists the feature names in order, for error messages.
func FeatureNames() []string {
	names := make([]string, len(Features))
	for i, f := range Features {
		names[i] = f.Name
	}
	return names
}
