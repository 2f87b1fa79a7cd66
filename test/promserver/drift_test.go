package promserver

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	prommodel "github.com/prometheus/common/model"

	"github.com/modelgate/modelgate/internal/drift"
	"github.com/modelgate/modelgate/internal/model"
	"github.com/modelgate/modelgate/internal/modelserver"
)

// faultyModelServer serves the sample model in-process with faults.
func faultyModelServer(t *testing.T, version string, faults modelserver.Faults) string {
	t.Helper()
	s, err := modelserver.New(modelserver.Config{Model: model.Shipped(), Version: version, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// buckets reads a `sum by (le)` vector as cumulative histogram buckets.
func buckets(t *testing.T, v prommodel.Vector) []drift.Bucket {
	t.Helper()
	out := make([]drift.Bucket, 0, len(v))
	for _, s := range v {
		le, err := strconv.ParseFloat(string(s.Metric["le"]), 64)
		if err != nil {
			t.Fatalf("le %q: %v", s.Metric["le"], err)
		}
		out = append(out, drift.Bucket{UpperBound: le, Count: float64(s.Value)})
	}
	return out
}

// sendPayments sends the same n synthetic payments to every target.
func sendPayments(t *testing.T, n int, targets ...string) {
	t.Helper()
	for _, e := range model.NewGenerator(7).Generate(n) {
		body, err := json.Marshal(map[string]any{"features": e.Features()})
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range targets {
			resp, err := http.Post("http://"+target+"/predict", "application/json", strings.NewReader(string(body)))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s answered %d", target, resp.StatusCode)
			}
		}
	}
}

// The histograms the sample server exports, read back from a real
// Prometheus the way the analysis will query them (increase over a window,
// summed by le), give drift.Compare what it needs: the version with shifted
// scores is far from the other on its scores and not on its inputs, though
// both answered the same payments without an error.
func TestDriftThroughPrometheus(t *testing.T) {
	stable := faultyModelServer(t, "2.3.0", modelserver.Faults{})
	shifted := faultyModelServer(t, "2.4.0", modelserver.Faults{ScoreShift: 0.3})
	p, err := Start(context.Background(), Options{Binary: binary(t),
		Config: Static("models", []string{stable, shifted}, map[string]string{LabelNamespace: "ml", LabelModelDeployment: "fraud-scorer"}, 500*time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	client, err := promapi.NewClient(promapi.Config{Address: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	api := promv1.NewAPI(client)
	// A scrape of both before any traffic, so that increase() sees it all.
	queryUntil(t, api, `model_prediction_score_count{namespace="ml"}`, time.Now, func(v prommodel.Vector) bool { return len(v) == 2 })

	const n = 400
	sendPayments(t, n, stable, shifted)
	// Wait for a scrape after the last request.
	queryUntil(t, api, `min(model_prediction_score_count{namespace="ml"})`, time.Now, func(v prommodel.Vector) bool { return len(v) == 1 && v[0].Value == n })

	sel := func(version string) string {
		return `namespace="ml",modeldeployment="fraud-scorer",version="` + version + `"`
	}
	histogram := func(metric, version, extra string) []drift.Bucket {
		q := `sum by (le) (increase(` + metric + `_bucket{` + sel(version) + extra + `}[1m]))`
		return buckets(t, queryUntil(t, api, q, time.Now, func(v prommodel.Vector) bool { return len(v) > 2 }))
	}

	scores, err := drift.Compare(histogram(modelserver.MetricScore, "2.4.0", ""), histogram(modelserver.MetricScore, "2.3.0", ""), drift.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scores: %s over %.1f and %.1f observations", scores.Describe(), scores.Candidate, scores.Stable)
	// increase() extrapolates a young series towards the window's end, so
	// the counts are n or more, by a share that depends on when the scrapes
	// fell; the shares of the buckets, scaled alike, are what the index reads.
	if scores.PSI <= 0.25 || scores.Candidate < n || scores.Stable < n {
		t.Errorf("score PSI %.3f over %.1f and %.1f observations, want above 0.25 over at least %d each", scores.PSI, scores.Candidate, scores.Stable, n)
	}
	for _, f := range []string{"amount", "merchant_risk"} {
		extra := `,` + modelserver.LabelFeature + `="` + f + `"`
		in, err := drift.Compare(histogram(modelserver.MetricFeature, "2.4.0", extra), histogram(modelserver.MetricFeature, "2.3.0", extra), drift.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", f, in.Describe())
		if in.PSI > 0.01 {
			t.Errorf("%s: PSI %.4f between versions given the same payments, want about 0", f, in.PSI)
		}
	}
	errs := queryUntil(t, api, `sum by (version) (increase(model_requests_total{namespace="ml",code=~"5.."}[1m]))`, time.Now,
		func(v prommodel.Vector) bool { return len(v) == 2 })
	for _, s := range errs {
		if s.Value != 0 {
			t.Errorf("version %s answered %g errors, want none", s.Metric["version"], float64(s.Value))
		}
	}

	// Too few observations on one side: no data, not a verdict.
	few := histogram(modelserver.MetricScore, "2.4.0", "")
	for i := range few {
		few[i].Count /= 10
	}
	if _, err := drift.Compare(few, histogram(modelserver.MetricScore, "2.3.0", ""), drift.Options{}); err == nil || !strings.Contains(err.Error(), "too few observations") {
		t.Errorf("error %v, want too few observations", err)
	}
}
