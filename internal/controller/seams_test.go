package controller

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
	"github.com/modelgate/modelgate/internal/rollout"
	"github.com/modelgate/modelgate/internal/traffic"
)

// analysedCanary is a two-step canary on a router, analysed every second.
func analysedCanary(md *servingv1alpha1.ModelDeployment) {
	md.Spec.Strategy.Type = servingv1alpha1.StrategyCanary
	md.Spec.Strategy.Canary = &servingv1alpha1.CanaryStrategy{Steps: []servingv1alpha1.CanaryStep{{Weight: 25}, {Weight: 50}}}
	md.Spec.Strategy.TrafficRouting = &servingv1alpha1.TrafficRouting{GatewayAPI: &servingv1alpha1.GatewayAPIRouting{HTTPRoute: "fraud"}}
	md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{
		Interval:      &metav1.Duration{Duration: time.Second},
		Prometheus:    &servingv1alpha1.PrometheusSpec{Address: "http://prometheus.invalid:9090"},
		Triggers:      &servingv1alpha1.TriggersSpec{ErrorRate: &servingv1alpha1.ErrorRateTrigger{MaxPercent: "5"}},
		MinSampleSize: 10, ConsecutiveErrorLimit: 4, NoData: servingv1alpha1.NoDataPause,
	}
}

// A metrics provider and a traffic router are registered by kind, each a
// file of its own (fake_provider_test.go, fake_router_test.go), and carry a
// canary: moved step by step on the router, promoted on passing
// measurements, held while the route cannot carry it, rolled back on a breach.
func TestACanaryOnAFakeProviderAndRouter(t *testing.T) {
	g := NewWithT(t)
	provider, router := newFakeProvider(), &fakeRouter{}
	h := newHarness(t, newMD(analysedCanary), nil)
	h.r.MetricsProviders = map[string]analysis.ProviderFactory{analysis.KindPrometheus: provider.factory}
	h.r.Routers = map[string]traffic.Router{rollout.RouterGatewayAPI: router}
	h.until(phase(servingv1alpha1.PhaseSucceeded))

	provider.set(analysis.MetricRequests, "2.0.0", 100)
	provider.set(analysis.MetricErrorRate, "2.0.0", 0.5)
	h.update(func(md *servingv1alpha1.ModelDeployment) { md.Spec.Model.Version = "2.0.0" })
	h.until(func(md *servingv1alpha1.ModelDeployment) bool { return md.Status.Stable.Version == "2.0.0" })
	g.Expect(router.weights()).To(Equal([]int32{0, 25, 50, 0}), "all on stable, each step, then all on the promoted version")
	g.Expect(provider.queries()).To(ContainElements("requestCount@2.0.0", "errorRate@2.0.0"))
	g.Expect(h.md().Status.Analysis.LastRound.Verdict).To(Equal(servingv1alpha1.VerdictPass))

	router.setProblem("the fake route is down")
	h.update(func(md *servingv1alpha1.ModelDeployment) { md.Spec.Model.Version = "3.0.0" })
	h.until(func(md *servingv1alpha1.ModelDeployment) bool {
		c := meta.FindStatusCondition(md.Status.Conditions, servingv1alpha1.ConditionReady)
		return c != nil && c.Reason == rollout.ReasonRouteNotReady
	})
	g.Expect(meta.FindStatusCondition(h.md().Status.Conditions, servingv1alpha1.ConditionReady).Message).To(ContainSubstring("the fake route is down"))

	router.setProblem("")
	provider.set(analysis.MetricRequests, "3.0.0", 100)
	provider.set(analysis.MetricErrorRate, "3.0.0", 40)
	h.until(phase(servingv1alpha1.PhaseRolledBack))
	rolledBack := meta.FindStatusCondition(h.md().Status.Conditions, servingv1alpha1.ConditionRolledBack)
	g.Expect(rolledBack.Reason).To(Equal(rollout.ReasonAnalysisFailed))
	g.Expect(rolledBack.Message).To(ContainSubstring("errorRate of version 3.0.0 is 40, outside the bound <= 5"))
	g.Expect(router.weights()).To(HaveLen(6), "25%, then back to stable")
	g.Expect(router.weights()[4:]).To(Equal([]int32{25, 0}))
}
