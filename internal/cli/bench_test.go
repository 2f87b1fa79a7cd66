package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// benchManifests writes n manifests into one file: ModelDeployments of the
// production profile, each with the HPA, PDB, NetworkPolicy and model card
// ConfigMap the checklist looks for, all in one namespace, so that each
// ModelDeployment is judged against every other's objects too.
func benchManifests(tb testing.TB, n int) string {
	tb.Helper()
	sample, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "serving_v1alpha1_modeldeployment.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	surroundings, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "fraud-scorer-surroundings.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	pdb, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "fraud-scorer-pdb.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	// One model is 5 documents: itself, its card, HPA, NetworkPolicy and PDB.
	group := string(sample) + "\n---\n" + string(surroundings) + "\n---\n" + string(pdb)
	var b strings.Builder
	for i := range n / 5 {
		if i > 0 {
			b.WriteString("\n---\n")
		}
		b.WriteString(strings.ReplaceAll(group, "fraud-scorer", fmt.Sprintf("model-%04d", i)))
	}
	path := filepath.Join(tb.TempDir(), "manifests.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkCheck1000Manifests runs `kubectl modelgate check` on one file of
// 1,000 manifests (200 ModelDeployments and their surroundings), reading,
// judging and writing JSON. The bar is under 2 s per check.
func BenchmarkCheck1000Manifests(b *testing.B) {
	path := benchManifests(b, 1000)
	for b.Loop() {
		code := Run(context.Background(), []string{"check", "-f", path, "-o", "json"}, Options{
			Streams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard},
		})
		if code != ExitOK {
			b.Fatalf("check exited %d, want 0", code)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/check")
}
