package rollout

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// rolling replaces the stable version as the new one becomes available.
type rolling struct{}

func (rolling) step(d *Decision, in Input, name string, replicas int32) {
	decideRolling(d, in, name, replicas)
}
func (rolling) startedMoving(c *servingv1alpha1.CandidateStatus) bool   { return movesByWeight(c) }
func (rolling) apexStableOnly(bool) bool                                { return false }
func (rolling) measured(c *servingv1alpha1.CandidateStatus) bool        { return c.Weight > 0 }
func (rolling) keepWarm(*servingv1alpha1.ModelDeployment) time.Duration { return 0 }

// defaultRollingPercent is a Deployment's own default maxSurge and maxUnavailable.
var defaultRollingPercent = intstr.FromString("25%")

// decideRolling replaces the stable version the way a Deployment's rolling
// update replaces its pods, but across the two versions' Deployments: the new
// version grows by at most maxSurge pods above spec.replicas, the old one
// shrinks while at least spec.replicas - maxUnavailable pods are available,
// and both sit behind <name>. Each version keeps its own Deployment, so a
// rollback is a scale, not a second rollout. The first version simply comes up.
func decideRolling(d *Decision, in Input, name string, replicas int32) {
	want := in.MD.Spec.Model.Version
	obs, found := in.Deployments[name]
	if d.Stable == nil {
		d.Run = []Target{{Version: want, Deployment: name, Replicas: replicas}}
		d.Candidate.Weight = 0
		if found && obs.AvailableReplicas > 0 {
			d.Candidate.Weight = 100
		}
		switch {
		case found && obs.Health == HealthFailed:
			stall(d, ReasonProgressDeadlineExceeded, fmt.Sprintf("Version %s did not become available within the progress deadline: %s", want, obs.Message))
			return
		case found && rolledOut(obs, in.TemplateHash, replicas):
			promote(d, in, name, obs)
			return
		}
		progress(d, ReasonRollingOut, fmt.Sprintf("Rolling out version %s: %d/%d pods available", want, obs.AvailableReplicas, replicas), obs, found)
		return
	}
	if rolledBackNow(d, in, name, replicas) {
		return // an abort, or a missed progress deadline, puts the stable version back
	}
	old := in.Deployments[d.Stable.Deployment]
	surge, unavailable := rollingBudget(in.MD, replicas)
	if in.Tests != nil && (!in.Tests.Done || !in.Tests.Passed) {
		testFirst(d, in, name, replicas, min(max(surge, 1), replicas), obs, found)
		return
	}
	candRunning := obs.Replicas
	if !found || obs.TemplateHash != in.TemplateHash {
		candRunning = 0 // pods of another template do not count toward this one
	}
	candN, stableN := RollingSizes(replicas, surge, unavailable, candRunning, obs.AvailableReplicas, old.Replicas, old.AvailableReplicas)
	d.Run = []Target{{Version: want, Deployment: name, Replicas: candN}, {Version: d.Stable.Version, Deployment: d.Stable.Deployment, Replicas: stableN}}

	d.Candidate.Weight = 0 // a candidate without available pods gets no traffic
	if found && obs.AvailableReplicas+old.AvailableReplicas > 0 {
		d.Candidate.Weight = 100 * obs.AvailableReplicas / (obs.AvailableReplicas + old.AvailableReplicas)
	}
	d.traffic.CandidateWeight = d.Candidate.Weight

	if found && rolledOut(obs, in.TemplateHash, replicas) {
		promote(d, in, name, obs)
		return
	}
	progress(d, ReasonRollingOut, fmt.Sprintf("Rolling out version %s: %d/%d pods available, %d pods of version %s left (maxSurge %d, maxUnavailable %d)",
		want, obs.AvailableReplicas, replicas, old.Replicas, d.Stable.Version, surge, unavailable), obs, found)
}

// testFirst brings up the first pods of the candidate (as many as the surge
// allows) beside the whole stable version, out of user traffic, and runs the
// smoke and load tests against them before the rolling update moves a pod:
// like every strategy, Rolling gives a version traffic only once its tests
// passed, and rolls it back when they fail.
func testFirst(d *Decision, in Input, name string, replicas, size int32, obs Observed, found bool) {
	want := in.MD.Spec.Model.Version
	d.Run = []Target{{Version: want, Deployment: name, Replicas: size}, {Version: d.Stable.Version, Deployment: d.Stable.Deployment, Replicas: replicas}}
	where := fmt.Sprintf("Rolling out version %s: %d candidate pods under test before the update moves on", want, size)
	if !found || !rolledOut(obs, in.TemplateHash, size) {
		d.testing = true
		d.Candidate.Weight = 0
		d.traffic = desiredstate.RoutePlan{}
		progress(d, ReasonWaitingForPods, fmt.Sprintf("%s: %d/%d candidate pods available", where, obs.AvailableReplicas, size), obs, found)
		return
	}
	testsPassed(d, in, name, replicas, where, obs, found)
}

// rollingBudget resolves spec.strategy.rolling's maxSurge (rounded up) and
// maxUnavailable (rounded down) against replicas, as a Deployment does; when
// both come to zero one pod of surge lets the rollout move.
func rollingBudget(md *servingv1alpha1.ModelDeployment, replicas int32) (surge, unavailable int32) {
	surgeV, unavailableV := defaultRollingPercent, defaultRollingPercent
	if r := md.Spec.Strategy.Rolling; r != nil {
		if r.MaxSurge != nil {
			surgeV = *r.MaxSurge
		}
		if r.MaxUnavailable != nil {
			unavailableV = *r.MaxUnavailable
		}
	}
	s, err := intstr.GetScaledValueFromIntOrPercent(&surgeV, int(replicas), true)
	if err != nil {
		s = 0
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(&unavailableV, int(replicas), false)
	if err != nil {
		u = 0
	}
	surge, unavailable = int32(max(s, 0)), int32(min(max(u, 0), int(replicas))) //nolint:gosec // bounded by replicas or the API's int32 fields
	if surge == 0 && unavailable == 0 {
		surge = 1
	}
	return surge, unavailable
}

// RollingSizes is one move of a rolling update between two versions, as the
// Deployment controller moves between its ReplicaSets: the new version grows
// into the surge left above total; the old one first gives up unavailable
// pods, then available ones while total - unavailable stay available in all,
// never counting the new version's pods that are not up yet. The new version
// never shrinks, so the sizes only move toward total and zero.
func RollingSizes(total, surge, unavailable, newRunning, newAvailable, oldRunning, oldAvailable int32) (newN, oldN int32) {
	// A scale-down the Deployment controller has not caught up with yet
	// reports more pods available than running.
	newAvailable, oldAvailable = min(newAvailable, newRunning), min(oldAvailable, oldRunning)
	newN = min(total, max(newRunning, total+surge-oldRunning))
	minAvailable := total - unavailable
	oldN = oldRunning
	maxScaledDown := newRunning + oldRunning - minAvailable - (newRunning - newAvailable)
	if maxScaledDown <= 0 {
		return newN, oldN
	}
	oldN -= min(maxScaledDown, oldRunning-oldAvailable)
	oldN -= min(max(newAvailable+oldAvailable-minAvailable, 0), oldN)
	return newN, oldN
}
