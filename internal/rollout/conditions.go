// The phase and conditions of a decision, one setter per state a rollout can
// be in.

package rollout

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func succeed(d *Decision, version string, obs Observed) {
	d.Phase = servingv1alpha1.PhaseSucceeded
	d.Ready = ConditionResult{metav1.ConditionTrue, ReasonSucceeded,
		fmt.Sprintf("Version %s serves all traffic with %d/%d pods available", version, obs.AvailableReplicas, obs.Replicas)}
	d.Progressing = ConditionResult{metav1.ConditionFalse, ReasonSucceeded, fmt.Sprintf("No rollout in progress; version %s is stable", version)}
}

func progress(d *Decision, reason, msg string, obs Observed, found bool) {
	if found && obs.Message != "" && obs.Health == HealthInProgress {
		msg += " (" + obs.Message + ")"
	}
	d.Phase = servingv1alpha1.PhaseProgressing
	d.Ready = ConditionResult{metav1.ConditionFalse, reason, msg}
	d.Reconciling = &ConditionResult{metav1.ConditionTrue, reason, msg}
	d.Progressing = ConditionResult{metav1.ConditionTrue, reason, msg}
}

// closed records a gate that holds the version in Verifying: stalled when the
// user must change something, reconciling when it may open by itself.
func closed(d *Decision, g Gate, msg string) {
	d.Phase = servingv1alpha1.PhaseVerifying
	if g.Phase != "" {
		d.Phase = g.Phase
	}
	d.Ready = ConditionResult{metav1.ConditionFalse, g.Reason, msg}
	d.Progressing = ConditionResult{metav1.ConditionFalse, g.Reason, msg}
	if g.Retrying {
		d.Reconciling = &ConditionResult{metav1.ConditionTrue, g.Reason, msg}
		return
	}
	d.Stalled = &ConditionResult{metav1.ConditionTrue, g.Reason, msg}
}

func stall(d *Decision, reason, msg string) {
	d.Phase = servingv1alpha1.PhaseFailed
	d.Ready = ConditionResult{metav1.ConditionFalse, reason, msg}
	d.Stalled = &ConditionResult{metav1.ConditionTrue, reason, msg}
	d.Progressing = ConditionResult{metav1.ConditionFalse, reason, msg}
}

// sameStalled reports whether the last status already stalled for the same reason.
func sameStalled(md *servingv1alpha1.ModelDeployment, s *ConditionResult) bool {
	for _, c := range md.Status.Conditions {
		if c.Type == servingv1alpha1.ConditionStalled {
			return c.Status == metav1.ConditionTrue && c.Reason == s.Reason && c.Message == s.Message
		}
	}
	return false
}

// paused holds a rollout at a step until something changes: spec.paused is
// cleared or a promote is requested.
func paused(d *Decision, reason, msg string) {
	d.Phase = servingv1alpha1.PhasePaused
	d.Ready = ConditionResult{metav1.ConditionFalse, reason, msg}
	d.Reconciling = &ConditionResult{metav1.ConditionTrue, reason, msg}
	d.Progressing = ConditionResult{metav1.ConditionTrue, reason, msg}
}
