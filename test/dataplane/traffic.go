package dataplane

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/modelgate/modelgate/internal/model"
	"github.com/modelgate/modelgate/internal/modelserver"
)

// TrafficOptions describe a stream of synthetic payments.
type TrafficOptions struct {
	// Proxy is the data plane's proxy URL (Runner.ProxyURL).
	Proxy string
	// Target is the base URL the payments go to: a Service
	// (http://fraud-scorer.ml.svc:8080) or a pod IP and port.
	Target string
	// RPS is the rate, in payments a second.
	RPS float64
	// Seed draws the payments (internal/model's generator): the same seed
	// sends the same payments.
	Seed uint64
	// MaxInFlight bounds the requests waiting for an answer (default 64); a
	// payment due when that many wait is counted as dropped, not sent late.
	MaxInFlight int
}

// Traffic sends payments at a steady rate, open loop: one is due every
// 1/RPS whatever the answers take. The true label of each answered payment
// goes to /feedback of the pod that answered (named by the proxy for a
// Service), so the servers' accuracy metrics have outcomes to count.
type Traffic struct {
	opts   TrafficOptions
	client *http.Client
	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	stats TrafficStats
}

// TrafficStats count what a Traffic sent and heard.
type TrafficStats struct {
	Sent int
	// Codes counts the answers of /predict by HTTP status.
	Codes map[int]int
	// Versions counts the 200 answers by the version that gave them.
	Versions map[string]int
	// Failed counts requests that got no answer at all.
	Failed int
	// Dropped counts payments not sent because MaxInFlight were waiting.
	Dropped int
	// Feedback counts labels accepted by /feedback.
	Feedback int
}

// StartTraffic starts sending; Stop ends it.
func StartTraffic(opts TrafficOptions) (*Traffic, error) {
	if opts.RPS <= 0 {
		return nil, fmt.Errorf("traffic rate %g: it must be more than zero payments a second", opts.RPS)
	}
	proxy, err := url.Parse(opts.Proxy)
	if err != nil || opts.Proxy == "" {
		return nil, fmt.Errorf("traffic needs the data plane's proxy URL, got %q", opts.Proxy)
	}
	if _, err := url.Parse(opts.Target); err != nil {
		return nil, fmt.Errorf("traffic target %q: %w", opts.Target, err)
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 64
	}
	t := &Traffic{
		opts: opts,
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			Proxy: http.ProxyURL(proxy), MaxIdleConnsPerHost: opts.MaxInFlight,
		}},
		done:  make(chan struct{}),
		stats: TrafficStats{Codes: map[int]int{}, Versions: map[string]int{}},
	}
	var ctx context.Context
	ctx, t.cancel = context.WithCancel(context.Background())
	go t.run(ctx)
	return t, nil
}

func (t *Traffic) run(ctx context.Context) {
	defer close(t.done)
	gen := model.NewGenerator(t.opts.Seed)
	slots := make(chan struct{}, t.opts.MaxInFlight)
	tick := time.NewTicker(time.Duration(float64(time.Second) / t.opts.RPS))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			t.wg.Wait()
			return
		case <-tick.C:
		}
		payment := gen.Next()
		select {
		case slots <- struct{}{}:
		default:
			t.count(func(s *TrafficStats) { s.Dropped++ })
			continue
		}
		t.wg.Go(func() {
			defer func() { <-slots }()
			// Stop ends the sending, not the requests in flight: a request the
			// server counted is counted here too, so the two always agree.
			t.send(context.WithoutCancel(ctx), payment)
		})
	}
}

// send posts one payment and, when it is answered, its true label.
func (t *Traffic) send(ctx context.Context, payment model.Example) {
	body, _ := json.Marshal(map[string]any{"features": payment.Features()})
	resp, err := t.post(ctx, t.opts.Target+"/predict", body)
	if err != nil {
		if ctx.Err() == nil { // a request cut short by Stop is not a failure
			t.count(func(s *TrafficStats) { s.Sent++; s.Failed++ })
		}
		return
	}
	defer resp.Body.Close()
	var answer modelserver.PredictResponse
	decodeErr := json.NewDecoder(resp.Body).Decode(&answer)
	t.count(func(s *TrafficStats) {
		s.Sent++
		s.Codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusOK && decodeErr == nil {
			s.Versions[answer.Version]++
		}
	})
	if resp.StatusCode != http.StatusOK || decodeErr != nil {
		return
	}
	// Feedback goes to the process that answered, which remembers the id.
	base := t.opts.Target
	if ep := resp.Header.Get(EndpointHeader); ep != "" {
		base = "http://" + ep
	}
	label := modelserver.PredictionLegit
	if payment.Fraud {
		label = modelserver.PredictionFraud
	}
	fb, _ := json.Marshal(modelserver.FeedbackRequest{ID: answer.ID, Prediction: answer.Prediction, Label: label})
	if fresp, err := t.post(ctx, base+"/feedback", fb); err == nil {
		_, _ = io.Copy(io.Discard, fresp.Body)
		_ = fresp.Body.Close()
		if fresp.StatusCode == http.StatusOK {
			t.count(func(s *TrafficStats) { s.Feedback++ })
		}
	}
}

func (t *Traffic) post(ctx context.Context, target string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return t.client.Do(req)
}

func (t *Traffic) count(f func(*TrafficStats)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.stats)
}

// Stats returns the counts so far.
func (t *Traffic) Stats() TrafficStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Codes, s.Versions = make(map[int]int, len(t.stats.Codes)), make(map[string]int, len(t.stats.Versions))
	for k, v := range t.stats.Codes {
		s.Codes[k] = v
	}
	for k, v := range t.stats.Versions {
		s.Versions[k] = v
	}
	return s
}

// Stop ends the traffic, waits for the requests in flight, and returns the counts.
func (t *Traffic) Stop() TrafficStats {
	t.cancel()
	<-t.done
	return t.Stats()
}
