package promserver

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	prommodel "github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
	"github.com/modelgate/modelgate/internal/model"
	"github.com/modelgate/modelgate/internal/modelserver"
)

// revisionServer serves the sample model in-process as a revision of 2.3.0.
func revisionServer(t *testing.T, revision string, faults modelserver.Faults) string {
	t.Helper()
	s, err := modelserver.New(modelserver.Config{Model: model.Shipped(), Version: "2.3.0", Revision: revision, Faults: faults})
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

// The stable revision of 2.3.0 (a first revision, whose series carry no
// revision label) and a later revision of the same number failing a fifth
// of its requests, scraped by a real Prometheus: the default queries, sent
// by the analysis' own Prometheus provider, measure each apart.
func TestSameVersionRevisionsThroughPrometheus(t *testing.T) {
	stable := revisionServer(t, "", modelserver.Faults{})
	candidate := revisionServer(t, "2.3.0_.0a1b2c3d", modelserver.Faults{ErrorRatio: 0.2})
	p, err := Start(context.Background(), Options{Binary: binary(t),
		Config: Static("models", []string{stable, candidate}, map[string]string{LabelNamespace: "ml", LabelModelDeployment: "fraud-scorer"}, 500*time.Millisecond)})
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
	queryUntil(t, api, `model_requests_total{namespace="ml",code="200"}`, time.Now, func(v prommodel.Vector) bool { return len(v) == 2 })

	const n = 100
	for range n {
		for _, target := range []string{stable, candidate} {
			resp, err := http.Post("http://"+target+"/predict", "application/json", strings.NewReader(`{"features": {"amount": 42.5, "hour": 14, "merchant_risk": 0.1, "transactions_24h": 2, "card_present": 1, "foreign": 0, "account_age_days": 400, "distance_km": 3}}`))
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
		}
	}
	queryUntil(t, api, `sum(model_requests_total{namespace="ml"})`, time.Now, func(v prommodel.Vector) bool { return len(v) == 1 && v[0].Value == 2*n })

	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "fraud-scorer"}}
	md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{
		Prometheus: &servingv1alpha1.PrometheusSpec{Address: servingv1alpha1.URL(p.URL)},
		Triggers: &servingv1alpha1.TriggersSpec{ErrorRate: &servingv1alpha1.ErrorRateTrigger{MaxPercent: "5",
			StableComparison: servingv1alpha1.StableComparison{RelativeTo: servingv1alpha1.BaselineStable, MaxIncreasePercent: "50"}}},
		MinSampleSize: 20,
	}
	cand, base := analysis.Subject{Version: "2.3.0", Revision: "2.3.0_.0a1b2c3d"}, analysis.Subject{Version: "2.3.0"}
	queries, err := analysis.Queries(md, cand, base, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	provider, err := analysis.PrometheusFactory(http.DefaultTransport)(context.Background(), md, nil)
	if err != nil {
		t.Fatal(err)
	}
	round := analysis.Measure(context.Background(), provider, nil, queries, time.Now())
	got := map[string]float64{}
	for _, s := range round.Samples {
		if s.Err != nil {
			t.Fatalf("%s of %s: %v (%s)", s.Metric, s.Subject(), s.Err, s.PromQL)
		}
		got[s.Metric+"@"+s.Subject().String()] = s.Value
	}
	t.Logf("measured %v", got)
	if v := got["errorRate@2.3.0 (revision 0a1b2c3d)"]; v < 19.9 || v > 20.1 {
		t.Errorf("the later revision's error rate is %g, want its own 20%%", v)
	}
	if v, ok := got["errorRate@2.3.0"]; !ok || v != 0 {
		t.Errorf("the stable revision's error rate is %g (measured: %t), want its own 0%%", v, ok)
	}
	// increase() extrapolates a young series, so the counts are n or more;
	// both revisions' series together count about twice as many.
	both := queryUntil(t, api, `sum(increase(model_requests_total{namespace="ml",modeldeployment="fraud-scorer",version="2.3.0"}[1m]))`,
		func() time.Time { return round.At }, func(v prommodel.Vector) bool { return len(v) == 1 })
	if v := got["requestCount@2.3.0 (revision 0a1b2c3d)"]; v < n || v > 0.6*float64(both[0].Value) {
		t.Errorf("the later revision's requests are %g, want its own %d or more, about half of both revisions' %g", v, n, float64(both[0].Value))
	}

	st := analysis.Judge(md.Spec.Analysis, cand, round.Samples, nil, round.At)
	if st.LastRound.Verdict != servingv1alpha1.VerdictBreach || !strings.HasPrefix(st.LastRound.Message, "errorRate of version 2.3.0 (revision 0a1b2c3d) is 20") {
		t.Errorf("round %s: %s", st.LastRound.Verdict, st.LastRound.Message)
	}
}
