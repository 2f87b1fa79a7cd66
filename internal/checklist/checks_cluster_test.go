package checklist

import (
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// The names of these fixtures start with "cl" so they do not clash with the
// other check files' tests in this package.

// clInputs is a production ModelDeployment fraud-scorer asking for version
// 2.3.0 on 3 pods of 100m cpu and 128Mi memory in namespace risk, with
// nothing around it. Options change it further.
func clInputs(opts ...func(*Inputs)) *Inputs {
	md := &servingv1alpha1.ModelDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer", Namespace: "risk"},
		Spec: servingv1alpha1.ModelDeploymentSpec{
			Model: servingv1alpha1.ModelSpec{
				Name: "fraud-scorer", Version: "2.3.0", URI: "oci://registry.example/models/fraud-scorer:2.3.0",
			},
			Replicas: ptr.To[int32](3),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "risk"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "server", Image: "registry.example/ml/server:1.4",
					Resources: clResources("100m", "128Mi", "", "256Mi"),
				}}},
			},
			Checklist: servingv1alpha1.ChecklistSpec{Profile: servingv1alpha1.ProfileProduction},
		},
	}
	tpl, err := desiredstate.PodTemplate(md, md.Spec.Model.Version)
	if err != nil {
		panic(err)
	}
	in := &Inputs{MD: md, Template: tpl, Replicas: 3}
	for _, o := range opts {
		o(in)
	}
	return in
}

// clResources are requests and limits of cpu and memory; empty means unset.
func clResources(cpu, memory, cpuLimit, memoryLimit string) corev1.ResourceRequirements {
	list := func(cpu, memory string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if memory != "" {
			l[corev1.ResourceMemory] = resource.MustParse(memory)
		}
		if len(l) == 0 {
			return nil
		}
		return l
	}
	return corev1.ResourceRequirements{Requests: list(cpu, memory), Limits: list(cpuLimit, memoryLimit)}
}

func clUnavailable(kind, why string) func(*Inputs) {
	return func(in *Inputs) {
		if in.Unavailable == nil {
			in.Unavailable = map[string]string{}
		}
		in.Unavailable[kind] = why
	}
}

func clProfile(p servingv1alpha1.ChecklistProfile) func(*Inputs) {
	return func(in *Inputs) { in.MD.Spec.Checklist.Profile = p }
}

func clReplicas(n int32) func(*Inputs) { return func(in *Inputs) { in.Replicas = n } }

// clCase is one row of a check's table: the inputs, the result and words the
// message and the remediation must hold.
type clCase struct {
	name string
	in   *Inputs
	want servingv1alpha1.CheckResult
	msg  []string
	fix  []string
}

func clRun(t *testing.T, check func(*Inputs) Finding, cases []clCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			f := check(tc.in)
			t.Logf("%s: %s\nremediation: %s", f.Result, f.Message, f.Remediation)
			g.Expect(f.Result).To(Equal(tc.want), "message: %s", f.Message)
			g.Expect(f.Message).NotTo(BeEmpty())
			for _, m := range tc.msg {
				g.Expect(f.Message).To(ContainSubstring(m))
			}
			for _, m := range tc.fix {
				g.Expect(f.Remediation).To(ContainSubstring(m))
			}
			switch f.Result {
			case servingv1alpha1.CheckFail, servingv1alpha1.CheckUnknown, servingv1alpha1.CheckWarn:
				g.Expect(f.Remediation).NotTo(BeEmpty(), "a %s finding says what to do", f.Result)
			default:
				g.Expect(f.Remediation).To(BeEmpty())
			}
		})
	}
}

func TestClusterRunnersAreInTheCatalogueTable(t *testing.T) {
	g := NewWithT(t)
	ids := map[string]bool{}
	for _, it := range table {
		ids[it.id] = true
	}
	g.Expect(clusterRunners).To(HaveLen(5))
	for id := range clusterRunners {
		g.Expect(ids).To(HaveKey(id))
	}
	for _, id := range []string{"hpa", "pdb", "network-policy", "tls", "capacity"} {
		g.Expect(clusterRunners).To(HaveKey(id))
	}
}

func TestMinReplicas(t *testing.T) {
	g := NewWithT(t)
	g.Expect(MinReplicas(servingv1alpha1.ProfileProduction)).To(Equal(int32(2)))
	g.Expect(MinReplicas(servingv1alpha1.ProfileStaging)).To(Equal(int32(2)))
	g.Expect(MinReplicas(servingv1alpha1.ProfileDevelopment)).To(Equal(int32(1)))
	g.Expect(MinReplicas("")).To(Equal(int32(2)), "an empty profile is production")
}

// clHPA is an HPA named name scaling kind/target of apiVersion.
func clHPA(name, apiVersion, kind, target string, minReplicas *int32) autoscalingv2.HorizontalPodAutoscaler {
	return autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "risk"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: apiVersion, Kind: kind, Name: target},
			MinReplicas:    minReplicas, MaxReplicas: 10,
		},
	}
}

func clHPAs(h ...autoscalingv2.HorizontalPodAutoscaler) func(*Inputs) {
	return func(in *Inputs) { in.HPAs = append(in.HPAs, h...) }
}

// clMDHPA is an HPA named fraud-scorer targeting the ModelDeployment.
func clMDHPA(minReplicas int32) autoscalingv2.HorizontalPodAutoscaler {
	return clHPA("fraud-scorer", "serving.modelgate.dev/v1alpha1", "ModelDeployment", "fraud-scorer", ptr.To(minReplicas))
}

// clDeployment is a running Deployment of a version of clInputs' ModelDeployment.
func clDeployment(version string, replicas *int32, res corev1.ResourceRequirements) appsv1.Deployment {
	md := clInputs().MD
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: desiredstate.DeploymentName(md, version), Namespace: "risk"},
		Spec: appsv1.DeploymentSpec{
			Replicas: replicas,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "server", Resources: res}}}},
		},
	}
}

func clDeployments(d ...appsv1.Deployment) func(*Inputs) {
	return func(in *Inputs) { in.Deployments = append(in.Deployments, d...) }
}

// clLaterRevision checks a later revision of 2.3.0, a changed template
// under the same number, running in a Deployment of its own.
const clLaterRevision = "fraud-scorer-v2-3-0-0a1b2c3d"

func clRevision(in *Inputs) { in.Deployment = clLaterRevision }

func clRenamed(d appsv1.Deployment, name string) appsv1.Deployment {
	d.Name = name
	return d
}

func TestHPA(t *testing.T) {
	clRun(t, checkHPA, []clCase{
		{
			name: "no HPA for a later revision names its Deployment", in: clInputs(clRevision), want: servingv1alpha1.CheckFail,
			msg: []string{"No HorizontalPodAutoscaler in namespace risk targets ModelDeployment fraud-scorer or its Deployment " + clLaterRevision},
		},
		{
			name: "HPA on a later revision's Deployment",
			in:   clInputs(clRevision, clHPAs(clHPA("scaler", "apps/v1", "Deployment", clLaterRevision, ptr.To[int32](2)))),
			want: servingv1alpha1.CheckFail,
			msg:  []string{"targets Deployment " + clLaterRevision + ", whose size modelgate sets from the ModelDeployment"},
		},
		{
			name: "no HPA", in: clInputs(), want: servingv1alpha1.CheckFail,
			msg: []string{"No HorizontalPodAutoscaler in namespace risk targets ModelDeployment fraud-scorer or its Deployment fraud-scorer-v2-3-0"},
			fix: []string{"spec.scaleTargetRef {apiVersion: serving.modelgate.dev/v1alpha1, kind: ModelDeployment, name: fraud-scorer}", "spec.minReplicas: 2"},
		},
		{
			name: "HPA on the ModelDeployment with minReplicas 2", in: clInputs(clHPAs(clMDHPA(2))), want: servingv1alpha1.CheckPass,
			msg: []string{"HorizontalPodAutoscaler fraud-scorer targets ModelDeployment fraud-scorer with minReplicas 2 and maxReplicas 10"},
		},
		{
			name: "apiVersion of another version of the group",
			in:   clInputs(clHPAs(clHPA("scaler", "serving.modelgate.dev/v1beta1", "ModelDeployment", "fraud-scorer", ptr.To[int32](3)))),
			want: servingv1alpha1.CheckPass, msg: []string{"HorizontalPodAutoscaler scaler", "minReplicas 3"},
		},
		{
			name: "apiVersion as the bare group",
			in:   clInputs(clHPAs(clHPA("scaler", "serving.modelgate.dev", "ModelDeployment", "fraud-scorer", ptr.To[int32](2)))),
			want: servingv1alpha1.CheckPass,
		},
		{
			name: "same kind and name in another group",
			in:   clInputs(clHPAs(clHPA("scaler", "serving.other.example/v1", "ModelDeployment", "fraud-scorer", ptr.To[int32](2)))),
			want: servingv1alpha1.CheckFail, msg: []string{"No HorizontalPodAutoscaler"},
		},
		{
			name: "another ModelDeployment",
			in:   clInputs(clHPAs(clHPA("scaler", "serving.modelgate.dev/v1alpha1", "ModelDeployment", "churn", ptr.To[int32](2)))),
			want: servingv1alpha1.CheckFail, msg: []string{"No HorizontalPodAutoscaler"},
		},
		{
			name: "HPA in another namespace",
			in: clInputs(func(in *Inputs) {
				h := clMDHPA(2)
				h.Namespace = "elsewhere"
				in.HPAs = append(in.HPAs, h)
			}),
			want: servingv1alpha1.CheckFail, msg: []string{"No HorizontalPodAutoscaler"},
		},
		{
			name: "HPA on the version's Deployment",
			in:   clInputs(clHPAs(clHPA("scaler", "apps/v1", "Deployment", "fraud-scorer-v2-3-0", ptr.To[int32](2)))),
			want: servingv1alpha1.CheckFail,
			msg:  []string{"targets Deployment fraud-scorer-v2-3-0, whose size modelgate sets from the ModelDeployment"},
		},
		{
			name: "HPA on a running Deployment of another version",
			in: clInputs(clDeployments(clDeployment("2.2.0", ptr.To[int32](3), corev1.ResourceRequirements{})),
				clHPAs(clHPA("scaler", "apps/v1", "Deployment", "fraud-scorer-v2-2-0", ptr.To[int32](2)))),
			want: servingv1alpha1.CheckFail, msg: []string{"Deployment fraud-scorer-v2-2-0"},
		},
		{
			name: "HPA on an unrelated Deployment",
			in:   clInputs(clHPAs(clHPA("scaler", "apps/v1", "Deployment", "fraud-scorer-ui", ptr.To[int32](2)))),
			want: servingv1alpha1.CheckFail, msg: []string{"No HorizontalPodAutoscaler"},
		},
		{
			name: "HPA on a Deployment of another group",
			in:   clInputs(clHPAs(clHPA("scaler", "extensions.example/v1", "Deployment", "fraud-scorer-v2-3-0", ptr.To[int32](2)))),
			want: servingv1alpha1.CheckFail, msg: []string{"No HorizontalPodAutoscaler"},
		},
		{
			name: "minReplicas 1 in production",
			in:   clInputs(clHPAs(clMDHPA(1))), want: servingv1alpha1.CheckFail,
			msg: []string{"HorizontalPodAutoscaler fraud-scorer (targeting ModelDeployment fraud-scorer) has spec.minReplicas 1, below the 2 replicas the production profile asks for"},
			fix: []string{"Set spec.minReplicas of HorizontalPodAutoscaler fraud-scorer to at least 2"},
		},
		{
			name: "minReplicas unset defaults to 1",
			in:   clInputs(clHPAs(clHPA("fraud-scorer", "serving.modelgate.dev/v1alpha1", "ModelDeployment", "fraud-scorer", nil))),
			want: servingv1alpha1.CheckFail, msg: []string{"no spec.minReplicas (defaults to 1)"},
		},
		{
			name: "minReplicas 1 in staging",
			in:   clInputs(clProfile(servingv1alpha1.ProfileStaging), clHPAs(clMDHPA(1))), want: servingv1alpha1.CheckFail,
			msg: []string{"the staging profile"},
		},
		{
			name: "minReplicas 1 in development",
			in:   clInputs(clProfile(servingv1alpha1.ProfileDevelopment), clHPAs(clMDHPA(1))), want: servingv1alpha1.CheckPass,
		},
		{
			name: "empty profile is production",
			in:   clInputs(clProfile(""), clHPAs(clMDHPA(1))), want: servingv1alpha1.CheckFail,
			msg: []string{"the production profile"},
		},
		{
			name: "two HPAs scale the same pods",
			in:   clInputs(clHPAs(clMDHPA(2), clHPA("legacy", "apps/v1", "Deployment", "fraud-scorer-v2-3-0", ptr.To[int32](2)))),
			want: servingv1alpha1.CheckFail, msg: []string{"HorizontalPodAutoscalers fraud-scorer, legacy all scale fraud-scorer"},
			fix: []string{"Keep one HorizontalPodAutoscaler"},
		},
		{
			name: "HPAs could not be read",
			in:   clInputs(clHPAs(clMDHPA(2)), clUnavailable("HorizontalPodAutoscaler", "forbidden by RBAC")),
			want: servingv1alpha1.CheckUnknown,
			msg:  []string{"Could not read HorizontalPodAutoscalers in namespace risk: forbidden by RBAC"},
			fix:  []string{"horizontalpodautoscalers.autoscaling"},
		},
	})
}

// clPDB is a budget named name with the given selector; set one of minAvailable and maxUnavailable.
func clPDB(name string, sel *metav1.LabelSelector, minAvailable, maxUnavailable *intstr.IntOrString) policyv1.PodDisruptionBudget {
	return policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "risk"},
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: sel, MinAvailable: minAvailable, MaxUnavailable: maxUnavailable},
	}
}

func clPDBs(p ...policyv1.PodDisruptionBudget) func(*Inputs) {
	return func(in *Inputs) { in.PDBs = append(in.PDBs, p...) }
}

// clSelectsModel selects every version's pods of fraud-scorer.
func clSelectsModel() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "fraud-scorer"}}
}

func clInt(n int) *intstr.IntOrString        { return ptr.To(intstr.FromInt(n)) }
func clPercent(p string) *intstr.IntOrString { return ptr.To(intstr.FromString(p)) }

func TestPDB(t *testing.T) {
	clRun(t, checkPDB, []clCase{
		{
			name: "no PDB", in: clInputs(), want: servingv1alpha1.CheckFail,
			msg: []string{"No PodDisruptionBudget in namespace risk selects the pods of fraud-scorer", "app.kubernetes.io/name=fraud-scorer"},
			fix: []string{"spec.selector.matchLabels {app.kubernetes.io/name: fraud-scorer, app.kubernetes.io/managed-by: modelgate}", "spec.maxUnavailable: 1"},
		},
		{
			name: "maxUnavailable 1 of 3",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), nil, clInt(1)))), want: servingv1alpha1.CheckPass,
			msg: []string{"PodDisruptionBudget fraud-scorer selects the pods and allows 1 of the 3 expected (the replicas of ModelDeployment fraud-scorer) to be evicted at a time: spec.maxUnavailable 1"},
		},
		{
			name: "nil selector selects nothing",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", nil, nil, clInt(1)))), want: servingv1alpha1.CheckFail,
			msg: []string{"No PodDisruptionBudget"},
		},
		{
			name: "empty selector selects every pod of the namespace",
			in:   clInputs(clPDBs(clPDB("everything", &metav1.LabelSelector{}, nil, clInt(1)))), want: servingv1alpha1.CheckPass,
			msg: []string{"PodDisruptionBudget everything"},
		},
		{
			name: "selector of another app",
			in: clInputs(clPDBs(clPDB("churn", &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "churn"}}, nil, clInt(1)),
				clPDB("team", &metav1.LabelSelector{MatchLabels: map[string]string{"team": "risk", "tier": "web"}}, nil, clInt(1)))),
			want: servingv1alpha1.CheckFail, msg: []string{"No PodDisruptionBudget"},
		},
		{
			name: "matchExpressions In selects",
			in: clInputs(clPDBs(clPDB("models", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "app.kubernetes.io/name", Operator: metav1.LabelSelectorOpIn, Values: []string{"churn", "fraud-scorer"}},
			}}, nil, clInt(1)))),
			want: servingv1alpha1.CheckPass, msg: []string{"PodDisruptionBudget models"},
		},
		{
			name: "matchExpressions NotIn the version does not select",
			in: clInputs(clPDBs(clPDB("old", &metav1.LabelSelector{
				MatchLabels: map[string]string{"app.kubernetes.io/name": "fraud-scorer"},
				MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "serving.modelgate.dev/version", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"2.3.0"}},
				},
			}, nil, clInt(1)))),
			want: servingv1alpha1.CheckFail, msg: []string{"No PodDisruptionBudget"},
		},
		{
			name: "PDB in another namespace",
			in: clInputs(func(in *Inputs) {
				p := clPDB("fraud-scorer", &metav1.LabelSelector{}, nil, clInt(1))
				p.Namespace = "elsewhere"
				in.PDBs = append(in.PDBs, p)
			}),
			want: servingv1alpha1.CheckFail, msg: []string{"No PodDisruptionBudget"},
		},
		{
			name: "maxUnavailable 0 blocks every eviction",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), nil, clInt(0)))), want: servingv1alpha1.CheckFail,
			msg: []string{"PodDisruptionBudget fraud-scorer allows no eviction of the 3 pods expected (the replicas of ModelDeployment fraud-scorer): spec.maxUnavailable 0"},
			fix: []string{"Set spec.maxUnavailable: 1 on PodDisruptionBudget fraud-scorer."},
		},
		{
			name: "maxUnavailable 10% of 3 rounds up to 1",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), nil, clPercent("10%")))), want: servingv1alpha1.CheckPass,
			msg: []string{"allows 1 of the 3", "spec.maxUnavailable 10% (1 of 3 pods)"},
		},
		{
			name: "maxUnavailable 0%",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), nil, clPercent("0%")))), want: servingv1alpha1.CheckFail,
			msg: []string{"spec.maxUnavailable 0% (0 of 3 pods)"},
		},
		{
			name: "maxUnavailable above the size allows all",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), nil, clInt(5)))), want: servingv1alpha1.CheckPass,
			msg: []string{"allows 3 of the 3"},
		},
		{
			name: "minAvailable equal to the replicas",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), clInt(3), nil))), want: servingv1alpha1.CheckFail,
			msg: []string{"allows no eviction of the 3 pods expected", "spec.minAvailable 3"},
			fix: []string{"instead of spec.minAvailable, or lower spec.minAvailable below 3"},
		},
		{
			name: "minAvailable 2 of 3",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), clInt(2), nil))), want: servingv1alpha1.CheckPass,
			msg: []string{"allows 1 of the 3", "spec.minAvailable 2"},
		},
		{
			name: "minAvailable 100%",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), clPercent("100%"), nil))), want: servingv1alpha1.CheckFail,
			msg: []string{"spec.minAvailable 100% (3 of 3 pods)"},
		},
		{
			name: "minAvailable 50% of 3 rounds up to 2",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), clPercent("50%"), nil))), want: servingv1alpha1.CheckPass,
			msg: []string{"spec.minAvailable 50% (2 of 3 pods)"},
		},
		{
			name: "minAvailable 67% of 3 rounds up to 3",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), clPercent("67%"), nil))), want: servingv1alpha1.CheckFail,
			msg: []string{"spec.minAvailable 67% (3 of 3 pods)"},
		},
		{
			name: "the HPA's minReplicas is the expected size",
			in:   clInputs(clHPAs(clMDHPA(2)), clPDBs(clPDB("fraud-scorer", clSelectsModel(), clInt(2), nil))), want: servingv1alpha1.CheckFail,
			msg: []string{"allows no eviction of the 2 pods expected (spec.minReplicas of HorizontalPodAutoscaler fraud-scorer)"},
		},
		{
			name: "the lowest minReplicas of several HPAs",
			in: clInputs(clHPAs(clMDHPA(4), clHPA("other", "apps/v1", "Deployment", "fraud-scorer-v2-3-0", ptr.To[int32](2))),
				clPDBs(clPDB("fraud-scorer", clSelectsModel(), nil, clInt(1)))),
			want: servingv1alpha1.CheckPass, msg: []string{"allows 1 of the 2 expected (spec.minReplicas of HorizontalPodAutoscaler other)"},
		},
		{
			name: "HPAs unreadable: the spec's replicas",
			in: clInputs(clHPAs(clMDHPA(2)), clUnavailable("HorizontalPodAutoscaler", "forbidden"),
				clPDBs(clPDB("fraud-scorer", clSelectsModel(), clInt(2), nil))),
			want: servingv1alpha1.CheckPass, msg: []string{"allows 1 of the 3 expected"},
		},
		{
			name: "neither minAvailable nor maxUnavailable",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), nil, nil))), want: servingv1alpha1.CheckFail,
			msg: []string{"sets neither spec.minAvailable nor spec.maxUnavailable"},
		},
		{
			name: "a malformed percentage",
			in:   clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), nil, clPercent("half")))), want: servingv1alpha1.CheckFail,
			msg: []string{"PodDisruptionBudget fraud-scorer has spec.maxUnavailable half, which cannot be read"},
		},
		{
			name: "two PDBs select the pods",
			in: clInputs(clPDBs(clPDB("fraud-scorer", clSelectsModel(), nil, clInt(1)),
				clPDB("namespace-wide", &metav1.LabelSelector{}, clInt(1), nil))),
			want: servingv1alpha1.CheckFail,
			msg:  []string{"PodDisruptionBudgets fraud-scorer, namespace-wide all select the pods of fraud-scorer", "more than one budget"},
		},
		{
			name: "no pods to protect",
			in:   clInputs(clReplicas(0)), want: servingv1alpha1.CheckSkipped,
			msg: []string{"the replicas of ModelDeployment fraud-scorer is 0"},
		},
		{
			name: "PDBs could not be read",
			in:   clInputs(clUnavailable("PodDisruptionBudget", "the cache is not synced")), want: servingv1alpha1.CheckUnknown,
			msg: []string{"Could not read PodDisruptionBudgets in namespace risk: the cache is not synced"},
		},
	})
}

// clNetpol is a NetworkPolicy selecting pods by sel, with policy types and ingress rules.
func clNetpol(name string, sel metav1.LabelSelector, types []networkingv1.PolicyType, rules ...networkingv1.NetworkPolicyIngressRule) networkingv1.NetworkPolicy {
	return networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "risk"},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: sel, PolicyTypes: types, Ingress: rules},
	}
}

func clNetpols(np ...networkingv1.NetworkPolicy) func(*Inputs) {
	return func(in *Inputs) { in.NetworkPolicies = append(in.NetworkPolicies, np...) }
}

// clFromGateway admits the ingress gateway's pods on port 8080.
var clFromGateway = networkingv1.NetworkPolicyIngressRule{
	From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "gateway"}}}},
	Ports: []networkingv1.NetworkPolicyPort{{Port: clInt(8080)}},
}

func TestNetworkPolicy(t *testing.T) {
	ingress := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	egress := []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	model := *clSelectsModel()
	clRun(t, checkNetworkPolicy, []clCase{
		{
			name: "no NetworkPolicy", in: clInputs(), want: servingv1alpha1.CheckFail,
			msg: []string{"No NetworkPolicy in namespace risk restricts ingress to the pods of fraud-scorer"},
			fix: []string{"spec.podSelector.matchLabels {app.kubernetes.io/name: fraud-scorer}", "spec.policyTypes [Ingress]"},
		},
		{
			name: "an ingress policy selecting the pods",
			in:   clInputs(clNetpols(clNetpol("fraud-scorer", model, ingress, clFromGateway))), want: servingv1alpha1.CheckPass,
			msg: []string{"NetworkPolicy fraud-scorer restricts ingress to the pods of fraud-scorer (ingress rules: 1)"},
		},
		{
			name: "no policyTypes with ingress rules implies Ingress",
			in:   clInputs(clNetpols(clNetpol("fraud-scorer", model, nil, clFromGateway))), want: servingv1alpha1.CheckPass,
		},
		{
			name: "namespace default-deny: empty podSelector, no policyTypes, no rules",
			in:   clInputs(clNetpols(clNetpol("default-deny", metav1.LabelSelector{}, nil))), want: servingv1alpha1.CheckPass,
			msg: []string{"NetworkPolicy default-deny selects the pods of fraud-scorer with no ingress rules, so all ingress to them is denied"},
		},
		{
			name: "Ingress and Egress",
			in: clInputs(clNetpols(clNetpol("fraud-scorer", model,
				[]networkingv1.PolicyType{networkingv1.PolicyTypeEgress, networkingv1.PolicyTypeIngress}, clFromGateway))),
			want: servingv1alpha1.CheckPass,
		},
		{
			name: "several policies are named",
			in: clInputs(clNetpols(clNetpol("default-deny", metav1.LabelSelector{}, ingress),
				clNetpol("fraud-scorer", model, ingress, clFromGateway))),
			want: servingv1alpha1.CheckPass, msg: []string{"NetworkPolicies default-deny, fraud-scorer restrict ingress"},
		},
		{
			name: "egress only",
			in:   clInputs(clNetpols(clNetpol("egress", model, egress))), want: servingv1alpha1.CheckFail,
			msg: []string{"No NetworkPolicy", "; NetworkPolicy egress selects them for egress only"},
		},
		{
			name: "a policy of another app",
			in: clInputs(clNetpols(clNetpol("churn", metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "churn"}}, ingress, clFromGateway),
				clNetpol("web", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpExists}}}, ingress))),
			want: servingv1alpha1.CheckFail, msg: []string{"No NetworkPolicy"},
		},
		{
			name: "a policy in another namespace",
			in: clInputs(func(in *Inputs) {
				np := clNetpol("fraud-scorer", model, ingress, clFromGateway)
				np.Namespace = "elsewhere"
				in.NetworkPolicies = append(in.NetworkPolicies, np)
			}),
			want: servingv1alpha1.CheckFail,
		},
		{
			name: "a rule with neither from nor ports opens the pods",
			in: clInputs(clNetpols(clNetpol("fraud-scorer", model, ingress, clFromGateway),
				clNetpol("allow-all", metav1.LabelSelector{}, ingress, clFromGateway, networkingv1.NetworkPolicyIngressRule{}))),
			want: servingv1alpha1.CheckFail,
			msg:  []string{"NetworkPolicy allow-all (spec.ingress[1]) selects the pods of fraud-scorer with an ingress rule that has neither from nor ports"},
			fix:  []string{"from list"},
		},
		{
			name: "a rule with ports only admits any source on those ports",
			in: clInputs(clNetpols(clNetpol("fraud-scorer", model, ingress,
				networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{{Port: clInt(8080)}}}))),
			want: servingv1alpha1.CheckPass,
		},
		{
			name: "NetworkPolicies could not be read",
			in:   clInputs(clUnavailable("NetworkPolicy", "forbidden")), want: servingv1alpha1.CheckUnknown,
			msg: []string{"Could not read NetworkPolicies in namespace risk: forbidden"},
		},
	})
}

// clIngress sends host (empty: any host) to service, with the given TLS entries.
func clIngress(name, host, service string, tls ...networkingv1.IngressTLS) networkingv1.Ingress {
	return networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "risk"},
		Spec: networkingv1.IngressSpec{
			TLS: tls,
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix),
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Number: 8080}}},
				}},
			}}}},
		},
	}
}

func clIngresses(ing ...networkingv1.Ingress) func(*Inputs) {
	return func(in *Inputs) { in.Ingresses = append(in.Ingresses, ing...) }
}

// clSecrets adds a Secret with the given keys.
func clSecret(name string, keys ...string) func(*Inputs) {
	return func(in *Inputs) {
		if in.Secrets == nil {
			in.Secrets = map[string]SecretKeys{}
		}
		k := SecretKeys{}
		for _, key := range keys {
			k[key] = struct{}{}
		}
		in.Secrets[name] = k
	}
}

func clTLSSecret(name string) func(*Inputs) { return clSecret(name, "tls.crt", "tls.key") }

// clRoute sends traffic to service through the given parents.
func clRoute(name, service string, parents ...gatewayv1.ParentReference) gatewayv1.HTTPRoute {
	return gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "risk"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: parents},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(service), Port: ptr.To[gatewayv1.PortNumber](8080)},
			}}}}},
		},
	}
}

func clRoutes(r ...gatewayv1.HTTPRoute) func(*Inputs) {
	return func(in *Inputs) { in.HTTPRoutes = append(in.HTTPRoutes, r...) }
}

func clParent(gateway string) gatewayv1.ParentReference {
	return gatewayv1.ParentReference{Name: gatewayv1.ObjectName(gateway)}
}

func clGateway(name string, listeners ...gatewayv1.Listener) func(*Inputs) {
	return func(in *Inputs) {
		in.Gateways = append(in.Gateways, gatewayv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "risk"},
			Spec:       gatewayv1.GatewaySpec{GatewayClassName: "envoy", Listeners: listeners},
		})
	}
}

// clHTTPS is a listener terminating TLS with the named certificates.
func clHTTPS(name string, certs ...gatewayv1.SecretObjectReference) gatewayv1.Listener {
	return gatewayv1.Listener{
		Name: gatewayv1.SectionName(name), Port: 443, Protocol: gatewayv1.HTTPSProtocolType,
		TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: certs},
	}
}

func clHTTP(name string) gatewayv1.Listener {
	return gatewayv1.Listener{Name: gatewayv1.SectionName(name), Port: 80, Protocol: gatewayv1.HTTPProtocolType}
}

func clCert(name string) gatewayv1.SecretObjectReference {
	return gatewayv1.SecretObjectReference{Name: gatewayv1.ObjectName(name)}
}

func clCertIn(ns, name string) gatewayv1.SecretObjectReference {
	c := clCert(name)
	c.Namespace = ptr.To(gatewayv1.Namespace(ns))
	return c
}

// clShared is a parentRef to a Gateway of namespace infra.
func clShared(gateway string) gatewayv1.ParentReference {
	return gatewayv1.ParentReference{Name: gatewayv1.ObjectName(gateway), Namespace: ptr.To[gatewayv1.Namespace]("infra")}
}

func clSharedSection(gateway, section string) gatewayv1.ParentReference {
	p := clShared(gateway)
	p.SectionName = ptr.To(gatewayv1.SectionName(section))
	return p
}

// clSharedGateway is a Gateway of namespace infra, read by the gatherer.
func clSharedGateway(name string, status []gatewayv1.ListenerStatus, listeners ...gatewayv1.Listener) func(*Inputs) {
	return func(in *Inputs) {
		if in.SharedGateways == nil {
			in.SharedGateways = map[string]*gatewayv1.Gateway{}
		}
		in.SharedGateways["infra/"+name] = &gatewayv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "infra"},
			Spec:       gatewayv1.GatewaySpec{GatewayClassName: "envoy", Listeners: listeners},
			Status:     gatewayv1.GatewayStatus{Listeners: status},
		}
	}
}

// clNoSharedGateway says the gatherer looked for Gateway infra/name and found none.
func clNoSharedGateway(name string) func(*Inputs) {
	return func(in *Inputs) { in.SharedGateways = map[string]*gatewayv1.Gateway{"infra/" + name: nil} }
}

func clListenerStatus(listener, typ string, status metav1.ConditionStatus, reason string) []gatewayv1.ListenerStatus {
	return []gatewayv1.ListenerStatus{{Name: gatewayv1.SectionName(listener), Conditions: []metav1.Condition{{Type: typ, Status: status, Reason: reason}}}}
}

// clGrant is a ReferenceGrant in ns letting Gateways of namespace from use
// Secret secret ("" for every Secret).
func clGrant(ns, name, from, secret string) func(*Inputs) {
	to := gatewayv1.ReferenceGrantTo{Kind: "Secret"}
	if secret != "" {
		to.Name = ptr.To(gatewayv1.ObjectName(secret))
	}
	return func(in *Inputs) {
		in.ReferenceGrants = append(in.ReferenceGrants, gatewayv1.ReferenceGrant{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: gatewayv1.ReferenceGrantSpec{
				From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "Gateway", Namespace: gatewayv1.Namespace(from)}},
				To:   []gatewayv1.ReferenceGrantTo{to},
			},
		})
	}
}

func TestTLS(t *testing.T) {
	hostTLS := networkingv1.IngressTLS{Hosts: []string{"fraud.example.com"}, SecretName: "fraud-tls"}
	sectionRef := func(gw, section string) gatewayv1.ParentReference {
		p := clParent(gw)
		p.SectionName = ptr.To(gatewayv1.SectionName(section))
		return p
	}
	clRun(t, checkTLS, []clCase{
		{
			name: "nothing exposes the model", in: clInputs(), want: servingv1alpha1.CheckSkipped,
			msg: []string{"Not exposed outside the cluster: no Ingress or HTTPRoute in namespace risk sends traffic to Service fraud-scorer, fraud-scorer-stable or fraud-scorer-candidate"},
		},
		{
			name: "an Ingress of another Service",
			in:   clInputs(clIngresses(clIngress("web", "web.example.com", "web"))), want: servingv1alpha1.CheckSkipped,
		},
		{
			name: "Ingress with TLS for its host",
			in:   clInputs(clIngresses(clIngress("fraud", "fraud.example.com", "fraud-scorer", hostTLS)), clTLSSecret("fraud-tls")),
			want: servingv1alpha1.CheckPass, msg: []string{"TLS is terminated by Ingress fraud (Secret fraud-tls)"},
		},
		{
			name: "Ingress to the candidate Service, TLS by wildcard",
			in: clInputs(clIngresses(clIngress("preview", "preview.example.com", "fraud-scorer-candidate",
				networkingv1.IngressTLS{Hosts: []string{"*.example.com"}, SecretName: "wildcard"})), clTLSSecret("wildcard")),
			want: servingv1alpha1.CheckPass, msg: []string{"Ingress preview (Secret wildcard)"},
		},
		{
			name: "a wildcard covers one label only",
			in: clInputs(clIngresses(clIngress("preview", "a.preview.example.com", "fraud-scorer",
				networkingv1.IngressTLS{Hosts: []string{"*.example.com"}, SecretName: "wildcard"})), clTLSSecret("wildcard")),
			want: servingv1alpha1.CheckFail, msg: []string{"Ingress preview sends host a.preview.example.com to Service fraud-scorer without TLS"},
		},
		{
			name: "Ingress with a TLS entry without hosts",
			in: clInputs(clIngresses(clIngress("fraud", "fraud.example.com", "fraud-scorer-stable",
				networkingv1.IngressTLS{SecretName: "fraud-tls"})), clTLSSecret("fraud-tls")),
			want: servingv1alpha1.CheckPass,
		},
		{
			name: "Ingress without TLS",
			in:   clInputs(clIngresses(clIngress("fraud", "fraud.example.com", "fraud-scorer"))), want: servingv1alpha1.CheckFail,
			msg: []string{"Ingress fraud sends host fraud.example.com to Service fraud-scorer without TLS: no spec.tls entry lists the host"},
			fix: []string{"Add to Ingress fraud a spec.tls entry {hosts: [fraud.example.com], secretName: <a kubernetes.io/tls Secret>}"},
		},
		{
			name: "Ingress with TLS for another host only",
			in: clInputs(clIngresses(clIngress("fraud", "fraud.example.com", "fraud-scorer",
				networkingv1.IngressTLS{Hosts: []string{"other.example.com"}, SecretName: "other"})), clTLSSecret("other")),
			want: servingv1alpha1.CheckFail, msg: []string{"no spec.tls entry lists the host"},
		},
		{
			name: "a rule without host needs a TLS entry without hosts",
			in:   clInputs(clIngresses(clIngress("fraud", "", "fraud-scorer", hostTLS)), clTLSSecret("fraud-tls")), want: servingv1alpha1.CheckFail,
			msg: []string{"Ingress fraud sends any host to Service fraud-scorer without TLS: no spec.tls entry without hosts"},
		},
		{
			name: "defaultBackend to the model",
			in: clInputs(func(in *Inputs) {
				ing := clIngress("fraud", "web.example.com", "web")
				ing.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "fraud-scorer"}}
				in.Ingresses = append(in.Ingresses, ing)
			}),
			want: servingv1alpha1.CheckFail, msg: []string{"Ingress fraud sends any host to Service fraud-scorer without TLS"},
		},
		{
			name: "the TLS Secret does not exist",
			in:   clInputs(clIngresses(clIngress("fraud", "fraud.example.com", "fraud-scorer", hostTLS))), want: servingv1alpha1.CheckFail,
			msg: []string{"Ingress fraud spec.tls[0] names Secret fraud-tls, which does not exist in namespace risk"},
			fix: []string{"kubectl create secret tls fraud-tls"},
		},
		{
			name: "the TLS Secret lacks the key",
			in:   clInputs(clIngresses(clIngress("fraud", "fraud.example.com", "fraud-scorer", hostTLS)), clSecret("fraud-tls", "tls.crt")),
			want: servingv1alpha1.CheckFail, msg: []string{"names Secret fraud-tls, which lacks tls.key"},
		},
		{
			name: "a TLS entry without secretName",
			in: clInputs(clIngresses(clIngress("fraud", "fraud.example.com", "fraud-scorer",
				networkingv1.IngressTLS{Hosts: []string{"fraud.example.com"}}))),
			want: servingv1alpha1.CheckFail, msg: []string{"Ingress fraud spec.tls[0] has no secretName"},
		},
		{
			name: "Secrets could not be read",
			in: clInputs(clIngresses(clIngress("fraud", "fraud.example.com", "fraud-scorer", hostTLS)),
				clUnavailable("Secret", "forbidden")),
			want: servingv1alpha1.CheckUnknown,
			msg:  []string{"Ingress fraud spec.tls[0] names Secret fraud-tls, but Secrets in namespace risk could not be read: forbidden"},
		},
		{
			name: "Ingresses could not be read",
			in:   clInputs(clUnavailable("Ingress", "forbidden")), want: servingv1alpha1.CheckUnknown,
			msg: []string{"Ingresses in namespace risk could not be read: forbidden"},
		},
		{
			name: "HTTPRoutes could not be read though an Ingress terminates TLS",
			in: clInputs(clIngresses(clIngress("fraud", "fraud.example.com", "fraud-scorer", hostTLS)), clTLSSecret("fraud-tls"),
				clUnavailable("HTTPRoute", "the Gateway API is not installed")),
			want: servingv1alpha1.CheckUnknown,
			msg:  []string{"HTTPRoutes in namespace risk could not be read: the Gateway API is not installed", "TLS is terminated by Ingress fraud"},
		},
		{
			name: "HTTPRoute through an HTTPS Gateway",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))),
				clGateway("public", clHTTPS("https", clCert("public-tls"))), clTLSSecret("public-tls")),
			want: servingv1alpha1.CheckPass, msg: []string{"TLS is terminated by Gateway public listener https (Secret public-tls)"},
		},
		{
			name: "HTTPRoute with explicit Service kind and core group",
			in: clInputs(func(in *Inputs) {
				r := clRoute("fraud", "fraud-scorer-stable", clParent("public"))
				r.Spec.Rules[0].BackendRefs[0].Group = ptr.To[gatewayv1.Group]("core")
				r.Spec.Rules[0].BackendRefs[0].Kind = ptr.To[gatewayv1.Kind]("Service")
				in.HTTPRoutes = append(in.HTTPRoutes, r)
			}, clGateway("public", clHTTP("http"))),
			want: servingv1alpha1.CheckFail, msg: []string{"HTTPRoute fraud sends traffic to Service fraud-scorer-stable through Gateway public"},
		},
		{
			name: "HTTPRoute to another kind of backend",
			in: clInputs(func(in *Inputs) {
				r := clRoute("fraud", "fraud-scorer", clParent("public"))
				r.Spec.Rules[0].BackendRefs[0].Group = ptr.To[gatewayv1.Group]("inference.networking.k8s.io")
				r.Spec.Rules[0].BackendRefs[0].Kind = ptr.To[gatewayv1.Kind]("InferencePool")
				in.HTTPRoutes = append(in.HTTPRoutes, r)
			}, clGateway("public", clHTTP("http"))),
			want: servingv1alpha1.CheckSkipped,
		},
		{
			name: "HTTPRoute attached to a Service (mesh) does not expose the model",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", gatewayv1.ParentReference{
				Group: ptr.To[gatewayv1.Group](""), Kind: ptr.To[gatewayv1.Kind]("Service"), Name: "fraud-scorer",
			}))),
			want: servingv1alpha1.CheckSkipped,
		},
		{
			name: "the Gateway does not exist",
			in:   clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clParent("public")))), want: servingv1alpha1.CheckFail,
			msg: []string{"HTTPRoute fraud names Gateway public in spec.parentRefs[0], which does not exist in namespace risk"},
		},
		{
			name: "the Gateway listens on plain HTTP only",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))),
				clGateway("public", clHTTP("http"))),
			want: servingv1alpha1.CheckFail,
			msg:  []string{"HTTPRoute fraud sends traffic to Service fraud-scorer through Gateway public, which has no listener terminating TLS with a valid certificate: listener http (HTTP, port 80) is plain text"},
			fix:  []string{"Give Gateway public an HTTPS listener"},
		},
		{
			name: "attached to HTTPS and plain HTTP",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))),
				clGateway("public", clHTTP("http"), clHTTPS("https", clCert("public-tls"))), clTLSSecret("public-tls")),
			want: servingv1alpha1.CheckWarn,
			msg:  []string{"TLS is terminated by Gateway public listener https (Secret public-tls), but HTTPRoute fraud is also attached to the plain-text listener http (HTTP, port 80)"},
			fix:  []string{"Set spec.parentRefs[0].sectionName of HTTPRoute fraud to the HTTPS listener"},
		},
		{
			name: "sectionName picks the HTTPS listener",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", sectionRef("public", "https"))),
				clGateway("public", clHTTP("http"), clHTTPS("https", clCert("public-tls"))), clTLSSecret("public-tls")),
			want: servingv1alpha1.CheckPass,
		},
		{
			name: "port picks the HTTPS listener",
			in: clInputs(func(in *Inputs) {
				p := clParent("public")
				p.Port = ptr.To[gatewayv1.PortNumber](443)
				in.HTTPRoutes = append(in.HTTPRoutes, clRoute("fraud", "fraud-scorer", p))
			}, clGateway("public", clHTTP("http"), clHTTPS("https", clCert("public-tls"))), clTLSSecret("public-tls")),
			want: servingv1alpha1.CheckPass,
		},
		{
			name: "sectionName names no listener",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", sectionRef("public", "web"))),
				clGateway("public", clHTTPS("https", clCert("public-tls"))), clTLSSecret("public-tls")),
			want: servingv1alpha1.CheckFail, msg: []string{"HTTPRoute fraud spec.parentRefs[0] matches no listener of Gateway public (sectionName web, port any)"},
		},
		{
			name: "TLS passthrough",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))), func(in *Inputs) {
				l := clHTTPS("tls")
				l.Protocol = gatewayv1.TLSProtocolType
				l.TLS.Mode = ptr.To(gatewayv1.TLSModePassthrough)
				clGateway("public", l)(in)
			}),
			want: servingv1alpha1.CheckFail, msg: []string{"listener tls passes TLS through to the pods (tls.mode Passthrough)"},
		},
		{
			name: "HTTPS listener without certificates",
			in:   clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))), clGateway("public", clHTTPS("https"))),
			want: servingv1alpha1.CheckFail, msg: []string{"listener https has no tls.certificateRefs"},
		},
		{
			name: "the certificate Secret does not exist",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))),
				clGateway("public", clHTTPS("https", clCert("public-tls")))),
			want: servingv1alpha1.CheckFail, msg: []string{"listener https tls.certificateRefs[0] names Secret public-tls, which does not exist in namespace risk"},
		},
		{
			name: "the certificate Secret lacks tls.crt",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))),
				clGateway("public", clHTTPS("https", clCert("public-tls"))), clSecret("public-tls", "tls.key")),
			want: servingv1alpha1.CheckFail, msg: []string{"lacks tls.crt"},
		},
		{
			name: "the certificate is in another namespace, no ReferenceGrant lets the Gateway use it",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))),
				clGateway("public", clHTTPS("https", clCertIn("certs", "wildcard")))),
			want: servingv1alpha1.CheckFail,
			msg:  []string{"listener https tls.certificateRefs[0] names Secret certs/wildcard, and no ReferenceGrant in namespace certs lets Gateways of namespace risk use it"},
			fix:  []string{"Create in namespace certs a ReferenceGrant with spec.from [{group: gateway.networking.k8s.io, kind: Gateway, namespace: risk}] and spec.to [{group: \"\", kind: Secret, name: wildcard}]."},
		},
		{
			name: "the certificate is in another namespace, a ReferenceGrant there lets the Gateway use it",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))),
				clGateway("public", clHTTPS("https", clCertIn("certs", "wildcard"))),
				clGrant("certs", "teams-use-wildcard", "risk", "wildcard"), clGrant("certs", "another-secret", "risk", "web-tls"), clGrant("certs", "another-team", "web", "wildcard")),
			want: servingv1alpha1.CheckPass,
			msg:  []string{"TLS is terminated by Gateway public listener https (Secret certs/wildcard, not read, ReferenceGrant certs/teams-use-wildcard)"},
		},
		{
			name: "ReferenceGrants could not be read",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))),
				clGateway("public", clHTTPS("https", clCertIn("certs", "wildcard"))), clUnavailable("ReferenceGrant", "forbidden")),
			want: servingv1alpha1.CheckUnknown, msg: []string{"but ReferenceGrants in namespace certs could not be read: forbidden"},
		},
		{
			name: "a shared Gateway the offline check did not read",
			in:   clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clShared("shared")))),
			want: servingv1alpha1.CheckUnknown,
			msg:  []string{"HTTPRoute fraud sends traffic to Service fraud-scorer through Gateway infra/shared in another namespace, which was not read"},
		},
		{
			name: "a shared Gateway that does not exist",
			in:   clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clShared("shared"))), clNoSharedGateway("shared")),
			want: servingv1alpha1.CheckFail,
			msg:  []string{"HTTPRoute fraud names Gateway shared in spec.parentRefs[0], which does not exist in namespace infra"},
		},
		{
			name: "a shared Gateway terminating TLS with a certificate of its own namespace",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clShared("shared"))),
				clSharedGateway("shared", nil, clHTTP("http"), clHTTPS("https", clCert("wildcard")))),
			want: servingv1alpha1.CheckWarn,
			msg: []string{"TLS is terminated by Gateway infra/shared listener https (Secret infra/wildcard, not read)",
				"HTTPRoute fraud is also attached to the plain-text listener http"},
		},
		{
			name: "a shared Gateway whose implementation resolved the certificate",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clSharedSection("shared", "https"))),
				clSharedGateway("shared", clListenerStatus("https", "ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs"), clHTTPS("https", clCert("wildcard")))),
			want: servingv1alpha1.CheckPass,
			msg:  []string{"TLS is terminated by Gateway infra/shared listener https (Secret infra/wildcard, not read, ResolvedRefs=True)"},
		},
		{
			name: "a shared Gateway whose implementation could not resolve the certificate",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clShared("shared"))),
				clSharedGateway("shared", clListenerStatus("https", "ResolvedRefs", metav1.ConditionFalse, "InvalidCertificateRef"), clHTTPS("https", clCert("wildcard")))),
			want: servingv1alpha1.CheckFail,
			msg:  []string{"through Gateway infra/shared, which has no listener terminating TLS with a valid certificate: listener https reports ResolvedRefs=False (reason InvalidCertificateRef)"},
			fix:  []string{"Ask the owner of Gateway infra/shared for an HTTPS listener"},
		},
		{
			name: "a shared Gateway using a certificate of a third namespace, allowed there",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clShared("shared"))),
				clSharedGateway("shared", nil, clHTTPS("https", clCertIn("certs", "wildcard"))), clGrant("certs", "infra-gateways", "infra", "")),
			want: servingv1alpha1.CheckPass,
			msg:  []string{"Gateway infra/shared listener https (Secret certs/wildcard, not read, ReferenceGrant certs/infra-gateways)"},
		},
		{
			name: "a shared Gateway using a certificate of a third namespace, with no ReferenceGrant",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clShared("shared"))),
				clSharedGateway("shared", nil, clHTTPS("https", clCertIn("certs", "wildcard"))), clGrant("certs", "for-risk", "risk", "")),
			want: servingv1alpha1.CheckFail,
			msg:  []string{"no ReferenceGrant in namespace certs lets Gateways of namespace infra use it"},
		},
		{
			name: "a shared Gateway that has not accepted the route",
			in: clInputs(clRoutes(func() gatewayv1.HTTPRoute {
				r := clRoute("fraud", "fraud-scorer", clShared("shared"))
				r.Status.Parents = []gatewayv1.RouteParentStatus{{ParentRef: clShared("shared"), ControllerName: "example.com/gateway",
					Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionFalse, Reason: "NotAllowedByListeners"}}}}
				return r
			}()), clSharedGateway("shared", nil, clHTTPS("https", clCert("wildcard")))),
			want: servingv1alpha1.CheckFail,
			msg:  []string{"through Gateway infra/shared, which has not accepted the route: Accepted=False (reason NotAllowedByListeners)"},
			fix:  []string{"its listeners' allowedRoutes must admit namespace risk"},
		},
		{
			name: "a shared Gateway could not be read",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clShared("shared"))),
				clUnavailable("Gateway", "forbidden")),
			want: servingv1alpha1.CheckUnknown, msg: []string{"but Gateways in namespace infra could not be read: forbidden"},
		},
		{
			name: "Gateways could not be read",
			in: clInputs(clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))),
				clUnavailable("Gateway", "forbidden")),
			want: servingv1alpha1.CheckUnknown, msg: []string{"but Gateways in namespace risk could not be read: forbidden"},
		},
		{
			name: "a problem outweighs what could not be read",
			in: clInputs(clIngresses(clIngress("fraud", "fraud.example.com", "fraud-scorer")),
				clUnavailable("HTTPRoute", "forbidden")),
			want: servingv1alpha1.CheckFail, msg: []string{"without TLS", "also could not check: HTTPRoutes in namespace risk could not be read"},
		},
		{
			name: "every exposure is judged",
			in: clInputs(clIngresses(clIngress("fraud", "fraud.example.com", "fraud-scorer", hostTLS)), clTLSSecret("fraud-tls"),
				clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))), clGateway("public", clHTTP("http"))),
			want: servingv1alpha1.CheckFail, msg: []string{"Gateway public, which has no listener terminating TLS"},
		},
	})
}

// clGPUResources asks for cpu, memory and n GPUs of name.
func clGPUResources(cpu, memory, name string, n int64) corev1.ResourceRequirements {
	r := clResources(cpu, memory, "", "")
	r.Limits = corev1.ResourceList{corev1.ResourceName(name): *resource.NewQuantity(n, resource.DecimalSI)}
	return r
}

func clTemplateResources(r corev1.ResourceRequirements) func(*Inputs) {
	return func(in *Inputs) { in.Template.Spec.Containers[0].Resources = r }
}

// clQuota is a ResourceQuota with hard and used amounts, as "key=quantity" pairs.
func clQuota(name string, hard, used []string, opts ...func(*corev1.ResourceQuota)) func(*Inputs) {
	list := func(pairs []string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for _, p := range pairs {
			k, v, _ := strings.Cut(p, "=")
			l[corev1.ResourceName(k)] = resource.MustParse(v)
		}
		return l
	}
	return func(in *Inputs) {
		q := corev1.ResourceQuota{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "risk"},
			Spec:       corev1.ResourceQuotaSpec{Hard: list(hard)},
			Status:     corev1.ResourceQuotaStatus{Hard: list(hard), Used: list(used)},
		}
		for _, o := range opts {
			o(&q)
		}
		in.ResourceQuotas = append(in.ResourceQuotas, q)
	}
}

func clNodes(gpus ...int64) func(*Inputs) {
	return func(in *Inputs) {
		for _, n := range gpus {
			in.NodeAllocatable = append(in.NodeAllocatable, corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("16"), "nvidia.com/gpu": *resource.NewQuantity(n, resource.DecimalSI),
			})
		}
	}
}

func TestCapacity(t *testing.T) {
	old := clDeployments(clDeployment("2.2.0", ptr.To[int32](3), clResources("100m", "128Mi", "", "")))
	running := clDeployments(clDeployment("2.3.0", ptr.To[int32](3), clResources("100m", "128Mi", "", "")))
	gpu := clTemplateResources(clGPUResources("1", "8Gi", "nvidia.com/gpu", 1))
	oldGPU := clDeployments(clDeployment("2.2.0", ptr.To[int32](3), clGPUResources("1", "8Gi", "nvidia.com/gpu", 1)))
	clRun(t, checkCapacity, []clCase{
		{
			name: "no quota, no GPUs", in: clInputs(), want: servingv1alpha1.CheckPass,
			msg: []string{"steady cpu 300m memory 384Mi (3 pods of cpu 100m memory 128Mi), peak cpu 300m memory 384Mi; no ResourceQuota in namespace risk limits the pods"},
		},
		{
			name: "the other version adds to the peak",
			in:   clInputs(old), want: servingv1alpha1.CheckPass,
			msg: []string{"steady cpu 300m memory 384Mi (3 pods of cpu 100m memory 128Mi), peak cpu 600m memory 768Mi with Deployment fraud-scorer-v2-2-0 (3 pods)"},
		},
		{
			name: "the version's own Deployment does not add to the peak",
			in:   clInputs(running), want: servingv1alpha1.CheckPass, msg: []string{"peak cpu 300m memory 384Mi;"},
		},
		{
			name: "the stable revision of the same version adds to a later revision's peak",
			in:   clInputs(clRevision, running), want: servingv1alpha1.CheckPass,
			msg: []string{"peak cpu 600m memory 768Mi with Deployment fraud-scorer-v2-3-0 (3 pods)"},
		},
		{
			name: "a later revision's own Deployment does not add to its peak",
			in:   clInputs(clRevision, clDeployments(clRenamed(clDeployment("2.3.0", ptr.To[int32](3), clResources("100m", "128Mi", "", "")), clLaterRevision))),
			want: servingv1alpha1.CheckPass, msg: []string{"peak cpu 300m memory 384Mi;"},
		},
		{
			name: "fits the quota, counting the running version as replaced",
			in:   clInputs(old, clQuota("compute", []string{"requests.cpu=1", "requests.memory=1Gi"}, []string{"requests.cpu=700m", "requests.memory=512Mi"})),
			want: servingv1alpha1.CheckPass, msg: []string{"peak cpu 600m memory 768Mi", "fits ResourceQuota compute"},
		},
		{
			name: "cpu quota too small for the peak",
			in:   clInputs(old, clQuota("compute", []string{"requests.cpu=1"}, []string{"requests.cpu=900m"})),
			want: servingv1alpha1.CheckFail,
			msg: []string{
				"steady cpu 300m memory 384Mi",
				"ResourceQuota compute: requests.cpu: the peak needs 600m but only 400m is left for fraud-scorer (hard 1, used 900m of which 300m is fraud-scorer's own)",
			},
			fix: []string{"Raise spec.hard of ResourceQuota compute"},
		},
		{
			name: "memory quota without the requests. prefix",
			in:   clInputs(clQuota("compute", []string{"memory=256Mi"}, nil)), want: servingv1alpha1.CheckFail,
			msg: []string{"memory: the peak needs 384Mi but only 256Mi is left"},
		},
		{
			name: "a full quota leaves nothing, not a negative amount",
			in:   clInputs(clQuota("compute", []string{"cpu=1"}, []string{"cpu=2"})), want: servingv1alpha1.CheckFail,
			msg: []string{"cpu: the peak needs 300m but only 0 is left"},
		},
		{
			name: "a quota on limits or other resources is not judged",
			in:   clInputs(clQuota("limits", []string{"limits.cpu=100m", "pods=1", "count/configmaps=1"}, nil)), want: servingv1alpha1.CheckPass,
			msg: []string{"fits ResourceQuota limits"},
		},
		{
			name: "a quota of another priority class does not cover the pods",
			in: clInputs(clQuota("batch", []string{"requests.cpu=1m"}, nil, func(q *corev1.ResourceQuota) {
				q.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
					{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"batch"}},
				}}
			})),
			want: servingv1alpha1.CheckPass, msg: []string{"no ResourceQuota in namespace risk limits the pods"},
		},
		{
			name: "a quota of the pods' priority class covers them",
			in: clInputs(func(in *Inputs) { in.Template.Spec.PriorityClassName = "serving" },
				clQuota("serving", []string{"requests.cpu=100m"}, nil, func(q *corev1.ResourceQuota) {
					q.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
						{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"serving"}},
					}}
				})),
			want: servingv1alpha1.CheckFail, msg: []string{"ResourceQuota serving: requests.cpu"},
		},
		{
			name: "a BestEffort quota does not cover pods with requests",
			in: clInputs(clQuota("besteffort", []string{"pods=1", "cpu=1m"}, nil, func(q *corev1.ResourceQuota) {
				q.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}
			})),
			want: servingv1alpha1.CheckPass, msg: []string{"no ResourceQuota"},
		},
		{
			name: "a NotTerminating quota covers long-running pods",
			in: clInputs(clQuota("long", []string{"cpu=1m"}, nil, func(q *corev1.ResourceQuota) {
				q.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotBestEffort}
			})),
			want: servingv1alpha1.CheckFail, msg: []string{"ResourceQuota long"},
		},
		{
			name: "a quota in another namespace",
			in:   clInputs(clQuota("compute", []string{"cpu=1m"}, nil, func(q *corev1.ResourceQuota) { q.Namespace = "elsewhere" })),
			want: servingv1alpha1.CheckPass,
		},
		{
			name: "GPUs fit the nodes",
			in:   clInputs(gpu, oldGPU, clNodes(4, 4, 0)), want: servingv1alpha1.CheckPass,
			msg: []string{"steady cpu 3 memory 24Gi nvidia.com/gpu 3 (3 pods of cpu 1 memory 8Gi nvidia.com/gpu 1), peak cpu 6 memory 48Gi nvidia.com/gpu 6", "fits the nodes' 8 nvidia.com/gpu"},
		},
		{
			name: "the peak needs more GPUs than the nodes have",
			in:   clInputs(gpu, oldGPU, clNodes(4)), want: servingv1alpha1.CheckFail,
			msg: []string{"the peak needs 6 nvidia.com/gpu but the nodes offer 4 in all"},
			fix: []string{"fewer pods at once"},
		},
		{
			name: "no node has the GPU",
			in: clInputs(gpu, func(in *Inputs) {
				in.NodeAllocatable = []corev1.ResourceList{{corev1.ResourceCPU: resource.MustParse("8")}}
			}),
			want: servingv1alpha1.CheckFail, msg: []string{"no node offers nvidia.com/gpu, which the pods ask for"},
		},
		{
			name: "a GPU quota",
			in:   clInputs(gpu, clNodes(8), clQuota("gpus", []string{"requests.nvidia.com/gpu=2"}, []string{"requests.nvidia.com/gpu=0"})),
			want: servingv1alpha1.CheckFail, msg: []string{"ResourceQuota gpus: requests.nvidia.com/gpu: the peak needs 3 but only 2 is left"},
		},
		{
			name: "nodes unreadable without GPUs does not matter",
			in:   clInputs(clUnavailable("Node", "forbidden")), want: servingv1alpha1.CheckPass,
		},
		{
			name: "nodes unreadable with GPUs",
			in:   clInputs(gpu, clUnavailable("Node", "forbidden")), want: servingv1alpha1.CheckUnknown,
			msg: []string{"steady cpu 3", "the nodes' GPUs could not be read: forbidden"},
		},
		{
			name: "Deployments unreadable: the peak is unknown",
			in:   clInputs(clUnavailable("Deployment", "forbidden")), want: servingv1alpha1.CheckUnknown,
			msg: []string{"Could not read the Deployments of fraud-scorer, so the peak of a rollout is unknown: forbidden; steady cpu 300m memory 384Mi"},
		},
		{
			name: "quotas unreadable",
			in:   clInputs(clUnavailable("ResourceQuota", "forbidden")), want: servingv1alpha1.CheckUnknown,
			msg: []string{"steady cpu 300m memory 384Mi", "ResourceQuotas in namespace risk could not be read: forbidden"},
		},
		{
			name: "a quota problem outweighs unreadable nodes",
			in:   clInputs(gpu, clUnavailable("Node", "forbidden"), clQuota("compute", []string{"cpu=1"}, nil)), want: servingv1alpha1.CheckFail,
			msg: []string{"ResourceQuota compute: cpu", "also could not check: the nodes' GPUs"},
		},
	})
}

// clList is a ResourceList in strings, for comparing.
func clList(l corev1.ResourceList) map[string]string {
	if l == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range l {
		out[string(k)] = v.String()
	}
	return out
}

func TestFootprint(t *testing.T) {
	container := func(name string, r corev1.ResourceRequirements) corev1.Container {
		return corev1.Container{Name: name, Resources: r}
	}
	spec := func(s corev1.PodSpec) func(*Inputs) {
		return func(in *Inputs) { in.Template.Spec = s }
	}
	tests := []struct {
		name        string
		in          *Inputs
		steady      map[string]string
		peak        map[string]string
		withoutPeak bool
	}{
		{
			name:   "one container on 3 pods",
			in:     clInputs(),
			steady: map[string]string{"cpu": "300m", "memory": "384Mi"},
			peak:   map[string]string{"cpu": "300m", "memory": "384Mi"},
		},
		{
			name: "containers add up; a larger init container wins per resource",
			in: clInputs(clReplicas(2), spec(corev1.PodSpec{
				InitContainers: []corev1.Container{container("download", clResources("1", "64Mi", "", ""))},
				Containers:     []corev1.Container{container("server", clResources("250m", "1Gi", "", "")), container("proxy", clResources("50m", "64Mi", "", ""))},
			})),
			steady: map[string]string{"cpu": "2", "memory": "2176Mi"},
			peak:   map[string]string{"cpu": "2", "memory": "2176Mi"},
		},
		{
			name: "sidecars run beside the containers and the later init containers",
			in: clInputs(clReplicas(1), spec(corev1.PodSpec{
				InitContainers: []corev1.Container{
					{Name: "mesh", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), Resources: clResources("100m", "64Mi", "", "")},
					container("warmup", clResources("500m", "32Mi", "", "")),
				},
				Containers: []corev1.Container{container("server", clResources("200m", "256Mi", "", ""))},
			})),
			// cpu: max(200m+100m, 100m+500m) = 600m; memory: max(256Mi+64Mi, 64Mi+32Mi) = 320Mi.
			steady: map[string]string{"cpu": "600m", "memory": "320Mi"},
			peak:   map[string]string{"cpu": "600m", "memory": "320Mi"},
		},
		{
			name: "a request left out is the limit; overhead is added",
			in: clInputs(clReplicas(1), spec(corev1.PodSpec{
				Containers: []corev1.Container{container("server", clResources("", "", "500m", "1Gi"))},
				Overhead:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("120Mi")},
			})),
			steady: map[string]string{"cpu": "750m", "memory": "1144Mi"},
			peak:   map[string]string{"cpu": "750m", "memory": "1144Mi"},
		},
		{
			name: "pod-level requests replace the containers'",
			in: clInputs(clReplicas(2), spec(corev1.PodSpec{
				Resources:  ptr.To(clResources("1", "", "", "")),
				Containers: []corev1.Container{container("server", clResources("100m", "128Mi", "", ""))},
			})),
			steady: map[string]string{"cpu": "2", "memory": "256Mi"},
			peak:   map[string]string{"cpu": "2", "memory": "256Mi"},
		},
		{
			name: "GPUs from the limits; other versions at their replicas, nil as 1",
			in: clInputs(clTemplateResources(clGPUResources("1", "8Gi", "nvidia.com/gpu", 2)),
				clDeployments(
					clDeployment("2.2.0", nil, clGPUResources("1", "8Gi", "nvidia.com/gpu", 1)),
					clDeployment("2.1.0", ptr.To[int32](0), clGPUResources("1", "8Gi", "amd.com/gpu", 1)),
					clDeployment("2.3.0", ptr.To[int32](1), clGPUResources("1", "8Gi", "nvidia.com/gpu", 2)),
				)),
			steady: map[string]string{"cpu": "3", "memory": "24Gi", "nvidia.com/gpu": "6"},
			peak:   map[string]string{"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": "7"},
		},
		{
			name:   "no containers",
			in:     clInputs(spec(corev1.PodSpec{})),
			steady: map[string]string{"cpu": "0", "memory": "0"},
			peak:   map[string]string{"cpu": "0", "memory": "0"},
		},
		{
			name:        "Deployments unreadable: no peak",
			in:          clInputs(clUnavailable("Deployment", "forbidden")),
			steady:      map[string]string{"cpu": "300m", "memory": "384Mi"},
			withoutPeak: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			steady, peak := Footprint(tc.in)
			g.Expect(clList(steady)).To(Equal(tc.steady))
			if tc.withoutPeak {
				g.Expect(peak).To(BeNil())
				return
			}
			g.Expect(clList(peak)).To(Equal(tc.peak))
		})
	}
}

// clReady is an input every cluster check passes: an HPA, a PDB and a
// NetworkPolicy for the pods, an Ingress and an HTTPRoute with TLS, a quota
// with room and nodes with GPUs.
func clReady(opts ...func(*Inputs)) *Inputs {
	base := []func(*Inputs){
		clTemplateResources(clGPUResources("1", "8Gi", "nvidia.com/gpu", 1)),
		clHPAs(clMDHPA(3)),
		clPDBs(clPDB("fraud-scorer", clSelectsModel(), nil, clInt(1))),
		clNetpols(clNetpol("fraud-scorer", *clSelectsModel(), nil, clFromGateway)),
		clIngresses(clIngress("fraud", "fraud.example.com", "fraud-scorer", networkingv1.IngressTLS{Hosts: []string{"fraud.example.com"}, SecretName: "fraud-tls"})),
		clTLSSecret("fraud-tls"),
		clRoutes(clRoute("fraud", "fraud-scorer", clParent("public"))),
		clGateway("public", clHTTPS("https", clCert("fraud-tls"))),
		clQuota("compute", []string{"requests.cpu=8", "requests.memory=64Gi", "requests.nvidia.com/gpu=4"}, nil),
		clNodes(4),
	}
	return clInputs(append(base, opts...)...)
}

// Every check that reads an input says Unknown when the input could not be
// read, and names the reason: it never passes then.
func TestClusterChecksAreUnknownWhenAnInputIsUnavailable(t *testing.T) {
	for id, run := range clusterRunners {
		g := NewWithT(t)
		f := run(clReady())
		g.Expect(f.Result).To(Equal(servingv1alpha1.CheckPass), "%s on ready inputs: %s", id, f.Message)
	}
	for _, tc := range []struct{ id, kind string }{
		{"hpa", "HorizontalPodAutoscaler"},
		{"pdb", "PodDisruptionBudget"},
		{"network-policy", "NetworkPolicy"},
		{"tls", "Ingress"},
		{"tls", "HTTPRoute"},
		{"tls", "Gateway"},
		{"tls", "Secret"},
		{"capacity", "ResourceQuota"},
		{"capacity", "Deployment"},
		{"capacity", "Node"},
	} {
		t.Run(tc.id+"/"+tc.kind, func(t *testing.T) {
			g := NewWithT(t)
			f := clusterRunners[tc.id](clReady(clUnavailable(tc.kind, "denied by the test")))
			g.Expect(f.Result).To(Equal(servingv1alpha1.CheckUnknown), f.Message)
			g.Expect(f.Message).To(ContainSubstring("denied by the test"))
			g.Expect(f.Remediation).NotTo(BeEmpty())
		})
	}
}

// clClusterChecks are the cluster checks alone, with the table's severities.
func clClusterChecks() []Check {
	var cat []Check
	for _, it := range table {
		if run, ok := clusterRunners[it.id]; ok {
			cat = append(cat, Check{ID: it.id, Section: it.section, Title: it.title,
				Severity: severities(it.production, it.staging, it.dev), Run: run})
		}
	}
	return cat
}

// clCatalogue is the whole catalogue when every group's checks are written,
// else the cluster checks alone.
func clCatalogue() (cat []Check, whole bool) {
	defer func() {
		if recover() != nil {
			cat, whole = clClusterChecks(), false
		}
	}()
	return Catalogue(), true
}

func TestClusterChecksEvaluate(t *testing.T) {
	g := NewWithT(t)
	cat, _ := clCatalogue()
	res := Evaluate(cat, clReady())
	for _, it := range res.Status.Items {
		if _, ok := clusterRunners[it.ID]; ok {
			g.Expect(it.Result).To(Equal(servingv1alpha1.CheckPass), "%s: %s", it.ID, it.Message)
		}
	}
	g.Expect(res.Status.Capacity).NotTo(BeNil())
	g.Expect(clList(res.Status.Capacity.Steady)).To(Equal(map[string]string{"cpu": "3", "memory": "24Gi", "nvidia.com/gpu": "3"}))

	// In staging the hpa item only warns.
	res = Evaluate(cat, clReady(clProfile(servingv1alpha1.ProfileStaging), func(in *Inputs) { in.HPAs = nil }))
	for _, it := range res.Status.Items {
		if it.ID == "hpa" {
			g.Expect(it.Result).To(Equal(servingv1alpha1.CheckWarn))
			g.Expect(it.Remediation).To(ContainSubstring("kind: ModelDeployment"))
		}
	}
	g.Expect(res.Blocking).NotTo(ContainElement("hpa"))
}

// BenchmarkEvaluate judges one production ModelDeployment in a busy
// namespace: 1,000 NetworkPolicies, 1,000 PodDisruptionBudgets and 1,000
// Secrets, of which only a few concern its pods. The bar is 1 ms per
// ModelDeployment.
func BenchmarkEvaluate(b *testing.B) {
	in := clBusyNamespace()
	cat, whole := clCatalogue()
	if !whole {
		b.Logf("the other check groups are not written yet: the catalogue is the %d cluster checks", len(cat))
	}
	for _, bc := range []struct {
		name string
		cat  []Check
	}{{"catalogue", cat}, {"cluster-checks", clClusterChecks()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res := Evaluate(bc.cat, in)
				if len(res.Status.Items) != len(bc.cat) {
					b.Fatalf("evaluated %d items, want %d", len(res.Status.Items), len(bc.cat))
				}
			}
			b.ReportMetric(float64(len(bc.cat)), "checks") // after the loop, which resets reported metrics
		})
	}
}

// clBusyNamespace is clReady in a namespace full of other teams' objects,
// with a realistic model server and sidecar.
func clBusyNamespace() *Inputs {
	in := clReady(func(in *Inputs) {
		md := in.MD
		md.Spec.Model.ModelCard = &servingv1alpha1.ModelCardRef{ConfigMapRef: &servingv1alpha1.ConfigMapKeyReference{Name: "fraud-card"}}
		md.Spec.Documentation = &servingv1alpha1.DocumentationSpec{Runbook: "https://wiki.example/fraud/runbook", RollbackProcedure: "https://wiki.example/fraud/rollback"}
		md.Spec.Service.MetricsPort = ptr.To[int32](9090)
		spec := &in.Template.Spec
		nonRoot := &corev1.SecurityContext{
			RunAsNonRoot: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
		server := &spec.Containers[0]
		server.Image = "registry.example/ml/server@sha256:" + fmt.Sprintf("%064d", 1)
		server.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}}
		server.Env = append(server.Env,
			corev1.EnvVar{Name: "LOG_LEVEL", Value: "info"},
			corev1.EnvVar{Name: "REGISTRY_TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "registry"}, Key: "token"}}})
		server.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}}
		server.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/live", Port: intstr.FromString("http")}}}
		server.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/live", Port: intstr.FromString("http")}}, FailureThreshold: 60}
		server.SecurityContext = nonRoot
		spec.Containers = append(spec.Containers, corev1.Container{
			Name: "proxy", Image: "registry.example/ml/proxy@sha256:" + fmt.Sprintf("%064d", 2),
			Resources: clResources("50m", "64Mi", "", "128Mi"), SecurityContext: nonRoot,
		})
		spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: desiredstate.SelectorLabels(md)},
		}}
		in.Secrets["registry"] = SecretKeys{"token": {}}
		in.StableVersion = "2.2.0"
		in.Deployments = append(in.Deployments, clDeployment("2.2.0", ptr.To[int32](3), clGPUResources("1", "8Gi", "nvidia.com/gpu", 1)))
		in.NodeAllocatable = append(in.NodeAllocatable, in.NodeAllocatable[0], in.NodeAllocatable[0])
		in.ConfigMaps = map[string]*corev1.ConfigMap{"fraud-card": {Data: map[string]string{"card.md": "# Model card\n## Intended use\nScoring.\n"}}}
	})
	for i := range 1000 {
		app := fmt.Sprintf("service-%d", i)
		sel := metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": app}}
		if i%50 == 0 { // a few select by expression, none of them these pods
			sel = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "app.kubernetes.io/name", Operator: metav1.LabelSelectorOpIn, Values: []string{app, app + "-canary"}},
			}}
		}
		in.NetworkPolicies = append(in.NetworkPolicies, clNetpol(app, sel, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, clFromGateway))
		in.PDBs = append(in.PDBs, clPDB(app, sel.DeepCopy(), nil, clInt(1)))
		in.Secrets[app+"-tls"] = SecretKeys{"tls.crt": {}, "tls.key": {}}
	}
	// Two more policies select these pods by expression.
	in.NetworkPolicies = append(in.NetworkPolicies,
		clNetpol("models-from-monitoring", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "app.kubernetes.io/managed-by", Operator: metav1.LabelSelectorOpIn, Values: []string{"modelgate"}},
		}}, nil, clFromGateway),
		clNetpol("default-deny", metav1.LabelSelector{}, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}))
	return in
}

// selectorSelects takes shortcuts; it must agree with Kubernetes' own matching.
func TestClusterSelectorSelectsAgreesWithKubernetes(t *testing.T) {
	pods := labels.Set(clInputs().Template.Labels) // app.kubernetes.io/name, managed-by, version, team
	req := func(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelectorRequirement {
		return metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values}
	}
	const name, version = "app.kubernetes.io/name", "serving.modelgate.dev/version"
	tests := []struct {
		name string
		sel  *metav1.LabelSelector
		want bool
	}{
		{"nil selects nothing", nil, false},
		{"empty selects everything", &metav1.LabelSelector{}, true},
		{"matchLabels subset", &metav1.LabelSelector{MatchLabels: map[string]string{name: "fraud-scorer", "team": "risk"}}, true},
		{"matchLabels other value", &metav1.LabelSelector{MatchLabels: map[string]string{name: "churn"}}, false},
		{"matchLabels missing key", &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}}, false},
		{"In", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req(name, metav1.LabelSelectorOpIn, "churn", "fraud-scorer")}}, true},
		{"In other values", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req(name, metav1.LabelSelectorOpIn, "churn")}}, false},
		{"In missing key", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("tier", metav1.LabelSelectorOpIn, "web")}}, false},
		{"NotIn other values", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req(version, metav1.LabelSelectorOpNotIn, "2.2.0")}}, true},
		{"NotIn the value", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req(version, metav1.LabelSelectorOpNotIn, "2.3.0")}}, false},
		{"NotIn missing key", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("tier", metav1.LabelSelectorOpNotIn, "web")}}, true},
		{"Exists", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req(version, metav1.LabelSelectorOpExists)}}, true},
		{"Exists missing key", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("tier", metav1.LabelSelectorOpExists)}}, false},
		{"DoesNotExist", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("tier", metav1.LabelSelectorOpDoesNotExist)}}, true},
		{"DoesNotExist present key", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("team", metav1.LabelSelectorOpDoesNotExist)}}, false},
		{"labels and expressions", &metav1.LabelSelector{
			MatchLabels:      map[string]string{name: "fraud-scorer"},
			MatchExpressions: []metav1.LabelSelectorRequirement{req(version, metav1.LabelSelectorOpIn, "2.3.0"), req("canary", metav1.LabelSelectorOpDoesNotExist)},
		}, true},
		{"an invalid operator selects nothing", &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{req("team", "Like", "r*")}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(selectorSelects(tc.sel, pods)).To(Equal(tc.want))
			s, err := metav1.LabelSelectorAsSelector(tc.sel)
			if err == nil {
				g.Expect(s.Matches(pods)).To(Equal(tc.want), "Kubernetes agrees")
			}
		})
	}
}
