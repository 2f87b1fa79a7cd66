package policy

import (
	"fmt"
	"testing"
	"time"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
)

// fiftyPolicies are 50 policies as a platform team might write them: half
// select the prod namespaces (some only critical models), half staging; each
// sets floors, approvals, analysis or sources.
func fiftyPolicies() []servingv1alpha1.ModelDeploymentPolicy {
	items := []string{"pdb", "network-policy", "tls", "hpa", "security-context", "image-pinned", "redundancy", "runbook"}
	out := make([]servingv1alpha1.ModelDeploymentPolicy, 0, 50)
	for i := range 50 {
		env := "prod"
		if i%2 == 1 {
			env = "staging"
		}
		p := pol(fmt.Sprintf("policy-%02d", i), nil)
		p.Spec.NamespaceSelector.MatchLabels = map[string]string{"env": env}
		p.Spec.Checklist = &servingv1alpha1.PolicyChecklist{MinimumProfile: servingv1alpha1.ProfileStaging, Items: []servingv1alpha1.PolicyChecklistItem{
			{ID: items[i%len(items)], MinimumSeverity: servingv1alpha1.SeverityEnforce, OverrideGroups: []string{"platform-sre"}},
			{ID: items[(i+3)%len(items)], MinimumSeverity: servingv1alpha1.SeverityWarn},
		}}
		switch i % 4 {
		case 0:
			p.Spec.Approvals = &servingv1alpha1.PolicyApprovals{Required: []servingv1alpha1.RequiredApproval{{Role: "security", Groups: []string{"sec-team", "ciso"}}}}
		case 1:
			p.Spec.Analysis = &servingv1alpha1.PolicyAnalysis{AllowedStrategies: []servingv1alpha1.StrategyType{"Canary", "BlueGreen"},
				RequiredTriggers: []servingv1alpha1.TriggerName{"errorRate"}, MinBake: dur(10 * time.Minute)}
		case 2:
			p.Spec.Sources = &servingv1alpha1.PolicySources{ArtifactURIPrefixes: []string{"oci://registry.example/"}, ImageRegistries: []string{"registry.example/"}}
		case 3:
			p.Spec.Windows = &servingv1alpha1.PolicyWindows{OverrideGroups: []string{"sre"}}
		}
		if i%5 == 0 {
			p.Spec.Checklist.MinimumProfile = servingv1alpha1.ProfileProduction
		}
		out = append(out, p)
	}
	return out
}

// BenchmarkJudge50Policies is what a policy adds to judging one
// ModelDeployment: select among 50 policies, merge those that match, and
// resolve every catalogue item's severity with the floors (the checklist's
// own checks are not run here).
func BenchmarkJudge50Policies(b *testing.B) {
	policies := fiftyPolicies()
	md := deployment(nil)
	in, err := checklist.NewInputs(md)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 0, len(checklist.Catalogue()))
	for _, c := range checklist.Catalogue() {
		ids = append(ids, c.ID)
	}
	b.ReportAllocs()
	for b.Loop() {
		res := Judge(policies, md, prodNS, nil)
		in.Policy = &res.Effective.Checklist
		for _, id := range ids {
			_ = in.Severity(id)
		}
	}
}

// BenchmarkEvaluateWithPolicies compares the checklist's evaluation of one
// ModelDeployment without a policy and with 50 in the cluster (judged as the
// operator would, before the checklist runs).
func BenchmarkEvaluateWithPolicies(b *testing.B) {
	policies := fiftyPolicies()
	md := deployment(nil)
	catalogue := checklist.Catalogue()
	b.Run("no-policy", func(b *testing.B) {
		in, err := checklist.NewInputs(md)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			_ = checklist.Evaluate(catalogue, in)
		}
	})
	b.Run("50-policies", func(b *testing.B) {
		in, err := checklist.NewInputs(md)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			res := Judge(policies, md, prodNS, nil)
			in.Policy = &res.Effective.Checklist
			_ = checklist.Evaluate(catalogue, in)
		}
	})
}
