package dataplane

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func modelPod(change ...func(*corev1.Pod)) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "scorer-v1-0-0-abc", Namespace: "ml", UID: "uid-1",
			Labels: map[string]string{"app.kubernetes.io/name": "scorer", "app.kubernetes.io/managed-by": "modelgate"}},
		Spec: corev1.PodSpec{NodeName: "node-000001", Containers: []corev1.Container{{
			Name:  "server",
			Image: "registry.example/ml/model-server@sha256:3f1e",
			Args:  []string{"--latency=20ms"},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}},
			Env: []corev1.EnvVar{
				{Name: "MODEL_VERSION", Value: "1.0.0"},
				{Name: "MODEL_SERVER_ERROR_RATIO", Value: "0.2"},
			},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("http")}}},
		}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.1.2.7", HostIP: "192.0.2.2"},
	}
	for _, c := range change {
		c(pod)
	}
	return pod
}

func TestPlan(t *testing.T) {
	// The plan of modelPod as it is: the sample's shape, API and metrics ports,
	// env, a probe on the http port. The pod's IP is 10.1.2.7; its process
	// listens on the loopback twin.
	base := spec{
		UID: "uid-1", Pod: types.NamespacedName{Namespace: "ml", Name: "scorer-v1-0-0-abc"}, Container: "server", ModelDeployment: "scorer",
		Args:    []string{"--latency=20ms", "--address=127.1.2.7:8080", "--metrics-address=127.1.2.7:9090"},
		Env:     []string{"MODEL_VERSION=1.0.0", "MODEL_SERVER_ERROR_RATIO=0.2"},
		Version: "1.0.0", PodIP: "10.1.2.7", Address: "127.1.2.7:8080", MetricsAddress: "127.1.2.7:9090",
		Probe: "http://127.1.2.7:8080/readyz", FailureThreshold: 3, PeriodSeconds: 10,
	}
	tests := []struct {
		name    string
		change  func(*corev1.Pod)
		want    func(*spec)
		wantErr string
	}{
		{name: "the sample's shape", want: func(*spec) {}},
		{name: "no ports: the model server's default, Ready without a probe", change: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = nil
			p.Spec.Containers[0].ReadinessProbe = nil
		}, want: func(s *spec) {
			s.Args = []string{"--latency=20ms", "--address=127.1.2.7:8080"}
			s.MetricsAddress, s.Probe = "", ""
		}},
		{name: "an unnamed port and a probe by number", change: func(p *corev1.Pod) {
			c := &p.Spec.Containers[0]
			c.Ports = []corev1.ContainerPort{{ContainerPort: 7000}}
			c.ReadinessProbe.HTTPGet.Port = intstr.FromInt32(7000)
			c.ReadinessProbe.PeriodSeconds, c.ReadinessProbe.FailureThreshold = 2, 1
		}, want: func(s *spec) {
			s.Args = []string{"--latency=20ms", "--address=127.1.2.7:7000"}
			s.Address, s.MetricsAddress, s.Probe = "127.1.2.7:7000", "", "http://127.1.2.7:7000/readyz"
			s.PeriodSeconds, s.FailureThreshold = 2, 1
		}},
		{name: "the model server behind a sidecar", change: func(p *corev1.Pod) {
			p.Spec.Containers = append([]corev1.Container{{Name: "proxy", Image: "envoyproxy/envoy:v1"}}, p.Spec.Containers...)
		}, want: func(*spec) {}},
		{name: "downward API fields resolved, Secrets skipped", change: func(p *corev1.Pod) {
			c := &p.Spec.Containers[0]
			c.Env = append(c.Env,
				corev1.EnvVar{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				corev1.EnvVar{Name: "IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
				corev1.EnvVar{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app.kubernetes.io/name']"}}},
				corev1.EnvVar{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "t"}}},
			)
			c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
		}, want: func(s *spec) {
			s.Env = append(s.Env, "POD=scorer-v1-0-0-abc", "IP=10.1.2.7", "APP=scorer")
			s.Skipped = []string{"TOKEN", "envFrom configMap cfg"}
		}},
		{name: "a probe on a port the container lacks", change: func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe.HTTPGet.Port = intstr.FromString("admin")
		}, wantErr: `port "admin" is not a port of container server`},
		{name: "an exec probe the data plane cannot run", change: func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
		}, wantErr: "only runs HTTP probes"},
		{name: "no address yet", change: func(p *corev1.Pod) { p.Status.PodIP = "" }, wantErr: "not a model-server pod with an IP"},
		{name: "an IPv6 pod", change: func(p *corev1.Pod) { p.Status.PodIP = "fd00::7" }, wantErr: `pod IP "fd00::7" is not IPv4`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := modelPod()
			if tt.change != nil {
				tt.change(pod)
			}
			got, err := plan(pod)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := base
			want.Args, want.Env = slices.Clone(base.Args), slices.Clone(base.Env)
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("plan:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLocalIP(t *testing.T) {
	for in, want := range map[string]string{"10.1.2.7": "127.1.2.7", "10.42.0.255": "127.42.0.255", "127.1.1.1": "127.1.1.1", "192.0.2.9": "127.0.2.9"} {
		if got, err := LocalIP(in); err != nil || got != want {
			t.Errorf("LocalIP(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fd00::1", "pod"} {
		if _, err := LocalIP(bad); err == nil {
			t.Errorf("LocalIP(%q) succeeded", bad)
		}
	}
}

func TestRunnable(t *testing.T) {
	now := metav1.Now()
	tests := []struct {
		name   string
		change func(*corev1.Pod)
		want   bool
	}{
		{name: "running with an IP", want: true},
		{name: "pending", change: func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }},
		{name: "no IP yet", change: func(p *corev1.Pod) { p.Status.PodIP = "" }},
		{name: "being deleted", change: func(p *corev1.Pod) { p.DeletionTimestamp = &now }},
		{name: "another server", change: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "registry.example/ml/server:1.0" }},
	}
	for _, tt := range tests {
		pod := modelPod()
		if tt.change != nil {
			tt.change(pod)
		}
		if got := runnable(pod); got != tt.want {
			t.Errorf("%s: runnable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestImagePattern(t *testing.T) {
	for image, want := range map[string]bool{
		"model-server":     true,
		"model-server:dev": true,
		"registry.example/ml/model-server@sha256:3f1": true,
		"localhost:5000/model-server:2.3.0":           true,
		"registry.example/ml/server:latest":           false,
		"registry.example/ml/my-model-server:1":       false,
		"registry.example/model-server/ranker:1":      false,
		"model-server-proxy:1":                        false,
	} {
		if got := imageRE.MatchString(image); got != want {
			t.Errorf("%s: match = %v, want %v", image, got, want)
		}
	}
}

// kwok's stages leave exactly the pods the data plane runs not Ready: both
// must use the same expression.
func TestStagesUseTheImagePattern(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "kwok", "stages.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := `test("` + ImagePattern + `")`
	if n := strings.Count(string(b), want); n != 2 {
		t.Errorf("hack/kwok/stages.yaml holds %s %d times, want 2 (pod-ready and pod-ready-data-plane)", want, n)
	}
}

func TestApplyState(t *testing.T) {
	then := metav1.NewTime(time.Unix(100, 0))
	now := metav1.NewTime(time.Unix(200, 0))
	kwoked := func() *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: then},
				{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: ReasonProcessNotReady, LastTransitionTime: then},
				{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: ReasonProcessNotReady, LastTransitionTime: then},
			},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "proxy"}, {Name: "server"}},
		}}
	}
	tests := []struct {
		name        string
		st          state
		before      func(*corev1.Pod)
		wantChanged bool
		wantReady   corev1.ConditionStatus
		wantTime    metav1.Time
		wantReason  string
		wantRestart int32
	}{
		{name: "ready", st: state{Ready: true}, wantChanged: true, wantReady: corev1.ConditionTrue, wantTime: now},
		{name: "not ready with a new reason keeps the transition time", st: state{Reason: ReasonProcessExited, Message: "exit 1", Restarts: 2},
			wantChanged: true, wantReady: corev1.ConditionFalse, wantTime: then, wantReason: ReasonProcessExited, wantRestart: 2},
		{name: "already so", st: state{Reason: ReasonProcessNotReady}, wantReady: corev1.ConditionFalse, wantTime: then, wantReason: ReasonProcessNotReady},
		{name: "a pod without the condition gets it", st: state{Ready: true}, before: func(p *corev1.Pod) { p.Status.Conditions = nil },
			wantChanged: true, wantReady: corev1.ConditionTrue, wantTime: now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := kwoked()
			if tt.before != nil {
				tt.before(pod)
			}
			if changed := applyState(pod, "server", tt.st, now); changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			for _, c := range pod.Status.Conditions {
				if c.Type != corev1.PodReady && c.Type != corev1.ContainersReady {
					continue
				}
				if c.Status != tt.wantReady || !c.LastTransitionTime.Equal(&tt.wantTime) || c.Reason != tt.wantReason {
					t.Errorf("%s: %s since %s (%s), want %s since %s (%s)", c.Type, c.Status, c.LastTransitionTime, c.Reason, tt.wantReady, tt.wantTime, tt.wantReason)
				}
			}
			for _, cs := range pod.Status.ContainerStatuses {
				if cs.Ready != tt.st.Ready {
					t.Errorf("container %s ready = %v, want %v", cs.Name, cs.Ready, tt.st.Ready)
				}
			}
			if got := pod.Status.ContainerStatuses[1].RestartCount; got != tt.wantRestart {
				t.Errorf("server restarts = %d, want %d", got, tt.wantRestart)
			}
		})
	}
}
