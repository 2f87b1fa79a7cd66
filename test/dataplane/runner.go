package dataplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	"github.com/modelgate/modelgate/test/promserver"
)

// Options configure a Runner.
type Options struct {
	// ModelServer is the cmd/model-server binary (`make model-server` builds bin/model-server).
	ModelServer string
	// LogDir receives one log per pod, <namespace>_<pod>.log; it is created if needed.
	LogDir string
	// Namespace limits the pods watched; empty for all.
	Namespace string
	// TargetsFile, when set, is kept listing every process's metrics address
	// in Prometheus' file_sd format, labelled with the pod's namespace, name
	// and ModelDeployment (see promserver.FileTargets).
	TargetsFile string
	// ProxyAddress, when set (such as 127.0.0.1:0), is where the runner serves
	// the HTTP proxy that routes pod IPs and Services to the processes
	// (network.go); ProxyURL tells where it listens.
	ProxyAddress string
	// Log receives what the runner does; discarded when nil.
	Log *slog.Logger
}

// Runner runs one model-server process per model-server pod.
type Runner struct {
	opts   Options
	client kubernetes.Interface
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	pods, services, slices cache.SharedIndexInformer
	proxyServer            *http.Server
	proxyURL               string

	mu    sync.Mutex
	procs map[types.UID]*process
	stop  sync.Once
	// targetsMu orders the writes of the targets file.
	targetsMu sync.Mutex
}

// Process describes a running model-server process, for tests and the demo.
type Process struct {
	Pod     types.NamespacedName
	Version string
	// PodIP is the pod's address; Address and MetricsAddress are where the
	// process listens, on the loopback twin of PodIP.
	PodIP          string
	Address        string
	MetricsAddress string
	PID            int
	Ready          bool
	Restarts       int32
}

// Start watches the pods modelgate manages and returns once the runner has
// seen every existing pod. Stop ends it and every process it started.
func Start(ctx context.Context, client kubernetes.Interface, opts Options) (*Runner, error) {
	if opts.ModelServer == "" {
		return nil, errors.New("no model-server binary: run 'make model-server' and pass bin/model-server")
	}
	if _, err := os.Stat(opts.ModelServer); err != nil {
		return nil, fmt.Errorf("model-server binary: %w; run 'make model-server'", err)
	}
	if opts.LogDir == "" {
		return nil, errors.New("no log folder for the model servers' logs")
	}
	if err := os.MkdirAll(opts.LogDir, 0o750); err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Runner{opts: opts, client: client, log: log, procs: map[types.UID]*process{}}
	// The runner lives until Stop, not as long as the context it was started with.
	r.ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))

	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = ManagedBySelector }))
	r.pods = factory.Core().V1().Pods().Informer()
	r.services = factory.Core().V1().Services().Informer()
	r.slices = factory.Discovery().V1().EndpointSlices().Informer()
	for inf, idx := range map[cache.SharedIndexInformer]cache.Indexers{
		r.pods: {byPodIP: podIPIndex}, r.services: {byClusterIP: clusterIPIndex}, r.slices: {byService: serviceIndex},
	} {
		if err := inf.AddIndexers(idx); err != nil {
			return nil, err
		}
	}
	// The informer calls these one at a time, in the order of the events: a
	// deleted pod's process is stopped before the pod that inherits its IP starts.
	_, err := r.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.sync(obj) },
		UpdateFunc: func(_, obj any) { r.sync(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				r.remove(pod.UID, "pod deleted")
			}
		},
	})
	if err != nil {
		return nil, err
	}
	for _, inf := range []cache.SharedIndexInformer{r.pods, r.services, r.slices} {
		r.wg.Go(func() { inf.Run(r.ctx.Done()) })
	}
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), r.pods.HasSynced, r.services.HasSynced, r.slices.HasSynced) {
		r.Stop()
		return nil, fmt.Errorf("the informers did not sync in a minute: is the API server of the kubeconfig up? %w", syncCtx.Err())
	}
	if opts.ProxyAddress != "" {
		if err := r.serveProxy(opts.ProxyAddress); err != nil {
			r.Stop()
			return nil, err
		}
	}
	if err := r.writeTargets(); err != nil {
		r.Stop()
		return nil, err
	}
	log.Info("Data plane watching pods", "selector", ManagedBySelector, "namespace", opts.Namespace, "modelServer", opts.ModelServer, "proxy", r.proxyURL)
	return r, nil
}

func (r *Runner) sync(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if !runnable(pod) {
		r.remove(pod.UID, "pod not running")
		return
	}
	r.mu.Lock()
	_, running := r.procs[pod.UID]
	r.mu.Unlock()
	if running {
		// A pod's containers and IP never change: nothing to do for an update.
		return
	}
	s, err := plan(pod)
	if err != nil {
		r.log.Error("Cannot run pod", "pod", klogKey(pod), "error", err)
		return
	}
	if len(s.Skipped) > 0 {
		r.log.Info("Env entries not resolved (Secrets, ConfigMaps and resource fields are not simulated)", "pod", s.Pod, "skipped", s.Skipped)
	}
	p := &process{spec: s, binary: r.opts.ModelServer, logDir: r.opts.LogDir, log: r.log}
	p.report = func(ctx context.Context, st state) { r.writeStatus(ctx, s, st) }
	r.mu.Lock()
	if r.procs == nil { // stopped
		r.mu.Unlock()
		return
	}
	r.procs[pod.UID] = p
	p.start(r.ctx)
	r.mu.Unlock()
	r.updateTargets()
}

// serveProxy listens on addr and serves the data plane's network until Stop.
func (r *Runner) serveProxy(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("data plane proxy on %s: %w", addr, err)
	}
	r.proxyURL = "http://" + l.Addr().String()
	r.proxyServer = &http.Server{Handler: newProxy(r), ReadHeaderTimeout: 10 * time.Second}
	r.wg.Go(func() { _ = r.proxyServer.Serve(l) })
	return nil
}

// ProxyURL is the URL of the data plane's HTTP proxy (empty without one): set
// it as HTTP_PROXY of a client, or as the Proxy of an http.Transport, to reach
// pod IPs and Services.
func (r *Runner) ProxyURL() string { return r.proxyURL }

// updateTargets rewrites the targets file, logging a failure: a stale file
// only delays scrapes, it must not stop the data plane.
func (r *Runner) updateTargets() {
	if err := r.writeTargets(); err != nil {
		r.log.Error("Cannot write the Prometheus targets file", "file", r.opts.TargetsFile, "error", err)
	}
}

// remove stops the process of a pod, if it has one, and waits for it to end.
func (r *Runner) remove(uid types.UID, why string) {
	r.mu.Lock()
	p, ok := r.procs[uid] // a nil map after Stop reads as empty
	delete(r.procs, uid)
	r.mu.Unlock()
	if ok {
		r.log.Info("Stopping process", "pod", p.spec.Pod, "reason", why)
		r.updateTargets()
		p.stop()
	}
}

// writeStatus records a process's state in its pod's status, if the pod is
// still the one the process was started for.
func (r *Runner) writeStatus(ctx context.Context, s spec, st state) {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pods := r.client.CoreV1().Pods(s.Pod.Namespace)
		pod, err := pods.Get(ctx, s.Pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if pod.UID != s.UID || pod.DeletionTimestamp != nil {
			return nil
		}
		if !applyState(pod, s.Container, st, metav1.Now()) {
			return nil
		}
		_, err = pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	switch {
	case err == nil:
		r.log.Info("Pod status written", "pod", s.Pod, "ready", st.Ready, "restarts", st.Restarts, "reason", st.Reason)
	case apierrors.IsNotFound(err) || ctx.Err() != nil:
	default:
		r.log.Error("Cannot write pod status", "pod", s.Pod, "error", err)
	}
}

// Processes lists the running processes, sorted by pod.
func (r *Runner) Processes() []Process {
	r.mu.Lock()
	procs := make([]*process, 0, len(r.procs))
	for _, p := range r.procs {
		procs = append(procs, p)
	}
	r.mu.Unlock()
	out := make([]Process, 0, len(procs))
	for _, p := range procs {
		pid, ready, restarts := p.info()
		out = append(out, Process{Pod: p.spec.Pod, Version: p.spec.Version, PodIP: p.spec.PodIP, Address: p.spec.Address,
			MetricsAddress: p.spec.MetricsAddress, PID: pid, Ready: ready, Restarts: restarts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pod.String() < out[j].Pod.String() })
	return out
}

// Stop ends the watch and every process, then marks their pods not Ready
// (for up to five seconds, as the cluster may be gone): a pod whose process
// is gone must not look as if it served. It may be called more than once.
func (r *Runner) Stop() {
	r.stop.Do(func() {
		// Under the lock, so that sync starts no process after this point.
		r.mu.Lock()
		r.cancel()
		procs := r.procs
		r.procs = nil
		r.mu.Unlock()
		if r.proxyServer != nil {
			_ = r.proxyServer.Close()
		}
		r.wg.Wait()
		var stopping sync.WaitGroup
		for _, p := range procs {
			stopping.Go(p.stop)
		}
		stopping.Wait()
		r.updateTargets() // empty: Prometheus marks the series stale
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, p := range procs {
			_, _, restarts := p.info()
			r.writeStatus(ctx, p.spec, state{Ready: false, Restarts: restarts, Reason: ReasonDataPlaneGone,
				Message: "the local data plane stopped; no process serves this pod"})
		}
		r.log.Info("Data plane stopped", "processes", len(procs))
	})
}

// targetGroup is one entry of a file_sd file.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// writeTargets writes the targets of the running processes, replacing the
// file in one rename so Prometheus never reads half of it.
func (r *Runner) writeTargets() error {
	if r.opts.TargetsFile == "" {
		return nil
	}
	r.targetsMu.Lock()
	defer r.targetsMu.Unlock()
	r.mu.Lock()
	groups := make([]targetGroup, 0, len(r.procs))
	for _, p := range r.procs {
		addr := p.spec.MetricsAddress
		if addr == "" {
			addr = p.spec.Address
		}
		groups = append(groups, targetGroup{Targets: []string{addr}, Labels: map[string]string{
			promserver.LabelNamespace: p.spec.Pod.Namespace, promserver.LabelPod: p.spec.Pod.Name,
			promserver.LabelModelDeployment: p.spec.ModelDeployment,
		}})
	}
	r.mu.Unlock()
	sort.Slice(groups, func(i, j int) bool { return groups[i].Targets[0] < groups[j].Targets[0] })
	b, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return err
	}
	tmp := r.opts.TargetsFile + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, r.opts.TargetsFile)
}

func klogKey(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }
