package analysis

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/sequential"
)

// The sequential judge's samples and measurement.
const (
	// MetricJudge is the judge's measurement: the lower end of the
	// difference of error rates, in points, against the tolerance.
	MetricJudge = "judge"
	// MetricJudgeRequests and MetricJudgeErrors are each version's counts
	// since the candidate's analysis began.
	MetricJudgeRequests = "judge/requests"
	MetricJudgeErrors   = "judge/errors"
)

// JudgeQueries are the sequential judge's queries: the requests and failed
// requests of the candidate and of stable since began, the start of the
// candidate's analysis, up to at. The judge's guarantee holds only on
// cumulative counts, so the window grows with every round. None without a
// judge in the spec or a stable version to compare with.
func JudgeQueries(md *servingv1alpha1.ModelDeployment, candidate, stable Subject, interval time.Duration, began, at time.Time) ([]Query, error) {
	spec := md.Spec.Analysis
	if spec == nil || spec.Judge == nil || spec.Judge.Method != servingv1alpha1.JudgeSequential || stable.Version == "" {
		return nil, nil
	}
	tpl := DefaultQueries
	if p := spec.Prometheus; p != nil && p.Queries != nil {
		tpl.RequestCount = orDefault(p.Queries.RequestCount, tpl.RequestCount)
		tpl.ErrorCount = orDefault(p.Queries.ErrorCount, tpl.ErrorCount)
	}
	w := max(at.Sub(began).Truncate(time.Second), window(interval))
	vars := func(s Subject) Vars {
		return Vars{Namespace: md.Namespace, Name: md.Name, Version: s.Version, Revision: s.Revision, Window: model.Duration(w).String()}
	}
	var list []wanted
	for _, v := range []Subject{candidate, stable} {
		list = append(list,
			wanted{metric: MetricJudgeRequests, subject: v, field: "spec.analysis.prometheus.queries.requestCount", template: tpl.RequestCount},
			wanted{metric: MetricJudgeErrors, subject: v, field: "spec.analysis.prometheus.queries.errorCount", template: tpl.ErrorCount})
	}
	return renderAll(list, vars, w)
}

// judgeSequential runs the sequential judge on the counts of the round
// (internal/sequential.Judge). Its Breach is the measurement's; Continue and
// PassEarly pass, the latter recorded in status.analysis.judge for an early
// promotion. No series is no request or no error.
func judgeSequential(spec *servingv1alpha1.AnalysisSpec, subject Subject, counts map[string]*Sample, at metav1.Time) (servingv1alpha1.Measurement, *servingv1alpha1.JudgeStatus) {
	j := spec.Judge
	tolerance := orDefault(string(j.TolerancePercent), "0")
	m := servingv1alpha1.Measurement{Metric: MetricJudge, Version: subject.Version, Time: at, Bound: "<= " + tolerance}
	var cand, stable sequential.Counts
	stableVersion := ""
	for _, s := range counts {
		if s.Err != nil && !errors.Is(s.Err, ErrNoData) {
			m.Verdict, m.Message = servingv1alpha1.VerdictError, s.Err.Error()
			return m, nil
		}
		side := &stable
		if s.Subject() == subject {
			side = &cand
		} else {
			stableVersion = s.Subject().String()
		}
		if s.Metric == MetricJudgeRequests {
			side.Requests = s.Value
			if side == &cand {
				m.Query = s.PromQL
			}
		} else {
			side.Errors = s.Value
		}
	}
	if stableVersion == "" {
		m.Verdict, m.Message = servingv1alpha1.VerdictNoData, noStable
		return m, nil
	}
	conf, err1 := strconv.ParseFloat(orDefault(string(j.Confidence), "0.95"), 64)
	tol, err2 := strconv.ParseFloat(tolerance, 64)
	if err := errors.Join(err1, err2); err != nil {
		m.Verdict, m.Message = servingv1alpha1.VerdictError, fmt.Sprintf("spec.analysis.judge: %v", err)
		return m, nil
	}
	// increase() extrapolates: errors may come out a hair above requests.
	cand.Errors, stable.Errors = min(cand.Errors, cand.Requests), min(stable.Errors, stable.Requests)
	res, err := sequential.Judge(cand, stable, sequential.Config{Confidence: conf, Tolerance: tol / 100})
	if err != nil {
		m.Verdict, m.Message = servingv1alpha1.VerdictError, err.Error()
		return m, nil
	}
	m.Value = number(100 * res.Difference.Lower)
	m.Message = fmt.Sprintf("%s: %s, from %s requests of version %s and %s of version %s since the analysis began",
		res.Verdict, res.Describe(), number(cand.Requests), subject, number(stable.Requests), stableVersion)
	m.Verdict = servingv1alpha1.VerdictPass
	if res.Verdict == sequential.Breach {
		m.Verdict = servingv1alpha1.VerdictBreach
	}
	return m, &servingv1alpha1.JudgeStatus{Time: metav1.NewMicroTime(at.Time), Verdict: servingv1alpha1.JudgeVerdict(res.Verdict), Message: m.Message}
}

// PassedEarly reports whether the candidate may finish its canary now: the
// spec lets the judge promote early, and the last round of subject passed,
// at or after since, with the judge saying PassEarly in it.
func PassedEarly(spec *servingv1alpha1.AnalysisSpec, st *servingv1alpha1.AnalysisStatus, subject Subject, since time.Time) (string, bool) {
	if spec == nil || spec.Judge == nil || !spec.Judge.PromoteEarly || !PassedSince(st, subject, since) {
		return "", false
	}
	if j := st.Judge; j != nil && j.Verdict == servingv1alpha1.JudgePassEarly && j.Time.Equal(&st.LastRound.Time) {
		return j.Message, true
	}
	return "", false
}
