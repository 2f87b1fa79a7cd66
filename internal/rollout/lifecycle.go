// The lifecycle every strategy shares: a candidate promoted to stable, a
// candidate (or a baking version) rolled back and kept out as rejected until
// the spec changes or a retry is asked for, a version the gate holds, and the
// version a promotion replaced kept warm. Strategies (strategy.go) call these.

package rollout

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/internal/statusbound"
)

// requested returns the value of a manual-control annotation when it was not
// handled yet.
func requested(md *servingv1alpha1.ModelDeployment, annotation, handled string) (string, bool) {
	v := statusbound.Cut(md.Annotations[annotation], servingv1alpha1.MaxRequestValue)
	return v, v != "" && v != handled
}

// handle records a manual-control request as handled: its value and its
// requester (as the admission webhook stamped it) in status.requests, and
// "<annotation> by <user>" among the requests of the rollout, which its
// history entry keeps.
func handle(d *Decision, in Input, annotation, value string) {
	d.handled = append(d.handled, record(d, in, annotation, value))
}

// record puts a request's value and requester into status.requests and
// returns "<annotation> by <user>".
func record(d *Decision, in Input, annotation, value string) string {
	by := in.MD.Annotations[annotation+"-by"]
	if in.Requester != nil {
		by = in.Requester(annotation)
	}
	shown := by
	if shown == "" {
		shown = "an unknown user (no admission stamp: is modelgate's webhook installed?)"
	}
	r := &d.Requests
	switch annotation {
	case servingv1alpha1.AnnotationPromote:
		r.Promote, r.PromoteBy = value, by
	case servingv1alpha1.AnnotationPromoteFull:
		r.PromoteFull, r.PromoteFullBy = value, by
	case servingv1alpha1.AnnotationAbort:
		r.Abort, r.AbortBy = value, by
	case servingv1alpha1.AnnotationRetry:
		r.Retry, r.RetryBy = value, by
	}
	return fmt.Sprintf("%s by %s", strings.TrimPrefix(annotation, "serving.modelgate.dev/"), shown)
}

// maxRequests is how many handled requests a rollout keeps.
const maxRequests = 8

// settleRequests adds the requests handled in this decision to those of the
// candidate's rollout, and gives every history entry written now the
// requests of its rollout (before, as status had them).
func settleRequests(d *Decision, before []string) {
	if len(d.handled) == 0 && len(before) == 0 {
		return
	}
	last := func(l []string) []string {
		if len(l) > maxRequests {
			l = l[len(l)-maxRequests:]
		}
		return l
	}
	for i := range d.Finished {
		if d.Finished[i].Outcome == servingv1alpha1.OutcomeSuperseded {
			continue
		}
		d.Finished[i].Requests = last(append(slices.Clone(before), d.handled...))
	}
	if d.Candidate != nil && len(d.handled) > 0 {
		d.Candidate.Requests = last(append(slices.Clone(d.Candidate.Requests), d.handled...))
	}
}

// rolledBackNow rolls the candidate back when an abort is requested or its
// pods missed the progress deadline, and reports whether it did.
func rolledBackNow(d *Decision, in Input, name string, replicas int32) bool {
	want := in.MD.Spec.Model.Version
	if v, ok := requested(in.MD, servingv1alpha1.AnnotationAbort, d.Requests.Abort); ok {
		handle(d, in, servingv1alpha1.AnnotationAbort, v)
		rollback(d, in, name, replicas, ReasonAborted, fmt.Sprintf("Version %s was rolled back by request (%s: %q)", want, servingv1alpha1.AnnotationAbort, v))
		return true
	}
	if obs, found := in.Deployments[name]; found && obs.Health == HealthFailed {
		rollback(d, in, name, replicas, ReasonProgressDeadlineExceeded,
			fmt.Sprintf("Version %s was rolled back: its pods did not become available within the progress deadline (%s)", want, obs.Message))
		return true
	}
	if why, failed := analysis.Failed(in.MD.Spec.Analysis, in.Analysis, analysis.SubjectOf(in.MD, want, name)); failed {
		rollback(d, in, name, replicas, ReasonAnalysisFailed, fmt.Sprintf("Version %s was rolled back: %s", want, why))
		return true
	}
	return false
}

// rollback sends all traffic back to the stable version and records the
// candidate as rejected, so it is not tried again until the spec changes or a
// retry is asked for. The stable version is scaled up before the candidate is
// scaled down.
func rollback(d *Decision, in Input, name string, replicas int32, reason, msg string) {
	md := in.MD
	want := md.Spec.Model.Version
	d.Run = []Target{{Version: d.Stable.Version, Deployment: d.Stable.Deployment, Replicas: replicas}, {Version: want, Deployment: name, Replicas: 0}}
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
	d.Run = []Target{{Version: d.Stable.Version, Deployment: d.Stable.Deployment, Replicas: replicas}}
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

// stillRejected handles a retry request, and reports whether the spec still
// names the version that was rolled back.
func stillRejected(d *Decision, in Input) bool {
	if v, ok := requested(in.MD, servingv1alpha1.AnnotationRetry, d.Requests.Retry); ok {
		handle(d, in, servingv1alpha1.AnnotationRetry, v)
		if d.Rejected != nil {
			d.Events = append(d.Events, Event{corev1.EventTypeNormal, ReasonRetryRequested,
				fmt.Sprintf("Version %s, rolled back before, is tried again by request", d.Rejected.Version)})
			d.Rejected = nil
		}
	}
	r := d.Rejected
	if r == nil || d.Stable == nil {
		return false
	}
	if r.Version == in.MD.Spec.Model.Version && r.TemplateHash == in.TemplateHash {
		return true
	}
	d.Rejected = nil // the spec moved on
	return false
}

// holdCandidate keeps a candidate the gate holds without pods, so that nothing
// can send it traffic; the stable version keeps serving.
func holdCandidate(d *Decision, in Input, gate Gate, replicas int32) {
	want := in.MD.Spec.Model.Version
	d.Candidate.Weight = 0
	d.Run = []Target{{Version: want, Deployment: d.Candidate.Deployment, Replicas: 0}}
	msg := fmt.Sprintf("Version %s gets no traffic: %s", want, gate.Message)
	if d.Stable != nil {
		d.Run = append(d.Run, Target{Version: d.Stable.Version, Deployment: d.Stable.Deployment, Replicas: replicas})
		msg += fmt.Sprintf("; version %s keeps serving", d.Stable.Version)
	}
	if gate.Phase != "" && in.MD.Status.Phase != gate.Phase {
		// A wait that is no failure, such as for approvals, is told once.
		d.Events = append(d.Events, Event{corev1.EventTypeNormal, gate.Reason, msg})
	}
	closed(d, gate, msg)
}

// promote makes the candidate stable; the old stable's Deployment is deleted
// because it is no longer in Run.
func promote(d *Decision, in Input, name string, obs Observed) {
	md := in.MD
	want := md.Spec.Model.Version
	previous := stableVersion(d.Stable)
	d.Finished = append(d.Finished, servingv1alpha1.HistoryEntry{
		Version: want, Previous: previous, Outcome: servingv1alpha1.OutcomePromoted, Reason: ReasonPromoted,
		Message:  fmt.Sprintf("Version %s serves all traffic", want),
		Strategy: md.Spec.Strategy.Type, StartedAt: d.Candidate.StartedAt, FinishedAt: &in.Now,
		Approvers: in.Approvers, WindowOverride: in.WindowOverride,
	})
	msg := fmt.Sprintf("Version %s promoted: it serves all traffic", want)
	if previous != "" {
		msg = fmt.Sprintf("Version %s promoted, replacing %s", want, previous)
	}
	if d.Stable != nil && warmFor(md) > 0 {
		// Kept warm for a blue-green's scale-down delay or a bake.
		old := *d.Stable
		old.Since = &in.Now
		d.Previous = &old
	}
	d.Events = append(d.Events, Event{corev1.EventTypeNormal, ReasonPromoted, msg})
	d.Stable = &servingv1alpha1.VersionStatus{Version: want, Deployment: name, TemplateHash: in.TemplateHash, Since: &in.Now}
	d.Candidate = nil
	d.Run = []Target{{Version: want, Deployment: name, Replicas: desiredstate.Replicas(md)}}
	succeed(d, want, obs)
}

// warmFor is how long the version a promotion replaced stays at full size: a
// blue-green switch's scaleDownDelay, or the bake, whichever is longer.
func warmFor(md *servingv1alpha1.ModelDeployment) time.Duration {
	return max(strategyFor(md).keepWarm(md), bakeFor(md))
}

// bakeFor is how long the analysis watches a promoted version.
func bakeFor(md *servingv1alpha1.ModelDeployment) time.Duration {
	if a := md.Spec.Analysis; analyzed(md) && a.Bake != nil {
		return a.Bake.Duration
	}
	return 0
}

// keepPreviousWarm keeps the version a promotion replaced at full size until
// its time is up (see warmFor), then lets it go. While a bake lasts, the
// phase is Baking, and a breach of the analysis rolls back to it at once.
func keepPreviousWarm(d *Decision, in Input) {
	p := d.Previous
	if p == nil || p.Since == nil || d.Stable == nil || p.Deployment == d.Stable.Deployment {
		d.Previous = nil
		return
	}
	end := p.Since.Add(warmFor(in.MD))
	if !in.Now.Time.Before(end) {
		d.Previous = nil
		return
	}
	replicas := max(desiredstate.Replicas(in.MD), in.Deployments[p.Deployment].Replicas)
	d.Run = append(d.Run, Target{Version: p.Version, Deployment: p.Deployment, Replicas: replicas})
	if d.RequeueAfter == 0 || end.Sub(in.Now.Time) < d.RequeueAfter {
		d.RequeueAfter = end.Sub(in.Now.Time)
	}
	if bakeEnd := p.Since.Add(bakeFor(in.MD)); in.Now.Time.Before(bakeEnd) && d.Phase == servingv1alpha1.PhaseSucceeded {
		want := d.Stable.Version
		if why, failed := analysis.Failed(in.MD.Spec.Analysis, in.Analysis, subjectOf(in.MD, d.Stable)); failed {
			rollBackBake(d, in, why)
			return
		}
		msg := fmt.Sprintf("Version %s is baking until %s: the analysis watches it with version %s kept warm for an instant rollback",
			want, bakeEnd.UTC().Format(time.RFC3339), p.Version)
		d.Phase = servingv1alpha1.PhaseBaking
		d.Progressing = ConditionResult{metav1.ConditionTrue, ReasonBaking, msg}
		if bakeEnd.Sub(in.Now.Time) < d.RequeueAfter {
			d.RequeueAfter = bakeEnd.Sub(in.Now.Time)
		}
	}
}

// rollBackBake puts the version a promotion replaced back, at once, when the
// promoted one breaches its analysis during the bake; the promoted version is
// then kept out like any rolled-back candidate.
func rollBackBake(d *Decision, in Input, why string) {
	prev, cur := *d.Previous, *d.Stable
	msg := fmt.Sprintf("Version %s was rolled back during its bake: %s; version %s serves again", cur.Version, why, prev.Version)
	d.Finished = append(d.Finished, servingv1alpha1.HistoryEntry{
		Version: cur.Version, Previous: prev.Version, Outcome: servingv1alpha1.OutcomeRolledBack, Reason: ReasonBakeFailed, Message: msg,
		Strategy: in.MD.Spec.Strategy.Type, StartedAt: cur.Since, FinishedAt: &in.Now, Approvers: in.Approvers,
	})
	d.Events = append(d.Events, Event{corev1.EventTypeWarning, ReasonRolledBack, msg})
	d.Rejected = &servingv1alpha1.VersionStatus{Version: cur.Version, Deployment: cur.Deployment, TemplateHash: cur.TemplateHash, Since: &in.Now}
	prev.Since = &in.Now
	d.Stable, d.Previous, d.Candidate = &prev, nil, nil
	d.Run = []Target{{Version: prev.Version, Deployment: prev.Deployment, Replicas: desiredstate.Replicas(in.MD)}, {Version: cur.Version, Deployment: cur.Deployment, Replicas: 0}}
	rolledBack(d, ReasonBakeFailed, msg)
}
