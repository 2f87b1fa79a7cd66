package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/modelgate/modelgate/internal/analysis"
	"github.com/modelgate/modelgate/test/bars"
)

const (
	hostileNS = "hostile"
	calmNS    = "calm"
	// hostiles is how many ModelDeployments carry hostile endpoints and
	// templates; calm how many ordinary ones roll out beside them.
	hostiles = 20
	calm     = 50
	// hostileMarker fills every hostile answer: none of it may reach status.
	hostileMarker = "Zq7-hostile-answer-"
	// hugeAnswer is what the "huge" Prometheus would send, were it read.
	hugeAnswer = 200 << 20
)

// hostileEndpoints is what a namespace user may point the manager at: a
// "Prometheus" that answers 200 MiB (/huge), never answers (/hang) or
// answers a 1 MiB error (/loud), and notification receivers that never
// answer (/receiver); and, for the ordinary ModelDeployments, a Prometheus
// that answers at once, every measurement passing (/ok). Loopback is not in the egress deny list (only
// link-local and cloud metadata addresses are, by default, and the suite's
// manager adds none), so the manager reaches them as it would any address a
// spec names.
type hostileEndpoints struct {
	srv  *httptest.Server
	stop chan struct{}
	// Requests seen per kind.
	huge, hang, loud, receiver, ok atomic.Int64
}

func startHostileEndpoints() *hostileEndpoints {
	h := &hostileEndpoints{stop: make(chan struct{})}
	chunk := []byte(strings.Repeat(hostileMarker, 64<<10/len(hostileMarker)))
	wait := func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-h.stop:
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/huge/", func(w http.ResponseWriter, r *http.Request) {
		h.huge.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(hugeAnswer))
		written, _ := w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"`))
		for written < hugeAnswer {
			n, err := w.Write(chunk[:min(len(chunk), hugeAnswer-written)])
			if err != nil {
				return // the reader stopped reading
			}
			written += n
		}
	})
	mux.HandleFunc("/hang/", func(_ http.ResponseWriter, r *http.Request) {
		h.hang.Add(1)
		wait(r)
	})
	mux.HandleFunc("/loud/", func(w http.ResponseWriter, _ *http.Request) {
		h.loud.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"%s"}`, strings.Repeat(hostileMarker, 1<<20/len(hostileMarker)))
	})
	mux.HandleFunc("/ok/", func(w http.ResponseWriter, r *http.Request) {
		h.ok.Add(1)
		_ = r.ParseForm()
		// Plenty of requests (the sample-size floor), no errors.
		value := "0"
		if strings.HasPrefix(r.Form.Get("query"), "sum(increase(model_requests_total{") {
			value = "1000"
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,%q]}]}}`, time.Now().Unix(), value)
	})
	mux.HandleFunc("/receiver/", func(_ http.ResponseWriter, r *http.Request) {
		h.receiver.Add(1)
		wait(r)
	})
	h.srv = httptest.NewServer(mux)
	return h
}

// Close lets every hanging request go, then stops the server.
func (h *hostileEndpoints) Close() {
	close(h.stop)
	h.srv.Close()
}

func (h *hostileEndpoints) counts() string {
	return fmt.Sprintf("huge=%d hang=%d loud=%d receiver=%d ok=%d", h.huge.Load(), h.hang.Load(), h.loud.Load(), h.receiver.Load(), h.ok.Load())
}

// hostileName is the i-th hostile ModelDeployment's name, as long as the
// API allows (52), so that {{.Name}} renders 52 bytes from 9.
func hostileName(i int) string {
	n := fmt.Sprintf("hostile-%02d-", i)
	return n + strings.Repeat("x", 52-len(n))
}

// hostileKind is which hostility the i-th ModelDeployment's analysis meets:
// its Prometheus answers too much, hangs or answers a long error, or its
// templates render past the renderer's cap (never reaching Prometheus).
// Eight hang: as many rounds as the manager runs at once.
func hostileKind(i int) string { return []string{"huge", "hang", "loud", "hang", "overcap"}[i%5] }

// hostileQuery is a query template of the most bytes the CRD allows (4096)
// that the renderer still takes (its output at most analysis.MaxRendered),
// or, for overcap, one that renders past the cap: {{.Name}} 455 times,
// 23 KiB rendered.
func hostileQuery(kind string) string {
	if kind == "overcap" {
		return strings.Repeat("{{.Name}}", 4096/len("{{.Name}}"))
	}
	q := `sum(rate(model_requests_total{namespace="{{.Namespace}}",modeldeployment="{{.Name}}",version="{{.Version}}"}[{{.Window}}]))`
	// {{.Name}} grows by 43 bytes when rendered, the others shrink.
	for len(q)+len(" + 0") <= analysis.MaxRendered-43 {
		q += " + 0"
	}
	return q
}

// hostileModel is the i-th hostile ModelDeployment at version: every query
// template overridden and 16 custom metrics (the most the CRD allows), all
// as long as the renderer allows or longer, an analysis timeout of 60 s (the
// most), and 8 receivers (the most) that never answer, their URLs in the
// opted-in Secret "receivers".
func hostileModel(i int, version, endpoints string) string {
	kind := hostileKind(i)
	prom := endpoints + "/" + kind
	if kind == "overcap" {
		prom = endpoints + "/huge"
	}
	q := hostileQuery(kind)
	metrics := make([]map[string]any, 16)
	for m := range metrics {
		metrics[m] = map[string]any{"name": fmt.Sprintf("hostile-%02d", m), "query": q, "max": "1"}
	}
	receivers := make([]map[string]any, 8)
	for r := range receivers {
		ref := map[string]any{"urlSecretRef": map[string]any{"name": "receivers", "key": fmt.Sprintf("r%d", r)}}
		receivers[r] = map[string]any{"name": fmt.Sprintf("r%d", r), "webhook": ref}
		if r%2 == 1 {
			receivers[r] = map[string]any{"name": fmt.Sprintf("r%d", r), "slack": ref}
		}
	}
	name := hostileName(i)
	md := map[string]any{
		"apiVersion": "serving.modelgate.dev/v1alpha1", "kind": "ModelDeployment",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"model":     map[string]any{"name": "hostile", "version": version, "uri": "pvc://models/hostile/" + version},
			"replicas":  1,
			"checklist": map[string]any{"profile": "development"},
			"strategy":  map[string]any{"type": "Canary", "canary": map[string]any{"steps": []any{map[string]any{"weight": 50}}}},
			"template": map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": "server", "image": "registry.example/ml/server:1.0"}}}},
			"analysis": map[string]any{
				"interval":              "10s",
				"consecutiveErrorLimit": 1000000,
				"prometheus": map[string]any{"address": prom, "timeout": "60s", "queries": map[string]any{
					"errorRate": q, "latencyP95": q, "accuracy": q, "requestCount": q, "errorCount": q}},
				"triggers": map[string]any{
					"errorRate":    map[string]any{"maxPercent": "5"},
					"latencyP95":   map[string]any{"maxMilliseconds": 250},
					"accuracyDrop": map[string]any{"maxPercent": "5"}},
				"metrics": metrics,
			},
			"notifications": receivers,
		},
	}
	b, err := json.Marshal(md)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

// calmFleet is n ordinary ModelDeployments at version, each one pod doing a
// one-step canary analysed every 2 s on the error rate, against a
// Prometheus that answers at once.
func calmFleet(n int, version, prom string) string {
	return fleetWith(n, version, fmt.Sprintf(`  analysis:
    interval: 2s
    prometheus: {address: %q}
    triggers: {errorRate: {maxPercent: "5"}}
`, prom))
}

// running says whether the manager process has not exited.
func (p *managerProcess) running() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return true
	}
}

var _ = Describe("Hostile ModelDeployments beside ordinary ones", Ordered, func() {
	It(fmt.Sprintf("rolls %d ordinary ModelDeployments out while %d carry hostile templates, Prometheus answers and receivers, and prints the manager's peak memory", calm, hostiles), func() {
		endpoints := startHostileEndpoints()
		DeferCleanup(endpoints.Close)

		By("starting a manager of this story's own, so that its peak memory is this story's")
		Expect(manager.stop(syscall.SIGTERM)).To(Succeed())
		manager = startManager(filepath.Join(workdir, "manager-hostile.log"))

		kubectl("create", "namespace", hostileNS)
		kubectl("create", "namespace", calmNS)
		// Registered after the endpoints' Close, so they run before it.
		DeferCleanup(func() { kubectl("delete", "namespace", hostileNS, calmNS, "--wait=false") })

		By("refusing at admission a template that would render gigabytes: the webhook's check, in its words")
		refused := fmt.Sprintf(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: bomb}
spec:
  model: {name: bomb, version: 1.0.0, uri: "pvc://models/bomb/1.0.0"}
  replicas: 1
  checklist: {profile: development}
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/server:1.0}]
  analysis:
    prometheus: {address: "%s/huge"}
    metrics: [{name: bomb, max: "1", query: '{{range 2000}}{{range 2000}}{{range 10}}{{$.Namespace}}{{end}}{{end}}{{end}}'}]
`, endpoints.srv.URL)
		out, err := kubectlErr("-n", hostileNS, "apply", "-f", writeTemp(refused))
		Expect(err).To(HaveOccurred(), out)
		Expect(out).To(And(ContainSubstring(`The ModelDeployment "bomb" is invalid: spec.analysis.metrics[0].query`),
			ContainSubstring("may hold only the placeholders")))
		Expect(kubectlErr("-n", hostileNS, "get", "md", "-o", "name")).To(BeEmpty())

		By(fmt.Sprintf("applying %d hostile ModelDeployments and %d ordinary ones", hostiles, calm))
		var secret strings.Builder
		fmt.Fprintf(&secret, "apiVersion: v1\nkind: Secret\nmetadata: {name: receivers, labels: {serving.modelgate.dev/manager-readable: \"true\"}}\nstringData:\n")
		for r := range 8 {
			fmt.Fprintf(&secret, "  r%d: %s/receiver/%d\n", r, endpoints.srv.URL, r)
		}
		kubectl("-n", hostileNS, "apply", "-f", writeTemp(secret.String()))
		apply := func(version string) {
			var b strings.Builder
			for i := range hostiles {
				b.WriteString(hostileModel(i, version, endpoints.srv.URL) + "\n")
			}
			kubectl("-n", hostileNS, "apply", "-f", writeTemp(b.String()))
		}
		apply("1.0.0")
		kubectl("-n", calmNS, "apply", "-f", writeTemp(calmFleet(calm, "1.0.0", endpoints.srv.URL+"/ok")))
		phases := func(ns string) func() string {
			return func() string {
				out, _ := kubectlErr("-n", ns, "get", "md", "-o", "jsonpath={range .items[*]}{.status.phase}={.status.stable.version} {end}")
				counts := map[string]int{}
				for _, f := range strings.Fields(out) {
					counts[f]++
				}
				return fmt.Sprint(counts)
			}
		}
		// The first version has nothing to analyse against: it comes up.
		Eventually(phases(hostileNS), "5m", "1s").Should(Equal(fmt.Sprintf("map[Succeeded=1.0.0:%d]", hostiles)))
		Eventually(phases(calmNS), "5m", "1s").Should(Equal(fmt.Sprintf("map[Succeeded=1.0.0:%d]", calm)))

		// rollCalm rolls the ordinary ModelDeployments to version and
		// returns how long it took until every one was promoted.
		rollCalm := func(version string) time.Duration {
			start := time.Now()
			kubectl("-n", calmNS, "apply", "-f", writeTemp(calmFleet(calm, version, endpoints.srv.URL+"/ok")))
			Eventually(phases(calmNS), "5m", "500ms").Should(Equal(fmt.Sprintf("map[Succeeded=%s:%d]", version, calm)))
			took := time.Since(start)
			Expect(kubectl("-n", calmNS, "get", "md", "-o", "jsonpath={range .items[*]}{.status.history[0].outcome} {end}")).
				To(Equal(strings.TrimSpace(strings.Repeat("Promoted ", calm))))
			return took
		}

		By(fmt.Sprintf("rolling the %d ordinary ModelDeployments out while the hostile ones are quiet, for comparison", calm))
		quiet := rollCalm("1.1.0")
		bars.Record("e2e", fmt.Sprintf("Canaries%dBesideQuiet%dToPromoted", calm, hostiles), float64(quiet.Milliseconds()), "ms")

		By("starting the hostile canaries: their analysis meets the hostile endpoints, their receivers hang")
		apply("2.0.0")
		Eventually(func(g Gomega) {
			g.Expect(endpoints.huge.Load()).To(BeNumerically(">", 0))
			// As many hanging queries as the namespace may run rounds: the
			// manager ran 8 rounds at once, and eight hanging ModelDeployments
			// held them all, so no other namespace's canary was analysed (the
			// ordinary 50 stayed at their step for minutes).
			g.Expect(endpoints.hang.Load()).To(BeNumerically(">=", analysis.DefaultMaxRoundsPerNamespace))
			g.Expect(endpoints.loud.Load()).To(BeNumerically(">", 0))
			g.Expect(endpoints.receiver.Load()).To(BeNumerically(">", 0))
		}, "3m", "1s").Should(Succeed())
		GinkgoWriter.Printf("hostile requests before the calm canaries: %s\n", endpoints.counts())

		By(fmt.Sprintf("rolling the %d ordinary ModelDeployments to their next version beside them", calm))
		asked := endpoints.ok.Load()
		beside := rollCalm("2.0.0")
		Expect(endpoints.ok.Load()-asked).To(BeNumerically(">=", calm), "every ordinary canary was analysed")
		bars.Record("e2e", fmt.Sprintf("Canaries%dBesideHostile%dToPromoted", calm, hostiles), float64(beside.Milliseconds()), "ms")
		GinkgoWriter.Printf("hostile requests by the end: %s\n", endpoints.counts())

		By("finding the manager alive, its peak memory printed")
		Expect(manager.running()).To(BeTrue(), "the manager exited; see %s", manager.logPath)
		kib, ok := peakRSS(manager.cmd.Process.Pid)
		Expect(ok).To(BeTrue())
		GinkgoWriter.Printf("manager peak memory beside %d hostile ModelDeployments: %d MiB\n", hostiles, kib/1024)
		bars.Record("e2e", fmt.Sprintf("ManagerPeakRSSBesideHostile%d", hostiles), float64(kib)/1024, "MiB")

		By("showing each hostile ModelDeployment's trouble in status in the manager's own words")
		for i := range hostiles {
			name := "md/" + hostileName(i)
			if hostileKind(i) == "overcap" {
				Eventually(func() string {
					return kubectl("-n", hostileNS, "get", name, "-o", `jsonpath={.status.conditions[?(@.type=="Stalled")].reason}: {.status.conditions[?(@.type=="Stalled")].message}`)
				}).Should(And(HavePrefix("InvalidSpec: "), ContainSubstring(fmt.Sprintf("longer than %d bytes", analysis.MaxRendered))))
				continue
			}
			Expect(kubectl("-n", hostileNS, "get", name, "-o", "jsonpath={.status.phase} {.status.candidate.version}")).
				To(Equal("Progressing 2.0.0"), "no promotion without measurements")
		}
		Eventually(func() string {
			return kubectl("-n", hostileNS, "get", "md", "-o", `jsonpath={range .items[*]}{.status.analysis.lastRound.verdict} {end}`)
		}, "3m", "1s").Should(ContainSubstring("Error"), "a round against the huge or loud Prometheus ended in Error")
		By("copying nothing of the hostile answers into status or events")
		for _, what := range []string{"md", "events"} {
			out := kubectl("-n", hostileNS, "get", what, "-o", "json")
			i := strings.Index(out, hostileMarker)
			Expect(i).To(Equal(-1), "hostile text in the %s: …%s…", what, out[max(0, i-300):max(0, i)])
		}
	})
})
