package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/controller"
	"github.com/modelgate/modelgate/test/bars"
)

// hangingPrometheus accepts queries and never answers them, until the story ends.
func hangingPrometheus() (*httptest.Server, *atomic.Int32) {
	var asked atomic.Int32
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	DeferCleanup(func() { close(done); srv.Close() })
	return srv, &asked
}

// readyAll creates n ModelDeployments of one pod, plays the Deployment
// controller for each, and returns how long until all were Succeeded.
func readyAll(ns, prefix string, n int) time.Duration {
	GinkgoHelper()
	start := time.Now()
	for i := range n {
		md := newModelDeployment(ns, "1.0.0", 1)
		md.Name = fmt.Sprintf("%s-%02d", prefix, i)
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
	}
	for i := range n {
		playDeploymentController(deploymentOf(ns, fmt.Sprintf("%s-%02d", prefix, i), "1.0.0"))
	}
	Eventually(func() int {
		var list servingv1alpha1.ModelDeploymentList
		Expect(k8sClient.List(ctx, &list)).To(Succeed())
		ready := 0
		for i := range list.Items {
			md := &list.Items[i]
			if md.Namespace == ns && len(md.Name) > len(prefix) && md.Name[:len(prefix)] == prefix && md.Status.Phase == servingv1alpha1.PhaseSucceeded {
				ready++
			}
		}
		return ready
	}, "60s", "100ms").Should(Equal(n))
	return time.Since(start)
}

var _ = Describe("A metrics provider that never answers", func() {
	It("holds its own canaries in analysis while 50 other ModelDeployments reconcile at their pace", func() {
		ns := newNamespace()
		const others = 50
		baseline := readyAll(ns, "before", others)

		By("hanging a round of analysis for as many canaries as there are reconcile workers")
		srv, asked := hangingPrometheus()
		hanging := controller.DefaultMaxConcurrentReconciles
		// Each in a namespace of its own: one namespace runs at most
		// analysis.DefaultMaxRoundsPerNamespace rounds at once.
		hangingKeys := make([]types.NamespacedName, hanging)
		for i := range hanging {
			md := newModelDeployment(newNamespace(), "1.0.0", 2)
			md.Name = fmt.Sprintf("hanging-%d", i)
			md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
				Steps: []servingv1alpha1.CanaryStep{{Weight: 50}},
			}}
			md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{
				Interval: &metav1.Duration{Duration: time.Second},
				// The longest the API allows, far longer than the story: only
				// the background keeps a reconcile from waiting on it.
				Prometheus: &servingv1alpha1.PrometheusSpec{Address: servingv1alpha1.URL(srv.URL), Timeout: &metav1.Duration{Duration: time.Minute}},
				Triggers:   &servingv1alpha1.TriggersSpec{ErrorRate: &servingv1alpha1.ErrorRateTrigger{MaxPercent: "5"}},
			}
			Expect(k8sClient.Create(ctx, md)).To(Succeed())
			hangingKeys[i] = objectKey(md)
			playDeploymentController(deploymentOf(md.Namespace, md.Name, "1.0.0"))
			Eventually(func() servingv1alpha1.Phase { return getMD(objectKey(md)).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
			updateMD(objectKey(md), func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "2.0.0" })
			candidate := deploymentOf(md.Namespace, md.Name, "2.0.0")
			Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
			playDeploymentController(candidate)
		}
		Eventually(asked.Load, "30s").Should(BeEquivalentTo(hanging), "each canary's round asked its first query, which hangs")

		By("reconciling 50 other ModelDeployments meanwhile")
		during := readyAll(ns, "during", others)
		fmt.Printf("pace: %d ModelDeployments Ready in %s (%s each) before; in %s (%s each) with %d rounds of analysis hanging on %d workers\n",
			others, baseline.Round(time.Millisecond), (baseline / others).Round(time.Millisecond),
			during.Round(time.Millisecond), (during / others).Round(time.Millisecond), hanging, hanging)
		bars.Record("integration", "ReadyOf50WhileAnalysisHangs", during.Seconds(), "s")
		bars.Record("integration", "ReadyOf50Before", baseline.Seconds(), "s")

		for _, key := range hangingKeys {
			Expect(readyReason(key)()).To(Equal("Analyzing"), "held at its step, neither promoted nor rolled back")
		}
		Expect(asked.Load()).To(BeEquivalentTo(hanging), "a hanging round is waited for, never asked again")
	})
})
