package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// checklistResult is 1 for the current result of each checklist item of each
// ModelDeployment, on the manager's metrics endpoint. Alert on
// modelgate_checklist_result{result="Fail",severity="Enforce"} == 1.
var checklistResult = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "modelgate_checklist_result",
	Help: "Current result of a checklist item of a ModelDeployment: 1 for the result in the result label.",
}, []string{"namespace", "modeldeployment", "check", "severity", "result"})

func init() {
	ctrlmetrics.Registry.MustRegister(checklistResult)
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

// forgetChecklistMetrics drops every series of a ModelDeployment.
func forgetChecklistMetrics(namespace, name string) {
	checklistResult.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "modeldeployment": name})
}
