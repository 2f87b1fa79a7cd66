package controller

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/rollout"
)

// The help of modelgate_rollbacks_total, which an SRE reads when it alerts,
// names every reason a rollback is counted under.
func TestRollbacksHelpNamesEveryReason(t *testing.T) {
	g := NewWithT(t)
	ch := make(chan *prometheus.Desc, 1)
	rollbacks.Describe(ch)
	help := (<-ch).String()
	for _, reason := range rollout.RollbackReasons {
		g.Expect(help).To(ContainSubstring(reason))
	}
}

// modelgate_checklist_result is made at scrape time from the cached status:
// one series per item of each ModelDeployment with a checklist, none for an
// item turned off or a ModelDeployment without one, nothing without a cache
// to read.
func TestChecklistCollector(t *testing.T) {
	g := NewWithT(t)
	withItems := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "scorer"}}
	withItems.Status.Phase = servingv1alpha1.PhaseProgressing
	withItems.Status.Candidate = &servingv1alpha1.CandidateStatus{VersionStatus: servingv1alpha1.VersionStatus{Version: "2.0.0"}, Weight: 25}
	withItems.Status.Checklist = &servingv1alpha1.ChecklistStatus{Items: []servingv1alpha1.ChecklistItemStatus{
		{ID: "pdb", Severity: servingv1alpha1.SeverityEnforce, Result: servingv1alpha1.CheckFail},
		{ID: "probes", Severity: servingv1alpha1.SeverityWarn, Result: servingv1alpha1.CheckPass},
		{ID: "model-card", Severity: servingv1alpha1.SeverityOff, Result: servingv1alpha1.CheckSkipped},
	}}
	pending := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "new"}}
	c := &checklistCollector{}
	g.Expect(testutil.CollectAndCount(c)).To(BeZero())

	var reader client.Reader = fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(withItems, pending).Build()
	c.reader.Store(&reader)
	g.Expect(testutil.CollectAndCompare(c, strings.NewReader(`
# HELP modelgate_checklist_result Current result of a checklist item of a ModelDeployment: 1 for the result in the result label.
# TYPE modelgate_checklist_result gauge
modelgate_checklist_result{check="pdb",modeldeployment="scorer",namespace="risk",result="Fail",severity="Enforce"} 1
modelgate_checklist_result{check="probes",modeldeployment="scorer",namespace="risk",result="Pass",severity="Warn"} 1
# HELP modelgate_modeldeployment_phase Current phase of a ModelDeployment: 1 for the phase in the phase label.
# TYPE modelgate_modeldeployment_phase gauge
modelgate_modeldeployment_phase{modeldeployment="scorer",namespace="risk",phase="Progressing"} 1
# HELP modelgate_candidate_weight Percent of traffic the candidate version of a ModelDeployment gets, while one rolls out.
# TYPE modelgate_candidate_weight gauge
modelgate_candidate_weight{modeldeployment="scorer",namespace="risk",version="2.0.0"} 25
`))).To(Succeed())
}
