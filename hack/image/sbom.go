package main

import (
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// An SPDX 2.3 document, the fields this SBOM fills.
type spdxDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	Name             string            `json:"name"`
	SPDXID           string            `json:"SPDXID"`
	VersionInfo      string            `json:"versionInfo"`
	DownloadLocation string            `json:"downloadLocation"`
	FilesAnalyzed    bool              `json:"filesAnalyzed"`
	LicenseConcluded string            `json:"licenseConcluded"`
	LicenseDeclared  string            `json:"licenseDeclared"`
	CopyrightText    string            `json:"copyrightText"`
	PrimaryPurpose   string            `json:"primaryPackagePurpose,omitempty"`
	Checksums        []spdxChecksum    `json:"checksums,omitempty"`
	ExternalRefs     []spdxExternalRef `json:"externalRefs,omitempty"`
}

type spdxChecksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type spdxExternalRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

const (
	noAssertion    = "NOASSERTION"
	packageManager = "PACKAGE-MANAGER"
	purl           = "purl"
)

var spdxIDUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]`)

// writeSBOM lists the image and, from the build information Go stamps into
// every binary (what `go version -m` prints), the Go toolchain and the
// modules each binary links, with their checksums from go.sum.
func writeSBOM(path string, o Options, index v1.Hash, bins []string) error {
	image := spdxPackage{
		Name: "modelgate", SPDXID: "SPDXRef-Image", VersionInfo: o.Version,
		DownloadLocation: o.Source, LicenseConcluded: License, LicenseDeclared: License,
		CopyrightText: noAssertion, PrimaryPurpose: "CONTAINER",
		Checksums:    []spdxChecksum{{Algorithm: "SHA256", Value: index.Hex}},
		ExternalRefs: []spdxExternalRef{{Category: packageManager, Type: purl, Locator: "pkg:oci/modelgate@" + index.String()}},
	}
	doc := spdxDocument{
		SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT",
		Name:              "modelgate-" + o.Version,
		DocumentNamespace: fmt.Sprintf("%s/spdx/%s", o.Source, index.Hex),
		CreationInfo:      spdxCreationInfo{Created: o.Created.Format(time.RFC3339), Creators: []string{"Tool: modelgate-hack-image"}},
		Packages:          []spdxPackage{image},
		Relationships:     []spdxRelationship{{Element: "SPDXRef-DOCUMENT", Type: "DESCRIBES", Related: image.SPDXID}},
	}
	seen := map[string]bool{}
	add := func(p spdxPackage, from string) {
		if !seen[p.SPDXID] {
			seen[p.SPDXID] = true
			doc.Packages = append(doc.Packages, p)
		}
		doc.Relationships = append(doc.Relationships, spdxRelationship{Element: from, Type: "DEPENDS_ON", Related: p.SPDXID})
	}
	for _, bin := range bins {
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			return fmt.Errorf("%s: %w", bin, err)
		}
		binID := "SPDXRef-Binary-" + filepath.Base(bin)
		doc.Packages = append(doc.Packages, spdxPackage{
			Name: "/" + filepath.Base(bin), SPDXID: binID, VersionInfo: o.Version,
			DownloadLocation: o.Source, LicenseConcluded: License, LicenseDeclared: License,
			CopyrightText: noAssertion, PrimaryPurpose: "APPLICATION",
			ExternalRefs: []spdxExternalRef{{Category: packageManager, Type: purl, Locator: fmt.Sprintf("pkg:golang/%s@%s", info.Path, o.Version)}},
		})
		doc.Relationships = append(doc.Relationships, spdxRelationship{Element: image.SPDXID, Type: "CONTAINS", Related: binID})
		add(goModule("stdlib", strings.TrimPrefix(info.GoVersion, "go"), ""), binID)
		deps := append([]*debug.Module(nil), info.Deps...)
		sort.Slice(deps, func(i, j int) bool { return deps[i].Path < deps[j].Path })
		for _, d := range deps {
			if d.Replace != nil {
				d = d.Replace
			}
			add(goModule(d.Path, d.Version, d.Sum), binID)
		}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644) //nolint:gosec // a build output, for anyone to read
}

func goModule(path, version, sum string) spdxPackage {
	p := spdxPackage{
		Name: path, SPDXID: "SPDXRef-Go-" + spdxIDUnsafe.ReplaceAllString(path+"-"+version, "-"), VersionInfo: version,
		DownloadLocation: noAssertion, LicenseConcluded: noAssertion, LicenseDeclared: noAssertion, CopyrightText: noAssertion,
		PrimaryPurpose: "LIBRARY",
		ExternalRefs:   []spdxExternalRef{{Category: packageManager, Type: purl, Locator: fmt.Sprintf("pkg:golang/%s@%s", path, version)}},
	}
	if path != "stdlib" {
		p.DownloadLocation = "https://proxy.golang.org/" + strings.ToLower(path) + "/@v/" + version + ".zip"
	}
	if h, ok := strings.CutPrefix(sum, "h1:"); ok {
		// go.sum's h1: hashes the module's file list, not one file: SPDX has
		// no checksum algorithm for it, so it goes in an external reference.
		p.ExternalRefs = append(p.ExternalRefs, spdxExternalRef{Category: "OTHER", Type: "go-sum-h1", Locator: h})
	}
	return p
}
