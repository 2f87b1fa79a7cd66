package e2e

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

const approvalNS = "approvals"

var _ = Describe("Sign-off on a local cluster", Ordered, func() {
	get := func(jsonpath string, what ...string) func() string {
		return func() string {
			out, _ := kubectlErr(append(append([]string{"-n", approvalNS, "get"}, what...), "-o", "jsonpath="+jsonpath)...)
			return out
		}
	}
	// approve creates a ModelApproval with kubectl as user in group.
	approve := func(user, group, name, role string) {
		kubectl("--as", user, "--as-group", group, "--as-group", "system:authenticated", "-n", approvalNS, "apply", "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelApproval
metadata: {name: `+name+`}
spec: {modelDeployment: scorer, version: 1.0.0, role: `+role+`, comment: "reviewed"}
`))
	}

	BeforeAll(func() {
		kubectl("create", "namespace", approvalNS)
		kubectl("apply", "-f", writeTemp(`
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: modelgate-approver}
rules:
- {apiGroups: [serving.modelgate.dev], resources: [modelapprovals], verbs: [get, list, create]}
- {apiGroups: [serving.modelgate.dev], resources: [modeldeployments], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: modelgate-approver}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: modelgate-approver}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:authenticated"}]
`))
	})

	It("waits for two roles, then proceeds when two different users approve with kubectl", func() {
		kubectl("-n", approvalNS, "apply", "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: scorer}
spec:
  model: {name: scorer, version: 1.0.0, uri: "pvc://models/scorer/1.0.0"}
  replicas: 2
  checklist: {profile: development}
  approvals:
    required:
    - {role: security, groups: [sec-team]}
    - {role: product-owner, groups: [po]}
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/server:1.0}]
`))
		Eventually(get("{.status.phase}", "md/scorer")).Should(Equal("AwaitingApproval"))
		Expect(get("{.status.conditions[?(@.type==\"Approved\")].message}", "md/scorer")()).
			To(HavePrefix("Version 1.0.0 waits for the approval of security, product-owner"))
		Expect(get("{.items}", "pods", "-l", "app.kubernetes.io/name=scorer")()).To(Equal("[]"), "no pod before the sign-off")

		approve("alice", "sec-team", "alice-security", "security")
		Expect(get("{.spec.approver.username} {.spec.approver.groups}", "modelapproval/alice-security")()).To(HavePrefix("alice [\"sec-team\""))
		Eventually(get("{.status.conditions[?(@.type==\"Approved\")].message}", "md/scorer")).
			Should(HavePrefix("Version 1.0.0 waits for the approval of product-owner"))

		By("refusing an approval that names its own approver")
		out, err := kubectlErr("--as", "mallory", "--as-group", "po", "--as-group", "system:authenticated", "-n", approvalNS, "apply", "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelApproval
metadata: {name: forged}
spec: {modelDeployment: scorer, version: 1.0.0, role: product-owner, approver: {username: bob, groups: [po], approvedAt: "2026-01-01T00:00:00Z"}}
`))
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("spec.approver is set by modelgate"))

		By("approving the second role through the kubectl plugin, as another user")
		out, code := plugin("approve", "scorer", "-n", approvalNS, "--role", "product-owner", "--comment", "ship it",
			"--as", "bob", "--as-group", "po", "--as-group", "system:authenticated")
		Expect(code).To(BeZero(), out)
		Expect(out).To(Equal("Approved version 1.0.0 of scorer as product-owner: ModelApproval scorer-1-0-0-product-owner, stamped with bob (groups po, system:authenticated).\n"))
		Eventually(get("{.status.phase}", "md/scorer")).Should(Equal("Succeeded"))
		Expect(get("{.status.history[0].approvers[*]}", "md/scorer")()).To(Equal("security=alice product-owner=bob"))
		Eventually(get("{range .items[*]}{.status.phase} {end}", "pods", "-l", "app.kubernetes.io/name=scorer")).Should(Equal("Running Running"))
	})
})
