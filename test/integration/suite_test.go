// Package integration runs user stories against a real kube-apiserver and etcd
// (controller-runtime's envtest) with the ModelDeployment controller running
// in-process. envtest has no controller-manager: tests play the Deployment
// controller by writing Deployment status, and garbage collection is left to
// the e2e tests.
package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/controller"
	"github.com/modelgate/modelgate/internal/loadtest"
	"github.com/modelgate/modelgate/internal/notify"
	"github.com/modelgate/modelgate/internal/probe"
	"github.com/modelgate/modelgate/internal/stamps"
	mgwebhook "github.com/modelgate/modelgate/internal/webhook"
	"github.com/modelgate/modelgate/test/gatewayapi"
)

var (
	// artifactServer answers HEAD for model artifacts over TLS; registryServer
	// speaks the MLflow model registry's REST API with every version READY.
	artifactServer, registryServer *httptest.Server

	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	scheme    = runtime.NewScheme()
	ctx       context.Context
	cancel    context.CancelFunc
)

func TestIntegration(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Integration Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	ctx, cancel = context.WithCancel(context.Background())

	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(servingv1alpha1.AddToScheme(scheme))
	utilruntime.Must(gatewayv1.Install(scheme))

	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(),
		"KUBEBUILDER_ASSETS must name the folder holding etcd and kube-apiserver; run the tests with 'make test-integration'")
	gatewayCRDs, err := gatewayapi.CRDPaths()
	Expect(err).NotTo(HaveOccurred())
	testEnv = &envtest.Environment{
		CRDDirectoryPaths: append([]string{filepath.Join("..", "..", "config", "crd", "bases"),
			filepath.Join("testdata", "prometheus-operator")}, gatewayCRDs...),
		ErrorIfCRDPathMissing: true,
		// The webhooks as config/ declares them, served by the manager below
		// with certificates envtest makes.
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join("..", "..", "config", "webhook")}},
	}
	// Registered before Start: a start that fails half-way (a CRD refused, say)
	// has already launched etcd and kube-apiserver, which must not outlive us.
	DeferCleanup(func() {
		cancel()
		Expect(testEnv.Stop()).To(Succeed())
	})
	// Room for the Services of hundreds of ModelDeployments (three each).
	testEnv.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.0.0.0/16")
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	artifactServer = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead || !strings.HasPrefix(r.URL.Path, "/models/") {
			http.NotFound(w, r)
		}
	}))
	registryServer = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/2.0/mlflow/model-versions/get" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"model_version": {"name": %q, "version": %q, "status": "READY"}}`, r.URL.Query().Get("name"), r.URL.Query().Get("version"))
	}))
	DeferCleanup(artifactServer.Close)
	DeferCleanup(registryServer.Close)

	// The manager's client is as fast as cmd/main.go makes it by default.
	mgrCfg := rest.CopyConfig(cfg)
	mgrCfg.QPS, mgrCfg.Burst = 50, 100
	// Every request it sends is counted, by namespace.
	mgrCfg.Wrap(managerRequests.wrap)
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  controller.CacheOptions(nil),
		WebhookServer: webhook.NewServer(webhook.Options{
			Host:    testEnv.WebhookInstallOptions.LocalServingHost,
			Port:    testEnv.WebhookInstallOptions.LocalServingPort,
			CertDir: testEnv.WebhookInstallOptions.LocalServingCertDir,
		}),
	})
	Expect(err).NotTo(HaveOccurred())
	Expect(mgwebhook.Setup(mgr, clock.RealClock{})).To(Succeed())
	// Short timeouts and backoffs: the stories wait for failures to show.
	notifier := notify.New(notify.Options{Timeout: 2 * time.Second, MaxAttempts: 2,
		Backoff: notify.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond}})
	Expect(mgr.Add(notifier)).To(Succeed())
	tester := &loadtest.Tester{}
	Expect(mgr.Add(tester)).To(Succeed())
	servesGatewayAPI, err := controller.ServesGatewayAPI(mgr.GetRESTMapper())
	Expect(err).NotTo(HaveOccurred())
	Expect(servesGatewayAPI).To(BeTrue())
	servesPrometheusRules, err := controller.ServesPrometheusRules(mgr.GetRESTMapper())
	Expect(err).NotTo(HaveOccurred())
	Expect(servesPrometheusRules).To(BeTrue())
	Expect((&controller.ModelDeploymentReconciler{
		Client:     mgr.GetClient(),
		Scheme:     mgr.GetScheme(),
		Recorder:   mgr.GetEventRecorder("modelgate"),
		Clock:      clock.RealClock{},
		Prober:     probe.New(probe.Options{Client: artifactServer.Client(), Timeout: 2 * time.Second}),
		GatewayAPI: servesGatewayAPI,
		// The alerts go into PrometheusRules here; the e2e cluster, without
		// the CRD, has them in ConfigMaps.
		PrometheusRules: servesPrometheusRules,
		APIReader:       mgr.GetAPIReader(),
		Notifier:        notifier,
		Tester:          tester,
		Stamps:          stamps.Checker{Reader: mgr.GetClient()},
	}).SetupWithManager(mgr)).To(Succeed())
	Expect((&controller.ModelDeploymentPolicyReconciler{Client: mgr.GetClient(), Clock: clock.RealClock{}}).SetupWithManager(mgr)).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
	// Measured figures then time reconciles, not the manager's start.
	Expect(mgr.GetCache().WaitForCacheSync(ctx)).To(BeTrue())
	// The webhooks fail closed: wait until they answer.
	Eventually(func() error { return mgr.GetWebhookServer().StartedChecker()(nil) }).Should(Succeed())
})

// newNamespace creates a namespace of its own for one spec and removes it after.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "md-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, ns))).To(Succeed()) })
	return ns.Name
}

// updateMD changes a ModelDeployment as a user would, retrying when the
// controller wrote its status in between.
func updateMD(key client.ObjectKey, mutate func(*servingv1alpha1.ModelDeployment)) {
	GinkgoHelper()
	Eventually(func() error {
		md := &servingv1alpha1.ModelDeployment{}
		if err := k8sClient.Get(ctx, key, md); err != nil {
			return err
		}
		mutate(md)
		return k8sClient.Update(ctx, md)
	}).Should(Succeed())
}
