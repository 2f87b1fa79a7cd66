package controller

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
	"github.com/modelgate/modelgate/internal/rollout"
)

const (
	// defaultAnalysisInterval applies when the spec leaves it out (the API
	// server defaults it; this is for objects it did not).
	defaultAnalysisInterval = 30 * time.Second
	// analysisPollInterval is how often a reconcile looks whether a round of
	// queries running in the background is done.
	analysisPollInterval = 2 * time.Second
)

// gatherAnalysis takes a round of measurements when one is due: while the
// candidate gets traffic (a canary step's weight, a shadow's copies, an A/B
// cohort, a rolling update's share), one interval after the step began and
// every interval after. The queries run in the background (Rounds), so a
// metrics backend that hangs never holds this worker: the reconcile asks for
// the round due, and looks again shortly while it runs. A finished round is
// judged here, as data for the decision; the decision acts on it, and the
// round counts once its status is written.
func (r *ModelDeploymentReconciler) gatherAnalysis(ctx context.Context, s *scope) error {
	md := s.md
	s.analysis = md.Status.Analysis
	spec := md.Spec.Analysis
	kind := analysis.ProviderKind(md)
	if kind == "" {
		return nil
	}
	subject, baseline, since, ok := rollout.UnderAnalysis(md)
	if !ok {
		return nil
	}
	interval := defaultAnalysisInterval
	if spec.Interval != nil {
		interval = spec.Interval.Duration
	}
	due := since
	if a := s.analysis; subject.Of(a) && a.LastRound != nil && a.LastRound.Time.After(due) {
		due = a.LastRound.Time.Time
	}
	due = due.Add(interval)
	if wait := due.Sub(s.now.Time); wait > 0 {
		s.analysisDue = wait
		return nil
	}
	queries, err := analysis.Queries(md, subject, baseline, interval)
	if err != nil {
		return reconcile.TerminalError(invalidSpec{err})
	}
	counts, err := analysis.JudgeQueries(md, subject, baseline, interval, analysisBegan(md, subject, since), s.now.Time)
	if err != nil {
		return reconcile.TerminalError(invalidSpec{err})
	}
	queries = append(queries, counts...)
	key := analysis.RoundKey{Namespace: md.Namespace, Name: md.Name, Version: subject.Version, Revision: subject.Revision, Due: due.UnixNano()}
	factory, at, namespace, forProvider := r.metricsProvider(kind), s.now.Time, md.Namespace, md.DeepCopy()
	round, done := r.rounds().Ensure(key, func(ctx context.Context) analysis.Round {
		p, err := factory(ctx, forProvider, func(ctx context.Context, ref servingv1alpha1.SecretKeyReference) (string, error) {
			return r.secretValue(ctx, namespace, ref)
		})
		return analysis.Measure(ctx, p, err, queries, at)
	})
	if !done {
		s.analysisDue = analysisPollInterval
		return nil
	}
	if round.Err != nil {
		round = analysis.Measure(ctx, nil, round.Err, queries, at)
	}
	s.analysis = analysis.Judge(spec, subject, round.Samples, s.analysis, round.At)
	s.analysisJudged = true
	s.analysisDue = interval
	return nil
}

// analysisBegan is when the analysis of subject began, for the sequential
// judge's cumulative counts: when the candidate started, whatever its step;
// since, for a promoted version baking.
func analysisBegan(md *servingv1alpha1.ModelDeployment, subject analysis.Subject, since time.Time) time.Time {
	if c := md.Status.Candidate; c != nil && analysis.SubjectOf(md, c.Version, c.Deployment) == subject && c.StartedAt != nil {
		return c.StartedAt.Time
	}
	return since
}

// metricsProvider is the factory of the metrics provider of kind; one that
// is not registered answers every query with an error saying so.
func (r *ModelDeploymentReconciler) metricsProvider(kind string) analysis.ProviderFactory {
	factories := r.MetricsProviders
	if factories == nil {
		factories = r.defaultProviders()
	}
	if f, ok := factories[kind]; ok {
		return f
	}
	return func(context.Context, *servingv1alpha1.ModelDeployment, analysis.SecretValue) (analysis.Provider, error) {
		return nil, fmt.Errorf("no metrics provider of kind %s is registered with modelgate", kind)
	}
}

// defaultProviders has Prometheus, its queries carried by HTTPClient's
// transport.
func (r *ModelDeploymentReconciler) defaultProviders() map[string]analysis.ProviderFactory {
	return map[string]analysis.ProviderFactory{analysis.KindPrometheus: analysis.PrometheusFactory(r.httpTransport())}
}
