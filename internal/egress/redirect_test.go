package egress

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// recorder serves 200 and records the Authorization header it was sent.
type recorder struct {
	auth atomic.Value
	hits atomic.Int64
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.hits.Add(1)
	rc.auth.Store(r.Header.Get("Authorization"))
}

func redirectTo(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusFound)
	})
}

// bearer adds a token below the client, as the Prometheus client does.
type bearer struct{ next http.RoundTripper }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer s3cret")
	return b.next.RoundTrip(r)
}

func TestRedirects(t *testing.T) {
	other := &recorder{}
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()
	same := &recorder{}
	mux := http.NewServeMux()
	mux.Handle("/to-other", redirectTo(otherSrv.URL+"/x"))
	mux.Handle("/to-same", redirectTo("/final"))
	mux.Handle("/final", same)
	mux.Handle("/loop", redirectTo("/loop"))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	plain := &recorder{}
	plainSrv := httptest.NewServer(plain)
	defer plainSrv.Close()
	tlsSrv := httptest.NewTLSServer(redirectTo(plainSrv.URL + "/downgraded"))
	defer tlsSrv.Close()

	p := New()
	tests := []struct {
		name string
		// client builds the client under test around the policy's pieces.
		client   func() *http.Client
		url      string
		wantErr  error
		hit      *recorder
		wantAuth string
	}{
		{
			name:   "header credential not re-sent to another host",
			client: func() *http.Client { return p.Client(0) },
			url:    srv.URL + "/to-other", hit: other, wantAuth: "",
		},
		{
			name:   "header credential kept on the same host",
			client: func() *http.Client { return p.Client(0) },
			url:    srv.URL + "/to-same", hit: same, wantAuth: "Bearer s3cret",
		},
		{
			name: "credential added below the client not re-sent to another host",
			client: func() *http.Client {
				return &http.Client{Transport: bearer{next: p.RoundTripper()}}
			},
			url: srv.URL + "/to-other", hit: other, wantAuth: "",
		},
		{
			name: "credential added below the client kept on the same host",
			client: func() *http.Client {
				return &http.Client{Transport: bearer{next: p.RoundTripper()}}
			},
			url: srv.URL + "/to-same", hit: same, wantAuth: "Bearer s3cret",
		},
		{
			name:    "redirect loop stopped at the cap",
			client:  func() *http.Client { return p.Client(0) },
			url:     srv.URL + "/loop",
			wantErr: ErrTooManyRedirects,
		},
		{
			name:    "redirect loop stopped at the cap below the client",
			client:  func() *http.Client { return &http.Client{Transport: bearer{next: p.RoundTripper()}} },
			url:     srv.URL + "/loop",
			wantErr: ErrTooManyRedirects,
		},
		{
			name: "https to http refused",
			client: func() *http.Client {
				c := p.Client(0)
				tr := tlsSrv.Client().Transport.(*http.Transport).Clone()
				tr.DialContext = p.Dialer().DialContext
				c.Transport = Guard(tr)
				return c
			},
			url:     tlsSrv.URL + "/",
			wantErr: ErrRedirectDowngrade,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.hit != nil {
				tt.hit.auth.Store("unset")
			}
			req, err := http.NewRequest(http.MethodGet, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer s3cret")
			resp, err := tt.client().Do(req)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if got := tt.hit.auth.Load(); got != tt.wantAuth {
				t.Errorf("Authorization at the final host = %q, want %q", got, tt.wantAuth)
			}
		})
	}
	if plain.hits.Load() != 0 {
		t.Errorf("the http server was reached %d times after a redirect from https", plain.hits.Load())
	}
}
