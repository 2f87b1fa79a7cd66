package dataplane

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/loadtest"
	"github.com/modelgate/modelgate/test/bars"
)

// payment is what the sample model server scores.
const payment = `{"features": {"amount": 42.5, "hour": 14, "merchant_risk": 0.2, "distance_km": 3, "transactions_24h": 2, "card_present": 1, "foreign": 0, "account_age_days": 900}}`

// startSampleServer runs the sample model server with args on a free
// loopback port until the test ends, and returns its base URL once ready.
func startSampleServer(t *testing.T, args ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	cmd := exec.Command(modelServer, append([]string{"--address=" + addr}, args...)...)
	cmd.Env = []string{"MODEL_VERSION=1.0.0"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	eventually(t, "the sample server answers /readyz", func() error {
		code, body, err := getBody(base + "/readyz")
		if err == nil && code != 200 {
			err = fmt.Errorf("%d %s", code, body)
		}
		return err
	})
	return base
}

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func load(t *testing.T, target string, rps int32, d time.Duration) *servingv1alpha1.LoadTestStatus {
	t.Helper()
	st := loadtest.Load(context.Background(), nil, []string{target}, servingv1alpha1.LoadTestSpec{
		RPS: rps, Duration: &metav1.Duration{Duration: d}, Path: "/predict", Body: payment,
		// Bounds no busy machine misses: the figures are what is measured.
		MaxErrorPercent: "1", MaxP99Milliseconds: ptr.To[int32](5000), MinAchievedPercent: "0",
	}, "1.0.0", clock.RealClock{}, loadtest.Limits{})
	if st.Verdict != servingv1alpha1.VerdictPass {
		t.Fatalf("load test at %d RPS: %s: %s", rps, st.Verdict, st.Message)
	}
	return st
}

func ms(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The load tester against the sample server with a known latency: its
// percentiles see the injected 30 ms, and nothing far above it.
func TestLoadTesterSeesInjectedLatency(t *testing.T) {
	target := startSampleServer(t, "--latency=30ms")
	st := load(t, target, 50, 2*time.Second)
	if p50, p99 := ms(t, st.P50Ms), ms(t, st.P99Ms); p50 < 30 || p50 > 60 || p99 < 30 || p99 > 250 {
		t.Fatalf("p50 %v ms and p99 %v ms, want both from 30 ms (the injected latency) to a little above", p50, p99)
	}
	if st.Requests < 95 {
		t.Fatalf("%d requests in 2 s at 50 RPS", st.Requests)
	}
}

// The bar: the rate the load tester reaches when asked for 500 RPS of the
// sample server, and the share of one core it uses at 100 RPS (the issue asks
// for 500 and under 10%), printed and kept in bars/dataplane.txt.
func TestLoadTesterBar(t *testing.T) {
	if testing.Short() {
		t.Skip("measures for 3 s")
	}
	target := startSampleServer(t)
	load(t, target, 50, 200*time.Millisecond) // warm connections
	at500 := load(t, target, 500, time.Second)
	before := cpu()
	at100 := load(t, target, 100, 2*time.Second)
	core := 100 * float64(cpu()-before) / float64(2*time.Second)
	achieved := ms(t, at500.AchievedRPS)
	t.Logf("500 RPS asked: %v achieved (p99 %s ms); at 100 RPS the load tester used %.1f%% of one core", achieved, at500.P99Ms, core)
	bars.Record("dataplane", "LoadTesterAchievedRPSAt500", achieved, "rps")
	bars.Record("dataplane", "LoadTesterCorePercentAt100RPS", core, "%")
	// Figures, not timed assertions: a busy machine must not fail the build.
	// What must hold whatever the load is that both tests passed their bounds.
	_ = at100
}
