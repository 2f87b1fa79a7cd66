package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// plugin runs `kubectl modelgate ARGS` as a user would: kubectl finds
// kubectl-modelgate on the PATH. It returns the output and the exit code.
func plugin(args ...string) (string, int) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Getenv("KUBECTL"), append([]string{"modelgate"}, args...)...)
	// Global flags before the plugin's name would stop kubectl looking for it.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig,
		"PATH="+filepath.Dir(os.Getenv("PLUGIN"))+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	GinkgoWriter.Printf("$ kubectl modelgate %s\n%s", strings.Join(args, " "), out)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	Fail("kubectl modelgate " + strings.Join(args, " ") + ": " + err.Error())
	return "", -1
}

var _ = Describe("The kubectl plugin on a local cluster", Ordered, func() {
	const ns, name = "e2e-plugin", "ranker-canary"
	get := func(jsonpath string, what ...string) func() string {
		return func() string {
			out, _ := kubectlErr(append(append([]string{"-n", ns, "get"}, what...), "-o", "jsonpath="+jsonpath)...)
			return out
		}
	}
	deployments := get("{range .items[*]}{.metadata.name}={.spec.replicas} {end}", "deployments", "-l", "app.kubernetes.io/name="+name)

	BeforeAll(func() {
		Expect(os.Getenv("PLUGIN")).NotTo(BeEmpty(), "PLUGIN is not set: run the end-to-end tests with 'make test-e2e'")
		kubectl("create", "namespace", ns)
		DeferCleanup(func() { kubectl("delete", "namespace", ns, "--wait=false") })
	})

	It("is found by kubectl and checks manifests offline, as CI would", func() {
		out, code := plugin("check", "-f", filepath.Join("config", "samples"))
		Expect(code).To(Equal(0), out)
		Expect(out).To(ContainSubstring("1 ModelDeployment checked: 1 passed, 0 failed."))

		out, code = plugin("check", "-f", filepath.Join("internal", "cli", "testdata", "bad"), "-o", "junit")
		Expect(code).To(Equal(1), out)
		Expect(out).To(ContainSubstring(`<testcase name="pdb" classname="Business Continuity"`))
	})

	It("promotes a canary step by step", func() {
		kubectl("-n", ns, "apply", "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: ranker-canary}
spec:
  model: {name: ranker, version: 1.0.0, uri: "pvc://models/ranker/1.0.0"}
  replicas: 3
  checklist: {profile: development}
  strategy:
    type: Canary
    canary: {steps: [{weight: 34, pause: {}}, {weight: 67, pause: {}}]}
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/ranker:1.0.0}]
`))
		Eventually(get("{.status.phase}", "md/"+name)).Should(Equal("Succeeded"))
		out, code := plugin("status", name, "-n", ns)
		Expect(code).To(Equal(0), out)
		Expect(out).To(ContainSubstring("Stable:    1.0.0 (Deployment ranker-canary-v1-0-0"))
		Expect(out).To(ContainSubstring("[x] secrets"))

		kubectl("-n", ns, "patch", "md", name, "--type=merge", "-p", `{"spec":{"model":{"version":"1.1.0"}}}`)
		Eventually(get("{.status.phase} {.status.candidate.weight}", "md/"+name)).Should(Equal("Paused 34"))
		Eventually(deployments).Should(Equal("ranker-canary-v1-0-0=2 ranker-canary-v1-1-0=1"))

		out, code = plugin("promote", name, "-n", ns, "--wait", "60s")
		Expect(code).To(Equal(0), out)
		Expect(out).To(ContainSubstring(`Requested promote of ModelDeployment e2e-plugin/ranker-canary (serving.modelgate.dev/promote="`))
		Expect(out).To(ContainSubstring("The operator handled it: phase "))
		Expect(out).To(ContainSubstring("candidate 1.1.0 at 67% (step 2 of 2), stable 1.0.0"))
		Eventually(deployments).Should(Equal("ranker-canary-v1-0-0=1 ranker-canary-v1-1-0=2"))
		Expect(get("{.status.requests.promote}", "md/"+name)()).To(Equal(get(`{.metadata.annotations.serving\.modelgate\.dev/promote}`, "md/"+name)()))
	})

	It("aborts the canary with a reason that the history keeps", func() {
		out, code := plugin("abort", name, "-n", ns, "--reason", "e2e: p95 latency doubled", "--wait", "60s")
		Expect(code).To(Equal(0), out)
		Expect(out).To(ContainSubstring("The operator handled it: phase RolledBack, stable 1.0.0, rolled back 1.1.0."))
		// The candidate's Deployment goes at zero pods, or is already deleted.
		Eventually(deployments).Should(MatchRegexp(`^ranker-canary-v1-0-0=3( ranker-canary-v1-1-0=0)?$`))
		Expect(get("{.status.history[0].outcome} {.status.history[0].reason}", "md/"+name)()).To(Equal("RolledBack Aborted"))
		Expect(get("{.status.history[0].message}", "md/"+name)()).To(ContainSubstring("e2e: p95 latency doubled (requested "))

		out, code = plugin("abort", name, "-n", ns, "--reason", "again")
		Expect(code).To(Equal(1), "nothing left to abort")
		Expect(out).To(ContainSubstring("error: nothing to abort: ModelDeployment ranker-canary has no rollout in flight (phase RolledBack"))
	})

	It("retries the version, holds it paused, and promotes it fully", func() {
		out, code := plugin("retry", name, "-n", ns, "--wait", "60s")
		Expect(code).To(Equal(0), out)
		Expect(out).To(ContainSubstring("The operator handled it: phase "))
		Eventually(get("{.status.phase} {.status.candidate.weight}", "md/"+name)).Should(Equal("Paused 34"))

		out, code = plugin("pause", name, "-n", ns, "--wait", "60s")
		Expect(code).To(Equal(0), out)
		Expect(out).To(ContainSubstring("The operator has seen it: phase Paused, candidate 1.1.0 at 34% (step 1 of 2), stable 1.0.0"))
		Expect(get("{.spec.paused}", "md/"+name)()).To(Equal("true"))
		Eventually(get(`{.status.conditions[?(@.type=="Reconciling")].message}`, "md/"+name)).Should(ContainSubstring("paused by spec.paused"))

		out, code = plugin("resume", name, "-n", ns, "--wait", "60s")
		Expect(code).To(Equal(0), out)
		Expect(out).To(ContainSubstring("The operator has seen it:"))
		Expect(get("{.spec.paused}", "md/"+name)()).To(BeEmpty())

		out, code = plugin("promote", name, "-n", ns, "--full", "--wait", "60s")
		Expect(code).To(Equal(0), out)
		Expect(out).To(ContainSubstring("The operator handled it:"))
		Eventually(get("{.status.stable.version} {.status.phase}", "md/"+name)).Should(Equal("1.1.0 Succeeded"))
		Eventually(deployments).Should(Equal("ranker-canary-v1-1-0=3"))

		By("writing the deployment record for the change ticket")
		out, code = plugin("report", name, "-n", ns)
		Expect(code).To(Equal(0), out)
		Expect(out).To(HavePrefix("# Deployment record: ranker-canary 1.1.0\n"))
		Expect(out).To(ContainSubstring("- **Outcome**: Promoted"))
		Expect(out).To(MatchRegexp(`version 1\.1\.0 rolled back to 1\.0\.0 \(Aborted\): .*e2e: p95 latency doubled`))
		Expect(out).To(ContainSubstring("- **Verification**: modelgate, Ready since "))
	})
})
