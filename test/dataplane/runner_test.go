package dataplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// modelServer is the binary under test: $MODEL_SERVER as the Makefile sets
// it, or one built for this test run.
var modelServer string

func TestMain(m *testing.M) {
	code := func() int {
		modelServer = os.Getenv("MODEL_SERVER")
		if modelServer == "" {
			dir, err := os.MkdirTemp("", "model-server-")
			if err != nil {
				panic(err)
			}
			defer os.RemoveAll(dir)
			modelServer = filepath.Join(dir, "model-server")
			build := exec.Command("go", "build", "-o", modelServer, "../../cmd/model-server")
			if out, err := build.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "building cmd/model-server: %v\n%s", err, out)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// podAddr picks a pod IP of its own, 10.x.y.z, and a port free on its
// loopback twin, where the data plane will run the pod's process.
func podAddr(t *testing.T, last int) (podIP string, port int32) {
	t.Helper()
	a, b := 100+os.Getpid()%100, os.Getpid()/100%250
	podIP = fmt.Sprintf("10.%d.%d.%d", a, b, last)
	l, err := net.Listen("tcp", fmt.Sprintf("127.%d.%d.%d:0", a, b, last))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return podIP, int32(l.Addr().(*net.TCPAddr).Port)
}

// eventually polls cond every 20ms for up to 20 s.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getBody(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func readyOf(pod *corev1.Pod) corev1.PodCondition {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c
		}
	}
	return corev1.PodCondition{}
}

// statusLog records every Ready status written to a fake clientset, in order.
type statusLog struct {
	mu      sync.Mutex
	written []string
}

func (l *statusLog) watch(client *fake.Clientset) {
	client.PrependReactor("update", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if u, ok := a.(k8stesting.UpdateAction); ok && u.GetSubresource() == "status" {
			c := readyOf(u.GetObject().(*corev1.Pod))
			l.mu.Lock()
			l.written = append(l.written, string(c.Status)+":"+c.Reason)
			l.mu.Unlock()
		}
		return false, nil, nil
	})
}

func (l *statusLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.written)
}

// podReady waits for a pod's Ready condition to be True, with want restarts.
func podReady(t *testing.T, client *fake.Clientset, name string, restarts int32) {
	t.Helper()
	eventually(t, fmt.Sprintf("pod %s Ready after %d restarts", name, restarts), func() error {
		p, err := client.CoreV1().Pods("ml").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if c := readyOf(p); c.Status != corev1.ConditionTrue {
			return fmt.Errorf("ready %s (%s: %s)", c.Status, c.Reason, c.Message)
		}
		if n := p.Status.ContainerStatuses[0].RestartCount; n != restarts {
			return fmt.Errorf("%d restarts", n)
		}
		return nil
	})
}

// predictAt posts a payment to a model server and returns the answer's version.
func predictAt(t *testing.T, client *http.Client, base string) string {
	t.Helper()
	resp, err := client.Post(base+"/predict", "application/json", strings.NewReader(
		`{"features": {"amount": 42.5, "hour": 14, "merchant_risk": 0.2, "distance_km": 3, "transactions_24h": 2, "card_present": 1, "foreign": 0, "account_age_days": 900}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct{ Version string }
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("predict at %s: %d %v", base, resp.StatusCode, err)
	}
	return answer.Version
}

// A pod is run as a process on its IP, made Ready when its probe answers,
// restarted when its process dies, and stopped with its pod.
func TestRunnerRunsAPodsProcessForItsLifetime(t *testing.T) {
	ip, port := podAddr(t, 10)
	pod := modelPod(func(p *corev1.Pod) {
		c := &p.Spec.Containers[0]
		c.Args = []string{"--slow-start=300ms"}
		c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: port}}
		p.Status.PodIP = ip
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "server"}}
	})
	other := modelPod(func(p *corev1.Pod) {
		p.Name, p.UID = "ranker", "uid-2"
		p.Spec.Containers[0].Image = "registry.example/ml/ranker:1.0"
	})
	client := fake.NewClientset(pod, other)
	var statuses statusLog
	statuses.watch(client)
	logDir := t.TempDir()
	r, err := Start(context.Background(), client, Options{ModelServer: modelServer, LogDir: logDir,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	// The process listens on the loopback twin of the pod's IP.
	local, _ := LocalIP(ip)
	addr := fmt.Sprintf("http://%s:%d", local, port)

	podReady(t, client, pod.Name, 0)
	if w := statuses.get(); len(w) < 2 || w[0] != "False:"+ReasonProcessNotReady || w[len(w)-1] != "True:" {
		t.Errorf("Ready written %v, want False:%s while the model loads, then True:", w, ReasonProcessNotReady)
	}
	if v := predictAt(t, http.DefaultClient, addr); v != "1.0.0" {
		t.Fatalf("version %q, want 1.0.0 from the pod's env", v)
	}
	procs := r.Processes()
	if len(procs) != 1 || procs[0].Pod.Name != pod.Name || !procs[0].Ready || procs[0].PodIP != ip {
		t.Fatalf("processes %+v, want the model-server pod alone, ready", procs)
	}

	if err := syscall.Kill(procs[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	podReady(t, client, pod.Name, 1)
	restarted := r.Processes()
	if len(restarted) != 1 || restarted[0].PID == procs[0].PID || restarted[0].Restarts != 1 {
		t.Fatalf("processes %+v after a kill, want one restarted", restarted)
	}

	if err := client.CoreV1().Pods("ml").Delete(context.Background(), pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted pod's process ends", func() error {
		if procs := r.Processes(); len(procs) != 0 {
			return fmt.Errorf("processes %+v", procs)
		}
		if _, _, err := getBody(addr + "/healthz"); err == nil {
			return errors.New("its address still answers")
		}
		return nil
	})
	if alive(restarted[0].PID) {
		t.Errorf("process %d outlived its pod", restarted[0].PID)
	}
	if log, err := os.ReadFile(filepath.Join(logDir, "ml_"+pod.Name+".log")); err != nil || !strings.Contains(string(log), "Serving the model") {
		t.Errorf("the pod's log lacks the server's start: %v\n%s", err, log)
	}
}

// readTargets reads a file_sd file.
func readTargets(t *testing.T, path string) []targetGroup {
	t.Helper()
	var groups []targetGroup
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &groups)
	}
	if err != nil {
		t.Fatalf("targets file %s: %v\n%s", path, err, b)
	}
	return groups
}

func TestStopEndsEveryProcessAndMarksPodsNotReady(t *testing.T) {
	var pods []runtime.Object
	var addrs []string
	for i := range 3 {
		ip, port := podAddr(t, 220+i)
		local, _ := LocalIP(ip)
		pods = append(pods, modelPod(func(p *corev1.Pod) {
			p.Name, p.UID = fmt.Sprintf("scorer-%d", i), types.UID(fmt.Sprintf("uid-stop-%d", i))
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: port}}
			p.Spec.Containers[0].ReadinessProbe = nil
			p.Status.PodIP = ip
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		}))
		addrs = append(addrs, fmt.Sprintf("http://%s:%d", local, port))
	}
	client := fake.NewClientset(pods...)
	targets := filepath.Join(t.TempDir(), "targets.json")
	r, err := Start(context.Background(), client, Options{ModelServer: modelServer, LogDir: t.TempDir(), TargetsFile: targets})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "three processes answer", func() error {
		for _, a := range addrs {
			if code, _, err := getBody(a + "/healthz"); err != nil || code != 200 {
				return fmt.Errorf("%s: %d %v", a, code, err)
			}
		}
		return nil
	})
	groups := readTargets(t, targets)
	if len(groups) != 3 {
		t.Fatalf("targets %+v, want three", groups)
	}
	for i, g := range groups {
		want := map[string]string{"namespace": "ml", "pod": fmt.Sprintf("scorer-%d", i), "modeldeployment": "scorer"}
		if !reflect.DeepEqual(g.Labels, want) || "http://"+g.Targets[0] != addrs[i] {
			t.Errorf("target %d: %+v, want %s labelled %v", i, g, addrs[i], want)
		}
	}
	var pids []int
	for _, p := range r.Processes() {
		pids = append(pids, p.PID)
	}
	r.Stop()
	r.Stop() // idempotent
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d outlived Stop", pid)
		}
	}
	if groups := readTargets(t, targets); len(groups) != 0 {
		t.Errorf("targets after Stop: %+v, want none", groups)
	}
	list, err := client.CoreV1().Pods("ml").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		if c := readyOf(&p); c.Status != corev1.ConditionFalse || c.Reason != ReasonDataPlaneGone {
			t.Errorf("pod %s: Ready %s (%s) after Stop, want False (%s)", p.Name, c.Status, c.Reason, ReasonDataPlaneGone)
		}
	}
}

func TestStartRefusesAMissingBinary(t *testing.T) {
	_, err := Start(context.Background(), fake.NewClientset(), Options{ModelServer: "/nonexistent/model-server", LogDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "run 'make model-server'") {
		t.Fatalf("error %v, want one saying to run make model-server", err)
	}
}

// alive says whether a process exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

// testWriter sends the runner's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
