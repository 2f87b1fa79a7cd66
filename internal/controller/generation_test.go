package controller

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// A generation whose decision a reconcile applied, leaving observedGeneration
// to the next status write, is told handled by that write even when the next
// reconcile ends in an error: the generation was handled all the same.
func TestAHandledGenerationIsToldHandledByAFailingReconcile(t *testing.T) {
	g := NewWithT(t)
	var failing atomic.Bool
	h := newHarness(t, newMD(), &interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
		if _, ok := list.(*appsv1.DeploymentList); ok && failing.Load() {
			return errors.New("the API server is unavailable")
		}
		return c.List(ctx, list, opts...)
	}})
	h.mustReconcile()
	g.Expect(h.md().Status.ObservedGeneration).To(BeZero(), "the first reconcile leaves observedGeneration to the next status write")

	failing.Store(true)
	_, err := h.reconcile()
	g.Expect(err).To(HaveOccurred())
	md := h.md()
	g.Expect(conditionsOf(md)[servingv1alpha1.ConditionReconciling]).To(Equal("True/" + "RetryingAfterError"))
	g.Expect(md.Status.ObservedGeneration).To(Equal(md.Generation), "generation 1 was applied by the first reconcile")
}

// A ModelDeployment deleted and created again under the same name, before any
// reconcile saw it gone, is a new object: what was applied of the old one's
// generations says nothing of the new one's.
func TestARecreatedModelDeploymentInheritsNoAppliedGeneration(t *testing.T) {
	g := NewWithT(t)
	var failing atomic.Bool
	h := newHarness(t, newMD(func(md *servingv1alpha1.ModelDeployment) { md.UID = "first" }), &interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if _, ok := obj.(*appsv1.Deployment); ok && failing.Load() {
				return errors.New("admission refused the Deployment")
			}
			return c.Create(ctx, obj, opts...)
		},
	})
	h.mustReconcile()
	h.mustReconcile()
	g.Expect(h.md().Status.ObservedGeneration).To(Equal(int64(1)))

	// Deleted (the garbage collector takes what it owned) and created again.
	ctx := context.Background()
	g.Expect(h.c.Delete(ctx, h.md())).To(Succeed())
	for _, l := range []client.ObjectList{&appsv1.DeploymentList{}, &corev1.ServiceList{}, &appsv1.ControllerRevisionList{}} {
		g.Expect(h.c.List(ctx, l)).To(Succeed())
		items, err := meta.ExtractList(l)
		g.Expect(err).NotTo(HaveOccurred())
		for _, o := range items {
			g.Expect(h.c.Delete(ctx, o.(client.Object))).To(Succeed())
		}
	}
	g.Expect(h.c.Create(ctx, newMD(func(md *servingv1alpha1.ModelDeployment) { md.UID = "second" }))).To(Succeed())

	failing.Store(true)
	_, err := h.reconcile()
	g.Expect(err).To(HaveOccurred())
	g.Expect(h.md().Status.ObservedGeneration).To(BeZero(), "the new object's generation 1 was never applied")
}
