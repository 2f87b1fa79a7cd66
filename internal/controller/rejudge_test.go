package controller

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/test/bars"
)

// fleet is a namespace of n ModelDeployments: the first ten carry the
// template label team=growth, the first three reference Secret db-creds,
// the first five mount ConfigMap features, and one keeps its card in ConfigMap card.
func fleet(t *testing.T, n int) *ModelDeploymentReconciler {
	t.Helper()
	objs := make([]client.Object, 0, n+1)
	for i := range n {
		objs = append(objs, newMD(func(md *servingv1alpha1.ModelDeployment) {
			md.Name = fmt.Sprintf("model-%03d", i)
			if i < 10 {
				md.Spec.Template.Labels = map[string]string{"team": "growth"}
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
	objs = append(objs, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "public"},
		Spec: networkingv1.IngressSpec{TLS: []networkingv1.IngressTLS{{SecretName: "public-tls"}}}})
	c := fake.NewClientBuilder().WithScheme(testScheme(t)).
		WithIndex(&servingv1alpha1.ModelDeployment{}, secretRefIndex, referencedSecretNames).
		WithIndex(&servingv1alpha1.ModelDeployment{}, configMapRefIndex, referencedConfigMapNames).
		WithObjects(objs...).Build()
	return &ModelDeploymentReconciler{Client: c}
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
		{name: "an Ingress certificate", obj: secret("public-tls"), want: n},
		{name: "a ConfigMap five templates mount", obj: configMap("features"), want: 5},
		{name: "a ConfigMap holding a model card", obj: configMap("card"), want: 1},
		{name: "a ConfigMap nothing references", obj: configMap("unrelated"), want: 0},
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
