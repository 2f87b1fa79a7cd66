package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/internal/rollout"
)

// Prober answers the checklist's network-backed questions; internal/probe
// implements it with timeouts and a cache.
type Prober = checklist.RemoteProber

// hpaTargetIndex indexes HorizontalPodAutoscalers by "<kind>/<name>" of their scale target.
const hpaTargetIndex = ".spec.scaleTargetRef"

// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies;ingresses,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets;configmaps;resourcequotas;nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes;gateways;referencegrants,verbs=get;list;watch

// gatherChecklist reads, from the cache, everything the checklist judges, and
// asks the network probes about the artifact, the registry and a model card URL.
func (r *ModelDeploymentReconciler) gatherChecklist(ctx context.Context, s *scope) error {
	in, err := checklist.NewInputs(s.md)
	if err != nil {
		return reconcile.TerminalError(invalidSpec{err})
	}
	in.Deployment = rollout.SpecDeployment(s.md, s.templateHash, s.observed)
	for _, name := range slices.Sorted(maps.Keys(s.deployments)) {
		in.Deployments = append(in.Deployments, *s.deployments[name])
	}
	revisions := make([]appsv1.ControllerRevision, 0, len(s.revisions))
	for _, name := range slices.Sorted(maps.Keys(s.revisions)) {
		revisions = append(revisions, *s.revisions[name])
	}
	in.PromotedVersions = desiredstate.PromotedVersions(revisions)
	for _, gather := range []func(context.Context, *checklist.Inputs) error{
		r.gatherHPAs, r.gatherNamespaceObjects, r.gatherSharedGateways, r.gatherSecrets, r.gatherModelCard,
	} {
		if err := gather(ctx, in); err != nil {
			return err
		}
	}
	in.Attested = attested(s.approvals)
	in.ConfigNotCovered = configNotCovered(s)
	if s.policy.Selected() {
		in.Policy = &s.policy.Effective.Checklist
	}
	if r.Prober != nil {
		checklist.ProbeRemote(ctx, r.Prober, in)
	}
	s.checklistInputs = in
	return nil
}

// gatherHPAs reads the HPAs that scale the ModelDeployment or the Deployment
// of the revision under check, through the index on their scale target.
func (r *ModelDeploymentReconciler) gatherHPAs(ctx context.Context, in *checklist.Inputs) error {
	md := in.MD
	var hpas autoscalingv2.HorizontalPodAutoscalerList
	for _, target := range []string{"ModelDeployment/" + md.Name, "Deployment/" + in.Deployment} {
		if err := r.List(ctx, &hpas, client.InNamespace(md.Namespace), client.MatchingFields{hpaTargetIndex: target}); err != nil {
			return listError(in, checklist.KindHPA, err)
		}
		in.HPAs = append(in.HPAs, byName(hpas.Items)...)
	}
	return nil
}

// byName sorts objects of a list by name.
func byName[T any, PT interface {
	*T
	GetName() string
}](items []T) []T {
	slices.SortFunc(items, func(a, b T) int { return strings.Compare(PT(&a).GetName(), PT(&b).GetName()) })
	return items
}

// namespaceList is one kind the checks read whole from the namespace (or,
// for Nodes, the cluster): selectors and references decide what concerns us.
type namespaceList struct {
	kind       string
	list       client.ObjectList
	namespaced bool
}

// gatherNamespaceObjects reads the objects whose selectors or references the
// checks judge, once per reconcile, shared by every check.
func (r *ModelDeploymentReconciler) gatherNamespaceObjects(ctx context.Context, in *checklist.Inputs) error {
	var (
		pdbs   policyv1.PodDisruptionBudgetList
		nps    networkingv1.NetworkPolicyList
		ings   networkingv1.IngressList
		quotas corev1.ResourceQuotaList
		routes gatewayv1.HTTPRouteList
		gws    gatewayv1.GatewayList
		nodes  corev1.NodeList
	)
	lists := []namespaceList{
		{checklist.KindPDB, &pdbs, true},
		{checklist.KindNetworkPolicy, &nps, true},
		{checklist.KindIngress, &ings, true},
		{checklist.KindQuota, &quotas, true},
		{checklist.KindNode, &nodes, false},
	}
	if r.GatewayAPI { // without it there are no HTTPRoutes or Gateways to read
		lists = append(lists, namespaceList{checklist.KindHTTPRoute, &routes, true}, namespaceList{checklist.KindGateway, &gws, true})
	}
	for _, l := range lists {
		var opts []client.ListOption
		if l.namespaced {
			opts = append(opts, client.InNamespace(in.MD.Namespace))
		}
		if err := r.List(ctx, l.list, opts...); err != nil {
			if err := listError(in, l.kind, err); err != nil {
				return err
			}
		}
	}
	// The cache lists in no particular order; messages that name objects must
	// not change from one reconcile to the next, or status churns.
	in.PDBs, in.NetworkPolicies = byName(pdbs.Items), byName(nps.Items)
	in.Ingresses, in.ResourceQuotas = byName(ings.Items), byName(quotas.Items)
	in.HTTPRoutes, in.Gateways = byName(routes.Items), byName(gws.Items)
	slices.SortFunc(nodes.Items, func(a, b corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	for i := range nodes.Items {
		in.NodeAllocatable = append(in.NodeAllocatable, nodes.Items[i].Status.Allocatable)
	}
	return nil
}

// gatherSharedGateways reads what tls judges a shared Gateway by: the
// Gateways in other namespaces that the namespace's HTTPRoutes attach to
// (a missing one recorded as nil), and the ReferenceGrants of the namespaces
// whose certificates any of the Gateways name across namespaces. Secrets of
// other namespaces are never read.
func (r *ModelDeploymentReconciler) gatherSharedGateways(ctx context.Context, in *checklist.Inputs) error {
	if !r.GatewayAPI {
		return nil
	}
	md := in.MD
	gateways := slices.Clone(in.Gateways)
	for _, key := range sharedGatewayKeys(md.Namespace, in.HTTPRoutes) {
		if in.SharedGateways == nil {
			in.SharedGateways = map[string]*gatewayv1.Gateway{}
		}
		ns, name, _ := strings.Cut(key, "/")
		gw := &gatewayv1.Gateway{}
		err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, gw)
		switch {
		case err == nil:
			in.SharedGateways[key] = gw
			gateways = append(gateways, *gw)
		case apierrors.IsNotFound(err):
			in.SharedGateways[key] = nil
		default:
			return listError(in, checklist.KindGateway, err)
		}
	}
	for _, ns := range certificateNamespaces(gateways) {
		var grants gatewayv1.ReferenceGrantList
		if err := r.List(ctx, &grants, client.InNamespace(ns)); err != nil {
			return listError(in, checklist.KindReferenceGrant, err)
		}
		in.ReferenceGrants = append(in.ReferenceGrants, byName(grants.Items)...)
	}
	return nil
}

// sharedGatewayKeys are the "namespace/name" of the Gateways outside
// namespace ns that routes attach to, sorted.
func sharedGatewayKeys(ns string, routes []gatewayv1.HTTPRoute) []string {
	var keys []string
	for i := range routes {
		for _, key := range gatewayParents(&routes[i]) {
			if !strings.HasPrefix(key, ns+"/") && !slices.Contains(keys, key) {
				keys = append(keys, key)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// gatewayParents are the "namespace/name" of the Gateways a route attaches to.
func gatewayParents(route *gatewayv1.HTTPRoute) []string {
	var keys []string
	for _, p := range route.Spec.ParentRefs {
		if ptr.Deref(p.Group, gatewayv1.GroupName) != gatewayv1.GroupName || ptr.Deref(p.Kind, "Gateway") != "Gateway" {
			continue
		}
		ns := route.Namespace
		if p.Namespace != nil {
			ns = string(*p.Namespace)
		}
		keys = append(keys, ns+"/"+string(p.Name))
	}
	return keys
}

// certificateNamespaces are the namespaces, other than each Gateway's own,
// of the Secrets the Gateways' listeners name, sorted.
func certificateNamespaces(gateways []gatewayv1.Gateway) []string {
	out := make([]string, 0, len(gateways))
	for i := range gateways {
		out = append(out, gatewayCertificateNamespaces(&gateways[i])...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func gatewayCertificateNamespaces(gw *gatewayv1.Gateway) []string {
	var out []string
	for _, l := range gw.Spec.Listeners {
		if l.TLS == nil {
			continue
		}
		for _, c := range l.TLS.CertificateRefs {
			if c.Namespace != nil && string(*c.Namespace) != gw.Namespace {
				out = append(out, string(*c.Namespace))
			}
		}
	}
	return out
}

// gatherSecrets reads the key names of the Secrets the checks look at, and
// whether each opted in to the manager reading it: only those the
// ModelDeployment and the namespace's Ingresses and Gateways name, past the
// metadata-only cache. Values are dropped as soon as read.
func (r *ModelDeploymentReconciler) gatherSecrets(ctx context.Context, in *checklist.Inputs) error {
	names := checklist.ReferencedSecrets(in)
	in.Secrets = make(map[string]checklist.SecretKeys, len(names))
	in.ManagerReadable = make(map[string]bool, len(names))
	for _, name := range names {
		got, found, err := r.secretKeys(ctx, secretRef(in.MD, name))
		if err != nil {
			return listError(in, checklist.KindSecret, err)
		}
		if found {
			in.Secrets[name] = got.keys
			in.ManagerReadable[name] = got.readable
		}
	}
	return nil
}

// gatherModelCard reads the ConfigMap holding the model card, if one is named.
func (r *ModelDeploymentReconciler) gatherModelCard(ctx context.Context, in *checklist.Inputs) error {
	card := in.MD.Spec.Model.ModelCard
	if card == nil || card.ConfigMapRef == nil {
		return nil
	}
	cm, err := r.configMap(ctx, client.ObjectKey{Namespace: in.MD.Namespace, Name: card.ConfigMapRef.Name})
	switch {
	case err != nil:
		return listError(in, checklist.KindConfigMap, err)
	case cm != nil:
		in.ConfigMaps = map[string]*corev1.ConfigMap{cm.Name: cm}
	}
	return nil
}

// listError records an input the checks cannot see because RBAC refuses it
// (or its API is not served), so they report Unknown, and returns any other
// error for a retry.
func listError(in *checklist.Inputs, kind string, err error) error {
	if apierrors.IsForbidden(err) || meta.IsNoMatchError(err) {
		in.Unavailable[kind] = err.Error()
		return nil
	}
	return fmt.Errorf("reading %ss: %w", kind, err)
}

// judgeChecklist runs the catalogue and turns its result into the rollout's gate.
func judgeChecklist(s *scope) rollout.Gate {
	s.checklist = checklist.Evaluate(checklist.Catalogue(), s.checklistInputs)
	if s.checklist.Passed() {
		return rollout.Gate{}
	}
	// Only a network probe that did not answer may pass by itself; anything else
	// (a failed item, a read RBAC refuses) waits for the user.
	network := map[string]bool{}
	for _, c := range checklist.Catalogue() {
		network[c.ID] = c.Network
	}
	unknownOnly := true
	for _, id := range s.checklist.Blocking {
		for _, it := range s.checklist.Status.Items {
			if it.ID == id && (it.Result != servingv1alpha1.CheckUnknown || !network[id]) {
				unknownOnly = false
			}
		}
	}
	g := rollout.Gate{Closed: true, Reason: rollout.ReasonChecklistFailed,
		Message: "checklist items block it: " + s.checklist.BlockingMessage()}
	if unknownOnly {
		g.Reason, g.Retrying = rollout.ReasonChecklistUnknown, true
		g.Message = "checklist items could not be judged yet: " + s.checklist.BlockingMessage()
	}
	return g
}

// checklistCondition is the ChecklistPassed condition of a result.
func checklistCondition(res checklist.Result) (servingv1alpha1.CheckResult, string, string) {
	if res.Passed() {
		return servingv1alpha1.CheckPass, "ChecklistPassed", fmt.Sprintf("Version %s passes every enforced checklist item (%s passed)", res.Status.Version, res.Status.Summary)
	}
	return servingv1alpha1.CheckFail, rollout.ReasonChecklistFailed, fmt.Sprintf("Version %s is blocked by %s: %s",
		res.Status.Version, strings.Join(res.Blocking, ", "), res.BlockingMessage())
}

// hpaTarget is the index function of hpaTargetIndex.
func hpaTarget(o client.Object) []string {
	hpa, ok := o.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return nil
	}
	return []string{hpa.Spec.ScaleTargetRef.Kind + "/" + hpa.Spec.ScaleTargetRef.Name}
}

// ServesGatewayAPI reports whether the cluster serves Gateway API HTTPRoutes.
func ServesGatewayAPI(mapper meta.RESTMapper) (bool, error) {
	return serves(mapper, schema.GroupKind{Group: gatewayv1.GroupName, Kind: "HTTPRoute"}, gatewayv1.GroupVersion.Version)
}

// serves reports whether the cluster serves a kind at a version: an API
// that is not installed is an answer, not an error.
func serves(mapper meta.RESTMapper, gk schema.GroupKind, version string) (bool, error) {
	_, err := mapper.RESTMapping(gk, version)
	switch {
	case err == nil:
		return true, nil
	case meta.IsNoMatchError(err):
		return false, nil
	default:
		return false, err
	}
}
