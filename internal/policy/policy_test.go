package policy

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
)

var prodNS = map[string]string{"env": "prod", "team": "risk"}

func pol(name string, mutate func(*servingv1alpha1.ModelDeploymentPolicySpec)) servingv1alpha1.ModelDeploymentPolicy {
	p := servingv1alpha1.ModelDeploymentPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}
	p.Spec.NamespaceSelector = metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	if mutate != nil {
		mutate(&p.Spec)
	}
	return p
}

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// deployment is a ModelDeployment that meets every rule the tests' policies set.
func deployment(mutate func(*servingv1alpha1.ModelDeployment)) *servingv1alpha1.ModelDeployment {
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer", Namespace: "risk",
		Labels: map[string]string{"tier": "critical"}}}
	md.Spec.Model = servingv1alpha1.ModelSpec{Name: "fraud-scorer", Version: "2.4.0", URI: "oci://registry.example/models/fraud-scorer:2.4.0"}
	md.Spec.Template.Spec.Containers = []corev1.Container{{Name: "server", Image: "registry.example/ml/server:1.0"}}
	md.Spec.Checklist.Profile = servingv1alpha1.ProfileProduction
	md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
		Steps: []servingv1alpha1.CanaryStep{
			{Weight: 10, Pause: &servingv1alpha1.Pause{Duration: dur(5 * time.Minute)}},
			{Weight: 50, Pause: &servingv1alpha1.Pause{}}, // waits for a person: counts as none
			{Weight: 80, Pause: &servingv1alpha1.Pause{Duration: dur(10 * time.Minute)}},
		}}}
	md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{Bake: dur(10 * time.Minute), Triggers: &servingv1alpha1.TriggersSpec{
		ErrorRate: &servingv1alpha1.ErrorRateTrigger{MaxPercent: "5"}}}
	md.Spec.Approvals = &servingv1alpha1.ApprovalsSpec{Required: []servingv1alpha1.RequiredApproval{
		{Role: "product-owner", Groups: []string{"po"}},
	}}
	if mutate != nil {
		mutate(md)
	}
	return md
}

func TestSelect(t *testing.T) {
	everywhere := pol("everywhere", func(s *servingv1alpha1.ModelDeploymentPolicySpec) { s.NamespaceSelector = metav1.LabelSelector{} })
	prod := pol("prod", nil)
	critical := pol("critical", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
		s.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "critical"}}
	})
	batch := pol("batch", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
		s.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "batch"}}
	})
	notDev := pol("not-dev", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
		s.NamespaceSelector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "env", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"dev"}}}}
	})
	broken := pol("broken", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
		s.NamespaceSelector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: "Near"}}}
	})
	all := []servingv1alpha1.ModelDeploymentPolicy{prod, batch, everywhere, notDev, critical, broken}
	tests := []struct {
		name     string
		ns       map[string]string
		mdLabels map[string]string
		want     []string
	}{
		{name: "a prod namespace: the namespace's policies and those selecting the object's labels, by name",
			ns: prodNS, mdLabels: map[string]string{"tier": "critical"}, want: []string{"critical", "everywhere", "not-dev", "prod"}},
		{name: "the object selector narrows within the namespace", ns: prodNS, mdLabels: map[string]string{"tier": "batch"},
			want: []string{"batch", "everywhere", "not-dev", "prod"}},
		{name: "a dev namespace: only {} selects it", ns: map[string]string{"env": "dev"}, mdLabels: map[string]string{"tier": "critical"},
			want: []string{"everywhere"}},
		{name: "a namespace without labels", ns: nil, want: []string{"everywhere", "not-dev"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			md := deployment(func(m *servingv1alpha1.ModelDeployment) { m.Labels = tt.mdLabels })
			got, invalid := Select(all, md, tt.ns)
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			g.Expect(names).To(Equal(tt.want))
			g.Expect(invalid).To(ConsistOf(ContainSubstring("broken: spec.namespaceSelector:")))
		})
	}
}

func TestMerge(t *testing.T) {
	floor := func(id string, sev servingv1alpha1.Severity, groups ...string) servingv1alpha1.PolicyChecklistItem {
		return servingv1alpha1.PolicyChecklistItem{ID: id, MinimumSeverity: sev, OverrideGroups: groups}
	}
	override := func(id string, sev servingv1alpha1.Severity) servingv1alpha1.ChecklistOverride {
		return servingv1alpha1.ChecklistOverride{ID: id, Severity: sev, Reason: "the mesh enforces it"}
	}
	tests := []struct {
		name       string
		policies   []servingv1alpha1.ModelDeploymentPolicy
		md         func(*servingv1alpha1.ModelDeployment)
		signOffs   SignOffs
		check      func(g Gomega, e Effective)
		violations []string // "policy field"
		conflicts  int
	}{
		{
			name: "a spec that meets every rule: no violation, the spec's profile stands",
			policies: []servingv1alpha1.ModelDeploymentPolicy{pol("prod", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
				s.Checklist = &servingv1alpha1.PolicyChecklist{MinimumProfile: servingv1alpha1.ProfileProduction}
			})},
			check: func(g Gomega, e Effective) {
				g.Expect(e.Policies).To(Equal([]string{"prod"}))
				g.Expect(e.Checklist).To(Equal(checklist.PolicySeverities{Profile: servingv1alpha1.ProfileProduction}))
			},
		},
		{
			name: "a development profile under two minimums: the strictest is applied and both are violated",
			policies: []servingv1alpha1.ModelDeploymentPolicy{
				pol("b-staging", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Checklist = &servingv1alpha1.PolicyChecklist{MinimumProfile: servingv1alpha1.ProfileStaging}
				}),
				pol("a-prod", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Checklist = &servingv1alpha1.PolicyChecklist{MinimumProfile: servingv1alpha1.ProfileProduction}
				}),
			},
			md: func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Checklist.Profile = servingv1alpha1.ProfileDevelopment
			},
			check: func(g Gomega, e Effective) {
				g.Expect(e.Checklist.Profile).To(Equal(servingv1alpha1.ProfileProduction))
				g.Expect(e.Checklist.ProfileSource).To(Equal("a-prod"))
			},
			violations: []string{"a-prod spec.checklist.profile", "b-staging spec.checklist.profile"},
		},
		{
			name: "an equal minimum in two policies: the first by name is the source",
			policies: []servingv1alpha1.ModelDeploymentPolicy{
				pol("z", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Checklist = &servingv1alpha1.PolicyChecklist{MinimumProfile: servingv1alpha1.ProfileStaging}
				}),
				pol("m", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Checklist = &servingv1alpha1.PolicyChecklist{MinimumProfile: servingv1alpha1.ProfileStaging}
				}),
			},
			md: func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Checklist.Profile = servingv1alpha1.ProfileDevelopment
			},
			check: func(g Gomega, e Effective) {
				g.Expect(e.Checklist.ProfileSource).To(Equal("m"))
			},
			violations: []string{"m spec.checklist.profile", "z spec.checklist.profile"},
		},
		{
			name: "item floors: the highest wins, an override below a floor is a violation and the floor stands",
			policies: []servingv1alpha1.ModelDeploymentPolicy{
				pol("base", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{
						floor("pdb", servingv1alpha1.SeverityWarn), floor("tls", servingv1alpha1.SeverityWarn)}}
				}),
				pol("strict", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{floor("pdb", "")}}
				}),
			},
			md: func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Checklist.Overrides = []servingv1alpha1.ChecklistOverride{override("pdb", servingv1alpha1.SeverityOff), override("tls", servingv1alpha1.SeverityWarn)}
			},
			check: func(g Gomega, e Effective) {
				g.Expect(e.Checklist.Floors).To(Equal(map[string]checklist.Floor{
					"pdb": {Severity: servingv1alpha1.SeverityEnforce, Policy: "strict"},
					"tls": {Severity: servingv1alpha1.SeverityWarn, Policy: "base"},
				}))
			},
			violations: []string{"base spec.checklist.overrides[id=pdb].severity", "strict spec.checklist.overrides[id=pdb].severity"},
		},
		{
			name: "an override signed off by a member of the allowed groups: no floor, no violation",
			policies: []servingv1alpha1.ModelDeploymentPolicy{pol("prod", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
				s.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{
					floor("network-policy", servingv1alpha1.SeverityEnforce, "platform-sre")}}
			})},
			md: func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Checklist.Overrides = []servingv1alpha1.ChecklistOverride{override("network-policy", servingv1alpha1.SeverityWarn)}
			},
			signOffs: SignOffs{"network-policy": {User: "sam", Groups: []string{"system:authenticated", "platform-sre"}}},
			check: func(g Gomega, e Effective) {
				g.Expect(e.Checklist.Floors).To(BeEmpty())
			},
		},
		{
			name: "the same override set by someone outside the groups: a violation and the floor stands",
			policies: []servingv1alpha1.ModelDeploymentPolicy{pol("prod", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
				s.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{
					floor("network-policy", servingv1alpha1.SeverityEnforce, "platform-sre")}}
			})},
			md: func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Checklist.Overrides = []servingv1alpha1.ChecklistOverride{override("network-policy", servingv1alpha1.SeverityWarn)}
			},
			signOffs: SignOffs{"network-policy": {User: "tom", Groups: []string{"risk-team"}}},
			check: func(g Gomega, e Effective) {
				g.Expect(e.Checklist.Floors).To(HaveKeyWithValue("network-policy", checklist.Floor{Severity: servingv1alpha1.SeverityEnforce, Policy: "prod"}))
			},
			violations: []string{"prod spec.checklist.overrides[id=network-policy].severity"},
		},
		{
			name: "a sign-off counts only for the policy whose groups it is in",
			policies: []servingv1alpha1.ModelDeploymentPolicy{
				pol("a", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{floor("hpa", servingv1alpha1.SeverityWarn, "sre")}}
				}),
				pol("b", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{floor("hpa", servingv1alpha1.SeverityWarn, "security")}}
				}),
			},
			md: func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Checklist.Overrides = []servingv1alpha1.ChecklistOverride{override("hpa", servingv1alpha1.SeverityOff)}
			},
			signOffs: SignOffs{"hpa": {User: "sam", Groups: []string{"sre"}}},
			check: func(g Gomega, e Effective) {
				g.Expect(e.Checklist.Floors).To(Equal(map[string]checklist.Floor{"hpa": {Severity: servingv1alpha1.SeverityWarn, Policy: "b"}}))
			},
			violations: []string{"b spec.checklist.overrides[id=hpa].severity"},
		},
		{
			name: "an override at or above the floor is no violation",
			policies: []servingv1alpha1.ModelDeploymentPolicy{pol("prod", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
				s.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{floor("tls", servingv1alpha1.SeverityWarn)}}
			})},
			md: func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Checklist.Overrides = []servingv1alpha1.ChecklistOverride{override("tls", servingv1alpha1.SeverityWarn)}
			},
		},
		{
			name: "approvals: policies add roles, narrow the spec's groups, and a disjoint spec is a violation",
			policies: []servingv1alpha1.ModelDeploymentPolicy{
				pol("security", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Approvals = &servingv1alpha1.PolicyApprovals{Required: []servingv1alpha1.RequiredApproval{
						{Role: "security", Groups: []string{"sec-team", "ciso"}},
						{Role: "product-owner", Groups: []string{"po-leads"}},
					}}
				}),
				pol("z-narrow", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Approvals = &servingv1alpha1.PolicyApprovals{AllowSelfApproval: true, Required: []servingv1alpha1.RequiredApproval{
						{Role: "security", Groups: []string{"ciso"}},
					}}
				}),
			},
			check: func(g Gomega, e Effective) {
				g.Expect(e.Approvals).To(Equal([]Approval{
					{Role: "product-owner", Groups: []string{"po-leads"}, Source: "policy/security"},
					{Role: "security", Groups: []string{"ciso"}, Source: "policy/z-narrow"},
				}))
				g.Expect(e.SeparationOfDuties).To(Equal("security"))
			},
			violations: []string{"security spec.approvals.required[role=product-owner].groups"},
		},
		{
			name: "two policies with disjoint groups for a role: a conflict, the first by name stands",
			policies: []servingv1alpha1.ModelDeploymentPolicy{
				pol("b", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Approvals = &servingv1alpha1.PolicyApprovals{Required: []servingv1alpha1.RequiredApproval{{Role: "security", Groups: []string{"y"}}}}
				}),
				pol("a", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Approvals = &servingv1alpha1.PolicyApprovals{Required: []servingv1alpha1.RequiredApproval{{Role: "security", Groups: []string{"x"}}}}
				}),
			},
			check: func(g Gomega, e Effective) {
				g.Expect(e.Approvals[1]).To(Equal(Approval{Role: "security", Groups: []string{"x"}, Source: "policy/a"}))
			},
			conflicts: 1,
		},
		{
			name: "self-approval allowed by every policy that speaks of approvals: no separation of duties",
			policies: []servingv1alpha1.ModelDeploymentPolicy{
				pol("a", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Approvals = &servingv1alpha1.PolicyApprovals{AllowSelfApproval: true}
				}),
				pol("b", func(s *servingv1alpha1.ModelDeploymentPolicySpec) { s.Sources = &servingv1alpha1.PolicySources{} }),
			},
			check: func(g Gomega, e Effective) {
				g.Expect(e.SeparationOfDuties).To(BeEmpty())
				g.Expect(e.Approvals).To(Equal([]Approval{{Role: "product-owner", Groups: []string{"po"}, Source: "spec"}}))
			},
		},
		{
			name: "windows: override groups per policy, the policies' windows and freezes kept with their source",
			policies: []servingv1alpha1.ModelDeploymentPolicy{
				pol("freeze", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Windows = &servingv1alpha1.PolicyWindows{OverrideGroups: []string{"sre", "oncall"}, Freezes: []servingv1alpha1.Freeze{{
						Start: metav1.NewTime(time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)), End: metav1.NewTime(time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)), Reason: "year end"}}}
				}),
				pol("hours", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Windows = &servingv1alpha1.PolicyWindows{Allowed: []servingv1alpha1.DeploymentWindow{{Start: "09:00", End: "16:00"}}}
				}),
			},
			check: func(g Gomega, e Effective) {
				g.Expect(e.WindowOverride).To(Equal([]Groups{{Groups: []string{"oncall", "sre"}, Policy: "freeze"}}))
				g.Expect(e.Freezes).To(HaveLen(1))
				g.Expect(e.Freezes[0].Policy).To(Equal("freeze"))
				g.Expect(e.Windows).To(Equal([]Window{{DeploymentWindow: servingv1alpha1.DeploymentWindow{Start: "09:00", End: "16:00"}, Policy: "hours"}}))
			},
		},
		{
			name: "analysis: strategy not allowed, a missing trigger, a short canary and bake",
			policies: []servingv1alpha1.ModelDeploymentPolicy{
				pol("analysis", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Analysis = &servingv1alpha1.PolicyAnalysis{
						AllowedStrategies: []servingv1alpha1.StrategyType{servingv1alpha1.StrategyBlueGreen, servingv1alpha1.StrategyCanary},
						RequiredTriggers:  []servingv1alpha1.TriggerName{servingv1alpha1.TriggerLatencyP95, servingv1alpha1.TriggerErrorRate},
						MinCanaryDuration: dur(30 * time.Minute), MinBake: dur(15 * time.Minute),
					}
				}),
				pol("b-longer-bake", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Analysis = &servingv1alpha1.PolicyAnalysis{MinBake: dur(time.Hour), RequiredTriggers: []servingv1alpha1.TriggerName{servingv1alpha1.TriggerLatencyP95}}
				}),
			},
			check: func(g Gomega, e Effective) {
				g.Expect(e.Strategies).To(Equal([]Strategies{{Allowed: []servingv1alpha1.StrategyType{"BlueGreen", "Canary"}, Policy: "analysis"}}))
				g.Expect(e.Triggers).To(Equal([]Trigger{{Name: "errorRate", Policy: "analysis"}, {Name: "latencyP95", Policy: "analysis"}}))
				g.Expect(e.MinCanaryDuration).To(Equal(Duration{Min: 30 * time.Minute, Policy: "analysis"}))
				g.Expect(e.MinBake).To(Equal(Duration{Min: time.Hour, Policy: "b-longer-bake"}))
			},
			violations: []string{
				"analysis spec.analysis.bake", "analysis spec.analysis.triggers.latencyP95", "analysis spec.strategy.canary.steps",
				"b-longer-bake spec.analysis.bake", "b-longer-bake spec.analysis.triggers.latencyP95",
			},
		},
		{
			name: "Rolling (the default) where a policy allows only progressive strategies",
			policies: []servingv1alpha1.ModelDeploymentPolicy{pol("no-rolling", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
				s.Analysis = &servingv1alpha1.PolicyAnalysis{AllowedStrategies: []servingv1alpha1.StrategyType{servingv1alpha1.StrategyCanary}, MinCanaryDuration: dur(time.Hour)}
			})},
			md:         func(m *servingv1alpha1.ModelDeployment) { m.Spec.Strategy = servingv1alpha1.StrategySpec{} },
			violations: []string{"no-rolling spec.strategy.type"},
		},
		{
			name: "sources: every policy's prefixes must hold, init containers included",
			policies: []servingv1alpha1.ModelDeploymentPolicy{
				pol("registry", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Sources = &servingv1alpha1.PolicySources{ArtifactURIPrefixes: []string{"oci://registry.example/models/"}, ImageRegistries: []string{"registry.example/ml/"}}
				}),
				pol("stricter", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
					s.Sources = &servingv1alpha1.PolicySources{ArtifactURIPrefixes: []string{"oci://registry.example/models/approved/"}}
				}),
			},
			md: func(m *servingv1alpha1.ModelDeployment) {
				m.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "fetch", Image: "docker.io/busybox"}}
			},
			check: func(g Gomega, e Effective) {
				g.Expect(e.ArtifactURIPrefixes).To(HaveLen(2))
				g.Expect(e.ImageRegistries).To(Equal([]Prefixes{{Prefixes: []string{"registry.example/ml/"}, Policy: "registry"}}))
			},
			violations: []string{"registry spec.template.spec.initContainers[name=fetch].image", "stricter spec.model.uri"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			md := deployment(tt.md)
			res := Judge(tt.policies, md, prodNS, tt.signOffs)
			if tt.check != nil {
				tt.check(g, res.Effective)
			}
			var got []string
			for _, v := range res.Violations {
				g.Expect(v.Message).NotTo(BeEmpty())
				got = append(got, v.Policy+" "+v.Field)
			}
			g.Expect(got).To(Equal(tt.violations))
			g.Expect(res.Conflicts).To(HaveLen(tt.conflicts))
		})
	}
}

func TestViolationMessages(t *testing.T) {
	g := NewWithT(t)
	p := pol("prod-baseline", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
		s.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{
			{ID: "pdb", MinimumSeverity: servingv1alpha1.SeverityEnforce},
			{ID: "network-policy", MinimumSeverity: servingv1alpha1.SeverityEnforce, OverrideGroups: []string{"platform-sre"}},
		}}
	})
	md := deployment(func(m *servingv1alpha1.ModelDeployment) {
		m.Spec.Checklist.Overrides = []servingv1alpha1.ChecklistOverride{
			{ID: "pdb", Severity: servingv1alpha1.SeverityOff, Reason: "no time"},
			{ID: "network-policy", Severity: servingv1alpha1.SeverityWarn, Reason: "mesh"},
		}
	})
	res := Judge([]servingv1alpha1.ModelDeploymentPolicy{p}, md, prodNS, SignOffs{"network-policy": {User: "tom", Groups: []string{"risk"}}})
	g.Expect(res.Violations).To(Equal([]Violation{
		{Policy: "prod-baseline", Field: "spec.checklist.overrides[id=network-policy].severity",
			Message: "item network-policy may be lowered below Enforce only by a member of platform-sre, and for the override to Warn it was set by tom, who is in none of them; ask a member to set it, or raise it to Enforce"},
		{Policy: "prod-baseline", Field: "spec.checklist.overrides[id=pdb].severity",
			Message: "item pdb may not be lowered below Enforce, and Off is asked; remove the override or raise it to Enforce"},
	}))
	g.Expect(res.Violations[1].String()).To(Equal("spec.checklist.overrides[id=pdb].severity: item pdb may not be lowered below Enforce, and Off is asked; remove the override or raise it to Enforce (policy prod-baseline)"))
	res = Judge([]servingv1alpha1.ModelDeploymentPolicy{p}, md, prodNS, nil)
	g.Expect(res.Violations[0].Message).To(ContainSubstring("and for the override to Warn no sign-off of it is recorded"))
}

// TestOrderIndependence merges the same policies listed in every order and
// expects the same result.
func TestOrderIndependence(t *testing.T) {
	g := NewWithT(t)
	policies := []servingv1alpha1.ModelDeploymentPolicy{
		pol("a", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Checklist = &servingv1alpha1.PolicyChecklist{MinimumProfile: servingv1alpha1.ProfileStaging,
				Items: []servingv1alpha1.PolicyChecklistItem{{ID: "pdb", MinimumSeverity: servingv1alpha1.SeverityWarn}}}
			s.Approvals = &servingv1alpha1.PolicyApprovals{Required: []servingv1alpha1.RequiredApproval{{Role: "security", Groups: []string{"sec", "ciso"}}}}
			s.Analysis = &servingv1alpha1.PolicyAnalysis{MinBake: dur(time.Hour), RequiredTriggers: []servingv1alpha1.TriggerName{"accuracyDrop"}}
		}),
		pol("b", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Checklist = &servingv1alpha1.PolicyChecklist{MinimumProfile: servingv1alpha1.ProfileProduction,
				Items: []servingv1alpha1.PolicyChecklistItem{{ID: "pdb", MinimumSeverity: servingv1alpha1.SeverityEnforce}}}
			s.Approvals = &servingv1alpha1.PolicyApprovals{Required: []servingv1alpha1.RequiredApproval{{Role: "security", Groups: []string{"ciso"}}}}
			s.Windows = &servingv1alpha1.PolicyWindows{OverrideGroups: []string{"sre"}}
		}),
		pol("c", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Checklist = &servingv1alpha1.PolicyChecklist{MinimumProfile: servingv1alpha1.ProfileProduction}
			s.Analysis = &servingv1alpha1.PolicyAnalysis{MinBake: dur(time.Hour), AllowedStrategies: []servingv1alpha1.StrategyType{"Canary"},
				RequiredTriggers: []servingv1alpha1.TriggerName{"latencyP95", "accuracyDrop"}}
			s.Windows = &servingv1alpha1.PolicyWindows{OverrideGroups: []string{"oncall"}}
		}),
		pol("d", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Sources = &servingv1alpha1.PolicySources{ImageRegistries: []string{"quay.io/"}}
			s.Approvals = &servingv1alpha1.PolicyApprovals{Required: []servingv1alpha1.RequiredApproval{{Role: "security", Groups: []string{"other"}}}}
		}),
	}
	md := deployment(func(m *servingv1alpha1.ModelDeployment) {
		m.Spec.Checklist.Profile = servingv1alpha1.ProfileDevelopment
		m.Spec.Checklist.Overrides = []servingv1alpha1.ChecklistOverride{{ID: "pdb", Severity: servingv1alpha1.SeverityOff, Reason: "r"}}
	})
	want := Judge(policies, md, prodNS, nil)
	g.Expect(want.Violations).NotTo(BeEmpty())
	g.Expect(want.Conflicts).To(HaveLen(1))
	n := 0
	permute(policies, 0, func(order []servingv1alpha1.ModelDeploymentPolicy) {
		n++
		g.Expect(Judge(order, md, prodNS, nil)).To(Equal(want), fmt.Sprintf("order %s", names(order)))
	})
	g.Expect(n).To(Equal(24))
}

func permute(ps []servingv1alpha1.ModelDeploymentPolicy, k int, visit func([]servingv1alpha1.ModelDeploymentPolicy)) {
	if k == len(ps) {
		visit(append([]servingv1alpha1.ModelDeploymentPolicy(nil), ps...))
		return
	}
	for i := k; i < len(ps); i++ {
		ps[k], ps[i] = ps[i], ps[k]
		permute(ps, k+1, visit)
		ps[k], ps[i] = ps[i], ps[k]
	}
}

func names(ps []servingv1alpha1.ModelDeploymentPolicy) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func TestNoPolicy(t *testing.T) {
	g := NewWithT(t)
	res := Judge(nil, deployment(nil), prodNS, nil)
	g.Expect(res.Selected()).To(BeFalse())
	g.Expect(res).To(Equal(Result{}))
}
