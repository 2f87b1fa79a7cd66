package controller

import (
	"errors"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/internal/rollout"
)

// summarize writes the whole status from what the reconcile gathered and
// decided, and the error it ended with. It makes no API calls.
//
//   - a terminal error (invalid spec) stalls: Stalled=True, Ready=False, and the
//     generation counts as handled, so kstatus reports Failed;
//   - any other error leaves the decision unapplied: Reconciling=True with the
//     error, and observedGeneration stays where it was;
//   - otherwise the decision is written; Reconcile records it before acting
//     and marks the generation handled once the decision is applied.
func summarize(s *scope, err error) {
	md := s.md
	var invalid invalidSpec
	switch {
	case errors.As(err, &invalid):
		setStalled(md, s.now, rollout.ReasonInvalidSpec, invalid.Error())
		md.Status.ObservedGeneration = md.Generation
	case err != nil:
		setCondition(md, s.now, servingv1alpha1.ConditionReconciling, metav1.ConditionTrue, rollout.ReasonRetryingAfterError, err.Error())
	case s.decided:
		setDecision(md, s)
		md.Status.ObservedGeneration = md.Generation
	}
}

// setDecision writes the rollout decision into status.
func setDecision(md *servingv1alpha1.ModelDeployment, s *scope) {
	d, now := s.decision, s.now
	st := &md.Status
	st.Phase = d.Phase
	st.Stable = d.Stable
	st.Candidate = d.Candidate
	st.Rejected = d.Rejected
	st.Previous = d.Previous
	st.Requests = d.Requests
	st.Analysis = s.analysis
	if s.loadTest != nil {
		st.LoadTest = s.loadTest
	}
	st.History = rollout.RecordHistory(st.History, record(s, d.Finished)...)
	st.Selector = desiredstate.Selector(md)
	st.Replicas, st.AvailableReplicas = 0, 0
	for _, name := range keptDeployments(s) {
		dep := s.deployments[name]
		st.Replicas += dep.Status.Replicas
		st.AvailableReplicas += dep.Status.AvailableReplicas
	}

	if s.checklistInputs != nil {
		st.Checklist = s.checklist.Status.DeepCopy()
		result, reason, msg := checklistCondition(s.checklist)
		status := metav1.ConditionTrue
		if result != servingv1alpha1.CheckPass {
			status = metav1.ConditionFalse
		}
		setCondition(md, now, servingv1alpha1.ConditionChecklistPassed, status, reason, msg)
	}

	setPolicyStatus(md, now, &s.policy)
	setApprovedCondition(md, now, s.approvals)
	setOptional(md, now, servingv1alpha1.ConditionNotified, s.notified)
	setCondition(md, now, servingv1alpha1.ConditionReady, d.Ready.Status, d.Ready.Reason, d.Ready.Message)
	setCondition(md, now, servingv1alpha1.ConditionProgressing, d.Progressing.Status, d.Progressing.Reason, d.Progressing.Message)
	setOptional(md, now, servingv1alpha1.ConditionReconciling, d.Reconciling)
	setOptional(md, now, servingv1alpha1.ConditionStalled, d.Stalled)
	setOptional(md, now, servingv1alpha1.ConditionRolledBack, d.RolledBack)
}

// record completes the history entries of rollouts that ended with what the
// reconcile gathered: the version's checklist summary and load-test figures.
func record(s *scope, finished []servingv1alpha1.HistoryEntry) []servingv1alpha1.HistoryEntry {
	out := make([]servingv1alpha1.HistoryEntry, 0, len(finished))
	for _, h := range finished {
		if s.checklistInputs != nil && s.checklist.Status.Version == h.Version {
			h.Checklist = s.checklist.Status.Summary
		}
		if lt := s.loadTest; lt != nil && lt.Version == h.Version {
			h.LoadTest = lt.DeepCopy()
		} else if lt := s.md.Status.LoadTest; lt != nil && lt.Version == h.Version {
			h.LoadTest = lt.DeepCopy()
		}
		out = append(out, h)
	}
	return out
}

// keptDeployments are the observed Deployments that the decision keeps.
func keptDeployments(s *scope) []string {
	deleted := map[string]bool{}
	for _, n := range s.decision.Delete {
		deleted[n] = true
	}
	var out []string
	for name := range s.deployments {
		if !deleted[name] {
			out = append(out, name)
		}
	}
	return out
}

func setStalled(md *servingv1alpha1.ModelDeployment, now metav1.Time, reason, msg string) {
	md.Status.Phase = servingv1alpha1.PhaseFailed
	setCondition(md, now, servingv1alpha1.ConditionReady, metav1.ConditionFalse, reason, msg)
	setCondition(md, now, servingv1alpha1.ConditionStalled, metav1.ConditionTrue, reason, msg)
	meta.RemoveStatusCondition(&md.Status.Conditions, servingv1alpha1.ConditionReconciling)
}

// setOptional sets an abnormal-true condition, or removes it when nil: kstatus
// and Flux read an absent Reconciling or Stalled as False.
func setOptional(md *servingv1alpha1.ModelDeployment, now metav1.Time, condType string, c *rollout.ConditionResult) {
	if c == nil {
		meta.RemoveStatusCondition(&md.Status.Conditions, condType)
		return
	}
	setCondition(md, now, condType, c.Status, c.Reason, c.Message)
}

// setCondition sets a condition; a changed status is stamped with the
// reconcile's time, from the injected clock.
func setCondition(md *servingv1alpha1.ModelDeployment, now metav1.Time, condType string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&md.Status.Conditions, metav1.Condition{
		Type: condType, Status: status, Reason: reason, Message: msg, ObservedGeneration: md.Generation,
		LastTransitionTime: now,
	})
}
