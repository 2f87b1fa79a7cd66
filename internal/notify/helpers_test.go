package notify

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// secret is the credential in every receiver URL; it must show nowhere.
const secret = "s3cr3t-T0KEN"

// secretPath is a Slack-like webhook path carrying the secret.
const secretPath = "/services/T000/B000/" + secret

// request is what a test receiver got.
type request struct {
	method  string
	path    string
	headers http.Header
	body    string
}

// testReceiver is an httptest server that answers with answer(n) for its
// n-th request (from 1) and records each request.
type testReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []request
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *testReceiver {
	rcv := &testReceiver{}
	rcv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rcv.mu.Lock()
		rcv.requests = append(rcv.requests, request{method: r.Method, path: r.URL.Path, headers: r.Header.Clone(), body: string(body)})
		n := len(rcv.requests)
		rcv.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(rcv.Close)
	return rcv
}

func (r *testReceiver) got() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.requests...)
}

func (r *testReceiver) count() int { return len(r.got()) }

// url is the receiver's URL with the secret in its path.
func (r *testReceiver) url() string { return r.URL + secretPath }

func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// syncBuffer is a log sink safe for the workers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is a started Notifier with its log.
type running struct {
	*Notifier
	log    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// start starts a Notifier with opts; the test's end stops it and asserts
// that Start returned, so no worker is left behind.
func start(t *testing.T, opts Options) *running {
	r := &running{Notifier: New(opts), log: &syncBuffer{}, done: make(chan error, 1)}
	r.run(t)
	return r
}

func (r *running) run(t *testing.T) {
	logger := zap.New(zap.WriteTo(r.log), zap.UseDevMode(true))
	ctx, cancel := context.WithCancel(ctrllog.IntoContext(context.Background(), logger))
	r.cancel = cancel
	go func() { r.done <- r.Start(ctx) }()
	t.Cleanup(func() { r.stop(t) })
}

// stop cancels Start and waits for it to return.
func (r *running) stop(t *testing.T) {
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Start returned %v", err)
		}
		r.done <- nil // for a second stop
	case <-time.After(10 * time.Second):
		t.Error("Start did not return within 10s of its context being cancelled")
	}
}

// fast are options for tests on the real clock: short waits between attempts.
func fast(mut ...func(*Options)) Options {
	o := Options{QueueSize: 16, Timeout: 5 * time.Second, MaxAttempts: 3,
		Backoff: Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}}
	for _, m := range mut {
		m(&o)
	}
	return o
}

// namespace is a namespace of the test's own, so that the counters of one
// test do not show in another's.
// Its series are reset, so that the test can run again (-count).
func namespace(t *testing.T) string {
	ns := strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	notifications.DeletePartialMatch(map[string]string{"namespace": ns})
	return ns
}

func event(ns string) Event {
	return Event{Type: RolledBack, Namespace: ns, Name: "fraud-scorer", Version: "2.4.0", Previous: "2.3.0",
		Reason: "ErrorRateBreached", Message: "error rate 7.2% is above the bound 5%",
		Time:   time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Fields: map[string]string{FieldMetric: "errorRate", FieldValue: "7.2", FieldBound: "5"}}
}

// counted is modelgate_notifications_total for the labels, from the registry
// the manager serves.
func counted(ns, receiver, result string) float64 {
	mfs, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "modelgate_notifications_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == ns && labels["modeldeployment"] == "fraud-scorer" &&
				labels["receiver"] == receiver && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
