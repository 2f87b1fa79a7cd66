// Package alerts turns a ModelDeployment's rollback triggers into Prometheus
// alerting rules: the seed checklist's alerts on the model's own metrics
// (error rate, P95 latency, availability, accuracy drop), written with the
// analysis' query templates, and the operator's alerts on its own metrics
// (rolled back, checklist failing, analysis in error). It is pure: the
// reconciler writes what RulesFor returns into a PrometheusRule or a
// ConfigMap.
package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
)

// Alert names.
const (
	AlertErrorRate        = "ModelGateErrorRateHigh"
	AlertLatencyP95       = "ModelGateLatencyP95High"
	AlertAvailability     = "ModelGateAvailabilityLow"
	AlertAccuracyDrop     = "ModelGateAccuracyDrop"
	AlertRolledBack       = "ModelGateRolledBack"
	AlertChecklistFailing = "ModelGateChecklistFailing"
	AlertAnalysisError    = "ModelGateAnalysisError"
)

// Defaults of spec.alerts.
const (
	DefaultAvailabilityObjective = "99.9"
	DefaultFor                   = 5 * time.Minute
)

// Windows of the generated queries. A rate over the analysis' short window
// is what a rollout needs decided fast; an alert that pages someone reads a
// longer one, and availability is an objective over an hour.
const (
	MinWindow          = 5 * time.Minute
	AvailabilityWindow = time.Hour
)

// Severities, as the severity label carries them.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
)

// Labels every rule carries, beside severity. LabelVersion names the model
// version a rule of the model's own metrics watches.
const (
	LabelNamespace       = "namespace"
	LabelModelDeployment = "modeldeployment"
	LabelVersion         = "version"
	LabelRevision        = "revision"
	LabelSeverity        = "severity"
)

// The manager's own metrics the operator's alerts read (internal/controller).
const (
	MetricPhase           = "modelgate_modeldeployment_phase"
	MetricChecklistResult = "modelgate_checklist_result"
	MetricMeasurements    = "modelgate_analysis_measurements_total"
)

// File is a Prometheus rule file; a PrometheusRule's spec has the same shape.
type File struct {
	Groups []Group `json:"groups"`
}

// Group is a rule group.
type Group struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// Rule is an alerting rule.
type Rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Wanted says whether a ModelDeployment gets alerts: it declares rollback
// triggers.
func Wanted(md *servingv1alpha1.ModelDeployment) bool {
	return md.Spec.Analysis != nil && md.Spec.Analysis.Triggers != nil
}

// RulesFor is the rule file of a ModelDeployment: one group holding its
// alerts, or nil when it declares no triggers. The model's alerts watch each
// version that runs (the stable one and the candidate), so the file changes
// when they do; a query template that does not render is an error the user
// must fix in the spec.
func RulesFor(md *servingv1alpha1.ModelDeployment) (*File, error) {
	if !Wanted(md) {
		return nil, nil
	}
	g := &generator{md: md, tpl: analysis.Templates(md), forText: forOf(md)}
	if err := g.model(); err != nil {
		return nil, err
	}
	g.operator()
	return &File{Groups: []Group{{Name: GroupName(md), Rules: g.rules}}}, nil
}

// GroupName is the name of a ModelDeployment's rule group.
func GroupName(md *servingv1alpha1.ModelDeployment) string {
	return "modelgate." + md.Namespace + "." + md.Name
}

// Marshal writes a rule file as YAML, the text promtool and Prometheus read.
func Marshal(f *File) ([]byte, error) { return yaml.Marshal(f) }

// Hash identifies a rule file's content, to tell an object already holding
// it from one that must be written.
func Hash(f *File) (string, error) {
	b, err := Marshal(f)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

type generator struct {
	md      *servingv1alpha1.ModelDeployment
	tpl     servingv1alpha1.QueryTemplates
	forText string
	rules   []Rule
}

// Versions are the model versions that run, each with its revision (a
// later revision of one version, made by a template, URI or config change,
// reports metrics of its own): the stable one and the candidate, or the
// spec's before the first is recorded.
func Versions(md *servingv1alpha1.ModelDeployment) []analysis.Subject {
	var out []analysis.Subject
	if s := md.Status.Stable; s != nil && s.Version != "" {
		out = append(out, analysis.SubjectOf(md, s.Version, s.Deployment))
	}
	if c := md.Status.Candidate; c != nil && c.Version != "" {
		if s := analysis.SubjectOf(md, c.Version, c.Deployment); len(out) == 0 || out[0] != s {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = append(out, analysis.Subject{Version: md.Spec.Model.Version})
	}
	return out
}

func (g *generator) model() error {
	t := g.md.Spec.Analysis.Triggers
	window := Window(g.md)
	versions := Versions(g.md)
	for _, v := range versions {
		if t.ErrorRate != nil {
			q, err := g.render("errorRate", g.tpl.ErrorRate, v, window)
			if err != nil {
				return err
			}
			bound, err := number(string(t.ErrorRate.MaxPercent))
			if err != nil {
				return fmt.Errorf("spec.analysis.triggers.errorRate.maxPercent: %w", err)
			}
			g.add(AlertErrorRate, v, SeverityCritical, fmt.Sprintf("(%s) > %s", q, bound),
				fmt.Sprintf("Model %s version %s fails more than %s%% of requests", g.md.Name, v, bound),
				fmt.Sprintf("{{ $value | printf \"%%.2f\" }}%% of requests to version %s failed over %s; the rollback trigger's bound is %s%%.", v, window, bound))
		}
		if t.LatencyP95 != nil {
			q, err := g.render("latencyP95", g.tpl.LatencyP95, v, window)
			if err != nil {
				return err
			}
			bound := strconv.Itoa(int(t.LatencyP95.MaxMilliseconds))
			g.add(AlertLatencyP95, v, SeverityWarning, fmt.Sprintf("(%s) > %s", q, bound),
				fmt.Sprintf("Model %s version %s answers slower than %sms at P95", g.md.Name, v, bound),
				fmt.Sprintf("The 95th percentile latency of version %s is {{ $value | printf \"%%.0f\" }}ms over %s; the rollback trigger's bound is %sms.", v, window, bound))
		}
		q, err := g.render("errorRate", g.tpl.ErrorRate, v, model.Duration(AvailabilityWindow).String())
		if err != nil {
			return err
		}
		objective, err := number(availabilityObjective(g.md))
		if err != nil {
			return fmt.Errorf("spec.alerts.availabilityObjective: %w", err)
		}
		g.add(AlertAvailability, v, SeverityCritical, fmt.Sprintf("100 - (%s) < %s", q, objective),
			fmt.Sprintf("Model %s version %s is below its %s%% availability objective", g.md.Name, v, objective),
			fmt.Sprintf("Version %s answered {{ $value | printf \"%%.3f\" }}%% of requests without a server error over the last hour; the objective is %s%%.", v, objective))
	}
	if t.AccuracyDrop != nil {
		return g.accuracy(versions, window)
	}
	return nil
}

// accuracy compares the candidate's accuracy with the stable version's, as
// the trigger does; a version running alone is compared with the accuracy
// its evaluation declared, when it declared one.
func (g *generator) accuracy(versions []analysis.Subject, window string) error {
	bound, err := number(string(g.md.Spec.Analysis.Triggers.AccuracyDrop.MaxPercent))
	if err != nil {
		return fmt.Errorf("spec.analysis.triggers.accuracyDrop.maxPercent: %w", err)
	}
	v := versions[len(versions)-1]
	q, err := g.render("accuracy", g.tpl.Accuracy, v, window)
	if err != nil {
		return err
	}
	var base, against string
	switch {
	case len(versions) == 2:
		b, err := g.render("accuracy", g.tpl.Accuracy, versions[0], window)
		if err != nil {
			return err
		}
		base, against = "scalar("+b+")", "stable version "+versions[0].String()
	case v.Version == g.md.Spec.Model.Version && g.md.Spec.Model.Evaluation["accuracy"] != "":
		e, err := number(string(g.md.Spec.Model.Evaluation["accuracy"]))
		if err != nil {
			return fmt.Errorf("spec.model.evaluation.accuracy: %w", err)
		}
		if e == "0" {
			return nil
		}
		base, against = e, "its evaluated accuracy "+e
	default:
		return nil
	}
	g.add(AlertAccuracyDrop, v, SeverityWarning, fmt.Sprintf("100 * (1 - (%s) / %s) > %s", q, base, bound),
		fmt.Sprintf("Model %s version %s lost more than %s%% of its accuracy", g.md.Name, v, bound),
		fmt.Sprintf("The accuracy of version %s is {{ $value | printf \"%%.1f\" }}%% below that of %s over %s; the rollback trigger's bound is %s%%.", v, against, window, bound))
	return nil
}

// operator adds the alerts on the manager's own metrics. Their selectors
// carry the namespace and modeldeployment labels the manager exports, which
// the ServiceMonitor keeps (honorLabels).
func (g *generator) operator() {
	sel := fmt.Sprintf(`namespace=%q,modeldeployment=%q`, g.md.Namespace, g.md.Name)
	name := g.md.Name
	// The rollback has happened: nothing to wait for.
	g.addFor("", AlertRolledBack, analysis.Subject{}, SeverityWarning,
		fmt.Sprintf(`max(%s{%s,phase=%q}) == 1`, MetricPhase, sel, servingv1alpha1.PhaseRolledBack),
		fmt.Sprintf("ModelDeployment %s rolled its candidate back", name),
		fmt.Sprintf("modelgate rolled a version of %s/%s back and holds the stable one; kubectl describe md %s -n %s tells why.", g.md.Namespace, name, name, g.md.Namespace))
	g.add(AlertChecklistFailing, analysis.Subject{}, SeverityWarning,
		fmt.Sprintf(`sum by (check) (%s{%s,result="Fail",severity="Enforce"}) > 0`, MetricChecklistResult, sel),
		fmt.Sprintf("ModelDeployment %s fails the enforced checklist item {{ $labels.check }}", name),
		fmt.Sprintf("The version of %s/%s is held from traffic by the checklist item {{ $labels.check }}; kubectl modelgate status %s -n %s shows the remediation.", g.md.Namespace, name, name, g.md.Namespace))
	g.add(AlertAnalysisError, analysis.Subject{}, SeverityWarning,
		fmt.Sprintf(`sum(increase(%s{%s,verdict="Error"}[%s])) > 0`, MetricMeasurements, sel, Window(g.md)),
		fmt.Sprintf("The analysis of ModelDeployment %s cannot measure", name),
		fmt.Sprintf("Queries of the analysis of %s/%s fail (Prometheus unreachable, a bad query template): rollouts wait and no trigger is watched.", g.md.Namespace, name))
}

func (g *generator) render(metric, template string, s analysis.Subject, window string) (string, error) {
	q, err := analysis.Render(template, analysis.Vars{Namespace: g.md.Namespace, Name: g.md.Name, Version: s.Version, Revision: s.Revision, Window: window})
	if err != nil {
		return "", fmt.Errorf("spec.analysis.prometheus.queries.%s: %w", metric, err)
	}
	return q, nil
}

func (g *generator) add(alert string, s analysis.Subject, severity, expr, summary, description string) {
	g.addFor(g.forText, alert, s, severity, expr, summary, description)
}

// addFor adds a rule; the alerts on a version carry its version and, for a
// later revision of it, its revision, so that the stable version and a
// candidate of the same version alert apart.
func (g *generator) addFor(forText, alert string, s analysis.Subject, severity, expr, summary, description string) {
	labels := map[string]string{LabelNamespace: g.md.Namespace, LabelModelDeployment: g.md.Name, LabelSeverity: severity}
	if s.Version != "" {
		labels[LabelVersion] = s.Version
	}
	if s.Revision != "" {
		labels[LabelRevision] = s.Revision
	}
	ann := map[string]string{"summary": summary, "description": description}
	if d := g.md.Spec.Documentation; d != nil && d.Runbook != "" {
		ann["runbook_url"] = string(d.Runbook)
	}
	g.rules = append(g.rules, Rule{Alert: alert, Expr: expr, For: forText, Labels: labels, Annotations: ann})
}

// Window is the range of the alerts' rates: the analysis' window, at least
// MinWindow.
func Window(md *servingv1alpha1.ModelDeployment) string {
	interval := time.Duration(0)
	if a := md.Spec.Analysis; a != nil && a.Interval != nil {
		interval = a.Interval.Duration
	}
	w := MinWindow
	if iw, err := model.ParseDuration(analysis.Window(interval)); err == nil && time.Duration(iw) > w {
		w = time.Duration(iw)
	}
	return model.Duration(w).String()
}

// forOf is the rules' for, "" (fire at once) for zero.
func forOf(md *servingv1alpha1.ModelDeployment) string {
	d := DefaultFor
	if a := md.Spec.Alerts; a != nil && a.For != nil {
		d = a.For.Duration
	}
	if d <= 0 {
		return ""
	}
	return model.Duration(d).String()
}

func availabilityObjective(md *servingv1alpha1.ModelDeployment) string {
	if a := md.Spec.Alerts; a != nil && a.AvailabilityObjective != "" {
		return string(a.AvailabilityObjective)
	}
	return DefaultAvailabilityObjective
}

// number writes a decimal of the spec as a PromQL number literal; the schema
// admits only decimals, and nothing else reaches a rule.
func number(s string) (string, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%q is not a number", s)
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}
