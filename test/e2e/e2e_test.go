// Package e2e runs modelgate as its own process against a real local cluster:
// kube-apiserver, etcd, kube-controller-manager and kube-scheduler as local
// processes, kwok simulating nodes and pods. Everything is driven with kubectl,
// as a user would.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/test/bars"
	"github.com/modelgate/modelgate/test/dataplane"
	"github.com/modelgate/modelgate/test/gatewayapi"
	"github.com/modelgate/modelgate/test/localwebhooks"
)

var (
	repoRoot   string
	kubeconfig string
	workdir    string
	manager    *managerProcess
	// managers are every manager started, stopped when the suite ends.
	managers []*managerProcess
	// suiteFailed is set by ReportAfterEach, for the logs.
	suiteFailed bool
	namespace   = "e2e"
	// webhookPort and webhookCertDir are where every manager of the run serves
	// its webhooks: the cluster's configurations point there.
	webhookPort    int
	webhookCertDir string
	// dataPlane runs the model-server pods as processes on their pod IPs.
	dataPlane *dataplane.Runner
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End-to-end Suite")
}

var _ = BeforeSuite(func() {
	SetDefaultEventuallyTimeout(2 * time.Minute)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	for _, v := range []string{"KUBECTL", "KWOKCTL", "KWOK", "KUBE_APISERVER", "KUBE_CONTROLLER_MANAGER", "KUBE_SCHEDULER", "ETCD", "MANAGER", "MODEL_SERVER"} {
		Expect(os.Getenv(v)).NotTo(BeEmpty(), "%s is not set: run the end-to-end tests with 'make test-e2e'", v)
	}
	var err error
	repoRoot, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())

	By("starting a local cluster")
	workdir, err = os.MkdirTemp("", "modelgate-e2e-")
	Expect(err).NotTo(HaveOccurred())
	cluster := fmt.Sprintf("modelgate-e2e-%d", os.Getpid())
	script := filepath.Join(repoRoot, "hack", "local-cluster.sh")
	// The data plane's processes listen on the loopback twins of the pod IPs
	// (127.X.1.5 for 10.X.1.5); a second octet of this run's own keeps them
	// apart from another cluster's.
	podCIDR := fmt.Sprintf("10.%d.1.0/24", 20+os.Getpid()%200)
	clusterEnv := append(os.Environ(), "KWOK_WORKDIR="+workdir, "NODES=3", "POD_CIDR="+podCIDR)
	DeferCleanup(func() {
		down := exec.Command(script, "down", cluster)
		down.Env = clusterEnv
		out, err := down.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(os.RemoveAll(workdir)).To(Succeed())
	})
	up := exec.Command(script, "up", cluster)
	up.Env = clusterEnv
	var stderr bytes.Buffer
	up.Stderr = &stderr
	out, err := up.Output()
	Expect(err).NotTo(HaveOccurred(), stderr.String())
	kubeconfig = strings.TrimSpace(string(out))

	By("installing the CRDs, modelgate's and the Gateway API's")
	// Client-side, as Argo CD and Flux apply by default.
	kubectl("apply", "-f", filepath.Join(repoRoot, "config", "crd", "bases"))
	gatewayCRDs, err := gatewayapi.CRDPaths()
	Expect(err).NotTo(HaveOccurred())
	for _, path := range gatewayCRDs {
		kubectl("apply", "--server-side", "-f", path)
	}
	// kubectl wait fails, rather than waits, on a CRD that has no conditions yet.
	for _, crd := range []string{"modeldeployments.serving.modelgate.dev", "modeldeploymentpolicies.serving.modelgate.dev", "httproutes.gateway.networking.k8s.io"} {
		Eventually(func() (string, error) {
			return kubectlErr("get", "crd/"+crd, "-o", `jsonpath={.status.conditions[?(@.type=="Established")].status}`)
		}).Should(Equal("True"))
	}

	By("running the data plane: a model-server process for each model-server pod, on the pod's IP")
	// Registered after the cluster's clean-up, so it runs first.
	dataPlane = startDataPlane(filepath.Join(workdir, "dataplane"))

	By("pointing the admission webhooks at the operator's process, with a CA made for the run")
	webhookAddr := freeAddr()
	_, port, err := net.SplitHostPort(webhookAddr)
	Expect(err).NotTo(HaveOccurred())
	webhookPort, err = strconv.Atoi(port)
	Expect(err).NotTo(HaveOccurred())
	webhookCertDir = filepath.Join(workdir, "webhook-certs")
	webhooks, err := localwebhooks.Prepare(filepath.Join(repoRoot, "config", "webhook", "manifests.yaml"), webhookCertDir, "127.0.0.1", webhookPort)
	Expect(err).NotTo(HaveOccurred())

	By("running the operator as its own process, with config/rbac's ServiceAccount and roles")
	managerKubeconfig = serviceAccountKubeconfig(filepath.Join(workdir, "rbac"))
	// Registered after the cluster's clean-up, so it runs first: managers stop
	// before their cluster goes.
	DeferCleanup(func() { stopManagers(suiteFailed) })
	manager = startManager(filepath.Join(workdir, "manager.log"))
	kubectl("apply", "-f", writeTemp(string(webhooks)))
	kubectl("create", "namespace", namespace)
})

// dataPlaneTargets is the file_sd file where the data plane lists the
// metrics address of every process it runs.
func dataPlaneTargets() string { return filepath.Join(workdir, "dataplane", "targets.json") }

// startDataPlane runs the data plane in the test process until the suite
// ends; its log is printed when something failed.
func startDataPlane(dir string) *dataplane.Runner {
	Expect(os.MkdirAll(dir, 0o750)).To(Succeed())
	logPath := filepath.Join(dir, "runner.log")
	logFile, err := os.Create(logPath)
	Expect(err).NotTo(HaveOccurred())
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	r, err := dataplane.Start(context.Background(), kubernetes.NewForConfigOrDie(cfg), dataplane.Options{
		ModelServer: os.Getenv("MODEL_SERVER"), LogDir: dir, Log: slog.New(slog.NewTextHandler(logFile, nil)),
		// For the Prometheus of any spec: promserver.FileTargets(dataPlaneTargets(), interval).
		TargetsFile: dataPlaneTargets(),
		// Pod IPs and Services reach the processes through it: see podClient.
		ProxyAddress: "127.0.0.1:0",
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		r.Stop()
		_ = logFile.Close()
		if suiteFailed || os.Getenv("E2E_SHOW_DATA_PLANE_LOG") != "" {
			b, _ := os.ReadFile(logPath)
			GinkgoWriter.Printf("data plane log %s:\n%s\n", logPath, b)
		}
	})
	return r
}

// managerProcess is the operator running as its own process.
type managerProcess struct {
	cmd     *exec.Cmd
	done    chan error
	once    sync.Once
	exit    error
	logPath string
	logFile *os.File
	// checked is how much of the log deniedLines has read.
	checked int
}

// startManager runs the manager binary against the cluster and stops it when
// the suite ends, also when it fails; its log is printed on failure. Flags
// in args come last, so they override the defaults (such as --webhook-port).
func startManager(logPath string, args ...string) *managerProcess {
	probe := freeAddr()
	logFile, err := os.Create(logPath)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(os.Getenv("MANAGER"), append([]string{"--metrics-bind-address=0", "--health-probe-bind-address=" + probe,
		"--webhook-host=127.0.0.1", fmt.Sprintf("--webhook-port=%d", webhookPort), "--webhook-cert-dir=" + webhookCertDir}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+managerKubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	Expect(cmd.Start()).To(Succeed())
	p := &managerProcess{cmd: cmd, done: make(chan error, 1), logPath: logPath, logFile: logFile}
	go func() { p.done <- cmd.Wait() }()
	Eventually(func() error {
		resp, err := http.Get("http://" + probe + "/readyz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	}).Should(Succeed(), "the manager never became ready; see its log at %s", logPath)
	managers = append(managers, p)
	return p
}

// stop signals the manager once and waits for it to exit, killing it after 30 s.
func (p *managerProcess) stop(sig syscall.Signal) error {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(sig)
		select {
		case p.exit = <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			p.exit = <-p.done
		}
		_ = p.logFile.Close()
	})
	return p.exit
}

// stopManagers stops every manager the suite started (SIGTERM lets the last
// one write its coverage data) and prints their logs when something failed.
func stopManagers(failed bool) {
	for _, p := range managers {
		GinkgoWriter.Printf("manager %s stopped: %v\n", p.logPath, p.stop(syscall.SIGTERM))
		if failed || os.Getenv("E2E_SHOW_MANAGER_LOG") != "" {
			b, _ := os.ReadFile(p.logPath)
			GinkgoWriter.Printf("manager log %s:\n%s\n", p.logPath, b)
		}
	}
}

// writeTemp writes a manifest to a file of the suite's and returns its path.
func writeTemp(manifest string) string {
	f, err := os.CreateTemp(GinkgoT().TempDir(), "manifest-*.yaml")
	Expect(err).NotTo(HaveOccurred())
	_, err = f.WriteString(manifest)
	Expect(err).NotTo(HaveOccurred())
	Expect(f.Close()).To(Succeed())
	return f.Name()
}

var _ = ReportAfterEach(func(r SpecReport) {
	if r.Failed() {
		suiteFailed = true
	}
})

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().String()
}

// kubectl runs kubectl against the local cluster and returns its output,
// failing the spec when it fails.
func kubectl(args ...string) string {
	GinkgoHelper()
	out, err := kubectlErr(args...)
	if err != nil {
		Fail(fmt.Sprintf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out))
	}
	return out
}

func kubectlErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Getenv("KUBECTL"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

var _ = Describe("The operator on a local cluster", Ordered, func() {
	// get reads a jsonpath of what "kubectl get WHAT..." lists, for Eventually.
	get := func(jsonpath string, what ...string) func() string {
		return func() string {
			out, _ := kubectlErr(append(append([]string{"-n", namespace, "get"}, what...), "-o", "jsonpath="+jsonpath)...)
			return out
		}
	}

	It("holds the production sample until its PodDisruptionBudget exists, then makes it Ready with its pods Running on kwok nodes", func() {
		// Strict, as kubectl's default is: a field the API would drop is an error.
		kubectl("-n", namespace, "apply", "--validate=strict", "-k", filepath.Join(repoRoot, "config", "samples"))
		Eventually(get("{.status.phase}", "md/fraud-scorer")).Should(Equal("Verifying"))
		Expect(get("{.status.conditions[?(@.type==\"ChecklistPassed\")].message}", "md/fraud-scorer")()).
			To(HavePrefix("Version 2.3.0 is blocked by pdb:"))
		Expect(get("{.items[0].spec.replicas}", "deployments", "-l", "app.kubernetes.io/name=fraud-scorer")()).To(Equal("0"))

		start := time.Now()
		kubectl("-n", namespace, "apply", "-f", filepath.Join(repoRoot, "config", "samples", "fraud-scorer-pdb.yaml"))
		kubectl("-n", namespace, "wait", "--for=condition=Ready", "md/fraud-scorer", "--timeout=120s")
		bars.Record("e2e", "SamplePDBAppliedToReady", float64(time.Since(start).Milliseconds()), "ms")

		Expect(get("{.status.phase}", "md/fraud-scorer")()).To(Equal("Succeeded"))
		Expect(get("{.status.stable.version}", "md/fraud-scorer")()).To(Equal("2.3.0"))
		Expect(get("{.status.observedGeneration}", "md/fraud-scorer")()).To(Equal(get("{.metadata.generation}", "md/fraud-scorer")()))
		Expect(kubectl("-n", namespace, "get", "md")).To(MatchRegexp(`fraud-scorer\s+2\.3\.0\s+2\.3\.0\s+Succeeded`))

		By("showing the whole checklist in status")
		Expect(get("{.status.conditions[?(@.type==\"ChecklistPassed\")].status}", "md/fraud-scorer")()).To(Equal("True"))
		ids := strings.Fields(get("{range .status.checklist.items[*]}{.id} {end}", "md/fraud-scorer")())
		Expect(ids).To(HaveLen(len(checklist.Catalogue())))
		Expect(get("{.status.checklist.summary}", "md/fraud-scorer")()).To(MatchRegexp(`^\d+/\d+$`))

		selector := "app.kubernetes.io/name=fraud-scorer,serving.modelgate.dev/version=2.3.0"
		Eventually(get("{range .items[*]}{.status.phase} {end}", "pods", "-l", selector)).Should(Equal("Running Running Running"))
		By("giving the pods the template's team label and scrape annotations")
		Expect(get(`{range .items[*]}{.metadata.labels.team}/{.metadata.annotations.prometheus\.io/scrape}/{.metadata.annotations.prometheus\.io/port} {end}`, "pods", "-l", selector)()).
			To(Equal("risk/true/9090 risk/true/9090 risk/true/9090"))
		nodes := strings.Fields(get("{range .items[*]}{.spec.nodeName} {end}", "pods", "-l", selector)())
		Expect(nodes).To(HaveLen(3))
		for _, n := range nodes {
			Expect(kubectl("get", "node", n, "-o", "jsonpath={.metadata.annotations.kwok\\.x-k8s\\.io/node}")).To(Equal("fake"))
		}
		Expect(strings.Fields(get("{range .items[*]}{.metadata.name} {end}", "svc")())).To(ConsistOf("fraud-scorer"),
			"a canary without a router needs no Service per version")
		By("putting the pods behind the <name> Service")
		Eventually(func() []string {
			return strings.Fields(get("{range .items[*].endpoints[*]}{.addresses[0]} {end}", "endpointslices", "-l", "kubernetes.io/service-name=fraud-scorer")())
		}).Should(ConsistOf(strings.Fields(get("{range .items[*]}{.status.podIP} {end}", "pods", "-l", selector)())))
	})

	It("never gives a pod, nor traffic, to a version that fails its checklist", func() {
		kubectl("-n", namespace, "apply", "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: unvetted}
spec:
  model: {name: unvetted, version: 1.0.0, uri: "pvc://models/unvetted/1.0.0"}
  replicas: 2
  checklist: {profile: production}
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/server:latest}]
`))
		Eventually(get("{.status.phase}", "md/unvetted")).Should(Equal("Verifying"))
		Expect(get("{.status.conditions[?(@.type==\"ChecklistPassed\")].message}", "md/unvetted")()).
			To(And(ContainSubstring("pdb"), ContainSubstring("probes"), ContainSubstring("model-card")))
		Expect(get("{.items[0].spec.replicas} {.items[0].metadata.generation}", "deployments", "-l", "app.kubernetes.io/name=unvetted")()).
			To(Equal("0 1"), "created without pods, never scaled up")
		Expect(get("{.items}", "pods", "-l", "app.kubernetes.io/name=unvetted")()).To(Equal("[]"))
		Expect(get("{range .items[*].endpoints[*]}{.addresses[0]} {end}", "endpointslices", "-l", "kubernetes.io/service-name=unvetted")()).
			To(BeEmpty())
		Eventually(get("{.items[*].message}", "events", "--field-selector", "involvedObject.name=unvetted,reason=ChecklistChanged")).
			Should(ContainSubstring("Checklist item model-registry of version 1.0.0: Fail"))
		kubectl("-n", namespace, "delete", "md", "unvetted")
	})

	It("moves a new version in by canary steps and replaces the old one", func() {
		kubectl("-n", namespace, "patch", "md", "fraud-scorer", "--type=merge", "-p", `{"spec":{"model":{"version":"2.4.0"}}}`)
		By("holding the 67% step for its 5 s pause: two pods of the new version, one of the old")
		Eventually(get("{.status.candidate.weight} {.status.candidate.step}", "md/fraud-scorer")).Should(Equal("67 1"))
		Eventually(get("{range .items[*]}{.metadata.name}={.spec.replicas} {end}", "deployments", "-l", "app.kubernetes.io/name=fraud-scorer")).
			Should(Equal("fraud-scorer-v2-3-0=1 fraud-scorer-v2-4-0=2"))

		By("killing the manager with SIGKILL in the middle of the canary and starting a new one")
		Expect(manager.stop(syscall.SIGKILL)).To(HaveOccurred(), "the manager died by the signal")
		manager = startManager(filepath.Join(workdir, "manager-restarted.log"))
		Eventually(get("{.status.stable.version}", "md/fraud-scorer")).Should(Equal("2.4.0"))
		Expect(get("{range .status.history[*]}{.version}:{.outcome} {end}", "md/fraud-scorer")()).
			To(Equal("2.4.0:Promoted 2.3.0:Promoted"), "the restarted manager finished the rollout once")
		kubectl("-n", namespace, "wait", "--for=condition=Ready", "md/fraud-scorer", "--timeout=120s")
		Eventually(get("{range .items[*]}{.metadata.name} {end}", "deployments")).Should(Equal("fraud-scorer-v2-4-0"))
		Eventually(get("{range .items[*]}{.status.phase} {end}", "pods", "-l", "serving.modelgate.dev/version=2.4.0")).
			Should(Equal("Running Running Running"))
		Eventually(get("{.items}", "pods", "-l", "serving.modelgate.dev/version=2.3.0")).Should(Equal("[]"))
		Expect(get("{.status.history[0].version} {.status.history[0].previous} {.status.history[0].outcome}", "md/fraud-scorer")()).
			To(Equal("2.4.0 2.3.0 Promoted"))
		Expect(kubectl("-n", namespace, "get", "events", "--field-selector", "involvedObject.name=fraud-scorer,reason=Promoted")).
			To(ContainSubstring("Version 2.4.0 promoted, replacing 2.3.0"))
	})

	It("rolls a canary back on an abort, within a second of the request", func() {
		kubectl("-n", namespace, "patch", "md", "fraud-scorer", "--type=merge", "-p", `{"spec":{"model":{"version":"2.5.0"}}}`)
		Eventually(get("{.status.candidate.weight}", "md/fraud-scorer")).Should(Equal("67"))
		start := time.Now()
		kubectl("-n", namespace, "annotate", "md", "fraud-scorer", "serving.modelgate.dev/abort=spike in errors")
		Eventually(get("{range .items[*]}{.metadata.name}={.spec.replicas} {end}", "deployments", "-l", "app.kubernetes.io/name=fraud-scorer"), "30s", "20ms").
			// The candidate's Deployment goes at zero pods, or is already deleted.
			Should(MatchRegexp(`^fraud-scorer-v2-4-0=3( fraud-scorer-v2-5-0=0)?$`))
		bars.Record("e2e", "AbortToAllPodsOnStable", float64(time.Since(start).Milliseconds()), "ms")
		Eventually(get("{.status.phase}", "md/fraud-scorer")).Should(Equal("RolledBack"))
		Expect(get("{.status.history[0].outcome} {.status.history[0].reason}", "md/fraud-scorer")()).To(Equal("RolledBack Aborted"))
		Expect(get("{.status.rejected.version}", "md/fraud-scorer")()).To(Equal("2.5.0"))
	})

	It("previews a blue-green version without traffic and switches on a promote", func() {
		kubectl("-n", namespace, "apply", "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: ranker}
spec:
  model: {name: ranker, version: 1.0.0, uri: "pvc://models/ranker/1.0.0"}
  replicas: 2
  checklist: {profile: development}
  strategy: {type: BlueGreen, blueGreen: {autoPromotion: false, scaleDownDelay: 3s}}
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/ranker:1.0.0}]
`))
		Eventually(get("{.status.phase}", "md/ranker")).Should(Equal("Succeeded"))
		kubectl("-n", namespace, "patch", "md", "ranker", "--type=merge", "-p", `{"spec":{"model":{"version":"2.0.0"}}}`)
		Eventually(get("{.status.phase}", "md/ranker")).Should(Equal("Paused"))
		Expect(get(`{.spec.selector.serving\.modelgate\.dev/version}`, "svc/ranker")()).To(Equal("1.0.0"), "users stay on the stable version")
		Expect(get(`{.spec.selector.serving\.modelgate\.dev/version}`, "svc/ranker-candidate")()).To(Equal("2.0.0"))
		Eventually(get("{.items[*].status.phase}", "pods", "-l", "app.kubernetes.io/name=ranker,serving.modelgate.dev/version=2.0.0")).
			Should(Equal("Running Running"), "the preview runs at full size")

		kubectl("-n", namespace, "annotate", "md", "ranker", "serving.modelgate.dev/promote=now")
		Eventually(get(`{.spec.selector.serving\.modelgate\.dev/version}`, "svc/ranker")).Should(Equal("2.0.0"))
		Expect(get("{.status.previous.version}", "md/ranker")()).To(Equal("1.0.0"))
		Eventually(get("{.items[*].metadata.name}", "deployments", "-l", "app.kubernetes.io/name=ranker")).
			Should(Equal("ranker-v2-0-0"), "the old version goes after the scale-down delay")
		kubectl("-n", namespace, "delete", "md", "ranker")
	})

	It("leaves nothing behind when the ModelDeployment is deleted", func() {
		kubectl("-n", namespace, "delete", "md", "fraud-scorer", "--wait=true")
		// The garbage collector of kube-controller-manager follows the owner references.
		Eventually(get("{range .items[*]}{.metadata.name} {end}", "deployments,services")).Should(BeEmpty())
		Eventually(get("{.items}", "pods")).Should(Equal("[]"))
	})
})
