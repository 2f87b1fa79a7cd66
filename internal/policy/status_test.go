package policy

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestStatusAndCondition(t *testing.T) {
	g := NewWithT(t)
	none := Result{}
	g.Expect(none.Status()).To(BeNil())
	_, ok := none.Condition(3)
	g.Expect(ok).To(BeFalse(), "no policy: no condition")

	compliant := Result{Effective: Effective{Policies: []string{"a", "b"}}}
	c, ok := compliant.Condition(3)
	g.Expect(ok).To(BeTrue())
	g.Expect(c).To(Equal(metav1.Condition{Type: "PolicyCompliant", Status: metav1.ConditionTrue, Reason: "Compliant",
		Message: "The spec meets ModelDeploymentPolicy a, b", ObservedGeneration: 3}))
	g.Expect(compliant.Status()).To(Equal(&servingv1alpha1.PolicyStatus{Policies: []string{"a", "b"}}))

	violated := Result{Effective: Effective{Policies: []string{"prod"}}, Violations: []Violation{
		{Policy: "prod", Field: "spec.analysis.bake", Message: "bake is 0s, less than the minimum 10m0s"},
		{Policy: "prod", Field: "spec.strategy.type", Message: "strategy Rolling is not allowed; use one of Canary"},
	}}
	c, _ = violated.Condition(4)
	g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(c.Reason).To(Equal("PolicyViolated"))
	g.Expect(c.Message).To(Equal("The spec asks for less than its policies allow, so the version is judged by their rules: " +
		"spec.analysis.bake: bake is 0s, less than the minimum 10m0s (policy prod); " +
		"spec.strategy.type: strategy Rolling is not allowed; use one of Canary (policy prod)"))
	g.Expect(violated.Status().Violations).To(Equal([]servingv1alpha1.PolicyViolation{
		{Policy: "prod", Field: "spec.analysis.bake", Message: "bake is 0s, less than the minimum 10m0s"},
		{Policy: "prod", Field: "spec.strategy.type", Message: "strategy Rolling is not allowed; use one of Canary"},
	}))
}

func TestRequiredApprovals(t *testing.T) {
	g := NewWithT(t)
	e := Effective{Approvals: []Approval{{Role: "security", Groups: []string{"sec"}, Source: "policy/prod"}, {Role: "po", Groups: []string{"po"}, Source: "spec"}}}
	g.Expect(e.RequiredApprovals()).To(Equal([]servingv1alpha1.RequiredApproval{{Role: "security", Groups: []string{"sec"}}, {Role: "po", Groups: []string{"po"}}}))
	g.Expect((&Effective{}).RequiredApprovals()).To(BeNil())
}

func TestHold(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	freeze := Freeze{Policy: "freeze", Freeze: servingv1alpha1.Freeze{
		Start: metav1.NewTime(at("2026-12-21T00:00:00Z")), End: metav1.NewTime(at("2027-01-04T00:00:00Z")), Reason: "year-end change freeze"}}
	office := Window{Policy: "hours", DeploymentWindow: servingv1alpha1.DeploymentWindow{
		Days: []servingv1alpha1.Weekday{"Mon", "Tue", "Wed", "Thu"}, Start: "09:00", End: "16:00", TimeZone: "UTC"}}
	evening := Window{Policy: "hours", DeploymentWindow: servingv1alpha1.DeploymentWindow{Start: "20:00", End: "21:00", TimeZone: "UTC"}}
	tests := []struct {
		name string
		e    Effective
		now  string
		want string
	}{
		{name: "no freeze, no window", now: "2026-12-24T12:00:00Z"},
		{name: "inside a freeze", e: Effective{Freezes: []Freeze{freeze}}, now: "2026-12-24T12:00:00Z",
			want: "Rollouts are frozen until 2027-01-04T00:00:00Z by ModelDeploymentPolicy freeze: year-end change freeze"},
		{name: "the freeze's end is out of it", e: Effective{Freezes: []Freeze{freeze}}, now: "2027-01-04T00:00:00Z"},
		{name: "inside one of a policy's windows", e: Effective{Windows: []Window{office, evening}}, now: "2026-12-04T20:30:00Z"},
		{name: "outside every window of a policy", e: Effective{Windows: []Window{office, evening}}, now: "2026-12-04T17:00:00Z",
			want: "Outside the deployment windows of ModelDeploymentPolicy hours: outside every deployment window; the next opens at 2026-12-04T20:00:00Z (UTC)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(tt.e.Hold(at(tt.now))).To(Equal(tt.want))
		})
	}
}
