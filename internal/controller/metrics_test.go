package controller

import (
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// The phase and weight series follow status: one phase at a time, a weight
// only while a candidate rolls out, nothing once the ModelDeployment is gone.
func TestRolloutMetricsFollowStatus(t *testing.T) {
	g := NewWithT(t)
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "metrics-test", Name: "scorer"}}
	md.Status.Phase = servingv1alpha1.PhaseProgressing
	md.Status.Candidate = &servingv1alpha1.CandidateStatus{VersionStatus: servingv1alpha1.VersionStatus{Version: "2.0.0"}, Weight: 25}
	recordRolloutMetrics(md)
	g.Expect(testutil.ToFloat64(phaseGauge.WithLabelValues("metrics-test", "scorer", "Progressing"))).To(Equal(1.0))
	g.Expect(testutil.ToFloat64(candidateWeight.WithLabelValues("metrics-test", "scorer", "2.0.0"))).To(Equal(25.0))

	md.Status.Phase, md.Status.Candidate = servingv1alpha1.PhaseRolledBack, nil
	recordRolloutMetrics(md)
	g.Expect(testutil.ToFloat64(phaseGauge.WithLabelValues("metrics-test", "scorer", "RolledBack"))).To(Equal(1.0))
	owner := prometheus.Labels{labelNamespace: "metrics-test", labelModelDeployment: "scorer"}
	g.Expect(phaseSeries(owner)).To(Equal(1), "the Progressing series is gone")
	g.Expect(candidateWeight.DeletePartialMatch(owner)).To(Equal(0), "no weight without a candidate")

	forgetMetrics("metrics-test", "scorer")
	g.Expect(phaseSeries(owner)).To(Equal(0))
}

func phaseSeries(owner prometheus.Labels) int {
	n := 0
	ch := make(chan prometheus.Metric, 100)
	phaseGauge.Collect(ch)
	close(ch)
	for m := range ch {
		var d dto.Metric
		_ = m.Write(&d)
		match := 0
		for _, l := range d.GetLabel() {
			if owner[l.GetName()] == l.GetValue() {
				match++
			}
		}
		if match == len(owner) {
			n++
		}
	}
	return n
}
