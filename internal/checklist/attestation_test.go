package checklist

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestAttestedItems(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	tests := []struct {
		name        string
		attested    map[string]Attestation
		override    *servingv1alpha1.ChecklistOverride
		unavailable bool
		result      servingv1alpha1.CheckResult
		blocks      bool
		message     string
	}{
		{name: "not attested yet: fails and blocks", result: servingv1alpha1.CheckFail, blocks: true, message: "Not attested yet for version 2.3.0"},
		{name: "attested: passes, saying by whom", attested: map[string]Attestation{"security-scan": {By: "alice", At: at}},
			result: servingv1alpha1.CheckPass, message: "Attested by alice for version 2.3.0"},
		{name: "overridden to Warn: reported, never blocks", override: &servingv1alpha1.ChecklistOverride{ID: "security-scan", Severity: servingv1alpha1.SeverityWarn, Reason: "scanner down this week"},
			result: servingv1alpha1.CheckWarn},
		{name: "turned off", override: &servingv1alpha1.ChecklistOverride{ID: "security-scan", Severity: servingv1alpha1.SeverityOff, Reason: "internal model"},
			result: servingv1alpha1.CheckSkipped},
		{name: "approvals unreadable (offline): unknown, blocks", unavailable: true, result: servingv1alpha1.CheckUnknown, blocks: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in := modelTestInputs()
			in.MD.Spec.Checklist.Attestations = []servingv1alpha1.Attestation{{ID: "security-scan", Section: "Vulnerability Assessment", Role: "security", Evidence: "https://scans.example/fraud-scorer/2.3.0"}}
			if tt.override != nil {
				in.MD.Spec.Checklist.Overrides = append(in.MD.Spec.Checklist.Overrides, *tt.override)
			}
			in.Attested = tt.attested
			if tt.unavailable {
				in.Unavailable = map[string]string{KindApproval: "offline"}
			}
			res := Evaluate(Catalogue(), in)
			item := res.Status.Items[len(res.Status.Items)-1]
			g.Expect(item.ID).To(Equal("security-scan"))
			g.Expect(item.Section).To(Equal("Vulnerability Assessment"))
			g.Expect(item.Result).To(Equal(tt.result))
			g.Expect(res.Blocking).To(map[bool]OmegaMatcher{true: ContainElement("security-scan"), false: Not(ContainElement("security-scan"))}[tt.blocks])
			if tt.message != "" {
				g.Expect(item.Message).To(Equal(tt.message))
			}
			if tt.result == servingv1alpha1.CheckPass {
				g.Expect(item.AttestedBy).To(Equal("alice"))
				g.Expect(item.AttestedAt.Time).To(Equal(at.Time))
			}
			if tt.result == servingv1alpha1.CheckFail {
				g.Expect(item.Remediation).To(ContainSubstring("role security creates a ModelApproval for version 2.3.0 with item security-scan"))
				g.Expect(item.Remediation).To(ContainSubstring("evidence: https://scans.example/fraud-scorer/2.3.0"))
			}
		})
	}
}
