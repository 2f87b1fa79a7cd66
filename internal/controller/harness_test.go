package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// harness reconciles one ModelDeployment against the fake client, with an
// injected clock, playing the Deployment controller where a test asks.
type harness struct {
	t *testing.T
	// c is the fake client as tests read it; the reconciler's may be
	// intercepted.
	c   client.WithWatch
	r   *ModelDeploymentReconciler
	clk *clocktesting.FakeClock
	key client.ObjectKey
}

var start = time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)

// newMD is a ModelDeployment at version 1.0.0 on two pods, with what the API
// server would default, and the development profile: these tests are about
// the rollout.
func newMD(mut ...func(*servingv1alpha1.ModelDeployment)) *servingv1alpha1.ModelDeployment {
	md := &servingv1alpha1.ModelDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "fraud-scorer", Generation: 1},
		Spec: servingv1alpha1.ModelDeploymentSpec{
			Model:     servingv1alpha1.ModelSpec{Name: "fraud-scorer", Version: "1.0.0", URI: "oci://registry.example/models/fraud-scorer:1.0.0"},
			Replicas:  ptr.To[int32](2),
			Template:  corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "server", Image: "registry.example/ml/server:1.0.0"}}}},
			Service:   servingv1alpha1.ServiceSpec{Port: 8080},
			Strategy:  servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyRolling, ProgressDeadline: &metav1.Duration{Duration: 10 * time.Minute}},
			Checklist: servingv1alpha1.ChecklistSpec{Profile: servingv1alpha1.ProfileDevelopment},
		},
	}
	for _, m := range mut {
		m(md)
	}
	return md
}

// newHarness stores md in a fake client with the reconciler's indexes;
// funcs, when given, intercept the client's calls.
func newHarness(t *testing.T, md *servingv1alpha1.ModelDeployment, funcs *interceptor.Funcs) *harness {
	t.Helper()
	b := fake.NewClientBuilder().WithScheme(testScheme(t)).
		WithStatusSubresource(&servingv1alpha1.ModelDeployment{}, &appsv1.Deployment{}).
		WithIndex(&appsv1.Deployment{}, ownerIndex, ownerName).
		WithIndex(&appsv1.ControllerRevision{}, ownerIndex, ownerName).
		WithIndex(&autoscalingv2.HorizontalPodAutoscaler{}, hpaTargetIndex, hpaTarget).
		WithIndex(&servingv1alpha1.ModelApproval{}, approvalTargetIndex, approvalTarget).
		WithObjects(md)
	c := b.Build()
	rc := c
	if funcs != nil {
		rc = interceptor.NewClient(c, *funcs)
	}
	clk := clocktesting.NewFakeClock(start)
	r := &ModelDeploymentReconciler{Client: rc, APIReader: rc, Scheme: c.Scheme(), Clock: clk}
	t.Cleanup(func() { r.rounds().Stop() })
	return &harness{t: t, c: c, r: r, clk: clk, key: client.ObjectKeyFromObject(md)}
}

func (h *harness) reconcile() (ctrl.Result, error) {
	return h.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: h.key})
}

// mustReconcile reconciles and fails the test on an error.
func (h *harness) mustReconcile() ctrl.Result {
	h.t.Helper()
	res, err := h.reconcile()
	if err != nil {
		h.t.Fatalf("reconcile: %v", err)
	}
	return res
}

func (h *harness) md() *servingv1alpha1.ModelDeployment {
	h.t.Helper()
	md := &servingv1alpha1.ModelDeployment{}
	if err := h.c.Get(context.Background(), h.key, md); err != nil {
		h.t.Fatal(err)
	}
	return md
}

// update changes the spec as a user would.
func (h *harness) update(mutate func(*servingv1alpha1.ModelDeployment)) {
	h.t.Helper()
	md := h.md()
	mutate(md)
	md.Generation++
	if err := h.c.Update(context.Background(), md); err != nil {
		h.t.Fatal(err)
	}
}

// playDeployments writes the status the Deployment controller would write
// once every pod of each Deployment is available.
func (h *harness) playDeployments() {
	h.t.Helper()
	var list appsv1.DeploymentList
	if err := h.c.List(context.Background(), &list); err != nil {
		h.t.Fatal(err)
	}
	for i := range list.Items {
		dep := &list.Items[i]
		n := ptr.Deref(dep.Spec.Replicas, 1)
		dep.Status = appsv1.DeploymentStatus{
			ObservedGeneration: dep.Generation,
			Replicas:           n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			},
		}
		if err := h.c.Status().Update(context.Background(), dep); err != nil {
			h.t.Fatal(err)
		}
	}
}

// until reconciles, plays the Deployment controller and moves the clock a
// second, until done says so.
func (h *harness) until(done func(*servingv1alpha1.ModelDeployment) bool) {
	h.t.Helper()
	NewWithT(h.t).Eventually(func() bool {
		h.mustReconcile()
		h.playDeployments()
		h.clk.Step(time.Second)
		return done(h.md())
	}, 10*time.Second, 10*time.Millisecond).Should(BeTrue(), "status: %+v", h.md().Status)
}

func phase(p servingv1alpha1.Phase) func(*servingv1alpha1.ModelDeployment) bool {
	return func(md *servingv1alpha1.ModelDeployment) bool { return md.Status.Phase == p }
}

func TestHarnessDeploysAVersion(t *testing.T) {
	h := newHarness(t, newMD(), nil)
	h.until(phase(servingv1alpha1.PhaseSucceeded))
	g := NewWithT(t)
	md := h.md()
	g.Expect(md.Status.Stable.Version).To(Equal("1.0.0"))
	g.Expect(md.Status.ObservedGeneration).To(Equal(md.Generation))
}
