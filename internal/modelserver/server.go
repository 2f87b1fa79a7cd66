package modelserver

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelgate/modelgate/internal/model"
)

// maxBody bounds a request body: a payment is a few hundred bytes.
const maxBody = 64 << 10

// Config is what a server serves and how it misbehaves.
type Config struct {
	Model *model.Model
	// Version labels every answer and every series; required.
	Version string
	// Revision labels every series too, when set (LabelRevision).
	Revision string
	// ModelName labels them too; defaults to the weights file's name.
	ModelName string
	Faults    Faults
	// Remember is how many recent predictions /feedback can find by id
	// (default 10000).
	Remember int
	// Now is the clock, for tests of the slow start; defaults to time.Now.
	Now func() time.Time
}

// Server answers predictions and counts what it did.
type Server struct {
	cfg     Config
	readyAt time.Time
	idBase  string
	seq     atomic.Uint64
	errors  spread
	flips   spread
	recent  *recent
	reg     *prometheus.Registry
	metrics *metrics
}

type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec // no variable labels; a Vec for promhttp
	feedback    *prometheus.CounterVec
	predictions *prometheus.CounterVec
	score       prometheus.Histogram
	// features are in the order of model.Features.
	features []prometheus.Histogram
}

// New checks the config and registers the metrics in a registry of the
// server's own, every series labelled with the version and the model.
func New(cfg Config) (*Server, error) {
	if cfg.Model == nil {
		return nil, errors.New("no model to serve")
	}
	if cfg.Version == "" {
		return nil, fmt.Errorf("no model version: set %s or --model-version", EnvVersion)
	}
	if err := cfg.Faults.Validate(); err != nil {
		return nil, err
	}
	if cfg.ModelName == "" {
		cfg.ModelName = cfg.Model.Name()
	}
	if cfg.Remember <= 0 {
		cfg.Remember = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		readyAt: cfg.Now().Add(cfg.Faults.SlowStart),
		// Ids are unique across the processes of one version: feedback sent to
		// the wrong pod is refused rather than counted against another prediction.
		idBase: hex.EncodeToString(b[:]),
		errors: spread{ratio: cfg.Faults.ErrorRatio},
		flips:  spread{ratio: cfg.Faults.FlipRatio},
		recent: newRecent(cfg.Remember),
		reg:    prometheus.NewRegistry(),
	}
	s.metrics = s.register()
	return s, nil
}

func (s *Server) register() *metrics {
	labels := prometheus.Labels{LabelVersion: s.cfg.Version, LabelModel: s.cfg.ModelName}
	if s.cfg.Revision != "" {
		labels[LabelRevision] = s.cfg.Revision
	}
	r := prometheus.WrapRegistererWith(labels, s.reg)
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRequests, Help: "Requests to /predict by HTTP status code.",
		}, []string{LabelCode}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: MetricRequestDuration, Help: "Latency of /predict in seconds.", Buckets: DurationBuckets,
		}, nil),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricFeedback, Help: "Labelled outcomes posted to /feedback: correct or wrong predictions.",
		}, []string{LabelOutcome}),
		predictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricPredictions, Help: "Predictions answered, by predicted class.",
		}, []string{LabelPrediction}),
	}
	m.score = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: MetricScore, Help: "Probability of fraud of answered predictions.", Buckets: ScoreBuckets,
	})
	r.MustRegister(m.score)
	// One histogram per feature under one name, told apart by a constant
	// feature label: a HistogramVec would force the same buckets on all.
	for _, f := range model.Features {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: MetricFeature, Help: "Raw value of each input feature of answered predictions.",
			ConstLabels: prometheus.Labels{LabelFeature: f.Name}, Buckets: f.Buckets,
		})
		r.MustRegister(h)
		m.features = append(m.features, h)
	}
	// No Go collector: its go_info carries a "version" label of its own (the
	// Go release), which would clash with the model version on every series.
	r.MustRegister(m.requests, m.duration, m.feedback, m.predictions,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, code := range []int{http.StatusOK, http.StatusBadRequest, http.StatusInternalServerError, http.StatusServiceUnavailable} {
		m.requests.WithLabelValues(strconv.Itoa(code))
	}
	m.feedback.WithLabelValues(OutcomeCorrect)
	m.feedback.WithLabelValues(OutcomeWrong)
	m.predictions.WithLabelValues(PredictionFraud)
	m.predictions.WithLabelValues(PredictionLegit)
	return m
}

// Handler serves /predict, /feedback, /healthz, /readyz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	predict := promhttp.InstrumentHandlerDuration(s.metrics.duration,
		promhttp.InstrumentHandlerCounter(s.metrics.requests, http.HandlerFunc(s.predict)))
	mux.Handle("POST /predict", predict)
	mux.HandleFunc("POST /feedback", s.feedback)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.MetricsHandler())
	return mux
}

// MetricsHandler serves the metrics alone, for a separate metrics port.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
}

// Ready says whether the server takes predictions, and if not, why.
func (s *Server) Ready() (bool, string) {
	if left := s.readyAt.Sub(s.cfg.Now()); left > 0 {
		return false, fmt.Sprintf("loading the model (slow start injected), ready in %s", left.Round(time.Millisecond))
	}
	return true, ""
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if ok, why := s.Ready(); !ok {
		http.Error(w, why, http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}

// PredictRequest is the body of /predict.
type PredictRequest struct {
	// Features by name; see internal/model.Features. Values are JSON numbers.
	Features map[string]json.RawMessage `json:"features"`
}

// PredictResponse is the answer of /predict.
type PredictResponse struct {
	// ID names the prediction for /feedback to the same process.
	ID      string `json:"id"`
	Model   string `json:"model"`
	Version string `json:"version"`
	// Prediction is PredictionFraud or PredictionLegit.
	Prediction string `json:"prediction"`
	// Probability is the probability of fraud.
	Probability float64 `json:"probability"`
	// Confidence is the probability of the predicted class.
	Confidence float64 `json:"confidence"`
}

func (s *Server) predict(w http.ResponseWriter, r *http.Request) {
	if ok, why := s.Ready(); !ok {
		writeError(w, http.StatusServiceUnavailable, "not ready: "+why)
		return
	}
	if err := wait(r.Context(), s.cfg.Faults.Latency); err != nil {
		writeError(w, http.StatusServiceUnavailable, "request cancelled during injected latency")
		return
	}
	if s.errors.pick() {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("injected error (error ratio %g)", s.cfg.Faults.ErrorRatio))
		return
	}
	var req PredictRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Features == nil {
		writeError(w, http.StatusBadRequest, `the body needs a "features" object, such as {"features": {"amount": 42.5, ...}}`)
		return
	}
	x := make(map[string]float64, len(req.Features))
	for name, raw := range req.Features {
		var v float64
		if err := json.Unmarshal(raw, &v); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("feature %q must be a number, got %s", name, raw))
			return
		}
		x[name] = v
	}
	p, err := s.cfg.Model.Predict(x)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if s.flips.pick() {
		// A degraded model: the answer is inverted, and so is its probability,
		// so that the confidence it reports stays consistent with it.
		p = model.Prediction{Fraud: !p.Fraud, Probability: 1 - p.Probability}
	}
	if shift := s.cfg.Faults.ScoreShift; shift != 0 {
		// Only the score moves: the class stays the model's decision, so the
		// accuracy and the classes counted do not change with it.
		p.Probability = math.Max(0, math.Min(1, p.Probability+shift))
	}
	for i, f := range model.Features {
		s.metrics.features[i].Observe(x[f.Name])
	}
	s.metrics.score.Observe(p.Probability)
	id := fmt.Sprintf("%s-%d", s.idBase, s.seq.Add(1))
	s.recent.add(id, p.Fraud)
	class := className(p.Fraud)
	s.metrics.predictions.WithLabelValues(class).Inc()
	writeJSON(w, http.StatusOK, PredictResponse{
		ID: id, Model: s.cfg.ModelName, Version: s.cfg.Version,
		Prediction: class, Probability: p.Probability, Confidence: p.Confidence(),
	})
}

// FeedbackRequest is the body of /feedback: the true label of a prediction,
// named by its id, or given with the prediction itself when the id is gone.
type FeedbackRequest struct {
	ID         string `json:"id,omitempty"`
	Prediction string `json:"prediction,omitempty"`
	Label      string `json:"label"`
}

// FeedbackResponse says how the prediction was judged.
type FeedbackResponse struct {
	Outcome string `json:"outcome"`
}

func (s *Server) feedback(w http.ResponseWriter, r *http.Request) {
	var req FeedbackRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	truth, err := parseClass("label", req.Label)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var predicted bool
	switch {
	case req.ID != "":
		var ok bool
		if predicted, ok = s.recent.take(req.ID); ok {
			break
		}
		if req.Prediction == "" {
			writeError(w, http.StatusNotFound, fmt.Sprintf("prediction %q is unknown here: it was made by another process, "+
				"is older than the last %d, or was already judged; send feedback to the pod that answered, or add \"prediction\"",
				req.ID, s.cfg.Remember))
			return
		}
		fallthrough
	default:
		if predicted, err = parseClass("prediction", req.Prediction); err != nil {
			writeError(w, http.StatusBadRequest, err.Error()+`; or name the prediction by its "id"`)
			return
		}
	}
	outcome := OutcomeWrong
	if predicted == truth {
		outcome = OutcomeCorrect
	}
	s.metrics.feedback.WithLabelValues(outcome).Inc()
	writeJSON(w, http.StatusOK, FeedbackResponse{Outcome: outcome})
}

func className(fraud bool) string {
	if fraud {
		return PredictionFraud
	}
	return PredictionLegit
}

func parseClass(field, v string) (bool, error) {
	switch v {
	case PredictionFraud:
		return true, nil
	case PredictionLegit:
		return false, nil
	}
	return false, fmt.Errorf("%s must be %q or %q, got %q", field, PredictionFraud, PredictionLegit, v)
}

// decode reads one JSON object, refusing unknown fields and trailing data.
func decode(w http.ResponseWriter, r *http.Request, into any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return fmt.Errorf("the body is larger than %d bytes", maxBody)
		}
		return fmt.Errorf("the body is not the JSON expected: %v", err)
	}
	if dec.More() {
		return errors.New("the body holds more than one JSON object")
	}
	return nil
}

type errorResponse struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorResponse{Error: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
