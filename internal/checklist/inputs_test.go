package checklist

import (
	"context"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestNewInputs(t *testing.T) {
	md := func(mutate func(*servingv1alpha1.ModelDeployment)) *servingv1alpha1.ModelDeployment {
		m := &servingv1alpha1.ModelDeployment{
			ObjectMeta: metav1.ObjectMeta{Name: "fraud", Namespace: "risk"},
			Spec: servingv1alpha1.ModelDeploymentSpec{
				Model: servingv1alpha1.ModelSpec{Name: "fraud", Version: "2.3.0", URI: "pvc://models/fraud"},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "risk"}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "proxy"}, {Name: "server"}}},
				},
			},
		}
		if mutate != nil {
			mutate(m)
		}
		return m
	}
	tests := []struct {
		name          string
		md            *servingv1alpha1.ModelDeployment
		wantServing   int
		wantReplicas  int32
		wantStable    string
		wantErr       string
		wantEnvOnName string
	}{
		{name: "defaults: first container, one replica, nothing stable", md: md(nil), wantServing: 0, wantReplicas: 1, wantEnvOnName: "proxy"},
		{name: "a named serving container, replicas and a stable version", md: md(func(m *servingv1alpha1.ModelDeployment) {
			m.Spec.ServingContainer, m.Spec.Replicas = "server", ptr.To[int32](3)
			m.Status.Stable = &servingv1alpha1.VersionStatus{Version: "2.2.1"}
		}), wantServing: 1, wantReplicas: 3, wantStable: "2.2.1", wantEnvOnName: "server"},
		{name: "a serving container that does not exist", md: md(func(m *servingv1alpha1.ModelDeployment) { m.Spec.ServingContainer = "model" }),
			wantErr: `spec.servingContainer "model" names no container`},
		{name: "no container", md: md(func(m *servingv1alpha1.ModelDeployment) { m.Spec.Template.Spec.Containers = nil }),
			wantErr: "spec.template.spec.containers is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in, err := NewInputs(tt.md)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(in.MD).To(BeIdenticalTo(tt.md))
			g.Expect(in.ServingContainer).To(Equal(tt.wantServing))
			g.Expect(in.Replicas).To(Equal(tt.wantReplicas))
			g.Expect(in.StableVersion).To(Equal(tt.wantStable))
			g.Expect(in.Unavailable).To(BeEmpty())
			g.Expect(in.Unavailable).NotTo(BeNil(), "ready for the gatherer to fill")
			g.Expect(in.Template.Labels).To(Equal(map[string]string{
				"team": "risk", "app.kubernetes.io/name": "fraud", "app.kubernetes.io/managed-by": "modelgate", "serving.modelgate.dev/version": "2.3.0",
			}), "the labels the version's pods run with, which PDBs and NetworkPolicies must select")
			c := in.Template.Spec.Containers[in.ServingContainer]
			g.Expect(c.Name).To(Equal(tt.wantEnvOnName))
			g.Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "MODEL_VERSION", Value: "2.3.0"}))
			g.Expect(tt.md.Spec.Template.Spec.Containers[in.ServingContainer].Env).To(BeEmpty(), "the spec is not changed")
		})
	}
}

// fakeProber records what it was asked.
type fakeProber struct {
	mu    sync.Mutex
	asked []string
}

func (p *fakeProber) ask(what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, what)
}

func (p *fakeProber) Artifact(_ context.Context, uri string) *Finding {
	p.ask("artifact " + uri)
	f := Pass("artifact found")
	return &f
}

func (p *fakeProber) Registry(_ context.Context, ref servingv1alpha1.ModelRegistryRef, name string) *Finding {
	p.ask("registry " + name + " " + ref.Version)
	f := Fail("register it", "not registered")
	return &f
}

func (p *fakeProber) Document(_ context.Context, url string) *ModelCardDocument {
	p.ask("document " + url)
	return &ModelCardDocument{Err: "timeout"}
}

func TestProbeRemote(t *testing.T) {
	base := func() *servingv1alpha1.ModelDeployment {
		return &servingv1alpha1.ModelDeployment{Spec: servingv1alpha1.ModelDeploymentSpec{Model: servingv1alpha1.ModelSpec{
			Name: "fraud", URI: "oci://r.example/fraud:1",
			Registry:  &servingv1alpha1.ModelRegistryRef{URL: "http://mlflow:5000", Version: "3"},
			ModelCard: &servingv1alpha1.ModelCardRef{URL: "https://cards.example/fraud"},
		}}}
	}
	tests := []struct {
		name   string
		mutate func(*servingv1alpha1.ModelDeployment)
		want   []string
	}{
		{"every question asked", nil, []string{"artifact oci://r.example/fraud:1", "registry fraud 3", "document https://cards.example/fraud"}},
		{"items that are off ask nothing", func(m *servingv1alpha1.ModelDeployment) {
			m.Spec.Checklist.Profile = servingv1alpha1.ProfileDevelopment // artifact, registry and card are off
		}, nil},
		{"an override turns one off", func(m *servingv1alpha1.ModelDeployment) {
			m.Spec.Checklist.Overrides = []servingv1alpha1.ChecklistOverride{{ID: "model-registry", Severity: servingv1alpha1.SeverityOff, Reason: "none"}}
		}, []string{"artifact oci://r.example/fraud:1", "document https://cards.example/fraud"}},
		{"nothing to ask: no registry, a card in a ConfigMap", func(m *servingv1alpha1.ModelDeployment) {
			m.Spec.Model.Registry = nil
			m.Spec.Model.ModelCard = &servingv1alpha1.ModelCardRef{ConfigMapRef: &servingv1alpha1.ConfigMapKeyReference{Name: "card"}}
		}, []string{"artifact oci://r.example/fraud:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			md := base()
			if tt.mutate != nil {
				tt.mutate(md)
			}
			in := &Inputs{MD: md}
			p := &fakeProber{}
			ProbeRemote(context.Background(), p, in)
			g.Expect(p.asked).To(ConsistOf(tt.want))
			g.Expect(in.Remote.Artifact != nil).To(Equal(len(tt.want) > 0))
			if in.Remote.Registry != nil {
				g.Expect(in.Remote.Registry.Result).To(Equal(servingv1alpha1.CheckFail))
			}
			if in.Remote.ModelCard != nil {
				g.Expect(in.Remote.ModelCard.Err).To(Equal("timeout"))
			}
		})
	}
}
