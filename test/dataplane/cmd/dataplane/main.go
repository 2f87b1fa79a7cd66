// Command dataplane runs the local data plane (test/dataplane) against the
// cluster of a kubeconfig, and optionally a Prometheus scraping it
// (test/promserver), until SIGINT or SIGTERM. `make demo` starts it;
// docs/local-data-plane.md describes it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/modelgate/modelgate/test/dataplane"
	"github.com/modelgate/modelgate/test/promserver"
)

// options are the command line.
type options struct {
	kubeconfig, modelServer, logDir, namespace string
	proxyAddress                               string
	prometheus, promAddress                    string
	scrapeInterval                             time.Duration
	envFile                                    string
	traffic                                    string
	trafficRPS                                 float64
	trafficSeed                                uint64
}

func main() {
	var o options
	self, _ := os.Executable()
	flag.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "Kubeconfig of the local cluster.")
	flag.StringVar(&o.modelServer, "model-server", filepath.Join(filepath.Dir(self), "model-server"), "The cmd/model-server binary to run for each pod.")
	flag.StringVar(&o.logDir, "log-dir", "tmp/dataplane", "Folder of the model servers' logs (one per pod), the Prometheus targets file and Prometheus' data.")
	flag.StringVar(&o.namespace, "namespace", "", "Watch pods of this namespace only; all when empty.")
	flag.StringVar(&o.proxyAddress, "proxy-address", "127.0.0.1:0", "Address of the HTTP proxy that routes pod IPs and Services to the processes.")
	flag.StringVar(&o.prometheus, "prometheus", "", "Prometheus binary (bin/prometheus-<version>/prometheus); empty to run none.")
	flag.StringVar(&o.promAddress, "prometheus-address", "", "Address Prometheus listens on; a free loopback port when empty.")
	flag.DurationVar(&o.scrapeInterval, "scrape-interval", time.Second, "How often Prometheus scrapes each pod.")
	flag.StringVar(&o.traffic, "traffic", "", "Send synthetic payments, with their feedback, to this base URL through the proxy, such as http://fraud-scorer.ml.svc:8080; none when empty.")
	flag.Float64Var(&o.trafficRPS, "traffic-rps", 10, "Payments a second for --traffic.")
	// Seeds 1 and 2 drew the model's training and held-out data.
	flag.Uint64Var(&o.trafficSeed, "traffic-seed", 100, "Seed of the synthetic payments of --traffic.")
	flag.StringVar(&o.envFile, "env-file", "", "File to write DATA_PLANE_PROXY=<url> and PROMETHEUS_URL=<url> into once both are up, for a shell to source.")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, o); err != nil {
		log.Error("Data plane failed", "error", err)
		os.Exit(1)
	}
}

// run starts everything, waits for a signal, and stops everything in reverse,
// also when a start fails half-way.
func run(ctx context.Context, log *slog.Logger, o options) error {
	if o.kubeconfig == "" {
		return errors.New("no kubeconfig: pass --kubeconfig or set KUBECONFIG")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", o.kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	targets, err := filepath.Abs(filepath.Join(o.logDir, "targets.json"))
	if err != nil {
		return err
	}
	r, err := dataplane.Start(ctx, client, dataplane.Options{ModelServer: o.modelServer, LogDir: o.logDir, Namespace: o.namespace,
		TargetsFile: targets, ProxyAddress: o.proxyAddress, Log: log})
	if err != nil {
		return err
	}
	defer r.Stop()
	env := fmt.Sprintf("DATA_PLANE_PROXY=%s\n", r.ProxyURL())

	if o.prometheus != "" {
		// A fresh Prometheus each start: series of another cluster's pods would only confuse.
		promDir := filepath.Join(o.logDir, "prometheus")
		if err := os.RemoveAll(promDir); err != nil {
			return err
		}
		p, err := promserver.Start(ctx, promserver.Options{Binary: o.prometheus, Address: o.promAddress, Dir: promDir,
			Config: promserver.FileTargets(targets, o.scrapeInterval)})
		if err != nil {
			return err
		}
		defer func() { _ = p.Stop() }()
		log.Info("Prometheus scraping the model servers", "url", p.URL, "log", p.LogPath())
		env += fmt.Sprintf("PROMETHEUS_URL=%s\n", p.URL)
	}
	if o.traffic != "" {
		t, err := dataplane.StartTraffic(dataplane.TrafficOptions{Proxy: r.ProxyURL(), Target: o.traffic, RPS: o.trafficRPS, Seed: o.trafficSeed})
		if err != nil {
			return err
		}
		log.Info("Sending traffic", "target", o.traffic, "rps", o.trafficRPS)
		defer func() {
			s := t.Stop()
			log.Info("Traffic stopped", "sent", s.Sent, "codes", fmt.Sprint(s.Codes), "versions", fmt.Sprint(s.Versions),
				"failed", s.Failed, "dropped", s.Dropped, "feedback", s.Feedback)
		}()
	}
	if o.envFile != "" {
		if err := os.WriteFile(o.envFile, []byte(env), 0o600); err != nil {
			return err
		}
	}
	<-ctx.Done()
	log.Info("Stopping the data plane")
	return nil
}
