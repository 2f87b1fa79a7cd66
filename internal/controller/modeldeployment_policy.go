package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/policy"
	"github.com/modelgate/modelgate/internal/rollout"
)

// +kubebuilder:rbac:groups=serving.modelgate.dev,resources=modeldeploymentpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// gatherPolicy judges the ModelDeployment by the ModelDeploymentPolicies
// that select it: the effective rules the checklist, the approvals and the
// windows then apply, and where the spec asks for less. The namespace's
// labels come from a metadata-only cache. A cluster without the policy CRD
// has no policy.
func (r *ModelDeploymentReconciler) gatherPolicy(ctx context.Context, s *scope) error {
	s.policy = policy.Result{}
	var list servingv1alpha1.ModelDeploymentPolicyList
	if err := r.List(ctx, &list); err != nil {
		if meta.IsNoMatchError(err) {
			return nil
		}
		return fmt.Errorf("listing ModelDeploymentPolicies: %w", err)
	}
	if len(list.Items) == 0 {
		return nil
	}
	labels, err := r.namespaceLabels(ctx, s.md.Namespace)
	if err != nil {
		return err
	}
	s.policy = policy.Judge(list.Items, s.md, labels, policy.ParseSignOffs(s.md.Annotations[servingv1alpha1.AnnotationOverridesBy]))
	return nil
}

// namespaceLabels reads a namespace's labels from the metadata-only cache.
func (r *ModelDeploymentReconciler) namespaceLabels(ctx context.Context, name string) (map[string]string, error) {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	if err := r.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return nil, fmt.Errorf("reading the labels of namespace %s: %w", name, err)
	}
	return ns.Labels, nil
}

// policyGate holds a version whose spec asks for less than its policies
// allow (a strategy they do not allow, a trigger they require and the spec
// lacks, an artifact from elsewhere, an override below a floor ...): it gets
// no traffic until the spec complies. A version already serving keeps
// serving. The user must change the spec, so it stalls.
func policyGate(s *scope) rollout.Gate {
	v := s.policy.Violations
	if len(v) == 0 {
		return rollout.Gate{}
	}
	parts := make([]string, len(v))
	for i := range v {
		parts[i] = v[i].String()
	}
	return rollout.Gate{Closed: true, Reason: policy.ReasonPolicyViolated,
		Message: fmt.Sprintf("Version %s gets no traffic: its spec asks for less than its policies allow: %s", s.md.Spec.Model.Version, strings.Join(parts, "; "))}
}

// setPolicyStatus writes status.policy and the PolicyCompliant condition;
// both go when no policy selects the ModelDeployment.
func setPolicyStatus(md *servingv1alpha1.ModelDeployment, now metav1.Time, res *policy.Result) {
	md.Status.Policy = res.Status()
	c, ok := res.Condition(md.Generation)
	if !ok {
		setOptional(md, now, servingv1alpha1.ConditionPolicyCompliant, nil)
		return
	}
	setOptional(md, now, servingv1alpha1.ConditionPolicyCompliant, &rollout.ConditionResult{Status: c.Status, Reason: c.Reason, Message: c.Message})
}

// modelDeploymentsOfPolicy maps a policy to the ModelDeployments it selects
// now and to those it selected at their last judgement (status.policy), so a
// policy that stops selecting one, or is deleted, lets it go.
func (r *ModelDeploymentReconciler) modelDeploymentsOfPolicy(ctx context.Context, o client.Object) []reconcile.Request {
	p, ok := o.(*servingv1alpha1.ModelDeploymentPolicy)
	if !ok {
		return nil
	}
	var list servingv1alpha1.ModelDeploymentList
	if err := r.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "Listing ModelDeployments to map a policy change", "policy", klog.KObj(p))
		return nil
	}
	labels := map[string]map[string]string{}
	var out []reconcile.Request
	for i := range list.Items {
		md := &list.Items[i]
		judged := md.Status.Policy != nil && slices.Contains(md.Status.Policy.Policies, p.Name)
		if !judged {
			nsLabels, seen := labels[md.Namespace]
			if !seen {
				var err error
				if nsLabels, err = r.namespaceLabels(ctx, md.Namespace); err != nil && !apierrors.IsNotFound(err) {
					logf.FromContext(ctx).Error(err, "Reading a namespace to map a policy change", "policy", klog.KObj(p))
				}
				labels[md.Namespace] = nsLabels
			}
			// A selector that cannot be read selects nothing; the webhook refuses it.
			judged, _ = policy.Selects(p, md, nsLabels)
		}
		if judged {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(md)})
		}
	}
	return out
}

// namespaceLabelsChanged lets through the namespace events that can change
// which policies select its ModelDeployments.
var namespaceLabelsChanged = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return false },
	GenericFunc: func(event.GenericEvent) bool { return false },
	UpdateFunc: func(e event.UpdateEvent) bool {
		return !maps.Equal(e.ObjectOld.GetLabels(), e.ObjectNew.GetLabels())
	},
}
