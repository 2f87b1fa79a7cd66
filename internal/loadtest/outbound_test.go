package loadtest

import (
	"context"
	"net"
	"testing"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// TestFailuresAreNotReadBack: what answers at an endpoint that does not speak
// HTTP is told in fixed words, not copied into the message.
func TestFailuresAreNotReadBack(t *testing.T) {
	g := NewWithT(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6 bastion.internal.corp\r\n"))
			_ = c.Close()
		}
	}()
	r := Smoke(context.Background(), nil, []string{"http://" + l.Addr().String()},
		servingv1alpha1.SmokeTestSpec{Requests: []servingv1alpha1.SmokeRequest{{Path: "/healthz"}}})
	g.Expect(r.Passed).To(BeFalse())
	g.Expect(r.Message).To(Equal("GET /healthz to " + l.Addr().String() + " failed: request failed"))
}
