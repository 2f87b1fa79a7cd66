package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image runs as distroless' "nonroot" user, so that the restricted Pod
// Security Standard admits it and runAsNonRoot can verify it numerically.
const (
	UID        = 65532
	User       = "65532:65532"
	Entrypoint = "/manager"
	// PluginPath is the kubectl plugin, for `kubectl cp` out of the image or
	// a debug container.
	PluginPath = "/kubectl-modelgate"
	// License is the project's, in SPDX.
	License = "Apache-2.0"
)

// Options say what to build and how to label it.
type Options struct {
	// Out is emptied, then receives oci/ (the layout) and sbom.spdx.json.
	Out       string
	Platforms []string
	Version   string
	Revision  string
	Source    string
	Created   time.Time
}

// Result is what Build wrote.
type Result struct {
	Layout, SBOM string
	IndexDigest  v1.Hash
	Platforms    []PlatformImage
}

// PlatformImage is one platform's image in the index.
type PlatformImage struct {
	Platform         string
	Digest           v1.Hash
	CompressedSize   int64
	UncompressedSize int64
}

// binaries are the commands in the image, by their path in it.
var binaries = []struct{ path, pkg string }{
	{Entrypoint, "./cmd"},
	{PluginPath, "./cmd/kubectl-modelgate"},
}

// Labels are the OCI annotations the image config and the index carry.
func (o Options) Labels() map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "modelgate",
		"org.opencontainers.image.description": "Kubernetes operator that enforces a model-deployment checklist and promotes model versions by canary, blue-green, shadow or A/B with analysis and rollback.",
		"org.opencontainers.image.source":      o.Source,
		"org.opencontainers.image.url":         o.Source,
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.revision":    o.Revision,
		"org.opencontainers.image.licenses":    License,
		"org.opencontainers.image.created":     o.Created.Format(time.RFC3339),
	}
}

// Build compiles the binaries for every platform and writes the image
// layout and the SBOM.
func Build(o Options) (*Result, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(o.Out); err != nil {
		return nil, err
	}
	work := filepath.Join(o.Out, "build")
	res := &Result{Layout: filepath.Join(o.Out, "oci"), SBOM: filepath.Join(o.Out, "sbom.spdx.json")}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var sbomBinaries []string
	for _, platform := range o.Platforms {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(platform), "/")
		if !ok {
			return nil, fmt.Errorf("platform %q is not os/arch", platform)
		}
		dir := filepath.Join(work, goos+"-"+goarch)
		files := map[string]string{}
		for _, b := range binaries {
			out := filepath.Join(dir, filepath.Base(b.path))
			if err := goBuild(root, goos, goarch, b.pkg, out); err != nil {
				return nil, err
			}
			files[b.path] = out
			if len(sbomBinaries) < len(binaries) {
				sbomBinaries = append(sbomBinaries, out)
			}
		}
		img, err := platformImage(o, goos, goarch, files)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", platform, err)
		}
		pi, err := describe(platform, img)
		if err != nil {
			return nil, err
		}
		res.Platforms = append(res.Platforms, pi)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: goos, Architecture: goarch}},
		})
	}
	idx = mutate.Annotations(idx, o.Labels()).(v1.ImageIndex)
	if _, err := layout.Write(res.Layout, idx); err != nil {
		return nil, fmt.Errorf("writing the layout: %w", err)
	}
	if res.IndexDigest, err = idx.Digest(); err != nil {
		return nil, err
	}
	if err := writeSBOM(res.SBOM, o, res.IndexDigest, sbomBinaries); err != nil {
		return nil, fmt.Errorf("writing the SBOM: %w", err)
	}
	return res, os.RemoveAll(work)
}

// goBuild makes a static, reproducible binary: no cgo, no paths of this
// machine, no build id.
func goBuild(root, goos, goarch, pkg, out string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for %s/%s: %w\n%s", pkg, goos, goarch, err, b)
	}
	return nil
}

func platformImage(o Options, goos, goarch string, files map[string]string) (v1.Image, error) {
	layerBytes, err := rootfs(o.Created, files)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: o.Created},
			CreatedBy: "hack/image: the manager and kubectl-modelgate, static, on an empty base",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = goos, goarch
	cf.Created = v1.Time{Time: o.Created}
	cf.Config.User = User
	cf.Config.Entrypoint = []string{Entrypoint}
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = o.Labels()
	cf.Config.Env = []string{"PATH=/", "HOME=/home/nonroot"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	return mutate.Annotations(img, o.Labels()).(v1.Image), nil
}

// rootfs is the image's only layer: the binaries, and the passwd, group and
// home a non-root user needs, every entry dated at the creation time.
func rootfs(created time.Time, files map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	header := func(name string, mode int64, typ byte, size int64, uid int) *tar.Header {
		return &tar.Header{Name: name, Mode: mode, Typeflag: typ, Size: size, Uid: uid, Gid: uid, ModTime: created, Format: tar.FormatPAX}
	}
	for _, d := range []struct {
		name string
		mode int64
		uid  int
	}{{"etc/", 0o755, 0}, {"home/", 0o755, 0}, {"home/nonroot/", 0o700, UID}, {"tmp/", 0o1777, 0}} {
		if err := tw.WriteHeader(header(d.name, d.mode, tar.TypeDir, 0, d.uid)); err != nil {
			return nil, err
		}
	}
	text := map[string]string{
		"etc/passwd": fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, UID),
		"etc/group":  fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", UID),
	}
	for _, name := range []string{"etc/group", "etc/passwd"} {
		if err := tw.WriteHeader(header(name, 0o644, tar.TypeReg, int64(len(text[name])), 0)); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(text[name])); err != nil {
			return nil, err
		}
	}
	for _, b := range binaries {
		data, err := os.ReadFile(files[b.path])
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(header(strings.TrimPrefix(b.path, "/"), 0o755, tar.TypeReg, int64(len(data)), 0)); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// describe measures an image: what a pull transfers (manifest, config and
// compressed layers) and what it unpacks to.
func describe(platform string, img v1.Image) (PlatformImage, error) {
	pi := PlatformImage{Platform: platform}
	var err error
	if pi.Digest, err = img.Digest(); err != nil {
		return pi, err
	}
	m, err := img.Manifest()
	if err != nil {
		return pi, err
	}
	size, err := img.Size()
	if err != nil {
		return pi, err
	}
	pi.CompressedSize = size + m.Config.Size
	layers, err := img.Layers()
	if err != nil {
		return pi, err
	}
	for _, l := range layers {
		c, err := l.Size()
		if err != nil {
			return pi, err
		}
		u, err := uncompressedSize(l)
		if err != nil {
			return pi, err
		}
		pi.CompressedSize += c
		pi.UncompressedSize += u
	}
	return pi, nil
}

func uncompressedSize(l v1.Layer) (int64, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}
