package policy

import (
	"testing"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestStampOverrides(t *testing.T) {
	o := func(id string, sev servingv1alpha1.Severity, reason string) servingv1alpha1.ChecklistOverride {
		return servingv1alpha1.ChecklistOverride{ID: id, Severity: sev, Reason: reason}
	}
	sam := Signer{User: "sam", Groups: []string{"platform-sre"}}
	tom := Signer{User: "tom", Groups: []string{"risk-team"}}
	tests := []struct {
		name     string
		before   []servingv1alpha1.ChecklistOverride
		after    []servingv1alpha1.ChecklistOverride
		recorded SignOffs
		want     SignOffs
	}{
		{name: "created with overrides: all signed by the requester",
			after: []servingv1alpha1.ChecklistOverride{o("pdb", "Warn", "r"), o("tls", "Off", "r")},
			want:  SignOffs{"pdb": tom, "tls": tom}},
		{name: "unchanged overrides keep their signer, whoever edits something else",
			before: []servingv1alpha1.ChecklistOverride{o("pdb", "Warn", "r")}, after: []servingv1alpha1.ChecklistOverride{o("pdb", "Warn", "r")},
			recorded: SignOffs{"pdb": sam}, want: SignOffs{"pdb": sam}},
		{name: "a changed severity or reason is signed again by the requester",
			before:   []servingv1alpha1.ChecklistOverride{o("pdb", "Warn", "r"), o("tls", "Warn", "r")},
			after:    []servingv1alpha1.ChecklistOverride{o("pdb", "Off", "r"), o("tls", "Warn", "other")},
			recorded: SignOffs{"pdb": sam, "tls": sam}, want: SignOffs{"pdb": tom, "tls": tom}},
		{name: "a removed override drops its signer",
			before: []servingv1alpha1.ChecklistOverride{o("pdb", "Warn", "r")}, recorded: SignOffs{"pdb": sam}, want: SignOffs{}},
		{name: "an unchanged override nobody was recorded for stays unsigned",
			before: []servingv1alpha1.ChecklistOverride{o("pdb", "Warn", "r")}, after: []servingv1alpha1.ChecklistOverride{o("pdb", "Warn", "r")},
			want: SignOffs{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(StampOverrides(tt.before, tt.after, tt.recorded, tom)).To(Equal(tt.want))
		})
	}
}

func TestSignOffsAnnotation(t *testing.T) {
	g := NewWithT(t)
	s := SignOffs{"tls": {User: "tom", Groups: []string{"risk"}}, "pdb": {User: "sam"}}
	g.Expect(s.String()).To(Equal(`{"pdb":{"user":"sam"},"tls":{"user":"tom","groups":["risk"]}}`))
	g.Expect(ParseSignOffs(s.String())).To(Equal(s))
	g.Expect(SignOffs{}.String()).To(BeEmpty())
	g.Expect(ParseSignOffs("")).To(BeEmpty())
	g.Expect(ParseSignOffs("not json")).To(BeEmpty(), "a record that cannot be read signs nothing")
}
