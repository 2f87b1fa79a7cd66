package rollout

import (
	"fmt"
	"time"

	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// blueGreen's preview has pods but no user traffic: it may come up outside a
// window, is never measured, and the switch keeps the old version warm.
type blueGreen struct{}

func (blueGreen) step(d *Decision, in Input, name string, replicas int32) {
	decideBlueGreen(d, in, name, replicas)
}
func (blueGreen) startedMoving(*servingv1alpha1.CandidateStatus) bool { return true }
func (blueGreen) apexStableOnly(bool) bool                            { return true }
func (blueGreen) measured(*servingv1alpha1.CandidateStatus) bool      { return false }
func (blueGreen) keepWarm(md *servingv1alpha1.ModelDeployment) time.Duration {
	if bg := md.Spec.Strategy.BlueGreen; bg != nil && bg.ScaleDownDelay != nil {
		return bg.ScaleDownDelay.Duration
	}
	return defaultScaleDownDelay
}

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
	d.Run = []Target{{Version: want, Deployment: name, Replicas: replicas}, {Version: d.Stable.Version, Deployment: d.Stable.Deployment, Replicas: replicas}}
	preview := fmt.Sprintf("Preview of version %s behind %s-candidate", want, md.Name)
	if !found || !rolledOut(obs, in.TemplateHash, replicas) {
		progress(d, ReasonPreviewStarting, fmt.Sprintf("%s: %d/%d pods available; version %s serves all traffic",
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
		handle(d, in, servingv1alpha1.AnnotationPromote, v)
	} else if v, ok := requested(md, servingv1alpha1.AnnotationPromoteFull, d.Requests.PromoteFull); ok {
		handle(d, in, servingv1alpha1.AnnotationPromoteFull, v)
	} else if md.Spec.Paused || !ptr.Deref(md.Spec.Strategy.BlueGreen.AutoPromotion, true) {
		switchNow = false
	}
	if !switchNow {
		paused(d, ReasonWaitingForPromote, fmt.Sprintf("%s is ready; annotate %s to switch traffic to it", preview, servingv1alpha1.AnnotationPromote))
		return
	}
	promote(d, in, name, obs)
}
