package analysis

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/drift"
)

// The histograms of docs/drift.md's worked example: (-Inf, 1], (1, 2],
// (2, +Inf] holding 50, 30, 20 candidate and 30, 30, 40 stable
// observations, PSI 0.233522 with half an observation of smoothing.
var (
	movedScores  = []drift.Bucket{{UpperBound: 1, Count: 50}, {UpperBound: 2, Count: 80}, {UpperBound: math.Inf(1), Count: 100}}
	stableScores = []drift.Bucket{{UpperBound: 1, Count: 30}, {UpperBound: 2, Count: 60}, {UpperBound: math.Inf(1), Count: 100}}
)

func histogram(metric, version string, h []drift.Bucket) Sample {
	return Sample{Query: Query{Metric: metric, Version: version, PromQL: metric + "{" + version + "}", Histogram: true}, Buckets: h}
}

func noHistogram(metric, version string) Sample {
	return Sample{Query: Query{Metric: metric, Version: version, PromQL: metric + "{" + version + "}", Histogram: true}, Err: ErrNoData}
}

func driftSpec(maxPSI string, minObservations int32, mut ...func(*servingv1alpha1.AnalysisSpec)) *servingv1alpha1.AnalysisSpec {
	return spec(append([]func(*servingv1alpha1.AnalysisSpec){func(s *servingv1alpha1.AnalysisSpec) {
		s.Triggers.PredictionDrift = &servingv1alpha1.PredictionDriftTrigger{MaxPSI: servingv1alpha1.PSI(maxPSI), MinObservations: minObservations}
	}}, mut...)...)
}

func relativeSpec(mut ...func(*servingv1alpha1.AnalysisSpec)) *servingv1alpha1.AnalysisSpec {
	return spec(append([]func(*servingv1alpha1.AnalysisSpec){func(s *servingv1alpha1.AnalysisSpec) {
		s.Triggers.ErrorRate.StableComparison = servingv1alpha1.StableComparison{RelativeTo: servingv1alpha1.BaselineStable, MaxIncreasePercent: "50"}
		s.Triggers.LatencyP95.StableComparison = servingv1alpha1.StableComparison{RelativeTo: servingv1alpha1.BaselineStable, MaxIncreasePercent: "20"}
	}}, mut...)...)
}

func TestJudgeAgainstStable(t *testing.T) {
	pass, breach, noData, failed := servingv1alpha1.VerdictPass, servingv1alpha1.VerdictBreach, servingv1alpha1.VerdictNoData, servingv1alpha1.VerdictError
	drifted := append(healthy(), histogram(MetricPredictionDrift, "2.0.0", movedScores), histogram(MetricPredictionDrift, "1.0.0", stableScores))
	baseline := append(healthy(), sample(MetricErrorRate, "1.0.0", 0.5), sample(MetricLatencyP95, "1.0.0", 110))
	tests := []struct {
		name     string
		spec     *servingv1alpha1.AnalysisSpec
		samples  []Sample
		metric   string
		verdict  servingv1alpha1.Verdict
		value    string
		round    servingv1alpha1.Verdict
		message  string // of the round
		measured string // in the measurement's message
	}{
		{
			name: "scores moved beyond maxPSI", spec: driftSpec("0.2", 100), samples: drifted,
			metric: MetricPredictionDrift, verdict: breach, value: "0.233522", round: breach,
			message: "predictionDrift of version 2.0.0 is 0.233522, outside the bound <= 0.2 " +
				"(PSI 0.234 (noise 0.04): (2, +Inf] 20.2% vs 39.9%, (-Inf, 1] 49.8% vs 30.0%, (1, 2] 30.0% vs 30.0%, against version 1.0.0)",
		},
		{
			name: "scores moved within maxPSI", spec: driftSpec("0.25", 100), samples: drifted,
			metric: MetricPredictionDrift, verdict: pass, value: "0.233522", round: pass,
			measured: "PSI 0.234 (noise 0.04): (2, +Inf] 20.2% vs 39.9%",
		},
		{
			name: "too few observations on a side", spec: driftSpec("0.2", 200), samples: drifted,
			metric: MetricPredictionDrift, verdict: noData, round: noData,
			message: "predictionDrift of version 2.0.0 has no data: against version 1.0.0: too few observations: candidate 100, stable 100, each needs 200",
		},
		{
			name: "too few observations under noData: Fail", samples: drifted,
			spec:   driftSpec("0.2", 200, func(s *servingv1alpha1.AnalysisSpec) { s.NoData = servingv1alpha1.NoDataFail }),
			metric: MetricPredictionDrift, verdict: noData, round: breach,
		},
		{
			name: "no scores from the stable version", spec: driftSpec("0.2", 100),
			samples: append(healthy(), histogram(MetricPredictionDrift, "2.0.0", movedScores), noHistogram(MetricPredictionDrift, "1.0.0")),
			metric:  MetricPredictionDrift, verdict: noData, round: noData,
			message: "predictionDrift of version 2.0.0 has no data: the stable version 1.0.0 has no data in the window",
		},
		{
			name: "no stable version", spec: driftSpec("0.2", 100), samples: healthy(),
			metric: MetricPredictionDrift, verdict: noData, round: noData,
			message: "predictionDrift of version 2.0.0 has no data: no stable version to compare with",
		},
		{
			name: "a histogram without +Inf", spec: driftSpec("0.2", 100),
			samples: append(healthy(), histogram(MetricPredictionDrift, "2.0.0", movedScores[:2]), histogram(MetricPredictionDrift, "1.0.0", stableScores)),
			metric:  MetricPredictionDrift, verdict: failed, round: failed,
		},
		{
			name: "an input feature moved, named",
			spec: spec(func(s *servingv1alpha1.AnalysisSpec) {
				s.Triggers.InputDrift = &servingv1alpha1.InputDriftTrigger{MaxPSI: "0.1", MinObservations: 50, Features: []servingv1alpha1.FeatureName{"amount", "hour"}}
			}),
			samples: append(healthy(),
				histogram(MetricInputDrift+"amount", "2.0.0", movedScores), histogram(MetricInputDrift+"amount", "1.0.0", stableScores),
				histogram(MetricInputDrift+"hour", "2.0.0", stableScores), histogram(MetricInputDrift+"hour", "1.0.0", stableScores)),
			metric: "inputDrift/amount", verdict: breach, value: "0.233522", round: breach,
		},
		{
			name: "an input feature unchanged",
			spec: spec(func(s *servingv1alpha1.AnalysisSpec) {
				s.Triggers.InputDrift = &servingv1alpha1.InputDriftTrigger{MaxPSI: "0.1", MinObservations: 50, Features: []servingv1alpha1.FeatureName{"hour"}}
			}),
			samples: append(healthy(), histogram(MetricInputDrift+"hour", "2.0.0", stableScores), histogram(MetricInputDrift+"hour", "1.0.0", stableScores)),
			metric:  "inputDrift/hour", verdict: pass, value: "0", round: pass,
		},
		{
			name: "error rate 80% above stable's, relative", spec: relativeSpec(),
			samples: with(baseline, sample(MetricErrorRate, "2.0.0", 0.9)),
			metric:  MetricErrorRateIncrease, verdict: breach, value: "80", round: breach,
			message: "errorRateIncrease of version 2.0.0 is 80, outside the bound <= 50 (0.9 against 0.5 of version 1.0.0)",
		},
		{
			name: "error rate 40% above stable's, under its absolute bound", spec: relativeSpec(),
			samples: with(baseline, sample(MetricErrorRate, "2.0.0", 0.7)),
			metric:  MetricErrorRateIncrease, verdict: pass, value: "40", round: pass,
		},
		{
			name: "latency 30% above stable's", spec: relativeSpec(),
			samples: with(baseline, sample(MetricLatencyP95, "2.0.0", 143)),
			metric:  MetricLatencyP95Increase, verdict: breach, value: "30", round: breach,
		},
		{
			name: "errors where stable has none", spec: relativeSpec(),
			samples: with(with(baseline, sample(MetricErrorRate, "1.0.0", 0)), sample(MetricErrorRate, "2.0.0", 0.1)),
			metric:  MetricErrorRateIncrease, verdict: breach, value: "+Inf", round: breach,
		},
		{
			name: "no errors on either side", spec: relativeSpec(),
			samples: with(with(baseline, sample(MetricErrorRate, "1.0.0", 0)), sample(MetricErrorRate, "2.0.0", 0)),
			metric:  MetricErrorRateIncrease, verdict: pass, value: "0", round: pass,
		},
		{
			name: "no data from the stable version", spec: relativeSpec(),
			samples: with(baseline, failing(MetricErrorRate, "1.0.0", ErrNoData)),
			metric:  MetricErrorRateIncrease, verdict: noData, round: noData,
			message: "errorRateIncrease of version 2.0.0 has no data: the stable version 1.0.0 has no data in the window",
		},
		{
			name: "the stable side's absolute bound is not judged", spec: relativeSpec(),
			samples: with(baseline, sample(MetricErrorRate, "1.0.0", 4)),
			metric:  MetricErrorRateIncrease, verdict: pass, value: "-87.5", round: pass,
		},
		{
			name: "too few requests for the candidate", spec: relativeSpec(),
			samples: with(with(baseline, sample(MetricRequests, "2.0.0", 3)), sample(MetricErrorRate, "2.0.0", 30)),
			metric:  MetricErrorRateIncrease, verdict: noData, round: noData,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			st := Judge(tt.spec, v("2.0.0"), tt.samples, nil, now)
			g.Expect(st.LastRound.Verdict).To(Equal(tt.round))
			if tt.message != "" {
				g.Expect(st.LastRound.Message).To(Equal(tt.message))
			}
			var found *servingv1alpha1.Measurement
			for i, m := range st.Measurements {
				g.Expect(m.Version).To(Equal("2.0.0"), "the stable version's samples are compared, not judged: %s", m.Metric)
				if m.Metric == tt.metric {
					found = &st.Measurements[i]
				}
			}
			g.Expect(found).NotTo(BeNil())
			g.Expect(found.Verdict).To(Equal(tt.verdict))
			if tt.value != "" {
				g.Expect(found.Value).To(Equal(tt.value))
				g.Expect(found.Bound).To(HavePrefix("<= "))
			}
			g.Expect(found.Message).To(ContainSubstring(tt.measured))
		})
	}
}

func TestQueriesAgainstStable(t *testing.T) {
	g := NewWithT(t)
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "fraud-scorer"}}
	md.Spec.Analysis = relativeSpec(func(s *servingv1alpha1.AnalysisSpec) {
		s.Triggers.PredictionDrift = &servingv1alpha1.PredictionDriftTrigger{MaxPSI: "0.25"}
		s.Triggers.InputDrift = &servingv1alpha1.InputDriftTrigger{MaxPSI: "0.2", Features: []servingv1alpha1.FeatureName{"amount"}}
		s.Prometheus.Queries = &servingv1alpha1.QueryTemplates{FeatureValue: `sum by (le) (increase(input_bucket{v="{{.Version}}",f="{{.Feature}}"}[{{.Window}}]))`}
	})
	qs, err := Queries(md, v("2.0.0"), v("1.0.0"), time.Minute)
	g.Expect(err).NotTo(HaveOccurred())
	byMetric := map[string]Query{}
	for _, q := range qs {
		byMetric[q.Metric+"@"+q.Version] = q
	}
	sel := `namespace="risk",modeldeployment="fraud-scorer",version=`
	g.Expect(byMetric["predictionDrift@2.0.0"].PromQL).To(Equal(`sum by (le) (increase(model_prediction_score_bucket{` + sel + `"2.0.0",revision=""}[1m]))`))
	g.Expect(byMetric["predictionDrift@1.0.0"].PromQL).To(Equal(`sum by (le) (increase(model_prediction_score_bucket{` + sel + `"1.0.0",revision=""}[1m]))`))
	g.Expect(byMetric["predictionDrift@1.0.0"].Histogram).To(BeTrue())
	g.Expect(byMetric["inputDrift/amount@1.0.0"].PromQL).To(Equal(`sum by (le) (increase(input_bucket{v="1.0.0",f="amount"}[1m]))`))
	g.Expect(byMetric["errorRate@1.0.0"].PromQL).To(ContainSubstring(sel + `"1.0.0",revision="",code=~"5.."`))
	g.Expect(byMetric["latencyP95@1.0.0"].Histogram).To(BeFalse())
	g.Expect(keys(byMetric)).To(HaveLen(11), "requests, error rate and latency of the candidate; accuracy, scores and the feature of both; error rate and latency of stable")

	qs, err = Queries(md, v("2.0.0"), v(""), time.Minute)
	g.Expect(err).NotTo(HaveOccurred())
	for _, q := range qs {
		g.Expect(q.Version).To(Equal("2.0.0"), "no stable version, nothing of it to ask")
	}
}

func keys(m map[string]Query) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestPrometheusHistogram(t *testing.T) {
	tests := []struct {
		name, body string
		want       []drift.Bucket
		err        string
	}{
		{
			name: "one series per bucket",
			body: `{"resultType":"vector","result":[{"metric":{"le":"0.5"},"value":[1,"30"]},{"metric":{"le":"+Inf"},"value":[1,"100"]},{"metric":{"le":"0.25"},"value":[1,"12.5"]}]}`,
			want: []drift.Bucket{{UpperBound: 0.5, Count: 30}, {UpperBound: math.Inf(1), Count: 100}, {UpperBound: 0.25, Count: 12.5}},
		},
		{name: "no series", body: `{"resultType":"vector","result":[]}`, err: "no data"},
		{name: "not summed by le", body: `{"resultType":"vector","result":[{"metric":{},"value":[1,"3"]}]}`, err: "no le label"},
		{name: "a scalar", body: `{"resultType":"scalar","result":[1,"3"]}`, err: "not one series per bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = fmt.Fprintf(w, `{"status":"success","data":%s}`, tt.body)
			}))
			defer srv.Close()
			p, err := NewPrometheus(srv.URL, "", time.Second, nil)
			g.Expect(err).NotTo(HaveOccurred())
			s := p.Measure(context.Background(), Query{Metric: MetricPredictionDrift, Histogram: true, PromQL: "x"}, now)
			if tt.err != "" {
				g.Expect(s.Err).To(MatchError(ContainSubstring(tt.err)))
				return
			}
			g.Expect(s.Err).NotTo(HaveOccurred())
			g.Expect(s.Buckets).To(Equal(tt.want))
		})
	}
}
