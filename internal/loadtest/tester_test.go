package loadtest

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// The manager runs a Tester and stops it with itself.
var _ manager.Runnable = (*Tester)(nil)

// gate is a job that runs until released or cancelled, counting its starts,
// its cancellations and its returns.
type gate struct {
	release  chan struct{}
	started  atomic.Int32
	canceled atomic.Int32
	returned atomic.Int32
	out      Outcome
}

func newGate(out Outcome) *gate { return &gate{release: make(chan struct{}), out: out} }

func (j *gate) run(ctx context.Context) Outcome {
	j.started.Add(1)
	defer j.returned.Add(1)
	select {
	case <-j.release:
		return j.out
	case <-ctx.Done():
		j.canceled.Add(1)
		return Outcome{Err: ctx.Err()}
	}
}

func key(name, version string) Key {
	return Key{Namespace: "ml", Name: name, Version: version, SpecHash: "h1"}
}

var passed = Outcome{Load: &servingv1alpha1.LoadTestStatus{Verdict: servingv1alpha1.VerdictPass}}

// counts returns the jobs running and waiting.
func counts(tr *Tester) func() [2]int {
	return func() [2]int {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return [2]int{tr.running, len(tr.queue)}
	}
}

func TestTesterRunsAJobOnceAndKeepsItsOutcome(t *testing.T) {
	g := NewWithT(t)
	var notified []Key
	var mu sync.Mutex
	tr := &Tester{OnDone: func(k Key) { mu.Lock(); notified = append(notified, k); mu.Unlock() }}
	defer tr.Stop()
	j := newGate(passed)
	k := key("fraud", "2.6.0")

	for range 3 {
		out, done := tr.Ensure(k, j.run)
		g.Expect(done).To(BeFalse())
		g.Expect(out).To(Equal(Outcome{}))
	}
	g.Eventually(j.started.Load).Should(BeEquivalentTo(1))
	close(j.release)
	g.Eventually(func() bool { _, done := tr.Ensure(k, j.run); return done }).Should(BeTrue())

	out, done := tr.Ensure(k, j.run)
	g.Expect(done).To(BeTrue())
	g.Expect(out).To(Equal(passed))
	g.Expect(out.Passed()).To(BeTrue())
	g.Expect(j.started.Load()).To(BeEquivalentTo(1), "started once")
	mu.Lock()
	g.Expect(notified).To(Equal([]Key{k}))
	mu.Unlock()

	tr.Forget(k)
	_, done = tr.Ensure(k, j.run)
	g.Expect(done).To(BeFalse(), "forgotten: asked again, it runs again")
	g.Eventually(j.started.Load).Should(BeEquivalentTo(2))
}

func TestTesterReplacesAJobWhenTheVersionOrSpecChanges(t *testing.T) {
	g := NewWithT(t)
	var notified atomic.Int32
	tr := &Tester{OnDone: func(Key) { notified.Add(1) }}
	defer tr.Stop()
	old, respecced, next := newGate(passed), newGate(passed), newGate(passed)

	tr.Ensure(key("fraud", "2.6.0"), old.run)
	g.Eventually(old.started.Load).Should(BeEquivalentTo(1))

	changed := key("fraud", "2.6.0")
	changed.SpecHash = "h2"
	tr.Ensure(changed, respecced.run)
	g.Eventually(old.canceled.Load).Should(BeEquivalentTo(1), "the old spec's job is cancelled")
	g.Eventually(respecced.started.Load).Should(BeEquivalentTo(1))

	tr.Ensure(key("fraud", "2.7.0"), next.run)
	g.Eventually(respecced.canceled.Load).Should(BeEquivalentTo(1), "the old version's job is cancelled")
	close(next.release)
	g.Eventually(func() bool { _, done := tr.Ensure(key("fraud", "2.7.0"), next.run); return done }).Should(BeTrue())
	g.Expect(notified.Load()).To(BeEquivalentTo(1), "cancelled jobs are not announced")
	g.Expect(next.started.Load()).To(BeEquivalentTo(1))
}

func TestTesterBoundsTheJobsRunning(t *testing.T) {
	g := NewWithT(t)
	tr := &Tester{MaxJobs: 2}
	defer tr.Stop()
	a, b, c := newGate(passed), newGate(passed), newGate(passed)

	tr.Ensure(key("a", "1"), a.run)
	tr.Ensure(key("b", "1"), b.run)
	tr.Ensure(key("c", "1"), c.run)
	g.Expect(counts(tr)()).To(Equal([2]int{2, 1}), "two run, one waits")
	_, done := tr.Ensure(key("c", "1"), c.run)
	g.Expect(done).To(BeFalse())
	g.Eventually(func() int32 { return a.started.Load() + b.started.Load() }).Should(BeEquivalentTo(2))
	g.Expect(c.started.Load()).To(BeZero())

	close(a.release)
	g.Eventually(c.started.Load).Should(BeEquivalentTo(1), "the waiting job starts when a slot frees")
	g.Expect(counts(tr)()).To(Equal([2]int{2, 0}))

	// A waiting job that is forgotten never starts.
	d := newGate(passed)
	tr.Ensure(key("d", "1"), d.run)
	g.Expect(counts(tr)()).To(Equal([2]int{2, 1}))
	tr.Cancel("ml", "d")
	g.Expect(counts(tr)()).To(Equal([2]int{2, 0}))
	close(b.release)
	close(c.release)
	g.Eventually(counts(tr)).Should(Equal([2]int{0, 0}))
	g.Expect(d.started.Load()).To(BeZero())
}

func TestTesterStopCancelsAndWaits(t *testing.T) {
	g := NewWithT(t)
	tr := &Tester{MaxJobs: 1}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- tr.Start(ctx) }()
	running, waiting := newGate(passed), newGate(passed)
	tr.Ensure(key("a", "1"), running.run)
	tr.Ensure(key("b", "1"), waiting.run)
	g.Eventually(running.started.Load).Should(BeEquivalentTo(1))

	cancel()
	g.Eventually(stopped).Should(Receive(BeNil()))

	g.Expect(running.returned.Load()).To(BeEquivalentTo(1), "Stop waited for the running job")
	g.Expect(waiting.started.Load()).To(BeZero())
	g.Expect(counts(tr)()).To(Equal([2]int{0, 0}))
	_, done := tr.Ensure(key("a", "1"), running.run)
	g.Expect(done).To(BeFalse())
	_, done = tr.Ensure(key("c", "1"), running.run)
	g.Expect(done).To(BeFalse())
	g.Expect(running.started.Load()).To(BeEquivalentTo(1), "nothing starts after Stop")
}

func TestTesterReportsAPanic(t *testing.T) {
	g := NewWithT(t)
	tr := &Tester{}
	defer tr.Stop()
	k := key("a", "1")
	boom := func(context.Context) Outcome { panic("boom") }
	tr.Ensure(k, boom)
	var out Outcome
	g.Eventually(func() bool { o, done := tr.Ensure(k, boom); out = o; return done }).Should(BeTrue())
	g.Expect(out.Err).To(MatchError("the test panicked: boom"))
	g.Expect(out.Passed()).To(BeFalse())
	g.Expect(out.Message()).To(Equal("the test panicked: boom"))
}

func TestRunSmokeThenLoad(t *testing.T) {
	g := NewWithT(t)
	s := newModelServer(t)
	smoke := &servingv1alpha1.SmokeTestSpec{Requests: []servingv1alpha1.SmokeRequest{predict(field("prediction", `"0"`))}}
	load := ptr.To(loadSpec(20, 200*time.Millisecond, func(l *servingv1alpha1.LoadTestSpec) { l.Path = "/healthz" }))

	out := Run(context.Background(), nil, []string{s.URL}, smoke, load, "2.6.0", clk, Limits{})
	g.Expect(out.Passed()).To(BeTrue(), out.Message())
	g.Expect(out.Message()).To(BeEmpty())
	g.Expect(out.Smoke.Checked).To(Equal(1))
	g.Expect(out.Load.Requests).To(BeEquivalentTo(4))

	smoke.Requests[0].ExpectedStatus = http.StatusAccepted
	out = Run(context.Background(), nil, []string{s.URL}, smoke, load, "2.6.0", clk, Limits{})
	g.Expect(out.Load).To(BeNil(), "no load test after a failed smoke test")
	g.Expect(out.Message()).To(Equal("smoke test failed: POST /predict to " + s.host() + " answered 200, expected 202"))

	out = Run(context.Background(), nil, []string{s.URL}, nil, ptr.To(loadSpec(20, 200*time.Millisecond, func(l *servingv1alpha1.LoadTestSpec) {
		l.Path = "/error"
	})), "2.6.0", clk, Limits{})
	g.Expect(out.Smoke).To(BeNil())
	g.Expect(out.Message()).To(Equal("load test Breach: error percent 100 above maxErrorPercent 1 (4 answered 500)"))
}

func TestSpecHash(t *testing.T) {
	g := NewWithT(t)
	load := loadSpec(20, time.Second)
	h := SpecHash(nil, &load)
	g.Expect(h).To(HaveLen(16))
	g.Expect(SpecHash(nil, &load)).To(Equal(h))
	load.RPS = 21
	g.Expect(SpecHash(nil, &load)).NotTo(Equal(h))
	g.Expect(SpecHash(&servingv1alpha1.SmokeTestSpec{}, nil)).NotTo(Equal(SpecHash(nil, nil)))
	g.Expect(key("a", "1").String()).To(Equal("ml/a@1"))
}

// TestTesterSlotsPerNamespace: a team whose candidates hang holds at most
// its namespace's slots; another namespace's job starts at once beside them,
// and the jobs of all namespaces together stay under the global cap.
func TestTesterSlotsPerNamespace(t *testing.T) {
	g := NewWithT(t)
	tr := &Tester{MaxJobs: 4, MaxJobsPerNamespace: 2}
	defer tr.Stop()
	in := func(ns, name string) Key { return Key{Namespace: ns, Name: name, Version: "1", SpecHash: "h1"} }

	hanging := make([]*gate, 5)
	for i := range hanging {
		hanging[i] = newGate(passed)
		tr.Ensure(in("team-a", "md"+string(rune('0'+i))), hanging[i].run)
	}
	g.Expect(counts(tr)()).To(Equal([2]int{2, 3}), "team-a runs two, its other three wait")

	other := newGate(passed)
	tr.Ensure(in("team-b", "md"), other.run)
	g.Eventually(other.started.Load).Should(BeEquivalentTo(1), "team-b's job does not wait behind team-a's")
	g.Expect(counts(tr)()).To(Equal([2]int{3, 3}))

	c1, c2, c3 := newGate(passed), newGate(passed), newGate(passed)
	tr.Ensure(in("team-c", "one"), c1.run)
	tr.Ensure(in("team-c", "two"), c2.run)
	tr.Ensure(in("team-c", "three"), c3.run)
	g.Expect(counts(tr)()).To(Equal([2]int{4, 5}), "the global cap holds")

	close(other.release)
	g.Eventually(c2.started.Load).Should(BeEquivalentTo(1), "the freed slot goes to the first job that may run")
	g.Expect(counts(tr)()).To(Equal([2]int{4, 4}))
	for _, h := range hanging {
		g.Expect(h.started.Load()).To(BeNumerically("<=", 1))
	}
	g.Expect(hanging[2].started.Load()).To(BeZero(), "team-a stays at two")
	close(c1.release)
	close(c2.release)
	g.Eventually(c3.started.Load).Should(BeEquivalentTo(1))
	close(c3.release)
}

func TestSmokeTimeoutIsBounded(t *testing.T) {
	tests := []struct {
		spec *metav1.Duration
		want time.Duration
	}{
		{nil, DefaultSmokeTimeout},
		{&metav1.Duration{}, DefaultSmokeTimeout},
		{&metav1.Duration{Duration: 2 * time.Second}, 2 * time.Second},
		{&metav1.Duration{Duration: time.Hour}, MaxSmokeTimeout},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(smokeTimeout(servingv1alpha1.SmokeTestSpec{Timeout: tt.spec})).To(Equal(tt.want), "%v", tt.spec)
	}
}
