package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
)

const (
	pass    = servingv1alpha1.CheckPass
	fail    = servingv1alpha1.CheckFail
	unknown = servingv1alpha1.CheckUnknown
)

var digest = "sha256:" + strings.Repeat("ab", 32)

// clock is an injected clock the tests move by hand; it counts its reads.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	reads int
	// step moves the clock on every read, so that nothing cached is fresh.
	step time.Duration
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	c.now = c.now.Add(c.step)
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *clock) Reads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// serve starts a server that is closed when the test ends, also on failure.
func serve(t *testing.T, tls bool, h http.Handler) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv
}

// hangingServer starts a TLS server whose handler does not answer the
// requests that hold says to hold until let is called or the test ends.
// Closing a server waits for its handlers and cleanups run last registered
// first, so the handlers are let go before the server is closed.
func hangingServer(t *testing.T, hold func(n int32) bool) (srv *httptest.Server, arrived <-chan int32, asked *atomic.Int32, let func()) {
	release := make(chan struct{})
	in := make(chan int32, 64)
	asked = new(atomic.Int32)
	srv = serve(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := asked.Add(1)
		in <- n
		if hold(n) {
			<-release
		}
	}))
	var once sync.Once
	let = func() { once.Do(func() { close(release) }) }
	t.Cleanup(let)
	return srv, in, asked, let
}

func always(int32) bool { return true }

// requests counts the requests a handler gets, by path.
type requests struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requests) count(path string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[path]++
}

func (c *requests) of(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

func (c *requests) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

// noNetwork is a client that fails the test if it is used.
func noNetwork(t *testing.T) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		return nil, fmt.Errorf("no network in this test")
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// expectFinding checks what the user reads: the result, the words of the
// message, and that a Fail or Unknown says what to do about it.
func expectFinding(g Gomega, f *checklist.Finding, result servingv1alpha1.CheckResult, words ...string) {
	g.ExpectWithOffset(1, f).NotTo(BeNil())
	g.ExpectWithOffset(1, f.Result).To(Equal(result), "message: %s", f.Message)
	for _, w := range words {
		g.ExpectWithOffset(1, f.Message).To(ContainSubstring(w))
	}
	if result != pass {
		g.ExpectWithOffset(1, f.Remediation).NotTo(BeEmpty(), "a %s says what to do: %s", result, f.Message)
	}
}

func TestArtifactHTTPS(t *testing.T) {
	var methods requests
	srv := serve(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		methods.count(r.Method + " " + r.URL.Path)
		switch r.URL.Path {
		case "/models/fraud-scorer-2.3.0.tar.gz":
			w.WriteHeader(http.StatusOK)
		case "/models/old.tar.gz":
			w.WriteHeader(http.StatusGone)
		case "/models/private.tar.gz":
			w.WriteHeader(http.StatusForbidden)
		case "/models/presigned.tar.gz":
			// Signed for GET only, as S3 and GCS pre-signed URLs are.
			if r.Method != http.MethodGet || r.Header.Get("Range") != "bytes=0-0" {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write([]byte("x"))
		case "/models/teapot":
			w.WriteHeader(http.StatusTeapot)
		case "/models/busy.tar.gz":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			http.NotFound(w, r)
		}
	}))
	p := New(Options{Client: srv.Client()})

	tests := []struct {
		name        string
		path        string
		want        servingv1alpha1.CheckResult
		words       []string
		remediation string
		hidden      string
	}{
		{name: "found", path: "/models/fraud-scorer-2.3.0.tar.gz", want: pass,
			words: []string{"Artifact found at " + srv.URL + "/models/fraud-scorer-2.3.0.tar.gz"}},
		{name: "not found", path: "/models/missing.tar.gz", want: fail,
			words: []string{"Artifact not found at " + srv.URL + "/models/missing.tar.gz", "HTTP 404"}, remediation: "spec.model.uri"},
		{name: "gone", path: "/models/old.tar.gz", want: fail,
			words: []string{"Artifact not found at", "HTTP 410"}, remediation: "spec.model.uri"},
		{name: "access refused", path: "/models/private.tar.gz", want: fail,
			words: []string{"refused", "HTTP 403"}, remediation: "credentials"},
		{name: "pre-signed for GET only", path: "/models/presigned.tar.gz?X-Amz-Signature=s3cr3t", want: pass,
			words: []string{"Artifact found at " + srv.URL + "/models/presigned.tar.gz?…"}, hidden: "s3cr3t"},
		{name: "signature not shown", path: "/models/missing.tar.gz?X-Amz-Signature=s3cr3t", want: fail,
			words: []string{"Artifact not found"}, hidden: "s3cr3t"},
		{name: "other client error", path: "/models/teapot", want: fail,
			words: []string{"rejected", "HTTP 418"}, remediation: "spec.model.uri"},
		{name: "server error is not a verdict", path: "/models/busy.tar.gz", want: unknown,
			words: []string{"could not be verified", "HTTP 503"}, remediation: strings.TrimPrefix(srv.URL, "https://")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			f := p.Artifact(context.Background(), srv.URL+tt.path)
			expectFinding(g, f, tt.want, tt.words...)
			g.Expect(f.Remediation).To(ContainSubstring(tt.remediation))
			if tt.hidden != "" {
				g.Expect(f.Message).NotTo(ContainSubstring(tt.hidden))
			}
		})
	}
	NewWithT(t).Expect(methods.of("HEAD /models/fraud-scorer-2.3.0.tar.gz")).To(Equal(1), "an artifact is asked with HEAD, not downloaded")
	NewWithT(t).Expect(methods.of("GET /models/fraud-scorer-2.3.0.tar.gz")).To(BeZero())
}

func TestArtifactSchemesNotProbed(t *testing.T) {
	p := New(Options{Client: noNetwork(t)})
	for _, uri := range []string{"s3://models/fraud/2.3.0", "gs://models/fraud/2.3.0", "pvc://models/fraud/2.3.0"} {
		NewWithT(t).Expect(p.Artifact(context.Background(), uri)).To(BeNil(), uri)
	}
}

func TestArtifactUnreachable(t *testing.T) {
	g := NewWithT(t)
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	client, uri := srv.Client(), srv.URL+"/models/fraud.tar.gz"
	srv.Close() // nothing listens there any more

	f := New(Options{Client: client}).Artifact(context.Background(), uri)
	expectFinding(g, f, unknown, "could not be reached")
	g.Expect(f.Remediation).To(ContainSubstring(strings.TrimPrefix(srv.URL, "https://")), "the remediation names the host to check")
}

// ociRegistry speaks the distribution API: manifests behind a bearer token
// that its token endpoint hands out anonymously.
type ociRegistry struct {
	srv       *httptest.Server
	token     string
	manifests map[string]string // repo:tag and repo@digest to the manifest digest
	// tokenField is the JSON field the token comes in: token or access_token.
	tokenField string
	// refuseAnonymous makes the token endpoint refuse anonymous requests.
	refuseAnonymous bool

	mu      sync.Mutex
	scopes  []url.Values
	accepts []string
	heads   int
}

func newOCIRegistry(t *testing.T, tls bool) *ociRegistry {
	r := &ociRegistry{
		token:      "anon-token-123",
		tokenField: "token",
		manifests: map[string]string{
			"models/fraud-scorer:2.3.0":         digest,
			"models/fraud-scorer:latest":        digest,
			"models/fraud-scorer@" + digest:     digest,
			"models/team/fraud-scorer:2.3.0-rc": digest,
		},
	}
	r.srv = serve(t, tls, r)
	return r
}

func (r *ociRegistry) host() string { return r.srv.Listener.Addr().String() }

func (r *ociRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.URL.Path == "/token" {
		r.scopes = append(r.scopes, req.URL.Query())
		if r.refuseAnonymous {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{r.tokenField: r.token})
		return
	}
	path, ok := strings.CutPrefix(req.URL.Path, "/v2/")
	i := strings.LastIndex(path, "/manifests/")
	if !ok || i < 0 {
		http.NotFound(w, req)
		return
	}
	repo, ref := path[:i], path[i+len("/manifests/"):]
	if req.Header.Get("Authorization") != "Bearer "+r.token {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="registry.test",scope="repository:%s:pull"`, r.srv.URL, repo))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.heads++
	r.accepts = append(r.accepts, req.Header.Get("Accept"))
	sep := ":"
	if strings.HasPrefix(ref, "sha256:") {
		sep = "@"
	}
	d, found := r.manifests[repo+sep+ref]
	if !found {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprint(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	w.Header().Set("Docker-Content-Digest", d)
	w.WriteHeader(http.StatusOK)
}

func TestArtifactOCI(t *testing.T) {
	tests := []struct {
		name            string
		ref             string // after oci://host/
		tokenField      string
		refuseAnonymous bool
		want            servingv1alpha1.CheckResult
		words           []string
		remediation     string
	}{
		{name: "tag found with a bearer token", ref: "models/fraud-scorer:2.3.0", want: pass,
			words: []string{"Artifact found at oci://", "/models/fraud-scorer:2.3.0", "tag 2.3.0 is " + digest}},
		{name: "token in access_token", ref: "models/fraud-scorer:2.3.0", tokenField: "access_token", want: pass,
			words: []string{"Artifact found at oci://"}},
		{name: "digest found", ref: "models/fraud-scorer@" + digest, want: pass,
			words: []string{"/models/fraud-scorer@" + digest}},
		{name: "no tag means latest", ref: "models/fraud-scorer", want: pass,
			words: []string{"/models/fraud-scorer:latest"}},
		{name: "nested repository", ref: "models/team/fraud-scorer:2.3.0-rc", want: pass},
		{name: "unknown tag", ref: "models/fraud-scorer:9.9.9", want: fail,
			words: []string{"Artifact not found at oci://", "/models/fraud-scorer:9.9.9", "HTTP 404"}, remediation: "spec.model.uri"},
		{name: "anonymous pull refused", ref: "models/fraud-scorer:2.3.0", refuseAnonymous: true, want: fail,
			words: []string{"refused an anonymous token", "models/fraud-scorer"}, remediation: "credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			reg := newOCIRegistry(t, true)
			if tt.tokenField != "" {
				reg.tokenField = tt.tokenField
			}
			reg.refuseAnonymous = tt.refuseAnonymous
			p := New(Options{Client: reg.srv.Client()})

			f := p.Artifact(context.Background(), "oci://"+reg.host()+"/"+tt.ref)
			expectFinding(g, f, tt.want, tt.words...)
			g.Expect(f.Remediation).To(ContainSubstring(tt.remediation))

			reg.mu.Lock()
			defer reg.mu.Unlock()
			g.Expect(reg.scopes).To(HaveLen(1), "one anonymous token is fetched")
			g.Expect(reg.scopes[0].Get("service")).To(Equal("registry.test"))
			repo, _, _ := strings.Cut(strings.Split(tt.ref, "@")[0], ":")
			g.Expect(reg.scopes[0].Get("scope")).To(Equal("repository:" + repo + ":pull"))
			if tt.refuseAnonymous {
				g.Expect(reg.heads).To(BeZero())
				return
			}
			g.Expect(reg.heads).To(Equal(1), "the manifest is asked once more, with the token")
			for _, mt := range manifestTypes {
				g.Expect(reg.accepts[0]).To(ContainSubstring(mt))
			}
		})
	}
}

func TestArtifactOCIPrivateRepository(t *testing.T) {
	g := NewWithT(t)
	// A registry that hands out a token which still does not grant the pull,
	// as registries do for private repositories.
	var srv *httptest.Server
	srv = serve(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			_, _ = fmt.Fprint(w, `{"token":"useless"}`)
			return
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="registry.test",scope="repository:models/secret:pull",error="insufficient_scope"`, srv.URL))
		w.WriteHeader(http.StatusUnauthorized)
	}))
	f := New(Options{Client: srv.Client()}).Artifact(context.Background(), "oci://"+srv.Listener.Addr().String()+"/models/secret:1.0.0")
	expectFinding(g, f, fail, "refused anonymous pull of models/secret", "private or does not exist")
	g.Expect(f.Remediation).To(ContainSubstring("credentials"))
}

func TestArtifactOCIRegistryError(t *testing.T) {
	g := NewWithT(t)
	srv := serve(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database is down", http.StatusInternalServerError)
	}))
	host := srv.Listener.Addr().String()
	f := New(Options{Client: srv.Client()}).Artifact(context.Background(), "oci://"+host+"/models/fraud-scorer:2.3.0")
	expectFinding(g, f, unknown, "could not be verified", "HTTP 500")
	g.Expect(f.Remediation).To(ContainSubstring(host))
}

func TestArtifactOCIPlainHTTPHost(t *testing.T) {
	reg := newOCIRegistry(t, false)
	uri := "oci://" + reg.host() + "/models/fraud-scorer:2.3.0"

	t.Run("listed host is asked over http", func(t *testing.T) {
		f := New(Options{PlainHTTPHosts: []string{reg.host()}}).Artifact(context.Background(), uri)
		expectFinding(NewWithT(t), f, pass, "Artifact found at "+uri)
	})
	t.Run("other hosts are asked over https only", func(t *testing.T) {
		f := New(Options{}).Artifact(context.Background(), uri)
		expectFinding(NewWithT(t), f, unknown, "could not be reached")
	})
}

func TestArtifactOCIMalformed(t *testing.T) {
	p := New(Options{Client: noNetwork(t)})
	for _, uri := range []string{
		"oci://",
		"oci:///models/fraud:1.0.0",
		"oci://registry.example",
		"oci://registry.example/",
		"oci://registry.example/Models/Fraud:1.0.0",
		"oci://registry.example/models/fraud:-bad",
		"oci://registry.example/models/fraud@sha256:abc",
		"oci://registry.example/models/fraud@md5:" + strings.Repeat("a", 32),
		"oci://registry_example:port/models/fraud:1.0.0",
		"oci://user:hunter2@registry.example/models/fraud:1.0.0",
	} {
		t.Run(uri, func(t *testing.T) {
			g := NewWithT(t)
			f := p.Artifact(context.Background(), uri)
			expectFinding(g, f, fail, "is not an OCI reference", "expected oci://host[:port]/repository")
			g.Expect(f.Message).NotTo(ContainSubstring("hunter2"))
			g.Expect(f.Remediation).To(ContainSubstring("oci://host[:port]/repository:tag"))
		})
	}
}

func TestParseOCI(t *testing.T) {
	tests := []struct {
		uri                   string
		host, repo, reference string
		apiHost               string
	}{
		{uri: "oci://registry.example/models/fraud-scorer:2.3.0", host: "registry.example", repo: "models/fraud-scorer", reference: "2.3.0"},
		{uri: "oci://localhost:5000/fraud", host: "localhost:5000", repo: "fraud", reference: "latest"},
		{uri: "oci://registry.example/models/fraud@" + digest, host: "registry.example", repo: "models/fraud", reference: digest},
		{uri: "oci://registry.example/models/fraud:2.3.0@" + digest, host: "registry.example", repo: "models/fraud", reference: digest},
		{uri: "oci://Registry.Example:443/a/b/c:v1_2.3-rc", host: "registry.example:443", repo: "a/b/c", reference: "v1_2.3-rc"},
		{uri: "oci://[::1]:5000/models/fraud:1", host: "[::1]:5000", repo: "models/fraud", reference: "1"},
		{uri: "oci://docker.io/ubuntu:24.04", host: "docker.io", repo: "library/ubuntu", reference: "24.04", apiHost: "registry-1.docker.io"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			g := NewWithT(t)
			r, err := parseOCI(tt.uri)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(r.host).To(Equal(tt.host))
			g.Expect(r.repo).To(Equal(tt.repo))
			g.Expect(r.reference).To(Equal(tt.reference))
			if tt.apiHost == "" {
				tt.apiHost = tt.host
			}
			g.Expect(r.apiHost()).To(Equal(tt.apiHost))
		})
	}
}

func TestAuthParams(t *testing.T) {
	g := NewWithT(t)
	h := http.Header{}
	h.Add("WWW-Authenticate", `Basic realm="registry"`)
	h.Add("WWW-Authenticate", `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push",error=insufficient_scope, note="say \"hi\""`)
	params, ok := bearerChallenge(h)
	g.Expect(ok).To(BeTrue())
	g.Expect(params).To(Equal(map[string]string{
		"realm":   "https://auth.example/token",
		"service": "registry.example",
		"scope":   "repository:a/b:pull,push",
		"error":   "insufficient_scope",
		"note":    `say "hi"`,
	}))
	_, ok = bearerChallenge(http.Header{"Www-Authenticate": {`Basic realm="registry"`}})
	g.Expect(ok).To(BeFalse())
}

func TestProbesTimeOut(t *testing.T) {
	srv, _, _, _ := hangingServer(t, always)
	host := srv.Listener.Addr().String()
	p := New(Options{Client: srv.Client(), Timeout: 200 * time.Millisecond})

	// within bounds a probe that never answers: its timeout and some slack
	// for a loaded machine, far below the default of 5s.
	const within = 2 * time.Second
	t.Run("https artifact", func(t *testing.T) {
		g := NewWithT(t)
		start := time.Now()
		f := p.Artifact(context.Background(), srv.URL+"/models/fraud.tar.gz?token=s3cr3t")
		g.Expect(time.Since(start)).To(BeNumerically("<", within))
		expectFinding(g, f, unknown, "no answer within 200ms")
		g.Expect(f.Message).NotTo(ContainSubstring("s3cr3t"))
	})
	t.Run("oci artifact", func(t *testing.T) {
		g := NewWithT(t)
		start := time.Now()
		f := p.Artifact(context.Background(), "oci://"+host+"/models/fraud:2.3.0")
		g.Expect(time.Since(start)).To(BeNumerically("<", within))
		expectFinding(g, f, unknown, "no answer within 200ms")
	})
	t.Run("registry", func(t *testing.T) {
		g := NewWithT(t)
		start := time.Now()
		f := p.Registry(context.Background(), servingv1alpha1.ModelRegistryRef{URL: servingv1alpha1.URL(srv.URL), Version: "3"}, "fraud-scorer")
		g.Expect(time.Since(start)).To(BeNumerically("<", within))
		expectFinding(g, f, unknown, "no answer within 200ms")
	})
	t.Run("document", func(t *testing.T) {
		g := NewWithT(t)
		start := time.Now()
		d := p.Document(context.Background(), srv.URL+"/cards/fraud.md")
		g.Expect(time.Since(start)).To(BeNumerically("<", within))
		g.Expect(d.Body).To(BeEmpty())
		g.Expect(d.Err).To(ContainSubstring("no answer within 200ms"))
	})
}

// mlflow answers model-versions/get like MLflow, by version.
func mlflow(t *testing.T, asked *requests) *httptest.Server {
	return serve(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The API at the root, and behind the prefix /mlflow as a proxy would put it.
		api := strings.TrimPrefix(r.URL.Path, "/mlflow")
		if api != "/api/2.0/mlflow/model-versions/get" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		name, version := r.URL.Query().Get("name"), r.URL.Query().Get("version")
		asked.count(r.URL.Path + "?" + name + "@" + version)
		status := func(s, msg string) {
			_ = json.NewEncoder(w).Encode(map[string]any{"model_version": map[string]string{
				"name": name, "version": version, "status": s, "status_message": msg, "current_stage": "None",
			}})
		}
		switch version {
		case "1":
			status("READY", "")
		case "2":
			status("PENDING_REGISTRATION", "")
		case "3":
			status("FAILED_REGISTRATION", "artifact upload failed")
		case "5":
			http.Error(w, "internal error", http.StatusInternalServerError)
		case "6":
			_, _ = fmt.Fprint(w, `{"model_version": {"status": "READY"`)
		case "7":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprint(w, `{"error_code": "INVALID_PARAMETER_VALUE", "message": "Model version must be an integer"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = fmt.Fprintf(w, `{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Model Version (name=%s, version=%s) not found"}`, name, version)
		}
	}))
}

func TestRegistry(t *testing.T) {
	var asked requests
	srv := mlflow(t, &asked)
	p := New(Options{Client: srv.Client()})
	ref := func(name, version string) servingv1alpha1.ModelRegistryRef {
		return servingv1alpha1.ModelRegistryRef{URL: servingv1alpha1.URL(srv.URL), Name: name, Version: version}
	}

	tests := []struct {
		name        string
		ref         servingv1alpha1.ModelRegistryRef
		want        servingv1alpha1.CheckResult
		words       []string
		remediation string
		asked       string
		// notWords are the registry's own words, never read back into status.
		notWords []string
	}{
		{name: "ready", ref: ref("", "1"), want: pass,
			words: []string{"Model fraud-scorer version 1 is registered and READY"}, asked: "/api/2.0/mlflow/model-versions/get?fraud-scorer@1"},
		{name: "registered under another name", ref: ref("fraud-scorer-xgb", "1"), want: pass,
			words: []string{"Model fraud-scorer-xgb version 1"}, asked: "/api/2.0/mlflow/model-versions/get?fraud-scorer-xgb@1"},
		{name: "registry behind a path prefix", ref: servingv1alpha1.ModelRegistryRef{URL: servingv1alpha1.URL(srv.URL + "/mlflow/"), Version: "1"}, want: pass,
			words: []string{"READY"}, asked: "/mlflow/api/2.0/mlflow/model-versions/get?fraud-scorer@1"},
		{name: "pending", ref: ref("", "2"), want: fail,
			words: []string{"not ready yet: PENDING_REGISTRATION"}, remediation: "wait for the registration"},
		{name: "failed registration", ref: ref("", "3"), want: fail,
			words: []string{"FAILED_REGISTRATION"}, notWords: []string{"artifact upload failed"}, remediation: "register model fraud-scorer version 3 again"},
		{name: "not registered", ref: ref("", "4"), want: fail,
			words: []string{"Model version 4 of fraud-scorer is not in the registry", "RESOURCE_DOES_NOT_EXIST"}, notWords: []string{"not found"}, remediation: "register model fraud-scorer version 4"},
		{name: "server error", ref: ref("", "5"), want: unknown,
			words: []string{"HTTP 500"}, remediation: strings.TrimPrefix(srv.URL, "http://")},
		{name: "invalid JSON", ref: ref("", "6"), want: unknown,
			words: []string{"invalid JSON"}, remediation: strings.TrimPrefix(srv.URL, "http://")},
		{name: "rejected lookup", ref: ref("", "7"), want: fail,
			words: []string{"HTTP 400"}, notWords: []string{"INVALID_PARAMETER_VALUE", "must be an integer"}, remediation: "spec.model.registry"},
		{name: "not an MLflow server", ref: servingv1alpha1.ModelRegistryRef{URL: servingv1alpha1.URL(srv.URL + "/elsewhere/x"), Version: "1"}, want: fail,
			words: []string{"Model version 1 of fraud-scorer is not in the registry", "HTTP 404"}, remediation: "MLflow server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			f := p.Registry(context.Background(), tt.ref, "fraud-scorer")
			expectFinding(g, f, tt.want, tt.words...)
			g.Expect(f.Remediation).To(ContainSubstring(tt.remediation))
			for _, w := range tt.notWords {
				g.Expect(f.Message).NotTo(ContainSubstring(w), "the registry's own words are not read back")
			}
			if tt.asked != "" {
				g.Expect(asked.of(tt.asked)).To(Equal(1))
			}
		})
	}
}

func TestDocument(t *testing.T) {
	const card = "# Fraud scorer\n\n## Intended Use\nScoring card payments.\n"
	srv := serve(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cards/fraud.md":
			_, _ = fmt.Fprint(w, card)
		case "/cards/huge.md":
			_, _ = w.Write([]byte(strings.Repeat("#", maxBody+1)))
		case "/cards/busy.md":
			w.WriteHeader(http.StatusBadGateway)
		case "/cards/retired.md":
			w.WriteHeader(http.StatusGone)
		case "/cards/forbidden.md":
			w.WriteHeader(http.StatusForbidden)
		default:
			http.NotFound(w, r)
		}
	}))
	p := New(Options{Client: srv.Client()})

	tests := []struct {
		path     string
		body     string
		err      string
		notFound bool
	}{
		{path: "/cards/fraud.md", body: card},
		{path: "/cards/missing.md", err: "answered HTTP 404 Not Found", notFound: true},
		{path: "/cards/retired.md", err: "answered HTTP 410 Gone", notFound: true},
		{path: "/cards/forbidden.md", err: "answered HTTP 403 Forbidden"},
		{path: "/cards/busy.md", err: "answered HTTP 502 Bad Gateway"},
		{path: "/cards/huge.md", err: "larger than 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			g := NewWithT(t)
			d := p.Document(context.Background(), srv.URL+tt.path)
			g.Expect(d).NotTo(BeNil())
			g.Expect(d.Body).To(Equal(tt.body))
			g.Expect(d.NotFound).To(Equal(tt.notFound), "a missing card fails; other answers leave it unknown")
			if tt.err == "" {
				g.Expect(d.Err).To(BeEmpty())
			} else {
				g.Expect(d.Err).To(ContainSubstring(tt.err))
			}
		})
	}
	t.Run("not http", func(t *testing.T) {
		d := New(Options{Client: noNetwork(t)}).Document(context.Background(), "ftp://cards.example/fraud.md")
		NewWithT(t).Expect(d.Err).To(ContainSubstring("not an http:// or https:// URL"))
	})
}

func TestCacheKeepsPassAndFailForTTL(t *testing.T) {
	g := NewWithT(t)
	var asked requests
	srv := serve(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.count(r.URL.Path)
		if r.URL.Path != "/models/fraud.tar.gz" {
			http.NotFound(w, r)
		}
	}))
	clk := newClock()
	p := New(Options{Client: srv.Client(), TTL: 10 * time.Minute, Now: clk.Now})
	found, missing := srv.URL+"/models/fraud.tar.gz", srv.URL+"/models/missing.tar.gz"

	expectFinding(g, p.Artifact(context.Background(), found), pass)
	expectFinding(g, p.Artifact(context.Background(), missing), fail)
	clk.Advance(10*time.Minute - time.Second)
	expectFinding(g, p.Artifact(context.Background(), found), pass)
	expectFinding(g, p.Artifact(context.Background(), missing), fail)
	g.Expect(asked.of("/models/fraud.tar.gz")).To(Equal(1), "a Pass is not asked again within the TTL")
	g.Expect(asked.of("/models/missing.tar.gz")).To(Equal(1), "a Fail is not asked again within the TTL")

	clk.Advance(time.Second)
	expectFinding(g, p.Artifact(context.Background(), found), pass)
	expectFinding(g, p.Artifact(context.Background(), missing), fail)
	g.Expect(asked.of("/models/fraud.tar.gz")).To(Equal(2), "asked again after the TTL")
	g.Expect(asked.of("/models/missing.tar.gz")).To(Equal(2), "asked again after the TTL")
}

func TestCacheRetriesUnknownWithBackoff(t *testing.T) {
	g := NewWithT(t)
	var asked atomic.Int32
	var healthy atomic.Bool
	srv := serve(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	clk := newClock()
	p := New(Options{Client: srv.Client(), Now: clk.Now})
	uri := srv.URL + "/models/fraud.tar.gz"
	probe := func() *checklist.Finding { return p.Artifact(context.Background(), uri) }

	expectFinding(g, probe(), unknown, "HTTP 503")
	g.Expect(asked.Load()).To(BeEquivalentTo(1))

	// Each Unknown in a row is kept twice as long: 1s, 2s, 4s.
	asks := int32(1)
	for _, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		clk.Advance(wait - time.Millisecond)
		expectFinding(g, probe(), unknown, "HTTP 503")
		g.Expect(asked.Load()).To(Equal(asks), "not asked again within the backoff of %s", wait)
		clk.Advance(time.Millisecond)
		asks++
		expectFinding(g, probe(), unknown, "HTTP 503")
		g.Expect(asked.Load()).To(Equal(asks), "asked again after the backoff of %s", wait)
	}

	// Once it answers, the Pass is kept for the TTL, and the backoff starts over.
	healthy.Store(true)
	clk.Advance(8 * time.Second)
	expectFinding(g, probe(), pass)
	clk.Advance(DefaultTTL - time.Second)
	expectFinding(g, probe(), pass)
	g.Expect(asked.Load()).To(Equal(asks + 1))

	healthy.Store(false)
	clk.Advance(time.Second)
	expectFinding(g, probe(), unknown, "HTTP 503")
	clk.Advance(time.Second)
	expectFinding(g, probe(), unknown, "HTTP 503")
	g.Expect(asked.Load()).To(Equal(asks+3), "after a Pass the first backoff is 1s again")
}

func TestPendingRegistrationIsAskedAgainSoon(t *testing.T) {
	g := NewWithT(t)
	var asked requests
	srv := mlflow(t, &asked)
	clk := newClock()
	p := New(Options{Client: srv.Client(), Now: clk.Now})
	ref := servingv1alpha1.ModelRegistryRef{URL: servingv1alpha1.URL(srv.URL), Version: "2"}

	expectFinding(g, p.Registry(context.Background(), ref, "fraud-scorer"), fail, "not ready yet: PENDING_REGISTRATION")
	clk.Advance(time.Second)
	expectFinding(g, p.Registry(context.Background(), ref, "fraud-scorer"), fail, "not ready yet: PENDING_REGISTRATION")
	g.Expect(asked.total()).To(Equal(2), "a registration in progress is asked again after a backoff, not after the TTL")
}

func TestBackoffIsCapped(t *testing.T) {
	g := NewWithT(t)
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	for i, d := range want {
		g.Expect(backoff(i+1)).To(Equal(d), "backoff after %d Unknowns in a row", i+1)
	}
	g.Expect(backoff(1000)).To(Equal(time.Minute))
}

func TestCacheIsBounded(t *testing.T) {
	g := NewWithT(t)
	var asked requests
	srv := serve(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { asked.count(r.URL.Path) }))
	p := New(Options{Client: srv.Client(), MaxEntries: 2})
	for _, name := range []string{"a", "b", "c", "b", "c"} {
		expectFinding(g, p.Artifact(context.Background(), srv.URL+"/"+name), pass)
	}
	g.Expect(asked.total()).To(Equal(3), "b and c are still cached")
	expectFinding(g, p.Artifact(context.Background(), srv.URL+"/a"), pass)
	g.Expect(asked.of("/a")).To(Equal(2), "a, the oldest, was evicted when c came")
}

func TestCacheKeysAreTheExactProbe(t *testing.T) {
	g := NewWithT(t)
	var asked requests
	srv := mlflow(t, &asked)
	p := New(Options{Client: srv.Client()})
	ref := servingv1alpha1.ModelRegistryRef{URL: servingv1alpha1.URL(srv.URL), Version: "1"}

	expectFinding(g, p.Registry(context.Background(), ref, "fraud-scorer"), pass)
	expectFinding(g, p.Registry(context.Background(), ref, "fraud-scorer"), pass)
	ref.Version = "4"
	expectFinding(g, p.Registry(context.Background(), ref, "fraud-scorer"), fail)
	expectFinding(g, p.Registry(context.Background(), ref, "churn"), fail)
	g.Expect(asked.total()).To(Equal(3), "another version or model is another probe")

	// A document and an artifact at the same URL are different probes too.
	doc := srv.URL + "/api/2.0/mlflow/model-versions/get?name=fraud-scorer&version=1"
	g.Expect(p.Document(context.Background(), doc).Body).To(ContainSubstring("READY"))
	g.Expect(asked.total()).To(Equal(4))
}

func TestConcurrentCallersShareOneRequest(t *testing.T) {
	g := NewWithT(t)
	srv, _, asked, let := hangingServer(t, always)
	// A clock that moves an hour at every read: nothing cached is ever fresh,
	// so only the probe in flight can spare the far end the other requests.
	clk := newClock()
	clk.step = time.Hour
	p := New(Options{Client: srv.Client(), Now: clk.Now})
	uri := srv.URL + "/models/fraud.tar.gz"

	const callers = 10
	results := make([]*checklist.Finding, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { results[i] = p.Artifact(context.Background(), uri) })
	}
	// Every caller reads the clock once, when it looks in the cache, under the
	// lock with which it then joins the probe in flight.
	g.Eventually(clk.Reads).Should(BeNumerically(">=", callers))
	g.Eventually(asked.Load).Should(BeEquivalentTo(1))
	let()
	wg.Wait()

	g.Expect(asked.Load()).To(BeEquivalentTo(1), "ten callers, one request")
	for _, f := range results {
		expectFinding(g, f, pass, "Artifact found at "+uri)
	}
}

func TestCallerThatGivesUpDoesNotSpoilTheProbe(t *testing.T) {
	g := NewWithT(t)
	// The first request hangs until the test ends.
	srv, arrived, asked, _ := hangingServer(t, func(n int32) bool { return n == 1 })
	p := New(Options{Client: srv.Client(), Timeout: 200 * time.Millisecond})
	uri := srv.URL + "/models/fraud.tar.gz"

	t.Run("cancelled before asking", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		expectFinding(NewWithT(t), p.Artifact(ctx, uri), unknown, "cancelled")
		NewWithT(t).Expect(asked.Load()).To(BeZero(), "a cancelled caller starts no probe")
	})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *checklist.Finding, 1)
	go func() { done <- p.Artifact(ctx, uri) }()
	<-arrived
	cancel()
	var f *checklist.Finding
	g.Eventually(done).Should(Receive(&f))
	expectFinding(g, f, unknown, "cancelled before it finished")

	// The probe the caller gave up on times out by itself, and its Unknown
	// is what the next caller gets, without a new request, within the backoff.
	g.Eventually(func() string { return p.Artifact(context.Background(), uri).Message }).
		Should(ContainSubstring("no answer within 200ms"))
	g.Expect(asked.Load()).To(BeEquivalentTo(1))
}
