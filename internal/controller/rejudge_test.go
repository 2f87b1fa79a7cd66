package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/test/bars"
)

// fleet is a namespace of n ModelDeployments: the first ten carry the
// template label team=growth, the first three reference Secret db-creds,
// the first five mount ConfigMap features, the first two run at priority
// class critical, model-007 alone asks for cpu (10 a pod, 20 for its two)
// and keeps its card in ConfigMap card, model-008 alone asks for a GPU, and
// model-005 has its weights set on HTTPRoute shared-route. Ingress public serves model-001
// and model-002's stable Service with certificate public-tls.
func fleet(t *testing.T, n int) *ModelDeploymentReconciler {
	t.Helper()
	objs := make([]client.Object, 0, n+1)
	for i := range n {
		objs = append(objs, newMD(func(md *servingv1alpha1.ModelDeployment) {
			md.Name = fmt.Sprintf("model-%03d", i)
			if i < 10 {
				md.Spec.Template.Labels = map[string]string{"team": "growth"}
			}
			if i < 2 {
				md.Spec.Template.Spec.PriorityClassName = "critical"
			}
			if i == 7 {
				md.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10")}
			}
			if i == 8 {
				md.Spec.Template.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
			}
			if i == 5 {
				md.Spec.Strategy.TrafficRouting = &servingv1alpha1.TrafficRouting{GatewayAPI: &servingv1alpha1.GatewayAPIRouting{HTTPRoute: "shared-route"}}
			}
			if i < 3 {
				md.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{
					SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db-creds"}, Key: "password"}}}}
			}
			if i < 5 {
				md.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "features", VolumeSource: corev1.VolumeSource{
					ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "features"}}}}}
			}
			if i == 7 {
				md.Spec.Model.ModelCard = &servingv1alpha1.ModelCardRef{ConfigMapRef: &servingv1alpha1.ConfigMapKeyReference{Name: "card"}}
			}
		}))
	}
	objs = append(objs, ingress("public", "model-001", "model-002-stable"), gateway(),
		route("web", "", "model-010"),
		newMD(func(md *servingv1alpha1.ModelDeployment) { md.Namespace, md.Name = "payments", "pay-scorer" }),
		func() client.Object {
			r := route("pay", "", "pay-scorer")
			r.Namespace = "payments"
			r.Spec.ParentRefs[0].Namespace = ptr.To(gatewayv1.Namespace("risk"))
			return r
		}())
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).
		WithIndex(&servingv1alpha1.ModelDeployment{}, secretRefIndex, referencedSecretNames).
		WithIndex(&servingv1alpha1.ModelDeployment{}, configMapRefIndex, referencedConfigMapNames).
		WithIndex(&servingv1alpha1.ModelDeployment{}, routedByIndex, routedBy).
		WithIndex(&appsv1.Deployment{}, ownerIndex, ownerName).
		WithIndex(&gatewayv1.HTTPRoute{}, routeGatewayIndex, routeGateways).
		WithObjects(objs...).Build()
	return &ModelDeploymentReconciler{Client: c, GatewayAPI: true}
}

// ingress sends a host to the first Service and paths of another to the
// rest, with certificate public-tls.
func ingress(name string, services ...string) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: name},
		Spec: networkingv1.IngressSpec{TLS: []networkingv1.IngressTLS{{SecretName: "public-tls"}}}}
	backend := func(svc string) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: 8080}}}
	}
	if len(services) > 0 {
		ing.Spec.DefaultBackend = ptr.To(backend(services[0]))
	}
	rule := networkingv1.HTTPIngressRuleValue{}
	for _, svc := range services[min(1, len(services)):] {
		rule.Paths = append(rule.Paths, networkingv1.HTTPIngressPath{Path: "/" + svc, PathType: ptr.To(networkingv1.PathTypePrefix), Backend: backend(svc)})
	}
	ing.Spec.Rules = []networkingv1.IngressRule{{Host: "models.example", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &rule}}}
	return ing
}

// route sends traffic to backends ("name" or "namespace/name") and mirrors
// it to mirror when set.
func route(name, mirror string, backends ...string) *gatewayv1.HTTPRoute {
	rule := gatewayv1.HTTPRouteRule{}
	ref := func(b string) gatewayv1.BackendObjectReference {
		r := gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(b), Port: ptr.To[gatewayv1.PortNumber](8080)}
		if ns, n, ok := strings.Cut(b, "/"); ok {
			r.Namespace, r.Name = ptr.To(gatewayv1.Namespace(ns)), gatewayv1.ObjectName(n)
		}
		return r
	}
	for _, b := range backends {
		rule.BackendRefs = append(rule.BackendRefs, gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: ref(b)}})
	}
	if mirror != "" {
		rule.Filters = []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestMirror, RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{BackendRef: ref(mirror)}}}
	}
	return &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: name},
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "public"}}},
			Rules: []gatewayv1.HTTPRouteRule{rule}}}
}

// gateway is Gateway public with an HTTPS listener on certificate gw-tls.
func gateway() *gatewayv1.Gateway {
	return &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "public"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "envoy", Listeners: []gatewayv1.Listener{{Name: "https", Port: 443, Protocol: gatewayv1.HTTPSProtocolType,
			TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "gw-tls"}}}}}}}
}

// quota limits cpu, within scopes when given.
func quota(scopes *corev1.ScopeSelector, scope ...corev1.ResourceQuotaScope) *corev1.ResourceQuota {
	return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "compute"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("64")}, Scopes: scope, ScopeSelector: scopes}}
}

// used is a copy of q with hard requests.cpu and used requests.cpu.
func used(q *corev1.ResourceQuota, hard, used string) *corev1.ResourceQuota {
	q = q.DeepCopy()
	q.Spec.Hard[corev1.ResourceRequestsCPU] = resource.MustParse(hard)
	q.Status.Used = corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse(used)}
	return q
}

func names(reqs []reconcile.Request) []string {
	out := make([]string, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, r.Name)
	}
	return out
}

func TestAChangeRejudgesOnlyTheModelDeploymentsItConcerns(t *testing.T) {
	const n = 500
	r := fleet(t, n)
	ctx := context.Background()
	pdb := func(sel map[string]string) *policyv1.PodDisruptionBudget {
		return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "pdb"},
			Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: sel}}}
	}
	secret := func(name string) *metav1.PartialObjectMetadata {
		m := metadataOnly("Secret")
		m.Namespace, m.Name = "risk", name
		return m
	}
	configMap := func(name string) *metav1.PartialObjectMetadata {
		m := metadataOnly("ConfigMap")
		m.Namespace, m.Name = "risk", name
		return m
	}
	tests := []struct {
		name string
		obj  client.Object
		old  client.Object // set for an update from old to obj
		want int
		bar  string
	}{
		{name: "a PDB of one model", obj: pdb(map[string]string{"app.kubernetes.io/name": "model-042"}), want: 1, bar: "PDBEditIn500ModelDeployments"},
		{name: "a PDB of a team", obj: pdb(map[string]string{"team": "growth"}), want: 10},
		{name: "a PDB selecting no model", obj: pdb(map[string]string{"app": "batch-jobs"}), want: 0},
		{name: "a NetworkPolicy of one model", obj: &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "np"},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "model-007"}}}}, want: 1},
		{name: "a PDB in another namespace", obj: func() client.Object { p := pdb(map[string]string{"team": "growth"}); p.Namespace = "web"; return p }(), want: 0},
		{name: "a Secret three models reference", obj: secret("db-creds"), want: 3},
		{name: "a Secret nothing references", obj: secret("unrelated"), want: 0},
		{name: "a ConfigMap five templates mount", obj: configMap("features"), want: 5},
		{name: "a ConfigMap holding a model card", obj: configMap("card"), want: 1},
		{name: "a ConfigMap nothing references", obj: configMap("unrelated"), want: 0},
		{name: "a certificate of an Ingress serving two models", obj: secret("public-tls"), want: 2},
		{name: "a certificate of a Gateway carrying two models' routes", obj: secret("gw-tls"), want: 2},
		{name: "a Gateway carrying two models' routes in two namespaces", obj: gateway(), want: 2, bar: "GatewayEditIn500ModelDeployments"},
		{name: "an Ingress of one model", obj: ingress("one", "model-042"), want: 1, bar: "IngressEditIn500ModelDeployments"},
		{name: "an Ingress of one model's stable and candidate Services", obj: ingress("split", "model-042-stable", "model-042-candidate"), want: 1},
		{name: "an Ingress of three models", obj: ingress("three", "model-001", "model-002-stable", "model-499"), want: 3},
		{name: "an Ingress of no model", obj: ingress("batch", "batch-api", "model-042-preview"), want: 0},
		{name: "an HTTPRoute of one model", obj: route("one", "", "model-042"), want: 1, bar: "HTTPRouteEditIn500ModelDeployments"},
		{name: "an HTTPRoute mirroring to a model", obj: route("mirror", "model-043-candidate", "model-042-stable"), want: 2},
		{name: "an HTTPRoute whose weights modelgate sets", obj: route("shared-route", ""), want: 1},
		{name: "an HTTPRoute of a router's model and another", obj: route("shared-route", "", "model-006"), want: 2},
		{name: "an HTTPRoute to another namespace's Service of the same name", obj: route("cross", "", "web/model-042"), want: 0},
		{name: "a ResourceQuota without scopes, created", obj: quota(nil), want: n, bar: "QuotaCreatedIn500ModelDeployments"},
		{name: "a ResourceQuota of priority class critical", obj: quota(&corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"critical"}}}}), want: 2},
		{name: "a ResourceQuota of pods with requests, which one model has", obj: quota(nil, corev1.ResourceQuotaScopeNotBestEffort), want: 1},
		{name: "a node whose GPUs changed", obj: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "gpu-1"}}, want: 1, bar: "NodeGPUsChangedIn500ModelDeployments"},
		{name: "a quota's used moving while every model still fits", old: used(quota(nil), "64", "40"), obj: used(quota(nil), "64", "41"), want: 0, bar: "QuotaUsedMovedIn500ModelDeployments"},
		{name: "a quota's hard raised while every model fits", old: used(quota(nil), "64", "40"), obj: used(quota(nil), "80", "40"), want: 0},
		{name: "a quota's used leaving one model too little room", old: used(quota(nil), "64", "40"), obj: used(quota(nil), "64", "50"), want: 1},
		{name: "a quota's used moving while one model lacks room", old: used(quota(nil), "64", "50"), obj: used(quota(nil), "64", "51"), want: 1},
		{name: "a quota's used going past its hard", old: used(quota(nil), "64", "50"), obj: used(quota(nil), "64", "65"), want: n},
		{name: "a quota narrowed to pods with requests", old: used(quota(nil), "64", "40"), obj: used(quota(nil, corev1.ResourceQuotaScopeNotBestEffort), "64", "40"), want: n - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var reqs []reconcile.Request
			switch o := tt.obj.(type) {
			case *metav1.PartialObjectMetadata:
				if o.Kind == "ConfigMap" {
					reqs = r.modelDeploymentsOfConfigMap(ctx, o)
				} else {
					reqs = r.modelDeploymentsOfSecret(ctx, o)
				}
			case *networkingv1.Ingress:
				reqs = r.modelDeploymentsOfIngress(ctx, tt.obj)
			case *corev1.Node:
				reqs = r.modelDeploymentsAskingForGPUs(ctx, tt.obj)
			case *gatewayv1.Gateway:
				reqs = r.modelDeploymentsOfGateway(ctx, tt.obj)
			case *gatewayv1.HTTPRoute:
				reqs = r.modelDeploymentsOfRoute(ctx, tt.obj)
			case *corev1.ResourceQuota:
				if tt.old != nil {
					reqs = r.modelDeploymentsJudgedAnew(ctx, tt.old, tt.obj)
				} else {
					reqs = r.modelDeploymentsCoveredBy(ctx, tt.obj)
				}
			default:
				reqs = r.modelDeploymentsSelectedBy(ctx, tt.obj)
			}
			g.Expect(reqs).To(HaveLen(tt.want), "%v", names(reqs))
			if tt.bar != "" {
				bars.Record("unit", tt.bar+"Reconciles", float64(len(reqs)), "reconciles")
			}
		})
	}
}

func TestPossibleOwnersFindEveryServiceOfAModelDeployment(t *testing.T) {
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: "scorer-stable"}}
	for _, svc := range []string{desiredstate.ServiceName(md), desiredstate.StableServiceName(md), desiredstate.CandidateServiceName(md)} {
		if !slices.Contains(possibleOwners(svc), md.Name) {
			t.Errorf("Service %s maps to %v, not to its ModelDeployment %s", svc, possibleOwners(svc), md.Name)
		}
	}
}

func TestPossibleOwners(t *testing.T) {
	for svc, want := range map[string][]string{
		"scorer":           {"scorer"},
		"scorer-stable":    {"scorer-stable", "scorer"},
		"scorer-candidate": {"scorer-candidate", "scorer"},
		"-stable":          {"-stable"},
		"a-stable-stable":  {"a-stable-stable", "a-stable"},
	} {
		if got := possibleOwners(svc); !slices.Equal(got, want) {
			t.Errorf("possibleOwners(%q) = %v, want %v", svc, got, want)
		}
	}
}
