package manifestcheck

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/internal/manifests"
)

// objects reads manifests given as text.
func objects(t *testing.T, docs ...string) []manifests.Object {
	t.Helper()
	set, err := manifests.NewReader(Scheme(), strings.NewReader(strings.Join(docs, "\n---\n"))).Read([]string{manifests.Stdin})
	if err != nil {
		t.Fatal(err)
	}
	return set.Objects
}

// item finds a checklist item of a judgement.
func item(j Judgement, id string) servingv1alpha1.ChecklistItemStatus {
	for _, it := range j.Result.Status.Items {
		if it.ID == id {
			return it
		}
	}
	return servingv1alpha1.ChecklistItemStatus{}
}

const model = `apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: NAME}
spec:
  model: {name: NAME, version: 1.0.0, uri: pvc://models/NAME/1.0.0}
  replicas: 2
  checklist: {profile: PROFILE}
  template:
    spec:
      containers:
        - name: server
          image: registry.example/server:1
          envFrom: [{secretRef: {name: creds}}]`

func md(name, profile string) string {
	return strings.NewReplacer("NAME", name, "PROFILE", profile).Replace(model)
}

func TestCheckSurroundings(t *testing.T) {
	pdb := func(ns string) string {
		return "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p, namespace: " + ns + "}\nspec: {maxUnavailable: 1, selector: {matchLabels: {app.kubernetes.io/name: m}}}"
	}
	secret := func(ns, data string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: " + ns + "}\n" + data
	}
	tests := []struct {
		name      string
		namespace string
		docs      []string
		want      map[string]servingv1alpha1.CheckResult
	}{
		{"nothing around it", "", []string{md("m", "production")},
			map[string]servingv1alpha1.CheckResult{"pdb": "Fail", "secrets": "Fail"}},
		{"its PDB and Secret in the default namespace", "", []string{md("m", "production"), pdb("default"), secret("default", "data: {k: dg==}")},
			map[string]servingv1alpha1.CheckResult{"pdb": "Pass", "secrets": "Pass"}},
		{"a Secret's stringData counts, as the API server folds it into data", "", []string{md("m", "production"), secret("default", "stringData: {k: v}")},
			map[string]servingv1alpha1.CheckResult{"secrets": "Pass"}},
		{"objects of another namespace are not its surroundings", "", []string{md("m", "production"), pdb("other"), secret("other", "data: {k: dg==}")},
			map[string]servingv1alpha1.CheckResult{"pdb": "Fail", "secrets": "Fail"}},
		{"--namespace places the objects that name none", "ml", []string{md("m", "production"), pdb("ml"), secret("ml", "data: {k: dg==}")},
			map[string]servingv1alpha1.CheckResult{"pdb": "Pass", "secrets": "Pass"}},
		{"the profile's severities apply", "", []string{md("m", "development")},
			map[string]servingv1alpha1.CheckResult{"pdb": "Skipped", "secrets": "Fail"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			js, err := Check(context.Background(), objects(t, tt.docs...), Options{Namespace: tt.namespace})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(js).To(HaveLen(1))
			for id, want := range tt.want {
				g.Expect(item(js[0], id).Result).To(Equal(want), "%s: %s", id, item(js[0], id).Message)
			}
		})
	}
}

// TestCheckOffline: what only a cluster holds is never guessed: capacity
// reports Unknown with a remediation for the manifests' author, and does not
// fail the check.
func TestCheckOffline(t *testing.T) {
	g := NewWithT(t)
	js, err := Check(context.Background(), objects(t, md("m", "production")), Options{})
	g.Expect(err).NotTo(HaveOccurred())
	j := js[0]
	capacity := item(j, "capacity")
	g.Expect(capacity.Result).To(Equal(servingv1alpha1.CheckUnknown))
	g.Expect(capacity.Message).To(ContainSubstring(Offline))
	g.Expect(capacity.Remediation).To(Equal(OfflineRemediation("m")))
	g.Expect(j.Unknown()).To(Equal([]string{"capacity"}))
	g.Expect(j.Failed()).NotTo(ContainElement("capacity"))
	g.Expect(j.Result.Blocking).To(ContainElement("capacity"), "the operator would hold the version on it")

	artifact := item(j, "model-artifact")
	g.Expect(artifact.Result).To(Equal(servingv1alpha1.CheckSkipped), "pvc:// is checked for form only")
	g.Expect(item(j, "model-registry").Result).To(Equal(servingv1alpha1.CheckFail), "not declared fails without the network")
}

func TestCheckPassedFailedUnknown(t *testing.T) {
	g := NewWithT(t)
	j := Judgement{Result: checklist.Result{
		Blocking: []string{"a", "b", "c"},
		Status: servingv1alpha1.ChecklistStatus{Items: []servingv1alpha1.ChecklistItemStatus{
			{ID: "a", Result: "Fail"}, {ID: "b", Result: "Unknown"}, {ID: "c", Result: "Fail"}, {ID: "d", Result: "Warn"}, {ID: "e", Result: "Unknown"},
		}},
	}}
	g.Expect(j.Failed()).To(Equal([]string{"a", "c"}))
	g.Expect(j.Unknown()).To(Equal([]string{"b"}), "an Unknown that is not enforced blocks nothing")
	g.Expect(j.Passed()).To(BeFalse())
	j.Result.Blocking = []string{"b"}
	g.Expect(j.Passed()).To(BeTrue())
}

// recordingProber answers every probe with a failure and records the asks.
type recordingProber struct{ asked []string }

func (p *recordingProber) Artifact(_ context.Context, uri string) *checklist.Finding {
	p.asked = append(p.asked, uri)
	f := checklist.Fail("", "no such artifact")
	return &f
}

func (p *recordingProber) Registry(context.Context, servingv1alpha1.ModelRegistryRef, string) *checklist.Finding {
	return nil
}

func (p *recordingProber) Document(context.Context, string) *checklist.ModelCardDocument { return nil }

func TestCheckNetwork(t *testing.T) {
	g := NewWithT(t)
	p := &recordingProber{}
	js, err := Check(context.Background(), objects(t, md("m", "production")), Options{Prober: p})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.asked).To(Equal([]string{"pvc://models/m/1.0.0"}))
	g.Expect(item(js[0], "model-artifact").Result).To(Equal(servingv1alpha1.CheckFail))
	g.Expect(item(js[0], "model-artifact").Remediation).To(ContainSubstring("spec.model.uri"))
}

func TestCheckInvalidSpec(t *testing.T) {
	g := NewWithT(t)
	broken := strings.Replace(md("broken", "production"), "name: server", "name: server\n          # no serving container named model", 1)
	broken = strings.Replace(broken, "  replicas: 2", "  replicas: 2\n  servingContainer: model", 1)
	js, err := Check(context.Background(), objects(t, md("ok", "production"), broken), Options{})
	g.Expect(js).To(HaveLen(1), "the others are judged all the same")
	var invalid InvalidSpecs
	g.Expect(errors.As(err, &invalid)).To(BeTrue())
	g.Expect(err.Error()).To(Equal(`<stdin>:16: ModelDeployment default/broken: spec.servingContainer "model" names no container in spec.template.spec.containers`))
}

// TestCheckDoesNotChangeObjects: the objects read are not changed by judging them.
func TestCheckDoesNotChangeObjects(t *testing.T) {
	g := NewWithT(t)
	objs := objects(t, md("m", "production"), "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}")
	_, err := Check(context.Background(), objs, Options{Namespace: "ml"})
	g.Expect(err).NotTo(HaveOccurred())
	for _, o := range objs {
		g.Expect(o.Object.(interface{ GetNamespace() string }).GetNamespace()).To(BeEmpty())
	}
}

func TestCheckSamples(t *testing.T) {
	g := NewWithT(t)
	set, err := manifests.NewReader(Scheme(), nil).Read([]string{filepath.Join("..", "..", "config", "samples")})
	g.Expect(err).NotTo(HaveOccurred())
	js, err := Check(context.Background(), set.Objects, Options{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(js).To(HaveLen(1))
	g.Expect(js[0].Passed()).To(BeTrue(), "%v", js[0].Result.BlockingMessage())
}
