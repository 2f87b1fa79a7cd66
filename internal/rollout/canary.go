package rollout

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// canary moves the candidate's share of traffic step by step.
type canary struct{}

func (canary) step(d *Decision, in Input, name string, replicas int32) {
	if in.MD.Spec.Strategy.Canary == nil { // admission requires it; an old object rolls
		decideRolling(d, in, name, replicas)
		return
	}
	decideCanary(d, in, name, replicas)
}
func (canary) startedMoving(c *servingv1alpha1.CandidateStatus) bool   { return movesByWeight(c) }
func (canary) apexStableOnly(routed bool) bool                         { return routed }
func (canary) measured(c *servingv1alpha1.CandidateStatus) bool        { return c.Weight > 0 }
func (canary) keepWarm(*servingv1alpha1.ModelDeployment) time.Duration { return 0 }

// SplitReplicas divides a ModelDeployment's pods between the candidate and the
// stable version for a canary weight when no router splits traffic: both
// versions sit behind the <name> Service, so the weight is approximated by the
// share of pods. Any weight above 0 gets at least one candidate pod, and any
// weight below 100 keeps at least one stable pod; with a single replica that
// means one pod of each, one more than spec.replicas.
func SplitReplicas(total, weight int32) (candidate, stable int32) {
	switch {
	case total <= 0:
		return 0, 0
	case weight <= 0:
		return 0, total
	case weight >= 100:
		return total, 0
	case total == 1:
		return 1, 1
	}
	candidate = (total*weight + 50) / 100
	candidate = min(max(candidate, 1), total-1)
	return candidate, total - candidate
}

// decideCanary moves a candidate through the canary steps beside the stable
// version: each step sets the candidate's share of pods, waits for them, then
// waits out the step's pause (or a promote), and moves on; past the last step
// the candidate is promoted. An abort or a missed progress deadline rolls it
// back.
func decideCanary(d *Decision, in Input, name string, replicas int32) {
	md := in.MD
	want := md.Spec.Model.Version
	steps := md.Spec.Strategy.Canary.Steps
	last := int32(len(steps)) //nolint:gosec // the API allows at most 20 steps
	c := d.Candidate
	c.Step = min(c.Step, last) // steps may have been removed from the spec
	if c.StepStartedAt == nil {
		c.StepStartedAt = ptr.To(metav1.NewMicroTime(in.Now.Time))
	}
	obs, found := in.Deployments[name]
	routed := Routed(md)

	if rolledBackNow(d, in, name, replicas) {
		return
	}
	if v, ok := requested(md, servingv1alpha1.AnnotationPromoteFull, d.Requests.PromoteFull); ok {
		handle(d, in, servingv1alpha1.AnnotationPromoteFull, v)
		c.Step = last
		d.Events = append(d.Events, Event{corev1.EventTypeNormal, ReasonPromoteRequested,
			fmt.Sprintf("Version %s is promoted by request, skipping the remaining steps", want)})
	}

	for {
		if c.Step >= last {
			promoteCanary(d, in, name, replicas, weightBefore(steps, last), obs, found)
			return
		}
		step := steps[c.Step]
		candN, stableN := SplitReplicas(replicas, step.Weight)
		if routed {
			candN, stableN = SizeForTraffic(replicas, step.Weight)
		}
		c.Weight = step.Weight
		d.Run = []Target{{Version: want, Deployment: name, Replicas: candN}, {Version: d.Stable.Version, Deployment: d.Stable.Deployment, Replicas: stableN}}
		where := fmt.Sprintf("Canary of version %s at step %d/%d (weight %d%%, %d of %d pods)", want, c.Step+1, len(steps), step.Weight, candN, candN+stableN)
		if !found || !rolledOut(obs, in.TemplateHash, candN) {
			waitForStepPods(d, in, weightBefore(steps, c.Step), stableN)
			progress(d, ReasonWaitingForPods, fmt.Sprintf("%s: %d/%d candidate pods available", where, obs.AvailableReplicas, candN), obs, found)
			return
		}
		if c.Step == 0 && !testsPassed(d, in, name, replicas, where, obs, found) {
			return
		}
		d.traffic.CandidateWeight = step.Weight
		if md.Spec.Paused {
			paused(d, ReasonPaused, where+": paused by spec.paused")
			return
		}
		// The judge's early pass ends the steps, their pauses included, within
		// the deployment window.
		if why, early := analysis.PassedEarly(md.Spec.Analysis, in.Analysis, specSubject(d, in), c.StepStartedAt.Time); early && analyzed(md) && !outsideWindow(in) {
			c.Step = last
			d.Events = append(d.Events, Event{corev1.EventTypeNormal, ReasonPassedEarly,
				fmt.Sprintf("Version %s passed the sequential judge early and skips the remaining canary steps: %s", want, why)})
			continue
		}
		if pausing(d, in, step, where, obs, found) {
			return
		}
		if analyzed(md) && !analysis.PassedSince(in.Analysis, specSubject(d, in), c.StepStartedAt.Time) {
			waitForAnalysis(d, in, where, obs, found)
			return
		}
		if outsideWindow(in) {
			waitForWindow(d, in)
			return
		}
		c.Step++
		c.StepStartedAt = ptr.To(metav1.NewMicroTime(in.Now.Time))
		if c.Step < last {
			d.Events = append(d.Events, Event{corev1.EventTypeNormal, ReasonStepAdvanced,
				fmt.Sprintf("Canary of version %s moved to step %d/%d (weight %d%%)", want, c.Step+1, len(steps), steps[c.Step].Weight)})
		}
	}
}

// promoteCanary brings the candidate up at full size while the stable version
// keeps the pods it has, so a promotion never drops capacity, and promotes it
// once all its pods are available. A router keeps the last step's weight
// until then.
func promoteCanary(d *Decision, in Input, name string, replicas, lastWeight int32, obs Observed, found bool) {
	want := in.MD.Spec.Model.Version
	c := d.Candidate
	c.Weight = 100
	if Routed(in.MD) {
		c.Weight = lastWeight
		d.traffic.CandidateWeight = c.Weight
	}
	d.Run = []Target{{Version: want, Deployment: name, Replicas: replicas},
		{Version: d.Stable.Version, Deployment: d.Stable.Deployment, Replicas: in.Deployments[d.Stable.Deployment].Replicas}}
	if found && rolledOut(obs, in.TemplateHash, replicas) {
		promote(d, in, name, obs)
		return
	}
	progress(d, ReasonPromoting, fmt.Sprintf("Version %s passed every canary step and is scaling to %d pods before it takes all traffic: %d/%d available",
		want, replicas, obs.AvailableReplicas, replicas), obs, found)
}

// waitForStepPods holds traffic where it was while a step's pods come up:
// the stable version gives up pods only once the candidate's are up, a router
// keeps the weight of the step before, and pods about to be tested stay out
// of <name>.
func waitForStepPods(d *Decision, in Input, weightBefore, stableN int32) {
	c := d.Candidate
	if running := in.Deployments[d.Stable.Deployment].Replicas; running > stableN {
		d.Run[1].Replicas = running
	}
	if Routed(in.MD) {
		c.Weight = weightBefore
		d.traffic.CandidateWeight = c.Weight
	}
	if t := in.Tests; c.Step == 0 && t != nil && (!t.Done || !t.Passed) {
		d.testing, c.Weight, d.traffic = true, 0, desiredstate.RoutePlan{}
	}
}

// pausing holds a step for its pause, timed or until a promote, and reports
// whether it did.
func pausing(d *Decision, in Input, step servingv1alpha1.CanaryStep, where string, obs Observed, found bool) bool {
	promoteValue, promoteAsked := requested(in.MD, servingv1alpha1.AnnotationPromote, d.Requests.Promote)
	switch pause := step.Pause; {
	case pause == nil:
	case promoteAsked:
		handle(d, in, servingv1alpha1.AnnotationPromote, promoteValue)
	case pause.Duration == nil:
		paused(d, ReasonWaitingForPromote, fmt.Sprintf("%s: waiting for a promote (annotate %s)", where, servingv1alpha1.AnnotationPromote))
		return true
	default:
		end := d.Candidate.StepStartedAt.Add(pause.Duration.Duration)
		if in.Now.Time.Before(end) {
			progress(d, ReasonPausing, fmt.Sprintf("%s: pausing until %s", where, end.UTC().Format(time.RFC3339)), obs, found)
			d.RequeueAfter = end.Sub(in.Now.Time)
			return true
		}
	}
	return false
}

// weightBefore is the weight of the step before step i, 0 before the first.
func weightBefore(steps []servingv1alpha1.CanaryStep, i int32) int32 {
	if i <= 0 {
		return 0
	}
	return steps[i-1].Weight
}

// analyzed reports whether a ModelDeployment's rollouts wait on analysis: its
// spec names a metrics provider.
func analyzed(md *servingv1alpha1.ModelDeployment) bool {
	return analysis.ProviderKind(md) != ""
}

// waitForAnalysis holds a step until a round of analysis passes.
func waitForAnalysis(d *Decision, in Input, where string, obs Observed, found bool) {
	msg := where + ": waiting for a round of analysis to pass"
	if a := in.Analysis; specSubject(d, in).Of(a) && a.LastRound != nil {
		msg += fmt.Sprintf(" (last round %s: %s)", a.LastRound.Verdict, a.LastRound.Message)
	}
	progress(d, ReasonAnalyzing, msg, obs, found)
}
