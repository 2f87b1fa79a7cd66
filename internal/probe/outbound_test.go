package probe

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// banner listens on a port that answers every connection with what a
// non-HTTP service would say, and closes it.
func banner(t *testing.T, text string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(text))
			_ = c.Close()
		}
	}()
	return l.Addr().String()
}

// TestProbeErrorsAreNotReadBack: what answers at an address a spec names
// (a service's banner, an error page, a refused port) is told in a few
// fixed words, so probes cannot scan the cluster and read the answers back.
func TestProbeErrorsAreNotReadBack(t *testing.T) {
	const secret = "SSH-2.0-OpenSSH_9.6 bastion.internal.corp"
	svc := banner(t, secret+"\r\n")
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		return addr
	}()
	tests := []struct {
		name  string
		probe func(p *Prober) string
		words string
	}{
		{"https artifact at a non-TLS service", func(p *Prober) string {
			return p.Artifact(context.Background(), "https://"+svc+"/model.bin").Message
		}, "TLS handshake failed"},
		{"http registry at a non-HTTP service", func(p *Prober) string {
			ref := servingv1alpha1.ModelRegistryRef{URL: servingv1alpha1.URL("http://" + svc), Version: "1"}
			return p.Registry(context.Background(), ref, "m").Message
		}, "could not be reached"},
		{"registry at a closed port", func(p *Prober) string {
			ref := servingv1alpha1.ModelRegistryRef{URL: servingv1alpha1.URL("http://" + closed), Version: "1"}
			return p.Registry(context.Background(), ref, "m").Message
		}, "connection refused"},
		{"model card at a non-HTTP service", func(p *Prober) string {
			return p.Document(context.Background(), "http://"+svc+"/card.md").Err
		}, svc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			msg := tt.probe(New(Options{}))
			g.Expect(msg).To(ContainSubstring(tt.words))
			for _, w := range []string{"SSH", "OpenSSH", "bastion", "malformed", "dial tcp", "read tcp"} {
				g.Expect(msg).NotTo(ContainSubstring(w), "the far end's text or Go's error text is not read back")
			}
		})
	}
}

// TestProbeRedirectsAreChecked: an https artifact that redirects to http is
// not followed there, and a redirect loop stops after a few hops.
func TestProbeRedirectsAreChecked(t *testing.T) {
	g := NewWithT(t)
	var plainHits atomic.Int32
	plain := serve(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { plainHits.Add(1) }))
	var loops atomic.Int32
	srv := serve(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/down":
			http.Redirect(w, r, plain.URL+"/model.bin", http.StatusFound)
		default:
			loops.Add(1)
			http.Redirect(w, r, "/loop"+strings.Repeat("x", int(loops.Load())), http.StatusFound)
		}
	}))
	p := New(Options{Client: srv.Client()})

	f := p.Artifact(context.Background(), srv.URL+"/down")
	expectFinding(g, f, unknown, "redirect from https to http refused")
	g.Expect(plainHits.Load()).To(BeZero(), "the http server is never asked")

	f = p.Artifact(context.Background(), srv.URL+"/loop")
	expectFinding(g, f, unknown, "too many redirects")
	g.Expect(loops.Load()).To(BeNumerically("<=", 4), "at most 3 redirects are followed")
}
