package analysis

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/drift"
	"github.com/modelgate/modelgate/internal/sequential"
)

// FuzzRender: any text a user writes as a query template is refused by
// CheckTemplate (which the admission webhook runs) and then refused by the
// renderer too, or it renders to at most MaxRendered bytes, failing only by
// length; an accepted template grows by its placeholders alone, so with
// empty variables it renders no longer than itself.
func FuzzRender(f *testing.F) {
	for _, text := range []string{
		DefaultQueries.ErrorRate, DefaultQueries.FeatureValue, DefaultQueries.PredictionScore,
		hostile, `{{if .Name}}x{{end}}`, `{{.Name | printf "%s%s"}}`, `{{printf "%0999999d" 1}}`, `{{$x := .Name}}{{$x}}`,
		`{{define "a"}}x{{end}}{{template "a"}}`, `{{block "a" .}}x{{end}}`, `{{.}}`, `{{.Name.X}}`, `{{.Version`,
		`{{- .Version -}}`, `{{/* comment */}}up`, `{{.Feature}}`, `{{.Revision}}`, `{{.Pod}}`, `{{ .Window }}{{.Window}}`,
		strings.Repeat(`{{.Name}}`, 600), strings.Repeat("x", MaxRendered) + `{{.Name}}`, "", "{{", "}}",
	} {
		f.Add(text, "risk", "fraud-scorer", "2.3.0", "2.3.0_.0a1b2c3d", "1m", "amount", false)
		f.Add(text, "", "", "", "", "", "", true)
	}
	f.Fuzz(func(t *testing.T, text, namespace, name, version, revision, window, feature string, featureAllowed bool) {
		var extra []string
		if featureAllowed {
			extra = []string{"Feature"}
		}
		vars := Vars{Namespace: namespace, Name: name, Version: version, Revision: revision, Window: window, Feature: feature}
		checkErr := CheckTemplate(text, extra...)
		out, err := renderChecked(text, vars, extra)
		switch {
		case checkErr != nil && err == nil:
			t.Fatalf("CheckTemplate refused %q (%v), but it rendered %d bytes", text, checkErr, len(out))
		case checkErr == nil && err != nil && !errors.Is(err, errTooLong):
			t.Fatalf("CheckTemplate accepted %q, but rendering failed other than by length: %v", text, err)
		case err == nil && len(out) > MaxRendered:
			t.Fatalf("%q rendered %d bytes, more than %d", text, len(out), MaxRendered)
		}
		if checkErr != nil {
			// Refused with the extra placeholder, refused without it too.
			if _, err := renderChecked(text, vars, nil); err == nil {
				t.Fatalf("%q is refused with %v but renders without", text, extra)
			}
			return
		}
		empty, err := renderChecked(text, Vars{}, extra)
		if err != nil && !errors.Is(err, errTooLong) {
			t.Fatalf("CheckTemplate accepted %q, but rendering it with empty variables failed: %v", text, err)
		}
		if err == nil && len(empty) > len(text) {
			t.Fatalf("%q (%d bytes) rendered %d bytes with empty variables", text, len(text), len(empty))
		}
	})
}

// finite is v when it is a finite number, else fallback: a value the
// fuzzer made NaN or infinite where a property needs a number.
func finite(v, fallback float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fallback
	}
	return v
}

// FuzzJudge: any round of samples, however odd its values and bounds, is
// judged without a panic into the four verdicts, within the API's bounds;
// a value that is not a finite number never passes; a value over its bound
// breaches, one within it passes; and a worse candidate (a higher error
// rate or latency, a lower accuracy) never turns a breach into a pass.
func FuzzJudge(f *testing.F) {
	f.Add(400.0, 0.5, 120.0, 0.93, 0.94, 1.0, "5", int32(250), "2", uint8(0), int32(0))
	f.Add(400.0, 12.5, 900.0, 0.846, 0.94, 0.0, "5", int32(250), "2", uint8(0), int32(1))
	f.Add(3.0, 33.0, 120.0, 0.93, 0.0, 10.0, "5", int32(250), "2", uint8(1), int32(0))
	f.Add(400.0, math.NaN(), math.Inf(1), math.Inf(-1), math.NaN(), 1e308, "x", int32(-1), "1e400", uint8(2), int32(-3))
	f.Add(1e308, 5.0, 250.0, 0.0, -1.0, math.SmallestNonzeroFloat64, "5.0", int32(0), "-2", uint8(0xff), int32(1<<30))
	f.Add(20.0, 5.000001, 250.5, 0.5, 0.5, 0.0, " 5", int32(250), "NaN", uint8(0x1c), int32(2))
	// A provider other than Prometheus may answer NaN or an infinity.
	f.Add(400.0, math.NaN(), math.NaN(), math.NaN(), 0.94, 1.0, "5", int32(250), "2", uint8(0), int32(0))
	f.Add(math.Inf(1), 0.5, math.Inf(-1), 0.93, math.Inf(1), 1.0, "5", int32(250), "2", uint8(0), int32(0))
	f.Fuzz(func(t *testing.T, requests, errorRate, latency, candAccuracy, stableAccuracy, worse float64,
		maxErrors string, maxLatency int32, maxDrop string, flags uint8, failureLimit int32) {
		r := fuzzRound{requests: requests, errorRate: errorRate, latency: latency, candAccuracy: candAccuracy, stableAccuracy: stableAccuracy, flags: flags}
		s := spec(func(s *servingv1alpha1.AnalysisSpec) {
			s.Triggers.ErrorRate.MaxPercent = servingv1alpha1.Percent(maxErrors)
			s.Triggers.LatencyP95.MaxMilliseconds = maxLatency
			s.Triggers.AccuracyDrop.MaxPercent = servingv1alpha1.Percent(maxDrop)
			s.FailureLimit = failureLimit
			s.NoData = []servingv1alpha1.NoDataPolicy{servingv1alpha1.NoDataPause, servingv1alpha1.NoDataFail, servingv1alpha1.NoDataIgnore}[int(flags&3)%3]
		})
		prev := &servingv1alpha1.AnalysisStatus{Version: "2.0.0", Breaches: 1}
		st := Judge(s, v("2.0.0"), r.samples(), prev, now)
		checkStatus(t, s, st, prev)
		byMetric := lastRound(st)
		if m := byMetric[MetricAccuracyDrop]; m.Verdict == servingv1alpha1.VerdictPass && (!isFinite(candAccuracy) || !isFinite(stableAccuracy)) {
			t.Fatalf("the accuracy drop of %g against %g passed", candAccuracy, stableAccuracy)
		}
		r.checkBound(t, byMetric[MetricErrorRate], errorRate, maxErrors, flags&8 != 0)
		r.checkBound(t, byMetric[MetricLatencyP95], latency, strconv.Itoa(int(maxLatency)), flags&16 != 0)

		// A worse candidate keeps every breach.
		worse = math.Abs(finite(worse, 1))
		w := r
		w.errorRate, w.latency, w.candAccuracy = errorRate+worse, latency+worse, candAccuracy-worse/100
		if math.IsInf(w.errorRate, 0) || math.IsInf(w.latency, 0) || math.IsInf(w.candAccuracy, 0) {
			return
		}
		again := Judge(s, v("2.0.0"), w.samples(), prev, now)
		for metric, m := range lastRound(again) {
			if was := byMetric[metric]; metric != MetricRequests && was.Verdict == servingv1alpha1.VerdictBreach && m.Verdict != servingv1alpha1.VerdictBreach {
				t.Fatalf("%s breached at %s, but is %s at the worse %s", metric, was.Value, m.Verdict, m.Value)
			}
		}
		if st.LastRound.Verdict == servingv1alpha1.VerdictBreach && again.LastRound.Verdict != servingv1alpha1.VerdictBreach {
			t.Fatalf("the round breached (%s), but a worse candidate's is %s: %s", st.LastRound.Message, again.LastRound.Verdict, again.LastRound.Message)
		}
		if again.Breaches < st.Breaches {
			t.Fatalf("a worse candidate counts %d breaches, fewer than %d", again.Breaches, st.Breaches)
		}
	})
}

// fuzzRound is a round of FuzzJudge: the candidate 2.0.0's values and the
// stable 1.0.0's accuracy; bits 2 to 6 of flags make the queries, in that
// order, fail or find nothing.
type fuzzRound struct {
	requests, errorRate, latency, candAccuracy, stableAccuracy float64
	flags                                                      uint8
}

func (r fuzzRound) samples() []Sample {
	out := []Sample{
		sample(MetricRequests, "2.0.0", r.requests), sample(MetricErrorRate, "2.0.0", r.errorRate), sample(MetricLatencyP95, "2.0.0", r.latency),
		sample(MetricAccuracy, "2.0.0", r.candAccuracy), sample(MetricAccuracy, "1.0.0", r.stableAccuracy),
	}
	for i := range out {
		switch {
		case r.flags&(4<<i) != 0 && i%2 == 0:
			out[i].Err = ErrNoData
		case r.flags&(4<<i) != 0:
			out[i].Err = errors.New("querying Prometheus: connection refused")
		}
	}
	return out
}

// checkBound: a value that is not a finite number never passes; with
// enough requests, a value over a bound that is a number breaches and one
// within it passes.
func (r fuzzRound) checkBound(t *testing.T, m servingv1alpha1.Measurement, value float64, bound string, failed bool) {
	t.Helper()
	if !isFinite(value) && m.Verdict == servingv1alpha1.VerdictPass {
		t.Fatalf("%s of %g passed", m.Metric, value)
	}
	limit, err := strconv.ParseFloat(bound, 64)
	judged := isFinite(r.requests) && r.requests >= 20 && r.flags&4 == 0
	if !judged || failed || err != nil || !isFinite(value) {
		return
	}
	if want := value > limit; want != (m.Verdict == servingv1alpha1.VerdictBreach) || (!want && m.Verdict != servingv1alpha1.VerdictPass) {
		t.Fatalf("%s of %g against the bound %q: %s", m.Metric, value, bound, m.Verdict)
	}
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// lastRound are the measurements of the last round, by metric.
func lastRound(st *servingv1alpha1.AnalysisStatus) map[string]servingv1alpha1.Measurement {
	out := map[string]servingv1alpha1.Measurement{}
	for _, m := range st.Measurements {
		if m.Time.Time.Equal(st.LastRound.Time.Time) {
			out[m.Metric] = m
		}
	}
	return out
}

// checkStatus holds for any status Judge returns after prev: the four
// verdicts, the round's verdict the worst of its measurements, counts that
// only grow, and the API's bounds.
func checkStatus(t *testing.T, s *servingv1alpha1.AnalysisSpec, st, prev *servingv1alpha1.AnalysisStatus) {
	t.Helper()
	if st == nil || st.LastRound == nil {
		t.Fatalf("Judge returned no round: %+v", st)
	}
	verdicts := map[servingv1alpha1.Verdict]bool{}
	for _, m := range st.Measurements {
		switch m.Verdict {
		case servingv1alpha1.VerdictPass, servingv1alpha1.VerdictBreach, servingv1alpha1.VerdictNoData, servingv1alpha1.VerdictError:
		default:
			t.Fatalf("measurement %s has the verdict %q", m.Metric, m.Verdict)
		}
		if m.Time.Time.Equal(st.LastRound.Time.Time) {
			verdicts[m.Verdict] = true
		}
	}
	want := servingv1alpha1.VerdictPass
	switch {
	case verdicts[servingv1alpha1.VerdictBreach] || (verdicts[servingv1alpha1.VerdictNoData] && s.NoData == servingv1alpha1.NoDataFail):
		want = servingv1alpha1.VerdictBreach
	case verdicts[servingv1alpha1.VerdictError]:
		want = servingv1alpha1.VerdictError
	case verdicts[servingv1alpha1.VerdictNoData] && s.NoData != servingv1alpha1.NoDataIgnore:
		want = servingv1alpha1.VerdictNoData
	}
	if st.LastRound.Verdict != want {
		t.Fatalf("the round is %s (%s), its measurements %v", st.LastRound.Verdict, st.LastRound.Message, verdicts)
	}
	if st.Breaches < prev.Breaches || st.ConsecutiveErrors < 0 || len(st.Measurements) > maxMeasurements {
		t.Fatalf("breaches %d after %d, consecutive errors %d, %d measurements", st.Breaches, prev.Breaches, st.ConsecutiveErrors, len(st.Measurements))
	}
}

// FuzzSequentialJudge: the sequential judge, on any counts and settings,
// answers without a panic: an Error for what is not a count or a setting,
// else intervals inside [0, 1] around each observed rate, a verdict read
// from them at the tolerance, and one that more candidate errors in as many
// requests never turn from a breach into anything else.
func FuzzSequentialJudge(f *testing.F) {
	f.Add(5000.0, 250.0, 45000.0, 450.0, "0.95", "0", 10.0)
	f.Add(5000.0, 50.0, 45000.0, 450.0, "0.95", "1", 0.0)
	f.Add(100.0, 1.0, 900.0, 9.0, "0.99", "0.5", 50.0)
	f.Add(0.0, 0.0, 0.0, 0.0, "0.5", "100", 0.0)
	f.Add(10.0, 11.0, -1.0, math.NaN(), "1", "-1", math.Inf(1))
	f.Add(1e18, 1e17, 1e18, 1e15, "0.999999", "0.001", 1e16)
	f.Fuzz(func(t *testing.T, candRequests, candErrors, stableRequests, stableErrors float64, confidence, tolerance string, more float64) {
		s := judgeSpec(tolerance, true)
		s.Judge.Confidence = servingv1alpha1.Confidence(confidence)
		prev := &servingv1alpha1.AnalysisStatus{Version: "2.0.0"}
		st := Judge(s, v("2.0.0"), counted(candRequests, candErrors, stableRequests, stableErrors), prev, now)
		checkStatus(t, s, st, prev)
		var judge *servingv1alpha1.Measurement
		for i := range st.Measurements {
			if st.Measurements[i].Metric == MetricJudge {
				if judge != nil {
					t.Fatalf("two measurements of the judge: %+v", st.Measurements)
				}
				judge = &st.Measurements[i]
			}
		}
		if judge == nil {
			t.Fatalf("no measurement of the judge: %+v", st.Measurements)
		}

		conf, err1 := strconv.ParseFloat(orDefault(confidence, "0.95"), 64)
		tol, err2 := strconv.ParseFloat(orDefault(tolerance, "0"), 64)
		if err1 != nil || err2 != nil {
			if judge.Verdict != servingv1alpha1.VerdictError {
				t.Fatalf("confidence %q, tolerance %q: the judge says %s", confidence, tolerance, judge.Verdict)
			}
			return
		}
		cfg := sequential.Config{Confidence: conf, Tolerance: tol / 100}
		// What is not a finite number is no series: no request, no error.
		candRequests, candErrors, stableRequests, stableErrors = finite(candRequests, 0), finite(candErrors, 0), finite(stableRequests, 0), finite(stableErrors, 0)
		cand := sequential.Counts{Requests: candRequests, Errors: min(candErrors, candRequests)}
		stable := sequential.Counts{Requests: stableRequests, Errors: min(stableErrors, stableRequests)}
		res, err := sequential.Judge(cand, stable, cfg)
		if err != nil {
			if judge.Verdict != servingv1alpha1.VerdictError {
				t.Fatalf("sequential.Judge(%+v, %+v, %+v) failed (%v), but the measurement is %s", cand, stable, cfg, err, judge.Verdict)
			}
			return
		}
		if (res.Verdict == sequential.Breach) != (judge.Verdict == servingv1alpha1.VerdictBreach) || judge.Verdict == servingv1alpha1.VerdictError {
			t.Fatalf("the judge said %s, the measurement is %s", res.Verdict, judge.Verdict)
		}
		checkSequential(t, res, cand, stable, cfg)

		// More errors in as many requests: never less of a breach.
		worse := cand
		worse.Errors = min(cand.Requests, cand.Errors+math.Abs(finite(more, 0)))
		again, err := sequential.Judge(worse, stable, cfg)
		if err != nil {
			t.Fatalf("sequential.Judge(%+v) failed after (%+v) passed: %v", worse, cand, err)
		}
		if again.Candidate.Lower < res.Candidate.Lower-1e-9 {
			t.Fatalf("%g errors in %g requests: lower bound %g, below %g for %g errors", worse.Errors, worse.Requests, again.Candidate.Lower, res.Candidate.Lower, cand.Errors)
		}
		if res.Verdict == sequential.Breach && again.Verdict != sequential.Breach {
			t.Fatalf("%+v breached, but %+v is %s", cand, worse, again.Verdict)
		}
	})
}

// checkSequential: each interval inside [0, 1] and around its observed
// rate, the verdict read from the difference at the tolerance.
func checkSequential(t *testing.T, res sequential.Result, cand, stable sequential.Counts, cfg sequential.Config) {
	t.Helper()
	for side, iv := range map[string]sequential.Interval{"candidate": res.Candidate, "stable": res.Stable} {
		c := map[string]sequential.Counts{"candidate": cand, "stable": stable}[side]
		if !(iv.Lower >= 0 && iv.Lower <= iv.Upper && iv.Upper <= 1) {
			t.Fatalf("%s interval %+v of %+v is not inside [0, 1]", side, iv, c)
		}
		if rate := c.Errors / c.Requests; c.Requests > 0 && (rate < iv.Lower-1e-9 || rate > iv.Upper+1e-9) {
			t.Fatalf("%s interval %+v does not hold the observed rate %g", side, iv, rate)
		}
	}
	switch res.Verdict {
	case sequential.Breach:
		if !(res.Difference.Lower > cfg.Tolerance) {
			t.Fatalf("Breach with the difference %+v and the tolerance %g", res.Difference, cfg.Tolerance)
		}
	case sequential.PassEarly:
		if !(res.Difference.Upper < cfg.Tolerance) {
			t.Fatalf("PassEarly with the difference %+v and the tolerance %g", res.Difference, cfg.Tolerance)
		}
	}
}

// FuzzDrift: the PSI of any two histograms is a finite number of zero or
// more, the same either way round, zero for a histogram against itself,
// with a Jensen-Shannon divergence in [0, 1]; through Judge, a drift
// measurement is one of the four verdicts, and a PSI over its bound breaches.
func FuzzDrift(f *testing.F) {
	f.Add([]byte{50, 30, 20, 0}, []byte{30, 30, 40, 0}, 1.0, 2.0, "0.2", int32(100))
	f.Add([]byte{0, 0, 0}, []byte{255, 255, 255}, 0.5, 0.25, "0.1", int32(0))
	f.Add([]byte{200, 1}, []byte{1, 200}, math.Inf(-1), math.NaN(), "x", int32(-5))
	f.Add([]byte{}, []byte{9}, 0.0, 0.0, "0", int32(1))
	f.Fuzz(func(t *testing.T, candCounts, stableCounts []byte, lowBound, highBound float64, maxPSI string, minObservations int32) {
		bounds := []float64{lowBound, highBound, 5, 10, math.Inf(1)}
		hist := func(counts []byte, scale float64) []drift.Bucket {
			out := make([]drift.Bucket, 0, len(counts))
			cum := 0.0
			for i, c := range counts[:min(len(counts), len(bounds))] {
				cum += float64(c) * scale
				out = append(out, drift.Bucket{UpperBound: bounds[i], Count: cum})
			}
			return out
		}
		cand, stable := hist(candCounts, 3), hist(stableCounts, 3)
		opts := drift.Options{MinObservations: float64(minObservations)}
		res, err := drift.Compare(cand, stable, opts)
		if err == nil {
			if math.IsNaN(res.PSI) || math.IsInf(res.PSI, 0) || res.PSI < 0 {
				t.Fatalf("PSI %g of %v against %v", res.PSI, cand, stable)
			}
			if !(res.JensenShannon >= -1e-12 && res.JensenShannon <= 1+1e-12) {
				t.Fatalf("Jensen-Shannon %g of %v against %v", res.JensenShannon, cand, stable)
			}
			if len(res.Moved) > 3 {
				t.Fatalf("%d buckets moved most", len(res.Moved))
			}
			back, err := drift.Compare(stable, cand, opts)
			if err != nil || math.Abs(back.PSI-res.PSI) > 1e-9*math.Max(1, res.PSI) {
				t.Fatalf("PSI %g one way, %g (%v) the other", res.PSI, back.PSI, err)
			}
			self, err := drift.Compare(cand, cand, opts)
			if err != nil || self.PSI != 0 {
				t.Fatalf("PSI %g (%v) of %v against itself", self.PSI, err, cand)
			}
		}

		s := driftSpec(maxPSI, minObservations)
		samples := append(healthy(), histogram(MetricPredictionDrift, "2.0.0", cand), histogram(MetricPredictionDrift, "1.0.0", stable))
		prev := &servingv1alpha1.AnalysisStatus{}
		st := Judge(s, v("2.0.0"), samples, prev, now)
		checkStatus(t, s, st, prev)
		for _, m := range st.Measurements {
			if m.Metric != MetricPredictionDrift {
				continue
			}
			limit, perr := strconv.ParseFloat(maxPSI, 64)
			if err == nil && perr == nil && (res.PSI > limit) != (m.Verdict == servingv1alpha1.VerdictBreach) {
				t.Fatalf("PSI %g against the bound %q: %s", res.PSI, maxPSI, m.Verdict)
			}
		}
	})
}
