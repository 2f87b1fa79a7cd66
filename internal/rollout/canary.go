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

// requested returns the value of a manual-control annotation when it was not
// handled yet.
func requested(md *servingv1alpha1.ModelDeployment, annotation, handled string) (string, bool) {
	v := md.Annotations[annotation]
	return v, v != "" && v != handled
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
		d.Requests.PromoteFull = v
		c.Step = last
		d.Events = append(d.Events, Event{corev1.EventTypeNormal, "PromoteRequested",
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
		d.Run = []Target{{Version: want, Replicas: candN}, {Version: d.Stable.Version, Replicas: stableN}}
		where := fmt.Sprintf("Canary of version %s at step %d/%d (weight %d%%, %d of %d pods)", want, c.Step+1, len(steps), step.Weight, candN, candN+stableN)
		if !found || !rolledOut(obs, in.TemplateHash, candN) {
			waitForStepPods(d, in, weightBefore(steps, c.Step), stableN)
			progress(d, "WaitingForPods", fmt.Sprintf("%s: %d/%d candidate pods available", where, obs.AvailableReplicas, candN), obs, found)
			return
		}
		if c.Step == 0 && !testsPassed(d, in, name, replicas, where, obs, found) {
			return
		}
		d.traffic.CandidateWeight = step.Weight
		if md.Spec.Paused {
			paused(d, "Paused", where+": paused by spec.paused")
			return
		}
		if pausing(d, in, step, where, obs, found) {
			return
		}
		if analyzed(md) && !analysis.PassedSince(in.Analysis, want, c.StepStartedAt.Time) {
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
			d.Events = append(d.Events, Event{corev1.EventTypeNormal, "StepAdvanced",
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
	d.Run = []Target{{Version: want, Replicas: replicas},
		{Version: d.Stable.Version, Replicas: in.Deployments[d.Stable.Deployment].Replicas}}
	if found && rolledOut(obs, in.TemplateHash, replicas) {
		promote(d, in, name, obs)
		return
	}
	progress(d, "Promoting", fmt.Sprintf("Version %s passed every canary step and is scaling to %d pods before it takes all traffic: %d/%d available",
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
		d.Requests.Promote = promoteValue
	case pause.Duration == nil:
		paused(d, "WaitingForPromote", fmt.Sprintf("%s: waiting for a promote (annotate %s)", where, servingv1alpha1.AnnotationPromote))
		return true
	default:
		end := d.Candidate.StepStartedAt.Add(pause.Duration.Duration)
		if in.Now.Time.Before(end) {
			progress(d, "Pausing", fmt.Sprintf("%s: pausing until %s", where, end.UTC().Format(time.RFC3339)), obs, found)
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

// rolledBackNow rolls the candidate back when an abort is requested or its
// pods missed the progress deadline, and reports whether it did.
func rolledBackNow(d *Decision, in Input, name string, replicas int32) bool {
	want := in.MD.Spec.Model.Version
	if v, ok := requested(in.MD, servingv1alpha1.AnnotationAbort, d.Requests.Abort); ok {
		d.Requests.Abort = v
		rollback(d, in, name, replicas, "Aborted", fmt.Sprintf("Version %s was rolled back by request (%s: %q)", want, servingv1alpha1.AnnotationAbort, v))
		return true
	}
	if obs, found := in.Deployments[name]; found && obs.Health == HealthFailed {
		rollback(d, in, name, replicas, "ProgressDeadlineExceeded",
			fmt.Sprintf("Version %s was rolled back: its pods did not become available within the progress deadline (%s)", want, obs.Message))
		return true
	}
	if why, failed := analysis.Failed(in.MD.Spec.Analysis, in.Analysis, want); failed {
		rollback(d, in, name, replicas, "AnalysisFailed", fmt.Sprintf("Version %s was rolled back: %s", want, why))
		return true
	}
	return false
}

// analyzed reports whether a ModelDeployment's rollouts wait on analysis.
func analyzed(md *servingv1alpha1.ModelDeployment) bool {
	return md.Spec.Analysis != nil && md.Spec.Analysis.Prometheus != nil
}

// waitForAnalysis holds a step until a round of analysis passes.
func waitForAnalysis(d *Decision, in Input, where string, obs Observed, found bool) {
	msg := where + ": waiting for a round of analysis to pass"
	if a := in.Analysis; a != nil && a.Version == in.MD.Spec.Model.Version && a.LastRound != nil {
		msg += fmt.Sprintf(" (last round %s: %s)", a.LastRound.Verdict, a.LastRound.Message)
	}
	progress(d, "Analyzing", msg, obs, found)
}

// ReasonRolledBack is the event reason of every rollback, and the condition
// reason of one whose own reason is lost.
const ReasonRolledBack = "RolledBack"

// rollback sends all traffic back to the stable version and records the
// candidate as rejected, so it is not tried again until the spec changes or a
// retry is asked for. The stable version is scaled up before the candidate is
// scaled down.
func rollback(d *Decision, in Input, name string, replicas int32, reason, msg string) {
	md := in.MD
	want := md.Spec.Model.Version
	d.Run = []Target{{Version: d.Stable.Version, Replicas: replicas}, {Version: want, Replicas: 0}}
	d.Rejected = &servingv1alpha1.VersionStatus{Version: want, Deployment: name, TemplateHash: in.TemplateHash, Since: &in.Now}
	d.Finished = append(d.Finished, servingv1alpha1.HistoryEntry{
		Version: want, Previous: d.Stable.Version, Outcome: servingv1alpha1.OutcomeRolledBack, Reason: reason, Message: msg, Approvers: in.Approvers,
		Strategy: md.Spec.Strategy.Type, StartedAt: d.Candidate.StartedAt, FinishedAt: &in.Now,
	})
	d.Events = append(d.Events, Event{corev1.EventTypeWarning, ReasonRolledBack, msg})
	d.Candidate = nil
	rolledBack(d, reason, msg)
}

// stayRolledBack keeps a rejected version out while the spec still names it.
func stayRolledBack(d *Decision, in Input, replicas int32) {
	d.Candidate = nil
	d.Run = []Target{{Version: d.Stable.Version, Replicas: replicas}}
	why := fmt.Sprintf("Version %s was rolled back", d.Rejected.Version)
	for _, h := range in.MD.Status.History {
		if h.Version == d.Rejected.Version && h.Outcome == servingv1alpha1.OutcomeRolledBack && h.Message != "" {
			why = h.Message // what broke it stays in sight: a breached metric, its value and its bound
			break
		}
	}
	msg := fmt.Sprintf("%s; version %s serves all traffic. Change the spec, or annotate %s to try it again",
		why, d.Stable.Version, servingv1alpha1.AnnotationRetry)
	reason := ReasonRolledBack
	for _, c := range in.MD.Status.Conditions {
		if c.Type == servingv1alpha1.ConditionRolledBack && c.Status == metav1.ConditionTrue {
			reason = c.Reason
		}
	}
	rolledBack(d, reason, msg)
}

func rolledBack(d *Decision, reason, msg string) {
	d.Phase = servingv1alpha1.PhaseRolledBack
	d.Ready = ConditionResult{metav1.ConditionFalse, reason, msg}
	d.Progressing = ConditionResult{metav1.ConditionFalse, reason, msg}
	// kstatus reads a rolled-back ModelDeployment as Failed until the spec changes.
	d.Stalled = &ConditionResult{metav1.ConditionTrue, reason, msg}
	d.RolledBack = &ConditionResult{metav1.ConditionTrue, reason, msg}
}

// paused holds a rollout at a step until something changes: spec.paused is
// cleared or a promote is requested.
func paused(d *Decision, reason, msg string) {
	d.Phase = servingv1alpha1.PhasePaused
	d.Ready = ConditionResult{metav1.ConditionFalse, reason, msg}
	d.Reconciling = &ConditionResult{metav1.ConditionTrue, reason, msg}
	d.Progressing = ConditionResult{metav1.ConditionTrue, reason, msg}
}
