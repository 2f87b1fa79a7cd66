package probe

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/internal/egress"
)

// Defaults of Options.
const (
	DefaultTimeout    = 5 * time.Second
	DefaultTTL        = 10 * time.Minute
	DefaultMaxEntries = 1024
)

const (
	// firstBackoff and maxBackoff bound how long a transient result (Unknown,
	// or a registration in progress) is kept before the far end is asked
	// again: 1s, 2s, 4s ... at most a minute.
	firstBackoff = time.Second
	maxBackoff   = time.Minute

	// maxBody is the most read of any answer.
	maxBody = 1 << 20

	userAgent = "modelgate-probe"

	schemeHTTP  = "http"
	schemeHTTPS = "https"
)

// Options configure a Prober. The zero value is usable.
type Options struct {
	// Client sends the probes; the manager gives one that dials through the
	// egress policy. Nil means a client with Timeout. Its CheckRedirect is
	// replaced by egress.CheckRedirect.
	Client *http.Client
	// Timeout bounds one probe, an OCI registry's token exchange included.
	// Default 5s.
	Timeout time.Duration
	// TTL is how long a Pass or Fail result is cached. Default 10m.
	TTL time.Duration
	// MaxEntries bounds the cache; the entry written longest ago is evicted
	// first. Default 1024.
	MaxEntries int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// PlainHTTPHosts lists OCI registries, as host:port exactly as written in
	// the oci:// reference, that speak plain http (a local registry). Every
	// other registry is asked over https.
	PlainHTTPHosts []string
}

// Prober runs the network-backed probes and caches their results. It is safe
// for concurrent use; concurrent calls for the same probe share one request.
type Prober struct {
	client    *http.Client
	timeout   time.Duration
	ttl       time.Duration
	max       int
	now       func() time.Time
	plainHTTP map[string]bool

	mu       sync.Mutex
	entries  map[string]*list.Element // values are *entry
	order    *list.List               // entries, written longest ago first
	inflight map[string]*call
}

// New returns a Prober with the options' defaults filled in.
func New(opts Options) *Prober {
	p := &Prober{
		client:    opts.Client,
		timeout:   opts.Timeout,
		ttl:       opts.TTL,
		max:       opts.MaxEntries,
		now:       opts.Now,
		plainHTTP: make(map[string]bool, len(opts.PlainHTTPHosts)),
		entries:   map[string]*list.Element{},
		order:     list.New(),
		inflight:  map[string]*call{},
	}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	if p.ttl <= 0 {
		p.ttl = DefaultTTL
	}
	if p.max <= 0 {
		p.max = DefaultMaxEntries
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: p.timeout}
	}
	// Every redirect is checked, whichever client: at most a few, never
	// from https to http, no credential to another host.
	c := *p.client
	c.CheckRedirect = egress.CheckRedirect
	p.client = &c
	for _, h := range opts.PlainHTTPHosts {
		p.plainHTTP[strings.ToLower(h)] = true
	}
	return p
}

// outcome is a probe's result as cached: a Finding, or a fetched document.
type outcome struct {
	finding checklist.Finding
	doc     checklist.ModelCardDocument
	// transient marks an answer that may change any moment (the far end did
	// not answer, or a registration is in progress): it is kept only for a
	// backoff, not for the TTL.
	transient bool
}

// entry is one cached outcome.
type entry struct {
	key     string
	out     outcome
	expires time.Time
	// failures counts the transient outcomes in a row, for the backoff.
	failures int
}

// call is a probe in flight; callers for the same key wait on done.
type call struct {
	done chan struct{}
	out  outcome
}

// do returns the cached outcome of the probe named by key, or runs the probe
// once for all concurrent callers. The probe runs detached from ctx, bounded
// by the Prober's timeout, so that a caller that gives up does not spoil the
// result for the others; a caller whose ctx ends gets ctx's error.
func (p *Prober) do(ctx context.Context, key string, probe func(context.Context) outcome) (outcome, error) {
	if err := ctx.Err(); err != nil {
		return outcome{}, err
	}
	p.mu.Lock()
	now := p.now()
	if el, ok := p.entries[key]; ok {
		if e := el.Value.(*entry); now.Before(e.expires) {
			p.mu.Unlock()
			return e.out, nil
		}
	}
	c, ok := p.inflight[key]
	if !ok {
		c = &call{done: make(chan struct{})}
		p.inflight[key] = c
		go p.run(context.WithoutCancel(ctx), key, c, probe)
	}
	p.mu.Unlock()

	select {
	case <-c.done:
		return c.out, nil
	case <-ctx.Done():
		return outcome{}, ctx.Err()
	}
}

// run runs one probe, caches its outcome and wakes the callers waiting on it.
func (p *Prober) run(ctx context.Context, key string, c *call, probe func(context.Context) outcome) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	out := probe(ctx)

	p.mu.Lock()
	defer p.mu.Unlock()
	p.store(key, out)
	delete(p.inflight, key)
	c.out = out
	close(c.done)
}

// store caches an outcome: a settled one for the TTL, a transient one for a
// backoff that doubles with each transient outcome in a row. It evicts the
// entries written longest ago beyond MaxEntries. p.mu must be held.
func (p *Prober) store(key string, out outcome) {
	var e *entry
	if el, ok := p.entries[key]; ok {
		e = el.Value.(*entry)
		p.order.MoveToBack(el)
	} else {
		e = &entry{key: key}
		p.entries[key] = p.order.PushBack(e)
	}
	e.out = out
	if out.transient {
		e.failures++
		e.expires = p.now().Add(backoff(e.failures))
	} else {
		e.failures = 0
		e.expires = p.now().Add(p.ttl)
	}
	for p.order.Len() > p.max {
		oldest := p.order.Front()
		delete(p.entries, oldest.Value.(*entry).key)
		p.order.Remove(oldest)
	}
}

// backoff is how long the n-th transient outcome in a row is kept.
func backoff(n int) time.Duration {
	d := firstBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// finding runs a Finding-valued probe through the cache and returns a copy
// the caller may keep.
func (p *Prober) finding(ctx context.Context, key, shown string, probe func(context.Context) outcome) *checklist.Finding {
	out, err := p.do(ctx, key, probe)
	if err != nil {
		f := checklist.Unknown(remCancelled, "The probe of %s was cancelled before it finished: %v", shown, err)
		return &f
	}
	f := out.finding
	return &f
}

func settled(f checklist.Finding) outcome { return outcome{finding: f} }

func transient(f checklist.Finding) outcome { return outcome{finding: f, transient: true} }

// unreachable is the Unknown outcome of a far end that did not answer, or
// answered with an error of its own.
func unreachable(host, format string, args ...any) outcome {
	return transient(checklist.Unknown(remUnreachable(host), format, args...))
}

const remCancelled = "nothing to change: the operator stopped waiting for the answer (it is shutting down, or the reconcile ran out of time) and the next reconcile probes again"

func remUnreachable(host string) string {
	return fmt.Sprintf("check that %s is up and reachable from the operator's pod (DNS, egress NetworkPolicy, proxy, a TLS certificate the operator trusts); "+
		"modelgate asks again after a backoff of 1s, doubling to at most 1m", host)
}

// send sends a request whose answer's body is not needed: it is closed
// unread, so that a server ignoring a Range header costs nothing.
func (p *Prober) send(ctx context.Context, method, target string, header http.Header) (int, http.Header, error) {
	resp, err := p.request(ctx, method, target, header)
	if err != nil {
		return 0, nil, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// get fetches target, reading at most maxBody bytes; tooLarge says the answer
// had more.
func (p *Prober) get(ctx context.Context, target, accept string) (status int, body []byte, tooLarge bool, err error) {
	resp, err := p.request(ctx, http.MethodGet, target, http.Header{"Accept": {accept}})
	if err != nil {
		return 0, nil, false, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return resp.StatusCode, nil, false, err
	}
	if len(body) > maxBody {
		return resp.StatusCode, body[:maxBody], true, nil
	}
	return resp.StatusCode, body, false, nil
}

func (p *Prober) request(ctx context.Context, method, target string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", userAgent)
	return p.client.Do(req)
}

// describe says why a request got no answer, in a few fixed words classified
// from the error (egress.Reason): never the error's text, which may quote
// what the far end sent, so that a probe cannot be used to read back what
// answers at an address, nor a URL, which may carry credentials.
func (p *Prober) describe(err error) string {
	if r := egress.Reason(err); r != "timeout" {
		return r
	}
	return fmt.Sprintf("timeout (no answer within %s)", p.timeout)
}

// httpStatus is "HTTP 404 Not Found".
func httpStatus(code int) string {
	return strings.TrimSpace(fmt.Sprintf("HTTP %d %s", code, http.StatusText(code)))
}

// isHTTPURL is true for an absolute http or https URL.
func isHTTPURL(u *url.URL) bool {
	return (u.Scheme == schemeHTTP || u.Scheme == schemeHTTPS) && u.Host != ""
}

// parseErr is a URL parse error without the URL, which may carry credentials.
func parseErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
