package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/modelgate/modelgate/test/bars"
)

// shardsNS keeps the shards story's objects apart from the other specs'.
// Its managers' Leases are in managerNS, where the manager's own Role
// allows them.
const shardsNS = "shards"

// decisions are the "name@version" of every ModelDeployment a manager logged
// a decision for (a step moved, a version promoted): what it reconciled and
// acted on; and when it logged the first and the last for each version.
func decisions(p *managerProcess) (acted []string, first, last map[string]time.Time) {
	GinkgoHelper()
	f, err := os.Open(p.logPath)
	Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	first, last = map[string]time.Time{}, map[string]time.Time{}
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for s.Scan() {
		var line struct {
			TS  time.Time `json:"ts"` // RFC 3339, with --zap-time-encoding=rfc3339nano
			Msg string    `json:"msg"`
			MD  struct {
				Name, Namespace string
			} `json:"modelDeployment"`
			Version string `json:"version"`
		}
		if json.Unmarshal(s.Bytes(), &line) != nil || line.Msg != "Decision" || line.MD.Namespace != shardsNS {
			continue
		}
		if d := line.MD.Name + "@" + line.Version; !slices.Contains(acted, d) {
			acted = append(acted, d)
		}
		if _, ok := first[line.Version]; !ok {
			first[line.Version] = line.TS
		}
		last[line.Version] = line.TS
	}
	Expect(s.Err()).NotTo(HaveOccurred())
	return acted, first, last
}

// acted are the "name@version" a manager logged decisions for.
func acted(p *managerProcess) []string {
	GinkgoHelper()
	a, _, _ := decisions(p)
	return a
}

// shardLease is the leader election lease a manager logged it reconciles
// its shard under, and whether it logged taking it.
func shardLease(p *managerProcess) (id string, held bool) {
	b, _ := os.ReadFile(p.logPath)
	m := regexp.MustCompile(`"Reconciling one shard of the ModelDeployments".*"leaderElectionID":"([^"]+)"`).FindSubmatch(b)
	if m == nil {
		return "", false
	}
	id = string(m[1])
	return id, regexp.MustCompile(`"Successfully acquired lease".*"` + managerNS + `/` + regexp.QuoteMeta(id) + `"`).Match(b)
}

// shardedModel is a ModelDeployment at a version with a one-step canary, in
// the shard given ("" for none).
func shardedModel(name, shard, version string) string {
	labels := "{}"
	if shard != "" {
		labels = fmt.Sprintf("{shard: %s}", shard)
	}
	return fmt.Sprintf(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: %[1]s, labels: %[2]s}
spec:
  model: {name: %[1]s, version: %[3]s, uri: "pvc://models/%[1]s/%[3]s"}
  replicas: 2
  checklist: {profile: development}
  strategy:
    type: Canary
    canary: {steps: [{weight: 50, pause: {duration: 2s}}]}
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/server:1.0}]
`, name, labels, version)
}

var _ = Describe("Managers sharding the ModelDeployments by a label", Ordered, func() {
	get := func(jsonpath string, what ...string) func() string {
		return func() string {
			out, _ := kubectlErr(append(append([]string{"-n", shardsNS, "get"}, what...), "-o", "jsonpath="+jsonpath)...)
			return out
		}
	}

	It("finishes each shard's rollouts side by side in that shard's manager alone, each under its own lease, and moves a ModelDeployment by its label", func() {
		kubectl("create", "namespace", shardsNS)

		By("replacing the suite's manager with one per shard: shard=a, shard=b, and those without a shard")
		Expect(manager.stop(syscall.SIGTERM)).To(Succeed())
		shard := func(selector, log string, webhookPort ...int) *managerProcess {
			args := []string{"--leader-elect", "--leader-election-namespace=" + managerNS, "--watch-label-selector=" + selector, "--zap-time-encoding=rfc3339nano"}
			for _, p := range webhookPort { // every shard serves the webhooks, each on a port of its own here
				args = append(args, fmt.Sprintf("--webhook-port=%d", p))
			}
			return startManager(filepath.Join(workdir, log), args...)
		}
		var a, b, rest *managerProcess
		DeferCleanup(func() {
			By("going back to the suite's single manager")
			for _, p := range []*managerProcess{a, b, rest} {
				if p != nil {
					Expect(p.stop(syscall.SIGTERM)).To(Succeed())
				}
			}
			manager = startManager(filepath.Join(workdir, "manager-after-shards.log"))
			pointWebhooksAt(webhookPort)
			kubectl("delete", "namespace", shardsNS, "--wait=false")
		})
		// The first keeps the suite's webhook port, where the cluster's
		// configurations point.
		a = shard("shard=a", "manager-shard-a.log")
		bPort := freePort()
		b = shard("shard=b", "manager-shard-b.log", bPort)
		rest = shard("!shard", "manager-shard-none.log", freePort())

		By("each shard taking a lease of its own")
		leases := map[string]*managerProcess{}
		for _, p := range []*managerProcess{a, b, rest} {
			Eventually(func() bool { _, held := shardLease(p); return held }).Should(BeTrue(), "the manager of %s took its lease", p.logPath)
			id, _ := shardLease(p)
			leases[id] = p
		}
		Expect(leases).To(HaveLen(3), "three shards, three leases")
		held, err := kubectlErr("-n", managerNS, "get", "leases", "-o", "jsonpath={range .items[*]}{.metadata.name} {end}")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Fields(held)).To(ContainElements(slices.Collect(maps.Keys(leases))))

		By("creating two ModelDeployments in each shard and one without a shard")
		models := map[string]string{"alpha-1": "a", "alpha-2": "a", "beta-1": "b", "beta-2": "b", "plain": ""}
		apply := func(version string) {
			var manifests []string
			for name, s := range models {
				manifests = append(manifests, shardedModel(name, s, version))
			}
			kubectl("-n", shardsNS, "apply", "-f", writeTemp(strings.Join(manifests, "---")))
		}
		apply("1.0.0")
		for name := range models {
			Eventually(get("{.status.phase}", "md/"+name)).Should(Equal("Succeeded"), name)
		}

		By("updating them all at once, and each shard's canaries finishing side by side")
		start := time.Now()
		apply("2.0.0")
		for name := range models {
			Eventually(get("{.status.stable.version}", "md/"+name)).Should(Equal("2.0.0"), name)
			Expect(get("{range .status.history[*]}{.version}:{.outcome} {end}", "md/"+name)()).To(Equal("2.0.0:Promoted 1.0.0:Promoted"), name)
		}
		bars.Record("e2e", "ShardsFiveCanariesOnThreeManagers", float64(time.Since(start).Milliseconds()), "ms")

		By("each ModelDeployment's decisions coming from its own shard's manager only")
		Expect(acted(a)).To(ConsistOf("alpha-1@1.0.0", "alpha-2@1.0.0", "alpha-1@2.0.0", "alpha-2@2.0.0"))
		Expect(acted(b)).To(ConsistOf("beta-1@1.0.0", "beta-2@1.0.0", "beta-1@2.0.0", "beta-2@2.0.0"))
		Expect(acted(rest)).To(ConsistOf("plain@1.0.0", "plain@2.0.0"))
		_, aFirst, aLast := decisions(a)
		_, bFirst, bLast := decisions(b)
		GinkgoWriter.Printf("shard a decided 2.0.0 from %s to %s, shard b from %s to %s\n", aFirst["2.0.0"], aLast["2.0.0"], bFirst["2.0.0"], bLast["2.0.0"])
		Expect(aFirst["2.0.0"]).To(BeTemporally("<", bLast["2.0.0"]), "shard a's rollouts began before shard b's ended")
		Expect(bFirst["2.0.0"]).To(BeTemporally("<", aLast["2.0.0"]), "shard b's rollouts began before shard a's ended")

		By("moving the ModelDeployment without a shard to shard b, by its label")
		kubectl("-n", shardsNS, "label", "md", "plain", "shard=b")
		kubectl("-n", shardsNS, "patch", "md", "plain", "--type=merge", "-p", `{"spec":{"model":{"version":"3.0.0"}}}`)
		Eventually(get("{.status.stable.version}", "md/plain")).Should(Equal("3.0.0"))
		Expect(acted(b)).To(ContainElement("plain@3.0.0"))
		Expect(acted(rest)).NotTo(ContainElement("plain@3.0.0"), "the manager without shards let it go")

		By("shard b's webhooks judging a ModelDeployment of shard a, with shard a's manager gone")
		pointWebhooksAt(bPort)
		Expect(a.stop(syscall.SIGTERM)).To(Succeed())
		probe := writeTemp(strings.Replace(shardedModel("alpha-3", "a", "1.0.0"), "metadata: {", `metadata: {annotations: {serving.modelgate.dev/window-override: "shard b answers"}, `, 1))
		// Until the API server reads the new configurations, it calls the
		// stopped manager and fails closed.
		Eventually(func() (string, error) {
			return kubectlErr("-n", shardsNS, "create", "--dry-run=server", "-o", `jsonpath={.metadata.annotations.serving\.modelgate\.dev/window-override-by}`, "-f", probe)
		}).ShouldNot(BeEmpty(), "the manager of shard b stamps a ModelDeployment of shard a")
	})
})
