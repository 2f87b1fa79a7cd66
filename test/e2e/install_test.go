package e2e

import (
	"os"
	"os/exec"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("The Helm chart on a local cluster", func() {
	It("renders objects the API server accepts, CRDs included, in a server-side dry run", func() {
		helm := os.Getenv("HELM")
		Expect(helm).NotTo(BeEmpty(), "HELM is not set: run the end-to-end tests with 'make test-e2e'")
		// A dry run still needs the namespace it creates objects in.
		kubectl("create", "namespace", "modelgate-system")
		DeferCleanup(func() { kubectl("delete", "namespace", "modelgate-system", "--wait=false") })

		for _, values := range [][]string{
			nil,
			{"--set", "replicaCount=1", "--set", "leaderElection.enabled=false", "--set", "networkPolicy.enabled=true"},
		} {
			args := append([]string{"template", "modelgate", filepath.Join(repoRoot, "charts", "modelgate"),
				"--namespace", "modelgate-system", "--include-crds"}, values...)
			rendered, err := exec.Command(helm, args...).Output()
			Expect(err).NotTo(HaveOccurred())
			out := kubectl("apply", "--server-side", "--dry-run=server", "-f", writeTemp(string(rendered)))
			for _, applied := range []string{
				"customresourcedefinition.apiextensions.k8s.io/modeldeployments.serving.modelgate.dev",
				"clusterrole.rbac.authorization.k8s.io/modelgate-manager-role",
				"deployment.apps/modelgate-controller-manager",
				"poddisruptionbudget.policy/modelgate-controller-manager",
				"secret/webhook-server-cert",
				"validatingwebhookconfiguration.admissionregistration.k8s.io/modelgate-validating-webhook-configuration",
			} {
				Expect(out).To(ContainSubstring(applied+" serverside-applied (server dry run)"), "helm %v", values)
			}
		}
	})
})
