package policy

import (
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/window"
)

// Reasons of the PolicyCompliant condition.
const (
	ReasonCompliant      = "Compliant"
	ReasonPolicyViolated = "PolicyViolated"
)

// Status is the status.policy block of the judgement; nil when no policy
// selects the ModelDeployment.
func (r *Result) Status() *servingv1alpha1.PolicyStatus {
	if !r.Selected() {
		return nil
	}
	st := &servingv1alpha1.PolicyStatus{Policies: r.Effective.Policies}
	for _, v := range r.Violations {
		st.Violations = append(st.Violations, servingv1alpha1.PolicyViolation{Policy: v.Policy, Field: v.Field, Message: v.Message})
	}
	return st
}

// Condition is the PolicyCompliant condition of the judgement, for the
// generation judged: True when the spec asks for nothing less than the
// selecting policies allow, False naming each violation's field and policy.
// Its second value is false when no policy selects the ModelDeployment, and
// the condition should then be removed.
func (r *Result) Condition(generation int64) (metav1.Condition, bool) {
	if !r.Selected() {
		return metav1.Condition{}, false
	}
	c := metav1.Condition{Type: servingv1alpha1.ConditionPolicyCompliant, ObservedGeneration: generation}
	if len(r.Violations) == 0 {
		c.Status, c.Reason = metav1.ConditionTrue, ReasonCompliant
		c.Message = fmt.Sprintf("The spec meets ModelDeploymentPolicy %s", strings.Join(r.Effective.Policies, ", "))
		return c, true
	}
	parts := make([]string, len(r.Violations))
	for i, v := range r.Violations {
		parts[i] = v.String()
	}
	c.Status, c.Reason = metav1.ConditionFalse, ReasonPolicyViolated
	c.Message = "The spec asks for less than its policies allow, so the version is judged by their rules: " + strings.Join(parts, "; ")
	return c, true
}

// RequiredApprovals are the effective required roles, in the shape of
// spec.approvals.required, for approval.Judge; nil when none is required.
func (e *Effective) RequiredApprovals() []servingv1alpha1.RequiredApproval {
	if len(e.Approvals) == 0 {
		return nil
	}
	out := make([]servingv1alpha1.RequiredApproval, 0, len(e.Approvals))
	for _, a := range e.Approvals {
		out = append(out, servingv1alpha1.RequiredApproval{Role: a.Role, Groups: a.Groups})
	}
	return out
}

// Hold says why the policies hold a rollout at now, or "" when they do not:
// a freeze in force, or outside every window of a policy that declares some
// (each policy's windows are one set, like spec.deploymentWindows, and every
// policy's set must be open). The spec's own windows are window.Check's; a
// rollback is never held. A window that cannot be read holds, saying why.
func (e *Effective) Hold(now time.Time) string {
	for _, f := range e.Freezes {
		if !now.Before(f.Start.Time) && now.Before(f.End.Time) {
			return fmt.Sprintf("Rollouts are frozen until %s by ModelDeploymentPolicy %s: %s",
				f.End.UTC().Format(time.RFC3339), f.Policy, f.Reason)
		}
	}
	var policies []string
	byPolicy := map[string][]servingv1alpha1.DeploymentWindow{}
	for _, w := range e.Windows {
		if _, seen := byPolicy[w.Policy]; !seen {
			policies = append(policies, w.Policy)
		}
		byPolicy[w.Policy] = append(byPolicy[w.Policy], w.DeploymentWindow)
	}
	for _, p := range policies {
		res, err := window.Check(byPolicy[p], now)
		switch {
		case err != nil:
			return fmt.Sprintf("The deployment windows of ModelDeploymentPolicy %s cannot be read: %v", p, err)
		case !res.Open:
			return fmt.Sprintf("Outside the deployment windows of ModelDeploymentPolicy %s: %s", p, res.Message)
		}
	}
	return ""
}
