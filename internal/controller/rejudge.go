package controller

import (
	"context"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/internal/configrollout"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// A change re-judges only the ModelDeployments it concerns: a selector is
// matched against the labels each one's pods carry, a Secret against the
// names each one references. On an update, controller-runtime maps both the
// old and the new object, so one that stops selecting is re-judged too.

// secretRefIndex indexes ModelDeployments by the Secrets their template and
// spec reference.
const secretRefIndex = ".spec.secretRefs" //nolint:gosec // an index name, not a credential

// referencedSecretNames is the index function of secretRefIndex.
func referencedSecretNames(o client.Object) []string {
	md, ok := o.(*servingv1alpha1.ModelDeployment)
	if !ok {
		return nil
	}
	in, err := checklist.NewInputs(md)
	if err != nil {
		return nil
	}
	return checklist.ReferencedSecrets(in)
}

// configMapRefIndex indexes ModelDeployments by the ConfigMaps their model
// card and template reference.
const configMapRefIndex = ".spec.configMapRefs"

// referencedConfigMapNames is the index function of configMapRefIndex.
func referencedConfigMapNames(o client.Object) []string {
	md, ok := o.(*servingv1alpha1.ModelDeployment)
	if !ok {
		return nil
	}
	var names []string
	if card := md.Spec.Model.ModelCard; card != nil && card.ConfigMapRef != nil {
		names = append(names, card.ConfigMapRef.Name)
	}
	for _, ref := range configrollout.References(&md.Spec.Template.Spec) {
		if ref.Kind == configrollout.KindConfigMap {
			names = append(names, ref.Name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// podLabelsOf are the labels the pods of a ModelDeployment's spec carry.
func podLabelsOf(md *servingv1alpha1.ModelDeployment) map[string]string {
	tpl, err := desiredstate.PodTemplate(md, md.Spec.Model.Version)
	if err != nil {
		return desiredstate.VersionLabels(md, md.Spec.Model.Version)
	}
	return tpl.Labels
}

// modelDeploymentsSelectedBy maps a PodDisruptionBudget or a NetworkPolicy
// to the ModelDeployments of its namespace whose pods it selects.
func (r *ModelDeploymentReconciler) modelDeploymentsSelectedBy(ctx context.Context, o client.Object) []reconcile.Request {
	var sel *metav1.LabelSelector
	switch t := o.(type) {
	case *policyv1.PodDisruptionBudget:
		sel = t.Spec.Selector
	case *networkingv1.NetworkPolicy:
		sel = &t.Spec.PodSelector
	default:
		return nil
	}
	var list servingv1alpha1.ModelDeploymentList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace())); err != nil {
		logf.FromContext(ctx).Error(err, "Listing ModelDeployments to map a change", "namespace", o.GetNamespace())
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if checklist.Selects(sel, podLabelsOf(&list.Items[i])) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

// modelDeploymentsOfSecret maps a Secret to the ModelDeployments that
// reference it, through the index; a certificate of the namespace's
// Ingresses or Gateways concerns every ModelDeployment they may expose.
func (r *ModelDeploymentReconciler) modelDeploymentsOfSecret(ctx context.Context, o client.Object) []reconcile.Request {
	if r.isCertificate(ctx, o) {
		return r.modelDeploymentsInNamespace(ctx, o)
	}
	return append(r.modelDeployments(ctx, o, client.InNamespace(o.GetNamespace()), client.MatchingFields{secretRefIndex: o.GetName()}),
		copyOwner(o)...)
}

// isCertificate reports whether an Ingress or a Gateway of the Secret's
// namespace names it as a certificate.
func (r *ModelDeploymentReconciler) isCertificate(ctx context.Context, o client.Object) bool {
	var ings networkingv1.IngressList
	if err := r.List(ctx, &ings, client.InNamespace(o.GetNamespace())); err == nil {
		for i := range ings.Items {
			if slices.ContainsFunc(ings.Items[i].Spec.TLS, func(t networkingv1.IngressTLS) bool { return t.SecretName == o.GetName() }) {
				return true
			}
		}
	}
	if !r.GatewayAPI {
		return false
	}
	var gws gatewayv1.GatewayList
	if err := r.List(ctx, &gws, client.InNamespace(o.GetNamespace())); err != nil {
		return false
	}
	for i := range gws.Items {
		for _, l := range gws.Items[i].Spec.Listeners {
			if l.TLS == nil {
				continue
			}
			for _, c := range l.TLS.CertificateRefs {
				if string(c.Name) == o.GetName() {
					return true
				}
			}
		}
	}
	return false
}
