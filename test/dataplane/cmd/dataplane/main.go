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

func main() {
	var (
		kubeconfig, modelServer, logDir, namespace string
		prometheus, promAddress, promURLFile       string
		scrapeInterval                             time.Duration
	)
	self, _ := os.Executable()
	flag.StringVar(&kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "Kubeconfig of the local cluster.")
	flag.StringVar(&modelServer, "model-server", filepath.Join(filepath.Dir(self), "model-server"), "The cmd/model-server binary to run for each pod.")
	flag.StringVar(&logDir, "log-dir", "tmp/dataplane", "Folder of the model servers' logs, one per pod, and of Prometheus' data.")
	flag.StringVar(&namespace, "namespace", "", "Watch pods of this namespace only; all when empty.")
	flag.StringVar(&prometheus, "prometheus", "", "Prometheus binary (bin/prometheus-<version>/prometheus); empty to run none.")
	flag.StringVar(&promAddress, "prometheus-address", "", "Address Prometheus listens on; a free loopback port when empty.")
	flag.StringVar(&promURLFile, "prometheus-url-file", "", "File to write Prometheus' URL into once it is ready.")
	flag.DurationVar(&scrapeInterval, "scrape-interval", time.Second, "How often Prometheus scrapes each pod.")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, kubeconfig, modelServer, logDir, namespace, prometheus, promAddress, promURLFile, scrapeInterval); err != nil {
		log.Error("Data plane failed", "error", err)
		os.Exit(1)
	}
}

// run starts everything, waits for a signal, and stops everything in reverse,
// also when a start fails half-way.
func run(ctx context.Context, log *slog.Logger, kubeconfig, modelServer, logDir, namespace, prometheus, promAddress, promURLFile string, interval time.Duration) error {
	if kubeconfig == "" {
		return errors.New("no kubeconfig: pass --kubeconfig or set KUBECONFIG")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	targets, err := filepath.Abs(filepath.Join(logDir, "targets.json"))
	if err != nil {
		return err
	}
	r, err := dataplane.Start(ctx, client, dataplane.Options{ModelServer: modelServer, LogDir: logDir, Namespace: namespace,
		TargetsFile: targets, Log: log})
	if err != nil {
		return err
	}
	defer r.Stop()

	if prometheus != "" {
		// A fresh Prometheus each start: series of another cluster's pods would only confuse.
		promDir := filepath.Join(logDir, "prometheus")
		if err := os.RemoveAll(promDir); err != nil {
			return err
		}
		if err := os.MkdirAll(promDir, 0o750); err != nil {
			return err
		}
		p, err := promserver.Start(ctx, promserver.Options{Binary: prometheus, Address: promAddress, Dir: promDir,
			Config: promserver.FileTargets(targets, interval)})
		if err != nil {
			return err
		}
		defer func() { _ = p.Stop() }()
		log.Info("Prometheus scraping the model servers", "url", p.URL, "log", p.LogPath())
		if promURLFile != "" {
			if err := os.WriteFile(promURLFile, []byte(p.URL+"\n"), 0o600); err != nil {
				return err
			}
		}
	}
	<-ctx.Done()
	log.Info("Stopping the data plane")
	return nil
}
