package controller

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
// ModelDeployment that is not turned off, on the manager's metrics endpoint. Alert on
// modelgate_checklist_result{result="Fail",severity="Enforce"} == 1.
var checklistResult = prometheus.NewDesc("modelgate_checklist_result",
	"Current result of a checklist item of a ModelDeployment: 1 for the result in the result label.",
	[]string{labelNamespace, labelModelDeployment, "check", "severity", "result"}, nil)

// phaseDesc is 1 for the current phase of each ModelDeployment: the fleet by
// phase, and the alert on a rollback (internal/alerts), read it.
var phaseDesc = prometheus.NewDesc("modelgate_modeldeployment_phase",
	"Current phase of a ModelDeployment: 1 for the phase in the phase label.",
	[]string{labelNamespace, labelModelDeployment, "phase"}, nil)

// candidateWeight is the percent of traffic the candidate gets, while there
// is one: a canary's weight over time.
var candidateWeight = prometheus.NewDesc("modelgate_candidate_weight",
	"Percent of traffic the candidate version of a ModelDeployment gets, while one rolls out.",
	[]string{labelNamespace, labelModelDeployment, "version"}, nil)

// checklistCollector makes modelgate_checklist_result, and the phase and
// candidate weight series, at each scrape from the status of the
// ModelDeployments in the manager's cache, as kube-state-metrics does: the
// results are held once, in the cache, rather than again as some twenty
// series per ModelDeployment in a registry (a quarter of the manager's heap
// at 1,000 ModelDeployments), and a deleted ModelDeployment leaves none.
type checklistCollector struct {
	reader atomic.Pointer[client.Reader]
}

// checklistResults is the one collector, registered once; each manager set
// up in the process points it at its cache (the last one wins).
var checklistResults = &checklistCollector{}

func (c *checklistCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- checklistResult
	ch <- phaseDesc
	ch <- candidateWeight
}

func (c *checklistCollector) Collect(ch chan<- prometheus.Metric) {
	reader := c.reader.Load()
	if reader == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Read in place: a copy of every ModelDeployment at each scrape would be
	// the largest allocation of an idle manager.
	var list servingv1alpha1.ModelDeploymentList
	if err := (*reader).List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(checklistResult, err)
		return
	}
	for i := range list.Items {
		md := &list.Items[i]
		if md.Status.Phase != "" {
			ch <- prometheus.MustNewConstMetric(phaseDesc, prometheus.GaugeValue, 1, md.Namespace, md.Name, string(md.Status.Phase))
		}
		if cand := md.Status.Candidate; cand != nil {
			ch <- prometheus.MustNewConstMetric(candidateWeight, prometheus.GaugeValue, float64(cand.Weight), md.Namespace, md.Name, cand.Version)
		}
		if md.Status.Checklist == nil {
			continue
		}
		for _, it := range md.Status.Checklist.Items {
			if it.Severity == servingv1alpha1.SeverityOff {
				// Never judged, always Skipped: a series would only repeat
				// the profile, while a development fleet turns off most of
				// the catalogue (13 of 20 items, 13,000 series a scrape at
				// 1,000 ModelDeployments).
				continue
			}
			ch <- prometheus.MustNewConstMetric(checklistResult, prometheus.GaugeValue, 1,
				md.Namespace, md.Name, it.ID, string(it.Severity), string(it.Result))
		}
	}
}

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

func init() {
	ctrlmetrics.Registry.MustRegister(checklistResults, analysisMeasurements, rollbacks)
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

// forgetMetrics drops every series of a ModelDeployment that is gone.
func forgetMetrics(namespace, name string) {
	analysisMeasurements.DeletePartialMatch(prometheus.Labels{labelNamespace: namespace, labelModelDeployment: name})
	rollbacks.DeletePartialMatch(prometheus.Labels{labelNamespace: namespace, labelModelDeployment: name})
}
