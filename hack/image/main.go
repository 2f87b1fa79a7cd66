// Command image builds modelgate's container image without a container
// engine: it cross-compiles the manager and the kubectl plugin as static
// binaries, lays them on an empty base with a non-root user, and writes a
// multi-platform OCI image layout (an index of one image per platform) with
// an SPDX SBOM beside it. Nothing is pulled from a registry, so the build
// needs only the Go module proxy.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/test/bars"
)

func main() {
	var opts Options
	var platforms, created string
	flag.StringVar(&opts.Out, "out", "bin/image", "Folder the OCI image layout (oci/) and the SBOM (sbom.spdx.json) are written to; emptied first.")
	flag.StringVar(&platforms, "platforms", "linux/amd64", "Comma-separated os/arch pairs to build, e.g. linux/amd64,linux/arm64.")
	flag.StringVar(&opts.Version, "version", "", "The image's version label; empty asks git describe.")
	flag.StringVar(&opts.Revision, "revision", "", "The image's revision label; empty asks git rev-parse HEAD.")
	flag.StringVar(&opts.Source, "source", "https://github.com/modelgate/modelgate", "The image's source label.")
	flag.StringVar(&created, "created", "", "The image's creation time (RFC 3339); empty takes $SOURCE_DATE_EPOCH, else the last commit's time, so that rebuilds of a commit are identical.")
	recordBar := flag.Bool("bars", true, "Record the image size in bars/image.txt.")
	flag.Parse()

	opts.Platforms = strings.Split(platforms, ",")
	var err error
	if opts.Version == "" {
		opts.Version = git("describe", "--tags", "--always", "--dirty")
	}
	if opts.Revision == "" {
		opts.Revision = git("rev-parse", "HEAD")
	}
	if opts.Created, err = creationTime(created); err != nil {
		fail(err)
	}
	res, err := Build(opts)
	if err != nil {
		fail(err)
	}
	for _, p := range res.Platforms {
		fmt.Printf("%s %s: %d bytes compressed (%d uncompressed)\n", p.Platform, p.Digest, p.CompressedSize, p.UncompressedSize)
		if *recordBar {
			bars.Record("image", "ImageSize/"+strings.ReplaceAll(p.Platform, "/", "-"), float64(p.CompressedSize), "B")
		}
	}
	fmt.Printf("wrote %s (index %s) and %s\n", res.Layout, res.IndexDigest, res.SBOM)
}

func creationTime(flagValue string) (time.Time, error) {
	if flagValue != "" {
		return time.Parse(time.RFC3339, flagValue)
	}
	epoch := os.Getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		epoch = git("log", "-1", "--format=%ct")
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("creation time %q: %w", epoch, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// git answers "unknown" outside a repository: labels are informative.
func git(args ...string) string {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "image:", err)
	os.Exit(1)
}

// repoRoot is the module root, the folder go build runs in.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w", err)
	}
	return filepath.Clean(strings.TrimSpace(string(out))), nil
}
