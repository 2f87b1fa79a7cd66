package controller

import (
	"context"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/approval"
	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/internal/configrollout"
	"github.com/modelgate/modelgate/internal/rollout"
)

// approvalTargetIndex indexes ModelApprovals by the ModelDeployment they approve.
const approvalTargetIndex = ".spec.modelDeployment"

// +kubebuilder:rbac:groups=serving.modelgate.dev,resources=modelapprovals,verbs=get;list;watch

// gatherApprovals reads the ModelApprovals of the ModelDeployment and judges
// those of the spec's version: the sign-offs required, and the attested
// checklist items they tick (which the checklist then judges).
//
// The roles required are the effective ones: the spec's and those its
// policies add. Under a policy's separation of duties, an approval by the
// user who last changed the model or its template (stamped at admission)
// does not count.
func (r *ModelDeploymentReconciler) gatherApprovals(ctx context.Context, s *scope) error {
	md := s.md
	if s.policy.Selected() {
		if required := s.policy.Effective.RequiredApprovals(); required != nil {
			md = md.DeepCopy() // judged by the effective roles; the spec is not changed
			md.Spec.Approvals = &servingv1alpha1.ApprovalsSpec{Required: required}
		}
	}
	if md.Spec.Approvals == nil && len(md.Spec.Checklist.Attestations) == 0 {
		s.approvals = approval.Result{}
		return nil
	}
	var list servingv1alpha1.ModelApprovalList
	if err := r.List(ctx, &list, client.InNamespace(md.Namespace), client.MatchingFields{approvalTargetIndex: md.Name}); err != nil {
		return fmt.Errorf("listing the ModelApprovals of %s: %w", md.Name, err)
	}
	version := md.Spec.Model.Version
	ofVersion := slices.DeleteFunc(list.Items, func(ap servingv1alpha1.ModelApproval) bool { return ap.Spec.Version != version })
	kept, ignored := approval.WithoutSelfApprovals(ofVersion, md.Annotations[servingv1alpha1.AnnotationSpecChangedBy], s.policy.Effective.SeparationOfDuties)
	if s.untrusted != "" && len(kept) > 0 {
		kept, ignored = nil, append(ignored, fmt.Sprintf("no ModelApproval counts: %s", s.untrusted))
	}
	// An approval binds to the config the revision reads too.
	s.approvals = approval.Judge(md, version, kept, configrollout.Names(s.configCopies)...)
	s.approvals.Ignored = append(s.approvals.Ignored, ignored...)
	return nil
}

// attested hands the attestations that count to the checklist.
func attested(res approval.Result) map[string]checklist.Attestation {
	out := make(map[string]checklist.Attestation, len(res.Attested))
	for id, g := range res.Attested {
		out[id] = checklist.Attestation{By: g.Approver, At: g.ApprovedAt}
	}
	return out
}

// approvalGate holds a version until its required roles have signed off; it
// opens by the approvers' acts, so it reconciles rather than stalls.
func approvalGate(s *scope) rollout.Gate {
	res := s.approvals
	if !res.Required || res.Approved() {
		return rollout.Gate{}
	}
	return rollout.Gate{Closed: true, Reason: rollout.ReasonAwaitingApproval, Message: res.Message(s.md.Spec.Model.Version),
		Retrying: true, Phase: servingv1alpha1.PhaseAwaitingApproval}
}

// setApprovedCondition writes the Approved condition and the approvals that count.
func setApprovedCondition(md *servingv1alpha1.ModelDeployment, now metav1.Time, res approval.Result) {
	if !res.Required {
		md.Status.Approvals = nil
		setOptional(md, now, servingv1alpha1.ConditionApproved, nil)
		return
	}
	md.Status.Approvals = res.Given
	c := &rollout.ConditionResult{Status: metav1.ConditionTrue, Reason: "Approved", Message: res.Message(md.Spec.Model.Version)}
	if !res.Approved() {
		c.Status, c.Reason = metav1.ConditionFalse, rollout.ReasonAwaitingApproval
	}
	setOptional(md, now, servingv1alpha1.ConditionApproved, c)
}

// approvalTarget is the index function of approvalTargetIndex.
func approvalTarget(o client.Object) []string {
	ap, ok := o.(*servingv1alpha1.ModelApproval)
	if !ok {
		return nil
	}
	return []string{ap.Spec.ModelDeployment}
}

// modelDeploymentOfApproval maps a ModelApproval to the ModelDeployment it approves.
func (r *ModelDeploymentReconciler) modelDeploymentOfApproval(_ context.Context, o client.Object) []reconcile.Request {
	ap, ok := o.(*servingv1alpha1.ModelApproval)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: ap.Namespace, Name: ap.Spec.ModelDeployment}}}
}

// gatherStamps asks whether the identities the admission webhook stamps can
// be believed now: approvals, the window override and the requesters of
// manual controls count only when they can.
func (r *ModelDeploymentReconciler) gatherStamps(ctx context.Context, s *scope) error {
	if r.Stamps == nil {
		return nil
	}
	why, err := r.Stamps.Untrusted(ctx)
	if err != nil {
		return err
	}
	s.untrusted = why
	return nil
}

// requester reads who set a manual control as the webhook stamped it; while
// the stamps cannot be believed, nobody known.
func requester(s *scope) func(annotation string) string {
	return func(annotation string) string {
		if s.untrusted != "" {
			return ""
		}
		return s.md.Annotations[annotation+"-by"]
	}
}
