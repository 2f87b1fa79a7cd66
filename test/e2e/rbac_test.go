package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// managerNS is the namespace of the operator's ServiceAccount and of its
// leader-election Lease, as config/default's modelgate-system is in a
// deployment (that name is left to the Helm chart's dry run).
const managerNS = "modelgate-e2e"

// managerKubeconfig is what every manager of the suite runs with: the token
// of a ServiceAccount bound to config/rbac's roles and nothing else, so that
// each spec also proves the RBAC the docs and the chart ship is enough.
var managerKubeconfig string

// serviceAccountKubeconfig applies config/rbac (ServiceAccount, the
// generated ClusterRole, the leader-election Role and their bindings) into
// managerNS under the prefix e2e-, as config/default does under modelgate-,
// mints a token for the ServiceAccount, and writes a kubeconfig of the
// cluster's with that token as its only credential.
func serviceAccountKubeconfig(dir string) string {
	GinkgoHelper()
	Expect(os.MkdirAll(dir, 0o750)).To(Succeed())
	// kustomize takes a base outside its root only by a relative path.
	rbac, err := filepath.Rel(dir, filepath.Join(repoRoot, "config", "rbac"))
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %s
namePrefix: e2e-
resources: [%s]
`, managerNS, rbac)), 0o600)).To(Succeed())
	kubectl("create", "namespace", managerNS)
	kubectl("apply", "-k", dir)
	// Longer than the suite's 20-minute timeout, with room for a slow machine.
	token := kubectl("-n", managerNS, "create", "token", "e2e-controller-manager", "--duration=3h")
	Expect(token).NotTo(BeEmpty())

	path := filepath.Join(dir, "kubeconfig")
	admin, err := os.ReadFile(kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(path, admin, 0o600)).To(Succeed())
	// The admin's client certificate stays in the file but in no context.
	kubectl("--kubeconfig", path, "config", "set-credentials", "modelgate-manager", "--token="+token)
	kubectl("--kubeconfig", path, "config", "set-context", "--current", "--user=modelgate-manager")
	By("checking that the manager's kubeconfig is the ServiceAccount's, not the admin's")
	Expect(kubectl("--kubeconfig", path, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")).
		To(Equal("system:serviceaccount:" + managerNS + ":e2e-controller-manager"))
	// can-i answers "no" with exit status 1.
	out, _ := kubectlErr("--kubeconfig", path, "auth", "can-i", "create", "clusterroles")
	Expect(out).To(HaveSuffix("no"))
	return path
}

// rbacDenied is the API server's answer to a request its RBAC refuses, as
// client-go and controller-runtime log it, for the manager's ServiceAccount.
var rbacDenied = regexp.MustCompile(`(?i)forbidden: User \\?"system:serviceaccount:` + managerNS + `:`)

// deniedLines returns the lines of the manager's log, past what an earlier
// call saw, where the API server refused the manager a request.
func (p *managerProcess) deniedLines() []string {
	b, err := os.ReadFile(p.logPath)
	if err != nil || len(b) <= p.checked {
		return nil
	}
	// Whole lines only: the one being written is read next time.
	end := p.checked + bytes.LastIndexByte(b[p.checked:], '\n') + 1
	var denied []string
	for _, line := range strings.Split(string(b[p.checked:end]), "\n") {
		if rbacDenied.MatchString(line) {
			denied = append(denied, line)
		}
	}
	p.checked = end
	return denied
}

// Every spec fails when a manager was refused something during it: the
// ClusterRole generated from the +kubebuilder:rbac markers lacks a rule.
var _ = AfterEach(func() {
	var denied []string
	for _, p := range managers {
		denied = append(denied, p.deniedLines()...)
	}
	Expect(denied).To(BeEmpty(), "the API server refused the manager's ServiceAccount: a +kubebuilder:rbac marker is missing (docs/rbac.md)")
})
