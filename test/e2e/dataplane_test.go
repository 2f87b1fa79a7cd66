package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	prommodel "github.com/prometheus/common/model"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/modelgate/modelgate/internal/modelserver"
	"github.com/modelgate/modelgate/test/bars"
	"github.com/modelgate/modelgate/test/dataplane"
	"github.com/modelgate/modelgate/test/promserver"
)

// scorer is a ModelDeployment of two pods served by the sample model server,
// with the model server's flags in args (such as a slow start long enough to
// see its pods Running and not yet Ready).
func scorer(version, args string) string {
	return fmt.Sprintf(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: scorer}
spec:
  model: {name: scorer, version: %s, uri: "pvc://models/scorer/%[1]s"}
  replicas: 2
  checklist: {profile: development}
  service: {port: 8080, metricsPort: 9090}
  template:
    spec:
      containers:
        - name: server
          image: registry.example/ml/model-server:%[1]s
          args: [%s]
          ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]
          readinessProbe: {httpGet: {path: /readyz, port: http}}
`, version, args)
}

const everydayPayment = `{"features": {"amount": 42.5, "hour": 14, "merchant_risk": 0.2, "distance_km": 3,
	"transactions_24h": 2, "card_present": 1, "foreign": 0, "account_age_days": 900}}`

// podClient reaches pod IPs and Services the way a client in the cluster
// would, through the data plane's proxy (there is no pod network here).
func podClient() *http.Client {
	proxy, err := url.Parse(dataPlane.ProxyURL())
	Expect(err).NotTo(HaveOccurred())
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxy), DisableKeepAlives: true}}
}

// httpCall answers the status and body of a request, or an error.
func httpCall(method, target, body string) (int, string, error) {
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp, err := podClient().Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// predictVersion posts a payment to addr and returns the version that answered.
func predictVersion(addr string) (string, error) {
	code, body, err := httpCall(http.MethodPost, "http://"+addr+"/predict", everydayPayment)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("%s/predict: %d %s", addr, code, body)
	}
	var resp modelserver.PredictResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		return "", err
	}
	return resp.Version, nil
}

var _ = Describe("The local data plane", Ordered, func() {
	const ns = "dataplane"
	var prom *promserver.Server
	var promQL promv1.API

	get := func(jsonpath string, what ...string) func() string {
		return func() string {
			out, _ := kubectlErr(append(append([]string{"-n", ns, "get"}, what...), "-o", "jsonpath="+jsonpath)...)
			return out
		}
	}
	// endpoints are the ready host:port of the Service's EndpointSlices, the
	// way kube-proxy would route to them.
	endpoints := func(service string) []string {
		var list discoveryv1.EndpointSliceList
		Expect(json.Unmarshal([]byte(kubectl("-n", ns, "get", "endpointslices", "-l", "kubernetes.io/service-name="+service, "-o", "json")), &list)).To(Succeed())
		var out []string
		for _, slice := range list.Items {
			var port int32
			for _, p := range slice.Ports {
				if p.Name != nil && *p.Name == "http" && p.Port != nil {
					port = *p.Port
				}
			}
			for _, e := range slice.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					for _, a := range e.Addresses {
						out = append(out, net.JoinHostPort(a, fmt.Sprint(port)))
					}
				}
			}
		}
		slices.Sort(out)
		return out
	}
	query := func(q string) func() (prommodel.Vector, error) {
		return func() (prommodel.Vector, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			v, _, err := promQL.Query(ctx, q, time.Now())
			if err != nil {
				return nil, err
			}
			vec, ok := v.(prommodel.Vector)
			if !ok {
				return nil, fmt.Errorf("%s answered a %s, not a vector", q, v.Type())
			}
			return vec, nil
		}
	}

	BeforeAll(func() {
		Expect(os.Getenv("PROMETHEUS")).NotTo(BeEmpty(), "PROMETHEUS is not set: run the end-to-end tests with 'make test-e2e'")
		By("starting Prometheus on a free port, scraping the targets the data plane lists")
		var err error
		prom, err = promserver.Start(context.Background(), promserver.Options{
			Binary: os.Getenv("PROMETHEUS"), Dir: filepath.Join(workdir, "prometheus"),
			Config: promserver.FileTargets(dataPlaneTargets(), time.Second),
		})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() {
			Expect(prom.Stop()).To(Succeed())
			if suiteFailed {
				GinkgoWriter.Printf("Prometheus log:\n%s\n", prom.LogTail(40))
			}
		})
		client, err := promapi.NewClient(promapi.Config{Address: prom.URL})
		Expect(err).NotTo(HaveOccurred())
		promQL = promv1.NewAPI(client)
		kubectl("create", "namespace", ns)
		DeferCleanup(func() { kubectl("delete", "namespace", ns, "--wait=false") })
	})

	It("runs each model-server pod as a process on its IP, Ready only once the process answers /readyz", func() {
		start := time.Now()
		kubectl("-n", ns, "apply", "-f", writeTemp(scorer("1.0.0", `"--slow-start=3s"`)))
		selector := "app.kubernetes.io/name=scorer"
		Eventually(get("{range .items[*]}{.status.phase}/{.status.podIP} {end}", "pods", "-l", selector)).
			Should(MatchRegexp(`^Running/10\.\S+ Running/10\.\S+$`), "kwok gives the pods addresses from the nodes' ranges")
		ips := strings.Fields(get("{range .items[*]}{.status.podIP} {end}", "pods", "-l", selector)())

		By("keeping a pod not Ready while its process loads the model")
		Eventually(func() (int, error) {
			code, _, err := httpCall(http.MethodGet, "http://"+net.JoinHostPort(ips[0], "8080")+"/readyz", "")
			return code, err
		}).Should(Equal(http.StatusServiceUnavailable))
		Expect(get(`{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].reason} {end}`, "pods", "-l", selector)()).
			To(ContainSubstring("False/ProcessNotReady"))

		By("making it Ready when /readyz answers, and the ModelDeployment with it")
		kubectl("-n", ns, "wait", "--for=condition=Ready", "md/scorer", "--timeout=120s")
		bars.Record("e2e", "DataPlaneApplyToReadyWith3sSlowStart", float64(time.Since(start).Milliseconds()), "ms")
		Expect(get(`{range .items[*]}{.status.conditions[?(@.type=="Ready")].status} {end}`, "pods", "-l", selector)()).To(Equal("True True"))
		procs := dataPlane.Processes()
		var served []string
		for _, p := range procs {
			if p.Pod.Namespace == ns {
				Expect(p.Ready).To(BeTrue())
				served = append(served, p.PodIP)
			}
		}
		Expect(served).To(ConsistOf(ips))

		By("answering /predict on each pod IP with the version of its pod")
		for _, ip := range ips {
			Expect(predictVersion(net.JoinHostPort(ip, "8080"))).To(Equal("1.0.0"))
		}

		By("answering through the EndpointSlices of the scorer Service")
		Eventually(func() []string { return endpoints("scorer") }).Should(HaveLen(2))
		for _, addr := range endpoints("scorer") {
			Expect(predictVersion(addr)).To(Equal("1.0.0"))
		}

		By("answering through the Service itself, by name and by ClusterIP, as kube-proxy would route it")
		clusterIP := get("{.spec.clusterIP}", "svc/scorer")()
		for _, addr := range []string{"scorer.dataplane.svc.cluster.local:8080", net.JoinHostPort(clusterIP, "8080")} {
			Expect(predictVersion(addr)).To(Equal("1.0.0"))
		}

		By("labelling /metrics on the metrics port with the version")
		code, body, err := httpCall(http.MethodGet, "http://"+net.JoinHostPort(ips[0], "9090")+"/metrics", "")
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusOK))
		Expect(body).To(ContainSubstring(`model_requests_total{code="200",model="scorer",version="1.0.0"}`))

		By("being scraped by Prometheus, with the pods' namespace and ModelDeployment")
		Eventually(query(`count(up{job="`+promserver.JobPods+`", namespace="dataplane", modeldeployment="scorer"} == 1)`), "30s").
			Should(HaveEach(HaveField("Value", BeNumerically("==", 2))))
		Eventually(query(`sum by (version, model) (model_requests_total{code="200", namespace="dataplane", modeldeployment="scorer"})`), "30s").
			Should(ConsistOf(And(
				HaveField("Metric", HaveKeyWithValue(prommodel.LabelName("version"), prommodel.LabelValue("1.0.0"))),
				HaveField("Metric", HaveKeyWithValue(prommodel.LabelName("model"), prommodel.LabelValue("scorer"))),
				HaveField("Value", BeNumerically("==", 6)))))
	})

	It("follows a new version: its processes start with the pods' faults, the old ones stop", func() {
		kubectl("-n", ns, "apply", "-f", writeTemp(scorer("1.1.0", `"--error-ratio=0.5"`)))
		Eventually(get("{.status.stable.version}", "md/scorer")).Should(Equal("1.1.0"))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "md/scorer", "--timeout=120s")
		Eventually(func() []string {
			var versions []string
			for _, p := range dataPlane.Processes() {
				if p.Pod.Namespace == ns {
					versions = append(versions, p.Version)
				}
			}
			return versions
		}).Should(Equal([]string{"1.1.0", "1.1.0"}), "one process per pod of the new version, none of the old")
		Eventually(func() []string { return endpoints("scorer") }).Should(HaveLen(2))

		By("sending 100 payments through the Service: the injected error ratio answers half of them 500")
		traffic, err := dataplane.StartTraffic(dataplane.TrafficOptions{Proxy: dataPlane.ProxyURL(),
			Target: "http://scorer.dataplane.svc:8080", RPS: 100, Seed: 7})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() int { return traffic.Stats().Sent }).Should(BeNumerically(">=", 100))
		stats := traffic.Stop()
		Expect(stats.Failed + stats.Dropped).To(BeZero())
		Expect(stats.Codes).To(HaveLen(2))
		// Each process spreads its errors evenly: half of its share, to within one.
		Expect(stats.Codes[http.StatusInternalServerError]).To(BeNumerically("~", stats.Sent/2, 2))
		Expect(stats.Feedback).To(Equal(stats.Codes[http.StatusOK]))

		By("counting the same in Prometheus, errors, answers and feedback")
		sum := func(q string) func() (float64, error) {
			return func() (float64, error) {
				vec, err := query(q)()
				if err != nil || len(vec) != 1 {
					return -1, err
				}
				return float64(vec[0].Value), nil
			}
		}
		sel := `namespace="dataplane", modeldeployment="scorer", version="1.1.0"`
		Eventually(sum(`sum(model_requests_total{`+sel+`, code="500"})`), "30s").Should(BeEquivalentTo(stats.Codes[http.StatusInternalServerError]))
		Eventually(sum(`sum(model_requests_total{`+sel+`, code="200"})`), "30s").Should(BeEquivalentTo(stats.Codes[http.StatusOK]))
		Eventually(sum(`sum(model_feedback_total{`+sel+`})`), "30s").Should(BeEquivalentTo(stats.Feedback))
	})

	It("stops the processes when the ModelDeployment is deleted", func() {
		kubectl("-n", ns, "delete", "md", "scorer", "--wait=true")
		Eventually(func() []string {
			var left []string
			for _, p := range dataPlane.Processes() {
				if p.Pod.Namespace == ns {
					left = append(left, p.Pod.Name)
				}
			}
			return left
		}).Should(BeEmpty())
	})
})
