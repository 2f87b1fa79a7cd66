package controller

import (
	"context"
	"sync"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// fakeRouter is a traffic router: everything a router needs to plug into the
// rollouts is this file. It keeps the plans it was given, and says a route
// cannot carry a rollout while a test sets a problem.
type fakeRouter struct {
	mu      sync.Mutex
	problem string
	plans   []desiredstate.RoutePlan
}

func (f *fakeRouter) Check(context.Context, *servingv1alpha1.ModelDeployment) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.problem, nil
}

func (f *fakeRouter) Apply(_ context.Context, _ *servingv1alpha1.ModelDeployment, plan desiredstate.RoutePlan) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.plans); n == 0 || !equalPlans(f.plans[n-1], plan) {
		f.plans = append(f.plans, plan)
	}
	return nil
}

func equalPlans(a, b desiredstate.RoutePlan) bool {
	return a.CandidateWeight == b.CandidateWeight && a.MirrorPercent == b.MirrorPercent && (a.Cohort == nil) == (b.Cohort == nil)
}

// weights are the candidate's weights of the plans applied, each change once.
func (f *fakeRouter) weights() []int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []int32
	for _, p := range f.plans {
		out = append(out, p.CandidateWeight)
	}
	return out
}

func (f *fakeRouter) setProblem(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problem = p
}
