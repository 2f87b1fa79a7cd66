package promserver

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	prommodel "github.com/prometheus/common/model"

	"github.com/modelgate/modelgate/internal/model"
	"github.com/modelgate/modelgate/internal/modelserver"
)

func binary(t *testing.T) string {
	t.Helper()
	b := os.Getenv("PROMETHEUS")
	if b == "" {
		t.Fatal("PROMETHEUS is not set: run 'make test-integration', or 'make prometheus' and PROMETHEUS=bin/prometheus-<version>/prometheus go test")
	}
	return b
}

// modelServer serves the sample model in-process on a free loopback port.
func modelServer(t *testing.T, version string) string {
	t.Helper()
	s, err := modelserver.New(modelserver.Config{Model: model.Shipped(), Version: version})
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

// queryUntil polls an instant query, evaluated at the time at returns, until
// check accepts its vector.
func queryUntil(t *testing.T, api promv1.API, q string, at func() time.Time, check func(prommodel.Vector) bool) prommodel.Vector {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		v, _, err := api.Query(ctx, q, at())
		cancel()
		if vec, ok := v.(prommodel.Vector); err == nil && ok && check(vec) {
			return vec
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %s never satisfied; last answer %v, error %v", q, v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Prometheus scrapes a model server, labels its series with the target labels
// given, keeps them over a restart on the same address and folder, and reads
// a changed config on Reload.
func TestPrometheusScrapesAModelServerAndSurvivesARestart(t *testing.T) {
	target := modelServer(t, "2.3.0")
	dir := t.TempDir()
	cfg := Static("models", []string{target}, map[string]string{LabelNamespace: "ml", LabelModelDeployment: "fraud-scorer"}, 500*time.Millisecond)
	start := time.Now()
	p, err := Start(context.Background(), Options{Binary: binary(t), Config: cfg, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Prometheus ready in %s at %s", time.Since(start).Round(time.Millisecond), p.URL)
	client, err := promapi.NewClient(promapi.Config{Address: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	api := promv1.NewAPI(client)
	series := `model_requests_total{code="200", namespace="ml", modeldeployment="fraud-scorer", version="2.3.0", model="fraud-scorer"}`
	var scraped time.Time
	queryUntil(t, api, series, func() time.Time { scraped = time.Now(); return scraped }, func(v prommodel.Vector) bool { return len(v) == 1 })

	t.Logf("first scrape seen after %s", time.Since(start).Round(time.Millisecond))
	stopping := time.Now()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(p.URL + "/-/ready"); err == nil {
		t.Fatal("Prometheus still answers after Stop")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("a given folder was removed by Stop: %v", err)
	}
	p2, err := Start(context.Background(), Options{Binary: binary(t), Config: cfg, Dir: dir, Address: p.Address})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p2.Stop() }()
	t.Logf("stopped and started again in %s", time.Since(stopping).Round(time.Millisecond))
	// The sample scraped before the restart is still there.
	queryUntil(t, api, series, func() time.Time { return scraped }, func(v prommodel.Vector) bool { return len(v) == 1 })

	t.Logf("old sample read after the restart: %s", time.Since(stopping).Round(time.Millisecond))
	second := modelServer(t, "2.4.0")
	if err := p2.WriteConfig(Static("models", []string{target, second}, nil, 500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := p2.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	// By instance: a series scraped before the restart, under the first
	// config's labels, is still within the lookback window.
	queryUntil(t, api, `sum(max by (instance) (up{job="models"}))`, time.Now, func(v prommodel.Vector) bool { return len(v) == 1 && v[0].Value == 2 })
}

func TestStartExplainsAMissingBinaryAndABadConfig(t *testing.T) {
	if _, err := Start(context.Background(), Options{Binary: "/nonexistent/prometheus"}); err == nil || !strings.Contains(err.Error(), "run 'make prometheus'") {
		t.Errorf("error %v, want one saying to run make prometheus", err)
	}
	_, err := Start(context.Background(), Options{Binary: binary(t), Config: "scrape_configs: [{job_name: 1, static_configs: nope}]"})
	if err == nil || !strings.Contains(err.Error(), "did not become ready") || !strings.Contains(err.Error(), "Error loading config") {
		t.Errorf("error %v, want one quoting Prometheus' complaint about the config", err)
	}
}

func TestPromDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Second: "1s", 500 * time.Millisecond: "500ms", 90 * time.Second: "90s", 1500 * time.Millisecond: "1500ms"} {
		if got := promDuration(d); got != want {
			t.Errorf("promDuration(%s) = %s, want %s", d, got, want)
		}
	}
}
