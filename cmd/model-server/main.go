// Command model-server serves the sample fraud-scoring model (internal/model)
// over HTTP: /predict, /feedback, /healthz, /readyz and /metrics, labelled
// with MODEL_VERSION, with faults tests can inject. docs/model-server.md
// describes its API and metrics.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/modelgate/modelgate/internal/model"
	"github.com/modelgate/modelgate/internal/modelserver"
)

// options are the command line and environment, parsed.
type options struct {
	address        string
	metricsAddress string
	modelFile      string
	cfg            modelserver.Config
}

// parseOptions reads flags, then for every flag not given on the command line
// its environment variable: pods pass configuration as env, and a flag in a
// container's args still wins over it.
func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("model-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.address, "address", ":8080", "Address to serve the API, health and metrics on.")
	fs.StringVar(&o.metricsAddress, "metrics-address", "", "Another address to serve /metrics on, for a separate metrics port; empty for none.")
	fs.StringVar(&o.modelFile, "model-file", "", "Weights file to serve instead of the shipped one (internal/model/weights.json).")
	fs.StringVar(&o.cfg.Version, "model-version", "", "Model version labelling every answer and series (required).")
	fs.StringVar(&o.cfg.Revision, "model-revision", "", "Revision of the version labelling every series, when set; modelgate sets it on a later revision of a version.")
	fs.StringVar(&o.cfg.ModelName, "model-name", "", "Model name labelling every series; defaults to the weights file's.")
	f := &o.cfg.Faults
	fs.Float64Var(&f.ErrorRatio, "error-ratio", 0, "Fault: share of /predict requests answered 500, spread evenly.")
	fs.DurationVar(&f.Latency, "latency", 0, "Fault: latency added to every /predict request.")
	fs.Float64Var(&f.FlipRatio, "flip-ratio", 0, "Fault: share of predictions inverted, degrading accuracy.")
	fs.Float64Var(&f.ScoreShift, "score-shift", 0, "Fault: added to every answer's probability of fraud (clamped to [0, 1]), class unchanged: prediction drift without errors.")
	fs.DurationVar(&f.SlowStart, "slow-start", 0, "Fault: time after the start during which /readyz fails and /predict answers 503.")
	env := map[string]string{
		"address": modelserver.EnvAddress, "metrics-address": modelserver.EnvMetrics, "model-file": modelserver.EnvModelFile,
		"model-version": modelserver.EnvVersion, "model-revision": modelserver.EnvRevision, "model-name": modelserver.EnvName,
		"error-ratio": modelserver.EnvErrorRatio, "latency": modelserver.EnvLatency,
		"flip-ratio": modelserver.EnvFlipRatio, "slow-start": modelserver.EnvSlowStart, "score-shift": modelserver.EnvScoreShift,
	}
	for name, envVar := range env {
		fs.Lookup(name).Usage += " Env " + envVar + "."
	}

	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q: every setting is a --flag", fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, envVar := range env {
		if v := getenv(envVar); v != "" && !given[name] {
			if err := fs.Set(name, v); err != nil {
				return o, fmt.Errorf("environment variable %s=%q: %w", envVar, v, err)
			}
		}
	}
	m := model.Shipped()
	if o.modelFile != "" {
		file, err := os.Open(o.modelFile)
		if err != nil {
			return o, fmt.Errorf("--model-file: %w", err)
		}
		defer file.Close()
		if m, err = model.Load(file); err != nil {
			return o, fmt.Errorf("--model-file %s: %w", o.modelFile, err)
		}
	}
	o.cfg.Model = m
	return o, nil
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	o, err := parseOptions(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = serve(o, log)
	}
	if err != nil {
		log.Error("model-server stopped", "error", err)
		os.Exit(1)
	}
}

// serve listens on every address before answering anything, so a taken
// address fails the start at once, and shuts down gracefully on SIGTERM or SIGINT.
func serve(o options, log *slog.Logger) error {
	s, err := modelserver.New(o.cfg)
	if err != nil {
		return err
	}
	servers := []*http.Server{{Addr: o.address, Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}}
	if o.metricsAddress != "" {
		servers = append(servers, &http.Server{Addr: o.metricsAddress, Handler: s.MetricsHandler(), ReadHeaderTimeout: 5 * time.Second})
	}
	listeners := make([]net.Listener, 0, len(servers))
	for _, srv := range servers {
		l, err := net.Listen("tcp", srv.Addr)
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			return fmt.Errorf("listening on %s: %w", srv.Addr, err)
		}
		listeners = append(listeners, l)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errs := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errs <- srv.Serve(listeners[i]) }()
	}
	w := o.cfg.Model.Weights()
	log.Info("Serving the model", "model", w.Model, "version", o.cfg.Version, "address", listeners[0].Addr().String(),
		"metricsAddress", o.metricsAddress, "faults", fmt.Sprintf("%+v", o.cfg.Faults))

	select {
	case err = <-errs:
	case <-ctx.Done():
		log.Info("Shutting down")
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdown)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
