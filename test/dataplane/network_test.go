package dataplane

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func TestServiceName(t *testing.T) {
	for host, want := range map[string]string{
		"scorer.ml": "ml/scorer", "scorer.ml.svc": "ml/scorer", "scorer.ml.svc.cluster.local": "ml/scorer",
		"scorer.ml.svc.cluster.local.": "ml/scorer", "scorer": "", "a.b.c": "", "registry.example": "example/registry",
	} {
		ns, name, ok := serviceName(host)
		got := ""
		if ok {
			got = ns + "/" + name
		}
		if got != want {
			t.Errorf("serviceName(%q) = %q, want %q", host, got, want)
		}
	}
}

// serviceFixture is three model-server pods of three versions behind the
// Service ml/scorer (ClusterIP 10.96.0.7, port 80 to the pods' port), the
// third not ready. It returns the objects, the pods' IP prefix and port.
func serviceFixture(t *testing.T) (objs []runtime.Object, prefix string, port int32) {
	t.Helper()
	var ip0 string
	ip0, port = podAddr(t, 30)
	prefix = ip0[:strings.LastIndex(ip0, ".")+1]
	objs = []runtime.Object{
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "scorer", Namespace: "ml", Labels: map[string]string{"app.kubernetes.io/managed-by": "modelgate"}},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.7", ClusterIPs: []string{"10.96.0.7"},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		},
		// A Service whose pods are all gone.
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "empty", Namespace: "ml", Labels: map[string]string{"app.kubernetes.io/managed-by": "modelgate"}},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.8", ClusterIPs: []string{"10.96.0.8"},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
		},
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "scorer-abc", Namespace: "ml", Labels: map[string]string{
			"app.kubernetes.io/managed-by": "modelgate", discoveryv1.LabelServiceName: "scorer"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(port)}},
	}
	for i, version := range []string{"1.0.0", "2.0.0", "3.0.0"} {
		ip := fmt.Sprintf("%s%d", prefix, 30+i)
		objs = append(objs, modelPod(func(p *corev1.Pod) {
			p.Name, p.UID = "scorer-"+strings.ReplaceAll(version, ".", "-"), types.UID("uid-net-"+version)
			c := &p.Spec.Containers[0]
			c.Args, c.ReadinessProbe = nil, nil
			c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: port}}
			c.Env = []corev1.EnvVar{{Name: "MODEL_VERSION", Value: version}}
			p.Status.PodIP = ip
		}))
		// The third is not ready: the Service must never send it a request.
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(i < 2)}})
	}
	return append(objs, slice), prefix, port
}

// connectHealthz opens a CONNECT tunnel through the proxy to target, as a
// client does for HTTPS, and asks /healthz through it.
func connectHealthz(t *testing.T, proxyHost, target string) {
	t.Helper()
	conn, err := net.Dial("tcp", proxyHost)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT %[1]s HTTP/1.1\r\nHost: %[1]s\r\n\r\nGET /healthz HTTP/1.1\r\nHost: pod\r\n\r\n", target)
	br := bufio.NewReader(conn)
	connected, err := http.ReadResponse(br, nil)
	if err != nil || connected.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %v %v", connected, err)
	}
	health, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(health.Body)
	if health.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != "ok" {
		t.Errorf("healthz through the tunnel: %d %q", health.StatusCode, b)
	}
}

// predictViaService posts a payment to a Service and returns the version that
// answered and the endpoint the proxy named.
func predictViaService(t *testing.T, client *http.Client, target string) (version, endpoint string) {
	t.Helper()
	resp, err := client.Post(target+"/predict", "application/json", strings.NewReader(
		`{"features": {"amount": 42.5, "hour": 14, "merchant_risk": 0.2, "distance_km": 3, "transactions_24h": 2, "card_present": 1, "foreign": 0, "account_age_days": 900}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct{ Version string }
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("predict at %s: %d %v", target, resp.StatusCode, err)
	}
	return answer.Version, resp.Header.Get(EndpointHeader)
}

// feedbackCounts reads model_feedback_total's correct and wrong outcomes
// from a model server's /metrics.
func feedbackCounts(t *testing.T, metricsURL string) (correct, wrong float64) {
	t.Helper()
	_, metrics, err := getBody(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(metrics, "\n") {
		if !strings.HasPrefix(line, "model_feedback_total{") {
			continue
		}
		var v float64
		_, _ = fmt.Sscanf(line[strings.LastIndex(line, " ")+1:], "%g", &v)
		if strings.Contains(line, `outcome="correct"`) {
			correct += v
		} else {
			wrong += v
		}
	}
	return correct, wrong
}

// getThrough sends a GET with client.
func getThrough(client *http.Client, target string) (int, string, error) {
	resp, err := client.Get(target)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// statusOf posts nothing to target and returns "<status>: <body>".
func statusOf(t *testing.T, client *http.Client, target string) string {
	t.Helper()
	resp, err := client.Post(target, "text/plain", nil)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status + ": " + strings.TrimSpace(string(b))
}

// Three pods behind a Service, one of them not ready, and the proxy between
// a client and them, as the pod network and kube-proxy would be.
func TestProxyRoutesPodIPsAndServices(t *testing.T) {
	objs, prefix, port := serviceFixture(t)
	outside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "outside") }))
	defer outside.Close()

	r, err := Start(context.Background(), fake.NewClientset(objs...), Options{ModelServer: modelServer, LogDir: t.TempDir(), ProxyAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	proxyURL, err := url.Parse(r.ProxyURL())
	if err != nil || r.ProxyURL() == "" {
		t.Fatalf("proxy URL %q: %v", r.ProxyURL(), err)
	}
	// One kept-alive connection to the proxy: each request still picks its own endpoint.
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	eventually(t, "each pod IP reaches its own process", func() error {
		for i := range 3 {
			if code, _, err := getThrough(client, fmt.Sprintf("http://%s%d:%d/readyz", prefix, 30+i, port)); err != nil || code != 200 {
				return fmt.Errorf("pod %d: %d %v", i, code, err)
			}
		}
		return nil
	})
	for i, want := range []string{"1.0.0", "2.0.0", "3.0.0"} {
		if got := predictAt(t, client, fmt.Sprintf("http://%s%d:%d", prefix, 30+i, port)); got != want {
			t.Errorf("pod %d answered version %s, want %s", i, got, want)
		}
	}
	for _, target := range []string{"http://10.96.0.7:80", "http://scorer.ml:80", "http://scorer.ml.svc.cluster.local:80"} {
		seen := map[string]int{}
		for range 40 {
			version, endpoint := predictViaService(t, client, target)
			seen[version]++
			// The answer names the pod that gave it.
			if want := fmt.Sprintf("%s%d:%d", prefix, 30+map[string]int{"1.0.0": 0, "2.0.0": 1}[version], port); endpoint != want {
				t.Errorf("%s: version %s answered from %s, want %s", target, version, endpoint, want)
			}
		}
		if seen["1.0.0"] == 0 || seen["2.0.0"] == 0 || seen["3.0.0"] != 0 {
			t.Errorf("%s: answers by version %v, want both ready pods, each request on its own, and never the unready one", target, seen)
		}
	}

	for target, want := range map[string]string{
		"http://empty.ml:80":      "503 Service Unavailable: local data plane: POST http://empty.ml:80/: service ml/empty port 80: no ready endpoint",
		"http://scorer.ml:81":     "502 Bad Gateway: local data plane: POST http://scorer.ml:81/: service ml/scorer has no port 81",
		outside.URL + "/anything": "200 OK: outside",
		"http://127.0.0.1:1":      "502 Bad Gateway", // not a pod: sent where it was going, where nothing listens
	} {
		if got := statusOf(t, client, target); !strings.HasPrefix(got, want) {
			t.Errorf("%s answered %q, want %q", target, got, want)
		}
	}

	connectHealthz(t, proxyURL.Host, fmt.Sprintf("%s30:%d", prefix, port))
}

// Traffic through a Service reaches both ready pods, and every answered
// payment's label is accepted by the pod that answered.
func TestTrafficThroughAServiceFeedsBackToThePodThatAnswered(t *testing.T) {
	objs, prefix, port := serviceFixture(t)
	r, err := Start(context.Background(), fake.NewClientset(objs...), Options{ModelServer: modelServer, LogDir: t.TempDir(), ProxyAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	eventually(t, "both ready pods answer", func() error {
		for i := range 2 {
			local, _ := LocalIP(fmt.Sprintf("%s%d", prefix, 30+i))
			if code, _, err := getBody(fmt.Sprintf("http://%s:%d/readyz", local, port)); err != nil || code != 200 {
				return fmt.Errorf("pod %d: %d %v", i, code, err)
			}
		}
		return nil
	})
	if _, err := StartTraffic(TrafficOptions{Proxy: r.ProxyURL(), Target: "http://scorer.ml:80"}); err == nil {
		t.Error("traffic at no rate was accepted")
	}
	traffic, err := StartTraffic(TrafficOptions{Proxy: r.ProxyURL(), Target: "http://scorer.ml:80", RPS: 200, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a hundred payments answered", func() error {
		if s := traffic.Stats(); s.Codes[200] < 100 {
			return fmt.Errorf("%+v", s)
		}
		return nil
	})
	s := traffic.Stop()
	if s.Failed != 0 || s.Dropped != 0 || s.Codes[200] != s.Sent || s.Feedback != s.Codes[200] {
		t.Errorf("stats %+v, want every payment answered 200 and its label accepted", s)
	}
	if s.Versions["1.0.0"] == 0 || s.Versions["2.0.0"] == 0 || s.Versions["3.0.0"] != 0 {
		t.Errorf("answers by version %v, want both ready pods and never the unready one", s.Versions)
	}
	// The pods counted the outcomes: about 94% correct, as the model is.
	var correct, total float64
	for i := range 2 {
		local, _ := LocalIP(fmt.Sprintf("%s%d", prefix, 30+i))
		c, w := feedbackCounts(t, fmt.Sprintf("http://%s:%d/metrics", local, port))
		correct, total = correct+c, total+c+w
	}
	if int(total) != s.Feedback || correct/total < 0.85 {
		t.Errorf("the pods counted %g outcomes (%g correct), want %d at about 94%% correct", total, correct, s.Feedback)
	}
}
