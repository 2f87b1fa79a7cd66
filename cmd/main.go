// Command manager runs the modelgate controller manager.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	// The image (make image) is an empty base without a CA bundle: where the
	// system has no roots, the manager trusts these, compiled in, to reach
	// Prometheus, registries and model card URLs over HTTPS.
	_ "golang.org/x/crypto/x509roots/fallback"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/controller"
	"github.com/modelgate/modelgate/internal/egress"
	"github.com/modelgate/modelgate/internal/loadtest"
	"github.com/modelgate/modelgate/internal/notify"
	"github.com/modelgate/modelgate/internal/probe"
	"github.com/modelgate/modelgate/internal/stamps"
	mgwebhook "github.com/modelgate/modelgate/internal/webhook"
)

func main() {
	var (
		metricsAddr, probeAddr string
		pprofAddr              string
		secureMetrics          bool
		enableHTTP2            bool
		leaderElect            bool
		leaderElectionNS       string
		leaseDuration          time.Duration
		renewDeadline          time.Duration
		retryPeriod            time.Duration
		apiQPS                 float64
		apiBurst               int
		webhookPort            int
		webhookHost            string
		webhookCertDir         string
		enableWebhooks         bool
		maxReconciles          int
		watchLabelSelector     string
		egressDeny             string
		gcPercent              int
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "Address the metrics endpoint binds to; 0 disables it.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS, authenticated and authorized through the API server.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health and readiness probes bind to.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "Address Go's pprof endpoints (/debug/pprof/) bind to, for profiling; empty disables them. They are unauthenticated: bind to a loopback address.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader, so that only one of several managers reconciles.")
	flag.StringVar(&leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader election Lease; empty is the manager's own namespace in a cluster (outside one, it must be set).")
	// Shorter leases fail over faster at the cost of more API calls; the
	// defaults are client-go's.
	flag.DurationVar(&leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a leader's lease lasts: after a leader dies, the others wait this long before taking over.")
	flag.DurationVar(&renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew its lease before it steps down.")
	flag.DurationVar(&retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often managers try to acquire or renew the lease.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false, "Serve metrics over HTTP/2 (off by default: HTTP/2 Rapid Reset, CVE-2023-44487).")
	flag.Float64Var(&apiQPS, "kube-api-qps", 100, "Queries per second the manager may send to the API server.")
	flag.IntVar(&apiBurst, "kube-api-burst", 200, "Burst of queries the manager may send to the API server.")
	flag.BoolVar(&enableWebhooks, "enable-webhooks", true, "Serve the admission webhooks (ModelApproval identity stamping, ModelDeployment checks). The cluster's webhook configurations fail closed: without them, ModelApprovals cannot be created.")
	flag.IntVar(&webhookPort, "webhook-port", 9443, "Port the admission webhooks are served on.")
	flag.StringVar(&webhookHost, "webhook-host", "", "Address the admission webhooks bind to; empty binds every address.")
	flag.StringVar(&webhookCertDir, "webhook-cert-dir", "", "Folder holding tls.crt and tls.key for the webhooks (cert-manager mounts them); empty uses controller-runtime's default.")
	flag.IntVar(&maxReconciles, "max-concurrent-reconciles", controller.DefaultMaxConcurrentReconciles, "ModelDeployments reconciled at once. Queries, tests and notifications run in the background, never on these workers.")
	flag.StringVar(&watchLabelSelector, "watch-label-selector", "", "Reconcile only the ModelDeployments whose labels match this selector (such as shard=a, or !shard for those without one): run one manager per shard, each with its own leader lease, when a cluster outgrows one (docs/scale.md).")
	flag.StringVar(&egressDeny, "egress-deny-cidrs", "", "Comma-separated CIDRs or addresses the manager never connects to when it fetches "+
		"what a spec names (artifact, registry and model card probes, notification receivers, Prometheus), besides the "+
		"link-local and cloud metadata addresses always denied: give the cluster's pod and Service ranges when nothing a spec "+
		"names may be inside the cluster (an in-cluster Prometheus or receiver then cannot be reached). Smoke and load tests, "+
		"which go only to the candidate's own pods, are held to the built-in list.")
	flag.IntVar(&gcPercent, "gc-percent", defaultGCPercent, "Go's garbage collection target (GOGC): how far, in percent, the heap grows over what is live before a collection. "+
		"Lower holds less memory for more CPU; Go's own default is 100. The GOGC environment variable is used when this flag is not given.")
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")
	if percent, ok := gcTarget(flag.CommandLine, gcPercent, os.LookupEnv); ok {
		debug.SetGCPercent(percent)
	}
	if limit, ok, err := softMemoryLimit(os.LookupEnv); err != nil {
		log.Error(err, "Invalid "+envMemoryLimit)
		os.Exit(1)
	} else if ok {
		debug.SetMemoryLimit(limit)
		log.Info("Go's soft memory limit set from the container's", "bytes", limit)
	}

	extraDenied, err := egress.ParsePrefixes(egressDeny)
	if err != nil {
		log.Error(err, "Invalid --egress-deny-cidrs")
		os.Exit(1)
	}
	// One deny list, checked in the dialer of everything fetched on a spec's
	// behalf (after DNS resolution, so rebinding does not slip past it).
	specEgress := egress.New(extraDenied...)

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(servingv1alpha1.AddToScheme(scheme))
	utilruntime.Must(gatewayv1.Install(scheme))

	var tlsOpts []func(*tls.Config)
	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: metricsAddr, SecureServing: secureMetrics, TLSOpts: tlsOpts}
	if secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	cacheOpts := controller.CacheOptions(nil)
	leaderElectionID := "modelgate.serving.modelgate.dev"
	if watchLabelSelector != "" {
		sel, err := labels.Parse(watchLabelSelector)
		if err != nil {
			log.Error(err, "The --watch-label-selector cannot be parsed", "selector", watchLabelSelector)
			os.Exit(1)
		}
		cacheOpts = controller.CacheOptions(sel)
		// Each shard elects its own leader.
		leaderElectionID = fmt.Sprintf("%08x.%s", fnv32(sel.String()), leaderElectionID)
		log.Info("Reconciling one shard of the ModelDeployments", "selector", sel.String(), "leaderElectionID", leaderElectionID)
	}

	cfg := ctrl.GetConfigOrDie()
	cfg.QPS, cfg.Burst = float32(apiQPS), apiBurst
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  probeAddr,
		PprofBindAddress:        pprofAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        leaderElectionID,
		LeaderElectionNamespace: leaderElectionNS,
		LeaseDuration:           &leaseDuration,
		RenewDeadline:           &renewDeadline,
		RetryPeriod:             &retryPeriod,
		// The manager exits right after its context ends, so it can hand the
		// lease over at once instead of making the next leader wait it out.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         cacheOpts,
		WebhookServer: webhook.NewServer(webhook.Options{
			Host: webhookHost, Port: webhookPort, CertDir: webhookCertDir, TLSOpts: tlsOpts,
		}),
	})
	if err != nil {
		log.Error(err, "Unable to create the manager")
		os.Exit(1)
	}
	gatewayAPI, err := controller.ServesGatewayAPI(mgr.GetRESTMapper())
	if err != nil {
		log.Error(err, "Unable to tell whether the cluster serves the Gateway API")
		os.Exit(1)
	}
	if !gatewayAPI {
		log.Info("The cluster does not serve the Gateway API: HTTPRoutes and Gateways are not watched")
	}
	prometheusRules, err := controller.ServesPrometheusRules(mgr.GetRESTMapper())
	if err != nil {
		log.Error(err, "Unable to tell whether the cluster serves the Prometheus Operator's PrometheusRule")
		os.Exit(1)
	}
	if !prometheusRules {
		log.Info("The cluster does not serve PrometheusRules: the ModelDeployments' alerts are written into ConfigMaps", "label", controller.LabelAlertRules)
	}
	notifier := notify.New(notify.Options{HTTPClient: specEgress.Client(0)})
	utilruntime.Must(mgr.Add(notifier))
	tester := &loadtest.Tester{MaxJobs: loadtest.DefaultMaxJobs, MaxJobsPerNamespace: loadtest.DefaultMaxJobsPerNamespace}
	utilruntime.Must(mgr.Add(tester))
	if err := (&controller.ModelDeploymentReconciler{
		Client:     mgr.GetClient(),
		Scheme:     mgr.GetScheme(),
		Recorder:   mgr.GetEventRecorder("modelgate"),
		Clock:      clock.RealClock{},
		GatewayAPI: gatewayAPI,
		// Detected once: a manager started before the Prometheus Operator's
		// CRD keeps writing ConfigMaps until it restarts.
		PrometheusRules: prometheusRules,
		APIReader:       mgr.GetAPIReader(),
		Notifier:        notifier,
		Tester:          tester,
		TestClient:      loadtest.NewClient(egress.New().Dialer()),
		Prober:          probe.New(probe.Options{Client: specEgress.Client(probe.DefaultTimeout)}),
		HTTPClient:      &http.Client{Transport: specEgress.RoundTripper()},
		// Approvals, window overrides and requesters count only while the
		// cluster sends writes through the stamping webhook, whoever serves
		// it: this manager, or another when --enable-webhooks=false.
		Stamps: stamps.Checker{Reader: mgr.GetClient()},

		MaxConcurrentReconciles: maxReconciles,
	}).SetupWithManager(mgr); err != nil {
		log.Error(err, "Unable to set up the ModelDeployment controller")
		os.Exit(1)
	}
	if err := (&controller.ModelDeploymentPolicyReconciler{Client: mgr.GetClient(), Clock: clock.RealClock{}}).SetupWithManager(mgr); err != nil {
		log.Error(err, "Unable to set up the ModelDeploymentPolicy controller")
		os.Exit(1)
	}
	readyz := healthz.Ping
	if enableWebhooks {
		if err := mgwebhook.Setup(mgr, clock.RealClock{}); err != nil {
			log.Error(err, "Unable to set up the admission webhooks")
			os.Exit(1)
		}
		// Ready once the webhook server answers, so nothing is routed to a
		// manager that would fail closed.
		readyz = mgr.GetWebhookServer().StartedChecker()
	}
	utilruntime.Must(mgr.AddHealthzCheck("healthz", healthz.Ping))
	utilruntime.Must(mgr.AddReadyzCheck("readyz", readyz))

	log.Info("Starting the manager")
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "The manager stopped with an error")
		os.Exit(1)
	}
}

// fnv32 is a short, stable name for a shard's lease.
func fnv32(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

// defaultGCPercent holds the heap to a quarter over what is live, not
// twice it: the manager's live heap is mostly its cache, which no collection
// frees, so Go's default of 100 doubles the memory of a large fleet for
// little. Collections come more often, but the manager allocates little once
// a fleet has settled; the CPU and memory at either setting are in
// docs/scale.md.
const defaultGCPercent = 25

// gcTarget is the GC percent to set, if any: the flag when given, else none
// when GOGC is set (the runtime read it), else the flag's default.
func gcTarget(flags *flag.FlagSet, percent int, lookupEnv func(string) (string, bool)) (int, bool) {
	given := false
	flags.Visit(func(f *flag.Flag) { given = given || f.Name == "gc-percent" })
	if !given {
		if _, set := lookupEnv("GOGC"); set {
			return 0, false
		}
	}
	return percent, true
}

// envMemoryLimit is the container's memory limit in bytes, which the
// manifests give the manager (a resourceFieldRef on limits.memory).
const envMemoryLimit = "MODELGATE_MEMORY_LIMIT"

// softMemoryLimit is Go's soft memory limit to set, if any: 90% of the
// container's limit, so that the collector works harder as the heap nears
// it and the rest (stacks, the runtime's own) still fits under it. GOMEMLIMIT,
// when set, wins (the runtime read it).
func softMemoryLimit(lookupEnv func(string) (string, bool)) (int64, bool, error) {
	if _, set := lookupEnv("GOMEMLIMIT"); set {
		return 0, false, nil
	}
	raw, set := lookupEnv(envMemoryLimit)
	if !set || raw == "" {
		return 0, false, nil
	}
	limit, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || limit <= 0 {
		return 0, false, fmt.Errorf("%s=%q: want the container's memory limit in bytes", envMemoryLimit, raw)
	}
	return limit / 10 * 9, true, nil
}
