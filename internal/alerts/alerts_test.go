package alerts

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// md is fraud-scorer in ml with the three triggers, stable at 1.0.0.
func md(mut ...func(*servingv1alpha1.ModelDeployment)) *servingv1alpha1.ModelDeployment {
	m := &servingv1alpha1.ModelDeployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "fraud-scorer"},
		Spec: servingv1alpha1.ModelDeploymentSpec{
			Model: servingv1alpha1.ModelSpec{Name: "fraud-scorer", Version: "1.0.0"},
			Analysis: &servingv1alpha1.AnalysisSpec{
				Interval: &metav1.Duration{Duration: 30 * time.Second},
				Triggers: &servingv1alpha1.TriggersSpec{
					ErrorRate:    &servingv1alpha1.ErrorRateTrigger{MaxPercent: "5"},
					LatencyP95:   &servingv1alpha1.LatencyTrigger{MaxMilliseconds: 300},
					AccuracyDrop: &servingv1alpha1.AccuracyDropTrigger{MaxPercent: "2"},
				},
			},
		},
		Status: servingv1alpha1.ModelDeploymentStatus{Stable: &servingv1alpha1.VersionStatus{Version: "1.0.0"}},
	}
	for _, f := range mut {
		f(m)
	}
	return m
}

const sel = `namespace="ml",modeldeployment="fraud-scorer"`

func errorRate(version, window string) string {
	s := sel + `,version="` + version + `",revision=""`
	return `100 * sum(rate(model_requests_total{` + s + `,code=~"5.."}[` + window + `])) / sum(rate(model_requests_total{` + s + `}[` + window + `]))`
}

func accuracy(version, window string) string {
	s := sel + `,version="` + version + `",revision=""`
	return `sum(rate(model_feedback_total{` + s + `,outcome="correct"}[` + window + `])) / sum(rate(model_feedback_total{` + s + `}[` + window + `]))`
}

// summary is a rule without its annotations: name, version, severity, for and expression.
type summary struct{ Alert, Version, Severity, For, Expr string }

func summarize(f *File) []summary {
	if f == nil {
		return nil
	}
	var out []summary
	for _, r := range f.Groups[0].Rules {
		out = append(out, summary{r.Alert, r.Labels[LabelVersion], r.Labels[LabelSeverity], r.For, r.Expr})
	}
	return out
}

func operator(window, forText string) []summary {
	return []summary{
		{AlertRolledBack, "", SeverityWarning, "", `max(modelgate_modeldeployment_phase{` + sel + `,phase="RolledBack"}) == 1`},
		{AlertChecklistFailing, "", SeverityWarning, forText, `sum by (check) (modelgate_checklist_result{` + sel + `,result="Fail",severity="Enforce"}) > 0`},
		{AlertAnalysisError, "", SeverityWarning, forText, `sum(increase(modelgate_analysis_measurements_total{` + sel + `,verdict="Error"}[` + window + `])) > 0`},
	}
}

func TestRulesFor(t *testing.T) {
	tests := []struct {
		name    string
		md      *servingv1alpha1.ModelDeployment
		want    []summary
		wantErr string
	}{
		{name: "no analysis, no alerts", md: md(func(m *servingv1alpha1.ModelDeployment) { m.Spec.Analysis = nil })},
		{name: "analysis without triggers, no alerts", md: md(func(m *servingv1alpha1.ModelDeployment) { m.Spec.Analysis.Triggers = nil })},
		{
			name: "stable alone, no evaluated accuracy: no accuracy alert",
			md:   md(),
			want: append([]summary{
				{AlertErrorRate, "1.0.0", SeverityCritical, "5m", "(" + errorRate("1.0.0", "5m") + ") > 5"},
				{AlertLatencyP95, "1.0.0", SeverityWarning, "5m", `(1000 * histogram_quantile(0.95, sum by (le) (rate(model_request_duration_seconds_bucket{` + sel + `,version="1.0.0",revision=""}[5m])))) > 300`},
				{AlertAvailability, "1.0.0", SeverityCritical, "5m", "100 - (" + errorRate("1.0.0", "1h") + ") < 99.9"},
			}, operator("5m", "5m")...),
		},
		{
			name: "stable alone against its evaluated accuracy",
			md: md(func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Analysis.Triggers.LatencyP95 = nil
				m.Spec.Model.Evaluation = map[string]servingv1alpha1.Decimal{"accuracy": "0.94"}
			}),
			want: append([]summary{
				{AlertErrorRate, "1.0.0", SeverityCritical, "5m", "(" + errorRate("1.0.0", "5m") + ") > 5"},
				{AlertAvailability, "1.0.0", SeverityCritical, "5m", "100 - (" + errorRate("1.0.0", "1h") + ") < 99.9"},
				{AlertAccuracyDrop, "1.0.0", SeverityWarning, "5m", "100 * (1 - (" + accuracy("1.0.0", "5m") + ") / 0.94) > 2"},
			}, operator("5m", "5m")...),
		},
		{
			name: "a candidate beside stable: both watched, the candidate's accuracy against stable's",
			md: md(func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Model.Version = "2.0.0"
				m.Spec.Analysis.Triggers.LatencyP95 = nil
				m.Status.Candidate = &servingv1alpha1.CandidateStatus{VersionStatus: servingv1alpha1.VersionStatus{Version: "2.0.0"}, Weight: 10}
			}),
			want: append([]summary{
				{AlertErrorRate, "1.0.0", SeverityCritical, "5m", "(" + errorRate("1.0.0", "5m") + ") > 5"},
				{AlertAvailability, "1.0.0", SeverityCritical, "5m", "100 - (" + errorRate("1.0.0", "1h") + ") < 99.9"},
				{AlertErrorRate, "2.0.0", SeverityCritical, "5m", "(" + errorRate("2.0.0", "5m") + ") > 5"},
				{AlertAvailability, "2.0.0", SeverityCritical, "5m", "100 - (" + errorRate("2.0.0", "1h") + ") < 99.9"},
				{AlertAccuracyDrop, "2.0.0", SeverityWarning, "5m", "100 * (1 - (" + accuracy("2.0.0", "5m") + ") / scalar(" + accuracy("1.0.0", "5m") + ")) > 2"},
			}, operator("5m", "5m")...),
		},
		{
			name: "before any status: the spec's version; objective, for and a long interval from the spec",
			md: md(func(m *servingv1alpha1.ModelDeployment) {
				m.Status = servingv1alpha1.ModelDeploymentStatus{}
				m.Spec.Analysis.Triggers = &servingv1alpha1.TriggersSpec{ErrorRate: &servingv1alpha1.ErrorRateTrigger{MaxPercent: "0.50"}}
				m.Spec.Analysis.Interval = &metav1.Duration{Duration: 10 * time.Minute}
				m.Spec.Alerts = &servingv1alpha1.AlertsSpec{AvailabilityObjective: "99.5", For: &metav1.Duration{}}
			}),
			want: append([]summary{
				{AlertErrorRate, "1.0.0", SeverityCritical, "", "(" + errorRate("1.0.0", "10m") + ") > 0.5"},
				{AlertAvailability, "1.0.0", SeverityCritical, "", "100 - (" + errorRate("1.0.0", "1h") + ") < 99.5"},
			}, operator("10m", "")...),
		},
		{
			name: "overridden metric names flow into the alerts",
			md: md(func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Analysis.Triggers = &servingv1alpha1.TriggersSpec{ErrorRate: &servingv1alpha1.ErrorRateTrigger{MaxPercent: "1"}}
				m.Spec.Alerts = &servingv1alpha1.AlertsSpec{For: &metav1.Duration{Duration: 90 * time.Second}}
				m.Spec.Analysis.Prometheus = &servingv1alpha1.PrometheusSpec{Queries: &servingv1alpha1.QueryTemplates{
					ErrorRate: `100 * sum(rate(http_errors_total{app="{{.Name}}",ver="{{.Version}}"}[{{.Window}}])) / sum(rate(http_total{app="{{.Name}}",ver="{{.Version}}"}[{{.Window}}]))`,
				}}
			}),
			want: append([]summary{
				{AlertErrorRate, "1.0.0", SeverityCritical, "1m30s", `(100 * sum(rate(http_errors_total{app="fraud-scorer",ver="1.0.0"}[5m])) / sum(rate(http_total{app="fraud-scorer",ver="1.0.0"}[5m]))) > 1`},
				{AlertAvailability, "1.0.0", SeverityCritical, "1m30s", `100 - (100 * sum(rate(http_errors_total{app="fraud-scorer",ver="1.0.0"}[1h])) / sum(rate(http_total{app="fraud-scorer",ver="1.0.0"}[1h]))) < 99.9`},
			}, operator("5m", "1m30s")...),
		},
		{
			name: "a template with another action is the user's to fix",
			md: md(func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Analysis.Prometheus = &servingv1alpha1.PrometheusSpec{Queries: &servingv1alpha1.QueryTemplates{LatencyP95: `{{range 2}}x{{end}}`}}
			}),
			wantErr: "spec.analysis.prometheus.queries.latencyP95: a query template may hold only the placeholders",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RulesFor(tt.md)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, summarize(got)); d != "" {
				t.Errorf("rules (-want +got):\n%s", d)
			}
			if got != nil && got.Groups[0].Name != "modelgate.ml.fraud-scorer" {
				t.Errorf("group %q", got.Groups[0].Name)
			}
		})
	}
}

// Every rule names its ModelDeployment and says what happened; a runbook
// declared in the spec is linked from each.
func TestRulesForLabelsAndAnnotations(t *testing.T) {
	f, err := RulesFor(md(func(m *servingv1alpha1.ModelDeployment) {
		m.Spec.Documentation = &servingv1alpha1.DocumentationSpec{Runbook: "https://runbooks.example/fraud-scorer"}
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Groups[0].Rules {
		if r.Labels[LabelNamespace] != "ml" || r.Labels[LabelModelDeployment] != "fraud-scorer" {
			t.Errorf("%s: labels %v", r.Alert, r.Labels)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" || r.Annotations["runbook_url"] != "https://runbooks.example/fraud-scorer" {
			t.Errorf("%s: annotations %v", r.Alert, r.Annotations)
		}
	}
	want := "{{ $value | printf \"%.2f\" }}% of requests to version 1.0.0 failed over 5m; the rollback trigger's bound is 5%."
	if got := f.Groups[0].Rules[0].Annotations["description"]; got != want {
		t.Errorf("description %q, want %q", got, want)
	}
}

// The hash follows the content and nothing else.
func TestHash(t *testing.T) {
	a, _ := RulesFor(md())
	b, _ := RulesFor(md())
	c, _ := RulesFor(md(func(m *servingv1alpha1.ModelDeployment) { m.Spec.Analysis.Triggers.ErrorRate.MaxPercent = "6" }))
	ha, _ := Hash(a)
	hb, _ := Hash(b)
	hc, _ := Hash(c)
	if ha != hb || ha == hc || len(ha) != 16 {
		t.Errorf("hashes %s %s %s: want the first two equal, the third different", ha, hb, hc)
	}
}

// A candidate of the stable version itself (its template, URI or config
// changed) reports a revision of its own: its alerts select its series and
// carry its revision, apart from the stable's.
func TestRulesForARevisionOfTheStableVersion(t *testing.T) {
	g := NewWithT(t)
	m := md(func(m *servingv1alpha1.ModelDeployment) {
		m.Status.Stable = &servingv1alpha1.VersionStatus{Version: "1.0.0", Deployment: "fraud-scorer-v1-0-0"}
		m.Status.Candidate = &servingv1alpha1.CandidateStatus{VersionStatus: servingv1alpha1.VersionStatus{Version: "1.0.0", Deployment: "fraud-scorer-v1-0-0-0a1b2c3d"}}
	})
	f, err := RulesFor(m)
	g.Expect(err).NotTo(HaveOccurred())
	var stable, candidate []Rule
	for _, r := range f.Groups[0].Rules {
		if r.Alert != AlertErrorRate {
			continue
		}
		if r.Labels[LabelRevision] == "" {
			stable = append(stable, r)
		} else {
			candidate = append(candidate, r)
		}
	}
	g.Expect(stable).To(HaveLen(1))
	g.Expect(stable[0].Expr).To(ContainSubstring(`version="1.0.0",revision=""`))
	g.Expect(candidate).To(HaveLen(1))
	g.Expect(candidate[0].Labels).To(HaveKeyWithValue(LabelVersion, "1.0.0"))
	g.Expect(candidate[0].Labels).To(HaveKeyWithValue(LabelRevision, "1.0.0_.0a1b2c3d"))
	g.Expect(candidate[0].Expr).To(ContainSubstring(`version="1.0.0",revision="1.0.0_.0a1b2c3d"`))
	g.Expect(candidate[0].Annotations["summary"]).To(ContainSubstring("1.0.0 (revision 0a1b2c3d)"))
}
