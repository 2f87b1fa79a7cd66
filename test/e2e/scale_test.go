package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/modelgate/modelgate/test/bars"
)

// canaries is how many ModelDeployments roll out at once.
const canaries = 100

// fleet is a manifest of n ModelDeployments at a version, each one pod doing
// a one-step canary.
func fleet(n int, version string) string { return fleetWith(n, version, "") }

// fleetWith is fleet with more of the spec: lines indented under spec.
func fleetWith(n int, version, spec string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `---
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: model-%03[1]d}
spec:
  model: {name: model-%03[1]d, version: %[2]s, uri: "pvc://models/model-%03[1]d/%[2]s"}
  replicas: 1
  checklist: {profile: development}
  strategy: {type: Canary, canary: {steps: [{weight: 50}]}}
%[3]s  template:
    spec:
      containers: [{name: server, image: registry.example/ml/server:1.0}]
`, i, version, spec)
	}
	return b.String()
}

// peakRSS is the most memory a process has held, from /proc (Linux).
func peakRSS(pid int) (kib int64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			v, err := strconv.ParseInt(f[1], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

var _ = Describe("Many rollouts at once", Ordered, func() {
	const ns = "fleet"

	It(fmt.Sprintf("takes %d ModelDeployments through a canary at the same time", canaries), func() {
		kubectl("create", "namespace", ns)
		DeferCleanup(func() { kubectl("delete", "namespace", ns, "--wait=false") })
		phases := func() string {
			out, _ := kubectlErr("-n", ns, "get", "md", "-o", "jsonpath={range .items[*]}{.status.phase}={.status.stable.version} {end}")
			counts := map[string]int{}
			for _, f := range strings.Fields(out) {
				counts[f]++
			}
			return fmt.Sprint(counts)
		}
		kubectl("-n", ns, "apply", "-f", writeTemp(fleet(canaries, "1.0.0")))
		Eventually(phases, "5m", "1s").Should(Equal(fmt.Sprintf("map[Succeeded=1.0.0:%d]", canaries)))

		start := time.Now()
		kubectl("-n", ns, "apply", "-f", writeTemp(fleet(canaries, "2.0.0")))
		Eventually(phases, "5m", "500ms").Should(Equal(fmt.Sprintf("map[Succeeded=2.0.0:%d]", canaries)))
		bars.Record("e2e", fmt.Sprintf("Canaries%dToPromoted", canaries), float64(time.Since(start).Milliseconds()), "ms")
		Expect(kubectl("-n", ns, "get", "md", "-o", "jsonpath={range .items[*]}{.status.history[0].outcome} {end}")).
			To(Equal(strings.TrimSpace(strings.Repeat("Promoted ", canaries))))

		if kib, ok := peakRSS(manager.cmd.Process.Pid); ok {
			GinkgoWriter.Printf("manager peak memory: %d MiB\n", kib/1024)
			bars.Record("e2e", "ManagerPeakRSS", float64(kib)/1024, "MiB")
		}
	})
})
