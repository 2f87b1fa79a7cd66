package controller

import (
	"context"
	"sync"
	"time"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
)

// fakeProvider is a metrics provider: everything a backend needs to plug into
// the analysis is this file. It answers each metric of a version with the
// value a test sets (no value: no data), and counts what it was asked.
type fakeProvider struct {
	mu     sync.Mutex
	values map[string]float64 // "metric@version"
	asked  []string
}

func newFakeProvider() *fakeProvider { return &fakeProvider{values: map[string]float64{}} }

// factory builds the provider of a ModelDeployment: always this one.
func (p *fakeProvider) factory(context.Context, *servingv1alpha1.ModelDeployment, analysis.SecretValue) (analysis.Provider, error) {
	return p, nil
}

func (p *fakeProvider) Measure(_ context.Context, q analysis.Query, _ time.Time) analysis.Sample {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, q.Metric+"@"+q.Version)
	v, ok := p.values[q.Metric+"@"+q.Version]
	if !ok {
		return analysis.Sample{Query: q, Err: analysis.ErrNoData}
	}
	return analysis.Sample{Query: q, Value: v}
}

func (p *fakeProvider) set(metric, version string, v float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.values[metric+"@"+version] = v
}

func (p *fakeProvider) queries() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.asked...)
}
