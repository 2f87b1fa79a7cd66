// Package manifestcheck judges the ModelDeployments in a set of manifests
// before they reach a cluster, with the operator's own checklist: the objects
// around each one (HPAs, PDBs, NetworkPolicies, Secrets, ConfigMaps,
// Services, Ingresses, HTTPRoutes, Gateways, ResourceQuotas) are those of the
// same namespace in the manifests, and what only a cluster holds is marked
// unavailable, so its checks say they could not judge rather than guess.
// ModelDeploymentPolicies given beside the manifests judge them as admission
// and the operator would.
package manifestcheck

import (
	"context"
	"fmt"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/internal/manifests"
	"github.com/modelgate/modelgate/internal/policy"
)

// Scheme holds the kinds the operator reads: modelgate's, Kubernetes' own
// and the Gateway API's.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(servingv1alpha1.AddToScheme(s))
	utilruntime.Must(gatewayv1.Install(s))
	return s
}

// Offline is the reason recorded for the inputs only a cluster holds. The
// checks quote it in their message.
const Offline = "the offline check reads only the manifests it is given; this is judged in the cluster by the operator"

// offlineKinds are the inputs that never come from manifests: the
// Deployments of running versions (which the operator creates) and the nodes.
var offlineKinds = []string{checklist.KindDeployment, checklist.KindNode, checklist.KindApproval}

// OfflineRemediation replaces the remediation of an item that could not be
// judged offline; the checks' own remediation for an unreadable input is
// about the operator's RBAC, which does not apply here.
func OfflineRemediation(name string) string {
	return "Nothing to change in the manifests: the operator judges this item in the cluster; after applying, see: kubectl modelgate status " + name
}

// Options of Check.
type Options struct {
	// Namespace is the namespace of objects that declare none; "default" when empty.
	Namespace string
	// Prober answers the network-backed items (artifact, registry, model card
	// URL). Nil leaves them to report that network checks were not run.
	Prober checklist.RemoteProber

	// Policies are the ModelDeploymentPolicies to judge by, as in the cluster.
	Policies []servingv1alpha1.ModelDeploymentPolicy
	// NamespaceLabels are the labels of a namespace no Namespace manifest
	// describes, for the policies' namespaceSelectors. A Namespace among the
	// manifests gives its own labels.
	NamespaceLabels map[string]string
	// Applier is who will apply the manifests: the overrides a policy lets
	// only some groups sign off count as signed by them. Nil: nobody, so
	// such overrides are violations, as they would be from a user outside
	// those groups.
	Applier *policy.Signer
}

// Judgement is the checklist's verdict on one ModelDeployment.
type Judgement struct {
	MD     *servingv1alpha1.ModelDeployment
	Source manifests.Source
	Result checklist.Result
	// Policy is the judgement of the policies (Options.Policies) that select
	// MD; its zero value when none does.
	Policy policy.Result
}

// Violations are where the spec asks for less than a policy allows: the
// admission webhook would refuse it.
func (j *Judgement) Violations() []policy.Violation { return j.Policy.Violations }

// Failed lists the ids of enforced items that failed: what makes the check fail.
func (j *Judgement) Failed() []string {
	return j.idsWith(servingv1alpha1.CheckFail)
}

// Unknown lists the ids of enforced items that could not be judged offline.
// The operator would hold the version on them until it can judge them; the
// offline check reports them without failing.
func (j *Judgement) Unknown() []string {
	return j.idsWith(servingv1alpha1.CheckUnknown)
}

func (j *Judgement) idsWith(result servingv1alpha1.CheckResult) []string {
	var ids []string
	for _, id := range j.Result.Blocking {
		for _, it := range j.Result.Status.Items {
			if it.ID == id && it.Result == result {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// Passed reports whether no enforced item failed and no policy is violated.
func (j *Judgement) Passed() bool { return len(j.Failed()) == 0 && len(j.Violations()) == 0 }

// InvalidSpec is a ModelDeployment no check can judge, such as one whose
// template has no serving container; the operator stalls on it too.
type InvalidSpec struct {
	Source manifests.Source
	Name   string
	Err    error
}

func (e *InvalidSpec) Error() string {
	return fmt.Sprintf("%s: ModelDeployment %s: %v", e.Source, e.Name, e.Err)
}

// Check judges every ModelDeployment of the objects, in the order read.
// The error lists the ModelDeployments that could not be judged (as
// []*InvalidSpec joined); the others are judged all the same.
func Check(ctx context.Context, objects []manifests.Object, opts Options) ([]Judgement, error) {
	defaultNS := opts.Namespace
	if defaultNS == "" {
		defaultNS = "default"
	}
	spaces := map[string]*surroundings{}
	type found struct {
		md  *servingv1alpha1.ModelDeployment
		src manifests.Source
	}
	var mds []found
	nsLabels := map[string]map[string]string{}
	for _, o := range objects {
		if ns, ok := o.Object.(*corev1.Namespace); ok {
			nsLabels[ns.Name] = ns.Labels
			continue
		}
		if md, ok := o.Object.(*servingv1alpha1.ModelDeployment); ok {
			md = md.DeepCopy()
			if md.Namespace == "" {
				md.Namespace = defaultNS
			}
			mds = append(mds, found{md, o.Source})
			continue
		}
		add(spaces, defaultNS, o.Object)
	}
	for _, s := range spaces {
		s.sort()
	}

	var out []Judgement
	var invalid []error
	for _, f := range mds {
		in, err := checklist.NewInputs(f.md)
		if err != nil {
			invalid = append(invalid, &InvalidSpec{Source: f.src, Name: f.md.Namespace + "/" + f.md.Name, Err: err})
			continue
		}
		if s := spaces[f.md.Namespace]; s != nil {
			s.fill(in)
		}
		for _, k := range offlineKinds {
			in.Unavailable[k] = Offline
		}
		judged := judgePolicies(f.md, nsLabels, opts)
		if judged.Selected() {
			in.Policy = &judged.Effective.Checklist
		}
		if opts.Prober != nil {
			checklist.ProbeRemote(ctx, opts.Prober, in)
		}
		res := checklist.Evaluate(checklist.Catalogue(), in)
		for i := range res.Status.Items {
			it := &res.Status.Items[i]
			if it.Result == servingv1alpha1.CheckUnknown && strings.Contains(it.Message, Offline) {
				it.Remediation = OfflineRemediation(f.md.Name)
			}
		}
		out = append(out, Judgement{MD: f.md, Source: f.src, Result: res, Policy: judged})
	}
	return out, joinErrors(invalid)
}

// judgePolicies judges md by opts.Policies, with its namespace's labels from
// a Namespace manifest or else opts.NamespaceLabels, and its overrides signed
// by opts.Applier, as admission would sign them.
func judgePolicies(md *servingv1alpha1.ModelDeployment, nsLabels map[string]map[string]string, opts Options) policy.Result {
	if len(opts.Policies) == 0 {
		return policy.Result{}
	}
	labels, ok := nsLabels[md.Namespace]
	if !ok {
		labels = opts.NamespaceLabels
	}
	var signOffs policy.SignOffs
	if opts.Applier != nil {
		signOffs = policy.StampOverrides(nil, md.Spec.Checklist.Overrides, nil, *opts.Applier)
	}
	return policy.Judge(opts.Policies, md, labels, signOffs)
}

// surroundings are the objects of one namespace the checks read.
type surroundings struct {
	hpas       []autoscalingv2.HorizontalPodAutoscaler
	pdbs       []policyv1.PodDisruptionBudget
	nps        []networkingv1.NetworkPolicy
	secrets    map[string]checklist.SecretKeys
	configMaps map[string]*corev1.ConfigMap
	services   []corev1.Service
	ingresses  []networkingv1.Ingress
	routes     []gatewayv1.HTTPRoute
	gateways   []gatewayv1.Gateway
	quotas     []corev1.ResourceQuota
}

// add files an object under its namespace, if the checks read its kind.
func add(spaces map[string]*surroundings, defaultNS string, obj runtime.Object) {
	meta, ok := obj.(interface{ GetNamespace() string })
	if !ok {
		return
	}
	// An object without a namespace is filed under the default one and left
	// as it is: the checks take an empty namespace as the ModelDeployment's.
	ns := meta.GetNamespace()
	if ns == "" {
		ns = defaultNS
	}
	s := spaces[ns]
	if s == nil {
		s = &surroundings{secrets: map[string]checklist.SecretKeys{}, configMaps: map[string]*corev1.ConfigMap{}}
		spaces[ns] = s
	}
	switch o := obj.(type) {
	case *autoscalingv2.HorizontalPodAutoscaler:
		s.hpas = append(s.hpas, *o)
	case *policyv1.PodDisruptionBudget:
		s.pdbs = append(s.pdbs, *o)
	case *networkingv1.NetworkPolicy:
		s.nps = append(s.nps, *o)
	case *corev1.Secret:
		// The API server folds stringData into data; only key names are kept.
		keys := checklist.SecretKeys{}
		for k := range o.Data {
			keys[k] = struct{}{}
		}
		for k := range o.StringData {
			keys[k] = struct{}{}
		}
		s.secrets[o.Name] = keys
	case *corev1.ConfigMap:
		s.configMaps[o.Name] = o
	case *corev1.Service:
		s.services = append(s.services, *o)
	case *networkingv1.Ingress:
		s.ingresses = append(s.ingresses, *o)
	case *gatewayv1.HTTPRoute:
		s.routes = append(s.routes, *o)
	case *gatewayv1.Gateway:
		s.gateways = append(s.gateways, *o)
	case *corev1.ResourceQuota:
		s.quotas = append(s.quotas, *o)
	}
}

// sort orders each kind by name, as the operator does, so that messages
// naming several objects read the same offline and in the cluster.
func (s *surroundings) sort() {
	sortByName(s.hpas)
	sortByName(s.pdbs)
	sortByName(s.nps)
	sortByName(s.services)
	sortByName(s.ingresses)
	sortByName(s.routes)
	sortByName(s.gateways)
	sortByName(s.quotas)
}

func sortByName[T any, PT interface {
	*T
	GetName() string
}](items []T) {
	slices.SortStableFunc(items, func(a, b T) int { return strings.Compare(PT(&a).GetName(), PT(&b).GetName()) })
}

// fill gives the inputs the namespace's objects. The slices are shared
// between the ModelDeployments of a namespace: the checks only read them.
func (s *surroundings) fill(in *checklist.Inputs) {
	in.HPAs, in.PDBs, in.NetworkPolicies = s.hpas, s.pdbs, s.nps
	in.Secrets, in.ConfigMaps, in.Services = s.secrets, s.configMaps, s.services
	in.Ingresses, in.HTTPRoutes, in.Gateways, in.ResourceQuotas = s.ingresses, s.routes, s.gateways, s.quotas
}

// joinErrors joins errors, nil when there are none.
func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return InvalidSpecs(slices.Clone(errs))
}

// InvalidSpecs are the ModelDeployments that could not be judged.
type InvalidSpecs []error

func (e InvalidSpecs) Error() string {
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}
