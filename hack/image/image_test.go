package main

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestImage builds the image for this machine's platform, reads the layout
// back as a registry client would, and runs the binaries found in its layer.
func TestImage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the image's binaries are linux binaries")
	}
	platform := "linux/" + runtime.GOARCH
	opts := Options{
		Out: t.TempDir(), Platforms: []string{platform}, Version: "v0.0.0-test", Revision: "0123abc",
		Source: "https://github.com/modelgate/modelgate", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	res, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}

	img := readBack(t, res, platform)
	checkConfig(t, img, platform)
	checkRootFS(t, img)
	checkSBOM(t, res)
}

// readBack opens the layout as a registry client would and returns the
// platform's image.
func readBack(t *testing.T, res *Result, platform string) v1.Image {
	t.Helper()
	p, err := layout.FromPath(res.Layout)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	// layout.Write makes the index itself the layout's index.json.
	if d, _ := idx.Digest(); d != res.IndexDigest {
		t.Errorf("layout holds index %s, Build reported %s", d, res.IndexDigest)
	}
	innerManifest, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if got := innerManifest.Annotations["org.opencontainers.image.licenses"]; got != "Apache-2.0" {
		t.Errorf("index licenses annotation = %q", got)
	}
	if innerManifest.MediaType != types.OCIImageIndex || len(innerManifest.Manifests) != 1 {
		t.Fatalf("index %s has %d manifests, want 1", innerManifest.MediaType, len(innerManifest.Manifests))
	}
	desc := innerManifest.Manifests[0]
	if desc.Platform == nil || desc.Platform.OS+"/"+desc.Platform.Architecture != platform {
		t.Errorf("manifest platform = %+v, want %s", desc.Platform, platform)
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}

	return img
}

func checkConfig(t *testing.T, img v1.Image, platform string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != "/manager" {
		t.Errorf("entrypoint = %q, want /manager", got)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user = %q, want 65532:65532 (non-root)", cf.Config.User)
	}
	if cf.OS+"/"+cf.Architecture != platform {
		t.Errorf("config platform = %s/%s", cf.OS, cf.Architecture)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.source":   "https://github.com/modelgate/modelgate",
		"org.opencontainers.image.version":  "v0.0.0-test",
		"org.opencontainers.image.revision": "0123abc",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.title":    "modelgate",
		"org.opencontainers.image.created":  "2026-01-02T03:04:05Z",
	}
	for k, v := range wantLabels {
		if cf.Config.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, cf.Config.Labels[k], v)
		}
	}
	if cf.Config.Labels["org.opencontainers.image.description"] == "" {
		t.Error("no description label")
	}

}

// checkRootFS runs the binaries found in the layer.
func checkRootFS(t *testing.T, img v1.Image) {
	t.Helper()
	dir := t.TempDir()
	files := extract(t, mutate.Extract(img), dir)
	if got := files["etc/passwd"]; !strings.Contains(got.content, "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot user:\n%s", got.content)
	}
	for _, bin := range []struct {
		name string
		args []string
		want []string
	}{
		{"manager", []string{"--help"}, []string{"-leader-elect", "-webhook-cert-dir", "-metrics-bind-address"}},
		{"kubectl-modelgate", []string{"--help"}, []string{"check", "promote", "status"}},
	} {
		f, ok := files[bin.name]
		if !ok {
			t.Errorf("/%s is not in the layer", bin.name)
			continue
		}
		if f.mode&0o111 == 0 || f.uid != 0 {
			t.Errorf("/%s: mode %o uid %d, want executable and owned by root (read-only to the user)", bin.name, f.mode, f.uid)
		}
		out, err := exec.Command(filepath.Join(dir, bin.name), bin.args...).CombinedOutput()
		if err != nil {
			t.Errorf("/%s %s: %v\n%s", bin.name, strings.Join(bin.args, " "), err, out)
			continue
		}
		for _, w := range bin.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("/%s %s does not mention %q:\n%s", bin.name, strings.Join(bin.args, " "), w, out)
			}
		}
	}

}

func checkSBOM(t *testing.T, res *Result) {
	t.Helper()
	var sbom spdxDocument
	b, err := os.ReadFile(res.SBOM)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sbom); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range sbom.Packages {
		names[p.Name] = true
	}
	for _, want := range []string{"modelgate", "/manager", "/kubectl-modelgate", "stdlib", "sigs.k8s.io/controller-runtime", "k8s.io/client-go",
		// The CA roots the manager falls back on in an image without a bundle.
		"golang.org/x/crypto/x509roots/fallback"} {
		if !names[want] {
			t.Errorf("the SBOM lists no package %q", want)
		}
	}
	if sbom.SPDXVersion != "SPDX-2.3" || !strings.HasSuffix(sbom.DocumentNamespace, res.IndexDigest.Hex) {
		t.Errorf("SBOM header: %s %s", sbom.SPDXVersion, sbom.DocumentNamespace)
	}
}

type extracted struct {
	mode    int64
	uid     int
	content string
}

// extract writes the layer's regular files to dir and returns them by path;
// the text of those under etc/ is kept.
func extract(t *testing.T, rc io.ReadCloser, dir string) map[string]extracted {
	t.Helper()
	defer rc.Close()
	files := map[string]extracted{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		e := extracted{mode: h.Mode, uid: h.Uid}
		if strings.HasPrefix(h.Name, "etc/") {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			e.content = string(b)
		} else {
			path := filepath.Join(dir, filepath.Base(h.Name))
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
		files[h.Name] = e
	}
}
