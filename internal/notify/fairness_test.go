package notify

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// TestAHangingReceiverDelaysNoOtherReceiver: a receiver that never answers
// holds many events, and another receiver's event is delivered promptly
// all the same, since each receiver has its own queue.
func TestAHangingReceiverDelaysNoOtherReceiver(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	release := make(chan struct{})
	defer close(release)
	var hung atomic.Int32
	hangs := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		hung.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	prompt := newReceiver(t, status(http.StatusOK))
	n := start(t, Options{QueueSize: 16, Timeout: time.Minute, MaxAttempts: 1})

	stuck := Receiver{Name: "hangs", Kind: KindWebhook, URL: hangs.url()}
	for range 16 {
		g.Expect(n.Send(stuck, event(ns))).To(BeTrue())
	}
	g.Eventually(hung.Load).Should(BeNumerically(">=", 1))

	began := time.Now()
	g.Expect(n.Send(Receiver{Name: "prompt", Kind: KindWebhook, URL: prompt.url()}, event(ns))).To(BeTrue())
	g.Eventually(func() float64 { return counted(ns, "prompt", ResultDelivered) }, "5s", "10ms").Should(Equal(1.0))
	t.Logf("delivered to the prompt receiver %s after it was sent, with 16 events held by a receiver that never answers", time.Since(began))
	g.Expect(hung.Load()).To(Equal(int32(1)), "one receiver's events go in order, one at a time")
}

// TestRedirectsAreNotFollowedWhicheverClient: a receiver's redirect is a
// failure, even with a client that would follow it.
func TestRedirectsAreNotFollowedWhicheverClient(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	elsewhere := newReceiver(t, status(http.StatusOK))
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.url(), http.StatusTemporaryRedirect)
	})
	n := start(t, fast(func(o *Options) { o.HTTPClient = &http.Client{} }))
	g.Expect(n.Send(Receiver{Name: "moved", Kind: KindWebhook, URL: rcv.url()}, event(ns))).To(BeTrue())
	g.Eventually(func() []ReceiverFailure { return n.Failures(ns, "fraud-scorer") }).Should(HaveLen(1))
	g.Expect(n.Failures(ns, "fraud-scorer")[0].LastError).To(HaveSuffix("HTTP 307 Temporary Redirect"))
	g.Expect(elsewhere.count()).To(BeZero())
}
