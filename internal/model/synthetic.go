package model

import (
	"math"
	"math/rand/v2"
)

// Example is one labelled payment: raw feature values in the order of
// Features, and whether it was fraud.
type Example struct {
	X     []float64
	Fraud bool
}

// FraudShare is the share of fraudulent payments in the synthetic data. It is
// far above real fraud rates so that accuracy means something: on 1% fraud,
// a model that never says fraud is 99% accurate.
const FraudShare = 0.25

// labelNoise is the share of labels flipped after generation: real labels are
// wrong sometimes, and no model should reach 100%.
const labelNoise = 0.02

// Generator draws synthetic, fraud-like payments. The same seed gives the same
// payments on every machine and Go release: it uses a PCG source and its own
// conversions to normal and exponential variates, never math/rand's, whose
// algorithms may change between releases.
type Generator struct {
	src *rand.PCG
}

// NewGenerator returns a generator for a seed.
func NewGenerator(seed uint64) *Generator {
	return &Generator{src: rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)}
}

// Generate draws n examples.
func (g *Generator) Generate(n int) []Example {
	out := make([]Example, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// Next draws one example. The label is drawn first and every feature from a
// distribution that depends on it; the distributions overlap, so the best
// linear model is good but not perfect.
func (g *Generator) Next() Example {
	fraud := g.bernoulli(FraudShare)
	x := make([]float64, len(Features))
	if fraud {
		x[0] = math.Exp(g.normal(4.4, 1.1))                     // amount: larger, wider
		x[1] = g.hour(0.35)                                     // often at night
		x[2] = clamp(g.normal(0.5, 0.18), 0, 1)                 // riskier merchants
		x[3] = g.exponential(60)                                // far from home
		x[4] = math.Floor(g.exponential(7))                     // card used often today
		x[5] = boolToFloat(g.bernoulli(0.25))                   // card rarely present
		x[6] = boolToFloat(g.bernoulli(0.25))                   // often abroad
		x[7] = math.Min(1+math.Floor(g.exponential(400)), 3650) // young accounts
	} else {
		x[0] = math.Exp(g.normal(3.4, 0.9))
		x[1] = g.hour(0.08)
		x[2] = clamp(g.normal(0.25, 0.12), 0, 1)
		x[3] = g.exponential(8)
		x[4] = math.Floor(g.exponential(3))
		x[5] = boolToFloat(g.bernoulli(0.65))
		x[6] = boolToFloat(g.bernoulli(0.04))
		x[7] = math.Floor(30 + g.uniform()*3620)
	}
	if g.bernoulli(labelNoise) {
		fraud = !fraud
	}
	return Example{X: x, Fraud: fraud}
}

// Features returns the example as the JSON object a /predict request carries.
func (e Example) Features() map[string]float64 {
	m := make(map[string]float64, len(Features))
	for i, f := range Features {
		m[f.Name] = e.X[i]
	}
	return m
}

// uniform is in [0, 1), from the top 53 bits.
func (g *Generator) uniform() float64 {
	return float64(g.src.Uint64()>>11) / (1 << 53)
}

func (g *Generator) bernoulli(p float64) bool { return g.uniform() < p }

// normal uses Box-Muller, drawing two uniforms per variate for simplicity.
func (g *Generator) normal(mean, sd float64) float64 {
	u1 := 1 - g.uniform() // (0, 1]: log(0) is not a number
	u2 := g.uniform()
	return mean + sd*math.Sqrt(-2*math.Log(u1))*math.Cos(2*math.Pi*u2)
}

// exponential inverts the CDF.
func (g *Generator) exponential(mean float64) float64 {
	return -mean * math.Log(1-g.uniform())
}

// hour is at night ([0, 6)) with probability night, else in [6, 24).
func (g *Generator) hour(night float64) float64 {
	if g.bernoulli(night) {
		return math.Floor(g.uniform() * 6)
	}
	return 6 + math.Floor(g.uniform()*18)
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func boolToFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
