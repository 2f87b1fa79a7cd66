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
)

// Backoff is the wait between attempts: Initial, doubled after each failed
// attempt up to Max, with jitter (a random point in the upper half).
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// Options configure a Notifier; zero values take the defaults.
type Options struct {
	// Workers deliver in parallel. Default 4.
	Workers int
	// QueueSize bounds the events waiting for a worker; Send drops beyond
	// it. Default 256.
	QueueSize int
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
	// HTTPClient sends the requests. Default: a client that does not follow
	// redirects (a redirect is a failure), so the body goes nowhere else.
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
	def(&o.Workers, 4)
	def(&o.QueueSize, 256)
	def(&o.MaxAttempts, 5)
	def(&o.FailureThreshold, 1)
	defDur(&o.Timeout, 10*time.Second)
	defDur(&o.Backoff.Initial, time.Second)
	defDur(&o.Backoff.Max, 30*time.Second)
	if o.Backoff.Max < o.Backoff.Initial {
		o.Backoff.Max = o.Backoff.Initial
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}

// Notifier delivers events from a bounded queue with a pool of workers. It is
// a manager.Runnable: add it to the manager, and Send from the reconciler.
type Notifier struct {
	opts  Options
	queue chan job

	// mu guards stopped against Sends racing with the end of Start.
	mu      sync.RWMutex
	stopped bool
	started atomic.Bool
	// dropping is set while Sends are being dropped, to log once per run of drops.
	dropping atomic.Bool

	failures failureBook
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
		queue:    make(chan job, opts.QueueSize),
		failures: failureBook{threshold: opts.FailureThreshold, byKey: map[key]*failure{}},
	}
}

// NeedLeaderElection is false: the workers only deliver what the reconciler
// sends, which runs on the leader alone.
func (n *Notifier) NeedLeaderElection() bool { return false }

// Start runs the workers until ctx is done, then waits for them to return.
// Events still queued then are dropped and counted.
func (n *Notifier) Start(ctx context.Context) error {
	if !n.started.CompareAndSwap(false, true) {
		return errors.New("the notifier was already started")
	}
	ctx = ctrllog.IntoContext(ctx, ctrllog.FromContext(ctx).WithName("notify"))
	var wg sync.WaitGroup
	for range n.opts.Workers {
		wg.Go(func() { n.work(ctx) })
	}
	<-ctx.Done()
	n.mu.Lock()
	n.stopped = true
	n.mu.Unlock()
	wg.Wait()
	for {
		select {
		case j := <-n.queue:
			count(j.key(), ResultDropped)
		default:
			return nil
		}
	}
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
			"receiver", r.Name, "modelDeployment", klog.KRef(ev.Namespace, ev.Name), "event", ev.Type, "queueSize", n.opts.QueueSize)
	}
	return false
}

// enqueue queues j unless the queue is full or the notifier stopped. The
// lock is held only for the check and the channel send, which does not wait.
func (n *Notifier) enqueue(j job) bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.stopped {
		return false
	}
	select {
	case n.queue <- j:
		return true
	default:
		return false
	}
}

func checkReceiver(r Receiver) error {
	if r.Kind != KindWebhook && r.Kind != KindSlack {
		return fmt.Errorf("unknown receiver kind %q: want %s or %s", r.Kind, KindWebhook, KindSlack)
	}
	return validURL(r.URL)
}

// work delivers queued events until ctx is done.
func (n *Notifier) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-n.queue:
			n.deliver(ctx, j)
		}
	}
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
		return 0, false, fmt.Errorf("%s: %s", target, scrub(err, j.receiver.URL))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "modelgate-notify")
	req.Header.Set("X-Modelgate-Event-Id", j.event.ID())
	resp, err := n.opts.HTTPClient.Do(req)
	if err != nil {
		if errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			return 0, true, fmt.Errorf("%s: no answer within %s", target, n.opts.Timeout)
		}
		return 0, true, fmt.Errorf("%s: %s", target, scrub(err, j.receiver.URL))
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, false, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	err = fmt.Errorf("%s: %s", target, resp.Status)
	if s := strings.TrimSpace(string(snippet)); s != "" {
		err = fmt.Errorf("%w: %s", err, scrub(errors.New(strings.Join(strings.Fields(s), " ")), j.receiver.URL))
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return parseRetryAfter(resp.Header.Get("Retry-After"), n.opts.Clock.Now()), true, err
	}
	return 0, false, err
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
