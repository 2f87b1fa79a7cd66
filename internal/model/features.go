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
	{Name: "amount", Description: "payment amount in US dollars, zero or more", Transform: Log1p},
	{Name: "hour", Description: "local hour of day of the payment, in [0, 24)", Transform: Night},
	{Name: "merchant_risk", Description: "risk score of the merchant, in [0, 1]", Transform: Identity},
	{Name: "distance_km", Description: "distance from the card holder's home, in km, zero or more", Transform: Log1p},
	{Name: "transactions_24h", Description: "payments on the card in the last 24 hours, zero or more", Transform: Log1p},
	{Name: "card_present", Description: "1 when the card was present, else 0", Transform: Identity},
	{Name: "foreign", Description: "1 when the merchant is in another country than the card's, else 0", Transform: Identity},
	{Name: "account_age_days", Description: "age of the account in days, zero or more", Transform: Log1p},
}

// FeatureNames lists the feature names in order, for error messages.
func FeatureNames() []string {
	names := make([]string, len(Features))
	for i, f := range Features {
		names[i] = f.Name
	}
	return names
}
