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

// selector picks one version's series of one ModelDeployment. The labels are
// the ones the sample model server exports (version) and the Prometheus
// scrape configuration of docs/analysis.md adds from the pod (namespace,
// modeldeployment); a server that names them otherwise overrides the queries.
const selector = `namespace="{{.Namespace}}",modeldeployment="{{.Name}}",version="{{.Version}}"`

// DefaultQueries fit the sample model server's metrics (docs/model-server.md).
var DefaultQueries = servingv1alpha1.QueryTemplates{
	RequestCount: `sum(increase(model_requests_total{` + selector + `}[{{.Window}}]))`,
	ErrorRate: `100 * sum(rate(model_requests_total{` + selector + `,code=~"5.."}[{{.Window}}]))` +
		` / sum(rate(model_requests_total{` + selector + `}[{{.Window}}]))`,
	LatencyP95: `1000 * histogram_quantile(0.95, sum by (le) (rate(model_request_duration_seconds_bucket{` + selector + `}[{{.Window}}])))`,
	Accuracy: `sum(rate(model_feedback_total{` + selector + `,outcome="correct"}[{{.Window}}]))` +
		` / sum(rate(model_feedback_total{` + selector + `}[{{.Window}}]))`,
}

// Vars are the variables of a query template.
type Vars struct {
	Namespace, Name, Version string
	// Window is the range of the rates, in Prometheus' duration syntax.
	Window string
}

// Query is one measurement to take: a named metric of one version.
type Query struct {
	Metric  string
	Version string
	// Window is the span the metric is measured over, ending at the round's
	// time.
	Window time.Duration
	// PromQL is the query rendered for a Prometheus-compatible provider; a
	// provider of another language reads Metric, Version and Window (and,
	// for a custom metric, its query in spec.analysis.metrics).
	PromQL string
	// Custom marks a metric of spec.analysis.metrics, judged against its own
	// bounds whatever its name.
	Custom bool
}

// Window turns the analysis interval into a PromQL range. Rates need two
// scrapes in the window, so it is never shorter than 30s.
func Window(interval time.Duration) string {
	return model.Duration(window(interval)).String()
}

func window(interval time.Duration) time.Duration { return max(interval, 30*time.Second) }

// Queries are the queries of one round: the sample size and every trigger of
// the candidate, the stable version's accuracy for the relative drop, and the
// custom metrics. A template that does not parse is an error the user must fix.
func Queries(md *servingv1alpha1.ModelDeployment, candidate, stable string, interval time.Duration) ([]Query, error) {
	spec := md.Spec.Analysis
	if spec == nil {
		return nil, nil
	}
	tpl := DefaultQueries
	if p := spec.Prometheus; p != nil && p.Queries != nil {
		o := p.Queries
		tpl.RequestCount = orDefault(o.RequestCount, tpl.RequestCount)
		tpl.ErrorRate = orDefault(o.ErrorRate, tpl.ErrorRate)
		tpl.LatencyP95 = orDefault(o.LatencyP95, tpl.LatencyP95)
		tpl.Accuracy = orDefault(o.Accuracy, tpl.Accuracy)
	}
	vars := func(version string) Vars {
		return Vars{Namespace: md.Namespace, Name: md.Name, Version: version, Window: Window(interval)}
	}
	type wanted struct {
		metric, version, field, template string
		custom                           bool
	}
	list := []wanted{{MetricRequests, candidate, "spec.analysis.prometheus.queries.requestCount", tpl.RequestCount, false}}
	if t := spec.Triggers; t != nil {
		if t.ErrorRate != nil {
			list = append(list, wanted{MetricErrorRate, candidate, "spec.analysis.prometheus.queries.errorRate", tpl.ErrorRate, false})
		}
		if t.LatencyP95 != nil {
			list = append(list, wanted{MetricLatencyP95, candidate, "spec.analysis.prometheus.queries.latencyP95", tpl.LatencyP95, false})
		}
		if t.AccuracyDrop != nil && stable != "" {
			list = append(list, wanted{MetricAccuracy, candidate, "spec.analysis.prometheus.queries.accuracy", tpl.Accuracy, false},
				wanted{MetricAccuracy, stable, "spec.analysis.prometheus.queries.accuracy", tpl.Accuracy, false})
		}
	}
	for i, m := range spec.Metrics {
		list = append(list, wanted{m.Name, candidate, fmt.Sprintf("spec.analysis.metrics[%d].query", i), m.Query, true})
	}
	out := make([]Query, 0, len(list))
	for _, w := range list {
		q, err := render(w.template, vars(w.version))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.field, err)
		}
		out = append(out, Query{Metric: w.metric, Version: w.version, Window: window(interval), PromQL: q, Custom: w.custom})
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
