package promserver

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Target labels of the pods' series, next to the model server's own
// (version, model): the analysis selects a ModelDeployment's pods by them.
// The data plane writes them into its targets file (test/dataplane).
const (
	LabelNamespace       = "namespace"
	LabelPod             = "pod"
	LabelModelDeployment = "modeldeployment"
	// JobPods is the job name of the FileTargets config.
	JobPods = "modelgate-pods"
)

// FileTargets is a Prometheus config that scrapes the targets listed in
// file_sd format in targetsFile every interval. Debian's Prometheus is built
// without Kubernetes service discovery, so the local data plane, which knows
// every pod it serves, writes that file (dataplane.Options.TargetsFile);
// Prometheus reads it again as soon as it changes.
func FileTargets(targetsFile string, interval time.Duration) string {
	return fmt.Sprintf(`# Written by test/promserver.FileTargets.
global:
  scrape_interval: %[2]s
  scrape_timeout: %[2]s
  evaluation_interval: %[2]s
scrape_configs:
  - job_name: %[3]s
    file_sd_configs:
      - files: [%[1]q]
        refresh_interval: 10s
`, targetsFile, promDuration(interval), JobPods)
}

// Static is a Prometheus config scraping fixed addresses (host:port) every
// interval, with extra target labels: for tests of a model server started
// without a cluster.
func Static(job string, targets []string, labels map[string]string, interval time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %[1]s\n  scrape_timeout: %[1]s\n  evaluation_interval: %[1]s\n", promDuration(interval))
	fmt.Fprintf(&b, "scrape_configs:\n  - job_name: %q\n    static_configs:\n      - targets: [", job)
	for i, t := range targets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", t)
	}
	b.WriteString("]\n")
	if len(labels) > 0 {
		keys := make([]string, 0, len(labels))
		for k := range labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("        labels:\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "          %s: %q\n", k, labels[k])
		}
	}
	return b.String()
}

// promDuration writes a duration the way Prometheus reads it: milliseconds
// for anything under a second, else whole seconds.
func promDuration(d time.Duration) string {
	if d%time.Second != 0 {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%ds", int64(d/time.Second))
}
