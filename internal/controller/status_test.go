package controller

import (
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/rollout"
)

// conditionsOf are a status' conditions as "status/reason" by type.
func conditionsOf(md *servingv1alpha1.ModelDeployment) map[string]string {
	out := map[string]string{}
	for _, c := range md.Status.Conditions {
		out[c.Type] = string(c.Status) + "/" + c.Reason
	}
	return out
}

// summarize is the one mapping from what a reconcile decided (or the error
// it ended with) to status; it makes no API calls.
func TestSummarize(t *testing.T) {
	now := metav1.NewTime(start)
	rolledBack := rollout.Decision{
		Phase:       servingv1alpha1.PhaseRolledBack,
		Stable:      &servingv1alpha1.VersionStatus{Version: "1.0.0"},
		Ready:       rollout.ConditionResult{Status: metav1.ConditionFalse, Reason: rollout.ReasonAnalysisFailed, Message: "breach"},
		Progressing: rollout.ConditionResult{Status: metav1.ConditionFalse, Reason: rollout.ReasonAnalysisFailed, Message: "breach"},
		Stalled:     &rollout.ConditionResult{Status: metav1.ConditionTrue, Reason: rollout.ReasonAnalysisFailed, Message: "breach"},
		RolledBack:  &rollout.ConditionResult{Status: metav1.ConditionTrue, Reason: rollout.ReasonAnalysisFailed, Message: "breach"},
		Finished:    []servingv1alpha1.HistoryEntry{{Version: "2.0.0", Outcome: servingv1alpha1.OutcomeRolledBack, Reason: rollout.ReasonAnalysisFailed}},
	}
	progressing := rollout.Decision{
		Phase:       servingv1alpha1.PhaseProgressing,
		Stable:      &servingv1alpha1.VersionStatus{Version: "1.0.0"},
		Candidate:   &servingv1alpha1.CandidateStatus{VersionStatus: servingv1alpha1.VersionStatus{Version: "2.0.0"}, Weight: 25},
		Ready:       rollout.ConditionResult{Status: metav1.ConditionFalse, Reason: rollout.ReasonAnalyzing, Message: "analysing"},
		Progressing: rollout.ConditionResult{Status: metav1.ConditionTrue, Reason: rollout.ReasonAnalyzing, Message: "analysing"},
		Reconciling: &rollout.ConditionResult{Status: metav1.ConditionTrue, Reason: rollout.ReasonAnalyzing, Message: "analysing"},
	}
	tests := []struct {
		name       string
		scope      func(*scope)
		err        error
		phase      servingv1alpha1.Phase
		conditions map[string]string
		// observed is whether the generation counts as handled.
		observed bool
		history  int
	}{
		{
			name: "a rollback stalls, with its reason on every condition", scope: func(s *scope) { s.decided, s.decision = true, rolledBack },
			phase: servingv1alpha1.PhaseRolledBack, observed: true, history: 1,
			conditions: map[string]string{
				servingv1alpha1.ConditionReady: "False/AnalysisFailed", servingv1alpha1.ConditionProgressing: "False/AnalysisFailed",
				servingv1alpha1.ConditionStalled: "True/AnalysisFailed", servingv1alpha1.ConditionRolledBack: "True/AnalysisFailed",
			},
		},
		{
			name: "a rollout in progress reconciles; a delivery failing shows", scope: func(s *scope) {
				s.decided, s.decision = true, progressing
				s.notified = &rollout.ConditionResult{Status: metav1.ConditionFalse, Reason: ReasonDeliveryFailing, Message: "ops: 500"}
			},
			phase: servingv1alpha1.PhaseProgressing, observed: true,
			conditions: map[string]string{
				servingv1alpha1.ConditionReady: "False/Analyzing", servingv1alpha1.ConditionProgressing: "True/Analyzing",
				servingv1alpha1.ConditionReconciling: "True/Analyzing", servingv1alpha1.ConditionNotified: "False/DeliveryFailing",
			},
		},
		{
			name: "an invalid spec stalls and counts as handled", err: reconcile.TerminalError(invalidSpec{errors.New("no container named nope")}),
			phase: servingv1alpha1.PhaseFailed, observed: true,
			conditions: map[string]string{
				servingv1alpha1.ConditionReady: "False/InvalidSpec", servingv1alpha1.ConditionStalled: "True/InvalidSpec",
			},
		},
		{
			name: "another error is retried, the generation not handled", err: errors.New("listing Deployments: timeout"),
			phase: servingv1alpha1.PhaseSucceeded,
			conditions: map[string]string{
				servingv1alpha1.ConditionReady: "True/Succeeded", servingv1alpha1.ConditionReconciling: "True/RetryingAfterError",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			md := newMD()
			md.Generation = 3
			md.Status = servingv1alpha1.ModelDeploymentStatus{ObservedGeneration: 2, Phase: servingv1alpha1.PhaseSucceeded}
			meta.SetStatusCondition(&md.Status.Conditions, metav1.Condition{Type: servingv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: rollout.ReasonSucceeded})
			meta.SetStatusCondition(&md.Status.Conditions, metav1.Condition{Type: servingv1alpha1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: rollout.ReasonWaitingForPods})
			s := &scope{md: md, now: now}
			if tt.scope != nil {
				tt.scope(s)
			}
			summarize(s, tt.err)
			g.Expect(md.Status.Phase).To(Equal(tt.phase))
			g.Expect(conditionsOf(md)).To(Equal(tt.conditions))
			g.Expect(md.Status.History).To(HaveLen(tt.history))
			if tt.observed {
				g.Expect(md.Status.ObservedGeneration).To(BeEquivalentTo(3))
			} else {
				g.Expect(md.Status.ObservedGeneration).To(BeEquivalentTo(2))
			}
		})
	}
}
