package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestReason(t *testing.T) {
	// A closed port: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	_ = l.Close()

	// A server that answers TLS with garbage of its own choosing.
	garbage, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = garbage.Close() }()
	go func() {
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6 internal-bastion.corp\r\n"))
			_ = c.Close()
		}
	}()
	// A server that never answers.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer untrusted.Close()

	get := func(c *http.Client, u string) error {
		resp, err := c.Get(u)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
	tests := []struct {
		name string
		err  func() error
		want string
	}{
		{"nil", func() error { return nil }, ""},
		{"refused", func() error { return get(http.DefaultClient, "http://"+closed+"/") }, "connection refused"},
		{"timeout", func() error {
			return get(&http.Client{Timeout: 50 * time.Millisecond}, hang.URL)
		}, "timeout"},
		{"deadline", func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
			defer cancel()
			<-ctx.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hang.URL, nil)
			_, err := http.DefaultClient.Do(req)
			return err
		}, "timeout"},
		{"cancelled", func() error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hang.URL, nil)
			_, err := http.DefaultClient.Do(req)
			return err
		}, "cancelled"},
		{"untrusted certificate", func() error { return get(http.DefaultClient, untrusted.URL) }, "TLS certificate not trusted"},
		{"not TLS", func() error { return get(http.DefaultClient, "https://"+garbage.Addr().String()+"/") }, "TLS handshake failed"},
		{"DNS", func() error {
			return &url.Error{Op: "Get", URL: "http://x.invalid", Err: &net.OpError{Op: "dial", Net: "tcp",
				Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}}
		}, "DNS lookup failed"},
		{"denied", func() error { return fmt.Errorf("wrapped: %w", &DeniedError{}) }, "address not allowed by the egress policy"},
		{"too many redirects", func() error { return &url.Error{Op: "Get", URL: "x", Err: ErrTooManyRedirects} }, "too many redirects"},
		{"other", func() error { return errors.New("secret internal text") }, "request failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			got := Reason(err)
			if got != tt.want {
				t.Fatalf("Reason(%v) = %q, want %q", err, got, tt.want)
			}
			if strings.Contains(got, "OpenSSH") || strings.Contains(got, "127.0.0.1") {
				t.Errorf("Reason copied the far end's text: %q", got)
			}
		})
	}
}
