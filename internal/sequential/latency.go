package sequential

import (
	"fmt"
	"math"

	"github.com/modelgate/modelgate/internal/drift"
)

// SlowRequests turns a latency histogram (cumulative buckets, +Inf
// included, as drift.Bucket) into Counts where an "error" is a request
// slower than the largest bucket bound at most limit: each request is then a
// trial that is slow or not, and Judge compares the candidate's share of slow
// requests with the stable's under the same guarantee as error rates. The
// bound used is returned, so that status can say "slower than 250ms".
// Buckets must be cumulative since the analysis began, like error counts.
func SlowRequests(h []drift.Bucket, limit float64) (Counts, float64, error) {
	total, within, bound := math.NaN(), math.NaN(), math.Inf(-1)
	for _, b := range h {
		if math.IsNaN(b.Count) || b.Count < 0 {
			return Counts{}, 0, fmt.Errorf("the bucket le=%g holds %g, not a count", b.UpperBound, b.Count)
		}
		if math.IsInf(b.UpperBound, 1) {
			total = b.Count
		}
		if b.UpperBound <= limit && b.UpperBound > bound {
			bound, within = b.UpperBound, b.Count
		}
	}
	switch {
	case math.IsNaN(total):
		return Counts{}, 0, fmt.Errorf("the latency histogram has no +Inf bucket")
	case math.IsNaN(within):
		return Counts{}, 0, fmt.Errorf("the latency histogram has no bucket bound at or below %g", limit)
	}
	return Counts{Requests: total, Errors: math.Max(0, total-math.Min(within, total))}, bound, nil
}
