package sequential

import (
	"math"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/internal/drift"
)

func TestSlowRequests(t *testing.T) {
	inf := math.Inf(1)
	h := []drift.Bucket{{UpperBound: 0.1, Count: 700}, {UpperBound: 0.25, Count: 950}, {UpperBound: 0.5, Count: 990}, {UpperBound: inf, Count: 1000}}
	tests := []struct {
		name      string
		h         []drift.Bucket
		limit     float64
		want      Counts
		wantBound float64
		wantErr   string
	}{
		{name: "a limit on a bound", h: h, limit: 0.25, want: Counts{Requests: 1000, Errors: 50}, wantBound: 0.25},
		{name: "a limit between bounds takes the bound below", h: h, limit: 0.3, want: Counts{Requests: 1000, Errors: 50}, wantBound: 0.25},
		{name: "buckets in any order", h: []drift.Bucket{h[3], h[1], h[0], h[2]}, limit: 0.5, want: Counts{Requests: 1000, Errors: 10}, wantBound: 0.5},
		{name: "a bucket above the total, as increase() may extrapolate", h: []drift.Bucket{{UpperBound: 1, Count: 101}, {UpperBound: inf, Count: 100}},
			limit: 1, want: Counts{Requests: 100, Errors: 0}, wantBound: 1},
		{name: "no bound at or below the limit", h: h, limit: 0.05, wantErr: "no bucket bound at or below 0.05"},
		{name: "no +Inf", h: h[:3], limit: 0.25, wantErr: "no +Inf bucket"},
		{name: "not a count", h: []drift.Bucket{{UpperBound: inf, Count: math.NaN()}}, limit: 1, wantErr: "not a count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, bound, err := SlowRequests(tt.h, tt.limit)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || bound != tt.wantBound {
				t.Errorf("got %+v slower than %g, want %+v slower than %g", got, bound, tt.want, tt.wantBound)
			}
		})
	}
}
