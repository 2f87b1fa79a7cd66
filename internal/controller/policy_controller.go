package controller

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/policy"
)

// ModelDeploymentPolicyReconciler reports in a policy's status whether
// modelgate can apply it. The ModelDeployment controller does the judging: a
// policy change re-judges the ModelDeployments it selects (watch and map).
type ModelDeploymentPolicyReconciler struct {
	client.Client
	Clock clock.Clock
}

// +kubebuilder:rbac:groups=serving.modelgate.dev,resources=modeldeploymentpolicies/status,verbs=get;patch

// Reconcile writes the policy's Ready condition and observedGeneration.
func (r *ModelDeploymentPolicyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &servingv1alpha1.ModelDeploymentPolicy{}
	if err := r.Get(ctx, req.NamespacedName, p); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	base := p.DeepCopy()
	setPolicyReady(p, metav1.NewTime(r.Clock.Now()))
	if err := r.Status().Patch(ctx, p, client.MergeFrom(base)); err != nil {
		return ctrl.Result{}, fmt.Errorf("writing the status of ModelDeploymentPolicy %s: %w", p.Name, err)
	}
	return ctrl.Result{}, nil
}

// setPolicyReady judges a policy: Ready when its selectors and windows can
// be read (the webhook refuses others; one stored without it is reported).
func setPolicyReady(p *servingv1alpha1.ModelDeploymentPolicy, now metav1.Time) {
	c := metav1.Condition{Type: servingv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Valid",
		Message: "Applied to the ModelDeployments it selects", ObservedGeneration: p.Generation, LastTransitionTime: now}
	if errs := policy.Validate(p); len(errs) > 0 {
		c.Status, c.Reason = metav1.ConditionFalse, "Invalid"
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		c.Message = "Selects no ModelDeployment until fixed: " + strings.Join(msgs, "; ")
	}
	meta.SetStatusCondition(&p.Status.Conditions, c)
	p.Status.ObservedGeneration = p.Generation
}

// SetupWithManager watches policies; status writes do not bump the generation.
func (r *ModelDeploymentPolicyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&servingv1alpha1.ModelDeploymentPolicy{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("modeldeploymentpolicy").
		Complete(r)
}
