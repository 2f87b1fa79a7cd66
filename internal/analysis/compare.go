package analysis

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/drift"
)

// Names of the measurements that compare the candidate with the stable
// version over the same window.
const (
	// MetricPredictionDrift is the PSI of the prediction scores.
	MetricPredictionDrift = "predictionDrift"
	// MetricInputDrift prefixes the PSI of one input feature: inputDrift/amount.
	MetricInputDrift = "inputDrift/"
	// MetricErrorRateIncrease and MetricLatencyP95Increase are the percent
	// by which the candidate's value exceeds the stable's.
	MetricErrorRateIncrease  = "errorRateIncrease"
	MetricLatencyP95Increase = "latencyP95Increase"
)

// comparisons are the queries the triggers relative to stable need: both
// versions' histograms for drift, the stable's value for a relative bound.
// Without a stable version there is nothing to ask: the measurements say
// NoData.
func comparisons(t *servingv1alpha1.TriggersSpec, tpl servingv1alpha1.QueryTemplates, candidate, stable Subject) []wanted {
	if stable.Version == "" {
		return nil
	}
	var list []wanted
	if t.ErrorRate != nil && t.ErrorRate.RelativeTo == servingv1alpha1.BaselineStable {
		list = append(list, wanted{metric: MetricErrorRate, subject: stable, field: "spec.analysis.prometheus.queries.errorRate", template: tpl.ErrorRate})
	}
	if t.LatencyP95 != nil && t.LatencyP95.RelativeTo == servingv1alpha1.BaselineStable {
		list = append(list, wanted{metric: MetricLatencyP95, subject: stable, field: "spec.analysis.prometheus.queries.latencyP95", template: tpl.LatencyP95})
	}
	if t.PredictionDrift != nil {
		for _, v := range []Subject{candidate, stable} {
			list = append(list, wanted{metric: MetricPredictionDrift, subject: v, field: "spec.analysis.prometheus.queries.predictionScore",
				template: tpl.PredictionScore, histogram: true})
		}
	}
	if t.InputDrift != nil {
		for _, f := range t.InputDrift.Features {
			for _, v := range []Subject{candidate, stable} {
				list = append(list, wanted{metric: MetricInputDrift + string(f), subject: v, field: "spec.analysis.prometheus.queries.featureValue",
					template: tpl.FeatureValue, feature: string(f), histogram: true})
			}
		}
	}
	return list
}

// pair is the candidate's and the stable's sample of one comparison.
type pair struct{ candidate, stable *Sample }

// noStable is the NoData of a comparison without a stable version.
const noStable = "no stable version to compare with"

// againstStable sorts a round's samples for the comparisons with stable.
type againstStable struct {
	pairs  map[string]*pair   // by metric: histograms, and stable's values of relative bounds
	cand   map[string]*Sample // the candidate's built-in samples, by metric
	counts map[string]*Sample // the judge's counts, by metric and subject
}

func newAgainstStable() *againstStable {
	return &againstStable{pairs: map[string]*pair{}, cand: map[string]*Sample{}, counts: map[string]*Sample{}}
}

// take keeps s for a comparison, and reports whether it is judged only
// there, not on its own.
func (a *againstStable) take(s *Sample, cand Subject) bool {
	switch {
	case s.Custom:
		return false
	case s.Metric == MetricJudgeRequests || s.Metric == MetricJudgeErrors:
		a.counts[s.Metric+"@"+s.Version+"@"+s.Revision] = s
		return true
	case comparedSample(s, cand):
		p := a.pairs[s.Metric]
		if p == nil {
			p = &pair{}
			a.pairs[s.Metric] = p
		}
		if s.Histogram && s.Subject() == cand {
			p.candidate = s
		} else {
			p.stable = s
		}
		return true
	}
	a.cand[s.Metric] = s
	return false
}

// comparedSample reports whether s is one side of a comparison with stable,
// judged as a pair rather than on its own: a histogram, or a stable
// version's value of a relative bound.
func comparedSample(s *Sample, cand Subject) bool {
	if s.Custom {
		return false
	}
	return s.Histogram || ((s.Metric == MetricErrorRate || s.Metric == MetricLatencyP95) && s.Subject() != cand)
}

// judgeComparisons judges the triggers relative to stable, in the order the
// spec declares them.
func judgeComparisons(spec *servingv1alpha1.AnalysisSpec, version string, pairs map[string]*pair, cand map[string]*Sample, at metav1.Time) []servingv1alpha1.Measurement {
	t := spec.Triggers
	if t == nil {
		return nil
	}
	var out []servingv1alpha1.Measurement
	get := func(metric string) *pair {
		if p := pairs[metric]; p != nil {
			return p
		}
		return &pair{}
	}
	if t.ErrorRate != nil && t.ErrorRate.RelativeTo == servingv1alpha1.BaselineStable {
		p := get(MetricErrorRate)
		out = append(out, judgeIncrease(MetricErrorRateIncrease, version, cand[MetricErrorRate], p.stable, string(t.ErrorRate.MaxIncreasePercent), at))
	}
	if t.LatencyP95 != nil && t.LatencyP95.RelativeTo == servingv1alpha1.BaselineStable {
		p := get(MetricLatencyP95)
		out = append(out, judgeIncrease(MetricLatencyP95Increase, version, cand[MetricLatencyP95], p.stable, string(t.LatencyP95.MaxIncreasePercent), at))
	}
	if d := t.PredictionDrift; d != nil {
		out = append(out, judgeDrift(MetricPredictionDrift, version, get(MetricPredictionDrift), string(d.MaxPSI), d.MinObservations, at))
	}
	if d := t.InputDrift; d != nil {
		for _, f := range d.Features {
			metric := MetricInputDrift + string(f)
			out = append(out, judgeDrift(metric, version, get(metric), string(d.MaxPSI), d.MinObservations, at))
		}
	}
	return out
}

// judgeIncrease bounds how far the candidate's value exceeds the stable's,
// in percent of the stable's. A stable value of zero leaves no room: any
// candidate value above it is an infinite increase.
func judgeIncrease(metric, version string, cand, stable *Sample, maxIncrease string, at metav1.Time) servingv1alpha1.Measurement {
	m := servingv1alpha1.Measurement{Metric: metric, Version: version, Time: at, Bound: "<= " + maxIncrease}
	switch {
	case cand == nil || stable == nil:
		m.Verdict, m.Message = servingv1alpha1.VerdictNoData, noStable
	case cand.Err != nil || stable.Err != nil:
		sideErr(&m, cand, stable)
	default:
		m.Query = cand.PromQL
		increase := 0.0
		switch {
		case stable.Value > 0:
			increase = 100 * (cand.Value - stable.Value) / stable.Value
		case cand.Value > stable.Value:
			increase = math.Inf(1)
		}
		m.Value = number(increase)
		m.Message = fmt.Sprintf("%s against %s of version %s", number(cand.Value), number(stable.Value), stable.Subject())
		judgeMax(&m, increase, maxIncrease)
	}
	return m
}

// judgeDrift compares the candidate's histogram with the stable's: the PSI,
// its bound, and in the message the buckets that moved most.
func judgeDrift(metric, version string, p *pair, maxPSI string, minObservations int32, at metav1.Time) servingv1alpha1.Measurement {
	m := servingv1alpha1.Measurement{Metric: metric, Version: version, Time: at, Bound: "<= " + maxPSI}
	switch {
	case p.candidate == nil || p.stable == nil:
		m.Verdict, m.Message = servingv1alpha1.VerdictNoData, noStable
		return m
	case p.candidate.Err != nil || p.stable.Err != nil:
		sideErr(&m, p.candidate, p.stable)
		return m
	}
	m.Query = p.candidate.PromQL
	res, err := drift.Compare(p.candidate.Buckets, p.stable.Buckets, drift.Options{MinObservations: float64(minObservations)})
	switch {
	case errors.Is(err, drift.ErrNoData):
		m.Verdict, m.Message = servingv1alpha1.VerdictNoData, fmt.Sprintf("against version %s: %v", p.stable.Subject(), err)
		return m
	case err != nil:
		m.Verdict, m.Message = servingv1alpha1.VerdictError, err.Error()
		return m
	}
	m.Value = number(res.PSI)
	m.Message = res.Describe() + ", against version " + p.stable.Subject().String()
	judgeMax(&m, res.PSI, maxPSI)
	return m
}

// sideErr records the error of whichever side failed; no data on either
// side is no data for the comparison.
func sideErr(m *servingv1alpha1.Measurement, cand, stable *Sample) {
	side, s := "candidate", cand
	if s.Err == nil {
		side, s = "stable version "+stable.Subject().String(), stable
	}
	if errors.Is(s.Err, ErrNoData) {
		m.Verdict, m.Message = servingv1alpha1.VerdictNoData, "the "+side+" has no data in the window"
		return
	}
	m.Verdict, m.Message = servingv1alpha1.VerdictError, "the "+side+": "+s.Err.Error()
}

// parseLe reads a bucket's le label.
func parseLe(le string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(le), 64)
	if err != nil {
		// Not quoted: the answer's text stays out of status.
		return 0, errors.New("an le label of the answer is not a number")
	}
	return v, nil
}
