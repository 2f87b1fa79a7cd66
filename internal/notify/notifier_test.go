package notify

import (
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestDeliversTheWebhookDocument(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	rcv := newReceiver(t, status(http.StatusNoContent))
	n := start(t, fast())

	ev := event(ns)
	g.Expect(n.Send(Receiver{Name: "audit", Kind: KindWebhook, URL: rcv.url()}, ev)).To(BeTrue())

	g.Eventually(rcv.count).Should(Equal(1))
	req := rcv.got()[0]
	g.Expect(req.method).To(Equal(http.MethodPost))
	g.Expect(req.path).To(Equal(secretPath))
	g.Expect(req.headers.Get("Content-Type")).To(Equal("application/json"))
	g.Expect(req.headers.Get("X-Modelgate-Event-Id")).To(Equal("990288e7a1401038f5685bc10a9b3f48"))
	g.Expect(req.body).To(Equal(`{"schema":"modelgate.dev/notification/v1","id":"990288e7a1401038f5685bc10a9b3f48",` +
		`"type":"RolledBack","time":"2026-11-25T12:00:00Z","namespace":"` + ns + `","name":"fraud-scorer",` +
		`"version":"2.4.0","previousVersion":"2.3.0","reason":"ErrorRateBreached",` +
		`"message":"error rate 7.2% is above the bound 5%","fields":{"bound":"5","metric":"errorRate","value":"7.2"}}`))
	g.Eventually(func() float64 { return counted(ns, "audit", ResultDelivered) }).Should(Equal(1.0))
	g.Expect(n.Failures(ns, "fraud-scorer")).To(BeEmpty())
}

func TestDeliversTheSlackMessage(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	n := start(t, fast())

	g.Expect(n.Send(Receiver{Name: "ops", Kind: KindSlack, URL: rcv.url()}, event(ns))).To(BeTrue())

	g.Eventually(rcv.count).Should(Equal(1))
	g.Expect(rcv.got()[0].body).To(Equal(`{"text":":rewind: *Rolled back* ` + ns + `/fraud-scorer 2.4.0 (previous 2.3.0)\n` +
		`ErrorRateBreached: error rate 7.2% is above the bound 5%\nmetric: errorRate · value: 7.2 · bound: 5"}`))
	g.Eventually(func() float64 { return counted(ns, "ops", ResultDelivered) }).Should(Equal(1.0))
}

func TestRetriesA500ThenDelivers(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	rcv := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	n := start(t, fast())

	g.Expect(n.Send(Receiver{Name: "audit", Kind: KindWebhook, URL: rcv.url()}, event(ns))).To(BeTrue())

	g.Eventually(func() float64 { return counted(ns, "audit", ResultDelivered) }).Should(Equal(1.0))
	got := rcv.got()
	g.Expect(got).To(HaveLen(2))
	g.Expect(got[1].body).To(Equal(got[0].body))
	g.Expect(got[1].headers.Get("X-Modelgate-Event-Id")).To(Equal(got[0].headers.Get("X-Modelgate-Event-Id")))
	g.Expect(counted(ns, "audit", ResultFailed)).To(BeZero())
	g.Expect(n.Failures(ns, "fraud-scorer")).To(BeEmpty())
}

func TestDoesNotRetryOtherClientErrors(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("invalid_payload; internal: db-password=hunter2\n"))
	})
	n := start(t, fast())

	g.Expect(n.Send(Receiver{Name: "ops", Kind: KindSlack, URL: rcv.url()}, event(ns))).To(BeTrue())

	g.Eventually(func() []ReceiverFailure { return n.Failures(ns, "fraud-scorer") }).Should(HaveLen(1))
	f := n.Failures(ns, "fraud-scorer")[0]
	g.Expect(f.Attempts).To(Equal(1))
	g.Expect(f.LastError).To(Equal("POST "+rcv.URL+"/…: HTTP 400 Bad Request"), "the status code only: the answer's body is not read back")
	g.Expect(rcv.count()).To(Equal(1))
	g.Expect(counted(ns, "ops", ResultFailed)).To(Equal(1.0))
}

func TestReceiverDownIsRetriedThenFailing(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	down := newReceiver(t, status(http.StatusOK))
	url := down.url()
	down.Close() // connection refused from now on
	n := start(t, fast())
	r := Receiver{Name: "audit", Kind: KindWebhook, URL: url}

	g.Expect(n.Send(r, event(ns))).To(BeTrue())

	g.Eventually(func() float64 { return counted(ns, "audit", ResultFailed) }).Should(Equal(1.0))
	failures := n.Failures(ns, "fraud-scorer")
	g.Expect(failures).To(HaveLen(1))
	f := failures[0]
	g.Expect(f.Receiver).To(Equal("audit"))
	g.Expect(f.Attempts).To(Equal(3))
	g.Expect(f.Failed).To(Equal(1))
	g.Expect(f.Since).NotTo(BeZero())
	g.Expect(f.LastError).To(And(HavePrefix("POST "+down.URL+"/…: "), ContainSubstring("connection refused")))
	g.Expect(Summary(failures)).To(HavePrefix("notifications failing: audit since "))

	// While failing, an event gets one attempt, so a receiver that is down
	// does not hold the workers.
	ev := event(ns)
	ev.Type = Promoted
	g.Expect(n.Send(r, ev)).To(BeTrue())
	g.Eventually(func() float64 { return counted(ns, "audit", ResultFailed) }).Should(Equal(2.0))
	f2 := n.Failures(ns, "fraud-scorer")[0]
	g.Expect(f2.Attempts).To(Equal(4))
	g.Expect(f2.Failed).To(Equal(2))
	g.Expect(f2.Since).To(Equal(f.Since))

	for _, s := range []string{f2.LastError, Summary(n.Failures(ns, "fraud-scorer")), n.log.String()} {
		g.Expect(s).NotTo(ContainSubstring(secret))
	}
	g.Expect(n.log.String()).To(ContainSubstring("Notification not delivered"))
}

func TestAFailingReceiverIsClearedByADelivery(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	up := make(chan struct{})
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		select {
		case <-up:
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	n := start(t, fast(func(o *Options) { o.MaxAttempts = 2 }))
	r := Receiver{Name: "audit", Kind: KindWebhook, URL: rcv.url()}

	g.Expect(n.Send(r, event(ns))).To(BeTrue())
	g.Eventually(func() []ReceiverFailure { return n.Failures(ns, "fraud-scorer") }).Should(HaveLen(1))
	g.Expect(n.Failures(ns, "fraud-scorer")[0].LastError).To(Equal("POST " + rcv.URL + "/…: HTTP 503 Service Unavailable"))

	close(up)
	g.Expect(n.Send(r, event(ns))).To(BeTrue())
	g.Eventually(func() float64 { return counted(ns, "audit", ResultDelivered) }).Should(Equal(1.0))
	g.Expect(n.Failures(ns, "fraud-scorer")).To(BeEmpty())
	g.Expect(n.log.String()).To(ContainSubstring("Notification receiver recovered"))
}

func TestFailureThreshold(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	rcv := newReceiver(t, status(http.StatusNotFound))
	n := start(t, fast(func(o *Options) { o.FailureThreshold = 2 }))
	r := Receiver{Name: "audit", Kind: KindWebhook, URL: rcv.url()}

	g.Expect(n.Send(r, event(ns))).To(BeTrue())
	g.Eventually(func() float64 { return counted(ns, "audit", ResultFailed) }).Should(Equal(1.0))
	g.Expect(n.Failures(ns, "fraud-scorer")).To(BeEmpty())

	g.Expect(n.Send(r, event(ns))).To(BeTrue())
	g.Eventually(func() []ReceiverFailure { return n.Failures(ns, "fraud-scorer") }).Should(HaveLen(1))
	g.Expect(n.Failures(ns, "fraud-scorer")[0].Failed).To(Equal(2))
}

func TestAnAttemptTimesOut(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	rcv := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	n := start(t, fast(func(o *Options) { o.Timeout = 50 * time.Millisecond; o.MaxAttempts = 2 }))

	g.Expect(n.Send(Receiver{Name: "slow", Kind: KindWebhook, URL: rcv.url()}, event(ns))).To(BeTrue())

	g.Eventually(func() []ReceiverFailure { return n.Failures(ns, "fraud-scorer") }).Should(HaveLen(1))
	f := n.Failures(ns, "fraud-scorer")[0]
	g.Expect(f.Attempts).To(Equal(2))
	g.Expect(f.LastError).To(Equal("POST " + rcv.URL + "/…: no answer within 50ms"))
	g.Expect(rcv.count()).To(Equal(2))
}

// TestSendNeverBlocks is the bar: a receiver that hangs does not delay
// a rollback by even one interval. The receiver's delivery is stuck on an
// answer that never comes, its queue fills, and Send still returns at once.
func TestSendNeverBlocks(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	release := make(chan struct{})
	inFlight := make(chan struct{}, 100)
	rcv := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		inFlight <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	const timeout = 30 * time.Second
	n := start(t, Options{QueueSize: 8, Timeout: timeout, MaxAttempts: 3})
	r := Receiver{Name: "hangs", Kind: KindWebhook, URL: rcv.url()}

	// The receiver's delivery takes an event and hangs.
	g.Expect(n.Send(r, event(ns))).To(BeTrue())
	g.Eventually(inFlight).Should(Receive())

	const more = 1000
	var slowest time.Duration
	queued := 0
	began := time.Now()
	for range more {
		t0 := time.Now()
		if n.Send(r, event(ns)) {
			queued++
		}
		slowest = max(slowest, time.Since(t0))
	}
	elapsed := time.Since(began)
	t.Logf("%d Sends with the delivery stuck on a hanging receiver: %s in all, the slowest %s (attempt timeout %s)",
		more, elapsed, slowest, timeout)

	g.Expect(elapsed).To(BeNumerically("<", time.Second), "well under the attempt timeout and any reconcile interval")
	g.Expect(queued).To(Equal(8))
	g.Expect(counted(ns, "hangs", ResultDropped)).To(Equal(float64(more - 8)))

	// Stopping cancels the hung attempts: Start returns (asserted at the
	// test's end), and what was still queued is counted as dropped.
	n.stop(t)
	g.Expect(counted(ns, "hangs", ResultDropped)).To(Equal(float64(more - 8 + 8 + 1)))
	g.Expect(n.Send(r, event(ns))).To(BeFalse())
	g.Expect(n.Failures(ns, "fraud-scorer")).To(BeEmpty(), "stopping is not the receiver's failure")
}

func TestAFullQueueDrops(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	rcv := newReceiver(t, status(http.StatusOK))
	n := &running{Notifier: New(fast(func(o *Options) { o.QueueSize = 2 })), log: &syncBuffer{}, done: make(chan error, 1)}
	r := Receiver{Name: "audit", Kind: KindWebhook, URL: rcv.url()}

	// Not started yet: the queue holds two.
	g.Expect(n.Send(r, event(ns))).To(BeTrue())
	g.Expect(n.Send(r, event(ns))).To(BeTrue())
	g.Expect(n.Send(r, event(ns))).To(BeFalse())
	g.Expect(counted(ns, "audit", ResultDropped)).To(Equal(1.0))

	n.run(t)
	g.Eventually(func() float64 { return counted(ns, "audit", ResultDelivered) }).Should(Equal(2.0))
	g.Expect(n.Send(r, event(ns))).To(BeTrue())
	g.Eventually(func() float64 { return counted(ns, "audit", ResultDelivered) }).Should(Equal(3.0))
}

func TestRetryAfterIsHonoured(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	clk := clocktesting.NewFakeClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	rcv := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.Header().Set("Retry-After", "3600") // beyond Backoff.Max: waits the max
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	n := start(t, Options{Clock: clk, MaxAttempts: 3, Backoff: Backoff{Initial: time.Second, Max: time.Minute}})

	g.Expect(n.Send(Receiver{Name: "limited", Kind: KindWebhook, URL: rcv.url()}, event(ns))).To(BeTrue())

	// The worker waits 7s on the clock, not the backoff's 1s.
	g.Eventually(clk.HasWaiters).Should(BeTrue())
	g.Expect(rcv.count()).To(Equal(1))
	clk.Step(7*time.Second - time.Millisecond)
	g.Expect(clk.HasWaiters()).To(BeTrue(), "still waiting after 6.999s")
	g.Expect(rcv.count()).To(Equal(1))
	clk.Step(time.Millisecond)
	g.Eventually(rcv.count).Should(Equal(2))

	// A Retry-After beyond the maximum waits the maximum.
	g.Eventually(clk.HasWaiters).Should(BeTrue())
	clk.Step(time.Minute - time.Millisecond)
	g.Expect(clk.HasWaiters()).To(BeTrue(), "still waiting after 59.999s")
	clk.Step(time.Millisecond)
	g.Eventually(func() float64 { return counted(ns, "limited", ResultDelivered) }).Should(Equal(1.0))
	g.Expect(rcv.count()).To(Equal(3))
}

func TestABadReceiverFailsAtOnce(t *testing.T) {
	ns := namespace(t)
	tests := []struct {
		name     string
		receiver Receiver
		want     string
	}{
		{"no URL", Receiver{Name: "a", Kind: KindWebhook}, "the receiver has no URL"},
		{"not http", Receiver{Name: "b", Kind: KindSlack, URL: "ftp://files.example/" + secret}, "the receiver's URL is not http:// or https://"},
		{"not a URL", Receiver{Name: "c", Kind: KindSlack, URL: "https://hooks.example/%zz" + secret}, "the receiver's URL cannot be parsed"},
		{"unknown kind", Receiver{Name: "d", Kind: "teams", URL: "https://hooks.example/" + secret}, `unknown receiver kind "teams": want webhook or slack`},
	}
	n := New(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(n.Send(tt.receiver, event(ns))).To(BeFalse())
			g.Expect(counted(ns, tt.receiver.Name, ResultFailed)).To(Equal(1.0))
			var f *ReceiverFailure
			for _, rf := range n.Failures(ns, "fraud-scorer") {
				if rf.Receiver == tt.receiver.Name {
					f = &rf
				}
			}
			g.Expect(f).NotTo(BeNil())
			g.Expect(f.LastError).To(Equal(tt.want))
		})
	}
}

func TestStartTwice(t *testing.T) {
	g := NewWithT(t)
	n := start(t, fast())
	g.Eventually(n.started.Load).Should(BeTrue())
	g.Expect(n.Start(t.Context())).To(MatchError("the notifier was already started"))
}

func TestForget(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	n := New(Options{})
	g.Expect(n.Send(Receiver{Name: "a", Kind: KindWebhook}, event(ns))).To(BeFalse())
	other := event(ns)
	other.Name = "other"
	g.Expect(n.Send(Receiver{Name: "a", Kind: KindWebhook}, other)).To(BeFalse())
	g.Expect(n.Failures(ns, "fraud-scorer")).To(HaveLen(1))

	n.Forget(ns, "fraud-scorer")
	g.Expect(n.Failures(ns, "fraud-scorer")).To(BeEmpty())
	g.Expect(counted(ns, "a", ResultFailed)).To(BeZero())
	g.Expect(n.Failures(ns, "other")).To(HaveLen(1))
}

func TestSendCopiesTheFields(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	rcv := newReceiver(t, status(http.StatusOK))
	n := &running{Notifier: New(fast()), log: &syncBuffer{}, done: make(chan error, 1)}
	ev := event(ns)
	g.Expect(n.Send(Receiver{Name: "audit", Kind: KindWebhook, URL: rcv.url()}, ev)).To(BeTrue())
	ev.Fields[FieldValue] = "changed after Send"
	n.run(t)
	g.Eventually(rcv.count).Should(Equal(1))
	g.Expect(rcv.got()[0].body).To(ContainSubstring(`"value":"7.2"`))
	g.Expect(strings.Contains(rcv.got()[0].body, "changed")).To(BeFalse())
}
