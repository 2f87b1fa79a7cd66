package statusview

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestGroups(t *testing.T) {
	items := func(pairs ...string) []servingv1alpha1.ChecklistItemStatus {
		var out []servingv1alpha1.ChecklistItemStatus
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, servingv1alpha1.ChecklistItemStatus{ID: pairs[i], Section: pairs[i+1]})
		}
		return out
	}
	type heading struct {
		Part, Section string
		IDs           []string
	}
	headings := func(gs []Group) []heading {
		var out []heading
		for _, g := range gs {
			h := heading{Part: g.Part, Section: g.Section}
			for _, it := range g.Items {
				h.IDs = append(h.IDs, it.ID)
			}
			out = append(out, h)
		}
		return out
	}
	tests := []struct {
		name  string
		items []servingv1alpha1.ChecklistItemStatus
		want  []heading
	}{
		{"the seed's order, whatever the items' order", items("capacity", "Capacity Planning", "probes", "Application Monitoring", "model-card", "Documentation", "runbook", "Documentation"),
			[]heading{
				{"Pre-Deployment Preparation", "Documentation", []string{"model-card", "runbook"}},
				{"Monitoring and Observability", "Application Monitoring", []string{"probes"}},
				{"Business Continuity", "Capacity Planning", []string{"capacity"}},
			}},
		{"an item under a part itself comes before the part's sections", items("redundancy", "High Availability", "pdb", "Business Continuity"),
			[]heading{{"Business Continuity", "", []string{"pdb"}}, {"Business Continuity", "High Availability", []string{"redundancy"}}}},
		{"a section the seed does not have comes last, under Other", items("legal", "Legal Review", "probes", "Application Monitoring", "audit", "Legal Review"),
			[]heading{{"Monitoring and Observability", "Application Monitoring", []string{"probes"}}, {"Other", "Legal Review", []string{"legal", "audit"}}}},
		{"nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(headings(Groups(tt.items))).To(Equal(tt.want))
		})
	}
}

func TestStrategy(t *testing.T) {
	pause := func(d time.Duration) *servingv1alpha1.Pause {
		if d == 0 {
			return &servingv1alpha1.Pause{}
		}
		return &servingv1alpha1.Pause{Duration: &metav1.Duration{Duration: d}}
	}
	tests := []struct {
		spec servingv1alpha1.StrategySpec
		want string
	}{
		{servingv1alpha1.StrategySpec{}, "Rolling"},
		{servingv1alpha1.StrategySpec{Type: "Canary", Canary: &servingv1alpha1.CanaryStrategy{Steps: []servingv1alpha1.CanaryStep{
			{Weight: 10}, {Weight: 50, Pause: pause(0)}, {Weight: 80, Pause: pause(90 * time.Second)}}}},
			"Canary: 10%, 50% (until promoted), 80% (pause 1m30s)"},
		{servingv1alpha1.StrategySpec{Type: "BlueGreen", BlueGreen: &servingv1alpha1.BlueGreenStrategy{AutoPromotion: ptr.To(false)}}, "BlueGreen: switches on a promote"},
		{servingv1alpha1.StrategySpec{Type: "BlueGreen", BlueGreen: &servingv1alpha1.BlueGreenStrategy{}}, "BlueGreen: switches once the preview is available"},
		{servingv1alpha1.StrategySpec{Type: "Canary", Canary: &servingv1alpha1.CanaryStrategy{Steps: []servingv1alpha1.CanaryStep{{Weight: 20}}},
			TrafficRouting: &servingv1alpha1.TrafficRouting{GatewayAPI: &servingv1alpha1.GatewayAPIRouting{HTTPRoute: "fraud"}}}, "Canary: 20%, routed by HTTPRoute fraud"},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(Strategy(&tt.spec)).To(Equal(tt.want))
	}
}

func TestStyle(t *testing.T) {
	g := NewWithT(t)
	plain, color := Style{}, Style{Color: true}
	g.Expect(plain.Box(servingv1alpha1.CheckPass) + plain.Box(servingv1alpha1.CheckFail)).To(Equal("[x][ ]"))
	g.Expect(plain.Result(servingv1alpha1.CheckUnknown)).To(Equal("UNKNOWN"))
	g.Expect(color.Result(servingv1alpha1.CheckFail)).To(Equal("\x1b[31mFAIL\x1b[0m"))
	g.Expect(color.Bold("")).To(BeEmpty())

	var b strings.Builder
	WriteChecklist(&b, []servingv1alpha1.ChecklistItemStatus{
		{ID: "pdb", Section: "Business Continuity", Result: "Fail", Severity: "Enforce", Message: "none", Remediation: "add one"},
	}, "", color)
	g.Expect(b.String()).To(ContainSubstring("\x1b[31m[ ]\x1b[0m pdb"))
	g.Expect(b.String()).To(ContainSubstring("      Fix: add one\n"))
}

func TestCell(t *testing.T) {
	g := NewWithT(t)
	g.Expect(cell("")).To(Equal("-"))
	g.Expect(cell("a | b\n c")).To(Equal(`a \| b c`))
	g.Expect(splitCamel("RolledBack")).To(Equal("Rolled Back"))
}

// TestSeveritySource: an item whose severity a ModelDeploymentPolicy set says
// which one; an item the spec decides says nothing more.
func TestSeveritySource(t *testing.T) {
	g := NewWithT(t)
	var b strings.Builder
	WriteChecklist(&b, []servingv1alpha1.ChecklistItemStatus{
		{ID: "pdb", Section: "Business Continuity", Result: servingv1alpha1.CheckFail, Severity: servingv1alpha1.SeverityEnforce,
			SeveritySource: "policy/production", OverrideReason: "no time", Message: "No PodDisruptionBudget"},
		{ID: "tls", Section: "Security Checks", Result: servingv1alpha1.CheckPass, Severity: servingv1alpha1.SeverityEnforce, SeveritySource: "spec"},
	}, "", Style{})
	g.Expect(b.String()).To(Equal(`Security and Compliance
  Security Checks
    [x] tls  Encryption in transit (TLS) enabled where the model is exposed
Business Continuity
  [ ] pdb    Disruption budget protects the pods and allows a disruption  FAIL
        Override: no time
        Enforce set by ModelDeploymentPolicy production
        No PodDisruptionBudget
`))
}

func TestStatusShowsTheJudge(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "fraud-scorer"}}
	md.Status.Analysis = &servingv1alpha1.AnalysisStatus{Version: "2.0.0", Judge: &servingv1alpha1.JudgeStatus{
		Time: metav1.NewMicroTime(now.Add(-30 * time.Second)), Verdict: servingv1alpha1.JudgeContinue,
		Message: "Continue: candidate error rate 0.57% to 1.60%, stable 0.57% to 1.60%, difference -1.03 to +1.03 points"}}
	var b strings.Builder
	g.Expect(Status(&b, md, now, Style{})).To(Succeed())
	g.Expect(b.String()).To(ContainSubstring("  Sequential judge, 2026-12-04T11:59:30Z, 30s ago: Continue: candidate error rate 0.57% to 1.60%, stable 0.57% to 1.60%, difference -1.03 to +1.03 points\n"))
}

// A later revision of a version under analysis is named, since its
// measurements carry only the version, the same as the stable revision's.
func TestStatusNamesTheRevisionUnderAnalysis(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "fraud-scorer"}}
	md.Status.Analysis = &servingv1alpha1.AnalysisStatus{Version: "2.0.0", Revision: "2.0.0_.0a1b2c3d", Breaches: 1}
	var b strings.Builder
	g.Expect(Status(&b, md, now, Style{})).To(Succeed())
	g.Expect(b.String()).To(ContainSubstring("\nMeasurements of revision 2.0.0_.0a1b2c3d: 1 breach, 0 failed queries in a row\n"))
	md.Status.Analysis.Revision = ""
	b.Reset()
	g.Expect(Status(&b, md, now, Style{})).To(Succeed())
	g.Expect(b.String()).To(ContainSubstring("\nMeasurements: 1 breach, 0 failed queries in a row\n"))
}
