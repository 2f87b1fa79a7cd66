package modelserver

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelgate/modelgate/internal/drift"
	"github.com/modelgate/modelgate/internal/model"
)

// payments draws n synthetic payments as /predict bodies.
func payments(t *testing.T, seed uint64, n int) ([]string, []model.Example) {
	t.Helper()
	examples := model.NewGenerator(seed).Generate(n)
	bodies := make([]string, n)
	for i, e := range examples {
		b, err := json.Marshal(map[string]any{"features": e.Features()})
		if err != nil {
			t.Fatal(err)
		}
		bodies[i] = string(b)
	}
	return bodies, examples
}

// answer sends every body to the server's handler, no network, and returns the answers.
func answer(t *testing.T, s *Server, bodies []string) []PredictResponse {
	t.Helper()
	h := s.Handler()
	out := make([]PredictResponse, len(bodies))
	for i, body := range bodies {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/predict", strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("/predict %d: %s", rec.Code, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// histogram returns the cumulative buckets of a histogram the server
// exports, +Inf included, as the analysis reads them from Prometheus.
func histogram(t *testing.T, s *Server, name, feature string) []drift.Bucket {
	t.Helper()
	families, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			got := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == LabelFeature {
					got = l.GetValue()
				}
			}
			if got != feature {
				continue
			}
			var out []drift.Bucket
			for _, b := range m.GetHistogram().GetBucket() {
				out = append(out, drift.Bucket{UpperBound: b.GetUpperBound(), Count: float64(b.GetCumulativeCount())})
			}
			return append(out, drift.Bucket{UpperBound: math.Inf(1), Count: float64(m.GetHistogram().GetSampleCount())})
		}
	}
	t.Fatalf("no %s{feature=%q}", name, feature)
	return nil
}

// cumulative counts the values at most each bound, +Inf last.
func cumulative(bounds, values []float64) []drift.Bucket {
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	out := make([]drift.Bucket, 0, len(bounds)+1)
	for _, ub := range append(append([]float64(nil), bounds...), math.Inf(1)) {
		n := sort.Search(len(sorted), func(i int) bool { return sorted[i] > ub })
		out = append(out, drift.Bucket{UpperBound: ub, Count: float64(n)})
	}
	return out
}

func TestDistributionsFillTheirBuckets(t *testing.T) {
	s, _ := newServer(t, Config{})
	bodies, examples := payments(t, 3, 500)
	answers := answer(t, s, bodies)

	for j, f := range model.Features {
		values := make([]float64, len(examples))
		for i, e := range examples {
			values[i] = e.X[j]
		}
		got, want := histogram(t, s, MetricFeature, f.Name), cumulative(f.Buckets, values)
		if len(got) != len(want) {
			t.Fatalf("%s: %d buckets, want %d", f.Name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: bucket le=%g holds %g, want %g", f.Name, want[i].UpperBound, got[i].Count, want[i].Count)
			}
		}
	}
	scores := make([]float64, len(answers))
	for i, a := range answers {
		scores[i] = a.Probability
	}
	got, want := histogram(t, s, MetricScore, ""), cumulative(ScoreBuckets, scores)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("score: bucket le=%g holds %g, want %g", want[i].UpperBound, got[i].Count, want[i].Count)
		}
	}
	// The buckets fit the model: each holds some of the scores of the
	// training data.
	cfg, shipped := model.DefaultTrainConfig, model.Shipped()
	var train []float64
	for _, e := range model.NewGenerator(cfg.Seed).Generate(cfg.Samples) {
		p, err := shipped.PredictVector(e.X)
		if err != nil {
			t.Fatal(err)
		}
		train = append(train, p.Probability)
	}
	below := 0.0
	for _, b := range cumulative(ScoreBuckets, train) {
		if share := (b.Count - below) / float64(len(train)); share < 0.02 {
			t.Errorf("the score bucket le=%g holds %.1f%% of the training data's scores, want at least 2%%", b.UpperBound, 100*share)
		}
		below = b.Count
	}
}

// A shifted server answers the same payments with the same classes and no
// more errors, but its score distribution has moved far from the
// unshifted server's, and its inputs' have not moved at all.
func TestScoreShiftMovesTheScoresAlone(t *testing.T) {
	stable, _ := newServer(t, Config{Version: "2.3.0"})
	shifted, _ := newServer(t, Config{Version: "2.4.0", Faults: Faults{ScoreShift: 0.3}})
	bodies, _ := payments(t, 4, 400)
	before, after := answer(t, stable, bodies), answer(t, shifted, bodies)
	for i := range before {
		want := math.Min(1, before[i].Probability+0.3)
		if math.Abs(after[i].Probability-want) > 1e-12 || after[i].Prediction != before[i].Prediction {
			t.Fatalf("payment %d: %s at %g shifted, want %s at %g", i, after[i].Prediction, after[i].Probability, before[i].Prediction, want)
		}
	}

	scores, err := drift.Compare(histogram(t, shifted, MetricScore, ""), histogram(t, stable, MetricScore, ""), drift.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("score PSI %.2f, noise floor %.3f, moved most %s %.3f vs %.3f", scores.PSI, scores.NoiseFloor, scores.Moved[0].Range(), scores.Moved[0].Candidate, scores.Moved[0].Stable)
	if scores.PSI < 1 || scores.Candidate != 400 || scores.Stable != 400 {
		t.Errorf("score PSI %.3f over %g and %g answers, want above 1 over 400 each", scores.PSI, scores.Candidate, scores.Stable)
	}
	// Most payments are everyday ones scored under 0.2: shifted by 0.3 they
	// land in (0.25, 0.5], the bucket that moved most.
	if scores.Moved[0].Range() != "(0.25, 0.5]" {
		t.Errorf("moved most: %+v, want (0.25, 0.5] first", scores.Moved)
	}
	for _, f := range model.Features {
		in, err := drift.Compare(histogram(t, shifted, MetricFeature, f.Name), histogram(t, stable, MetricFeature, f.Name), drift.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if in.PSI != 0 {
			t.Errorf("%s: PSI %g between the same inputs", f.Name, in.PSI)
		}
	}
	for _, code := range []string{"200", "500"} {
		if a, b := testutil.ToFloat64(stable.metrics.requests.WithLabelValues(code)), testutil.ToFloat64(shifted.metrics.requests.WithLabelValues(code)); a != b {
			t.Errorf("code %s: %g answers shifted, %g unshifted", code, b, a)
		}
	}
	if got := testutil.ToFloat64(shifted.metrics.requests.WithLabelValues("500")); got != 0 {
		t.Errorf("%g errors with the scores shifted, want none", got)
	}
	for _, class := range []string{PredictionFraud, PredictionLegit} {
		if a, b := testutil.ToFloat64(stable.metrics.predictions.WithLabelValues(class)), testutil.ToFloat64(shifted.metrics.predictions.WithLabelValues(class)); a != b {
			t.Errorf("%s: %g predictions shifted, %g unshifted", class, b, a)
		}
	}
}
