package analysis

import (
	"context"
	"fmt"
	"time"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/jobs"
)

// Provider measures named metrics of a version: the seam a metrics backend
// plugs into. Prometheus is the first; a provider is a type implementing
// Provider and a ProviderFactory, in a file of its own, registered under the
// kind of spec.analysis that selects it (ProviderKind).
type Provider interface {
	// Measure answers one query at a time: the query's metric of its
	// version over its window ending at at. The Sample holds the number,
	// ErrNoData when there is none, or another error; Measure returns when
	// ctx is done at the latest.
	Measure(ctx context.Context, q Query, at time.Time) Sample
}

// SecretValue reads one key of a Secret in the ModelDeployment's namespace,
// past the cache (which keeps Secrets without their values).
type SecretValue func(ctx context.Context, ref servingv1alpha1.SecretKeyReference) (string, error)

// ProviderFactory builds the Provider of a ModelDeployment's analysis.
type ProviderFactory func(ctx context.Context, md *servingv1alpha1.ModelDeployment, secret SecretValue) (Provider, error)

// KindPrometheus is the provider kind of spec.analysis.prometheus.
const KindPrometheus = "Prometheus"

// ProviderKind is the kind of metrics provider a ModelDeployment's analysis
// names, or "" when it names none (and its rollouts do not wait on analysis).
func ProviderKind(md *servingv1alpha1.ModelDeployment) string {
	if a := md.Spec.Analysis; a != nil && a.Prometheus != nil {
		return KindPrometheus
	}
	return ""
}

// Round is what a round of queries found: the samples and when they were
// taken.
type Round struct {
	At      time.Time
	Samples []Sample
	// Err is set when the round itself failed: it panicked.
	Err error
}

// Panicked records that the round panicked.
func (r *Round) Panicked(v any) { *r = Round{Err: fmt.Errorf("the round of queries panicked: %v", v)} }

// RoundKey names a round of one ModelDeployment: the revision measured and
// the time the round was due, so every reconcile until the round is recorded
// asks for the same one, and the next round replaces it.
type RoundKey struct {
	Namespace, Name, Version, Revision string
	Due                                int64 // Unix nanoseconds
}

// Owner is the ModelDeployment's namespace and name: it has one round at most.
func (k RoundKey) Owner() (namespace, name string) { return k.Namespace, k.Name }

// Rounds runs rounds of queries in the background, so that a metrics backend
// that hangs never holds a reconcile worker.
type Rounds = jobs.Runner[RoundKey, Round]

// Bounds of the rounds a manager runs at once, each bounded by its queries'
// timeout.
const (
	// DefaultMaxRounds is how many rounds run at once, over every namespace.
	DefaultMaxRounds = 8
	// DefaultMaxRoundsPerNamespace is how many of them one namespace may
	// run: a team whose Prometheus hangs holds at most these slots, and the
	// other namespaces' rounds run in the rest.
	DefaultMaxRoundsPerNamespace = 2
)

// Measure runs the queries of a round one after the other against p, at
// at. A round whose provider could not be built has err in every sample.
func Measure(ctx context.Context, p Provider, providerErr error, queries []Query, at time.Time) Round {
	round := Round{At: at, Samples: make([]Sample, 0, len(queries))}
	for _, q := range queries {
		if providerErr != nil {
			round.Samples = append(round.Samples, Sample{Query: q, Err: providerErr})
			continue
		}
		round.Samples = append(round.Samples, p.Measure(ctx, q, at))
	}
	return round
}
