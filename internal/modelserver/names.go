package modelserver

// Metric names the model server exports, and the default PromQL of the
// analysis is written against. Every series also carries LabelVersion and
// LabelModel. Only /predict is counted: health checks and scrapes would
// dilute an error ratio.
const (
	// MetricRequests counts /predict requests by LabelCode (the HTTP status
	// code as a number, such as "200" or "500"). The codes 200, 400, 500 and 503
	// exist from the start at zero, so a ratio of errors reads 0, not "no data",
	// before the first error.
	MetricRequests = "model_requests_total"
	// MetricRequestDuration is a histogram of /predict latency in seconds,
	// injected latency included.
	MetricRequestDuration = "model_request_duration_seconds"
	// MetricFeedback counts labelled outcomes posted to /feedback by
	// LabelOutcome: accuracy over a window is
	// correct / (correct + wrong).
	MetricFeedback = "model_feedback_total"
	// MetricPredictions counts answered predictions by LabelPrediction, for
	// comparing what two versions answer (shadow, A/B).
	MetricPredictions = "model_predictions_total"
	// MetricScore is a histogram of the probability of fraud of every
	// answered prediction, as answered (faults included), over ScoreBuckets:
	// the distribution prediction drift compares between versions.
	MetricScore = "model_prediction_score"
	// MetricFeature is a histogram of each input feature's raw value in
	// answered predictions, by LabelFeature, each feature with buckets of its
	// own (model.Features[i].Buckets): the distributions input drift compares.
	MetricFeature = "model_feature_value"
)

// Label names and values of the model server's metrics.
const (
	// LabelVersion is the model version the server was started with (MODEL_VERSION).
	LabelVersion = "version"
	// LabelRevision is the revision of the version (MODEL_REVISION), on
	// every series of a server started with one: modelgate sets it on a
	// later revision of a version (a changed template or URI under the same
	// number), so the analysis tells it from the stable revision. A first
	// revision has none.
	LabelRevision = "revision"
	// LabelModel is the model's name (MODEL_NAME, else the weights file's).
	LabelModel = "model"
	// LabelCode is the HTTP status code of a /predict request.
	LabelCode = "code"
	// LabelOutcome is OutcomeCorrect or OutcomeWrong.
	LabelOutcome = "outcome"
	// LabelPrediction is PredictionFraud or PredictionLegit.
	LabelPrediction = "prediction"
	// LabelFeature is a feature's name, as in a /predict request.
	LabelFeature = "feature"

	OutcomeCorrect  = "correct"
	OutcomeWrong    = "wrong"
	PredictionFraud = "fraud"
	PredictionLegit = "legit"
)

// Buckets of MetricRequestDuration, in seconds: fine around the hundreds of
// milliseconds where latency triggers are usually set, so histogram_quantile
// has little to interpolate.
var DurationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5}

// ScoreBuckets of MetricScore: the shipped model calls most payments legit
// with a score near zero and most fraud near one, so the buckets are fine at
// both ends; each holds at least 2% of the scores of the training data, and
// there are few of them, since two samples of one distribution differ by
// chance more the more buckets they are split into.
var ScoreBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975, 0.99}

// Environment variables the model server reads; each has a flag of the same
// meaning (see cmd/model-server), and a flag given on the command line wins.
const (
	EnvVersion   = "MODEL_VERSION"
	EnvRevision  = "MODEL_REVISION"
	EnvName      = "MODEL_NAME"
	EnvAddress   = "MODEL_SERVER_ADDRESS"
	EnvMetrics   = "MODEL_SERVER_METRICS_ADDRESS"
	EnvModelFile = "MODEL_SERVER_MODEL_FILE"
	// Faults, for tests.
	EnvErrorRatio = "MODEL_SERVER_ERROR_RATIO"
	EnvLatency    = "MODEL_SERVER_LATENCY"
	EnvFlipRatio  = "MODEL_SERVER_FLIP_RATIO"
	EnvSlowStart  = "MODEL_SERVER_SLOW_START"
	EnvScoreShift = "MODEL_SERVER_SCORE_SHIFT"
)
