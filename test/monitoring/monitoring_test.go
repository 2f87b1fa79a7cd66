// Package monitoring holds the generated alerts and the Grafana dashboards
// to the real promtool and Prometheus: every rule file RulesFor writes
// passes `promtool check rules`, the error-rate alert fires in `promtool test
// rules` on series of a version failing 30% of its requests, and every
// expression of the rules and the dashboards runs without error on a
// running Prometheus.
package monitoring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/alerts"
	"github.com/modelgate/modelgate/test/promserver"
)

func tool(t *testing.T, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		t.Fatalf("%s is not set: run these tests with 'make test-integration' (the Makefile passes the pinned promtool and prometheus)", env)
	}
	return p
}

// fixtures are ModelDeployments whose rule files differ in every way the
// spec can make them: triggers, versions running, overridden templates,
// objective, for, runbook, a pre-release version with build metadata.
func fixtures() []*servingv1alpha1.ModelDeployment {
	base := func(ns, name, version string) *servingv1alpha1.ModelDeployment {
		return &servingv1alpha1.ModelDeployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: servingv1alpha1.ModelDeploymentSpec{
				Model: servingv1alpha1.ModelSpec{Name: name, Version: version},
				Analysis: &servingv1alpha1.AnalysisSpec{Interval: &metav1.Duration{Duration: 30 * time.Second}, Triggers: &servingv1alpha1.TriggersSpec{
					ErrorRate:    &servingv1alpha1.ErrorRateTrigger{MaxPercent: "5"},
					LatencyP95:   &servingv1alpha1.LatencyTrigger{MaxMilliseconds: 300},
					AccuracyDrop: &servingv1alpha1.AccuracyDropTrigger{MaxPercent: "2"},
				}},
			},
		}
	}
	all := base("ml", "fraud-scorer", "2.0.0")
	all.Status.Stable = &servingv1alpha1.VersionStatus{Version: "1.0.0"}
	all.Status.Candidate = &servingv1alpha1.CandidateStatus{VersionStatus: servingv1alpha1.VersionStatus{Version: "2.0.0"}, Weight: 10}
	all.Spec.Documentation = &servingv1alpha1.DocumentationSpec{Runbook: "https://runbooks.example/fraud-scorer"}

	evaluated := base("ml", "churn", "3.1.4-rc.1+build.7")
	evaluated.Spec.Model.Evaluation = map[string]servingv1alpha1.Decimal{"accuracy": "0.91"}
	evaluated.Spec.Alerts = &servingv1alpha1.AlertsSpec{AvailabilityObjective: "99.95", For: &metav1.Duration{Duration: 90 * time.Second}}

	custom := base("team-b", "ranker", "1.2.3")
	custom.Spec.Analysis.Interval = &metav1.Duration{Duration: 15 * time.Minute}
	custom.Spec.Analysis.Triggers.AccuracyDrop = nil
	custom.Spec.Alerts = &servingv1alpha1.AlertsSpec{For: &metav1.Duration{}}
	custom.Spec.Analysis.Prometheus = &servingv1alpha1.PrometheusSpec{Queries: &servingv1alpha1.QueryTemplates{
		ErrorRate:  `100 * sum(rate(http_server_requests_seconds_count{namespace="{{.Namespace}}",app="{{.Name}}",version="{{.Version}}",status=~"5.."}[{{.Window}}])) / sum(rate(http_server_requests_seconds_count{namespace="{{.Namespace}}",app="{{.Name}}",version="{{.Version}}"}[{{.Window}}]))`,
		LatencyP95: `1000 * histogram_quantile(0.95, sum by (le) (rate(http_server_requests_seconds_bucket{app="{{.Name}}",version="{{.Version}}"}[{{.Window}}])))`,
	}}

	errorsOnly := base("ml", "tiny", "0.1.0")
	errorsOnly.Spec.Analysis.Triggers = &servingv1alpha1.TriggersSpec{ErrorRate: &servingv1alpha1.ErrorRateTrigger{MaxPercent: "0.5"}}
	return []*servingv1alpha1.ModelDeployment{all, evaluated, custom, errorsOnly}
}

// ruleFiles writes the rule file of every fixture into dir.
func ruleFiles(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	for _, md := range fixtures() {
		f, err := alerts.RulesFor(md)
		if err != nil {
			t.Fatalf("%s/%s: %v", md.Namespace, md.Name, err)
		}
		b, err := alerts.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, md.Namespace+"-"+md.Name+".rules.yaml")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPromtoolChecksEveryRuleFile(t *testing.T) {
	promtool := tool(t, "PROMTOOL")
	paths := ruleFiles(t, t.TempDir())
	out := run(t, promtool, append([]string{"check", "rules"}, paths...)...)
	if got := strings.Count(out, "SUCCESS"); got != len(paths) {
		t.Errorf("promtool found %d good files of %d:\n%s", got, len(paths), out)
	}
	t.Log(out)
}

// The rules fire on the series they are written for: a version answering
// 30% of its requests with 500 fires the error-rate alert, a healthy one
// does not; an enforced checklist item failing fires its alert.
func TestPromtoolFiresTheErrorRateAlert(t *testing.T) {
	promtool := tool(t, "PROMTOOL")
	dir := t.TempDir()
	md := fixtures()[3] // ml/tiny at 0.1.0, error rate above 0.5%
	md.Spec.Alerts = &servingv1alpha1.AlertsSpec{For: &metav1.Duration{Duration: time.Minute}}
	f, err := alerts.RulesFor(md)
	if err != nil {
		t.Fatal(err)
	}
	b, err := alerts.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	// 10 requests a second, 3 of them answered 500, over 15 minutes, every 15s.
	series := `namespace="ml",modeldeployment="tiny",version="0.1.0"`
	tests := fmt.Sprintf(`rule_files: [rules.yaml]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'model_requests_total{%[1]s,code="200"}'
        values: '0+105x60'
      - series: 'model_requests_total{%[1]s,code="500"}'
        values: '0+45x60'
      - series: 'model_requests_total{namespace="ml",modeldeployment="healthy",version="0.1.0",code="200"}'
        values: '0+150x60'
      - series: 'modelgate_checklist_result{namespace="ml",modeldeployment="tiny",check="pdb",severity="Enforce",result="Fail"}'
        values: '1x60'
    alert_rule_test:
      - eval_time: 30s
        alertname: %[2]s
      - eval_time: 10m
        alertname: %[2]s
        exp_alerts:
          - exp_labels: {namespace: ml, modeldeployment: tiny, version: 0.1.0, severity: critical}
            exp_annotations:
              summary: "Model tiny version 0.1.0 fails more than 0.5%% of requests"
              description: "30.00%% of requests to version 0.1.0 failed over 5m; the rollback trigger's bound is 0.5%%."
      - eval_time: 10m
        alertname: %[3]s
        exp_alerts:
          - exp_labels: {namespace: ml, modeldeployment: tiny, check: pdb, severity: warning}
            exp_annotations:
              summary: "ModelDeployment tiny fails the enforced checklist item pdb"
              description: "The version of ml/tiny is held from traffic by the checklist item pdb; kubectl modelgate status tiny -n ml shows the remediation."
`, series, alerts.AlertErrorRate, alerts.AlertChecklistFailing)
	if err := os.WriteFile(filepath.Join(dir, "tests.yaml"), []byte(tests), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Log(run(t, promtool, "test", "rules", filepath.Join(dir, "tests.yaml")))
}

// Every expression of the rule files and the dashboards runs on the real
// Prometheus: the rules are loaded and evaluated (none in health "err"),
// and each dashboard query, its Grafana variables filled in, answers
// without an error.
func TestEveryExpressionRunsOnPrometheus(t *testing.T) {
	dir := t.TempDir()
	paths := ruleFiles(t, dir)
	cfg := promserver.Static("nothing", []string{"127.0.0.1:1"}, nil, time.Second) +
		"rule_files:\n  - " + filepath.Join(dir, "*.rules.yaml") + "\n"
	prom, err := promserver.Start(context.Background(), promserver.Options{Binary: tool(t, "PROMETHEUS"), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Stop() })
	client, err := promapi.NewClient(promapi.Config{Address: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	api := promv1.NewAPI(client)

	deadline := time.Now().Add(30 * time.Second)
	for {
		evaluated, problems := ruleHealth(t, api)
		if len(problems) > 0 {
			t.Fatalf("rules Prometheus cannot evaluate:\n%s", strings.Join(problems, "\n"))
		}
		if evaluated > 0 && evaluated == countRules(t, paths) {
			t.Logf("%d rules of %d files evaluated without error", evaluated, len(paths))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d rules of %d were evaluated in 30s; see %s", evaluated, countRules(t, paths), prom.LogPath())
		}
		time.Sleep(200 * time.Millisecond)
	}

	for _, name := range []string{"fleet.json", "model.json"} {
		exprs := dashboardQueries(t, filepath.Join("..", "..", "config", "grafana", name))
		if len(exprs) < 8 {
			t.Fatalf("%s: only %d queries found", name, len(exprs))
		}
		for _, q := range exprs {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, warnings, err := api.Query(ctx, q, time.Now())
			cancel()
			if err != nil {
				t.Errorf("%s: %s: %v", name, q, err)
			}
			if len(warnings) > 0 {
				t.Errorf("%s: %s: warnings %v", name, q, warnings)
			}
		}
		t.Logf("%s: %d queries ran", name, len(exprs))
	}
}

// ruleHealth counts the rules evaluated at least once, and lists those in error.
func ruleHealth(t *testing.T, api promv1.API) (int, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := api.Rules(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	evaluated := 0
	var problems []string
	for _, g := range res.Groups {
		for _, r := range g.Rules {
			a, ok := r.(promv1.AlertingRule)
			if !ok {
				continue
			}
			if a.Health == promv1.RuleHealthBad {
				problems = append(problems, fmt.Sprintf("%s %s: %s: %s", g.Name, a.Name, a.LastError, a.Query))
			}
			if !a.LastEvaluation.IsZero() {
				evaluated++
			}
		}
	}
	return evaluated, problems
}

func countRules(t *testing.T, paths []string) int {
	t.Helper()
	n := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		n += bytes.Count(b, []byte("- alert: "))
	}
	return n
}

// Grafana's variables, as a query in the dashboards' time range would have
// them: an "All" multi-value is the regex .*.
var dashboardVars = strings.NewReplacer(
	"$__rate_interval", "1m", "$__range", "1h",
	"$namespace", "ml", "$modeldeployment", "fraud-scorer", "$version", ".*",
)

// labelValues is Grafana's label_values(selector, label), a variable's query.
var labelValues = regexp.MustCompile(`^label_values\((.*), *(\w+)\)$`)

// dashboardQueries are the PromQL of a dashboard's panels and variables,
// ready to run.
func dashboardQueries(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Type       string `json:"type"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("%s: panel %q has no query", path, p.Title)
		}
		for _, tg := range p.Targets {
			out = append(out, dashboardVars.Replace(tg.Expr))
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("%s: variable query %q is not label_values(selector, label)", path, v.Definition)
			continue
		}
		out = append(out, dashboardVars.Replace(fmt.Sprintf("group by (%s) (%s)", m[2], m[1])))
	}
	return out
}
