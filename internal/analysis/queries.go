// Package analysis turns a ModelDeployment's rollback triggers and custom
// metrics into PromQL, and judges what Prometheus answers: each measurement is
// Pass, Breach, NoData or Error, and a round of them says whether the rollout
// may go on, must wait, or must roll back. Querying is the provider's job;
// judging is pure, and table-tested.
package analysis

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// Metric names, as status shows them.
const (
	MetricRequests     = "requestCount"
	MetricErrorRate    = "errorRate"
	MetricLatencyP95   = "latencyP95"
	MetricAccuracy     = "accuracy"
	MetricAccuracyDrop = "accuracyDrop"
)

// selector picks one revision's series of one ModelDeployment. The labels
// are the ones the sample model server exports (version, and revision for a
// later revision of a version: revision="" matches a first revision's
// series, which have none) and the Prometheus scrape configuration of
// docs/analysis.md adds from the pod (namespace, modeldeployment); a server
// that names them otherwise overrides the queries.
const selector = `namespace="{{.Namespace}}",modeldeployment="{{.Name}}",version="{{.Version}}",revision="{{.Revision}}"`

// DefaultQueries fit the sample model server's metrics (docs/model-server.md).
var DefaultQueries = servingv1alpha1.QueryTemplates{
	RequestCount: `sum(increase(model_requests_total{` + selector + `}[{{.Window}}]))`,
	ErrorRate: `100 * sum(rate(model_requests_total{` + selector + `,code=~"5.."}[{{.Window}}]))` +
		` / sum(rate(model_requests_total{` + selector + `}[{{.Window}}]))`,
	LatencyP95: `1000 * histogram_quantile(0.95, sum by (le) (rate(model_request_duration_seconds_bucket{` + selector + `}[{{.Window}}])))`,
	Accuracy: `sum(rate(model_feedback_total{` + selector + `,outcome="correct"}[{{.Window}}]))` +
		` / sum(rate(model_feedback_total{` + selector + `}[{{.Window}}]))`,
	// No failed request leaves no series with a 5xx code: that is zero
	// errors, as long as the version has requests (asked beside it).
	ErrorCount:      `sum(increase(model_requests_total{` + selector + `,code=~"5.."}[{{.Window}}])) or vector(0)`,
	PredictionScore: `sum by (le) (increase(model_prediction_score_bucket{` + selector + `}[{{.Window}}]))`,
	FeatureValue:    `sum by (le) (increase(model_feature_value_bucket{` + selector + `,feature="{{.Feature}}"}[{{.Window}}]))`,
}

// Vars are the variables of a query template.
type Vars struct {
	Namespace, Name, Version string
	// Revision is a later revision's revision label, "" for a first
	// revision (Subject).
	Revision string
	// Window is the range of the rates, in Prometheus' duration syntax.
	Window string
	// Feature is the input feature of a featureValue histogram.
	Feature string
}

// Query is one measurement to take: a named metric of one revision of a
// version.
type Query struct {
	Metric  string
	Version string
	// Revision is the revision of Version measured (Subject).
	Revision string
	// Window is the span the metric is measured over, ending at the round's
	// time.
	Window time.Duration
	// PromQL is the query rendered for a Prometheus-compatible provider; a
	// provider of another language reads Metric, Version, Revision and Window (and,
	// for a custom metric, its query in spec.analysis.metrics).
	PromQL string
	// Custom marks a metric of spec.analysis.metrics, judged against its own
	// bounds whatever its name.
	Custom bool
	// Histogram asks for a distribution, one cumulative count per bucket
	// bound (Sample.Histogram), instead of one number.
	Histogram bool
}

// Subject is the revision the query measures.
func (q Query) Subject() Subject { return Subject{Version: q.Version, Revision: q.Revision} }

// Window turns the analysis interval into a PromQL range. Rates need two
// scrapes in the window, so it is never shorter than 30s.
func Window(interval time.Duration) string {
	return model.Duration(window(interval)).String()
}

func window(interval time.Duration) time.Duration { return max(interval, 30*time.Second) }

// Queries are the queries of one round: the sample size and every trigger of
// the candidate, the stable version's accuracy for the relative drop, and the
// custom metrics. A template that does not parse is an error the user must
// fix. A stable Subject of no version means there is none to compare with.
func Queries(md *servingv1alpha1.ModelDeployment, candidate, stable Subject, interval time.Duration) ([]Query, error) {
	spec := md.Spec.Analysis
	if spec == nil {
		return nil, nil
	}
	tpl := Templates(md)
	vars := func(s Subject) Vars {
		return Vars{Namespace: md.Namespace, Name: md.Name, Version: s.Version, Revision: s.Revision, Window: Window(interval)}
	}
	list := []wanted{{metric: MetricRequests, subject: candidate, field: "spec.analysis.prometheus.queries.requestCount", template: tpl.RequestCount}}
	if t := spec.Triggers; t != nil {
		if t.ErrorRate != nil {
			list = append(list, wanted{metric: MetricErrorRate, subject: candidate, field: "spec.analysis.prometheus.queries.errorRate", template: tpl.ErrorRate})
		}
		if t.LatencyP95 != nil {
			list = append(list, wanted{metric: MetricLatencyP95, subject: candidate, field: "spec.analysis.prometheus.queries.latencyP95", template: tpl.LatencyP95})
		}
		if t.AccuracyDrop != nil && stable.Version != "" {
			list = append(list, wanted{metric: MetricAccuracy, subject: candidate, field: "spec.analysis.prometheus.queries.accuracy", template: tpl.Accuracy},
				wanted{metric: MetricAccuracy, subject: stable, field: "spec.analysis.prometheus.queries.accuracy", template: tpl.Accuracy})
		}
		list = append(list, comparisons(t, tpl, candidate, stable)...)
	}
	for i, m := range spec.Metrics {
		list = append(list, wanted{metric: m.Name, subject: candidate, field: fmt.Sprintf("spec.analysis.metrics[%d].query", i), template: m.Query, custom: true})
	}
	return renderAll(list, vars, window(interval))
}

// Templates are the query templates of a ModelDeployment: the defaults,
// with the spec's overrides in their place. The generated alerts
// (internal/alerts) render the same ones, so an overridden metric name
// reaches them too.
func Templates(md *servingv1alpha1.ModelDeployment) servingv1alpha1.QueryTemplates {
	tpl := DefaultQueries
	if spec := md.Spec.Analysis; spec != nil && spec.Prometheus != nil && spec.Prometheus.Queries != nil {
		o := spec.Prometheus.Queries
		tpl.RequestCount = orDefault(o.RequestCount, tpl.RequestCount)
		tpl.ErrorRate = orDefault(o.ErrorRate, tpl.ErrorRate)
		tpl.LatencyP95 = orDefault(o.LatencyP95, tpl.LatencyP95)
		tpl.Accuracy = orDefault(o.Accuracy, tpl.Accuracy)
		tpl.ErrorCount = orDefault(o.ErrorCount, tpl.ErrorCount)
		tpl.PredictionScore = orDefault(o.PredictionScore, tpl.PredictionScore)
		tpl.FeatureValue = orDefault(o.FeatureValue, tpl.FeatureValue)
	}
	return tpl
}

// Render renders a query template of Placeholders alone (CheckTemplate), at
// most MaxRendered bytes of it.
func Render(text string, vars Vars) (string, error) { return render(text, vars) }

// wanted is a query to render.
type wanted struct {
	subject                 Subject
	metric, field, template string
	feature                 string
	custom, histogram       bool
}

func renderAll(list []wanted, vars func(Subject) Vars, w time.Duration) ([]Query, error) {
	out := make([]Query, 0, len(list))
	for _, l := range list {
		v := vars(l.subject)
		v.Feature = l.feature
		var extra []string
		if l.feature != "" {
			extra = []string{"Feature"} // featureValue alone names a feature
		}
		q, err := renderChecked(l.template, v, extra)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.field, err)
		}
		out = append(out, Query{Metric: l.metric, Version: l.subject.Version, Revision: l.subject.Revision, Window: w, PromQL: q, Custom: l.custom, Histogram: l.histogram})
	}
	return out, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// render runs a query template that holds only placeholders (CheckTemplate)
// and renders to at most MaxRendered bytes.
func render(text string, vars Vars) (string, error) {
	return renderChecked(text, vars, nil)
}
