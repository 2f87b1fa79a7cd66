package checklist

import (
	"testing"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestChanges(t *testing.T) {
	status := func(version string, results ...string) *servingv1alpha1.ChecklistStatus {
		st := &servingv1alpha1.ChecklistStatus{Version: version}
		for i := 0; i < len(results); i += 2 {
			st.Items = append(st.Items, servingv1alpha1.ChecklistItemStatus{
				ID: results[i], Result: servingv1alpha1.CheckResult(results[i+1]), Message: results[i] + " message"})
		}
		return st
	}
	tests := []struct {
		name          string
		before, after *servingv1alpha1.ChecklistStatus
		want          []string
	}{
		{"first result: only what does not pass", nil, status("1.0.0", "pdb", "Fail", "probes", "Pass", "tls", "Skipped", "hpa", "Unknown"),
			[]string{"Checklist item pdb of version 1.0.0: Fail: pdb message", "Checklist item hpa of version 1.0.0: Unknown: hpa message"}},
		{"nothing changed", status("1.0.0", "pdb", "Fail"), status("1.0.0", "pdb", "Fail"), nil},
		{"a fix is news", status("1.0.0", "pdb", "Fail"), status("1.0.0", "pdb", "Pass"),
			[]string{"Checklist item pdb of version 1.0.0: Fail -> Pass: pdb message"}},
		{"a regression is news", status("1.0.0", "pdb", "Pass"), status("1.0.0", "pdb", "Fail"),
			[]string{"Checklist item pdb of version 1.0.0: Pass -> Fail: pdb message"}},
		{"a new version starts afresh", status("1.0.0", "pdb", "Fail"), status("1.1.0", "pdb", "Fail", "tls", "Pass"),
			[]string{"Checklist item pdb of version 1.1.0: Fail: pdb message"}},
		{"no result", status("1.0.0", "pdb", "Fail"), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var got []string
			for _, c := range Changes(tt.before, tt.after) {
				got = append(got, c.String())
			}
			g.Expect(got).To(Equal(tt.want))
		})
	}
	g := NewWithT(t)
	g.Expect(Change{To: servingv1alpha1.CheckFail}.EventType()).To(Equal("Warning"))
	g.Expect(Change{To: servingv1alpha1.CheckUnknown}.EventType()).To(Equal("Warning"))
	g.Expect(Change{To: servingv1alpha1.CheckPass}.EventType()).To(Equal("Normal"))
}

func TestSummary(t *testing.T) {
	g := NewWithT(t)
	typ, note := Summary(nil)
	g.Expect(typ + note).To(BeEmpty())

	typ, note = Summary([]Change{
		{ID: "probes", Version: "1.0.0", From: servingv1alpha1.CheckFail, To: servingv1alpha1.CheckPass, Message: "ok"},
		{ID: "pdb", Version: "1.0.0", To: servingv1alpha1.CheckFail, Message: "none"},
	})
	g.Expect(typ).To(Equal("Warning"), "a change to a failing result makes the event a warning")
	g.Expect(note).To(Equal("Checklist item probes of version 1.0.0: Fail -> Pass: ok; Checklist item pdb of version 1.0.0: Fail: none"))

	typ, _ = Summary([]Change{{ID: "pdb", To: servingv1alpha1.CheckPass}})
	g.Expect(typ).To(Equal("Normal"))

	long := make([]Change, 50)
	for i := range long {
		long[i] = Change{ID: "pdb", Version: "1.0.0", To: servingv1alpha1.CheckFail, Message: "a long message about what failed"}
	}
	_, note = Summary(long)
	g.Expect(len(note)).To(BeNumerically("<=", 1000), "events.k8s.io refuses notes over 1 kB")
	g.Expect(note).To(HaveSuffix("..."))
}
