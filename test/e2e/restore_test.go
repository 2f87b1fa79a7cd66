package e2e

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/modelgate/modelgate/test/bars"
)

const restoreNS = "restore"

var _ = Describe("Deployments changed by hand on a local cluster", Ordered, func() {
	get := func(jsonpath string, what ...string) func() string {
		return func() string {
			out, _ := kubectlErr(append(append([]string{"-n", restoreNS, "get"}, what...), "-o", "jsonpath="+jsonpath)...)
			return out
		}
	}

	BeforeAll(func() {
		kubectl("create", "namespace", restoreNS)
		DeferCleanup(func() { kubectl("delete", "namespace", restoreNS, "--wait=false") })
	})

	It("brings back a stable Deployment deleted by hand mid-canary at the size its step needs, puts back its edited template, and the canary finishes", func() {
		kubectl("-n", restoreNS, "apply", "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: restorer}
spec:
  model: {name: restorer, version: 1.0.0, uri: "pvc://models/restorer/1.0.0"}
  replicas: 4
  checklist: {profile: development}
  strategy: {type: Canary, canary: {steps: [{weight: 50, pause: {}}]}}
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/server:1.0}]
`))
		Eventually(get("{.status.phase}", "md/restorer")).Should(Equal("Succeeded"))
		kubectl("-n", restoreNS, "patch", "md", "restorer", "--type=merge", "-p", `{"spec":{"model":{"version":"1.1.0"}}}`)
		Eventually(get("{.status.phase} {.status.candidate.weight}", "md/restorer")).Should(Equal("Paused 50"))
		stable := "deployment/restorer-v1-0-0"
		Eventually(get("{.spec.replicas} {.status.availableReplicas}", stable)).Should(Equal("2 2"))
		oldUID := get("{.metadata.uid}", stable)()
		Expect(oldUID).NotTo(BeEmpty())

		By("deleting the stable Deployment at the paused step")
		start := time.Now()
		kubectl("-n", restoreNS, "delete", stable, "--wait=false")
		Eventually(func() string {
			fields := strings.Fields(get("{.metadata.uid} {.spec.replicas} {.status.availableReplicas}", stable)())
			if len(fields) != 3 || fields[0] == oldUID {
				return "not back: " + strings.Join(fields, " ")
			}
			return fields[1] + " " + fields[2]
		}, "2m", "50ms").Should(Equal("2 2"), "written again at the size the step needs, its pods available")
		bars.Record("e2e", "StableDeletedToBackAtSize", float64(time.Since(start).Milliseconds()), "ms")
		Expect(kubectl("-n", restoreNS, "get", "events", "--field-selector", "involvedObject.name=restorer,reason=DeploymentRestored")).
			To(ContainSubstring("Deployment restorer-v1-0-0 of version 1.0.0 was deleted by hand; written again from its revision at 2 pods"))
		Expect(get("{.status.phase} {.status.candidate.weight} {.status.stable.version}", "md/restorer")()).
			To(Equal("Paused 50 1.0.0"), "traffic stays where the step put it")
		Expect(get("{.spec.selector}", "svc/restorer")()).NotTo(ContainSubstring("serving.modelgate.dev/version"),
			"<name> keeps serving both versions' pods, by their share of replicas")

		By("setting the image of the stable Deployment by hand")
		kubectl("-n", restoreNS, "set", "image", stable, "server=registry.example/ml/server:hotfix")
		Eventually(get("{.spec.template.spec.containers[0].image}", stable)).Should(Equal("registry.example/ml/server:1.0"))
		Eventually(func() string {
			return kubectl("-n", restoreNS, "get", "events", "--field-selector", "involvedObject.name=restorer,reason=DeploymentTemplateRestored")
		}).Should(ContainSubstring("Pod template of Deployment restorer-v1-0-0 (version 1.0.0) was edited by hand at spec.containers[server].image"))
		Eventually(get("{.spec.replicas} {.status.availableReplicas} {.status.updatedReplicas}", stable)).Should(Equal("2 2 2"))
		Expect(get("{.status.phase} {.status.candidate.weight}", "md/restorer")()).To(Equal("Paused 50"))

		By("promoting: the canary finishes")
		kubectl("-n", restoreNS, "annotate", "md", "restorer", "serving.modelgate.dev/promote=now")
		Eventually(get("{.status.stable.version}", "md/restorer")).Should(Equal("1.1.0"))
		kubectl("-n", restoreNS, "wait", "--for=condition=Ready", "md/restorer", "--timeout=120s")
		Expect(get("{.status.history[0].version} {.status.history[0].previous} {.status.history[0].outcome}", "md/restorer")()).
			To(Equal("1.1.0 1.0.0 Promoted"))
		Eventually(get("{range .items[*]}{.metadata.name} {end}", "deployments")).Should(Equal("restorer-v1-1-0"))
		Eventually(get("{range .items[*]}{.status.phase} {end}", "pods", "-l", "app.kubernetes.io/name=restorer,serving.modelgate.dev/version=1.1.0")).
			Should(Equal("Running Running Running Running"))
	})
})
