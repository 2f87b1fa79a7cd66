package loadtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

const prediction = `{"prediction": "0", "confidence": 0.90, "scores": {"fraud": 0.12, "legit": 0.88},
	"items": [{"id": 7}, {"id": 8}], "model": {"version": "2.6.0"}}`

// modelServer is a stand-in model server: it records the requests it gets.
type modelServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "METHOD path body"
}

func newModelServer(t *testing.T) *modelServer {
	s := &modelServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /predict", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "JSON only", http.StatusUnsupportedMediaType)
			return
		}
		_, _ = io.WriteString(w, prediction)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("GET /error", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
	mux.HandleFunc("GET /hang", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.seen = append(s.seen, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(b)))
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *modelServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// host is the server's host:port, as messages name it.
func (s *modelServer) host() string { return strings.TrimPrefix(s.URL, "http://") }

// countingServer counts requests and answers them with handler.
func countingServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if handler != nil {
			handler(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func predict(fields ...servingv1alpha1.ExpectedField) servingv1alpha1.SmokeRequest {
	return servingv1alpha1.SmokeRequest{Method: http.MethodPost, Path: "/predict", Body: `{"amount": 12.5}`, ExpectedFields: fields}
}

func field(path, value string) servingv1alpha1.ExpectedField {
	return servingv1alpha1.ExpectedField{Path: path, Value: value}
}

func smokeSpec(reqs ...servingv1alpha1.SmokeRequest) servingv1alpha1.SmokeTestSpec {
	return servingv1alpha1.SmokeTestSpec{Requests: reqs}
}

func TestSmokePassesWhenEveryAnswerIsAsDeclared(t *testing.T) {
	g := NewWithT(t)
	a, b := newModelServer(t), newModelServer(t)
	spec := smokeSpec(
		servingv1alpha1.SmokeRequest{Path: "/healthz"},
		predict(field("prediction", `"0"`), field("scores.fraud", ""), field("items.1.id", "8"),
			field("confidence", "0.9"), field("model", `{ "version" : "2.6.0" }`), field("model.version", "2.6.0")),
		servingv1alpha1.SmokeRequest{Path: "/error", ExpectedStatus: 500},
	)

	r := Smoke(context.Background(), nil, []string{a.URL, b.URL + "/"}, spec)

	g.Expect(r.Passed).To(BeTrue(), r.Message)
	g.Expect(r.Checked).To(Equal(6))
	g.Expect(r.Message).To(Equal("6 requests to 2 endpoints answered as declared"))
	for _, s := range []*modelServer{a, b} {
		g.Expect(s.requests()).To(Equal([]string{"GET /healthz", `POST /predict {"amount": 12.5}`, "GET /error"}),
			"each endpoint gets every request, in order")
	}
}

func TestSmokeNamesTheFirstFailure(t *testing.T) {
	s := newModelServer(t)
	for _, tc := range []struct {
		name        string
		req         servingv1alpha1.SmokeRequest
		want        string
		wantChecked int
	}{{
		name: "wrong status",
		req:  servingv1alpha1.SmokeRequest{Path: "/error"},
		want: "GET /error to HOST answered 500, expected 200",
	}, {
		name: "wrong status on POST",
		req:  servingv1alpha1.SmokeRequest{Method: http.MethodPost, Path: "/predict", ExpectedStatus: 201},
		want: "POST /predict to HOST answered 415, expected 201",
	}, {
		name: "missing field",
		req:  predict(field("scores.fraud", ""), field("scores.churn", "")),
		want: "POST /predict to HOST: field scores.churn missing",
	}, {
		name: "wrong string value",
		req:  predict(field("prediction", `"1"`)),
		want: `POST /predict to HOST: field prediction is "0", expected "1"`,
	}, {
		name: "wrong string value written bare",
		req:  predict(field("prediction", "1")),
		want: `POST /predict to HOST: field prediction is "0", expected 1`,
	}, {
		name: "a number expected, a string answered",
		req:  predict(field("prediction", "0")),
		want: `POST /predict to HOST: field prediction is "0", expected 0`,
	}, {
		name: "wrong number",
		req:  predict(field("confidence", "0.95")),
		want: "POST /predict to HOST: field confidence is 0.90, expected 0.95",
	}, {
		name: "array index beyond the end",
		req:  predict(field("items.2.id", "")),
		want: "POST /predict to HOST: field items.2.id missing",
	}, {
		name: "array index not a number",
		req:  predict(field("items.first", "")),
		want: "POST /predict to HOST: field items.first missing",
	}, {
		name: "path through a scalar",
		req:  predict(field("prediction.value", "")),
		want: "POST /predict to HOST: field prediction.value missing",
	}, {
		name: "an answer that is not JSON",
		req:  servingv1alpha1.SmokeRequest{Path: "/healthz", ExpectedFields: []servingv1alpha1.ExpectedField{field("status", "")}},
		want: `GET /healthz to HOST: the answer is not JSON`, // the answer itself is not read back
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			r := Smoke(context.Background(), nil, []string{s.URL},
				smokeSpec(servingv1alpha1.SmokeRequest{Path: "/healthz"}, tc.req, servingv1alpha1.SmokeRequest{Path: "/healthz"}))
			g.Expect(r.Passed).To(BeFalse())
			g.Expect(r.Message).To(Equal(strings.ReplaceAll(tc.want, "HOST", s.host())))
			g.Expect(r.Checked).To(Equal(2), "it stops at the first failure")
		})
	}
}

func TestSmokeGivesUpOnAnEndpointThatDoesNotAnswer(t *testing.T) {
	g := NewWithT(t)
	s := newModelServer(t)
	spec := smokeSpec(servingv1alpha1.SmokeRequest{Path: "/hang"})
	spec.Timeout = &metav1.Duration{Duration: 100 * time.Millisecond}

	start := time.Now()
	r := Smoke(context.Background(), nil, []string{s.URL}, spec)

	g.Expect(r.Passed).To(BeFalse())
	g.Expect(r.Message).To(Equal("GET /hang to " + s.host() + " did not answer within 100ms"))
	g.Expect(time.Since(start)).To(BeNumerically("<", time.Second))
}

func TestSmokeFailsOnAnEndpointThatIsDown(t *testing.T) {
	g := NewWithT(t)
	s := httptest.NewServer(http.NotFoundHandler())
	s.Close()

	r := Smoke(context.Background(), nil, []string{s.URL}, smokeSpec(servingv1alpha1.SmokeRequest{Path: "/healthz"}))

	g.Expect(r.Passed).To(BeFalse())
	g.Expect(r.Message).To(Equal("GET /healthz to " + strings.TrimPrefix(s.URL, "http://") + " refused the connection"))
	g.Expect(r.Checked).To(Equal(1))
}

func TestSmokeFailsWithoutEndpoints(t *testing.T) {
	g := NewWithT(t)
	spec := smokeSpec(servingv1alpha1.SmokeRequest{Path: "/healthz"})

	r := Smoke(context.Background(), nil, nil, spec)
	g.Expect(r).To(Equal(SmokeResult{Message: "the candidate has no ready endpoint to test"}))

	for _, bad := range []string{"10.0.0.12:8080", "ftp://10.0.0.12", "http://10.0.0.12:8080/predict", "http://user:pw@10.0.0.12", "http://10.0.0.12?x=1"} {
		r = Smoke(context.Background(), nil, []string{bad}, spec)
		g.Expect(r.Passed).To(BeFalse())
		g.Expect(r.Message).To(ContainSubstring("is not a base URL such as http://10.0.0.12:8080"), bad)
	}
}

func TestSmokeNeverLeavesTheTargets(t *testing.T) {
	g := NewWithT(t)
	elsewhere, hits := countingServer(t, nil)
	s, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/predict", http.StatusFound)
	})

	r := Smoke(context.Background(), http.DefaultClient, []string{s.URL}, smokeSpec(servingv1alpha1.SmokeRequest{Path: "/predict"}))
	g.Expect(r.Message).To(HaveSuffix("answered 302, expected 200"), "a redirect is the answer")

	r = Smoke(context.Background(), nil, []string{s.URL}, smokeSpec(servingv1alpha1.SmokeRequest{Path: "//" + elsewhere.Listener.Addr().String() + "/predict", ExpectedStatus: 302}))
	g.Expect(r.Passed).To(BeTrue(), "a path that looks like a host is still a path on the target: %s", r.Message)
	g.Expect(hits.Load()).To(BeZero())
}

func TestSmokeStopsWhenCancelled(t *testing.T) {
	g := NewWithT(t)
	s := newModelServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	r := Smoke(ctx, nil, []string{s.URL}, smokeSpec(servingv1alpha1.SmokeRequest{Path: "/healthz"}))

	g.Expect(r.Passed).To(BeFalse())
	g.Expect(r.Message).To(Equal("the smoke test was cancelled before it finished"))
	g.Expect(s.requests()).To(BeEmpty())
}

func TestSmokeStopsOtherEndpointsAtTheFirstFailure(t *testing.T) {
	g := NewWithT(t)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	hanging := newModelServer(t)
	spec := smokeSpec(servingv1alpha1.SmokeRequest{Path: "/hang"})
	spec.Timeout = &metav1.Duration{Duration: time.Minute}

	start := time.Now()
	r := Smoke(context.Background(), nil, []string{hanging.URL, down.URL}, spec)

	g.Expect(r.Message).To(HaveSuffix("refused the connection"))
	g.Expect(time.Since(start)).To(BeNumerically("<", 5*time.Second), "the hanging request is cancelled, not waited for")
}
