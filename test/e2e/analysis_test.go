package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/modelgate/modelgate/test/bars"
	"github.com/modelgate/modelgate/test/dataplane"
	"github.com/modelgate/modelgate/test/promserver"
)

const analysisNS = "analysis"

// analysed is a ModelDeployment of the sample model server doing a two-step
// canary analysed on prom every 2 s: error rate, P95 latency and accuracy
// against the stable version, with a bake and more triggers when given. args
// are the server's faults.
func analysed(prom, version, args, errorPercent, bake string, triggers ...string) string {
	bakeLine := ""
	if bake != "" {
		bakeLine = "\n    bake: " + bake
	}
	for _, t := range triggers {
		bakeLine = "\n      " + t + bakeLine
	}
	return fmt.Sprintf(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: scorer}
spec:
  model: {name: scorer, version: %[2]s, uri: "pvc://models/scorer/%[2]s"}
  replicas: 2
  checklist: {profile: development}
  service: {port: 8080, metricsPort: 9090}
  strategy: {type: Canary, canary: {steps: [{weight: 50}]}}
  analysis:
    interval: 2s
    minSampleSize: 20
    consecutiveErrorLimit: 1000
    prometheus: {address: %[1]q, timeout: 2s}
    triggers:
      errorRate: {maxPercent: %[4]q}
      latencyP95: {maxMilliseconds: 250}
      accuracyDrop: {maxPercent: "25"}%[5]s
  template:
    spec:
      containers:
        - name: server
          image: registry.example/ml/model-server:%[2]s
          args: [%[3]s]
          ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]
          readinessProbe: {httpGet: {path: /readyz, port: http}}
`, prom, version, args, errorPercent, bakeLine)
}

var _ = Describe("Analysis on the real data plane and a real Prometheus", Ordered, func() {
	var prom *promserver.Server
	get := func(jsonpath string, what ...string) func() string {
		return func() string {
			out, _ := kubectlErr(append(append([]string{"-n", analysisNS, "get"}, what...), "-o", "jsonpath="+jsonpath)...)
			return out
		}
	}
	phase := get("{.status.phase}", "md/scorer")
	apply := func(version, args, errorPercent, bake string, triggers ...string) {
		kubectl("-n", analysisNS, "apply", "-f", writeTemp(analysed(prom.URL, version, args, errorPercent, bake, triggers...)))
	}

	BeforeAll(func() {
		Expect(os.Getenv("PROMETHEUS")).NotTo(BeEmpty(), "PROMETHEUS is not set: run the end-to-end tests with 'make test-e2e'")
		var err error
		prom, err = promserver.Start(context.Background(), promserver.Options{
			Binary: os.Getenv("PROMETHEUS"), Dir: filepath.Join(workdir, "prometheus-analysis"),
			Config: promserver.FileTargets(dataPlaneTargets(), time.Second),
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = prom.Stop() })
		kubectl("create", "namespace", analysisNS)
		apply("1.0.0", "", "5", "")
		Eventually(phase).Should(Equal("Succeeded"))

		By("sending 40 payments a second through the Service, each one's true label to the pod that answered")
		traffic, err := dataplane.StartTraffic(dataplane.TrafficOptions{Proxy: dataPlane.ProxyURL(),
			Target: "http://scorer." + analysisNS + ".svc:8080", RPS: 40, Seed: 11})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { traffic.Stop() })
	})

	It("promotes a good version through its canary on passing live measurements", func() {
		apply("1.1.0", "", "5", "")
		Eventually(get("{.status.stable.version}", "md/scorer"), "3m").Should(Equal("1.1.0"))
		Expect(get("{.status.history[0].outcome}", "md/scorer")()).To(Equal("Promoted"))
		Expect(get("{range .status.analysis.measurements[*]}{.metric}={.verdict} {end}", "md/scorer")()).
			To(And(ContainSubstring("errorRate=Pass"), ContainSubstring("latencyP95=Pass"), ContainSubstring("accuracyDrop=Pass")))
	})

	It("rolls back a version answering 20% errors on the error-rate trigger, all traffic back on stable within a second", func() {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		Expect(err).NotTo(HaveOccurred())
		kube := kubernetes.NewForConfigOrDie(cfg)
		apply("1.2.0", `"--error-ratio=0.2"`, "5", "")
		Eventually(phase, "3m").Should(Equal("RolledBack"))
		// From the breaching round, as status timed it, to the candidate's pods
		// out of every Service (its Deployment at zero or gone), as watched.
		breachAt, err := time.Parse(time.RFC3339Nano, get("{.status.analysis.lastRound.time}", "md/scorer")())
		Expect(err).NotTo(HaveOccurred())
		var stableAt time.Time
		Eventually(func() bool {
			dep, err := kube.AppsV1().Deployments(analysisNS).Get(context.Background(), "scorer-v1-2-0", metav1.GetOptions{})
			if err == nil && (dep.Spec.Replicas == nil || *dep.Spec.Replicas > 0) {
				return false
			}
			stableAt = time.Now()
			return true
		}, "30s", "20ms").Should(BeTrue())
		bars.Record("e2e", "BreachToAllTrafficOnStable", float64(stableAt.Sub(breachAt).Milliseconds()), "ms")
		Expect(get("{.status.conditions[?(@.type==\"RolledBack\")].reason}", "md/scorer")()).To(Equal("AnalysisFailed"))
		Expect(get("{.status.conditions[?(@.type==\"RolledBack\")].message}", "md/scorer")()).To(MatchRegexp(`errorRate of version 1\.2\.0 is [0-9.]+, outside the bound <= 5`))
	})

	It("rolls back a version with degraded accuracy on the accuracy-drop trigger", func() {
		apply("1.3.0", `"--flip-ratio=0.6"`, "5", "")
		// The phase alone is still the last spec's RolledBack until the
		// manager reads this one: wait for this version to be the one rejected.
		Eventually(get("{.status.rejected.version} {.status.phase}", "md/scorer"), "3m").Should(Equal("1.3.0 RolledBack"))
		Expect(get("{.status.conditions[?(@.type==\"RolledBack\")].message}", "md/scorer")()).To(MatchRegexp(`accuracyDrop of version 1\.3\.0 is [0-9.]+, outside the bound <= 25`))
		Expect(get("{.status.stable.version}", "md/scorer")()).To(Equal("1.1.0"))
	})

	It("rolls back a version whose scores shifted on prediction drift while its error rate passes", func() {
		apply("1.3.1", `"--score-shift=0.3"`, "5", "", `predictionDrift: {maxPSI: "0.25"}`)
		Eventually(get("{.status.rejected.version} {.status.phase}", "md/scorer"), "3m").Should(Equal("1.3.1 RolledBack"))
		Expect(get("{.status.conditions[?(@.type==\"RolledBack\")].message}", "md/scorer")()).To(
			MatchRegexp(`predictionDrift of version 1\.3\.1 is [0-9.]+, outside the bound <= 0\.25 \(PSI [0-9.]+ \(noise [0-9.e-]+\): \(`))
		Expect(get("{range .status.analysis.measurements[?(@.version==\"1.3.1\")]}{.metric}={.verdict} {end}", "md/scorer")()).
			To(And(ContainSubstring("errorRate=Pass"), ContainSubstring("predictionDrift=Breach")))
		Expect(get("{.status.stable.version}", "md/scorer")()).To(Equal("1.1.0"))
	})

	It("pauses while Prometheus is down, and resumes when it returns", func() {
		// Down before the canary starts, so no round can pass before it goes.
		Expect(prom.Stop()).To(Succeed())
		apply("1.4.0", "", "5", "")
		Eventually(get("{.status.candidate.weight}", "md/scorer"), "2m").Should(Equal("50"))
		Eventually(get("{.status.analysis.version} {.status.analysis.lastRound.verdict}", "md/scorer"), "30s").Should(Equal("1.4.0 Error"))
		Consistently(phase, "4s").Should(Equal("Progressing"), "no promotion without measurements, no rollback either")
		Expect(get("{.status.conditions[?(@.type==\"Ready\")].reason}", "md/scorer")()).To(Equal("Analyzing"))

		var err error
		prom, err = promserver.Start(context.Background(), promserver.Options{Binary: os.Getenv("PROMETHEUS"),
			Address: prom.Address, Dir: prom.Dir, Config: promserver.FileTargets(dataPlaneTargets(), time.Second)})
		Expect(err).NotTo(HaveOccurred())
		Eventually(get("{.status.stable.version}", "md/scorer"), "3m").Should(Equal("1.4.0"))
	})

	It("restores the previous version when the promoted one breaches during its bake", func() {
		apply("1.5.0", `"--error-ratio=0.04"`, "10", "10m")
		Eventually(phase, "3m").Should(Equal("Baking"))
		Expect(get("{.status.previous.version}", "md/scorer")()).To(Equal("1.4.0"))
		By("tightening the error-rate bound while it bakes")
		apply("1.5.0", `"--error-ratio=0.04"`, "1", "10m")
		Eventually(phase, "2m").Should(Equal("RolledBack"))
		Expect(get("{.status.stable.version} {.status.history[0].reason}", "md/scorer")()).To(Equal("1.4.0 BakeFailed"))
		Eventually(get("{range .items[*]}{.metadata.labels.serving\\.modelgate\\.dev/version} {end}", "pods", "-l", "app.kubernetes.io/name=scorer")).
			Should(Equal("1.4.0 1.4.0"), "every pod left is the restored version's")
	})
})
