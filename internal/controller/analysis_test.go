package controller

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
	"github.com/modelgate/modelgate/internal/rollout"
	"github.com/modelgate/modelgate/internal/traffic"
)

// waitIdle waits until no round of analysis runs or waits.
func (h *harness) waitIdle() {
	h.t.Helper()
	NewWithT(h.t).Eventually(func() int {
		running, waiting := h.r.rounds().Counts()
		return running + waiting
	}).Should(BeZero())
}

// A round judged against a status whose write is then refused as stale is
// not counted, nor queried again: it is judged once more against the fresh
// status, and counted once that is written.
func TestARoundBeforeAStaleWriteCountsOnce(t *testing.T) {
	g := NewWithT(t)
	var stale atomic.Bool
	refuse := &interceptor.Funcs{SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
		if _, ok := obj.(*servingv1alpha1.ModelDeployment); ok && stale.Load() {
			return apierrors.NewConflict(schema.GroupResource{Group: "serving.modelgate.dev", Resource: "modeldeployments"}, obj.GetName(), nil)
		}
		return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
	}}
	md := newMD(analysedCanary)
	md.Name = "stale-round"
	forgetMetrics("risk", md.Name) // the registry is the process'
	t.Cleanup(func() { forgetMetrics("risk", "stale-round") })
	provider, router := newFakeProvider(), &fakeRouter{}
	h := newHarness(t, md, refuse)
	h.r.MetricsProviders = map[string]analysis.ProviderFactory{analysis.KindPrometheus: provider.factory}
	h.r.Routers = map[string]traffic.Router{rollout.RouterGatewayAPI: router}
	h.until(phase(servingv1alpha1.PhaseSucceeded))
	h.update(func(md *servingv1alpha1.ModelDeployment) { md.Spec.Model.Version = "2.0.0" })
	h.until(func(md *servingv1alpha1.ModelDeployment) bool {
		c := meta.FindStatusCondition(md.Status.Conditions, servingv1alpha1.ConditionReady)
		return c != nil && c.Reason == rollout.ReasonAnalyzing && md.Status.Analysis != nil
	})
	// Rounds in flight are recorded, and, the clock standing still, none is due.
	for range 2 {
		h.waitIdle()
		h.mustReconcile()
	}
	asked := len(provider.queries())
	passed := func(metric string) float64 {
		return testutil.ToFloat64(analysisMeasurements.WithLabelValues("risk", "stale-round", metric, string(servingv1alpha1.VerdictPass)))
	}

	provider.set(analysis.MetricRequests, "2.0.0", 100)
	provider.set(analysis.MetricErrorRate, "2.0.0", 0.5)
	stale.Store(true)
	h.clk.Step(time.Second)
	for range 5 {
		h.mustReconcile()
		h.waitIdle()
	}
	g.Expect(provider.queries()).To(HaveLen(asked+2), "one round of two queries, however often it is judged")
	g.Expect(passed(analysis.MetricErrorRate)).To(BeZero(), "a round whose status was not written is not counted")
	g.Expect(h.md().Status.Analysis.LastRound.Verdict).NotTo(Equal(servingv1alpha1.VerdictPass))

	stale.Store(false)
	h.mustReconcile()
	g.Expect(h.md().Status.Analysis.LastRound.Verdict).To(Equal(servingv1alpha1.VerdictPass))
	g.Expect(passed(analysis.MetricErrorRate)).To(BeEquivalentTo(1))
	g.Expect(passed(analysis.MetricRequests)).To(BeEquivalentTo(1))
	g.Expect(provider.queries()).To(HaveLen(asked + 2))
}
