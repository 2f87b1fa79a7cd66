package controller

import (
	"context"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
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
// names each one references, an Ingress or an HTTPRoute against their
// Services' names, a quota's new state against its old one by the capacity
// item's own judgement. On an update, controller-runtime maps both the old
// and the new object, so one that stops selecting is re-judged too.

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
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.UnsafeDisableDeepCopy); err != nil {
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
// reference it, through the index, and to those served by the Ingresses and
// Gateways of its namespace that name it as a certificate.
func (r *ModelDeploymentReconciler) modelDeploymentsOfSecret(ctx context.Context, o client.Object) []reconcile.Request {
	out := append(r.modelDeployments(ctx, o, client.InNamespace(o.GetNamespace()), client.MatchingFields{secretRefIndex: o.GetName()}), copyOwner(o)...)
	var ings networkingv1.IngressList
	if err := r.List(ctx, &ings, client.InNamespace(o.GetNamespace())); err != nil {
		logf.FromContext(ctx).Error(err, "Listing Ingresses to map a Secret change", "secret", klog.KObj(o))
	}
	for i := range ings.Items {
		if slices.ContainsFunc(ings.Items[i].Spec.TLS, func(t networkingv1.IngressTLS) bool { return t.SecretName == o.GetName() }) {
			out = append(out, r.modelDeploymentsServedBy(ctx, o, o.GetNamespace(), ingressServices(&ings.Items[i]))...)
		}
	}
	for _, gw := range r.gatewaysNaming(ctx, o) {
		out = append(out, r.modelDeploymentsOfGateway(ctx, gw)...)
	}
	return distinct(out)
}

// gatewaysNaming are the Gateways of the Secret's namespace that name it as
// a certificate.
func (r *ModelDeploymentReconciler) gatewaysNaming(ctx context.Context, o client.Object) []*gatewayv1.Gateway {
	if !r.GatewayAPI {
		return nil
	}
	var gws gatewayv1.GatewayList
	if err := r.List(ctx, &gws, client.InNamespace(o.GetNamespace())); err != nil {
		logf.FromContext(ctx).Error(err, "Listing Gateways to map a Secret change", "secret", klog.KObj(o))
		return nil
	}
	var out []*gatewayv1.Gateway
	for i := range gws.Items {
		if slices.ContainsFunc(gws.Items[i].Spec.Listeners, func(l gatewayv1.Listener) bool {
			return l.TLS != nil && slices.ContainsFunc(l.TLS.CertificateRefs, func(c gatewayv1.SecretObjectReference) bool { return string(c.Name) == o.GetName() })
		}) {
			out = append(out, &gws.Items[i])
		}
	}
	return out
}

// Indexes that map an Ingress or an HTTPRoute to the ModelDeployments whose
// Services it sends traffic to, or whose weights it carries.
const (
	// routedByIndex indexes ModelDeployments by the HTTPRoute whose weights
	// modelgate sets for them (spec.strategy.trafficRouting.gatewayAPI).
	routedByIndex = ".spec.strategy.trafficRouting.gatewayAPI.httpRoute"
)

// routedBy is the index function of routedByIndex.
func routedBy(o client.Object) []string {
	md, ok := o.(*servingv1alpha1.ModelDeployment)
	if !ok || md.Spec.Strategy.TrafficRouting == nil || md.Spec.Strategy.TrafficRouting.GatewayAPI == nil {
		return nil
	}
	return []string{md.Spec.Strategy.TrafficRouting.GatewayAPI.HTTPRoute}
}

// modelDeploymentsOfIngress maps an Ingress to the ModelDeployments whose
// Services its rules or default backend name: the tls item judges no other
// Ingress. An update maps the old object too, so one that stops naming a
// Service re-judges its ModelDeployment.
func (r *ModelDeploymentReconciler) modelDeploymentsOfIngress(ctx context.Context, o client.Object) []reconcile.Request {
	ing, ok := o.(*networkingv1.Ingress)
	if !ok {
		return nil
	}
	return r.modelDeploymentsServedBy(ctx, o, o.GetNamespace(), ingressServices(ing))
}

// modelDeploymentsOfRoute maps an HTTPRoute to the ModelDeployments whose
// Services its rules send traffic to (what the tls item judges) and to those
// that name it as their router's route (whose weights modelgate keeps).
func (r *ModelDeploymentReconciler) modelDeploymentsOfRoute(ctx context.Context, o client.Object) []reconcile.Request {
	route, ok := o.(*gatewayv1.HTTPRoute)
	if !ok {
		return nil
	}
	out := r.modelDeployments(ctx, o, client.InNamespace(o.GetNamespace()), client.MatchingFields{routedByIndex: o.GetName()})
	out = append(out, r.modelDeploymentsServedBy(ctx, o, o.GetNamespace(), routeServices(route))...)
	return distinct(out)
}

// modelDeploymentsServedBy maps the names of Services of a namespace to the
// ModelDeployments they belong to; o is the object whose change is mapped.
// modelgate's Services are named after their ModelDeployment (<name>,
// <name>-stable, <name>-candidate), so a name says whose it can be and the
// cache whether that one exists: rarer lookups than an index of three names
// for every cached ModelDeployment, which held more memory.
func (r *ModelDeploymentReconciler) modelDeploymentsServedBy(ctx context.Context, o client.Object, namespace string, services []string) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(services)) // most Services are one ModelDeployment's
	for _, svc := range services {
		for _, name := range possibleOwners(svc) {
			key := client.ObjectKey{Namespace: namespace, Name: name}
			// Read in place: only whether it exists matters.
			if err := r.Get(ctx, key, &servingv1alpha1.ModelDeployment{}, client.UnsafeDisableDeepCopy); err != nil {
				if !apierrors.IsNotFound(err) {
					logf.FromContext(ctx).Error(err, "Reading a ModelDeployment to map a change", "object", klog.KObj(o))
				}
				continue
			}
			out = append(out, reconcile.Request{NamespacedName: key})
		}
	}
	return distinct(out)
}

// possibleOwners are the names of the ModelDeployments whose Service svc
// could be: svc is <name>, <name>-stable or <name>-candidate of each
// (desiredstate.ServiceName and its siblings).
func possibleOwners(svc string) []string {
	names := []string{svc}
	for _, suffix := range []string{"-stable", "-candidate"} {
		if base, ok := strings.CutSuffix(svc, suffix); ok && base != "" {
			names = append(names, base)
		}
	}
	return names
}

// ingressServices are the Services an Ingress sends traffic to.
func ingressServices(ing *networkingv1.Ingress) []string {
	var out []string
	if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil {
		out = append(out, b.Service.Name)
	}
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			if p.Backend.Service != nil {
				out = append(out, p.Backend.Service.Name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// routeServices are the Services of a route's own namespace its rules send
// traffic or mirror requests to; a backend in another namespace serves no
// ModelDeployment the tls item would judge the route for.
func routeServices(route *gatewayv1.HTTPRoute) []string {
	var out []string
	add := func(ref gatewayv1.BackendObjectReference) {
		if g := ptr.Deref(ref.Group, ""); g != "" && g != "core" {
			return
		}
		if ptr.Deref(ref.Kind, "Service") != "Service" || string(ptr.Deref(ref.Namespace, gatewayv1.Namespace(route.Namespace))) != route.Namespace {
			return
		}
		out = append(out, string(ref.Name))
	}
	for _, rule := range route.Spec.Rules {
		for _, b := range rule.BackendRefs {
			add(b.BackendObjectReference)
		}
		for _, f := range rule.Filters {
			if f.RequestMirror != nil {
				add(f.RequestMirror.BackendRef)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// modelDeploymentsCoveredBy maps a ResourceQuota to the ModelDeployments of
// its namespace whose pods its scopes cover, the ones the capacity item
// judges against it. A quota without scopes covers them all.
func (r *ModelDeploymentReconciler) modelDeploymentsCoveredBy(ctx context.Context, o client.Object) []reconcile.Request {
	q, ok := o.(*corev1.ResourceQuota)
	if !ok {
		return nil
	}
	var list servingv1alpha1.ModelDeploymentList
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "Listing ModelDeployments to map a change", "object", klog.KObj(o))
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		md := &list.Items[i]
		tpl, err := desiredstate.PodTemplate(md, md.Spec.Model.Version)
		if err != nil || checklist.QuotaCoversPod(q, &tpl.Spec) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(md)})
		}
	}
	return out
}

// quotaChanges re-judges, when a ResourceQuota comes or goes, the
// ModelDeployments whose pods it covers, and when it changes, only those
// whose capacity item it now judges differently: its status.used moves
// with every pod started or stopped in the namespace, and most moves leave
// every ModelDeployment fitting as before.
func (r *ModelDeploymentReconciler) quotaChanges() handler.EventHandler {
	type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]
	add := func(q queue, reqs []reconcile.Request) {
		for _, req := range reqs {
			q.Add(req)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) {
			add(q, r.modelDeploymentsCoveredBy(ctx, e.Object))
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q queue) {
			add(q, r.modelDeploymentsJudgedAnew(ctx, e.ObjectOld, e.ObjectNew))
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q queue) {
			add(q, r.modelDeploymentsCoveredBy(ctx, e.Object))
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q queue) {
			add(q, r.modelDeploymentsCoveredBy(ctx, e.Object))
		},
	}
}

// modelDeploymentsJudgedAnew are the ModelDeployments of a changed quota's
// namespace whose capacity item judges the new quota otherwise than the old
// one, with the Deployments they run now (a change of those re-judges them
// anyway). One that cannot be judged here is re-judged.
func (r *ModelDeploymentReconciler) modelDeploymentsJudgedAnew(ctx context.Context, oldObj, newObj client.Object) []reconcile.Request {
	before, okOld := oldObj.(*corev1.ResourceQuota)
	after, okNew := newObj.(*corev1.ResourceQuota)
	if !okOld || !okNew {
		return nil
	}
	var list servingv1alpha1.ModelDeploymentList
	if err := r.List(ctx, &list, client.InNamespace(after.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "Listing ModelDeployments to map a change", "object", klog.KObj(after))
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		md := &list.Items[i]
		if !r.judgesAlike(ctx, md, before, after) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(md)})
		}
	}
	return out
}

// judgesAlike reports whether the capacity item of md says the same of two
// versions of a quota.
func (r *ModelDeploymentReconciler) judgesAlike(ctx context.Context, md *servingv1alpha1.ModelDeployment, before, after *corev1.ResourceQuota) bool {
	in, err := checklist.NewInputs(md)
	if err != nil {
		return false
	}
	var deps appsv1.DeploymentList
	if err := r.List(ctx, &deps, client.InNamespace(md.Namespace), client.MatchingFields{ownerIndex: md.Name}); err != nil {
		return false
	}
	for i := range deps.Items {
		if metav1.IsControlledBy(&deps.Items[i], md) {
			in.Deployments = append(in.Deployments, deps.Items[i])
		}
	}
	coversBefore, shortBefore, raiseBefore := checklist.QuotaJudgement(in, before)
	coversAfter, shortAfter, raiseAfter := checklist.QuotaJudgement(in, after)
	return coversBefore == coversAfter && slices.Equal(shortBefore, shortAfter) && slices.Equal(raiseBefore, raiseAfter)
}

// modelDeploymentsAskingForGPUs maps a node whose allocatable changed to the
// ModelDeployments, of any namespace, whose pods ask for GPUs: the capacity
// item sums the nodes' GPUs for them alone.
func (r *ModelDeploymentReconciler) modelDeploymentsAskingForGPUs(ctx context.Context, o client.Object) []reconcile.Request {
	var list servingv1alpha1.ModelDeploymentList
	if err := r.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		logf.FromContext(ctx).Error(err, "Listing ModelDeployments to map a change", "object", klog.KObj(o))
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		md := &list.Items[i]
		tpl, err := desiredstate.PodTemplate(md, md.Spec.Model.Version)
		if err != nil || checklist.AsksForGPUs(&tpl.Spec) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(md)})
		}
	}
	return out
}

// distinct sorts requests and drops repeats, so a ModelDeployment two
// references reach is counted once.
func distinct(reqs []reconcile.Request) []reconcile.Request {
	slices.SortFunc(reqs, func(a, b reconcile.Request) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(reqs)
}
