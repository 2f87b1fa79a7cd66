// Package jobs runs long work off the reconcile workers: a reconcile asks for
// a job by key and requeues until it is done, so a slow or hanging far end
// (a load test, a metrics backend) never holds a worker. The load tester and
// the analysis' rounds of queries run here.
package jobs

import (
	"context"
	"slices"
	"sync"
)

// DefaultMaxJobs is how many jobs a Runner runs at once unless told otherwise.
const DefaultMaxJobs = 2

// Key names a job. Its Owner (a ModelDeployment's namespace and name) has at
// most one job; a key of the same owner that is not equal replaces it.
type Key interface {
	comparable
	Owner() (namespace, name string)
}

// Panicker is implemented by outcomes (through a pointer) that can say a job
// panicked; a job whose outcome cannot is given the zero outcome instead.
type Panicker interface {
	Panicked(recovered any)
}

// Runner runs jobs in the background, each keyed by K, with outcome T. It
// runs at most MaxJobs jobs at once, and at most MaxJobsPerNamespace of one
// namespace, the others waiting their turn in the order they were asked for. It is safe for concurrent use, usable without
// Start, and, as a manager.Runnable, stops with the manager: Stop cancels
// every job and waits for them.
type Runner[K Key, T any] struct {
	// MaxJobs bounds the jobs running at once. Default DefaultMaxJobs. Set
	// it before the first Ensure.
	MaxJobs int
	// MaxJobsPerNamespace bounds the jobs of one namespace running at once,
	// so a team whose far ends hang holds at most these slots and the other
	// namespaces' jobs run in the rest; a job of a namespace at its bound
	// lets the next one of another namespace pass. 0 sets no such bound.
	// Set it before the first Ensure.
	MaxJobsPerNamespace int
	// OnDone, when set, is called with the key of each job that finishes
	// (not one cancelled), after its outcome is available to Ensure; the
	// controller enqueues the ModelDeployment. It must not block: Stop waits
	// for it. Set it before the first Ensure.
	OnDone func(K)

	mu      sync.Mutex
	base    context.Context
	stopAll context.CancelFunc
	jobs    map[owner]*job[K, T]
	queue   []*job[K, T] // waiting, in the order asked
	running int
	// runningIn counts the running jobs by namespace.
	runningIn map[string]int
	stopped   bool
	wg        sync.WaitGroup
}

type owner struct{ namespace, name string }

func ownerOf[K Key](k K) owner {
	ns, name := k.Owner()
	return owner{ns, name}
}

type jobState uint8

const (
	jobWaiting jobState = iota
	jobRunning
	jobDone
	jobCancelled
)

type job[K Key, T any] struct {
	key    K
	fn     func(context.Context) T
	state  jobState
	cancel context.CancelFunc
	out    T
}

// init readies the zero Runner. Called with mu held.
func (r *Runner[K, T]) init() {
	if r.jobs == nil {
		r.jobs = map[owner]*job[K, T]{}
		r.runningIn = map[string]int{}
		r.base, r.stopAll = context.WithCancel(context.Background()) //nolint:gosec // Stop cancels it
	}
}

// Ensure returns the outcome of the job of key and true once it is done;
// until then it returns false. The first call for a key starts fn (or queues
// it while MaxJobs are running); a key of the same owner that differs
// cancels the job held for it and starts fn anew. A finished outcome is kept
// until Forget or a replacing key. After Stop, Ensure starts nothing and
// returns false.
func (r *Runner[K, T]) Ensure(key K, fn func(ctx context.Context) T) (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.init()
	var zero T
	o := ownerOf(key)
	if j := r.jobs[o]; j != nil {
		if j.key == key {
			return j.out, j.state == jobDone
		}
		r.cancelLocked(j)
		delete(r.jobs, o)
	}
	if r.stopped {
		return zero, false
	}
	j := &job[K, T]{key: key, fn: fn}
	r.jobs[o] = j
	r.queue = append(r.queue, j)
	r.startLocked()
	return zero, false
}

// Holds reports whether a job of key is waiting, running or done: Ensure
// would start nothing for it. What a job needs only to start (its targets)
// need not be gathered again while it is held.
func (r *Runner[K, T]) Holds(key K) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	j := r.jobs[ownerOf(key)]
	return j != nil && j.key == key
}

// Forget drops the job of key, cancelling it if it is still running or
// waiting.
func (r *Runner[K, T]) Forget(key K) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := ownerOf(key)
	if j := r.jobs[o]; j != nil && j.key == key {
		r.cancelLocked(j)
		delete(r.jobs, o)
	}
}

// Cancel drops whatever job is held for an owner, such as when it is deleted.
func (r *Runner[K, T]) Cancel(namespace, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := owner{namespace, name}
	if j := r.jobs[o]; j != nil {
		r.cancelLocked(j)
		delete(r.jobs, o)
	}
}

// Counts are the jobs running and waiting now.
func (r *Runner[K, T]) Counts() (running, waiting int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running, len(r.queue)
}

// Start blocks until ctx is done, then stops the Runner: it makes the Runner
// a manager.Runnable.
func (r *Runner[K, T]) Start(ctx context.Context) error {
	<-ctx.Done()
	r.Stop()
	return nil
}

// Stop cancels every job, waits for the running ones to return, and makes
// later Ensure calls start nothing.
func (r *Runner[K, T]) Stop() {
	r.mu.Lock()
	r.init()
	r.stopped = true
	r.stopAll()
	for o, j := range r.jobs {
		if j.state != jobDone {
			r.cancelLocked(j)
			delete(r.jobs, o)
		}
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// cancelLocked cancels a waiting or running job. Called with mu held.
func (r *Runner[K, T]) cancelLocked(j *job[K, T]) {
	switch j.state {
	case jobWaiting:
		r.queue = slices.DeleteFunc(r.queue, func(q *job[K, T]) bool { return q == j })
	case jobRunning:
		j.cancel()
	default:
		return
	}
	j.state = jobCancelled
}

// startLocked starts waiting jobs while fewer than MaxJobs run. Called with
// mu held.
func (r *Runner[K, T]) startLocked() {
	limit := r.MaxJobs
	if limit <= 0 {
		limit = DefaultMaxJobs
	}
	for !r.stopped && r.running < limit {
		i := slices.IndexFunc(r.queue, func(q *job[K, T]) bool {
			return r.MaxJobsPerNamespace <= 0 || r.runningIn[ownerOf(q.key).namespace] < r.MaxJobsPerNamespace
		})
		if i < 0 {
			return
		}
		j := r.queue[i]
		r.queue = slices.Delete(r.queue, i, i+1)
		r.runningIn[ownerOf(j.key).namespace]++
		var ctx context.Context
		ctx, j.cancel = context.WithCancel(r.base) //nolint:gosec // run, or cancelLocked, cancels it
		j.state = jobRunning
		r.running++
		r.wg.Go(func() { r.run(ctx, j) })
	}
}

// run runs one job and keeps its outcome unless it was cancelled meanwhile.
func (r *Runner[K, T]) run(ctx context.Context, j *job[K, T]) {
	out := protect(ctx, j.fn)
	r.mu.Lock()
	j.cancel()
	r.running--
	if ns := ownerOf(j.key).namespace; r.runningIn[ns] > 1 {
		r.runningIn[ns]--
	} else {
		delete(r.runningIn, ns)
	}
	finished := j.state == jobRunning && !r.stopped
	if finished {
		j.state, j.out = jobDone, out
	}
	r.startLocked()
	onDone := r.OnDone
	r.mu.Unlock()
	if finished && onDone != nil {
		onDone(j.key)
	}
}

// protect runs fn, turning a panic into the outcome's Panicked.
func protect[T any](ctx context.Context, fn func(context.Context) T) (out T) {
	defer func() {
		if v := recover(); v != nil {
			var zero T
			out = zero
			if p, ok := any(&out).(Panicker); ok {
				p.Panicked(v)
			}
		}
	}()
	return fn(ctx)
}
