package analysis

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// hostile is the 76-byte template of issue #18 that rendered 800 MB.
const hostile = `{{range 2000}}{{range 2000}}{{range 10}}{{$.Namespace}}{{end}}{{end}}{{end}}`

func TestCheckTemplate(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		extra      []string
		wantErr    string
	}{
		{name: "placeholders and text", text: `x{ns="{{.Namespace}}",n="{{ .Name }}",v="{{- .Version -}}"}[{{.Window}}]`},
		{name: "no action", text: `up`},
		{name: "the issue's template", text: hostile, wantErr: "only the placeholders"},
		{name: "if", text: `{{if .Name}}x{{end}}`, wantErr: "only the placeholders"},
		{name: "with", text: `{{with .Name}}{{.}}{{end}}`, wantErr: "only the placeholders"},
		{name: "pipe", text: `{{.Name | printf "%s%s"}}`, wantErr: "only the placeholders"},
		{name: "function", text: `{{printf "%0999999d" 1}}`, wantErr: "only the placeholders"},
		{name: "variable", text: `{{$x := .Name}}{{$x}}`, wantErr: "only the placeholders"},
		{name: "root", text: `{{.}}`, wantErr: "only the placeholders"},
		{name: "constant", text: `{{"x"}}`, wantErr: "only the placeholders"},
		{name: "define", text: `{{define "a"}}x{{end}}{{template "a"}}`, wantErr: "only the placeholders"},
		{name: "block", text: `{{block "a" .}}x{{end}}`, wantErr: "only the placeholders"},
		{name: "unknown field", text: `{{.Pod}}`, wantErr: "{{.Pod}}"},
		{name: "the revision", text: `x{revision="{{.Revision}}"}`},
		{name: "nested field", text: `{{.Name.X}}`, wantErr: "only the placeholders"},
		{name: "feature without its metric", text: `{{.Feature}}`, wantErr: "{{.Feature}}"},
		{name: "feature where allowed", text: `f{name="{{.Feature}}"}`, extra: []string{"Feature"}},
		{name: "does not parse", text: `{{.Version`, wantErr: "does not parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			err := CheckTemplate(tc.text, tc.extra...)
			if tc.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tc.wantErr)))
		})
	}
}

// The template is refused before it runs, in well under a second
// and without rendering anything.
func TestQueriesRefuseHostileTemplate(t *testing.T) {
	g := NewWithT(t)
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "fraud-scorer"}}
	md.Spec.Analysis = spec(func(s *servingv1alpha1.AnalysisSpec) {
		s.Metrics = []servingv1alpha1.CustomMetric{{Name: "m", Query: hostile, Min: nil}}
	})
	g.Expect(hostile).To(HaveLen(76))
	start := time.Now()
	_, err := Queries(md, v("2.0.0"), v("1.0.0"), time.Minute)
	g.Expect(err).To(MatchError(ContainSubstring("spec.analysis.metrics[0].query: ")))
	g.Expect(time.Since(start)).To(BeNumerically("<", time.Second))
}

func TestRenderBound(t *testing.T) {
	g := NewWithT(t)
	long := strings.Repeat("x", MaxRendered-10)
	out, err := render(long+`{{.Name}}`, Vars{Name: "abc"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(HaveLen(MaxRendered - 7))
	_, err = render(long+`{{.Name}}`, Vars{Name: strings.Repeat("n", 20)})
	g.Expect(err).To(MatchError(ContainSubstring("longer than 4096 bytes")))
}

// The feature drift queries name their feature; no other query may.
func TestQueriesRenderTheFeatureOfInputDrift(t *testing.T) {
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "fraud-scorer"}}
	md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{Triggers: &servingv1alpha1.TriggersSpec{
		InputDrift: &servingv1alpha1.InputDriftTrigger{MaxPSI: "0.1", MinObservations: 50, Features: []servingv1alpha1.FeatureName{"amount"}}}}
	qs, err := Queries(md, v("2.0.0"), v("1.0.0"), time.Minute)
	if err != nil {
		t.Fatalf("Queries: %v", err)
	}
	found := 0
	for _, q := range qs {
		if strings.Contains(q.PromQL, `feature="amount"`) {
			found++
		}
	}
	if found != 2 {
		t.Errorf("want the feature's histogram queried for both versions, found %d in %v", found, qs)
	}
}
