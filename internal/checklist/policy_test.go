package checklist

import (
	"testing"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// failing is a catalogue whose items all fail, so that an item's severity
// alone decides whether it blocks.
func failing(ids ...string) []Check {
	out := make([]Check, 0, len(ids))
	for _, id := range ids {
		out = append(out, Check{ID: id, Severity: severities(enforce, warn, off),
			Run: func(*Inputs) Finding { return Fail("fix it", "%s fails", id) }})
	}
	return out
}

type itemView struct {
	Severity servingv1alpha1.Severity
	Source   string
	Result   servingv1alpha1.CheckResult
}

func TestPolicySeverities(t *testing.T) {
	tests := []struct {
		name      string
		profile   servingv1alpha1.ChecklistProfile
		overrides []servingv1alpha1.ChecklistOverride
		policy    *PolicySeverities
		want      map[string]itemView
		blocking  []string
	}{
		{
			name: "no policy: the spec decides and no source is shown", profile: servingv1alpha1.ProfileDevelopment,
			overrides: []servingv1alpha1.ChecklistOverride{{ID: "pdb", Severity: warn, Reason: "r"}},
			want: map[string]itemView{
				"pdb": {warn, "", servingv1alpha1.CheckWarn}, "tls": {off, "", servingv1alpha1.CheckSkipped},
				"hpa": {off, "", servingv1alpha1.CheckSkipped}, "security-scan": {enforce, "", servingv1alpha1.CheckFail},
			},
			blocking: []string{"security-scan"},
		},
		{
			name: "a policy that raises nothing: the same severities, each from the spec", profile: servingv1alpha1.ProfileDevelopment,
			overrides: []servingv1alpha1.ChecklistOverride{{ID: "pdb", Severity: warn, Reason: "r"}},
			policy:    &PolicySeverities{Profile: servingv1alpha1.ProfileDevelopment},
			want: map[string]itemView{
				"pdb": {warn, "spec", servingv1alpha1.CheckWarn}, "tls": {off, "spec", servingv1alpha1.CheckSkipped},
				"hpa": {off, "spec", servingv1alpha1.CheckSkipped}, "security-scan": {enforce, "spec", servingv1alpha1.CheckFail},
			},
			blocking: []string{"security-scan"},
		},
		{
			name:    "a minimum profile raises the defaults, not the overrides; floors raise overrides, attested items included",
			profile: servingv1alpha1.ProfileDevelopment,
			overrides: []servingv1alpha1.ChecklistOverride{
				{ID: "pdb", Severity: off, Reason: "r"}, {ID: "hpa", Severity: off, Reason: "r"}, {ID: "security-scan", Severity: off, Reason: "r"},
			},
			policy: &PolicySeverities{Profile: servingv1alpha1.ProfileProduction, ProfileSource: "prod", Floors: map[string]Floor{
				"pdb": {Severity: enforce, Policy: "floors"}, "security-scan": {Severity: warn, Policy: "floors"},
			}},
			want: map[string]itemView{
				"pdb": {enforce, "policy/floors", servingv1alpha1.CheckFail}, "tls": {enforce, "policy/prod", servingv1alpha1.CheckFail},
				"hpa": {off, "spec", servingv1alpha1.CheckSkipped}, "security-scan": {warn, "policy/floors", servingv1alpha1.CheckWarn},
			},
			blocking: []string{"pdb", "tls"},
		},
		{
			name: "a floor below what the spec asks changes nothing", profile: servingv1alpha1.ProfileProduction,
			policy: &PolicySeverities{Floors: map[string]Floor{"tls": {Severity: warn, Policy: "floors"}}},
			want: map[string]itemView{
				"pdb": {enforce, "spec", servingv1alpha1.CheckFail}, "tls": {enforce, "spec", servingv1alpha1.CheckFail},
				"hpa": {enforce, "spec", servingv1alpha1.CheckFail}, "security-scan": {enforce, "spec", servingv1alpha1.CheckFail},
			},
			blocking: []string{"hpa", "pdb", "security-scan", "tls"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in := modelTestInputs()
			in.MD.Spec.Checklist.Profile = tt.profile
			in.MD.Spec.Checklist.Overrides = tt.overrides
			in.MD.Spec.Checklist.Attestations = []servingv1alpha1.Attestation{{ID: "security-scan", Role: "security"}}
			in.Policy = tt.policy
			res := Evaluate(failing("pdb", "tls", "hpa"), in)
			got := map[string]itemView{}
			for _, it := range res.Status.Items {
				got[it.ID] = itemView{it.Severity, it.SeveritySource, it.Result}
			}
			g.Expect(got).To(Equal(tt.want))
			g.Expect(res.Blocking).To(Equal(tt.blocking))
			for id, want := range tt.want {
				if _, ok := severityTable(id); ok {
					g.Expect(in.Severity(id)).To(Equal(want.Severity), id)
				}
			}
		})
	}
}

// severityTable reports whether id is in the catalogue table, which
// Inputs.Severity reads.
func severityTable(id string) (item, bool) {
	for _, it := range table {
		if it.id == id {
			return it, true
		}
	}
	return item{}, false
}
