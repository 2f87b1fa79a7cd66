package probe

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzParseOCI: any spec.model.uri is parsed without panicking, and a
// reference that parses is well-formed and prints as a reference that
// parses to itself.
func FuzzParseOCI(f *testing.F) {
	for _, seed := range []string{
		"oci://registry.example/models/fraud-scorer:2.3.0",
		"oci://registry.example:5000/models/fraud-scorer@sha256:" + strings.Repeat("a", 64),
		"oci://registry.example/m:tag@sha256:" + strings.Repeat("0", 64),
		"oci://[::1]:5000/a/b",
		"oci://docker.io/alpine",
		"OCI://Registry.Example/a",
		"oci://user:pass@host/a",
		"oci://host/A",
		"oci://host/",
		"oci:///a",
		"oci://host/a:",
		"oci://host/a@sha256:xyz",
		"oci://host/a/../b",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		ref, err := parseOCI(uri)
		if err != nil {
			return
		}
		if ref.host == "" || ref.repo == "" || ref.reference == "" {
			t.Fatalf("parseOCI(%q) = %+v: an empty part", uri, ref)
		}
		if strings.ContainsAny(ref.host, "@/") || ref.host != strings.ToLower(ref.host) {
			t.Fatalf("parseOCI(%q): host %q", uri, ref.host)
		}
		if !ociRepoRE.MatchString(ref.repo) {
			t.Fatalf("parseOCI(%q): repository %q out of the grammar", uri, ref.repo)
		}
		if ref.digest && !ociDigestRE.MatchString(ref.reference) || !ref.digest && !ociTagRE.MatchString(ref.reference) {
			t.Fatalf("parseOCI(%q): reference %q out of the grammar", uri, ref.reference)
		}
		again, err := parseOCI(ref.String())
		if err != nil {
			t.Fatalf("parseOCI(%q) = %s, which does not parse: %v", uri, ref, err)
		}
		if again != ref {
			t.Fatalf("parseOCI(%q) = %+v, printed and parsed again %+v", uri, ref, again)
		}
	})
}

// FuzzBearerChallenge: any WWW-Authenticate a registry sends is read without
// panicking or looping, and a challenge found has a realm.
func FuzzBearerChallenge(f *testing.F) {
	for _, seed := range []string{
		`Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"`,
		`Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push",error=insufficient_scope, note="say \"hi\""`,
		`Basic realm="registry"`,
		`Bearer realm=`,
		`Bearer realm="unterminated`,
		`Bearer ,,,=,"\`,
		`bearer REALM=x`,
		``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		params, ok := bearerChallenge(http.Header{"Www-Authenticate": {header}})
		if ok && params["realm"] == "" {
			t.Fatalf("bearerChallenge(%q) found a challenge without a realm", header)
		}
		for name := range authParams(header) {
			if name != strings.ToLower(name) {
				t.Fatalf("authParams(%q): name %q not lower-cased", header, name)
			}
		}
	})
}
