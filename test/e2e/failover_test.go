package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/modelgate/modelgate/test/bars"
)

// failoverNS keeps the failover story's objects apart from the other
// specs'. Its managers' Lease is in managerNS, where the
// leader-election Role of config/rbac allows it.
const failoverNS = "failover"

// stepLog notes, from the test process, every change of a canary's step and
// weight and of its candidate Deployment's replicas, in order, with when it
// was seen.
type stepLog struct {
	mu       sync.Mutex
	steps    []string // "step/weight"
	stepSeen []time.Time
	replicas []int32
}

func (l *stepLog) snapshot() (steps []string, seen []time.Time, replicas []int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.steps), slices.Clone(l.stepSeen), slices.Clone(l.replicas)
}

func watchSteps(ctx context.Context, ns, name, candidateVersion string) *stepLog {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	l := &stepLog{}
	mdWatch, err := dynamic.NewForConfigOrDie(cfg).Resource(mdResource).Namespace(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	Expect(err).NotTo(HaveOccurred())
	depWatch, err := kubernetes.NewForConfigOrDie(cfg).AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{
		LabelSelector: fmt.Sprintf("app.kubernetes.io/name=%s,serving.modelgate.dev/version=%s", name, candidateVersion),
	})
	Expect(err).NotTo(HaveOccurred())
	go func() {
		defer GinkgoRecover()
		for ev := range mdWatch.ResultChan() {
			o, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			if _, found, _ := unstructured.NestedMap(o.Object, "status", "candidate"); !found {
				continue
			}
			step, _, _ := unstructured.NestedInt64(o.Object, "status", "candidate", "step")
			weight, _, _ := unstructured.NestedInt64(o.Object, "status", "candidate", "weight")
			s := fmt.Sprintf("%d/%d", step, weight)
			l.mu.Lock()
			if len(l.steps) == 0 || l.steps[len(l.steps)-1] != s {
				l.steps, l.stepSeen = append(l.steps, s), append(l.stepSeen, time.Now())
			}
			l.mu.Unlock()
		}
	}()
	go func() {
		defer GinkgoRecover()
		for ev := range depWatch.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok {
				continue
			}
			n := ptr.Deref(d.Spec.Replicas, 1)
			l.mu.Lock()
			if len(l.replicas) == 0 || l.replicas[len(l.replicas)-1] != n {
				l.replicas = append(l.replicas, n)
			}
			l.mu.Unlock()
		}
	}()
	DeferCleanup(func() {
		mdWatch.Stop()
		depWatch.Stop()
	})
	return l
}

// pointWebhooksAt makes the cluster's webhook configurations call the
// manager serving on port: what a Service does when a pod goes. It writes to
// the suite's folder, not a spec's, so that a cleanup may call it.
func pointWebhooksAt(port int) {
	GinkgoHelper()
	for _, kind := range []string{"mutatingwebhookconfiguration", "validatingwebhookconfiguration"} {
		cfg := kubectl("get", kind, "modelgate-local", "-o", "json")
		cfg = webhookURLPort.ReplaceAllString(cfg, fmt.Sprintf("${1}%d/", port))
		path := filepath.Join(workdir, kind+".json")
		Expect(os.WriteFile(path, []byte(cfg), 0o600)).To(Succeed())
		kubectl("replace", "-f", path)
	}
}

var webhookURLPort = regexp.MustCompile(`(https://127\.0\.0\.1:)\d+/`)

// leaderLog is what client-go logs, through the manager's logger, when a
// manager becomes the leader.
var leaderLog = regexp.MustCompile(`"Successfully acquired lease".*"` + managerNS + `/modelgate\.serving\.modelgate\.dev"`)

func isLeader(p *managerProcess) bool {
	b, _ := os.ReadFile(p.logPath)
	return leaderLog.Match(b)
}

func freePort() int {
	_, port, err := net.SplitHostPort(freeAddr())
	Expect(err).NotTo(HaveOccurred())
	n, err := strconv.Atoi(port)
	Expect(err).NotTo(HaveOccurred())
	return n
}

var _ = Describe("Two managers with leader election on a local cluster", Ordered, func() {
	get := func(jsonpath string, what ...string) func() string {
		return func() string {
			out, _ := kubectlErr(append(append([]string{"-n", failoverNS, "get"}, what...), "-o", "jsonpath="+jsonpath)...)
			return out
		}
	}
	// stamped asks the admission webhooks to stamp a window override, in a
	// dry run: only a manager serving them answers.
	stamped := func() string {
		GinkgoHelper()
		return kubectl("-n", failoverNS, "create", "--dry-run=server", "-o", `jsonpath={.metadata.annotations.serving\.modelgate\.dev/window-override-by}`, "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: admission-probe
  annotations: {serving.modelgate.dev/window-override: "which manager answers"}
spec:
  model: {name: admission-probe, version: 1.0.0, uri: "pvc://models/admission-probe/1.0.0"}
  replicas: 1
  checklist: {profile: development}
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/server:1.0}]
`))
	}

	It("finishes a canary after its leader dies by SIGKILL, each step once, with the webhooks served by both managers", func() {
		kubectl("create", "namespace", failoverNS)

		By("replacing the suite's manager with two that elect a leader, on webhook ports of their own")
		Expect(manager.stop(syscall.SIGTERM)).To(Succeed())
		election := []string{"--leader-elect", "--leader-election-namespace=" + managerNS,
			"--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=500ms"}
		ports := []int{webhookPort, freePort()}
		managersByPort := map[int]*managerProcess{}
		for i, port := range ports {
			managersByPort[port] = startManager(filepath.Join(workdir, fmt.Sprintf("manager-elect-%d.log", i)),
				append(election, fmt.Sprintf("--webhook-port=%d", port))...)
		}
		DeferCleanup(func() {
			By("going back to the suite's single manager")
			for _, p := range managersByPort {
				// The killed leader's stop only returns how it died.
				_ = p.stop(syscall.SIGTERM)
			}
			manager = startManager(filepath.Join(workdir, "manager-after-failover.log"))
			pointWebhooksAt(webhookPort)
		})
		Eventually(func() int {
			n := 0
			for _, p := range managersByPort {
				if isLeader(p) {
					n++
				}
			}
			return n
		}).Should(Equal(1), "one leader")
		var leaderPort, followerPort int
		for port, p := range managersByPort {
			if isLeader(p) {
				leaderPort = port
			} else {
				followerPort = port
			}
		}
		leader, follower := managersByPort[leaderPort], managersByPort[followerPort]

		By("asking each manager for an admission review")
		for _, port := range []int{leaderPort, followerPort} {
			pointWebhooksAt(port)
			Expect(stamped()).NotTo(BeEmpty(), "the manager on port %d stamps the override", port)
		}
		// The follower survives: the webhooks stay pointed at it.

		kubectl("-n", failoverNS, "apply", "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: failover-scorer}
spec:
  model: {name: failover-scorer, version: 1.0.0, uri: "pvc://models/failover-scorer/1.0.0"}
  replicas: 4
  checklist: {profile: development}
  strategy:
    type: Canary
    canary: {steps: [{weight: 25, pause: {duration: 3s}}, {weight: 50, pause: {duration: 3s}}, {weight: 75, pause: {duration: 3s}}]}
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/server:1.0}]
`))
		Eventually(get("{.status.phase}", "md/failover-scorer")).Should(Equal("Succeeded"))

		ctx, cancel := context.WithCancel(context.Background())
		DeferCleanup(cancel)
		steps := watchSteps(ctx, failoverNS, "failover-scorer", "2.0.0")
		kubectl("-n", failoverNS, "patch", "md", "failover-scorer", "--type=merge", "-p", `{"spec":{"model":{"version":"2.0.0"}}}`)

		By("killing the leader with SIGKILL as soon as the canary reaches its second step")
		Eventually(get("{.status.candidate.step}", "md/failover-scorer"), "2m", "20ms").Should(Equal("1"))
		killedAt := time.Now()
		Expect(leader.stop(syscall.SIGKILL)).To(HaveOccurred(), "the leader died by the signal")

		By("the other manager taking the lease and finishing the canary")
		Eventually(get("{.status.stable.version}", "md/failover-scorer")).Should(Equal("2.0.0"))
		Expect(isLeader(follower)).To(BeTrue(), "the follower logged that it took the lease")
		Expect(get("{range .status.history[*]}{.version}:{.outcome}:{.previous} {end}", "md/failover-scorer")()).
			To(Equal("2.0.0:Promoted:1.0.0 1.0.0:Promoted:"), "one entry per rollout: none lost, none twice")

		seen, at, replicas := steps.snapshot()
		GinkgoWriter.Printf("steps seen: %v; candidate replicas: %v\n", seen, replicas)
		// Changes only are noted: a step moved twice would show twice.
		Expect(seen).To(Equal([]string{"0/25", "1/50", "2/75", "3/100"}), "every step and the promotion, once each, in order")
		Expect(replicas).To(Equal([]int32{1, 2, 3, 4}), "the candidate only ever grew, one pod a step")

		next := slices.IndexFunc(at, func(t time.Time) bool { return t.After(killedAt) })
		Expect(next).NotTo(Equal(-1), "a step moved after the kill")
		Expect(seen[next]).To(HavePrefix("2/"), "the step after the kill is the third")
		failover := at[next].Sub(killedAt)
		GinkgoWriter.Printf("leader killed → next step %s after %s\n", seen[next], failover)
		bars.Record("e2e", "FailoverLeaderKillToNextStep", float64(failover.Milliseconds()), "ms")

		By("the surviving manager still serving admission")
		Expect(stamped()).NotTo(BeEmpty())
	})
})
