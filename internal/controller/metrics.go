package controller

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/rollout"
)

// Labels that name the ModelDeployment in modelgate's own metrics.
const (
	labelNamespace       = "namespace"
	labelModelDeployment = "modeldeployment"
)

// checklistResult is 1 for the current result of each checklist item of each
// ModelDeployment, on the manager's metrics endpoint. Alert on
// modelgate_checklist_result{result="Fail",severity="Enforce"} == 1.
var checklistResult = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "modelgate_checklist_result",
	Help: "Current result of a checklist item of a ModelDeployment: 1 for the result in the result label.",
}, []string{labelNamespace, labelModelDeployment, "check", "severity", "result"})

// analysisMeasurements counts the measurements of the analysis by verdict;
// alert on a rising rate of Error (Prometheus unreachable, a bad query).
var analysisMeasurements = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "modelgate_analysis_measurements_total",
	Help: "Measurements of a ModelDeployment's analysis, by metric and verdict.",
}, []string{labelNamespace, labelModelDeployment, "metric", "verdict"})

// rollbacks counts rollbacks by reason (rollout.RollbackReasons); alert on
// any increase.
var rollbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "modelgate_rollbacks_total",
	Help: "Rollbacks of a ModelDeployment's versions (a candidate, or a promoted version during its bake), by reason: " +
		strings.Join(rollout.RollbackReasons, ", ") + ".",
}, []string{labelNamespace, labelModelDeployment, "reason"})

// phaseGauge is 1 for the current phase of each ModelDeployment: the fleet by
// phase, and the alert on a rollback (internal/alerts) read it.
var phaseGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "modelgate_modeldeployment_phase",
	Help: "Current phase of a ModelDeployment: 1 for the phase in the phase label.",
}, []string{labelNamespace, labelModelDeployment, "phase"})

// candidateWeight is the percent of traffic the candidate gets, while there
// is one: a canary's weight over time.
var candidateWeight = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "modelgate_candidate_weight",
	Help: "Percent of traffic the candidate version of a ModelDeployment gets, while one rolls out.",
}, []string{labelNamespace, labelModelDeployment, "version"})

func init() {
	ctrlmetrics.Registry.MustRegister(checklistResult, analysisMeasurements, rollbacks, phaseGauge, candidateWeight)
}

// recordRolloutMetrics replaces the phase and weight series of a
// ModelDeployment with what its status now says.
func recordRolloutMetrics(md *servingv1alpha1.ModelDeployment) {
	owner := prometheus.Labels{labelNamespace: md.Namespace, labelModelDeployment: md.Name}
	phaseGauge.DeletePartialMatch(owner)
	if md.Status.Phase != "" {
		phaseGauge.WithLabelValues(md.Namespace, md.Name, string(md.Status.Phase)).Set(1)
	}
	candidateWeight.DeletePartialMatch(owner)
	if c := md.Status.Candidate; c != nil {
		candidateWeight.WithLabelValues(md.Namespace, md.Name, c.Version).Set(float64(c.Weight))
	}
}

// rolledBackReason is the reason of the RolledBack condition status now holds.
func rolledBackReason(md *servingv1alpha1.ModelDeployment) string {
	for _, c := range md.Status.Conditions {
		if c.Type == servingv1alpha1.ConditionRolledBack {
			return c.Reason
		}
	}
	return rollout.ReasonRolledBack
}

// recordAnalysisMetrics counts the measurements of the round just judged.
func recordAnalysisMetrics(md *servingv1alpha1.ModelDeployment, st *servingv1alpha1.AnalysisStatus) {
	if st == nil || st.LastRound == nil {
		return
	}
	for _, m := range st.Measurements {
		if m.Time.Time.Equal(st.LastRound.Time.Time) { // measured in this round
			analysisMeasurements.WithLabelValues(md.Namespace, md.Name, m.Metric, string(m.Verdict)).Inc()
		}
	}
}

// recordChecklistMetrics replaces the series of a ModelDeployment with its current results.
func recordChecklistMetrics(md *servingv1alpha1.ModelDeployment, st *servingv1alpha1.ChecklistStatus) {
	forgetChecklistMetrics(md.Namespace, md.Name)
	if st == nil {
		return
	}
	for _, it := range st.Items {
		checklistResult.WithLabelValues(md.Namespace, md.Name, it.ID, string(it.Severity), string(it.Result)).Set(1)
	}
}

// forgetChecklistMetrics drops the checklist series of a ModelDeployment.
func forgetChecklistMetrics(namespace, name string) {
	checklistResult.DeletePartialMatch(prometheus.Labels{labelNamespace: namespace, labelModelDeployment: name})
}

// forgetMetrics drops every series of a ModelDeployment that is gone.
func forgetMetrics(namespace, name string) {
	forgetChecklistMetrics(namespace, name)
	analysisMeasurements.DeletePartialMatch(prometheus.Labels{labelNamespace: namespace, labelModelDeployment: name})
	rollbacks.DeletePartialMatch(prometheus.Labels{labelNamespace: namespace, labelModelDeployment: name})
	phaseGauge.DeletePartialMatch(prometheus.Labels{labelNamespace: namespace, labelModelDeployment: name})
	candidateWeight.DeletePartialMatch(prometheus.Labels{labelNamespace: namespace, labelModelDeployment: name})
}
