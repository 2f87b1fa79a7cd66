package loadtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"k8s.io/utils/clock"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// Defaults of a Tester's bounds.
const (
	// DefaultMaxJobs is how many jobs a Tester runs at once, over every
	// namespace.
	DefaultMaxJobs = 8
	// DefaultMaxJobsPerNamespace is how many of them one namespace may run:
	// a team whose candidates hang holds at most these slots, and the other
	// namespaces' jobs run in the rest.
	DefaultMaxJobsPerNamespace = 2
)

// Key names a job: the ModelDeployment, the version under test and a hash of
// the test specs (SpecHash). A ModelDeployment has at most one job; a key
// with another version or hash replaces it.
type Key struct {
	Namespace string
	Name      string
	Version   string
	SpecHash  string
}

// String is namespace/name@version.
func (k Key) String() string { return k.Namespace + "/" + k.Name + "@" + k.Version }

// Outcome is what a job found.
type Outcome struct {
	// Smoke is the smoke test's result; nil when none ran.
	Smoke *SmokeResult
	// Load is the load test's status; nil when none ran (none declared, or
	// the smoke test failed first).
	Load *servingv1alpha1.LoadTestStatus
	// Err is set when the job itself failed: it panicked.
	Err error
}

// Passed is true when the job ran and every test it ran passed.
func (o Outcome) Passed() bool {
	return o.Err == nil && (o.Smoke == nil || o.Smoke.Passed) &&
		(o.Load == nil || o.Load.Verdict == servingv1alpha1.VerdictPass)
}

// Message says why the outcome did not pass, or "" when it did.
func (o Outcome) Message() string {
	switch {
	case o.Err != nil:
		return o.Err.Error()
	case o.Smoke != nil && !o.Smoke.Passed:
		return "smoke test failed: " + o.Smoke.Message
	case o.Load != nil && o.Load.Verdict != servingv1alpha1.VerdictPass:
		return fmt.Sprintf("load test %s: %s", o.Load.Verdict, o.Load.Message)
	}
	return ""
}

// Run is the job the controller gives a Tester: the smoke test when one is
// declared, then the load test when one is declared and the smoke test
// passed, both against targets only.
func Run(ctx context.Context, client *http.Client, targets []string, smoke *servingv1alpha1.SmokeTestSpec,
	load *servingv1alpha1.LoadTestSpec, version string, clk clock.PassiveClock, lim Limits) Outcome {
	var o Outcome
	if smoke != nil {
		r := Smoke(ctx, client, targets, *smoke)
		o.Smoke = &r
		if !r.Passed {
			return o
		}
	}
	if load != nil {
		o.Load = Load(ctx, client, targets, *load, version, clk, lim)
	}
	return o
}

// SpecHash hashes the test specs for Key.SpecHash: a changed spec gives
// another hash.
func SpecHash(smoke *servingv1alpha1.SmokeTestSpec, load *servingv1alpha1.LoadTestSpec) string {
	b, err := json.Marshal(struct {
		Smoke *servingv1alpha1.SmokeTestSpec `json:"smoke"`
		Load  *servingv1alpha1.LoadTestSpec  `json:"load"`
	}{smoke, load})
	if err != nil { // plain structs of strings and numbers: never
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Tester runs jobs off the reconcile loop: a reconcile asks with Ensure and
// requeues until the job is done. It runs at most MaxJobsPerNamespace jobs
// of a namespace and MaxJobs in all at once, the others waiting their turn in
// the order they were asked for, a job of a namespace at its bound letting
// the next one of another namespace pass. It is safe for
// concurrent use, usable without Start, and, as a manager.Runnable, stops
// with the manager: Stop cancels every job and waits for them.
type Tester struct {
	// MaxJobs bounds the jobs running at once. Default DefaultMaxJobs. Set
	// it before the first Ensure.
	MaxJobs int
	// MaxJobsPerNamespace bounds the jobs of one namespace running at once.
	// Default DefaultMaxJobsPerNamespace. Set it before the first Ensure.
	MaxJobsPerNamespace int
	// Client sends the tests: the manager gives one from NewClient dialing
	// through the egress policy. Nil means one from NewClient per job.
	Client *http.Client
	// OnDone, when set, is called with the key of each job that finishes
	// (not one cancelled), after its outcome is available to Ensure; the
	// controller enqueues the ModelDeployment. It must not block: Stop waits
	// for it. Set it before the first Ensure.
	OnDone func(Key)

	mu      sync.Mutex
	base    context.Context
	stopAll context.CancelFunc
	jobs    map[object]*job
	queue   []*job // waiting, in the order asked
	running int
	// runningIn counts the running jobs by namespace.
	runningIn map[string]int
	stopped   bool
	wg        sync.WaitGroup
}

// object names a ModelDeployment.
type object struct{ namespace, name string }

type jobState uint8

const (
	jobWaiting jobState = iota
	jobRunning
	jobDone
	jobCancelled
)

type job struct {
	key    Key
	fn     func(context.Context) Outcome
	state  jobState
	cancel context.CancelFunc
	out    Outcome
}

// init readies the zero Tester. Called with mu held.
func (t *Tester) init() {
	if t.jobs == nil {
		t.jobs = map[object]*job{}
		t.runningIn = map[string]int{}
		t.base, t.stopAll = context.WithCancel(context.Background())
	}
}

// Ensure returns the outcome of the job of key and true once it is done;
// until then it returns false. The first call for a key starts fn (or queues
// it while MaxJobs are running); a key of the same ModelDeployment with
// another version or SpecHash cancels the job held for it and starts fn
// anew. A finished outcome is kept until Forget. After Stop, Ensure starts
// nothing and returns false.
func (t *Tester) Ensure(key Key, fn func(ctx context.Context) Outcome) (Outcome, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	obj := object{key.Namespace, key.Name}
	if j := t.jobs[obj]; j != nil {
		if j.key == key {
			return j.out, j.state == jobDone
		}
		t.cancelLocked(j)
		delete(t.jobs, obj)
	}
	if t.stopped {
		return Outcome{}, false
	}
	j := &job{key: key, fn: fn}
	t.jobs[obj] = j
	t.queue = append(t.queue, j)
	t.startLocked()
	return Outcome{}, false
}

// Forget drops the job of key, cancelling it if it is still running or
// waiting. The controller forgets a job once its outcome is recorded.
func (t *Tester) Forget(key Key) {
	t.mu.Lock()
	defer t.mu.Unlock()
	obj := object{key.Namespace, key.Name}
	if j := t.jobs[obj]; j != nil && j.key == key {
		t.cancelLocked(j)
		delete(t.jobs, obj)
	}
}

// Cancel drops whatever job is held for the ModelDeployment, such as when it
// is deleted.
func (t *Tester) Cancel(namespace, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	obj := object{namespace, name}
	if j := t.jobs[obj]; j != nil {
		t.cancelLocked(j)
		delete(t.jobs, obj)
	}
}

// Start blocks until ctx is done, then stops the Tester: it makes the Tester
// a manager.Runnable.
func (t *Tester) Start(ctx context.Context) error {
	<-ctx.Done()
	t.Stop()
	return nil
}

// Stop cancels every job, waits for the running ones to return, and makes
// later Ensure calls start nothing.
func (t *Tester) Stop() {
	t.mu.Lock()
	t.init()
	t.stopped = true
	t.stopAll()
	for obj, j := range t.jobs {
		if j.state != jobDone {
			t.cancelLocked(j)
			delete(t.jobs, obj)
		}
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// cancelLocked cancels a waiting or running job. Called with mu held.
func (t *Tester) cancelLocked(j *job) {
	switch j.state {
	case jobWaiting:
		t.queue = slices.DeleteFunc(t.queue, func(q *job) bool { return q == j })
	case jobRunning:
		j.cancel()
	default:
		return
	}
	j.state = jobCancelled
}

// startLocked starts waiting jobs, first asked first, while fewer than
// MaxJobs run, skipping those of a namespace that runs MaxJobsPerNamespace.
// Called with mu held.
func (t *Tester) startLocked() {
	limit := t.MaxJobs
	if limit <= 0 {
		limit = DefaultMaxJobs
	}
	perNamespace := t.MaxJobsPerNamespace
	if perNamespace <= 0 {
		perNamespace = DefaultMaxJobsPerNamespace
	}
	for !t.stopped && t.running < limit {
		i := slices.IndexFunc(t.queue, func(j *job) bool { return t.runningIn[j.key.Namespace] < perNamespace })
		if i < 0 {
			return
		}
		j := t.queue[i]
		t.queue = slices.Delete(t.queue, i, i+1)
		var ctx context.Context
		ctx, j.cancel = context.WithCancel(t.base)
		j.state = jobRunning
		t.running++
		t.runningIn[j.key.Namespace]++
		t.wg.Go(func() { t.run(ctx, j) })
	}
}

// run runs one job and keeps its outcome unless it was cancelled meanwhile.
func (t *Tester) run(ctx context.Context, j *job) {
	out := protect(ctx, j.fn)
	t.mu.Lock()
	j.cancel()
	t.running--
	if t.runningIn[j.key.Namespace]--; t.runningIn[j.key.Namespace] <= 0 {
		delete(t.runningIn, j.key.Namespace)
	}
	finished := j.state == jobRunning && !t.stopped
	if finished {
		j.state, j.out = jobDone, out
	}
	t.startLocked()
	onDone := t.OnDone
	t.mu.Unlock()
	if finished && onDone != nil {
		onDone(j.key)
	}
}

// protect runs fn, turning a panic into an Outcome's Err.
func protect(ctx context.Context, fn func(context.Context) Outcome) (out Outcome) {
	defer func() {
		if r := recover(); r != nil {
			out = Outcome{Err: fmt.Errorf("the test panicked: %v", r)}
		}
	}()
	return fn(ctx)
}
