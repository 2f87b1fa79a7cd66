package loadtest

import (
	"context"
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// The manager runs a Tester and stops it with itself.
var _ manager.Runnable = (*Tester)(nil)

func key(name, version string) Key {
	return Key{Namespace: "ml", Name: name, Version: version, SpecHash: "h1"}
}

func TestTesterReportsAPanic(t *testing.T) {
	g := NewWithT(t)
	tr := &Tester{}
	defer tr.Stop()
	k := key("a", "1")
	boom := func(context.Context) Outcome { panic("boom") }
	tr.Ensure(k, boom)
	var out Outcome
	g.Eventually(func() bool { o, done := tr.Ensure(k, boom); out = o; return done }).Should(BeTrue())
	g.Expect(out.Err).To(MatchError("the test panicked: boom"))
	g.Expect(out.Passed()).To(BeFalse())
	g.Expect(out.Message()).To(Equal("the test panicked: boom"))
}

func TestRunSmokeThenLoad(t *testing.T) {
	g := NewWithT(t)
	s := newModelServer(t)
	smoke := &servingv1alpha1.SmokeTestSpec{Requests: []servingv1alpha1.SmokeRequest{predict(field("prediction", `"0"`))}}
	load := ptr.To(loadSpec(20, 200*time.Millisecond, func(l *servingv1alpha1.LoadTestSpec) { l.Path = "/healthz" }))

	out := Run(context.Background(), nil, []string{s.URL}, smoke, load, "2.6.0", clk, Limits{})
	g.Expect(out.Passed()).To(BeTrue(), out.Message())
	g.Expect(out.Message()).To(BeEmpty())
	g.Expect(out.Smoke.Checked).To(Equal(1))
	g.Expect(out.Load.Requests).To(BeEquivalentTo(4))

	smoke.Requests[0].ExpectedStatus = http.StatusAccepted
	out = Run(context.Background(), nil, []string{s.URL}, smoke, load, "2.6.0", clk, Limits{})
	g.Expect(out.Load).To(BeNil(), "no load test after a failed smoke test")
	g.Expect(out.Message()).To(Equal("smoke test failed: POST /predict to " + s.host() + " answered 200, expected 202"))

	out = Run(context.Background(), nil, []string{s.URL}, nil, ptr.To(loadSpec(20, 200*time.Millisecond, func(l *servingv1alpha1.LoadTestSpec) {
		l.Path = "/error"
	})), "2.6.0", clk, Limits{})
	g.Expect(out.Smoke).To(BeNil())
	g.Expect(out.Message()).To(Equal("load test Breach: error percent 100 above maxErrorPercent 1 (4 answered 500)"))
}

func TestSpecHash(t *testing.T) {
	g := NewWithT(t)
	load := loadSpec(20, time.Second)
	h := SpecHash(nil, &load)
	g.Expect(h).To(HaveLen(16))
	g.Expect(SpecHash(nil, &load)).To(Equal(h))
	load.RPS = 21
	g.Expect(SpecHash(nil, &load)).NotTo(Equal(h))
	g.Expect(SpecHash(&servingv1alpha1.SmokeTestSpec{}, nil)).NotTo(Equal(SpecHash(nil, nil)))
	g.Expect(key("a", "1").String()).To(Equal("ml/a@1"))
}

// TestTesterSlotsPerNamespace: a team whose candidates hang holds at most
// its namespace's slots; another namespace's job starts at once beside them,
// and the jobs of all namespaces together stay under the global cap.

func TestSmokeTimeoutIsBounded(t *testing.T) {
	tests := []struct {
		spec *metav1.Duration
		want time.Duration
	}{
		{nil, DefaultSmokeTimeout},
		{&metav1.Duration{}, DefaultSmokeTimeout},
		{&metav1.Duration{Duration: 2 * time.Second}, 2 * time.Second},
		{&metav1.Duration{Duration: time.Hour}, MaxSmokeTimeout},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(smokeTimeout(servingv1alpha1.SmokeTestSpec{Timeout: tt.spec})).To(Equal(tt.want), "%v", tt.spec)
	}
}
