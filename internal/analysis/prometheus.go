package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/drift"
	"github.com/modelgate/modelgate/internal/egress"
)

// ErrNoData is returned for a query whose answer holds no number: no series
// matched, or the arithmetic had nothing to divide.
var ErrNoData = errors.New("no data")

// Prometheus runs PromQL instant queries against one Prometheus HTTP API.
type Prometheus struct {
	api     promv1.API
	timeout time.Duration
}

// NewPrometheus is a client of the Prometheus at address. A bearer token, when
// given, is sent with every query. Answers are read up to MaxAnswer bytes.
func NewPrometheus(address, bearerToken string, timeout time.Duration, transport http.RoundTripper) (*Prometheus, error) {
	if transport == nil {
		transport = api.DefaultRoundTripper
	}
	if bearerToken != "" {
		transport = bearer{token: bearerToken, next: transport}
	}
	transport = limitBody{next: transport, max: MaxAnswer}
	c, err := api.NewClient(api.Config{Address: address, RoundTripper: transport})
	if err != nil {
		return nil, fmt.Errorf("spec.analysis.prometheus.address %q: %w", address, err)
	}
	return &Prometheus{api: promv1.NewAPI(c), timeout: timeout}, nil
}

// Measure runs q's PromQL at at.
func (p *Prometheus) Measure(ctx context.Context, q Query, at time.Time) Sample {
	if q.Histogram {
		h, err := p.Histogram(ctx, q.PromQL, at)
		return Sample{Query: q, Buckets: h, Err: err}
	}
	v, err := p.Query(ctx, q.PromQL, at)
	return Sample{Query: q, Value: v, Err: err}
}

// DefaultQueryTimeout applies when spec.analysis.prometheus.timeout is left
// out (the API server defaults it; this is for objects it did not).
const DefaultQueryTimeout = 5 * time.Second

// PrometheusFactory builds the client of a ModelDeployment's
// spec.analysis.prometheus, its bearer token read from the Secret named
// there, its queries carried by transport (nil: the default).
func PrometheusFactory(transport http.RoundTripper) ProviderFactory {
	return func(ctx context.Context, md *servingv1alpha1.ModelDeployment, secret SecretValue) (Provider, error) {
		p := md.Spec.Analysis.Prometheus
		token := ""
		if ref := p.BearerTokenSecretRef; ref != nil {
			v, err := secret(ctx, *ref)
			if err != nil {
				return nil, fmt.Errorf("reading the Prometheus token of spec.analysis.prometheus.bearerTokenSecretRef: %w", err)
			}
			token = v
		}
		timeout := DefaultQueryTimeout
		if p.Timeout != nil {
			timeout = p.Timeout.Duration
		}
		return NewPrometheus(string(p.Address), token, timeout, transport)
	}
}

// Query returns the one number a query answers at a time: ErrNoData when the
// answer is empty or not a number.
func (p *Prometheus) Query(ctx context.Context, promql string, at time.Time) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	v, _, err := p.api.Query(ctx, promql, at, promv1.WithTimeout(p.timeout))
	if err != nil {
		return 0, queryFailed(err)
	}
	var value float64
	switch r := v.(type) {
	case model.Vector:
		if len(r) == 0 {
			return 0, ErrNoData
		}
		if len(r) > 1 {
			return 0, fmt.Errorf("the query returned %d series, not one number: aggregate it (sum, max ...)", len(r))
		}
		value = float64(r[0].Value)
	case *model.Scalar:
		value = float64(r.Value)
	default:
		return 0, fmt.Errorf("the query returned a %s, not one number", v.Type())
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return 0, ErrNoData
	}
	return value, nil
}

// Histogram returns the cumulative buckets a query answers at a time, one
// series per le label: ErrNoData when the answer is empty.
func (p *Prometheus) Histogram(ctx context.Context, promql string, at time.Time) ([]drift.Bucket, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	v, _, err := p.api.Query(ctx, promql, at, promv1.WithTimeout(p.timeout))
	if err != nil {
		return nil, queryFailed(err)
	}
	r, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("the query returned a %s, not one series per bucket: sum by (le)", v.Type())
	}
	if len(r) == 0 {
		return nil, ErrNoData
	}
	out := make([]drift.Bucket, 0, len(r))
	for _, s := range r {
		le, ok := s.Metric[model.BucketLabel]
		if !ok {
			return nil, fmt.Errorf("a series of the answer has no le label: sum by (le)")
		}
		ub, err := parseLe(string(le))
		if err != nil {
			return nil, err
		}
		out = append(out, drift.Bucket{UpperBound: ub, Count: float64(s.Value)})
	}
	return out, nil
}

// promErrors are the error types of the Prometheus HTTP API, in words.
var promErrors = map[promv1.ErrorType]string{
	promv1.ErrBadData:     "refused the query as bad data: check it with promtool or the Prometheus UI",
	promv1.ErrTimeout:     "timed out evaluating the query",
	promv1.ErrCanceled:    "cancelled the query",
	promv1.ErrExec:        "failed executing the query",
	promv1.ErrBadResponse: "answered with a body that is not the Prometheus API's",
	promv1.ErrServer:      "answered with a server error (5xx)",
	promv1.ErrClient:      "answered with a client error (4xx)",
}

// queryFailed says why a query got no answer in the manager's own words:
// the API's error type, the body limit, or the network failure
// (egress.Reason). Never the text of the answer nor of the error: the
// address is a namespace user's, and whatever the server there sends would
// otherwise reach status, events and notifications (issue #18).
func queryFailed(err error) error {
	var apiErr *promv1.Error
	switch {
	case errors.Is(err, ErrAnswerTooLong):
		return fmt.Errorf("querying Prometheus: %w", ErrAnswerTooLong)
	case errors.As(err, &apiErr):
		if words, ok := promErrors[apiErr.Type]; ok {
			return fmt.Errorf("querying Prometheus: it %s", words)
		}
		return errors.New("querying Prometheus: it answered with an error of a type the Prometheus API does not have")
	}
	return fmt.Errorf("querying Prometheus: %s", egress.Reason(err))
}

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}
