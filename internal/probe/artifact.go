package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/modelgate/modelgate/internal/checklist"
)

// manifestTypes are the manifest media types a registry may answer with: OCI
// image manifest and index, Docker v2 manifest and manifest list.
var manifestTypes = []string{
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}

const (
	remNotFound = "publish the artifact at spec.model.uri, or correct spec.model.uri to where this version was published"
	remRefused  = "modelgate probes without credentials: make the artifact readable anonymously by the operator " +
		"(for https, a pre-signed URL; for oci, a repository that allows anonymous pull), or, if it cannot be, " +
		"give the item model-artifact the severity warn in spec.checklist.overrides with the reason"
	remRejected = "correct spec.model.uri: the server rejected the request for it"
	remOCIForm  = "write spec.model.uri as oci://host[:port]/repository:tag or oci://host[:port]/repository@sha256:<64 hex digits>, such as oci://registry.example/models/fraud-scorer:2.3.0"
)

// Artifact probes the model artifact at uri: an https URL is asked with HEAD,
// an oci:// reference by its manifest, anonymously. It returns nil for the
// schemes it does not probe (s3, gs, pvc and any other).
func (p *Prober) Artifact(ctx context.Context, uri string) *checklist.Finding {
	scheme, _, _ := strings.Cut(uri, "://")
	switch strings.ToLower(scheme) {
	case schemeHTTPS:
		u, err := url.Parse(uri)
		if err != nil || u.Host == "" {
			reason := "it has no host"
			if err != nil {
				reason = parseErr(err)
			}
			f := checklist.Fail("correct spec.model.uri to an https://host/path URL",
				"spec.model.uri %s is not a valid URL: %s", checklist.RedactURL(uri), reason)
			return &f
		}
		return p.finding(ctx, "artifact\x00"+uri, checklist.RedactURL(uri), func(ctx context.Context) outcome {
			return p.httpsArtifact(ctx, u)
		})
	case "oci":
		ref, err := parseOCI(uri)
		if err != nil {
			f := checklist.Fail(remOCIForm, "spec.model.uri %s is not an OCI reference: %v; expected oci://host[:port]/repository[:tag] or oci://host[:port]/repository@sha256:<64 hex digits>",
				checklist.RedactURL(uri), err)
			return &f
		}
		return p.finding(ctx, "artifact\x00"+uri, ref.String(), func(ctx context.Context) outcome {
			return p.ociArtifact(ctx, ref)
		})
	}
	return nil
}

// httpsArtifact asks for the artifact with HEAD. A server that refuses HEAD
// (a URL pre-signed for GET answers it with 403, some servers with 405 or
// 501) is asked again with a GET of the first byte.
func (p *Prober) httpsArtifact(ctx context.Context, u *url.URL) outcome {
	shown := checklist.RedactURL(u.String())
	status, _, err := p.send(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return unreachable(u.Host, "The artifact at %s could not be reached: %s", shown, p.describe(err))
	}
	switch status {
	case http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		status, _, err = p.send(ctx, http.MethodGet, u.String(), http.Header{"Range": {"bytes=0-0"}})
		if err != nil {
			return unreachable(u.Host, "The artifact at %s could not be reached: %s", shown, p.describe(err))
		}
	}
	return judgeArtifact(status, shown, u.Host, "")
}

// judgeArtifact maps the status of the request for an artifact to a Finding.
func judgeArtifact(status int, shown, host, detail string) outcome {
	switch {
	case status >= 200 && status < 300:
		return settled(checklist.Pass("Artifact found at %s%s", shown, detail))
	case status == http.StatusNotFound || status == http.StatusGone:
		return settled(checklist.Fail(remNotFound, "Artifact not found at %s (%s)", shown, httpStatus(status)))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return settled(checklist.Fail(remRefused, "Access to the artifact at %s was refused (%s)", shown, httpStatus(status)))
	case status >= 400 && status < 500:
		return settled(checklist.Fail(remRejected, "The request for the artifact at %s was rejected (%s)", shown, httpStatus(status)))
	}
	return unreachable(host, "The artifact at %s could not be verified: the server answered %s", shown, httpStatus(status))
}

// ociRef is a parsed oci:// reference.
type ociRef struct {
	// host is the registry as written, host[:port].
	host string
	// repo is the repository path, such as models/fraud-scorer.
	repo string
	// reference is the tag, or the digest when digest is true.
	reference string
	digest    bool
}

func (r ociRef) String() string {
	if r.digest {
		return "oci://" + r.host + "/" + r.repo + "@" + r.reference
	}
	return "oci://" + r.host + "/" + r.repo + ":" + r.reference
}

// apiHost is where the registry's API answers: Docker Hub's is not docker.io.
func (r ociRef) apiHost() string {
	if r.host == "docker.io" || r.host == "index.docker.io" {
		return "registry-1.docker.io"
	}
	return r.host
}

var (
	// ociHostRE is a DNS name or IPv4 address, or a bracketed IPv6 address,
	// with an optional port.
	ociHostRE = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)
	// ociRepoRE, ociTagRE and ociDigestRE follow the OCI distribution
	// specification's grammar.
	ociRepoRE   = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	ociTagRE    = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	ociDigestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// parseOCI reads oci://host[:port]/repository[:tag] or
// oci://host[:port]/repository@sha256:<hex>. The tag defaults to latest; a
// tag written before a digest is ignored, as docker and containerd do.
func parseOCI(uri string) (ociRef, error) {
	if len(uri) < len("oci://") || !strings.EqualFold(uri[:len("oci://")], "oci://") {
		return ociRef{}, fmt.Errorf("it does not begin with oci://")
	}
	host, path, ok := strings.Cut(uri[len("oci://"):], "/")
	switch {
	case strings.Contains(host, "@"):
		return ociRef{}, fmt.Errorf("credentials in the reference are not supported")
	case host == "":
		return ociRef{}, fmt.Errorf("it names no registry host")
	case !ociHostRE.MatchString(host):
		return ociRef{}, fmt.Errorf("the registry host %q is not a host name or address with an optional port", host)
	case !ok || path == "":
		return ociRef{}, fmt.Errorf("it names no repository after the host")
	}
	ref := ociRef{host: strings.ToLower(host), reference: "latest"}
	if repo, digest, ok := strings.Cut(path, "@"); ok {
		if !ociDigestRE.MatchString(digest) {
			return ociRef{}, fmt.Errorf("the digest %q is not sha256: followed by 64 lower-case hex digits", digest)
		}
		path, ref.reference, ref.digest = repo, digest, true
		if i := strings.LastIndexByte(path, ':'); i > strings.LastIndexByte(path, '/') {
			if tag := path[i+1:]; !ociTagRE.MatchString(tag) {
				return ociRef{}, fmt.Errorf("the tag %q is not valid: up to 128 letters, digits, '_', '.' and '-', not beginning with '.' or '-'", tag)
			}
			path = path[:i]
		}
	} else if i := strings.LastIndexByte(path, ':'); i > strings.LastIndexByte(path, '/') {
		path, ref.reference = path[:i], path[i+1:]
		if !ociTagRE.MatchString(ref.reference) {
			return ociRef{}, fmt.Errorf("the tag %q is not valid: up to 128 letters, digits, '_', '.' and '-', not beginning with '.' or '-'", ref.reference)
		}
	}
	if !ociRepoRE.MatchString(path) {
		return ociRef{}, fmt.Errorf("the repository %q is not valid: lower-case letters and digits in path components separated by '/', with '.', '_', '__' or '-' between them", path)
	}
	ref.repo = path
	if (ref.host == "docker.io" || ref.host == "index.docker.io") && !strings.Contains(ref.repo, "/") {
		ref.repo = "library/" + ref.repo
	}
	return ref, nil
}

// ociArtifact asks the registry for the manifest with HEAD, anonymously: on a
// 401 with a Bearer challenge it fetches an anonymous token from the realm and
// asks again with it.
func (p *Prober) ociArtifact(ctx context.Context, r ociRef) outcome {
	scheme := schemeHTTPS
	if p.plainHTTP[r.host] {
		scheme = schemeHTTP
	}
	manifest := scheme + "://" + r.apiHost() + "/v2/" + r.repo + "/manifests/" + r.reference
	header := http.Header{"Accept": {strings.Join(manifestTypes, ", ")}}
	status, h, err := p.send(ctx, http.MethodHead, manifest, header)
	if err != nil {
		return unreachable(r.host, "The registry %s could not be reached for %s: %s", r.host, r, p.describe(err))
	}
	if status == http.StatusUnauthorized {
		token, failed := p.anonymousToken(ctx, r, h)
		if failed != nil {
			return *failed
		}
		header.Set("Authorization", "Bearer "+token)
		status, h, err = p.send(ctx, http.MethodHead, manifest, header)
		if err != nil {
			return unreachable(r.host, "The registry %s could not be reached for %s: %s", r.host, r, p.describe(err))
		}
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			return settled(checklist.Fail(remRefused,
				"The registry %s refused anonymous pull of %s (%s): the repository is private or does not exist", r.host, r.repo, httpStatus(status)))
		}
	}
	detail := ""
	// Only a well-formed digest is shown: a header is the far end's text.
	if d := h.Get("Docker-Content-Digest"); ociDigestRE.MatchString(d) && !r.digest {
		detail = ", tag " + r.reference + " is " + d
	}
	return judgeArtifact(status, r.String(), r.host, detail)
}

// anonymousToken answers a registry's Bearer challenge without credentials.
// It returns the token, or the outcome of the probe when there is none.
func (p *Prober) anonymousToken(ctx context.Context, r ociRef, h http.Header) (string, *outcome) {
	fail := func(o outcome) (string, *outcome) { return "", &o }
	challenge, ok := bearerChallenge(h)
	if !ok {
		return fail(settled(checklist.Fail(remRefused,
			"The registry %s asks for credentials to read %s (HTTP 401 without a Bearer challenge); modelgate pulls anonymously", r.host, r.repo)))
	}
	realm, err := url.Parse(challenge["realm"])
	if err != nil || !isHTTPURL(realm) {
		return fail(unreachable(r.host, "The registry %s sent a token realm that is not an http(s) URL, so %s could not be verified", r.host, r))
	}
	q := realm.Query()
	if service := challenge["service"]; service != "" {
		q.Set("service", service)
	}
	scope := challenge["scope"]
	if scope == "" {
		scope = "repository:" + r.repo + ":pull"
	}
	q.Set("scope", scope)
	realm.RawQuery = q.Encode()

	status, body, _, err := p.get(ctx, realm.String(), "application/json")
	if err != nil {
		return fail(unreachable(realm.Host, "The token service of registry %s at %s could not be reached: %s", r.host, realm.Host, p.describe(err)))
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fail(settled(checklist.Fail(remRefused,
			"The registry %s refused an anonymous token to pull %s (%s)", r.host, r.repo, httpStatus(status))))
	case status >= 400 && status < 500:
		return fail(settled(checklist.Fail(remRejected,
			"The token service of registry %s rejected the request for a pull token (%s)", r.host, httpStatus(status))))
	case status < 200 || status >= 300:
		return fail(unreachable(realm.Host, "The token service of registry %s answered %s, so %s could not be verified", r.host, httpStatus(status), r))
	}
	var t struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &t); err != nil {
		return fail(unreachable(realm.Host, "The token service of registry %s answered with invalid JSON", r.host))
	}
	if t.Token != "" {
		return t.Token, nil
	}
	if t.AccessToken != "" {
		return t.AccessToken, nil
	}
	return fail(unreachable(realm.Host, "The token service of registry %s answered without a token", r.host))
}

// bearerChallenge finds a Bearer challenge with a realm among the
// WWW-Authenticate headers and returns its parameters, names lower-cased.
func bearerChallenge(h http.Header) (map[string]string, bool) {
	for _, v := range h.Values("Www-Authenticate") {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			continue
		}
		if params := authParams(rest); params["realm"] != "" {
			return params, true
		}
	}
	return nil, false
}

// authParams reads comma-separated name=value pairs, where a value is a token
// or a quoted string that may hold commas and backslash escapes.
func authParams(s string) map[string]string {
	out := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t,")
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			return out
		}
		name = strings.ToLower(strings.TrimSpace(name))
		rest = strings.TrimLeft(rest, " \t")
		var value strings.Builder
		if strings.HasPrefix(rest, `"`) {
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				value.WriteByte(rest[i])
			}
			s = rest[min(i+1, len(rest)):]
		} else {
			end := strings.IndexAny(rest, ", \t")
			if end < 0 {
				end = len(rest)
			}
			value.WriteString(rest[:end])
			s = rest[end:]
		}
		out[name] = value.String()
	}
}
