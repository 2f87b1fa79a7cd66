package desiredstate

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// newMD is a ModelDeployment as a user writes it: a model server and a
// sidecar, with one label of the team's own. Options change it further.
func newMD(opts ...func(*servingv1alpha1.ModelDeployment)) *servingv1alpha1.ModelDeployment {
	md := &servingv1alpha1.ModelDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer", Namespace: "risk"},
		Spec: servingv1alpha1.ModelDeploymentSpec{
			Model: servingv1alpha1.ModelSpec{
				Name:    "fraud-scorer",
				Version: "2.3.0",
				URI:     "oci://registry.example/models/fraud-scorer:2.3.0",
			},
			Replicas: ptr.To[int32](3),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "risk"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "server", Image: "registry.example/ml/server:1.4", Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}}},
					{Name: "proxy", Image: "registry.example/ml/proxy:0.9"},
				}},
			},
			Strategy: servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyRolling},
		},
	}
	for _, o := range opts {
		o(md)
	}
	return md
}

func withServingContainer(name string) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) { md.Spec.ServingContainer = name }
}

func withEnv(container int, env ...corev1.EnvVar) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) {
		md.Spec.Template.Spec.Containers[container].Env = env
	}
}

func withService(s servingv1alpha1.ServiceSpec) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) { md.Spec.Service = s }
}

func env(c corev1.Container, name string) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, e := range c.Env {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

func TestDeploymentName(t *testing.T) {
	tests := []struct {
		version string
		want    string
	}{
		{"2.3.0", "fraud-scorer-v2-3-0"},
		{"10.0.12", "fraud-scorer-v10-0-12"},
		// pre-release and build parts add a hash of the exact version, so
		// versions that read alike in a name never share a Deployment
		{"2.3.0-rc.1", "fraud-scorer-v2-3-0-rc-1-f6af25"},
		{"2.3.0-RC.1", "fraud-scorer-v2-3-0-rc-1-54faa5"},
		{"2.3.0+build.5", "fraud-scorer-v2-3-0-build-5-4c9eda"},
		{"2.3.0-Beta+Exp.SHA.5114f85", "fraud-scorer-v2-3-0-beta-exp-sha-5114f85-0595e7"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			g := NewWithT(t)
			got := DeploymentName(newMD(), tt.version)
			g.Expect(got).To(Equal(tt.want))
			// a Deployment name must be a DNS-1123 subdomain: lower case, no '.', '+' or '_'
			g.Expect(got).To(MatchRegexp(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`))
		})
	}
}

func TestVersionLabelValue(t *testing.T) {
	tests := []struct {
		version string
		want    string
	}{
		{"2.3.0", "2.3.0"},
		{"2.3.0-rc.1", "2.3.0-rc.1"},
		{"2.3.0-RC.1", "2.3.0-RC.1"},
		{"2.3.0+build.5", "2.3.0_build.5"},
		{"2.3.0-rc.1+build.5", "2.3.0-rc.1_build.5"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			g := NewWithT(t)
			got := VersionLabelValue(tt.version)
			g.Expect(got).To(Equal(tt.want))
			g.Expect(got).To(MatchRegexp(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`), "must be a valid label value")
		})
	}
}

func TestServiceNames(t *testing.T) {
	g := NewWithT(t)
	md := newMD()
	g.Expect(ServiceName(md)).To(Equal("fraud-scorer"))
	g.Expect(StableServiceName(md)).To(Equal("fraud-scorer-stable"))
	g.Expect(CandidateServiceName(md)).To(Equal("fraud-scorer-candidate"))
}

func TestLabels(t *testing.T) {
	g := NewWithT(t)
	md := newMD()

	sel := SelectorLabels(md)
	g.Expect(sel).To(Equal(map[string]string{
		"app.kubernetes.io/name":       "fraud-scorer",
		"app.kubernetes.io/managed-by": "modelgate",
	}))
	g.Expect(Selector(md)).To(Equal("app.kubernetes.io/managed-by=modelgate,app.kubernetes.io/name=fraud-scorer"))

	g.Expect(VersionLabels(md, "2.3.0+build.5")).To(Equal(map[string]string{
		"app.kubernetes.io/name":        "fraud-scorer",
		"app.kubernetes.io/managed-by":  "modelgate",
		"serving.modelgate.dev/version": "2.3.0_build.5",
	}))
	// The apex Service selects every version: its selector must not pick up a
	// version label from a later call.
	_ = VersionLabels(md, "2.4.0")
	g.Expect(sel).NotTo(HaveKey(LabelVersion))
	g.Expect(SelectorLabels(md)).NotTo(HaveKey(LabelVersion))
}

func TestReplicas(t *testing.T) {
	tests := []struct {
		name     string
		replicas *int32
		want     int32
	}{
		{"unset means one pod", nil, 1},
		{"zero scales to zero", ptr.To[int32](0), 0},
		{"as asked", ptr.To[int32](5), 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := newMD(func(md *servingv1alpha1.ModelDeployment) { md.Spec.Replicas = tt.replicas })
			NewWithT(t).Expect(Replicas(md)).To(Equal(tt.want))
		})
	}
}

func TestServingContainerIndex(t *testing.T) {
	two := &corev1.PodSpec{Containers: []corev1.Container{{Name: "server"}, {Name: "proxy"}}}
	tests := []struct {
		name string
		spec *corev1.PodSpec
		serv string
		want int
	}{
		{"first container by default", two, "", 0},
		{"named first", two, "server", 0},
		{"named second", two, "proxy", 1},
		{"unknown name", two, "model", -1},
		{"no containers", &corev1.PodSpec{}, "", -1},
		{"no containers, named", &corev1.PodSpec{}, "server", -1},
		{"init containers do not count", &corev1.PodSpec{InitContainers: []corev1.Container{{Name: "fetch"}}}, "fetch", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(ServingContainerIndex(tt.spec, tt.serv)).To(Equal(tt.want))
		})
	}
}

func TestPodTemplate(t *testing.T) {
	modelEnv := []corev1.EnvVar{
		{Name: EnvModelName, Value: "fraud-scorer"},
		{Name: EnvModelVersion, Value: "2.3.0"},
		{Name: EnvModelURI, Value: "oci://registry.example/models/fraud-scorer:2.3.0"},
	}
	tests := []struct {
		name    string
		md      *servingv1alpha1.ModelDeployment
		version string
		// wantEnv is the env of every container, by name.
		wantEnv map[string][]corev1.EnvVar
		wantErr string
	}{
		{
			name:    "first container serves by default",
			md:      newMD(),
			version: "2.3.0",
			wantEnv: map[string][]corev1.EnvVar{
				"server": append([]corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}}, modelEnv...),
				"proxy":  nil,
			},
		},
		{
			name:    "named serving container, others untouched",
			md:      newMD(withServingContainer("proxy")),
			version: "2.3.0",
			wantEnv: map[string][]corev1.EnvVar{
				"server": {{Name: "LOG_LEVEL", Value: "info"}},
				"proxy":  modelEnv,
			},
		},
		{
			name: "variables of the same name are replaced in place",
			md: newMD(withEnv(0,
				corev1.EnvVar{Name: EnvModelVersion, Value: "0.0.1"},
				corev1.EnvVar{Name: "LOG_LEVEL", Value: "debug"},
				corev1.EnvVar{Name: EnvModelURI, ValueFrom: &corev1.EnvVarSource{
					ConfigMapKeyRef: &corev1.ConfigMapKeySelector{Key: "uri"},
				}},
			)),
			version: "2.3.0",
			wantEnv: map[string][]corev1.EnvVar{
				"server": {
					{Name: EnvModelVersion, Value: "2.3.0"},
					{Name: "LOG_LEVEL", Value: "debug"},
					{Name: EnvModelURI, Value: "oci://registry.example/models/fraud-scorer:2.3.0"},
					{Name: EnvModelName, Value: "fraud-scorer"},
				},
				"proxy": nil,
			},
		},
		{
			name:    "the version asked for, not the spec's",
			md:      newMD(),
			version: "2.2.0",
			wantEnv: map[string][]corev1.EnvVar{
				"server": {
					{Name: "LOG_LEVEL", Value: "info"},
					{Name: EnvModelName, Value: "fraud-scorer"},
					{Name: EnvModelVersion, Value: "2.2.0"},
					{Name: EnvModelURI, Value: "oci://registry.example/models/fraud-scorer:2.3.0"},
				},
				"proxy": nil,
			},
		},
		{
			name:    "no containers",
			md:      newMD(func(md *servingv1alpha1.ModelDeployment) { md.Spec.Template.Spec.Containers = nil }),
			version: "2.3.0",
			wantErr: "spec.template.spec.containers is empty",
		},
		{
			name:    "unknown serving container",
			md:      newMD(withServingContainer("model")),
			version: "2.3.0",
			wantErr: `spec.servingContainer "model" names no container in spec.template.spec.containers`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			before := tt.md.DeepCopy()

			tpl, err := PodTemplate(tt.md, tt.version)

			g.Expect(tt.md).To(Equal(before), "the spec must not change")
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(tpl.Spec.Containers).To(HaveLen(len(tt.wantEnv)))
			for _, c := range tpl.Spec.Containers {
				g.Expect(c.Env).To(Equal(tt.wantEnv[c.Name]), "env of container %s", c.Name)
			}
		})
	}
}

func TestPodTemplateLabels(t *testing.T) {
	g := NewWithT(t)
	md := newMD(func(md *servingv1alpha1.ModelDeployment) {
		// A user label that would break the selectors if it won.
		md.Spec.Template.Labels[LabelName] = "something-else"
		md.Spec.Template.Labels[LabelVersion] = "latest"
		md.Spec.Template.Annotations = map[string]string{"prometheus.io/scrape": "true", "sidecar.istio.io/inject": "false"}
	})

	tpl, err := PodTemplate(md, "2.3.0+build.5")

	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tpl.Labels).To(Equal(map[string]string{
		"team":                          "risk",
		"app.kubernetes.io/name":        "fraud-scorer",
		"app.kubernetes.io/managed-by":  "modelgate",
		"serving.modelgate.dev/version": "2.3.0_build.5",
	}))
	g.Expect(tpl.Annotations).To(Equal(map[string]string{"prometheus.io/scrape": "true", "sidecar.istio.io/inject": "false"}))
	g.Expect(md.Spec.Template.Labels).To(HaveKeyWithValue(LabelVersion, "latest"), "the spec's labels must not change")
}

func TestTemplateMetadataChangeRewritesTemplate(t *testing.T) {
	for name, change := range map[string]func(*servingv1alpha1.ModelDeployment){
		"a label": func(md *servingv1alpha1.ModelDeployment) { md.Spec.Template.Labels["team"] = "growth" },
		"an annotation": func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Template.Annotations = map[string]string{"linkerd.io/inject": "enabled"}
		},
	} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			before := newMD()
			d := &appsv1.Deployment{}
			MutateDeployment(d, before, "2.3.0", "", mustTemplate(t, before, "2.3.0"), 3)
			after := newMD(change)
			tpl := mustTemplate(t, after, "2.3.0")

			MutateDeployment(d, after, "2.3.0", "", tpl, 3)

			g.Expect(d.Annotations[AnnotationTemplateHash]).NotTo(Equal(TemplateHash(ptr.To(mustTemplate(t, before, "2.3.0")))))
			g.Expect(d.Spec.Template).To(Equal(tpl), "the pods get the new metadata")
			g.Expect(d.Labels).To(HaveKeyWithValue("team", tpl.Labels["team"]))
		})
	}
}

func TestPodTemplateKeepsSpecEnv(t *testing.T) {
	g := NewWithT(t)
	md := newMD(withEnv(0, corev1.EnvVar{Name: EnvModelVersion, Value: "0.0.1"}))

	tpl, err := PodTemplate(md, "2.3.0")

	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(env(tpl.Spec.Containers[0], EnvModelVersion)).To(Equal([]corev1.EnvVar{{Name: EnvModelVersion, Value: "2.3.0"}}))
	g.Expect(md.Spec.Template.Spec.Containers[0].Env).To(Equal([]corev1.EnvVar{{Name: EnvModelVersion, Value: "0.0.1"}}),
		"replacing a variable in place must not write through to the spec")
}

func TestTemplateHash(t *testing.T) {
	tpl := func(md *servingv1alpha1.ModelDeployment, version string) *corev1.PodTemplateSpec {
		t.Helper()
		out, err := PodTemplate(md, version)
		if err != nil {
			t.Fatal(err)
		}
		return &out
	}
	base := TemplateHash(tpl(newMD(), "2.3.0"))

	tests := []struct {
		name     string
		tpl      *corev1.PodTemplateSpec
		wantSame bool
	}{
		{"same spec again", tpl(newMD(), "2.3.0"), true},
		{"a copy", tpl(newMD(), "2.3.0").DeepCopy(), true},
		{"other version", tpl(newMD(), "2.3.1"), false},
		{"other image", tpl(newMD(func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Template.Spec.Containers[0].Image = "registry.example/ml/server:1.5"
		}), "2.3.0"), false},
		{"other model URI", tpl(newMD(func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Model.URI = "s3://models/fraud-scorer/2.3.0"
		}), "2.3.0"), false},
		{"other user label", tpl(newMD(func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Template.Labels["team"] = "fraud"
		}), "2.3.0"), false},
		{"replicas are not part of the template", tpl(newMD(func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Replicas = ptr.To[int32](7)
		}), "2.3.0"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := TemplateHash(tt.tpl)
			g.Expect(got).To(MatchRegexp(`^[0-9a-f]{8}$`))
			if tt.wantSame {
				g.Expect(got).To(Equal(base))
			} else {
				g.Expect(got).NotTo(Equal(base))
			}
		})
	}
}

// served is what the API server returns for a Deployment modelgate created:
// the template and the strategy with their defaults filled in.
func served(d *appsv1.Deployment) *appsv1.Deployment {
	out := d.DeepCopy()
	ps := &out.Spec.Template.Spec
	ps.RestartPolicy = corev1.RestartPolicyAlways
	ps.DNSPolicy = corev1.DNSClusterFirst
	ps.SchedulerName = corev1.DefaultSchedulerName
	ps.TerminationGracePeriodSeconds = ptr.To[int64](30)
	ps.SecurityContext = &corev1.PodSecurityContext{}
	for i := range ps.Containers {
		ps.Containers[i].TerminationMessagePath = corev1.TerminationMessagePathDefault
		ps.Containers[i].TerminationMessagePolicy = corev1.TerminationMessageReadFile
		ps.Containers[i].ImagePullPolicy = corev1.PullIfNotPresent
	}
	if out.Spec.Strategy.Type == "" {
		out.Spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if ru := out.Spec.Strategy.RollingUpdate; ru == nil {
		out.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
	}
	if out.Spec.Strategy.RollingUpdate.MaxSurge == nil {
		out.Spec.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromString("25%"))
	}
	if out.Spec.Strategy.RollingUpdate.MaxUnavailable == nil {
		out.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromString("25%"))
	}
	if out.Spec.ProgressDeadlineSeconds == nil {
		out.Spec.ProgressDeadlineSeconds = ptr.To[int32](600)
	}
	out.ResourceVersion = "42"
	out.UID = "0b8e8f4c-5d8a-4c55-9a43-1b1c8c9f0e5f"
	return out
}

func mustTemplate(t *testing.T, md *servingv1alpha1.ModelDeployment, version string) corev1.PodTemplateSpec {
	t.Helper()
	tpl, err := PodTemplate(md, version)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// newDeployment is the Deployment of one version as the controller creates
// it: a new object written by MutateDeployment.
func newDeployment(md *servingv1alpha1.ModelDeployment, version string, tpl corev1.PodTemplateSpec, replicas int32) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: DeploymentName(md, version), Namespace: md.Namespace}}
	MutateDeployment(d, md, version, "", tpl, replicas)
	return d
}

func TestNewDeployment(t *testing.T) {
	g := NewWithT(t)
	md := newMD(func(md *servingv1alpha1.ModelDeployment) {
		md.Spec.Strategy.ProgressDeadline = &metav1.Duration{Duration: 5 * time.Minute}
	})
	tpl := mustTemplate(t, md, "2.3.0-rc.1")

	d := newDeployment(md, "2.3.0-rc.1", tpl, 2)

	g.Expect(d.Name).To(Equal("fraud-scorer-v2-3-0-rc-1-f6af25"))
	g.Expect(d.Namespace).To(Equal("risk"))
	g.Expect(d.Labels).To(Equal(mergeLabels(map[string]string{"team": "risk"}, VersionLabels(md, "2.3.0-rc.1"))),
		"the template's labels beside modelgate's")
	g.Expect(d.Annotations).To(Equal(map[string]string{
		AnnotationModelVersion: "2.3.0-rc.1",
		AnnotationTemplateHash: TemplateHash(&tpl),
	}))
	g.Expect(d.Spec.Replicas).To(Equal(ptr.To[int32](2)))
	g.Expect(d.Spec.Selector).To(Equal(&metav1.LabelSelector{MatchLabels: VersionLabels(md, "2.3.0-rc.1")}))
	g.Expect(d.Spec.Template).To(Equal(tpl))
	// The selector must select the pods of the template, or the API server refuses it.
	for k, v := range d.Spec.Selector.MatchLabels {
		g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(k, v))
	}
	g.Expect(d.Spec.ProgressDeadlineSeconds).To(Equal(ptr.To[int32](300)))
	g.Expect(d.Spec.RevisionHistoryLimit).To(Equal(ptr.To[int32](2)))
	g.Expect(d.OwnerReferences).To(BeEmpty(), "the caller sets the owner")
}

func TestMutateDeployment(t *testing.T) {
	pct := func(s string) *intstr.IntOrString { return ptr.To(intstr.FromString(s)) }
	num := func(i int32) *intstr.IntOrString { return ptr.To(intstr.FromInt32(i)) }
	rolling := func(surge, unavailable *intstr.IntOrString) func(*servingv1alpha1.ModelDeployment) {
		return func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Strategy.Rolling = &servingv1alpha1.RollingStrategy{MaxSurge: surge, MaxUnavailable: unavailable}
		}
	}
	deadline := func(d time.Duration) func(*servingv1alpha1.ModelDeployment) {
		return func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Strategy.ProgressDeadline = &metav1.Duration{Duration: d}
		}
	}
	// existing is the served Deployment of version 2.3.0 as created from md.
	existing := func(md *servingv1alpha1.ModelDeployment) *appsv1.Deployment {
		return served(newDeployment(md, "2.3.0", mustTemplate(t, md, "2.3.0"), 3))
	}

	tests := []struct {
		name string
		// existing Deployment, nil for a new one.
		existing *appsv1.Deployment
		md       *servingv1alpha1.ModelDeployment
		replicas int32
		check    func(g Gomega, before, after *appsv1.Deployment, tpl corev1.PodTemplateSpec)
	}{
		{
			name:     "unchanged: a served Deployment is left exactly as it is",
			existing: existing(newMD(rolling(num(1), nil), deadline(5*time.Minute))),
			md:       newMD(rolling(num(1), nil), deadline(5*time.Minute)),
			replicas: 3,
			check: func(g Gomega, before, after *appsv1.Deployment, _ corev1.PodTemplateSpec) {
				g.Expect(after).To(Equal(before), "an unchanged Deployment must not be patched")
			},
		},
		{
			name:     "unchanged without rolling settings",
			existing: existing(newMD()),
			md:       newMD(),
			replicas: 3,
			check: func(g Gomega, before, after *appsv1.Deployment, _ corev1.PodTemplateSpec) {
				g.Expect(after).To(Equal(before), "an unchanged Deployment must not be patched")
			},
		},
		{
			name:     "same template hash: API server defaults in the template stay",
			existing: existing(newMD()),
			md:       newMD(),
			replicas: 5,
			check: func(g Gomega, before, after *appsv1.Deployment, _ corev1.PodTemplateSpec) {
				g.Expect(after.Spec.Template).To(Equal(before.Spec.Template))
				g.Expect(after.Spec.Template.Spec.RestartPolicy).To(Equal(corev1.RestartPolicyAlways))
				g.Expect(after.Spec.Replicas).To(Equal(ptr.To[int32](5)), "the size is still set")
			},
		},
		{
			name:     "changed template is written with its hash",
			existing: existing(newMD()),
			md: newMD(func(md *servingv1alpha1.ModelDeployment) {
				md.Spec.Template.Spec.Containers[0].Image = "registry.example/ml/server:1.5"
			}),
			replicas: 3,
			check: func(g Gomega, before, after *appsv1.Deployment, tpl corev1.PodTemplateSpec) {
				g.Expect(after.Spec.Template).To(Equal(tpl))
				g.Expect(after.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/ml/server:1.5"))
				g.Expect(after.Annotations[AnnotationTemplateHash]).To(Equal(TemplateHash(&tpl)))
				g.Expect(after.Annotations[AnnotationTemplateHash]).NotTo(Equal(before.Annotations[AnnotationTemplateHash]))
			},
		},
		{
			name: "selector is never overwritten once set",
			existing: func() *appsv1.Deployment {
				d := existing(newMD())
				d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "fraud-scorer"}}
				return d
			}(),
			md:       newMD(),
			replicas: 3,
			check: func(g Gomega, _, after *appsv1.Deployment, _ corev1.PodTemplateSpec) {
				g.Expect(after.Spec.Selector).To(Equal(&metav1.LabelSelector{MatchLabels: map[string]string{"app": "fraud-scorer"}}))
			},
		},
		{
			name: "labels and annotations of others are kept, modelgate's are restored",
			existing: func() *appsv1.Deployment {
				d := existing(newMD())
				d.Labels["cost-center"] = "ml"
				d.Labels[LabelVersion] = "tampered"
				d.Annotations["deployment.kubernetes.io/revision"] = "4"
				d.Annotations[AnnotationModelVersion] = "tampered"
				return d
			}(),
			md:       newMD(),
			replicas: 3,
			check: func(g Gomega, _, after *appsv1.Deployment, _ corev1.PodTemplateSpec) {
				g.Expect(after.Labels).To(HaveKeyWithValue("cost-center", "ml"))
				g.Expect(after.Labels).To(HaveKeyWithValue(LabelVersion, "2.3.0"))
				g.Expect(after.Annotations).To(HaveKeyWithValue("deployment.kubernetes.io/revision", "4"))
				g.Expect(after.Annotations).To(HaveKeyWithValue(AnnotationModelVersion, "2.3.0"))
			},
		},
		{
			name:     "progress deadline from spec.strategy.progressDeadline",
			existing: existing(newMD()),
			md:       newMD(deadline(90 * time.Second)),
			replicas: 3,
			check: func(g Gomega, _, after *appsv1.Deployment, _ corev1.PodTemplateSpec) {
				g.Expect(after.Spec.ProgressDeadlineSeconds).To(Equal(ptr.To[int32](90)))
			},
		},
		{
			name:     "no progress deadline leaves the Deployment's",
			existing: existing(newMD()),
			md:       newMD(),
			replicas: 3,
			check: func(g Gomega, _, after *appsv1.Deployment, _ corev1.PodTemplateSpec) {
				g.Expect(after.Spec.ProgressDeadlineSeconds).To(Equal(ptr.To[int32](600)))
			},
		},
		{
			name:     "new Deployment: maxSurge and maxUnavailable from spec.strategy.rolling",
			md:       newMD(rolling(num(1), num(0))),
			replicas: 3,
			check: func(g Gomega, _, after *appsv1.Deployment, _ corev1.PodTemplateSpec) {
				g.Expect(after.Spec.Strategy).To(Equal(appsv1.DeploymentStrategy{
					Type:          appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: num(1), MaxUnavailable: num(0)},
				}))
			},
		},
		{
			name:     "only maxUnavailable set: maxSurge keeps the default",
			existing: existing(newMD()),
			md:       newMD(rolling(nil, pct("50%"))),
			replicas: 3,
			check: func(g Gomega, _, after *appsv1.Deployment, _ corev1.PodTemplateSpec) {
				g.Expect(after.Spec.Strategy.RollingUpdate).To(Equal(&appsv1.RollingUpdateDeployment{MaxSurge: pct("25%"), MaxUnavailable: pct("50%")}))
			},
		},
		{
			name:     "rolling settings removed from the spec: the defaults come back",
			existing: existing(newMD(rolling(num(1), num(0)))),
			md:       newMD(),
			replicas: 3,
			check: func(g Gomega, before, after *appsv1.Deployment, _ corev1.PodTemplateSpec) {
				g.Expect(before.Spec.Strategy.RollingUpdate.MaxUnavailable).To(Equal(num(0)))
				g.Expect(after.Spec.Strategy).To(Equal(appsv1.DeploymentStrategy{
					Type:          appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: pct("25%"), MaxUnavailable: pct("25%")},
				}))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: DeploymentName(tt.md, "2.3.0"), Namespace: "risk"}}
			if tt.existing != nil {
				d = tt.existing.DeepCopy()
			}
			before := d.DeepCopy()
			mdBefore := tt.md.DeepCopy()
			tpl := mustTemplate(t, tt.md, "2.3.0")

			MutateDeployment(d, tt.md, "2.3.0", "", tpl, tt.replicas)

			g.Expect(d.Spec.Replicas).To(Equal(ptr.To(tt.replicas)))
			g.Expect(d.Annotations).To(HaveKeyWithValue(AnnotationTemplateHash, TemplateHash(&tpl)))
			g.Expect(tt.md).To(Equal(mdBefore), "the spec must not change")
			tt.check(g, before, d, tpl)
		})
	}
}

func TestServicePorts(t *testing.T) {
	http := func(port int32, target intstr.IntOrString) corev1.ServicePort {
		return corev1.ServicePort{Name: "http", Port: port, TargetPort: target, Protocol: corev1.ProtocolTCP}
	}
	metrics := func(port int32) corev1.ServicePort {
		return corev1.ServicePort{Name: "metrics", Port: port, TargetPort: intstr.FromInt32(port), Protocol: corev1.ProtocolTCP}
	}
	tests := []struct {
		name    string
		service servingv1alpha1.ServiceSpec
		want    []corev1.ServicePort
	}{
		{"defaults to 8080", servingv1alpha1.ServiceSpec{}, []corev1.ServicePort{http(8080, intstr.FromInt32(8080))}},
		{"target port defaults to port", servingv1alpha1.ServiceSpec{Port: 80}, []corev1.ServicePort{http(80, intstr.FromInt32(80))}},
		{
			"target port by number",
			servingv1alpha1.ServiceSpec{Port: 80, TargetPort: ptr.To(intstr.FromInt32(9000))},
			[]corev1.ServicePort{http(80, intstr.FromInt32(9000))},
		},
		{
			"target port by name",
			servingv1alpha1.ServiceSpec{Port: 80, TargetPort: ptr.To(intstr.FromString("predict"))},
			[]corev1.ServicePort{http(80, intstr.FromString("predict"))},
		},
		{
			"metrics port added",
			servingv1alpha1.ServiceSpec{Port: 8080, MetricsPort: ptr.To[int32](9090)},
			[]corev1.ServicePort{http(8080, intstr.FromInt32(8080)), metrics(9090)},
		},
		{
			"metrics port added beside the default port",
			servingv1alpha1.ServiceSpec{MetricsPort: ptr.To[int32](9090)},
			[]corev1.ServicePort{http(8080, intstr.FromInt32(8080)), metrics(9090)},
		},
		{
			"metrics port equal to the port is not repeated",
			servingv1alpha1.ServiceSpec{Port: 8080, MetricsPort: ptr.To[int32](8080)},
			[]corev1.ServicePort{http(8080, intstr.FromInt32(8080))},
		},
		{
			"metrics port equal to the default port is not repeated",
			servingv1alpha1.ServiceSpec{MetricsPort: ptr.To[int32](8080)},
			[]corev1.ServicePort{http(8080, intstr.FromInt32(8080))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(ServicePorts(newMD(withService(tt.service)))).To(Equal(tt.want))
		})
	}
}

func TestServices(t *testing.T) {
	g := NewWithT(t)
	md := newMD(withService(servingv1alpha1.ServiceSpec{Port: 80, TargetPort: ptr.To(intstr.FromInt32(8080)), MetricsPort: ptr.To[int32](9090)}))
	sel := ServiceSelectors{
		Apex:      SelectorLabels(md),
		Stable:    VersionLabels(md, "2.2.0"),
		Candidate: VersionLabels(md, "2.3.0"),
	}

	svcs := Services(md, sel)

	g.Expect(svcs).To(HaveLen(3))
	want := []struct {
		name     string
		selector map[string]string
	}{
		{"fraud-scorer", sel.Apex},
		{"fraud-scorer-stable", sel.Stable},
		{"fraud-scorer-candidate", sel.Candidate},
	}
	for i, w := range want {
		svc := svcs[i]
		g.Expect(svc.Name).To(Equal(w.name))
		g.Expect(svc.Namespace).To(Equal("risk"))
		g.Expect(svc.Labels).To(Equal(SelectorLabels(md)))
		g.Expect(svc.Spec.Selector).To(Equal(w.selector), "selector of %s", w.name)
		g.Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
		g.Expect(svc.Spec.Ports).To(Equal(ServicePorts(md)))
	}
	g.Expect(svcs[0].Spec.Selector).NotTo(HaveKey(LabelVersion), "the apex Service selects every version")
}

func TestMutateService(t *testing.T) {
	g := NewWithT(t)
	md := newMD(withService(servingv1alpha1.ServiceSpec{Port: 8080, MetricsPort: ptr.To[int32](9090)}))
	// A Service as the API server returns it, selecting the old stable version.
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: "fraud-scorer-stable", Namespace: "risk",
			Labels: map[string]string{"cost-center": "ml", LabelManagedBy: "someone"},
		},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeClusterIP,
			ClusterIP:  "10.96.12.7",
			ClusterIPs: []string{"10.96.12.7"},
			Selector:   VersionLabels(md, "2.2.0"),
			Ports:      []corev1.ServicePort{{Name: "http", Port: 8080, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}

	MutateService(svc, md, VersionLabels(md, "2.3.0"))

	g.Expect(svc.Spec.Selector).To(HaveKeyWithValue(LabelVersion, "2.3.0"))
	g.Expect(svc.Spec.ClusterIP).To(Equal("10.96.12.7"), "the allocated cluster IP is kept")
	g.Expect(svc.Spec.Ports).To(Equal(ServicePorts(md)), "the metrics port is added")
	g.Expect(svc.Labels).To(Equal(map[string]string{
		"cost-center":                  "ml",
		"app.kubernetes.io/managed-by": "modelgate",
		"app.kubernetes.io/name":       "fraud-scorer",
	}))
}

// A later revision of a version runs in a Deployment of its own whose pods
// only its own selectors match; the first revision keeps the plain name.
func TestRevisions(t *testing.T) {
	g := NewWithT(t)
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer"}}
	name := RevisionDeploymentName(md, "2.4.0", "0a1b2c3d")
	g.Expect(name).To(Equal("fraud-scorer-v2-4-0-0a1b2c3d"))
	g.Expect(RevisionOf(md, "2.4.0", name)).To(Equal("0a1b2c3d"))
	g.Expect(RevisionOf(md, "2.4.0", DeploymentName(md, "2.4.0"))).To(BeEmpty())
	g.Expect(RevisionOf(md, "2.4.0-rc.1", DeploymentName(md, "2.4.0-rc.1"))).To(BeEmpty(), "a pre-release's own hash is no revision")
	g.Expect(RevisionOf(md, "2.4.0", "fraud-scorer-v2-4-0-nothex00")).To(BeEmpty())

	first, later := RevisionLabels(md, "2.4.0", ""), RevisionLabels(md, "2.4.0", "0a1b2c3d")
	g.Expect(first).To(Equal(VersionLabels(md, "2.4.0")))
	g.Expect(later[LabelVersion]).To(Equal("2.4.0_.0a1b2c3d"))
	g.Expect(labels.SelectorFromSet(first).Matches(labels.Set(later))).To(BeFalse(), "the stable Service does not select the candidate revision's pods")

	md.Spec.Template.Spec.Containers = []corev1.Container{{Name: "server", Image: "x"}}
	tpl, err := PodTemplate(md, "2.4.0")
	g.Expect(err).NotTo(HaveOccurred())
	d := &appsv1.Deployment{}
	MutateDeployment(d, md, "2.4.0", "0a1b2c3d", tpl, 1)
	g.Expect(d.Spec.Selector.MatchLabels).To(Equal(later))
	g.Expect(d.Spec.Template.Labels).To(HaveKeyWithValue(LabelVersion, "2.4.0_.0a1b2c3d"))
	g.Expect(d.Annotations[AnnotationTemplateHash]).To(Equal(TemplateHash(&tpl)), "the hash is the revision's identity, not of its relabelled pods")
	g.Expect(RevisionLabel("2.4.0", "0a1b2c3d")).To(Equal("2.4.0_.0a1b2c3d"))
	g.Expect(RevisionLabel("2.4.0+b1", "0a1b2c3d")).To(Equal("2.4.0_b1_.0a1b2c3d"))
	g.Expect(RevisionLabel("2.4.0", "")).To(BeEmpty())
	g.Expect(d.Spec.Template.Spec.Containers[0].Env).To(ContainElement(corev1.EnvVar{Name: EnvModelRevision, ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['serving.modelgate.dev/version']"},
	}}), "a later revision's server reports its revision, read from its pods' label")
	g.Expect(tpl.Spec.Containers[0].Env).NotTo(ContainElement(HaveField("Name", EnvModelRevision)), "the spec's template is not changed")

	firstDep := &appsv1.Deployment{}
	MutateDeployment(firstDep, md, "2.4.0", "", tpl, 1)
	g.Expect(firstDep.Spec.Template).To(Equal(tpl), "a first revision's pods are as before: no revision to report")
}

func TestVersionServices(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*servingv1alpha1.ModelDeployment)
		want   bool
	}{
		{name: "a canary without a router serves from <name> alone", mutate: func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary}
		}, want: false},
		{name: "a rolling update serves from <name> alone", mutate: func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyRolling}
		}, want: false},
		{name: "analysis on metrics alone needs no version Service", mutate: func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary}
			md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{}
		}, want: false},
		{name: "a router's backends are the version Services", mutate: func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, TrafficRouting: &servingv1alpha1.TrafficRouting{}}
		}, want: true},
		{name: "a blue-green previews the candidate on <name>-candidate", mutate: func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyBlueGreen}
		}, want: true},
		{name: "a smoke test finds the candidate through <name>-candidate", mutate: func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary}
			md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{SmokeTest: &servingv1alpha1.SmokeTestSpec{}}
		}, want: true},
		{name: "so does a load test", mutate: func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary}
			md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{LoadTest: &servingv1alpha1.LoadTestSpec{}}
		}, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md := &servingv1alpha1.ModelDeployment{}
			tc.mutate(md)
			if got := VersionServices(md); got != tc.want {
				t.Errorf("VersionServices = %v, want %v", got, tc.want)
			}
		})
	}
}
