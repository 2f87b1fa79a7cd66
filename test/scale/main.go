// Command scale is `make bench-scale` (issue #19): it starts the local kwok
// cluster with many fake nodes, runs the manager as its own process, creates
// N ModelDeployments of 4 replicas doing a one-step 50% canary without a
// router, and measures what it costs the manager and the cluster. Its figures
// are benchmark lines ("BenchmarkScale/<figure> 1 <value> <unit>") written to
// bars/scale.txt, for benchstat or a diff.
//
// It is a program, not a test: it takes minutes and its figures are
// measurements, not assertions. `go vet` and `go build ./...` keep it compiling.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// The shape of the measurements.
const (
	replicas  = 4
	createdAt = 200 // created at once, timed to Ready
	updatedAt = 50  // updated at once, timed to done
	namespace = "scale"
)

var (
	n          = flag.Int("n", envInt("N", 1000), "ModelDeployments at the end (at least 200); $N overrides the default")
	out        = flag.String("out", "bars/scale.txt", "file the figures are written to (replaced)")
	nodes      = flag.Int("nodes", 24, "fake nodes")
	maxPods    = flag.Int("max-pods", 250, "pods each fake node takes")
	defaultKCM = flag.Bool("default-kcm", true, "also time 200 created at once with the kube-controller-manager at its default client limits (a cluster of its own)")
	settle     = flag.Duration("settle", time.Minute, "wait after N are Ready before memory and the steady state are measured")
	steady     = flag.Duration("steady", time.Minute, "window over which steady-state requests are counted")
	profileDir = flag.String("profile-dir", "", "folder for CPU profiles of the manager while 200 are created and 50 updated, and its heap at N (empty: none)")
	profileFor = flag.Duration("profile-for", time.Minute, "length of each CPU profile")
	auditDir   = flag.String("audit-dir", "", "folder to keep each cluster's API server audit log in (every request, with its user agent, at metadata level); empty: no audit log")
	repoRoot   = flag.String("repo", ".", "the repository root (for hack/local-cluster.sh and config/)")
	extraArgs  = flag.String("manager-args", "", "more flags for the manager, split at spaces (to try other workers or client limits; the figures kept in bars/ are the defaults')")
	controller = flag.String("controller", "modelgate", "the controller measured: modelgate (the manager, $MANAGER) or argo (the Argo Rollouts controller, $ARGO_ROLLOUTS, doing the same work with Rollouts; its figures' names end in /controller=argo)")
)

// target is the controller a run measures (-controller): the manager, or
// another one given the same work, for a like comparison (argo.go).
type target struct {
	suffix string   // ends every figure's name ("" for the manager)
	env    []string // the environment variables naming its binary and files
	// install puts the CRDs it needs in a new cluster.
	install func(ctx context.Context, c *cluster) error
	start   func(ctx context.Context, c *cluster, logPath string, env ...string) (*manager, error)
	// create makes the i-th object at 1.0.0; update moves it to 2.0.0.
	create, update func(ctx context.Context, c *cluster, i int) error
	// done counts the objects named in want that are done at version.
	done func(ctx context.Context, c *cluster, want map[string]bool, version string) (int, error)
	// workloads are the objects named in want whose workload exists, and
	// those whose workload has all its pods available.
	workloads func(ctx context.Context, c *cluster, want map[string]bool) (written, available map[string]bool, err error)
	counters  counters
}

// counters say where a controller's metrics count its work.
type counters struct {
	requests string     // every request to the API server, watches included
	reads    [][]string // label sets, each summed, of the requests that write nothing
	// Label sets of requests: deletes of what was gone, conflicts.
	deletesNotFound, conflicts []string
	reconciles                 []string // a metric's name, then labels
}

// modelgate is the manager's target.
var modelgate = &target{
	env:     []string{"MANAGER"},
	install: installModelgate,
	start:   startManager,
	create: func(ctx context.Context, c *cluster, i int) error {
		return c.client.Create(ctx, modelDeployment(i, "1.0.0"))
	},
	update:    updateModelDeployment,
	done:      modelDeploymentsDone,
	workloads: deploymentsOf,
	counters: counters{
		requests:        "rest_client_requests_total",
		reads:           [][]string{{`method="GET"`}},
		deletesNotFound: []string{`method="DELETE"`, `code="404"`},
		conflicts:       []string{`code="409"`},
		reconciles:      []string{"controller_runtime_reconcile_total", `controller="modeldeployment"`},
	},
}

// tgt is the target of this run.
var tgt = modelgate

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func main() {
	flag.Parse()
	ctrllog.SetLogger(logr.Discard()) // the benchmark's client has nothing to say
	if *n < createdAt {
		fatalf("-n must be at least %d", createdAt)
	}
	switch *controller {
	case "modelgate":
	case "argo":
		tgt = argo
	default:
		fatalf("-controller must be modelgate or argo, not %q", *controller)
	}
	for _, v := range append([]string{"KUBECTL", "KWOKCTL", "KWOK", "KUBE_APISERVER", "KUBE_CONTROLLER_MANAGER", "KUBE_SCHEDULER", "ETCD"}, tgt.env...) {
		if os.Getenv(v) == "" {
			fatalf("%s is not set: run the benchmark with 'make bench-scale'", v)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	w := &figures{}
	err := run(ctx, w)
	if werr := w.write(*out); werr != nil {
		err = errors.Join(err, werr)
	}
	if err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench-scale: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// figures are the measurements, in the order taken.
type figures struct {
	mu    sync.Mutex
	lines []string
}

func (f *figures) add(name string, value float64, unit string) {
	line := fmt.Sprintf("BenchmarkScale/%s%s 1 %s %s", name, tgt.suffix, strconv.FormatFloat(value, 'f', -1, 64), unit)
	fmt.Println(line)
	f.mu.Lock()
	f.lines = append(f.lines, line)
	f.mu.Unlock()
}

func (f *figures) write(path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.lines) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	head := fmt.Sprintf("# make bench-scale N=%d -controller=%s: %d fake nodes, %d replicas each, a one-step 50%% canary without a router\n", *n, *controller, *nodes, replicas)
	return os.WriteFile(path, []byte(head+strings.Join(f.lines, "\n")+"\n"), 0o644)
}

func run(ctx context.Context, w *figures) error {
	work, err := os.MkdirTemp("", "modelgate-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	logf("Working in %s", work)

	if *defaultKCM {
		logf("Timing %d created at once with the kube-controller-manager at its default limits", createdAt)
		if err := withCluster(ctx, work, "default", singleKCM, func(c *cluster) error {
			m, err := tgt.start(ctx, c, filepath.Join(work, "manager-default.log"))
			if err != nil {
				return err
			}
			defer m.stop()
			kcm0, err := c.kcmRequests(ctx)
			if err != nil {
				return err
			}
			took, st, err := createAndWait(ctx, c, 0, createdAt)
			if err != nil {
				return err
			}
			w.add("Create200ToReady/kcm=default", took.Seconds(), "s")
			w.add("Create200DeploymentsWritten/kcm=default", st.written.Seconds(), "s")
			w.add("Create200PodsAvailable/kcm=default", st.available.Seconds(), "s")
			kcm1, err := c.kcmRequestsSettled(ctx)
			if err != nil {
				return err
			}
			w.add("Create200KCMRequestsPerObject/kcm=default", float64(kcm1-kcm0)/createdAt, "req/op")
			return nil
		}); err != nil {
			return err
		}
	}

	// The kube-controller-manager and the scheduler at limits that leave the
	// pace to the controllers.
	raised := "--extra-args kube-controller-manager=kube-api-qps=1000 --extra-args kube-scheduler=kube-api-qps=1000 " +
		"--extra-args kube-controller-manager=kube-api-burst=2000 --extra-args kube-scheduler=kube-api-burst=2000 " + singleKCM
	logf("Measuring with the kube-controller-manager's limits raised, up to %d ModelDeployments", *n)
	return withCluster(ctx, work, "raised", raised, func(c *cluster) error {
		m, err := tgt.start(ctx, c, filepath.Join(work, "manager.log"))
		if err != nil {
			return err
		}
		defer m.stop()
		if err := measure(ctx, w, c, m); err != nil {
			return err
		}
		m.stop()
		// The memory a manager holds depends on what it went through;
		// restarted, each judges the same N once, for a like comparison of
		// its own collector target (the manager's is 25, Argo's Go's 100)
		// and others.
		gogcs := []string{"", "25"}
		if tgt == modelgate {
			gogcs = []string{"", "50", "100"}
		}
		for _, gogc := range gogcs {
			if err := measureRestart(ctx, w, c, work, gogc); err != nil {
				return err
			}
		}
		return nil
	})
}

// singleKCM runs the kube-controller-manager without leader election: its
// lease renewals, a request every two seconds, would count as work the
// ModelDeployments caused, and its requests would never settle.
const singleKCM = "--extra-args kube-controller-manager=leader-elect=false"

// measure takes the figures with the controller-manager's limits raised.
func measure(ctx context.Context, w *figures, c *cluster, m *manager) error {
	mgr1, kcm1, err := measureCreate(ctx, w, c, m)
	if err != nil {
		return err
	}

	// 50 updated at once.
	profiled := m.profile(ctx, "update")
	took, err := updateAndWait(ctx, c, updatedAt)
	if err != nil {
		return err
	}
	w.add("Update50ToDone", took.Seconds(), "s")
	mgr2, err := m.metricsSettled(ctx)
	if err != nil {
		return err
	}
	kcm2, err := c.kcmRequestsSettled(ctx)
	if err != nil {
		return err
	}
	w.add("Update50ManagerRequestsPerObject", (mgr2.requests()-mgr1.requests())/updatedAt, "req/op")
	w.add("Update50ManagerDeletesNotFound", mgr2.requests(tgt.counters.deletesNotFound...)-mgr1.requests(tgt.counters.deletesNotFound...), "req")
	w.add("Update50ManagerConflicts", mgr2.requests(tgt.counters.conflicts...)-mgr1.requests(tgt.counters.conflicts...), "req")
	w.add("Update50KCMRequestsPerObject", float64(kcm2-kcm1)/updatedAt, "req/op")
	w.add("Update50ManagerCPUSeconds", mgr2.cpu()-mgr1.cpu(), "s")
	<-profiled

	// The rest, to N.
	took, _, err = createAndWait(ctx, c, createdAt, *n-createdAt)
	if err != nil {
		return err
	}
	w.add(fmt.Sprintf("Create%dMoreToReady", *n-createdAt), took.Seconds(), "s")
	logf("%d Ready; letting them settle for %s", *n, *settle)
	if err := sleep(ctx, *settle); err != nil {
		return err
	}
	mgr3, err := m.metrics(ctx)
	if err != nil {
		return err
	}
	anon, err := anonRSS(m.pid())
	if err != nil {
		return err
	}
	w.add(fmt.Sprintf("AnonRSS/n=%d", *n), float64(anon)/(1<<20), "MiB")
	if *profileDir != "" {
		path := filepath.Join(*profileDir, "heap.pprof")
		if err := fetchTo(ctx, strings.TrimSuffix(m.pprofURL, "profile")+"heap", path); err != nil {
			logf("No heap profile %s: %v", path, err)
		}
	}
	w.add(fmt.Sprintf("HeapInuse/n=%d", *n), mgr3.sum("go_memstats_heap_inuse_bytes")/(1<<20), "MiB")
	w.add(fmt.Sprintf("ManagerCPUSecondsPer1000Objects/n=%d", *n), mgr3.cpu()/float64(*n)*1000, "s")
	w.add("ManagerCPUSecondsWholeRun", mgr3.cpu(), "s")

	logf("Counting requests over %s with %d settled", *steady, *n)
	if err := sleep(ctx, *steady); err != nil {
		return err
	}
	mgr4, err := m.metrics(ctx)
	if err != nil {
		return err
	}
	// Watches are GETs too: an informer renews its watch every 5 to 10
	// minutes. Writes are every other method.
	w.add(fmt.Sprintf("SteadyStateRequestsPerMinute/n=%d", *n), (mgr4.requests()-mgr3.requests())/steady.Minutes(), "req/min")
	w.add(fmt.Sprintf("SteadyStateWritesPerMinute/n=%d", *n), (mgr4.writes()-mgr3.writes())/steady.Minutes(), "req/min")
	w.add(fmt.Sprintf("SteadyStateReconcilesPerMinute/n=%d", *n), (mgr4.reconciles()-mgr3.reconciles())/steady.Minutes(), "reconciles/min")

	// One PDB edit in a namespace of N.
	reconciles, err := pdbEdit(ctx, c, m)
	if err != nil {
		return err
	}
	w.add(fmt.Sprintf("PDBEditReconciles/namespace=%d", *n), reconciles, "reconciles")
	return nil
}

// measureCreate times 200 created at once and counts their requests; it
// returns the manager's metrics and the controller-manager's count after.
func measureCreate(ctx context.Context, w *figures, c *cluster, m *manager) (metrics, float64, error) {
	// 200 created at once.
	mgr0, err := m.metrics(ctx)
	if err != nil {
		return nil, 0, err
	}
	kcm0, err := c.kcmRequests(ctx)
	if err != nil {
		return nil, 0, err
	}
	api0, err := c.apiserverRequests(ctx)
	if err != nil {
		return nil, 0, err
	}
	profiled := m.profile(ctx, "create")
	took, st, err := createAndWait(ctx, c, 0, createdAt)
	if err != nil {
		return nil, 0, err
	}
	apiDone, err := c.apiserverRequests(ctx)
	if err != nil {
		return nil, 0, err
	}
	w.add("Create200ToReady/kcm=raised", took.Seconds(), "s")
	w.add("Create200DeploymentsWritten/kcm=raised", st.written.Seconds(), "s")
	w.add("Create200PodsAvailable/kcm=raised", st.available.Seconds(), "s")
	// The API server's pace while they were created, every client's
	// requests together: on a small machine it, not any one controller,
	// is what a mass creation waits for.
	w.add("Create200APIServerRequestsPerSecond/kcm=raised", (apiDone-api0)/took.Seconds(), "req/s")
	mgr1, err := m.metricsSettled(ctx)
	if err != nil {
		return nil, 0, err
	}
	kcm1, err := c.kcmRequestsSettled(ctx)
	if err != nil {
		return nil, 0, err
	}
	api1, err := c.apiserverRequests(ctx)
	if err != nil {
		return nil, 0, err
	}
	w.add("Create200ManagerRequestsPerObject", (mgr1.requests()-mgr0.requests())/createdAt, "req/op")
	w.add("Create200KCMRequestsPerObject/kcm=raised", float64(kcm1-kcm0)/createdAt, "req/op")
	// Everything the API server answered for them, less the manager's
	// own requests: the controller-manager's, the scheduler's, the
	// kubelets' (kwok's) and the benchmark's own.
	w.add("Create200OthersRequestsPerObject/kcm=raised", (api1-api0-(mgr1.requests()-mgr0.requests()))/createdAt, "req/op")
	w.add("Create200ManagerCPUSeconds", mgr1.cpu()-mgr0.cpu(), "s")
	<-profiled
	return mgr1, kcm1, nil
}

// measureRestart starts a manager, with GOGC=gogc unless empty, on the N
// settled ModelDeployments, waits until it has judged them all and gone
// quiet, lets it settle, and takes its memory after a scrape of its metrics
// (as Prometheus would), its CPU and its writes (a restart writes nothing).
func measureRestart(ctx context.Context, w *figures, c *cluster, work, gogc string) error {
	var env []string
	suffix := ""
	if gogc != "" {
		env, suffix = []string{"GOGC=" + gogc}, "/GOGC="+gogc
	}
	logf("Restarting the manager%s on %d settled", suffix, *n)
	m, err := tgt.start(ctx, c, filepath.Join(work, "manager-restart"+strings.ReplaceAll(suffix, "/", "-")+".log"), env...)
	if err != nil {
		return err
	}
	defer m.stop()
	reconciles := func(ctx context.Context) (float64, error) {
		mm, err := m.metrics(ctx)
		return mm.reconciles(), err
	}
	if err := poll(ctx, 10*time.Minute, time.Second, func() (bool, error) {
		done, err := reconciles(ctx)
		return err == nil && done >= float64(*n), nil
	}); err != nil {
		return fmt.Errorf("waiting for the restarted manager to judge %d: %w", *n, err)
	}
	if _, err := settled(ctx, reconciles); err != nil {
		return err
	}
	if err := sleep(ctx, *settle); err != nil {
		return err
	}
	mm, err := m.metrics(ctx)
	if err != nil {
		return err
	}
	anon, err := anonRSS(m.pid())
	if err != nil {
		return err
	}
	w.add(fmt.Sprintf("RestartedAnonRSS/n=%d%s", *n, suffix), float64(anon)/(1<<20), "MiB")
	w.add(fmt.Sprintf("RestartedHeapInuse/n=%d%s", *n, suffix), mm.sum("go_memstats_heap_inuse_bytes")/(1<<20), "MiB")
	w.add(fmt.Sprintf("RestartedManagerCPUSeconds/n=%d%s", *n, suffix), mm.cpu(), "s")
	w.add(fmt.Sprintf("RestartedManagerWrites/n=%d%s", *n, suffix), mm.writes(), "req")
	return nil
}

// auditPolicy records every request's metadata, for -audit-dir.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
`

// cluster is a running local cluster.
type cluster struct {
	name, kubeconfig string
	kcmPort          int
	client           client.Client
	// watched reads the benchmark's namespace from watches: waiting on
	// hundreds of objects by listing them every 250 ms made the API server
	// encode megabytes of JSON a second, which the controllers measured
	// then waited for.
	watched client.Reader
	env     []string
}

func withCluster(ctx context.Context, work, suffix, createArgs string, fn func(*cluster) error) (err error) {
	kcmPort, err := freePort()
	if err != nil {
		return err
	}
	c := &cluster{name: fmt.Sprintf("modelgate-scale-%s-%d", suffix, os.Getpid()), kcmPort: kcmPort}
	script := filepath.Join(*repoRoot, "hack", "local-cluster.sh")
	if *auditDir != "" {
		policy := filepath.Join(work, "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
			return err
		}
		createArgs += " --kube-audit-policy " + policy
	}
	c.env = append(os.Environ(), "KWOK_WORKDIR="+filepath.Join(work, "kwok"), fmt.Sprintf("NODES=%d", *nodes),
		fmt.Sprintf("MAX_PODS=%d", *maxPods), fmt.Sprintf("POD_CIDR=10.%d.1.0/24", 20+os.Getpid()%200),
		strings.TrimSpace(fmt.Sprintf("CREATE_ARGS=--kube-controller-manager-port %d %s", kcmPort, createArgs)))
	defer func() {
		if *auditDir != "" {
			log := filepath.Join(work, "kwok", "clusters", c.name, "logs", "audit.log")
			if b, rerr := os.ReadFile(log); rerr == nil {
				err = errors.Join(err, os.MkdirAll(*auditDir, 0o755), os.WriteFile(filepath.Join(*auditDir, suffix+".audit.log"), b, 0o644))
			} else {
				err = errors.Join(err, rerr)
			}
		}
		down := exec.Command(script, "down", c.name)
		down.Env = c.env
		if out, derr := down.CombinedOutput(); derr != nil {
			err = errors.Join(err, fmt.Errorf("removing cluster %s: %w: %s", c.name, derr, out))
		}
	}()
	up := exec.CommandContext(ctx, script, "up", c.name)
	up.Env = c.env
	var stderr bytes.Buffer
	up.Stderr = &stderr
	kc, err := up.Output()
	if err != nil {
		return fmt.Errorf("starting cluster %s: %w: %s", c.name, err, stderr.String())
	}
	c.kubeconfig = strings.TrimSpace(string(kc))
	if err := tgt.install(ctx, c); err != nil {
		return err
	}
	if err := c.kubectl(ctx, "create", "namespace", namespace); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		return err
	}
	// The benchmark's own client: its requests count in neither the
	// manager's metrics nor the controller-manager's.
	cfg.QPS, cfg.Burst = 500, 1000
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := servingv1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	if c.client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	watched, err := cache.New(cfg, cache.Options{Scheme: scheme, DefaultNamespaces: map[string]cache.Config{namespace: {}}})
	if err != nil {
		return err
	}
	watchCtx, stopWatches := context.WithCancel(ctx)
	defer stopWatches()
	go func() { _ = watched.Start(watchCtx) }()
	c.watched = watched
	return fn(c)
}

func installModelgate(ctx context.Context, c *cluster) error {
	if err := c.kubectl(ctx, "apply", "-f", filepath.Join(*repoRoot, "config", "crd", "bases")); err != nil {
		return err
	}
	return c.waitEstablished(ctx, "modeldeployments.serving.modelgate.dev")
}

// waitEstablished waits until the API server serves a CRD. kubectl wait
// fails, rather than waits, on a CRD without conditions yet.
func (c *cluster) waitEstablished(ctx context.Context, crd string) error {
	if err := poll(ctx, time.Minute, 200*time.Millisecond, func() (bool, error) {
		out, err := exec.CommandContext(ctx, os.Getenv("KUBECTL"), "--kubeconfig", c.kubeconfig, "get", "crd/"+crd,
			"-o", `jsonpath={.status.conditions[?(@.type=="Established")].status}`).Output()
		return err == nil && string(out) == "True", nil
	}); err != nil {
		return fmt.Errorf("waiting for the CRD %s: %w", crd, err)
	}
	return nil
}

func (c *cluster) kubectl(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, os.Getenv("KUBECTL"), append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// kcmRequests is the kube-controller-manager's count of its requests to the
// API server, from its /metrics (kwokctl lets anyone read it).
func (c *cluster) kcmRequests(ctx context.Context) (float64, error) {
	m, err := scrape(ctx, fmt.Sprintf("https://127.0.0.1:%d/metrics", c.kcmPort))
	if err != nil {
		return 0, fmt.Errorf("kube-controller-manager metrics: %w", err)
	}
	return m.sum("rest_client_requests_total"), nil
}

// apiserverRequests is the API server's count of the requests it answered,
// long-running ones (watches) aside, from its /metrics.
func (c *cluster) apiserverRequests(ctx context.Context) (float64, error) {
	out, err := exec.CommandContext(ctx, os.Getenv("KUBECTL"), "--kubeconfig", c.kubeconfig, "get", "--raw", "/metrics").Output()
	if err != nil {
		return 0, fmt.Errorf("kube-apiserver metrics: %w", err)
	}
	m := parseMetrics(string(out))
	return m.sum("apiserver_request_total") - m.sum("apiserver_request_total", `verb="WATCH"`), nil
}

// kcmRequestsSettled waits for the controller-manager's requests to stop
// growing (3 s without one, at most 2 minutes), then counts them.
func (c *cluster) kcmRequestsSettled(ctx context.Context) (float64, error) {
	return settled(ctx, c.kcmRequests)
}

func settled(ctx context.Context, count func(context.Context) (float64, error)) (float64, error) {
	last, err := count(ctx)
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if err := sleep(ctx, 3*time.Second); err != nil {
			return 0, err
		}
		now, err := count(ctx)
		if err != nil {
			return 0, err
		}
		if now == last {
			return now, nil
		}
		last = now
	}
	return last, nil
}

// manager is the manager running as its own process.
type manager struct {
	cmd                  *exec.Cmd
	metricsURL, pprofURL string
	done                 chan struct{}
	log                  string
}

func startManager(ctx context.Context, c *cluster, logPath string, env ...string) (*manager, error) {
	addrs := make([]string, 3)
	for i := range addrs {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", p)
	}
	// Default workers and client limits, no webhooks (nothing here needs them).
	args := append([]string{"--metrics-bind-address=" + addrs[0], "--metrics-secure=false",
		"--health-probe-bind-address=" + addrs[1], "--pprof-bind-address=" + addrs[2], "--enable-webhooks=false"}, strings.Fields(*extraArgs)...)
	m := &manager{metricsURL: "http://" + addrs[0] + "/metrics", pprofURL: "http://" + addrs[2] + "/debug/pprof/profile", log: logPath}
	return m, m.launch(ctx, c, os.Getenv("MANAGER"), args, env, func() bool {
		resp, err := http.Get("http://" + addrs[1] + "/readyz")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// launch starts the controller with the cluster's kubeconfig and waits
// until it is ready; it stops it if it does not become so.
func (m *manager) launch(ctx context.Context, c *cluster, path string, args, env []string, ready func() bool) error {
	logFile, err := os.Create(m.log)
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+c.kubeconfig), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return err
	}
	m.cmd, m.done = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(m.done)
	}()
	err = poll(ctx, time.Minute, 200*time.Millisecond, func() (bool, error) {
		select {
		case <-m.done:
			return false, fmt.Errorf("%s exited; see %s", filepath.Base(path), m.log)
		default:
		}
		return ready(), nil
	})
	if err != nil {
		m.stop()
		return err
	}
	return nil
}

func (m *manager) pid() int { return m.cmd.Process.Pid }

func (m *manager) stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
}

func (m *manager) metrics(ctx context.Context) (metrics, error) { return scrape(ctx, m.metricsURL) }

// metricsSettled waits for the manager's requests to stop growing, then
// returns its metrics.
func (m *manager) metricsSettled(ctx context.Context) (metrics, error) {
	if _, err := settled(ctx, func(ctx context.Context) (float64, error) {
		mm, err := m.metrics(ctx)
		return mm.requests(), err
	}); err != nil {
		return nil, err
	}
	return m.metrics(ctx)
}

// profile records a CPU profile of the manager into -profile-dir, in the
// background; the channel closes when it is written.
func (m *manager) profile(ctx context.Context, name string) <-chan struct{} {
	done := make(chan struct{})
	if *profileDir == "" {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		path := filepath.Join(*profileDir, name+".pprof")
		if err := fetchTo(ctx, fmt.Sprintf("%s?seconds=%d", m.pprofURL, int(profileFor.Seconds())), path); err != nil {
			logf("No CPU profile %s: %v", path, err)
			return
		}
		logf("CPU profile of the manager: %s", path)
	}()
	return done
}

func fetchTo(ctx context.Context, url, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// metrics are samples of a Prometheus text exposition: "name{labels}" to value.
type metrics map[string]float64

var insecure = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the local cluster's own self-signed controller-manager

func scrape(ctx context.Context, url string) (metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := insecure.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return parseMetrics(string(b)), nil
}

func parseMetrics(text string) metrics {
	m := metrics{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] += v
		}
	}
	return m
}

// sum adds the samples of a metric whose labels contain every one of labels
// (each written `key="value"`).
func (m metrics) sum(name string, labels ...string) float64 {
	var total float64
	for k, v := range m {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(k, l)
		}
		if ok {
			total += v
		}
	}
	return total
}

// requests are the controller's requests to the API server with labels.
func (m metrics) requests(labels ...string) float64 { return m.sum(tgt.counters.requests, labels...) }
func (m metrics) writes() float64 {
	w := m.requests()
	for _, read := range tgt.counters.reads {
		w -= m.requests(read...)
	}
	return w
}
func (m metrics) cpu() float64 { return m.sum("process_cpu_seconds_total") }
func (m metrics) reconciles() float64 {
	return m.sum(tgt.counters.reconciles[0], tgt.counters.reconciles[1:]...)
}

// anonRSS is a process' anonymous resident memory, from /proc (Linux).
func anonRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "RssAnon:" {
			kib, err := strconv.ParseInt(f[1], 10, 64)
			return kib * 1024, err
		}
	}
	return 0, errors.New("no RssAnon in /proc/<pid>/status")
}

func name(i int) string { return fmt.Sprintf("model-%04d", i) }

// modelDeployment is the i-th ModelDeployment at a version.
func modelDeployment(i int, version string) *servingv1alpha1.ModelDeployment {
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: name(i), Namespace: namespace}}
	md.Spec.Model = servingv1alpha1.ModelSpec{Name: name(i), Version: version, URI: fmt.Sprintf("pvc://models/%s/%s", name(i), version)}
	md.Spec.Replicas = ptrTo(int32(replicas))
	md.Spec.Checklist.Profile = servingv1alpha1.ProfileDevelopment
	md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{Steps: []servingv1alpha1.CanaryStep{{Weight: 50}}}}
	md.Spec.Template.Spec.Containers = []corev1.Container{{Name: "server", Image: "registry.example/ml/server:1.0"}}
	return md
}

func ptrTo[T any](v T) *T { return &v }

// createAndWait creates count ModelDeployments from index first at once and
// waits until every one is done. Its stages say where the time went: when
// the manager had written every Deployment, and when the cluster had every
// one's pods available (the last ModelDeployment Ready is the whole).
func createAndWait(ctx context.Context, c *cluster, first, count int) (time.Duration, stages, error) {
	logf("Creating %d ModelDeployments", count)
	start := time.Now()
	if err := parallel(count, func(i int) error {
		return tgt.create(ctx, c, first+i)
	}); err != nil {
		return 0, stages{}, err
	}
	st := stages{start: start}
	if err := waitDone(ctx, c, first, count, "1.0.0", &st); err != nil {
		return 0, st, err
	}
	return time.Since(start), st, nil
}

// stages are when the last Deployment of a batch was written and when the
// last one had all its pods available, from the batch's start.
type stages struct {
	start              time.Time
	written, available time.Duration
}

// observe lists the batch's Deployments and notes the first time every one
// exists, and the first time every one has its pods available.
func (st *stages) observe(ctx context.Context, c *cluster, want map[string]bool) {
	if st == nil || st.available > 0 {
		return
	}
	written, available, err := tgt.workloads(ctx, c, want)
	if err != nil {
		return
	}
	if st.written == 0 && len(written) == len(want) {
		st.written = time.Since(st.start)
	}
	if st.written > 0 && len(available) == len(want) {
		st.available = time.Since(st.start)
	}
}

// deploymentsOf are the ModelDeployments in want with a Deployment, and
// those with its pods available.
func deploymentsOf(ctx context.Context, c *cluster, want map[string]bool) (written, available map[string]bool, err error) {
	var list appsv1.DeploymentList
	if err := c.watched.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, nil, err
	}
	written, available = map[string]bool{}, map[string]bool{}
	for _, d := range list.Items {
		owner := metav1.GetControllerOf(&d)
		if owner == nil || !want[owner.Name] {
			continue
		}
		written[owner.Name] = true
		if d.Status.AvailableReplicas >= replicas && d.Status.ObservedGeneration == d.Generation {
			available[owner.Name] = true
		}
	}
	return written, available, nil
}

// updateAndWait moves the first count ModelDeployments to a new version at
// once and waits until every one has promoted it.
func updateAndWait(ctx context.Context, c *cluster, count int) (time.Duration, error) {
	logf("Updating %d ModelDeployments", count)
	start := time.Now()
	if err := parallel(count, func(i int) error { return tgt.update(ctx, c, i) }); err != nil {
		return 0, err
	}
	if err := waitDone(ctx, c, 0, count, "2.0.0", nil); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func updateModelDeployment(ctx context.Context, c *cluster, i int) error {
	md := &servingv1alpha1.ModelDeployment{}
	if err := c.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name(i)}, md); err != nil {
		return err
	}
	patch := client.MergeFrom(md.DeepCopy())
	md.Spec.Model.Version = "2.0.0"
	md.Spec.Model.URI = fmt.Sprintf("pvc://models/%s/2.0.0", name(i))
	return c.client.Patch(ctx, md, patch)
}

func parallel(count int, fn func(int) error) error {
	errs := make([]error, count)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for i := range count {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitDone waits until the objects [first, first+count) are done at version:
// ModelDeployments have their generation handled, are Ready, and serve
// version from a stable Deployment with no candidate.
func waitDone(ctx context.Context, c *cluster, first, count int, version string, st *stages) error {
	want := map[string]bool{}
	for i := range count {
		want[name(first+i)] = true
	}
	var pending int
	err := poll(ctx, 20*time.Minute, 250*time.Millisecond, func() (bool, error) {
		st.observe(ctx, c, want)
		n, err := tgt.done(ctx, c, want, version)
		if err != nil {
			return false, nil //nolint:nilerr // the API server may be busy: try again
		}
		pending = len(want) - n
		return pending == 0, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %d ModelDeployments at %s (%d pending): %w", count, version, pending, err)
	}
	return nil
}

// modelDeploymentsDone counts the ModelDeployments in want done at version.
func modelDeploymentsDone(ctx context.Context, c *cluster, want map[string]bool, version string) (int, error) {
	var list servingv1alpha1.ModelDeploymentList
	if err := c.watched.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		if md := &list.Items[i]; want[md.Name] && done(md, version) {
			n++
		}
	}
	return n, nil
}

func done(md *servingv1alpha1.ModelDeployment, version string) bool {
	return md.Status.ObservedGeneration == md.Generation &&
		meta.IsStatusConditionTrue(md.Status.Conditions, servingv1alpha1.ConditionReady) &&
		md.Status.Stable != nil && md.Status.Stable.Version == version && md.Status.Candidate == nil
}

// pdbEdit creates a PodDisruptionBudget for one ModelDeployment, waits for
// its reconciles to pass, then edits it and counts the reconciles that edit
// triggers.
func pdbEdit(ctx context.Context, c *cluster, m *manager) (float64, error) {
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: name(0), Namespace: namespace},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptrTo(intstr.FromInt32(1)),
			Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name(0)}},
		},
	}
	if err := c.client.Create(ctx, pdb); err != nil {
		return 0, err
	}
	reconciles := func(ctx context.Context) (float64, error) {
		mm, err := m.metrics(ctx)
		return mm.reconciles(), err
	}
	before, err := settled(ctx, reconciles)
	if err != nil {
		return 0, err
	}
	patch := client.MergeFrom(pdb.DeepCopy())
	pdb.Spec.MinAvailable = ptrTo(intstr.FromInt32(2))
	if err := c.client.Patch(ctx, pdb, patch); err != nil {
		return 0, err
	}
	if err := sleep(ctx, time.Second); err != nil {
		return 0, err
	}
	after, err := settled(ctx, reconciles)
	return after - before, err
}

func poll(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if err := sleep(ctx, interval); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
