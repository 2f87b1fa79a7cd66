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

// defaultScaleDownDelay is how long a blue-green switch keeps the old version
// warm when the spec does not say.
const defaultScaleDownDelay = 30 * time.Second

// decideBlueGreen brings the candidate up at full size behind <name>-candidate
// while <name> keeps selecting the stable version only; once the preview is
// available (and promoted, without autoPromotion) <name> switches to it in one
// selector change, and the old version stays at full size for scaleDownDelay.
func decideBlueGreen(d *Decision, in Input, name string, replicas int32) {
	md := in.MD
	want := md.Spec.Model.Version
	c := d.Candidate
	c.Weight = 0
	obs, found := in.Deployments[name]

	if rolledBackNow(d, in, name, replicas) {
		return
	}
	d.Run = []Target{{Version: want, Replicas: replicas}, {Version: d.Stable.Version, Replicas: replicas}}
	preview := fmt.Sprintf("Preview of version %s behind %s-candidate", want, md.Name)
	if !found || !rolledOut(obs, in.TemplateHash, replicas) {
		progress(d, "PreviewStarting", fmt.Sprintf("%s: %d/%d pods available; version %s serves all traffic",
			preview, obs.AvailableReplicas, replicas, d.Stable.Version), obs, found)
		return
	}
	if !testsPassed(d, in, name, replicas, preview, obs, found) {
		return
	}
	if outsideWindow(in) {
		waitForWindow(d, in)
		return
	}
	switchNow := true
	if v, ok := requested(md, servingv1alpha1.AnnotationPromote, d.Requests.Promote); ok {
		d.Requests.Promote = v
	} else if v, ok := requested(md, servingv1alpha1.AnnotationPromoteFull, d.Requests.PromoteFull); ok {
		d.Requests.PromoteFull = v
	} else if md.Spec.Paused || !ptr.Deref(md.Spec.Strategy.BlueGreen.AutoPromotion, true) {
		switchNow = false
	}
	if !switchNow {
		paused(d, "WaitingForPromote", fmt.Sprintf("%s is ready; annotate %s to switch traffic to it", preview, servingv1alpha1.AnnotationPromote))
		return
	}
	promote(d, in, name, obs)
}

// warmFor is how long the version a promotion replaced stays at full size: a
// blue-green switch's scaleDownDelay, or the bake, whichever is longer.
func warmFor(md *servingv1alpha1.ModelDeployment) time.Duration {
	var d time.Duration
	if md.Spec.Strategy.Type == servingv1alpha1.StrategyBlueGreen {
		d = defaultScaleDownDelay
		if bg := md.Spec.Strategy.BlueGreen; bg != nil && bg.ScaleDownDelay != nil {
			d = bg.ScaleDownDelay.Duration
		}
	}
	return max(d, bakeFor(md))
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
	if p == nil || p.Since == nil || d.Stable == nil || p.Version == d.Stable.Version {
		d.Previous = nil
		return
	}
	end := p.Since.Add(warmFor(in.MD))
	if !in.Now.Time.Before(end) {
		d.Previous = nil
		return
	}
	replicas := max(desiredstate.Replicas(in.MD), in.Deployments[p.Deployment].Replicas)
	d.Run = append(d.Run, Target{Version: p.Version, Replicas: replicas})
	if d.RequeueAfter == 0 || end.Sub(in.Now.Time) < d.RequeueAfter {
		d.RequeueAfter = end.Sub(in.Now.Time)
	}
	if bakeEnd := p.Since.Add(bakeFor(in.MD)); in.Now.Time.Before(bakeEnd) && d.Phase == servingv1alpha1.PhaseSucceeded {
		want := d.Stable.Version
		if why, failed := analysis.Failed(in.MD.Spec.Analysis, in.Analysis, want); failed {
			rollBackBake(d, in, why)
			return
		}
		msg := fmt.Sprintf("Version %s is baking until %s: the analysis watches it with version %s kept warm for an instant rollback",
			want, bakeEnd.UTC().Format(time.RFC3339), p.Version)
		d.Phase = servingv1alpha1.PhaseBaking
		d.Progressing = ConditionResult{metav1.ConditionTrue, "Baking", msg}
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
		Version: cur.Version, Previous: prev.Version, Outcome: servingv1alpha1.OutcomeRolledBack, Reason: "BakeFailed", Message: msg,
		Strategy: in.MD.Spec.Strategy.Type, StartedAt: cur.Since, FinishedAt: &in.Now, Approvers: in.Approvers,
	})
	d.Events = append(d.Events, Event{corev1.EventTypeWarning, ReasonRolledBack, msg})
	d.Rejected = &servingv1alpha1.VersionStatus{Version: cur.Version, Deployment: cur.Deployment, TemplateHash: cur.TemplateHash, Since: &in.Now}
	prev.Since = &in.Now
	d.Stable, d.Previous, d.Candidate = &prev, nil, nil
	d.Run = []Target{{Version: prev.Version, Replicas: desiredstate.Replicas(in.MD)}, {Version: cur.Version, Replicas: 0}}
	rolledBack(d, "BakeFailed", msg)
}
