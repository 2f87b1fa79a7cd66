package controller

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// Reconcile runs its gather steps in order and stops at the first error:
// what the error means decides what status says and what Reconcile returns.
func TestReconcileSteps(t *testing.T) {
	failDeploymentLists := func(err error) *interceptor.Funcs {
		return &interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if _, ok := list.(*appsv1.DeploymentList); ok {
				return err
			}
			return c.List(ctx, list, opts...)
		}}
	}
	failCreates := func(err error) *interceptor.Funcs {
		return &interceptor.Funcs{Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			return err
		}}
	}
	terminating := apierrors.NewForbidden(schema.GroupResource{Resource: "deployments"}, "x", errors.New("namespace risk is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}

	tests := []struct {
		name  string
		md    *servingv1alpha1.ModelDeployment
		funcs *interceptor.Funcs
		// wantErr: nil, a terminal error, or another.
		wantErr    func(error) bool
		conditions map[string]string
		observed   bool
		deployed   bool
		// again reconciles a second time, as the first one's writes ask.
		again bool
	}{
		{
			name: "all steps pass: the decision is recorded and applied, not yet told handled", md: newMD(),
			wantErr: func(err error) bool { return err == nil }, deployed: true,
			conditions: map[string]string{
				servingv1alpha1.ConditionReady: "False/RollingOut", servingv1alpha1.ConditionProgressing: "True/RollingOut",
				servingv1alpha1.ConditionReconciling: "True/RollingOut", servingv1alpha1.ConditionChecklistPassed: "True/ChecklistPassed",
			},
		},
		{
			// The events of the first reconcile's writes bring the second.
			name: "the next reconcile's status write says the generation is handled", md: newMD(), again: true,
			wantErr: func(err error) bool { return err == nil }, observed: true, deployed: true,
			conditions: map[string]string{
				servingv1alpha1.ConditionReady: "False/RollingOut", servingv1alpha1.ConditionProgressing: "True/RollingOut",
				servingv1alpha1.ConditionReconciling: "True/RollingOut", servingv1alpha1.ConditionChecklistPassed: "True/ChecklistPassed",
			},
		},
		{
			name: "a spec that cannot work stalls, without retrying", md: newMD(func(md *servingv1alpha1.ModelDeployment) { md.Spec.ServingContainer = "nope" }),
			wantErr: func(err error) bool { return errors.Is(err, reconcile.TerminalError(nil)) }, observed: true,
			conditions: map[string]string{servingv1alpha1.ConditionReady: "False/InvalidSpec", servingv1alpha1.ConditionStalled: "True/InvalidSpec"},
		},
		{
			name: "a failing read is retried, the generation not handled", md: newMD(), funcs: failDeploymentLists(errors.New("etcd timeout")),
			wantErr:    func(err error) bool { return err != nil && !errors.Is(err, reconcile.TerminalError(nil)) },
			conditions: map[string]string{servingv1alpha1.ConditionReconciling: "True/RetryingAfterError"},
		},
		{
			name: "a namespace going away ends the reconcile quietly", md: newMD(), funcs: failCreates(terminating),
			wantErr: func(err error) bool { return err == nil },
			// The decision was recorded before acting; nothing more is.
			conditions: map[string]string{
				servingv1alpha1.ConditionReady: "False/RollingOut", servingv1alpha1.ConditionProgressing: "True/RollingOut",
				servingv1alpha1.ConditionReconciling: "True/RollingOut", servingv1alpha1.ConditionChecklistPassed: "True/ChecklistPassed",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			h := newHarness(t, tt.md, tt.funcs)
			_, err := h.reconcile()
			if tt.again {
				_, err = h.reconcile()
			}
			g.Expect(tt.wantErr(err)).To(BeTrue(), "error: %v", err)
			md := h.md()
			g.Expect(conditionsOf(md)).To(Equal(tt.conditions))
			if tt.observed {
				g.Expect(md.Status.ObservedGeneration).To(Equal(md.Generation))
			} else {
				g.Expect(md.Status.ObservedGeneration).NotTo(Equal(md.Generation))
			}
			var deps appsv1.DeploymentList
			g.Expect(h.c.List(context.Background(), &deps)).To(Succeed())
			g.Expect(deps.Items).To(HaveLen(map[bool]int{true: 1}[tt.deployed]))
		})
	}
}
