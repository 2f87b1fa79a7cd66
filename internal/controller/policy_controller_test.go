package controller

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestSetPolicyReady(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	tests := []struct {
		name       string
		spec       servingv1alpha1.ModelDeploymentPolicySpec
		wantStatus metav1.ConditionStatus
		wantInMsg  string
	}{
		{name: "readable selectors", spec: servingv1alpha1.ModelDeploymentPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}},
			wantStatus: metav1.ConditionTrue, wantInMsg: "Applied"},
		{name: "an operator the selector does not know", spec: servingv1alpha1.ModelDeploymentPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: "Near", Values: []string{"prod"}}}}},
			wantStatus: metav1.ConditionFalse, wantInMsg: "spec.namespaceSelector"},
		{name: "a window in a time zone Go cannot load", spec: servingv1alpha1.ModelDeploymentPolicySpec{
			Windows: &servingv1alpha1.PolicyWindows{Allowed: []servingv1alpha1.DeploymentWindow{{Days: []servingv1alpha1.Weekday{"Mon"}, Start: "09:00", End: "17:00", TimeZone: "Mars/Olympus"}}}},
			wantStatus: metav1.ConditionFalse, wantInMsg: "spec.windows.allowed[0].timeZone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p := &servingv1alpha1.ModelDeploymentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "production", Generation: 3}, Spec: tt.spec}
			setPolicyReady(p, now)
			c := meta.FindStatusCondition(p.Status.Conditions, servingv1alpha1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(tt.wantStatus))
			g.Expect(c.Message).To(ContainSubstring(tt.wantInMsg))
			g.Expect(c.ObservedGeneration).To(BeEquivalentTo(3))
			g.Expect(p.Status.ObservedGeneration).To(BeEquivalentTo(3))
		})
	}
}
