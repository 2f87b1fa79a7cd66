package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestCheck(t *testing.T) {
	extra, err := ParsePrefixes("10.96.0.0/12, 192.168.7.7 ,fd12::/16")
	if err != nil {
		t.Fatal(err)
	}
	p := New(extra...)
	tests := []struct {
		addr   string
		denied bool
	}{
		{"169.254.169.254", true},
		{"169.254.0.1", true},
		{"::ffff:169.254.169.254", true}, // IPv4-mapped IPv6
		{"fe80::1", true},
		{"fe80::1%eth0", true}, // a zone does not hide it
		{"fd00:ec2::254", true},
		{"100.100.100.200", true},
		{"192.0.0.192", true},
		{"168.63.129.16", true},
		{"10.96.0.1", true}, // extra range
		{"10.111.255.255", true},
		{"10.112.0.1", false},
		{"192.168.7.7", true}, // extra address
		{"192.168.7.8", false},
		{"fd12::1", true},
		{"fd00:ec2::253", false},
		{"100.100.100.201", false},
		{"127.0.0.1", false},
		{"8.8.8.8", false},
		{"2001:db8::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := p.Check(netip.MustParseAddr(tt.addr))
			var de *DeniedError
			if got := errors.As(err, &de); got != tt.denied {
				t.Errorf("Check(%s) = %v, want denied %v", tt.addr, err, tt.denied)
			}
		})
	}
	if err := p.Check(netip.Addr{}); err == nil {
		t.Error("the zero address must be denied")
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "10.0.0.0/8", want: []string{"10.0.0.0/8"}},
		{in: "10.1.2.3/8", want: []string{"10.0.0.0/8"}}, // masked
		{in: "1.2.3.4, fd00::/8", want: []string{"1.2.3.4/32", "fd00::/8"}},
		{in: "::ffff:1.2.3.4", want: []string{"1.2.3.4/32"}},
		{in: "10.0.0.0/33", wantErr: true},
		{in: "example.com", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePrefixes(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].String() != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// TestDialerChecksResolvedAddress dials names, not addresses: the check runs
// on what the name resolved to, so a name that points at a denied address
// (or is rebound to one) is refused.
func TestDialerChecksResolvedAddress(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())

	allowed := New()
	c, err := allowed.Dialer().DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", port))
	if err != nil {
		t.Fatalf("the default policy must allow loopback: %v", err)
	}
	_ = c.Close()

	denyLoopback := New(netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"))
	_, err = denyLoopback.Dialer().DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", port))
	var de *DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("dialing localhost with loopback denied: err = %v, want a *DeniedError", err)
	}
	if got := Reason(err); got != "address not allowed by the egress policy" {
		t.Errorf("Reason = %q", got)
	}

	// The metadata address is refused before any packet is sent.
	_, err = allowed.Dialer().DialContext(context.Background(), "tcp", "169.254.169.254:80")
	if !errors.As(err, &de) {
		t.Fatalf("dialing the metadata address: err = %v, want a *DeniedError", err)
	}
}

func TestTransportRefusesDeniedURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := New(netip.MustParsePrefix("127.0.0.0/8")).Client(0)
	_, err := c.Get(srv.URL)
	var de *DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a *DeniedError", err)
	}
	resp, err := New().Client(0).Get(srv.URL)
	if err != nil {
		t.Fatalf("the default policy: %v", err)
	}
	_ = resp.Body.Close()
}
