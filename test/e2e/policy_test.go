package e2e

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const policyNS = "policy-prod"

var _ = Describe("Platform policy on a local cluster", Ordered, func() {
	get := func(jsonpath string, what ...string) func() string {
		return func() string {
			out, _ := kubectlErr(append(append([]string{"-n", policyNS, "get"}, what...), "-o", "jsonpath="+jsonpath)...)
			return out
		}
	}
	// as runs kubectl as a user of the given group, as kubectl --as does.
	as := func(user, group string, args ...string) (string, error) {
		return kubectlErr(append([]string{"--as", user, "--as-group", group, "--as-group", "system:authenticated", "-n", policyNS}, args...)...)
	}
	approve := func(user, name, version string) {
		out, err := as(user, "risk-officers", "apply", "-f", writeTemp(fmt.Sprintf(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelApproval
metadata: {name: %s}
spec: {modelDeployment: scorer, version: %s, role: risk}
`, name, version)))
		Expect(err).NotTo(HaveOccurred(), out)
	}
	const scorer = `
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: scorer}
spec:
  model: {name: scorer, version: %s, uri: "pvc://models/scorer/%[1]s"}
  replicas: 2
  checklist:
    profile: development
%s
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/server:1.0}]
`

	BeforeAll(func() {
		kubectl("create", "namespace", policyNS)
		kubectl("label", "namespace", policyNS, "env=prod")
		// Teams may deploy and approve; only cluster admins write policies.
		kubectl("apply", "-f", writeTemp(`
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: modelgate-team}
rules:
- {apiGroups: [serving.modelgate.dev], resources: [modeldeployments, modelapprovals], verbs: [get, list, create, update, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: modelgate-team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: modelgate-team}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:authenticated"}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: scorer, namespace: `+policyNS+`}
spec: {maxUnavailable: 1, selector: {matchLabels: {app.kubernetes.io/name: scorer}}}
`))
		kubectl("apply", "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeploymentPolicy
metadata: {name: e2e-production}
spec:
  namespaceSelector: {matchLabels: {env: prod}}
  checklist:
    items: [{id: pdb, minimumSeverity: Enforce, overrideGroups: [platform-sre]}]
  approvals:
    required: [{role: risk, groups: [risk-officers]}]
  windows:
    overrideGroups: [platform-sre]
`))
		DeferCleanup(func() { _, _ = kubectlErr("delete", "modeldeploymentpolicy", "e2e-production", "--ignore-not-found") })
	})

	It("keeps a team user from weakening the rules, approving their own change or overriding a freeze; a platform user may", func() {
		By("refusing a team user's override below the policy's floor")
		weakened := writeTemp(fmt.Sprintf(scorer, "1.0.0", `    overrides: [{id: pdb, severity: "Off", reason: "we are careful"}]`))
		// The webhook reads policies from the manager's cache: wait until it knows this one.
		Eventually(func() string {
			out, _ := as("tom", "risk-officers", "apply", "--dry-run=server", "-f", weakened)
			return out
		}).
			Should(ContainSubstring("e2e-production"))
		out, err := as("tom", "risk-officers", "apply", "-f", weakened)
		Expect(err).To(HaveOccurred())
		Expect(out).To(And(ContainSubstring("spec.checklist.overrides[id=pdb].severity: Forbidden"), ContainSubstring("e2e-production"), ContainSubstring("platform-sre")))

		By("admitting the compliant spec, judged by the policy's rules")
		out, err = as("tom", "risk-officers", "apply", "-f", writeTemp(fmt.Sprintf(scorer, "1.0.0", "")))
		Expect(err).NotTo(HaveOccurred(), out)
		Eventually(get("{.status.phase}", "md/scorer")).Should(Equal("AwaitingApproval"))
		Expect(get(`{.status.checklist.items[?(@.id=="pdb")].severitySource}`, "md/scorer")()).To(Equal("policy/e2e-production"))
		Expect(get(`{.status.conditions[?(@.type=="PolicyCompliant")].status}`, "md/scorer")()).To(Equal("True"))

		By("not counting tom's approval of his own change")
		approve("tom", "by-tom", "1.0.0")
		Eventually(get(`{.status.conditions[?(@.type=="Approved")].message}`, "md/scorer")).
			Should(ContainSubstring("by-tom by tom does not count"))
		Expect(get("{.status.phase}", "md/scorer")()).To(Equal("AwaitingApproval"))

		By("counting rita's")
		approve("rita", "by-rita", "1.0.0")
		Eventually(get("{.status.phase}", "md/scorer"), "60s").Should(Equal("Succeeded"))
		Expect(get("{.status.history[0].approvers[*]}", "md/scorer")()).To(Equal("risk=rita"))

		By("a freeze by the platform team holding the next version")
		now := time.Now().UTC()
		kubectl("patch", "modeldeploymentpolicy", "e2e-production", "--type=merge", "-p", fmt.Sprintf(
			`{"spec":{"windows":{"freezes":[{"start":%q,"end":%q,"reason":"year-end freeze"}]}}}`,
			now.Add(-time.Hour).Format(time.RFC3339), now.Add(24*time.Hour).Format(time.RFC3339)))
		out, err = as("tom", "risk-officers", "patch", "md", "scorer", "--type=merge", "-p", `{"spec":{"model":{"version":"1.1.0"}}}`)
		Expect(err).NotTo(HaveOccurred(), out)
		approve("rita", "by-rita-1-1-0", "1.1.0")
		Eventually(get("{.status.phase}", "md/scorer")).Should(Equal("Waiting"))
		Expect(get(`{.status.conditions[?(@.type=="Ready")].message}`, "md/scorer")()).To(ContainSubstring("year-end freeze"))

		By("refusing tom's override of the freeze")
		out, err = as("tom", "risk-officers", "annotate", "md", "scorer", "serving.modelgate.dev/window-override=hotfix")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("only members of platform-sre may override a deployment window"))

		By("taking paula's, of platform-sre: the rollout goes on")
		out, err = as("paula", "platform-sre", "annotate", "md", "scorer", "serving.modelgate.dev/window-override=INC-7 fraud spike")
		Expect(err).NotTo(HaveOccurred(), out)
		Eventually(get("{.status.stable.version}", "md/scorer"), "60s").Should(Equal("1.1.0"))
		Expect(get("{.status.history[0].windowOverride}", "md/scorer")()).To(ContainSubstring("paula"))

		By("taking paula's sign-off on an override below the floor")
		out, err = as("paula", "platform-sre", "patch", "md", "scorer", "--type=merge", "-p",
			`{"spec":{"checklist":{"overrides":[{"id":"pdb","severity":"Warn","reason":"batch tier, signed off by SRE"}]}}}`)
		Expect(err).NotTo(HaveOccurred(), out)
		Eventually(get(`{.status.checklist.items[?(@.id=="pdb")].severity}`, "md/scorer")).Should(Equal("Warn"))
	})
})
