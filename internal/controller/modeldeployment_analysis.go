package controller

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
	"github.com/modelgate/modelgate/internal/rollout"
)

// defaultAnalysisInterval and defaultQueryTimeout apply when the spec leaves
// them out (the API server defaults them; this is for objects it did not).
const (
	defaultAnalysisInterval = 30 * time.Second
	defaultQueryTimeout     = 5 * time.Second
)

// gatherAnalysis runs a round of measurements when one is due: while the
// candidate gets traffic (a canary step's weight, a shadow's copies, an A/B
// cohort, a rolling update's share), one interval after the step began and
// every interval after. The round is judged here, as data for the decision;
// the decision acts on it.
func (r *ModelDeploymentReconciler) gatherAnalysis(ctx context.Context, s *scope) error {
	md := s.md
	s.analysis = md.Status.Analysis
	spec := md.Spec.Analysis
	if spec == nil || spec.Prometheus == nil {
		return nil
	}
	version, baseline, since, ok := rollout.UnderAnalysis(md)
	if !ok {
		return nil
	}
	interval := defaultAnalysisInterval
	if spec.Interval != nil {
		interval = spec.Interval.Duration
	}
	due := since
	if a := s.analysis; a != nil && a.Version == version && a.LastRound != nil && a.LastRound.Time.After(due) {
		due = a.LastRound.Time.Time
	}
	due = due.Add(interval)
	if wait := due.Sub(s.now.Time); wait > 0 {
		s.analysisDue = wait
		return nil
	}
	queries, err := analysis.Queries(md, version, baseline, interval)
	if err != nil {
		return reconcile.TerminalError(invalidSpec{err})
	}
	prom, err := r.prometheus(ctx, md)
	samples := make([]analysis.Sample, 0, len(queries))
	for _, q := range queries {
		sample := analysis.Sample{Query: q, Err: err}
		if err == nil {
			sample.Value, sample.Err = prom.Query(ctx, q.PromQL, s.now.Time)
		}
		samples = append(samples, sample)
	}
	s.analysis = analysis.Judge(spec, version, samples, s.analysis, s.now.Time)
	s.analysisDue = interval
	recordAnalysisMetrics(md, s.analysis)
	return nil
}

// prometheus is a client of the ModelDeployment's Prometheus, with its bearer
// token read from the Secret named in the spec. The token is read past the
// cache, which keeps Secrets without their values.
func (r *ModelDeploymentReconciler) prometheus(ctx context.Context, md *servingv1alpha1.ModelDeployment) (*analysis.Prometheus, error) {
	p := md.Spec.Analysis.Prometheus
	token := ""
	if ref := p.BearerTokenSecretRef; ref != nil {
		v, err := r.secretValue(ctx, md.Namespace, *ref)
		if err != nil {
			return nil, fmt.Errorf("reading the Prometheus token of spec.analysis.prometheus.bearerTokenSecretRef: %w", err)
		}
		token = v
	}
	timeout := defaultQueryTimeout
	if p.Timeout != nil {
		timeout = p.Timeout.Duration
	}
	var transport http.RoundTripper
	if r.HTTPClient != nil {
		transport = r.HTTPClient.Transport
	}
	return analysis.NewPrometheus(string(p.Address), token, timeout, transport)
}
