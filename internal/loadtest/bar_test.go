package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// standInEnv, set, makes the test binary a stand-in model server: the bar
// tests measure the load tester's own CPU, so the server runs in another
// process.
const standInEnv = "LOADTEST_STAND_IN_SERVER"

// targetEnv aims the bar tests at a running server instead of the stand-in,
// such as the sample model server: LOADTEST_TARGET=http://127.0.0.1:8080
// (with LOADTEST_PATH and LOADTEST_BODY for its /predict).
const targetEnv = "LOADTEST_TARGET"

func TestMain(m *testing.M) {
	if os.Getenv(standInEnv) != "" {
		serveStandIn()
		return
	}
	os.Exit(m.Run())
}

// serveStandIn answers /predict on a loopback port it prints, until its
// stdin closes.
func serveStandIn() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("http://%s\n", l.Addr())
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, prediction)
	})}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = srv.Close()
	}()
	_ = srv.Serve(l)
}

// benchTarget returns the server the bar tests aim at and the path and body
// of its requests.
func benchTarget(tb testing.TB) (url, path, body string) {
	if u := os.Getenv(targetEnv); u != "" {
		return u, os.Getenv("LOADTEST_PATH"), os.Getenv("LOADTEST_BODY")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), standInEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("the stand-in server did not say where it listens: %v", err)
	}
	return strings.TrimSpace(line), "/predict", `{"amount": 12.5}`
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs a load test at rps for d and returns its status and the share
// of one core the process used meanwhile, in percent.
func measure(tb testing.TB, target, path, body string, rps int32, d time.Duration) (*servingv1alpha1.LoadTestStatus, float64) {
	spec := servingv1alpha1.LoadTestSpec{RPS: rps, Duration: &metav1.Duration{Duration: d}, Path: path, Body: body, MinAchievedPercent: "0"}
	cpu, start := cpuTime(tb), time.Now()
	st := Load(context.Background(), nil, []string{target}, spec, "bar", clk, Limits{})
	return st, 100 * float64(cpuTime(tb)-cpu) / float64(time.Since(start))
}

// The bar (the load tester reaches 500 RPS on this 2-core machine,
// with its own overhead under 10% of one core at 100 RPS) is a pair of
// benchmarks: a rate and a CPU share are figures a busy machine moves, kept
// in bars/bench.txt by make bench, not assertions. Run them alone with
// go test -run '^$' -bench Load -benchtime 500x ./internal/loadtest/.

// BenchmarkLoad500RPS sends b.N requests at 500 RPS and reports the rate
// achieved and the load tester's CPU per request, as the share of one core
// it would use at 100 RPS.
func BenchmarkLoad500RPS(b *testing.B) {
	target, path, body := benchTarget(b)
	d := time.Duration(b.N) * time.Second / 500
	b.ResetTimer()
	st, overhead := measure(b, target, path, body, 500, d)
	b.StopTimer()
	var achieved float64
	_, _ = fmt.Sscan(st.AchievedRPS, &achieved)
	b.ReportMetric(achieved, "achieved-rps")
	b.ReportMetric(overhead/5, "core-%-at-100rps")
	if st.Verdict != servingv1alpha1.VerdictPass {
		b.Fatalf("%s: %s", st.Verdict, st.Message)
	}
}

// BenchmarkLoad100RPSOverhead sends b.N requests at 100 RPS and reports the
// share of one core the load tester's process used meanwhile (the bar is
// 10%), and the rate achieved.
func BenchmarkLoad100RPSOverhead(b *testing.B) {
	target, path, body := benchTarget(b)
	measure(b, target, path, body, 50, 100*time.Millisecond) // warm up: connections, the stand-in
	d := time.Duration(b.N) * time.Second / 100
	b.ResetTimer()
	st, overhead := measure(b, target, path, body, 100, d)
	b.StopTimer()
	var achieved float64
	_, _ = fmt.Sscan(st.AchievedRPS, &achieved)
	b.ReportMetric(achieved, "achieved-rps")
	b.ReportMetric(overhead, "core-%")
	if st.Verdict != servingv1alpha1.VerdictPass {
		b.Fatalf("%s: %s", st.Verdict, st.Message)
	}
}
