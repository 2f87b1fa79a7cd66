package jobs

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// The manager runs a Runner and stops it with itself.
var _ manager.Runnable = (*runner)(nil)

// testKey names a job of a ModelDeployment's version and spec hash.
type testKey struct{ namespace, name, version, hash string }

func (k testKey) Owner() (string, string) { return k.namespace, k.name }

// outcome can say a job panicked.
type outcome struct {
	value string
	err   error
}

func (o *outcome) Panicked(v any) { o.err = fmt.Errorf("panicked: %v", v) }

type runner = Runner[testKey, outcome]

// gate is a job that runs until released or cancelled, counting its starts,
// its cancellations and its returns.
type gate struct {
	release  chan struct{}
	started  atomic.Int32
	canceled atomic.Int32
	returned atomic.Int32
	out      outcome
}

func newGate(out outcome) *gate { return &gate{release: make(chan struct{}), out: out} }

func (j *gate) run(ctx context.Context) outcome {
	j.started.Add(1)
	defer j.returned.Add(1)
	select {
	case <-j.release:
		return j.out
	case <-ctx.Done():
		j.canceled.Add(1)
		return outcome{err: ctx.Err()}
	}
}

func key(name, version string) testKey {
	return testKey{namespace: "ml", name: name, version: version, hash: "h1"}
}

var passed = outcome{value: "passed"}

// counts returns the jobs running and waiting.
func counts(tr *runner) func() [2]int {
	return func() [2]int {
		running, waiting := tr.Counts()
		return [2]int{running, waiting}
	}
}

func TestRunnerRunsAJobOnceAndKeepsItsoutcome(t *testing.T) {
	g := NewWithT(t)
	var notified []testKey
	var mu sync.Mutex
	tr := &runner{OnDone: func(k testKey) { mu.Lock(); notified = append(notified, k); mu.Unlock() }}
	defer tr.Stop()
	j := newGate(passed)
	k := key("fraud", "2.6.0")

	for range 3 {
		out, done := tr.Ensure(k, j.run)
		g.Expect(done).To(BeFalse())
		g.Expect(out).To(Equal(outcome{}))
	}
	g.Eventually(j.started.Load).Should(BeEquivalentTo(1))
	close(j.release)
	g.Eventually(func() bool { _, done := tr.Ensure(k, j.run); return done }).Should(BeTrue())

	out, done := tr.Ensure(k, j.run)
	g.Expect(done).To(BeTrue())
	g.Expect(out).To(Equal(passed))
	g.Expect(j.started.Load()).To(BeEquivalentTo(1), "started once")
	mu.Lock()
	g.Expect(notified).To(Equal([]testKey{k}))
	mu.Unlock()

	tr.Forget(k)
	_, done = tr.Ensure(k, j.run)
	g.Expect(done).To(BeFalse(), "forgotten: asked again, it runs again")
	g.Eventually(j.started.Load).Should(BeEquivalentTo(2))
}

func TestRunnerReplacesAJobWhenTheVersionOrSpecChanges(t *testing.T) {
	g := NewWithT(t)
	var notified atomic.Int32
	tr := &runner{OnDone: func(testKey) { notified.Add(1) }}
	defer tr.Stop()
	old, respecced, next := newGate(passed), newGate(passed), newGate(passed)

	tr.Ensure(key("fraud", "2.6.0"), old.run)
	g.Eventually(old.started.Load).Should(BeEquivalentTo(1))

	changed := key("fraud", "2.6.0")
	changed.hash = "h2"
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

func TestRunnerBoundsTheJobsRunning(t *testing.T) {
	g := NewWithT(t)
	tr := &runner{MaxJobs: 2}
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

func TestRunnerStopCancelsAndWaits(t *testing.T) {
	g := NewWithT(t)
	tr := &runner{MaxJobs: 1}
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

func TestRunnerReportsAPanic(t *testing.T) {
	g := NewWithT(t)
	tr := &runner{}
	defer tr.Stop()
	k := key("a", "1")
	boom := func(context.Context) outcome { panic("boom") }
	tr.Ensure(k, boom)
	var out outcome
	g.Eventually(func() bool { o, done := tr.Ensure(k, boom); out = o; return done }).Should(BeTrue())
	g.Expect(out.err).To(MatchError("panicked: boom"))

	// An outcome that cannot say so is the zero one.
	plain := &Runner[testKey, int]{}
	defer plain.Stop()
	plain.Ensure(k, func(context.Context) int { panic("boom") })
	g.Eventually(func() bool { _, done := plain.Ensure(k, nil); return done }).Should(BeTrue())
	v, _ := plain.Ensure(k, nil)
	g.Expect(v).To(BeZero())
}

// pair puts Counts in one value for an assertion.
func pair(running, waiting int) [2]int { return [2]int{running, waiting} }

func TestRunnerSlotsPerNamespace(t *testing.T) {
	g := NewWithT(t)
	tr := &runner{MaxJobs: 4, MaxJobsPerNamespace: 2}
	defer tr.Stop()
	in := func(ns, name string) testKey { return testKey{namespace: ns, name: name, version: "1", hash: "h1"} }

	hanging := make([]*gate, 5)
	for i := range hanging {
		hanging[i] = newGate(passed)
		tr.Ensure(in("team-a", "md"+string(rune('0'+i))), hanging[i].run)
	}
	g.Expect(pair(tr.Counts())).To(Equal([2]int{2, 3}), "team-a runs two, its other three wait")

	other := newGate(passed)
	tr.Ensure(in("team-b", "md"), other.run)
	g.Eventually(other.started.Load).Should(BeEquivalentTo(1), "team-b's job does not wait behind team-a's")
	g.Expect(pair(tr.Counts())).To(Equal([2]int{3, 3}))

	c1, c2, c3 := newGate(passed), newGate(passed), newGate(passed)
	tr.Ensure(in("team-c", "one"), c1.run)
	tr.Ensure(in("team-c", "two"), c2.run)
	tr.Ensure(in("team-c", "three"), c3.run)
	g.Expect(pair(tr.Counts())).To(Equal([2]int{4, 5}), "the global cap holds")

	close(other.release)
	g.Eventually(c2.started.Load).Should(BeEquivalentTo(1), "the freed slot goes to the first job that may run")
	g.Expect(pair(tr.Counts())).To(Equal([2]int{4, 4}))
	for _, h := range hanging {
		g.Expect(h.started.Load()).To(BeNumerically("<=", 1))
	}
	g.Expect(hanging[2].started.Load()).To(BeZero(), "team-a stays at two")
	close(c1.release)
	close(c2.release)
	g.Eventually(c3.started.Load).Should(BeEquivalentTo(1))
	close(c3.release)
}

func TestRunnerHoldsAJobUntilReplacedOrForgotten(t *testing.T) {
	g := NewWithT(t)
	tr := &runner{}
	defer tr.Stop()
	first := newGate(passed)
	g.Expect(tr.Holds(key("fraud", "2.6.0"))).To(BeFalse(), "nothing ensured yet")
	tr.Ensure(key("fraud", "2.6.0"), first.run)
	g.Expect(tr.Holds(key("fraud", "2.6.0"))).To(BeTrue(), "waiting or running")
	close(first.release)
	g.Eventually(func() bool { _, done := tr.Ensure(key("fraud", "2.6.0"), first.run); return done }).Should(BeTrue())
	g.Expect(tr.Holds(key("fraud", "2.6.0"))).To(BeTrue(), "done, its outcome kept")
	g.Expect(tr.Holds(key("fraud", "2.7.0"))).To(BeFalse(), "another version of the same owner")
	tr.Forget(key("fraud", "2.6.0"))
	g.Expect(tr.Holds(key("fraud", "2.6.0"))).To(BeFalse(), "forgotten")

	next := newGate(passed)
	tr.Ensure(key("fraud", "2.6.0"), newGate(passed).run)
	tr.Ensure(key("fraud", "2.7.0"), next.run)
	g.Expect(tr.Holds(key("fraud", "2.6.0"))).To(BeFalse(), "replaced by the next version's")
	g.Expect(tr.Holds(key("fraud", "2.7.0"))).To(BeTrue())
	close(next.release)
}
