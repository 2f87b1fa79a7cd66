package modelserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelgate/modelgate/internal/model"
)

const everyday = `{"features": {"amount": 42.5, "hour": 14, "merchant_risk": 0.2, "distance_km": 3,
	"transactions_24h": 2, "card_present": 1, "foreign": 0, "account_age_days": 900}}`

const suspicious = `{"features": {"amount": 900, "hour": 3, "merchant_risk": 0.7, "distance_km": 400,
	"transactions_24h": 12, "card_present": 0, "foreign": 1, "account_age_days": 20}}`

func newServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Model == nil {
		cfg.Model = model.Shipped()
	}
	if cfg.Version == "" {
		cfg.Version = "2.3.0"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

// call sends a request and returns the status and the body.
func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func predict(t *testing.T, url, body string) (int, PredictResponse, string) {
	t.Helper()
	code, raw := call(t, http.MethodPost, url+"/predict", body)
	var resp PredictResponse
	if code == http.StatusOK {
		if err := json.Unmarshal([]byte(raw), &resp); err != nil {
			t.Fatalf("answer %q: %v", raw, err)
		}
	}
	return code, resp, raw
}

func TestPredict(t *testing.T) {
	_, ts := newServer(t, Config{})
	tests := []struct {
		name     string
		method   string
		body     string
		wantCode int
		wantPred string
		wantErr  string
	}{
		{name: "an everyday payment", body: everyday, wantCode: 200, wantPred: PredictionLegit},
		{name: "a suspicious payment", body: suspicious, wantCode: 200, wantPred: PredictionFraud},
		{name: "a missing feature", body: strings.Replace(everyday, `"hour": 14, `, "", 1), wantCode: 400,
			wantErr: `feature \"hour\" is missing; send all of`},
		{name: "an unknown feature", body: strings.Replace(everyday, `"foreign"`, `"abroad"`, 1), wantCode: 400,
			wantErr: `feature \"abroad\" is unknown`},
		{name: "a string for a number", body: strings.Replace(everyday, `42.5`, `"42.5"`, 1), wantCode: 400,
			wantErr: `feature \"amount\" must be a number, got \"42.5\"`},
		{name: "null is not zero", body: strings.Replace(everyday, `42.5`, `null`, 1), wantCode: 400,
			wantErr: `feature \"amount\" must be a number, got null`},
		{name: "a value out of range", body: strings.Replace(everyday, `"hour": 14`, `"hour": 25`, 1), wantCode: 400,
			wantErr: `must be an hour of day in [0, 24)`},
		{name: "features at the top level", body: `{"amount": 1}`, wantCode: 400, wantErr: `unknown field \"amount\"`},
		{name: "no features object", body: `{}`, wantCode: 400, wantErr: `needs a \"features\" object`},
		{name: "not JSON", body: `amount=1`, wantCode: 400, wantErr: "is not the JSON expected"},
		{name: "two objects", body: everyday + everyday, wantCode: 400, wantErr: "more than one JSON object"},
		{name: "too large", body: `{"features": {"amount": 1` + strings.Repeat(" ", maxBody) + `}}`, wantCode: 400, wantErr: "larger than 65536 bytes"},
		{name: "a GET", method: http.MethodGet, wantCode: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			code, raw := call(t, method, ts.URL+"/predict", tt.body)
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", code, tt.wantCode, raw)
			}
			if tt.wantErr != "" && !strings.Contains(raw, tt.wantErr) {
				t.Errorf("body %s, want it to contain %s", raw, tt.wantErr)
			}
			if tt.wantPred == "" {
				return
			}
			var resp PredictResponse
			if err := json.Unmarshal([]byte(raw), &resp); err != nil {
				t.Fatal(err)
			}
			if resp.Prediction != tt.wantPred || resp.Version != "2.3.0" || resp.Model != "fraud-scorer" || resp.ID == "" {
				t.Errorf("answer %+v, want %s from fraud-scorer 2.3.0 with an id", resp, tt.wantPred)
			}
			if resp.Confidence < 0.5 || (resp.Prediction == PredictionFraud) != (resp.Probability >= 0.5) {
				t.Errorf("probability %.3f and confidence %.3f do not agree with %s", resp.Probability, resp.Confidence, resp.Prediction)
			}
		})
	}
}

func TestErrorRatioAnswers500sForThatShareAndCountsThem(t *testing.T) {
	s, ts := newServer(t, Config{Faults: Faults{ErrorRatio: 0.2}})
	codes := map[int]int{}
	for range 100 {
		code, _, _ := predict(t, ts.URL, everyday)
		codes[code]++
	}
	if codes[200] != 80 || codes[500] != 20 {
		t.Fatalf("codes %v, want 80 x 200 and 20 x 500", codes)
	}
	for code, want := range map[string]float64{"200": 80, "500": 20, "400": 0, "503": 0} {
		if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues(code)); got != want {
			t.Errorf("%s{code=%q} = %g, want %g", MetricRequests, code, got, want)
		}
	}
}

// A flip ratio inverts that share of the answers, and feedback with the true
// labels sees the accuracy drop by it.
func TestFlipRatioDegradesMeasuredAccuracy(t *testing.T) {
	const n = 200
	payments := model.NewGenerator(99).Generate(n)
	accuracy := func(flip float64) (float64, *Server) {
		s, ts := newServer(t, Config{Faults: Faults{FlipRatio: flip}})
		for _, p := range payments {
			body, _ := json.Marshal(map[string]any{"features": p.Features()})
			code, resp, raw := predict(t, ts.URL, string(body))
			if code != 200 {
				t.Fatalf("predict: %d %s", code, raw)
			}
			fb, _ := json.Marshal(FeedbackRequest{ID: resp.ID, Label: className(p.Fraud)})
			if code, raw := call(t, http.MethodPost, ts.URL+"/feedback", string(fb)); code != 200 {
				t.Fatalf("feedback: %d %s", code, raw)
			}
		}
		correct := testutil.ToFloat64(s.metrics.feedback.WithLabelValues(OutcomeCorrect))
		wrong := testutil.ToFloat64(s.metrics.feedback.WithLabelValues(OutcomeWrong))
		if correct+wrong != n {
			t.Fatalf("%g feedback counted, want %d", correct+wrong, n)
		}
		return correct / n, s
	}
	good, _ := accuracy(0)
	bad, s := accuracy(0.3)
	if good < 0.9 {
		t.Errorf("accuracy without faults %.3f, want at least 0.9", good)
	}
	// Flipping 30% of answers turns right ones wrong and wrong ones right.
	if want := good*0.7 + (1-good)*0.3; bad < want-0.05 || bad > want+0.05 {
		t.Errorf("accuracy with 30%% flipped %.3f, want about %.3f", bad, want)
	}
	if fraud, legit := testutil.ToFloat64(s.metrics.predictions.WithLabelValues(PredictionFraud)),
		testutil.ToFloat64(s.metrics.predictions.WithLabelValues(PredictionLegit)); fraud+legit != n {
		t.Errorf("%s counted %g + %g, want %d", MetricPredictions, fraud, legit, n)
	}
}

func TestLatencyIsAddedAndMeasured(t *testing.T) {
	s, ts := newServer(t, Config{Faults: Faults{Latency: 60 * time.Millisecond}})
	start := time.Now()
	if code, _, raw := predict(t, ts.URL, everyday); code != 200 {
		t.Fatalf("%d %s", code, raw)
	}
	if took := time.Since(start); took < 60*time.Millisecond {
		t.Errorf("answered in %s, before the injected 60ms", took)
	}
	if n := testutil.CollectAndCount(s.metrics.duration); n != 1 {
		t.Fatalf("%d histograms, want 1", n)
	}
	body := scrape(t, ts.URL)
	// One observation of at least 60ms: the 50ms bucket is empty, the 75ms one is not.
	for _, line := range []string{
		`model_request_duration_seconds_bucket{model="fraud-scorer",version="2.3.0",le="0.05"} 0`,
		`model_request_duration_seconds_bucket{model="fraud-scorer",version="2.3.0",le="0.075"} 1`,
	} {
		if !strings.Contains(body, line) {
			t.Errorf("metrics lack %s:\n%s", line, body)
		}
	}
}

func TestSlowStartKeepsTheServerNotReady(t *testing.T) {
	now := time.Unix(1000, 0)
	s, ts := newServer(t, Config{Faults: Faults{SlowStart: 5 * time.Second}, Now: func() time.Time { return now }})
	if code, raw := call(t, http.MethodGet, ts.URL+"/readyz", ""); code != 503 || !strings.Contains(raw, "ready in 5s") {
		t.Errorf("readyz during the slow start: %d %q, want 503 saying when", code, raw)
	}
	if code, raw := call(t, http.MethodGet, ts.URL+"/healthz", ""); code != 200 {
		t.Errorf("healthz during the slow start: %d %q, want 200: the process is alive", code, raw)
	}
	if code, _, raw := predict(t, ts.URL, everyday); code != 503 || !strings.Contains(raw, "not ready") {
		t.Errorf("predict during the slow start: %d %s, want 503", code, raw)
	}
	now = now.Add(5 * time.Second)
	if code, _ := call(t, http.MethodGet, ts.URL+"/readyz", ""); code != 200 {
		t.Errorf("readyz after the slow start: %d, want 200", code)
	}
	if code, _, raw := predict(t, ts.URL, everyday); code != 200 {
		t.Errorf("predict after the slow start: %d %s", code, raw)
	}
	if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues("503")); got != 1 {
		t.Errorf("503s counted: %g, want 1", got)
	}
}

func TestFeedback(t *testing.T) {
	_, ts := newServer(t, Config{Remember: 2})
	_, first, _ := predict(t, ts.URL, everyday)
	_, second, _ := predict(t, ts.URL, suspicious)
	tests := []struct {
		name        string
		body        string
		wantCode    int
		wantOutcome string
		wantErr     string
	}{
		{name: "by id, right", body: `{"id": "` + first.ID + `", "label": "legit"}`, wantCode: 200, wantOutcome: OutcomeCorrect},
		{name: "the same id again", body: `{"id": "` + first.ID + `", "label": "legit"}`, wantCode: 404, wantErr: "already judged"},
		{name: "by id, wrong", body: `{"id": "` + second.ID + `", "label": "legit"}`, wantCode: 200, wantOutcome: OutcomeWrong},
		{name: "an unknown id with its prediction", body: `{"id": "elsewhere-1", "prediction": "fraud", "label": "fraud"}`, wantCode: 200, wantOutcome: OutcomeCorrect},
		{name: "the prediction alone", body: `{"prediction": "legit", "label": "fraud"}`, wantCode: 200, wantOutcome: OutcomeWrong},
		{name: "neither id nor prediction", body: `{"label": "fraud"}`, wantCode: 400, wantErr: `prediction must be \"fraud\" or \"legit\", got \"\"; or name the prediction by its \"id\"`},
		{name: "a label that is no class", body: `{"id": "x", "label": "yes"}`, wantCode: 400, wantErr: `label must be \"fraud\" or \"legit\", got \"yes\"`},
		{name: "an unknown field", body: `{"label": "fraud", "truth": 1}`, wantCode: 400, wantErr: `unknown field \"truth\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, raw := call(t, http.MethodPost, ts.URL+"/feedback", tt.body)
			if code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", code, tt.wantCode, raw)
			}
			if tt.wantOutcome != "" && !strings.Contains(raw, `"outcome":"`+tt.wantOutcome+`"`) {
				t.Errorf("body %s, want outcome %s", raw, tt.wantOutcome)
			}
			if tt.wantErr != "" && !strings.Contains(raw, tt.wantErr) {
				t.Errorf("body %s, want it to contain %s", raw, tt.wantErr)
			}
		})
	}
}

func TestRecentForgetsTheOldest(t *testing.T) {
	r := newRecent(2)
	r.add("a", true)
	r.add("b", false)
	r.add("c", true)
	if _, ok := r.take("a"); ok {
		t.Error("the oldest of three was kept with room for two")
	}
	if fraud, ok := r.take("c"); !ok || !fraud {
		t.Errorf("take(c) = %v, %v; want true, true", fraud, ok)
	}
	for i := range 100 {
		r.add(string(rune('A'+i%26))+"x", false)
	}
	if len(r.byID) > 2 || len(r.order) > 4 {
		t.Errorf("%d ids and %d in order after 100 adds, want at most 2 and 4", len(r.byID), len(r.order))
	}
}

// Every series the server exports, process ones included, carries the
// model and its version: the analysis tells versions apart by them.
func TestEverySeriesCarriesVersionAndModel(t *testing.T) {
	s, ts := newServer(t, Config{Version: "2.4.0-rc.1", ModelName: "scorer"})
	predict(t, ts.URL, everyday)
	families, err := s.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels[LabelVersion] != "2.4.0-rc.1" || labels[LabelModel] != "scorer" {
				t.Errorf("%s %v lacks version=2.4.0-rc.1 and model=scorer", f.GetName(), labels)
			}
		}
	}
	for _, want := range []string{MetricRequests, MetricRequestDuration, MetricFeedback, MetricPredictions, MetricScore, MetricFeature, "process_cpu_seconds_total"} {
		if !names[want] {
			t.Errorf("no %s among the metrics", want)
		}
	}
	if body := scrape(t, ts.URL); !strings.Contains(body, `model_requests_total{code="200",model="scorer",version="2.4.0-rc.1"} 1`) {
		t.Errorf("/metrics lacks the request counted:\n%s", body)
	}
}

// A later revision of a version labels its series with its revision too, so
// the analysis tells it from the stable revision of the same version.
func TestEverySeriesCarriesTheRevision(t *testing.T) {
	_, ts := newServer(t, Config{Version: "2.4.0", Revision: "2.4.0_.0a1b2c3d", ModelName: "scorer"})
	predict(t, ts.URL, everyday)
	body := scrape(t, ts.URL)
	if !strings.Contains(body, `model_requests_total{code="200",model="scorer",revision="2.4.0_.0a1b2c3d",version="2.4.0"} 1`) {
		t.Errorf("/metrics lacks the request counted with its revision:\n%s", body)
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "model_") && !strings.Contains(line, `revision="2.4.0_.0a1b2c3d"`) {
			t.Errorf("%s lacks the revision", line)
		}
	}
}

func TestNewRefusesABadConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "no version", cfg: Config{Model: model.Shipped()}, wantErr: "set MODEL_VERSION"},
		{name: "no model", cfg: Config{Version: "1.0.0"}, wantErr: "no model"},
		{name: "an error ratio above one", cfg: Config{Model: model.Shipped(), Version: "1.0.0", Faults: Faults{ErrorRatio: 1.5}}, wantErr: "error ratio 1.5 is not in [0, 1]"},
		{name: "a score shift beyond one", cfg: Config{Model: model.Shipped(), Version: "1.0.0", Faults: Faults{ScoreShift: 1.5}}, wantErr: "score shift 1.5 is not in [-1, 1]"},
		{name: "a negative latency", cfg: Config{Model: model.Shipped(), Version: "1.0.0", Faults: Faults{Latency: -time.Second}}, wantErr: "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSpreadPicksTheShareInEveryWindow(t *testing.T) {
	for _, ratio := range []float64{0, 0.05, 0.2, 1.0 / 3, 1} {
		s := spread{ratio: ratio}
		picks := make([]bool, 1000)
		for i := range picks {
			picks[i] = s.pick()
		}
		// Any window of 50 events holds the share to within one event.
		for start := 0; start+50 <= len(picks); start += 7 {
			n := 0
			for _, p := range picks[start : start+50] {
				if p {
					n++
				}
			}
			if want := ratio * 50; float64(n) < want-1 || float64(n) > want+1 {
				t.Fatalf("ratio %.3f: %d picks in events %d..%d, want %.1f +- 1", ratio, n, start, start+50, want)
			}
		}
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	code, body := call(t, http.MethodGet, url+"/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	return body
}

// BenchmarkPredict is one /predict through the handler, metrics included, no network.
func BenchmarkPredict(b *testing.B) {
	s, err := New(Config{Model: model.Shipped(), Version: "2.3.0"})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/predict", strings.NewReader(everyday)))
		if rec.Code != http.StatusOK {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
