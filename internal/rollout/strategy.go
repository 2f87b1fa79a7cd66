package rollout

import (
	"time"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
)

// strategy is what one rollout strategy decides. Decide picks it once per
// decision (strategyFor); what every strategy shares, promoting, rolling back
// and keeping a rejected version out, is in lifecycle.go. A new strategy is a
// type implementing this interface, in a file of its own, and an entry in
// strategies under its spec.strategy.type.
type strategy interface {
	// step moves a candidate beside the stable version: the sizes of both,
	// the traffic the router gives the candidate, and the status saying
	// where it is. It calls promote or rollback when the rollout ends.
	step(d *Decision, in Input, name string, replicas int32)
	// startedMoving reports whether a candidate counts as moving traffic
	// already, so that a closed deployment window holds it where it is
	// (the strategy checks the window itself where it would move traffic)
	// rather than keep it from starting.
	startedMoving(c *servingv1alpha1.CandidateStatus) bool
	// apexStableOnly reports whether <name> selects the stable version only
	// while a candidate runs, routed telling whether a router splits the
	// traffic.
	apexStableOnly(routed bool) bool
	// measured reports whether the candidate gets user traffic worth
	// analysing now.
	measured(c *servingv1alpha1.CandidateStatus) bool
	// keepWarm is how long a promotion keeps the replaced version at full
	// size, not counting a bake (see warmFor).
	keepWarm(md *servingv1alpha1.ModelDeployment) time.Duration
}

// strategies are the strategies by spec.strategy.type.
var strategies = map[servingv1alpha1.StrategyType]strategy{
	servingv1alpha1.StrategyCanary:    canary{},
	servingv1alpha1.StrategyBlueGreen: blueGreen{},
	servingv1alpha1.StrategyShadow:    experimentStrategy{},
	servingv1alpha1.StrategyABTest:    experimentStrategy{},
	servingv1alpha1.StrategyRolling:   rolling{},
}

// strategyFor is the strategy of spec.strategy.type; Rolling when the type
// is unknown or empty, as the API defaults it.
func strategyFor(md *servingv1alpha1.ModelDeployment) strategy {
	if s, ok := strategies[md.Spec.Strategy.Type]; ok {
		return s
	}
	return rolling{}
}

// UnderAnalysis says which revision gets traffic worth measuring, the
// revision it is compared with, and since when: a candidate while its
// strategy gives it user traffic (a canary step's weight, a shadow's copies,
// an A/B cohort, a rolling update's share); a promoted version while it
// bakes. A blue-green preview has no user traffic to measure. Each is told
// by its Deployment, so a later revision of the stable version is measured
// apart from the stable one.
func UnderAnalysis(md *servingv1alpha1.ModelDeployment) (subject, baseline analysis.Subject, since time.Time, ok bool) {
	st := &md.Status
	if st.Phase == servingv1alpha1.PhaseBaking && st.Stable != nil && st.Previous != nil && st.Previous.Since != nil &&
		st.Stable.Version == md.Spec.Model.Version {
		return subjectOf(md, st.Stable), subjectOf(md, st.Previous), st.Previous.Since.Time, true
	}
	cand := st.Candidate
	if cand == nil || cand.Version != md.Spec.Model.Version {
		return analysis.Subject{}, analysis.Subject{}, time.Time{}, false
	}
	if st.Stable != nil {
		baseline = subjectOf(md, st.Stable)
	}
	if cand.StartedAt != nil {
		since = cand.StartedAt.Time
	}
	if cand.StepStartedAt != nil {
		since = cand.StepStartedAt.Time
	}
	return subjectOf(md, &cand.VersionStatus), baseline, since, strategyFor(md).measured(cand)
}

// subjectOf is the revision v runs, as the analysis tells revisions apart.
func subjectOf(md *servingv1alpha1.ModelDeployment, v *servingv1alpha1.VersionStatus) analysis.Subject {
	return analysis.SubjectOf(md, v.Version, v.Deployment)
}

// specSubject is the revision the spec asks for, as the analysis measures it.
func specSubject(d *Decision, in Input) analysis.Subject {
	return analysis.SubjectOf(in.MD, in.MD.Spec.Model.Version, d.SpecDeployment)
}

// movesByWeight is how a canary and a rolling update count: a candidate
// moves traffic once it has a weight or passed a step.
func movesByWeight(c *servingv1alpha1.CandidateStatus) bool {
	return c != nil && (c.Weight > 0 || c.Step > 0)
}
