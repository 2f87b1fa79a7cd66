package modelserver

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Faults are what a test injects into the server.
type Faults struct {
	// ErrorRatio is the share of /predict requests answered 500, in [0, 1].
	ErrorRatio float64
	// Latency is added to every /predict request.
	Latency time.Duration
	// FlipRatio is the share of predictions inverted, in [0, 1]: it degrades
	// the accuracy /feedback measures by about that much.
	FlipRatio float64
	// ScoreShift is added to the probability of fraud of every answer,
	// clamped to [0, 1], in [-1, 1]: the scores drift while the predicted
	// class, the error rate and the accuracy stay the model's.
	ScoreShift float64
	// SlowStart keeps /readyz failing (and /predict answering 503) for this
	// long after the start, like a model that takes time to load.
	SlowStart time.Duration
}

// Validate says which fault is out of range.
func (f Faults) Validate() error {
	for name, r := range map[string]float64{"error ratio": f.ErrorRatio, "flip ratio": f.FlipRatio} {
		if math.IsNaN(r) || r < 0 || r > 1 {
			return fmt.Errorf("%s %g is not in [0, 1]", name, r)
		}
	}
	if math.IsNaN(f.ScoreShift) || f.ScoreShift < -1 || f.ScoreShift > 1 {
		return fmt.Errorf("score shift %g is not in [-1, 1]", f.ScoreShift)
	}
	if f.Latency < 0 || f.SlowStart < 0 {
		return fmt.Errorf("latency %s and slow start %s must not be negative", f.Latency, f.SlowStart)
	}
	return nil
}

// spread picks a share of events evenly, not at random: the n-th event is
// picked when floor(n*ratio) grows. Any run of k events then holds the share
// to within one event, so a test of 100 requests at 0.2 sees exactly 20
// errors, and a window of a rate() query sees the share it expects.
type spread struct {
	ratio float64
	n     atomic.Uint64
}

func (s *spread) pick() bool {
	if s.ratio <= 0 {
		return false
	}
	n := s.n.Add(1)
	return math.Floor(float64(n)*s.ratio) > math.Floor(float64(n-1)*s.ratio)
}

// wait sleeps for d, or until ctx ends (the client went away).
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
