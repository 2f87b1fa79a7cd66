package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

var samplePolicy = filepath.Join(samples, "policy-production.yaml")

// policyJSON is the documented JSON shape with the policy block.
type policyJSON struct {
	Passed           bool `json:"passed"`
	ModelDeployments []struct {
		Failed    []string `json:"failed"`
		Checklist struct {
			Items []struct {
				ID, Severity, SeveritySource string
			} `json:"items"`
		} `json:"checklist"`
		Policy *struct {
			Policies   []string `json:"policies"`
			Violations []struct {
				Policy, Field, Message string
			} `json:"violations"`
		} `json:"policy"`
	} `json:"modelDeployments"`
}

func readPolicyJSON(g Gomega, out string) policyJSON {
	var rep policyJSON
	g.Expect(json.Unmarshal([]byte(out), &rep)).To(Succeed(), out)
	g.Expect(rep.ModelDeployments).To(HaveLen(1))
	return rep
}

func violatedFields(rep policyJSON) []string {
	var out []string
	if p := rep.ModelDeployments[0].Policy; p != nil {
		for _, v := range p.Violations {
			out = append(out, v.Policy+" "+v.Field)
		}
	}
	return out
}

func itemSeverity(rep policyJSON, id string) string {
	for _, it := range rep.ModelDeployments[0].Checklist.Items {
		if it.ID == id {
			return it.Severity + " from " + it.SeveritySource
		}
	}
	return ""
}

// TestCheckPolicy: the sample ModelDeployment, made for a demo, judged by the
// sample production policy as in a namespace labelled env=prod.
func TestCheckPolicy(t *testing.T) {
	t.Run("as in a prod namespace: the violations name policy and field, the floor applies to the checklist", func(t *testing.T) {
		g := NewWithT(t)
		r := run(t, nil, "", "check", "-f", samples, "--policy", samplePolicy, "--namespace-labels", "env=prod", "-o", "json")
		g.Expect(r.code).To(Equal(ExitFailed))
		g.Expect(r.err).To(Equal("error: 1 of 1 ModelDeployment fail enforced checklist items or ModelDeploymentPolicies: default/fraud-scorer " +
			"(model-registry, policy production: spec.analysis.bake, policy production: spec.checklist.overrides[id=model-registry].severity, " +
			"policy production: spec.strategy.canary.steps)\n"))
		rep := readPolicyJSON(g, r.out)
		g.Expect(rep.Passed).To(BeFalse())
		g.Expect(rep.ModelDeployments[0].Policy.Policies).To(Equal([]string{"production"}))
		g.Expect(violatedFields(rep)).To(Equal([]string{
			"production spec.analysis.bake", "production spec.checklist.overrides[id=model-registry].severity", "production spec.strategy.canary.steps",
		}))
		g.Expect(rep.ModelDeployments[0].Failed).To(Equal([]string{"model-registry"}), "the override to Warn does not stand without a sign-off")
		g.Expect(itemSeverity(rep, "model-registry")).To(Equal("Enforce from policy/production"))
		g.Expect(itemSeverity(rep, "pdb")).To(Equal("Enforce from spec"))
	})

	t.Run("applied by a member of the group that may sign the override off", func(t *testing.T) {
		g := NewWithT(t)
		r := run(t, nil, "", "check", "-f", samples, "--policy", samplePolicy, "--namespace-labels", "env=prod", "--as", "ann", "--as-group", "ml-platform", "-o", "json")
		g.Expect(r.code).To(Equal(ExitFailed))
		rep := readPolicyJSON(g, r.out)
		g.Expect(violatedFields(rep)).To(Equal([]string{"production spec.analysis.bake", "production spec.strategy.canary.steps"}))
		g.Expect(rep.ModelDeployments[0].Failed).To(BeEmpty())
		g.Expect(itemSeverity(rep, "model-registry")).To(Equal("Warn from spec"))
	})

	t.Run("a namespace the policy does not select: judged as without it", func(t *testing.T) {
		g := NewWithT(t)
		r := run(t, nil, "", "check", "-f", samples, "--policy", samplePolicy, "-o", "json")
		g.Expect(r.code).To(Equal(ExitOK), r.err)
		rep := readPolicyJSON(g, r.out)
		g.Expect(rep.ModelDeployments[0].Policy).To(BeNil())
		g.Expect(itemSeverity(rep, "pdb")).To(Equal("Enforce from "))
	})

	t.Run("a Namespace among the manifests gives its own labels, before --namespace-labels", func(t *testing.T) {
		g := NewWithT(t)
		var in strings.Builder
		in.WriteString("apiVersion: v1\nkind: Namespace\nmetadata: {name: default, labels: {env: prod}}\n")
		for _, f := range []string{"serving_v1alpha1_modeldeployment.yaml", "fraud-scorer-surroundings.yaml", "fraud-scorer-pdb.yaml"} {
			b, err := os.ReadFile(filepath.Join(samples, f))
			g.Expect(err).NotTo(HaveOccurred())
			in.WriteString("---\n")
			in.Write(b)
		}
		r := run(t, nil, in.String(), "check", "-f", "-", "--policy", samplePolicy, "--namespace-labels", "env=dev", "-o", "json")
		g.Expect(r.code).To(Equal(ExitFailed))
		g.Expect(violatedFields(readPolicyJSON(g, r.out))).To(HaveLen(3))
	})

	t.Run("the text names the policies, the violations and which policy set an item", func(t *testing.T) {
		g := NewWithT(t)
		r := run(t, nil, "", "check", "-f", samples, "--policy", samplePolicy, "--namespace-labels", "env=prod")
		g.Expect(r.code).To(Equal(ExitFailed))
		g.Expect(r.out).To(ContainSubstring("Enforce set by ModelDeploymentPolicy production\n"))
		g.Expect(r.out).To(ContainSubstring("Policies: production\nPolicy violations (admission refuses it until they are fixed):\n" +
			"  FAIL spec.analysis.bake: bake is 0s, less than the minimum 10m0s; set spec.analysis.bake to at least 10m0s (policy production)\n"))
		g.Expect(r.out).To(HaveSuffix("1 ModelDeployment checked: 0 passed, 1 failed.\n"))
	})

	t.Run("the SARIF and JUnit reports carry the violations", func(t *testing.T) {
		g := NewWithT(t)
		r := run(t, nil, "", "check", "-f", samples, "--policy", samplePolicy, "--namespace-labels", "env=prod", "-o", "sarif")
		g.Expect(r.code).To(Equal(ExitFailed))
		g.Expect(r.out).To(ContainSubstring(`"ruleId": "policy"`))
		g.Expect(r.out).To(ContainSubstring(`"field": "spec.strategy.canary.steps"`))
		r = run(t, nil, "", "check", "-f", samples, "--policy", samplePolicy, "--namespace-labels", "env=prod", "-o", "junit")
		g.Expect(r.out).To(ContainSubstring(`<testcase name="policy production spec.analysis.bake" classname="ModelDeploymentPolicy"`))
		g.Expect(r.out).To(ContainSubstring(`type="PolicyViolation"`))
	})

	t.Run("what cannot be used is a usage error", func(t *testing.T) {
		g := NewWithT(t)
		r := run(t, nil, "", "check", "-f", samples, "--policy", samplePolicy, "--namespace-labels", "env=prod!")
		g.Expect(r.code).To(Equal(ExitUsage))
		g.Expect(r.err).To(ContainSubstring("--namespace-labels must be labels k=v separated by commas"))
		r = run(t, nil, "", "check", "-f", samples, "--policy", filepath.Join(samples, "fraud-scorer-pdb.yaml"))
		g.Expect(r.code).To(Equal(ExitUsage))
		g.Expect(r.err).To(ContainSubstring("no ModelDeploymentPolicy found in"))
		r = run(t, nil, "", "check", "-f", samples, "--policy", "-")
		g.Expect(r.code).To(Equal(ExitUsage))
		g.Expect(r.err).To(ContainSubstring("standard input is for -f"))
	})
}
