package analysis

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/drift"
)

// Sample is what one query answered: a value (Buckets for a
// Query.Histogram), ErrNoData, or another error.
type Sample struct {
	Query
	Value   float64
	Buckets []drift.Bucket
	Err     error
}

// keepPerMetric is how many measurements of each metric and version status keeps.
const keepPerMetric = 3

// maxMeasurements is the API's bound on status.analysis.measurements.
const maxMeasurements = 64

// Judge judges a round of samples of subject and returns the analysis status
// that follows prev: the round's verdict, the counts, and the measurements
// with the oldest beyond a few per metric dropped.
func Judge(spec *servingv1alpha1.AnalysisSpec, subject Subject, samples []Sample, prev *servingv1alpha1.AnalysisStatus, now time.Time) *servingv1alpha1.AnalysisStatus {
	st := &servingv1alpha1.AnalysisStatus{Version: subject.Version, Revision: subject.Revision}
	if subject.Of(prev) {
		st = prev.DeepCopy()
	}
	at := metav1.NewTime(now)
	measured, judged := judgeSamples(spec, subject, samples, at)
	if judged != nil || spec.Judge == nil {
		st.Judge = judged
	}

	round := servingv1alpha1.AnalysisRound{Time: metav1.NewMicroTime(now), Verdict: servingv1alpha1.VerdictPass}
	var breach, noData, failed *servingv1alpha1.Measurement
	for i := range measured {
		m := &measured[i]
		switch m.Verdict {
		case servingv1alpha1.VerdictBreach:
			st.Breaches++
			breach = first(breach, m)
		case servingv1alpha1.VerdictNoData:
			switch spec.NoData {
			case servingv1alpha1.NoDataFail:
				st.Breaches++
				breach = first(breach, m)
			case servingv1alpha1.NoDataIgnore:
			default:
				noData = first(noData, m)
			}
		case servingv1alpha1.VerdictError:
			failed = first(failed, m)
		}
	}
	if failed != nil {
		st.ConsecutiveErrors++
	} else {
		st.ConsecutiveErrors = 0
	}
	switch {
	case breach != nil:
		round.Verdict, round.Message = servingv1alpha1.VerdictBreach, describe(breach, subject)
	case failed != nil:
		round.Verdict, round.Message = servingv1alpha1.VerdictError, describe(failed, subject)
	case noData != nil:
		round.Verdict, round.Message = servingv1alpha1.VerdictNoData, describe(noData, subject)
	default:
		round.Message = fmt.Sprintf("%d measurements of version %s passed", len(measured), subject)
	}
	st.LastRound = &round
	st.Measurements = keepRecent(append(measured, st.Measurements...))
	return st
}

// Failed reports whether the analysis of subject calls for a rollback, and
// why: more breaches than failureLimit, or more failed rounds in a row than
// consecutiveErrorLimit.
func Failed(spec *servingv1alpha1.AnalysisSpec, st *servingv1alpha1.AnalysisStatus, subject Subject) (string, bool) {
	if spec == nil || !subject.Of(st) {
		return "", false
	}
	version := subject.String()
	last := ""
	if st.LastRound != nil {
		last = st.LastRound.Message
	}
	if st.Breaches > spec.FailureLimit {
		return fmt.Sprintf("analysis of version %s breached %d time(s), more than failureLimit %d: %s", version, st.Breaches, spec.FailureLimit, last), true
	}
	if st.ConsecutiveErrors > spec.ConsecutiveErrorLimit {
		return fmt.Sprintf("analysis of version %s failed %d rounds in a row, more than consecutiveErrorLimit %d: %s", version, st.ConsecutiveErrors, spec.ConsecutiveErrorLimit, last), true
	}
	return "", false
}

// PassedSince reports whether the last round of subject passed at or after t.
func PassedSince(st *servingv1alpha1.AnalysisStatus, subject Subject, t time.Time) bool {
	return subject.Of(st) && st.LastRound != nil &&
		st.LastRound.Verdict == servingv1alpha1.VerdictPass && !st.LastRound.Time.Time.Before(t)
}

// judgeSamples judges each sample against its bound. The sample-size floor
// applies last: with fewer requests than minSampleSize in the window, the
// other metrics have no data to speak of.
func judgeSamples(spec *servingv1alpha1.AnalysisSpec, subject Subject, samples []Sample, at metav1.Time) ([]servingv1alpha1.Measurement, *servingv1alpha1.JudgeStatus) {
	version := subject.Version
	var out []servingv1alpha1.Measurement
	floor := ""
	var stableAccuracy, candAccuracy *Sample
	vs := newAgainstStable()
	for i := range samples {
		read := readable(samples[i])
		s := &read
		if vs.take(s, subject) {
			continue
		}
		if s.Metric == MetricAccuracy && !s.Custom {
			// Judged below, candidate against stable.
			if s.Subject() == subject {
				candAccuracy = s
			} else {
				stableAccuracy = s
			}
			continue
		}
		m := judgeSample(spec, s, at)
		if m.Metric == MetricRequests && !s.Custom && m.Verdict == servingv1alpha1.VerdictNoData {
			floor = m.Message
		}
		out = append(out, m)
	}
	if spec.Triggers != nil && spec.Triggers.AccuracyDrop != nil {
		out = append(out, judgeAccuracyDrop(spec, version, candAccuracy, stableAccuracy, at))
	}
	out = append(out, judgeComparisons(spec, version, vs.pairs, vs.cand, at)...)
	var judged *servingv1alpha1.JudgeStatus
	if spec.Judge != nil && spec.Judge.Method == servingv1alpha1.JudgeSequential {
		var m servingv1alpha1.Measurement
		m, judged = judgeSequential(spec, subject, vs.counts, at)
		out = append(out, m)
	}
	if floor != "" {
		for i := range out {
			if out[i].Metric != MetricRequests && out[i].Verdict != servingv1alpha1.VerdictError {
				out[i].Verdict, out[i].Message = servingv1alpha1.VerdictNoData, floor
			}
		}
	}
	return out, judged
}

// readable is s with a value that is not a finite number read as no data,
// as the Prometheus provider reads NaN (0/0) and infinities: from another
// provider, a NaN would pass every bound (NaN > bound is false).
func readable(s Sample) Sample {
	if s.Err == nil && !s.Histogram && (math.IsNaN(s.Value) || math.IsInf(s.Value, 0)) {
		s.Value, s.Err = 0, ErrNoData
	}
	return s
}

// judgeSample judges one sample other than accuracy against its bound.
func judgeSample(spec *servingv1alpha1.AnalysisSpec, s *Sample, at metav1.Time) servingv1alpha1.Measurement {
	m := servingv1alpha1.Measurement{Metric: s.Metric, Version: s.Version, Query: s.PromQL, Time: at}
	if s.Err == nil {
		m.Value = number(s.Value)
	}
	builtIn := func(metric string) bool { return !s.Custom && s.Metric == metric }
	t := spec.Triggers
	if t == nil {
		t = &servingv1alpha1.TriggersSpec{}
	}
	switch {
	case errors.Is(s.Err, ErrNoData) && builtIn(MetricRequests):
		m.Verdict, m.Message = servingv1alpha1.VerdictNoData, fmt.Sprintf("no requests in the window, fewer than minSampleSize %d", spec.MinSampleSize)
	case errors.Is(s.Err, ErrNoData):
		m.Verdict, m.Message = servingv1alpha1.VerdictNoData, "the query returned no number"
	case s.Err != nil:
		m.Verdict, m.Message = servingv1alpha1.VerdictError, s.Err.Error()
	case builtIn(MetricRequests):
		m.Bound = fmt.Sprintf(">= %d", spec.MinSampleSize)
		m.Verdict = servingv1alpha1.VerdictPass
		if s.Value < float64(spec.MinSampleSize) {
			m.Verdict = servingv1alpha1.VerdictNoData
			m.Message = fmt.Sprintf("%s requests in the window, fewer than minSampleSize %d", number(s.Value), spec.MinSampleSize)
		}
	case builtIn(MetricErrorRate) && t.ErrorRate != nil:
		judgeMax(&m, s.Value, string(t.ErrorRate.MaxPercent))
	case builtIn(MetricLatencyP95) && t.LatencyP95 != nil:
		judgeMax(&m, s.Value, strconv.Itoa(int(t.LatencyP95.MaxMilliseconds)))
	default:
		judgeCustom(&m, spec, s.Value)
	}
	return m
}

func judgeMax(m *servingv1alpha1.Measurement, value float64, bound string) {
	m.Bound = "<= " + bound
	limit, err := strconv.ParseFloat(bound, 64)
	switch {
	case err != nil:
		m.Verdict, m.Message = servingv1alpha1.VerdictError, fmt.Sprintf("bound %q is not a number", bound)
	case value > limit:
		m.Verdict = servingv1alpha1.VerdictBreach
	default:
		m.Verdict = servingv1alpha1.VerdictPass
	}
}

func judgeCustom(m *servingv1alpha1.Measurement, spec *servingv1alpha1.AnalysisSpec, value float64) {
	m.Verdict = servingv1alpha1.VerdictPass
	for _, c := range spec.Metrics {
		if c.Name != m.Metric {
			continue
		}
		var bounds []string
		if c.Min != nil {
			bounds = append(bounds, ">= "+string(*c.Min))
			if lo, err := strconv.ParseFloat(string(*c.Min), 64); err == nil && value < lo {
				m.Verdict = servingv1alpha1.VerdictBreach
			}
		}
		if c.Max != nil {
			bounds = append(bounds, "<= "+string(*c.Max))
			if hi, err := strconv.ParseFloat(string(*c.Max), 64); err == nil && value > hi {
				m.Verdict = servingv1alpha1.VerdictBreach
			}
		}
		for i, b := range bounds {
			if i > 0 {
				m.Bound += " and "
			}
			m.Bound += b
		}
	}
}

// judgeAccuracyDrop compares the candidate's accuracy with the stable
// version's over the same window: the drop is relative to the stable one's.
func judgeAccuracyDrop(spec *servingv1alpha1.AnalysisSpec, version string, cand, stable *Sample, at metav1.Time) servingv1alpha1.Measurement {
	m := servingv1alpha1.Measurement{Metric: MetricAccuracyDrop, Version: version, Time: at, Bound: "<= " + string(spec.Triggers.AccuracyDrop.MaxPercent)}
	switch {
	case cand == nil || stable == nil:
		m.Verdict, m.Message = servingv1alpha1.VerdictNoData, "no stable version to compare accuracy with"
	case cand.Err != nil || stable.Err != nil:
		err := cand.Err
		if err == nil {
			err = stable.Err
		}
		m.Verdict, m.Message = servingv1alpha1.VerdictError, err.Error()
		if errors.Is(err, ErrNoData) {
			m.Verdict, m.Message = servingv1alpha1.VerdictNoData, "no labelled outcomes in the window for the candidate or the stable version"
		}
	case stable.Value <= 0:
		m.Verdict, m.Message = servingv1alpha1.VerdictNoData, fmt.Sprintf("the stable version %s has no correct outcome to compare with", stable.Subject())
	default:
		m.Query = cand.PromQL
		drop := 100 * (stable.Value - cand.Value) / stable.Value
		m.Value = number(drop)
		m.Message = fmt.Sprintf("accuracy %s against %s of version %s", number(cand.Value), number(stable.Value), stable.Subject())
		judgeMax(&m, drop, string(spec.Triggers.AccuracyDrop.MaxPercent))
	}
	return m
}

// keepRecent keeps, newest first, the last few measurements of each metric
// and version, and never more than the API allows.
func keepRecent(ms []servingv1alpha1.Measurement) []servingv1alpha1.Measurement {
	seen := map[string]int{}
	out := make([]servingv1alpha1.Measurement, 0, min(len(ms), maxMeasurements))
	for _, m := range ms {
		key := m.Metric + "/" + m.Version
		if seen[key] >= keepPerMetric || len(out) == maxMeasurements {
			continue
		}
		seen[key]++
		out = append(out, m)
	}
	return out
}

// describe says what a measurement of subject found, for the round's message.
func describe(m *servingv1alpha1.Measurement, subject Subject) string {
	switch m.Verdict {
	case servingv1alpha1.VerdictBreach:
		if m.Message != "" {
			return fmt.Sprintf("%s of version %s is %s, outside the bound %s (%s)", m.Metric, subject, m.Value, m.Bound, m.Message)
		}
		return fmt.Sprintf("%s of version %s is %s, outside the bound %s", m.Metric, subject, m.Value, m.Bound)
	case servingv1alpha1.VerdictNoData:
		return fmt.Sprintf("%s of version %s has no data: %s", m.Metric, subject, m.Message)
	default:
		return fmt.Sprintf("%s of version %s could not be measured: %s", m.Metric, subject, m.Message)
	}
}

func first(cur, m *servingv1alpha1.Measurement) *servingv1alpha1.Measurement {
	if cur != nil {
		return cur
	}
	return m
}

func number(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
