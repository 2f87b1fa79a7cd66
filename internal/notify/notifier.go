package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/modelgate/modelgate/internal/egress"
)

// Backoff is the wait between attempts: Initial, doubled after each failed
// attempt up to Max, with jitter (a random point in the upper half).
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Options configure a Notifier; zero values take the defaults.
type Options struct {
	// QueueSize bounds the events waiting for one receiver; Send drops
	// beyond it. Default 64. Each receiver (a spec.notifications entry of one
	// ModelDeployment) has its queue, delivered in order by a goroutine of
	// its own while it holds events: a receiver that hangs delays only its
	// own events, never another's.
	QueueSize int
	// MaxReceivers bounds the receivers holding queued events at once; an
	// event for another receiver beyond it is dropped. Default 1024.
	MaxReceivers int
	// Timeout bounds one attempt, from connecting to reading the answer.
	// Default 10s.
	Timeout time.Duration
	// MaxAttempts per event, the first included. Default 5. A receiver that
	// is failing (see Failures) gets one attempt per event until it succeeds.
	MaxAttempts int
	// Backoff between attempts. Default 1s doubling to 30s. A Retry-After
	// answer is waited for instead, up to Backoff.Max.
	Backoff Backoff
	// FailureThreshold is how many deliveries in a row must fail for a
	// receiver to be reported by Failures. Default 1: a delivery fails only
	// after all its attempts, so one is already persistent.
	FailureThreshold int
	// HTTPClient sends the requests; the manager gives one that dials
	// through the egress policy. Whichever client, redirects are not
	// followed (a redirect is a failure), so the body goes nowhere else.
	HTTPClient *http.Client
	// Clock for backoff waits and failure times. Default: the real clock.
	Clock clock.Clock
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.QueueSize, 64)
	def(&o.MaxReceivers, 1024)
	def(&o.MaxAttempts, 5)
	def(&o.FailureThreshold, 1)
	defDur(&o.Timeout, 10*time.Second)
	defDur(&o.Backoff.Initial, time.Second)
	defDur(&o.Backoff.Max, 30*time.Second)
	if o.Backoff.Max < o.Backoff.Initial {
		o.Backoff.Max = o.Backoff.Initial
	}
	c := http.Client{}
	if o.HTTPClient != nil {
		c = *o.HTTPClient
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	o.HTTPClient = &c
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}

// Notifier delivers events from a bounded queue per receiver. It is a
// manager.Runnable: add it to the manager, and Send from the reconciler.
type Notifier struct {
	opts Options

	// mu guards the queues, ctx and stopped.
	mu     sync.Mutex
	queues map[key]*queue
	// ctx is Start's; nil before Start, when Sends only queue.
	ctx     context.Context
	stopped bool
	wg      sync.WaitGroup
	started atomic.Bool
	// dropping is set while Sends are being dropped, to log once per run of drops.
	dropping atomic.Bool

	failures failureBook
}

// queue is one receiver's events, first sent first; running is true while a
// goroutine delivers them.
type queue struct {
	jobs    []job
	running bool
}

// job is one event for one receiver.
type job struct {
	receiver Receiver
	event    Event
}

// key names a receiver of one ModelDeployment.
type key struct{ namespace, name, receiver string }

func (j job) key() key { return key{j.event.Namespace, j.event.Name, j.receiver.Name} }

// New returns a Notifier; it delivers once started.
func New(opts Options) *Notifier {
	opts = opts.withDefaults()
	return &Notifier{
		opts:     opts,
		queues:   map[key]*queue{},
		failures: failureBook{threshold: opts.FailureThreshold, byKey: map[key]*failure{}},
	}
}

// NeedLeaderElection is false: the Notifier only delivers what the reconciler
// sends, which runs on the leader alone.
func (n *Notifier) NeedLeaderElection() bool { return false }

// Start delivers until ctx is done, then waits for the deliveries in flight
// to return. Events still queued then are dropped and counted.
func (n *Notifier) Start(ctx context.Context) error {
	if !n.started.CompareAndSwap(false, true) {
		return errors.New("the notifier was already started")
	}
	ctx = ctrllog.IntoContext(ctx, ctrllog.FromContext(ctx).WithName("notify"))
	n.mu.Lock()
	n.ctx = ctx
	for k, q := range n.queues {
		n.kickLocked(k, q)
	}
	n.mu.Unlock()
	<-ctx.Done()
	n.mu.Lock()
	n.stopped = true
	n.mu.Unlock()
	n.wg.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, q := range n.queues {
		for _, j := range q.jobs {
			count(j.key(), ResultDropped)
		}
		delete(n.queues, k)
	}
	return nil
}

// Send queues ev for r and returns at once: it never waits for a worker or
// the network. It returns false when the event was not queued: the queue is
// full or the notifier stopped (counted as dropped), or the receiver cannot
// be sent to (no or a bad URL, an unknown kind; counted as failed and shown
// by Failures).
func (n *Notifier) Send(r Receiver, ev Event) bool {
	if ev.Time.IsZero() {
		ev.Time = n.opts.Clock.Now()
	}
	ev.Fields = maps.Clone(ev.Fields)
	j := job{receiver: r, event: ev}
	if err := checkReceiver(r); err != nil {
		n.failures.failed(j.key(), n.opts.Clock.Now(), 0, err.Error())
		count(j.key(), ResultFailed)
		return false
	}
	if n.enqueue(j) {
		n.dropping.Store(false)
		return true
	}
	count(j.key(), ResultDropped)
	if !n.dropping.Swap(true) {
		ctrllog.Log.WithName("notify").Info("Dropping notifications: the queue is full or the notifier stopped",
			"receiver", r.Name, "modelDeployment", klog.KRef(ev.Namespace, ev.Name), "event", ev.Type,
			"queueSize", n.opts.QueueSize, "maxReceivers", n.opts.MaxReceivers)
	}
	return false
}

// enqueue queues j on its receiver's queue unless that queue is full, too
// many receivers hold events, or the notifier stopped. It never waits for
// the network: the lock is held only to append.
func (n *Notifier) enqueue(j job) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return false
	}
	k := j.key()
	q := n.queues[k]
	if q == nil {
		if len(n.queues) >= n.opts.MaxReceivers {
			return false
		}
		q = &queue{}
		n.queues[k] = q
	}
	if len(q.jobs) >= n.opts.QueueSize {
		return false
	}
	q.jobs = append(q.jobs, j)
	n.kickLocked(k, q)
	return true
}

// kickLocked starts delivering q's events unless that is under way or the
// notifier has not started. Called with mu held.
func (n *Notifier) kickLocked(k key, q *queue) {
	if q.running || n.ctx == nil || n.stopped {
		return
	}
	q.running = true
	n.wg.Go(func() { n.drain(k, q) })
}

// drain delivers q's events in order until it is empty (the receiver's queue
// is then dropped, so idle receivers cost nothing) or the notifier stops.
func (n *Notifier) drain(k key, q *queue) {
	for {
		n.mu.Lock()
		if len(q.jobs) == 0 || n.ctx.Err() != nil {
			q.running = false
			if len(q.jobs) == 0 {
				delete(n.queues, k)
			}
			n.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs = q.jobs[1:]
		n.mu.Unlock()
		n.deliver(n.ctx, j)
	}
}

func checkReceiver(r Receiver) error {
	if r.Kind != KindWebhook && r.Kind != KindSlack {
		return fmt.Errorf("unknown receiver kind %q: want %s or %s", r.Kind, KindWebhook, KindSlack)
	}
	return validURL(r.URL)
}

// deliver makes up to MaxAttempts attempts, and records the outcome.
func (n *Notifier) deliver(ctx context.Context, j job) {
	k := j.key()
	log := ctrllog.FromContext(ctx).WithValues("receiver", j.receiver.Name,
		"modelDeployment", klog.KRef(k.namespace, k.name), "version", j.event.Version, "event", j.event.Type)
	body, err := Body(j.receiver.Kind, j.event)
	if err != nil {
		n.failures.failed(k, n.opts.Clock.Now(), 0, err.Error())
		count(k, ResultFailed)
		return
	}
	maxAttempts := n.opts.MaxAttempts
	if n.failures.isFailing(k) {
		maxAttempts = 1
	}
	var firstFailure time.Time
	var lastErr string
	attempts := 0
	for attempts < maxAttempts {
		attempts++
		log.V(1).Info("Sending notification", "attempt", attempts, "url", RedactURL(j.receiver.URL))
		retryAfter, retry, err := n.attempt(ctx, j, body)
		if err == nil {
			if n.failures.succeeded(k) {
				log.Info("Notification receiver recovered", "attempts", attempts)
			}
			count(k, ResultDelivered)
			log.V(1).Info("Notification delivered", "attempts", attempts)
			return
		}
		if firstFailure.IsZero() {
			firstFailure = n.opts.Clock.Now()
		}
		lastErr = err.Error()
		if ctx.Err() != nil || !retry || attempts == maxAttempts {
			break
		}
		delay := n.delay(attempts, retryAfter)
		log.V(1).Info("Notification attempt failed; retrying", "attempt", attempts, "after", delay, "error", lastErr)
		if !n.wait(ctx, delay) {
			break
		}
	}
	if ctx.Err() != nil {
		// Stopping: the receiver is not to blame.
		count(k, ResultDropped)
		return
	}
	n.failures.failed(k, firstFailure, attempts, lastErr)
	count(k, ResultFailed)
	log.Error(errors.New(lastErr), "Notification not delivered", "attempts", attempts)
}

// attempt sends body once. It says whether a failure is worth retrying:
// network errors, timeouts, 429 and 5xx are; other answers are not.
func (n *Notifier) attempt(ctx context.Context, j job, body []byte) (retryAfter time.Duration, retry bool, err error) {
	target := "POST " + RedactURL(j.receiver.URL)
	actx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, j.receiver.URL, bytes.NewReader(body))
	if err != nil {
		return 0, false, fmt.Errorf("%s: the request could not be made", target)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "modelgate-notify")
	req.Header.Set("X-Modelgate-Event-Id", j.event.ID())
	resp, err := n.opts.HTTPClient.Do(req)
	if err != nil {
		if errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			return 0, true, fmt.Errorf("%s: no answer within %s", target, n.opts.Timeout)
		}
		// A fixed reason from the error's type: the error's text may quote
		// what answered at the address.
		return 0, true, fmt.Errorf("%s: %s", target, egress.Reason(err))
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, false, nil
	}
	// The status code only: neither the answer's body nor its reason phrase,
	// which are the receiver's own text and would be read back into status.
	err = fmt.Errorf("%s: %s", target, httpStatus(resp.StatusCode))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return parseRetryAfter(resp.Header.Get("Retry-After"), n.opts.Clock.Now()), true, err
	}
	return 0, false, err
}

// httpStatus is "HTTP 503 Service Unavailable", from the code alone.
func httpStatus(code int) string {
	return strings.TrimSpace(fmt.Sprintf("HTTP %d %s", code, http.StatusText(code)))
}

// delay is the wait before attempt+1: the receiver's Retry-After if it gave
// one, else the backoff; either at most Backoff.Max.
func (n *Notifier) delay(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, n.opts.Backoff.Max)
	}
	return backoff(n.opts.Backoff, attempt, rand.Int64N) //nolint:gosec // jitter needs no cryptographic randomness
}

// backoff is Initial·2^(attempt-1) capped at Max, then a random point in its
// upper half; randN(n) returns a number in [0, n).
func backoff(b Backoff, attempt int, randN func(int64) int64) time.Duration {
	d := b.Initial
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	if half <= 0 {
		return d
	}
	return d - half + time.Duration(randN(int64(half)+1))
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return max(time.Duration(s)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// wait waits d on the clock; false when ctx ended first.
func (n *Notifier) wait(ctx context.Context, d time.Duration) bool {
	t := n.opts.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}
