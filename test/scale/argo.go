package main

// -controller=argo: the same phases with the Argo Rollouts controller (built
// from its source by `make bench-scale-argo`) in place of the manager, for
// issue #19's side-by-side figures. Each object is a Rollout with the pod
// template the manager would run, 4 replicas and a canary of one 50% step
// without traffic routing; the update changes its template as a new model
// version would. Argo's objects are handled unstructured: its Go module pins
// another Kubernetes release than this one.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var rolloutGVK = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Rollout"}

// argoCRDs are the CRDs the controller watches (its informers wait for
// all), by their files in the module's manifests/crds.
var argoCRDs = []struct{ file, name string }{
	{"rollout-crd.yaml", "rollouts.argoproj.io"},
	{"experiment-crd.yaml", "experiments.argoproj.io"},
	{"analysis-run-crd.yaml", "analysisruns.argoproj.io"},
	{"analysis-template-crd.yaml", "analysistemplates.argoproj.io"},
	{"cluster-analysis-template-crd.yaml", "clusteranalysistemplates.argoproj.io"},
}

var argo = &target{
	suffix:  "/controller=argo",
	env:     []string{"ARGO_ROLLOUTS", "ARGO_ROLLOUTS_CRDS"},
	install: installArgo,
	start:   startArgo,
	create: func(ctx context.Context, c *cluster, i int) error {
		return c.client.Create(ctx, rollout(i, "1.0.0"))
	},
	update:    updateRollout,
	done:      rolloutsDone,
	workloads: replicaSetsOf,
	// Argo counts its requests itself (client-go's rest_client metrics are
	// not registered in it), by kind, object, verb and status code. A
	// watch counts as one request, as in client-go's count.
	counters: counters{
		requests:        "controller_clientset_k8s_request_total",
		reads:           [][]string{{`verb="Get"`}, {`verb="List"`}, {`verb="Watch"`}},
		deletesNotFound: []string{`verb="Delete"`, `status_code="404"`},
		conflicts:       []string{`status_code="409"`},
		reconciles:      []string{"rollout_reconcile_count"},
	},
}

// installArgo creates Argo's CRDs from its module's manifests/crds
// ($ARGO_ROLLOUTS_CRDS). They are created rather than applied: the Rollout
// CRD is too large for kubectl apply's last-applied annotation.
func installArgo(ctx context.Context, c *cluster) error {
	args := make([]string, 0, 1+2*len(argoCRDs))
	args = append(args, "create")
	for _, crd := range argoCRDs {
		args = append(args, "-f", filepath.Join(os.Getenv("ARGO_ROLLOUTS_CRDS"), crd.file))
	}
	if err := c.kubectl(ctx, args...); err != nil {
		return err
	}
	for _, crd := range argoCRDs {
		if err := c.waitEstablished(ctx, crd.name); err != nil {
			return err
		}
	}
	return nil
}

// startArgo runs the Argo Rollouts controller as its own process, at its
// default workers and client limits (40 QPS, burst 80), without leader
// election (its lease renewals would count as work), its metrics, health and
// pprof servers on free ports. It is ready when its rollout workers start,
// after its informers have synced.
func startArgo(ctx context.Context, c *cluster, logPath string, env ...string) (*manager, error) {
	ports := make([]int, 3)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	args := append([]string{"--kubeconfig=" + c.kubeconfig, "--leader-elect=false",
		fmt.Sprintf("--metricsPort=%d", ports[0]), fmt.Sprintf("--healthzPort=%d", ports[1]),
		fmt.Sprintf("--enable-pprof-address=127.0.0.1:%d", ports[2])}, strings.Fields(*extraArgs)...)
	m := &manager{metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[0]),
		pprofURL: fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile", ports[2]), log: logPath}
	return m, m.launch(ctx, c, os.Getenv("ARGO_ROLLOUTS"), args, env, func() bool {
		resp, err := http.Get(m.metricsURL)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		b, err := os.ReadFile(logPath)
		return err == nil && resp.StatusCode == http.StatusOK && strings.Contains(string(b), "Started rollout workers")
	})
}

// rollout is the i-th Rollout at a version: the ModelDeployment's container
// with the model's name, version and URI in its environment (as the manager
// sets them), 4 replicas, a canary of one 50% step without traffic routing.
func rollout(i int, version string) *unstructured.Unstructured {
	labels := map[string]any{"app.kubernetes.io/name": name(i)}
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": name(i), "namespace": namespace},
		"spec": map[string]any{
			"replicas": int64(replicas),
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec":     map[string]any{"containers": []any{rolloutContainer(i, version)}},
			},
			"strategy": map[string]any{"canary": map[string]any{
				"steps": []any{map[string]any{"setWeight": int64(50)}},
			}},
		},
	}}
	u.SetGroupVersionKind(rolloutGVK)
	return u
}

func rolloutContainer(i int, version string) map[string]any {
	return map[string]any{"name": "server", "image": "registry.example/ml/server:1.0", "env": []any{
		map[string]any{"name": "MODEL_NAME", "value": name(i)},
		map[string]any{"name": "MODEL_VERSION", "value": version},
		map[string]any{"name": "MODEL_URI", "value": fmt.Sprintf("pvc://models/%s/%s", name(i), version)},
	}}
}

// updateRollout moves the i-th Rollout's template to 2.0.0.
func updateRollout(ctx context.Context, c *cluster, i int) error {
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{
		"spec": map[string]any{"containers": []any{rolloutContainer(i, "2.0.0")}},
	}}})
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(rolloutGVK)
	u.SetNamespace(namespace)
	u.SetName(name(i))
	return c.client.Patch(ctx, u, client.RawPatch(types.MergePatchType, patch))
}

// rolloutsDone counts the Rollouts in want done at version.
func rolloutsDone(ctx context.Context, c *cluster, want map[string]bool, version string) (int, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(rolloutGVK.GroupVersion().WithKind("RolloutList"))
	if err := c.watched.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return 0, err
	}
	n := 0
	for i := range list.Items {
		if ro := &list.Items[i]; want[ro.GetName()] && rolloutDone(ro, version) {
			n++
		}
	}
	return n, nil
}

// rolloutDone is Argo's own judgement (`kubectl argo rollouts status`, its
// rolloututil.GetRolloutPhase): the controller has observed the spec and
// calls the Rollout Healthy, which a canary without traffic routing is once
// every step is done, the new ReplicaSet is stable (stableRS is the current
// pod hash) with all its replicas available and the old pods are gone. A
// canary whose last step is a setWeight, without a pause, promotes itself:
// once the step's replica counts are reached, the step index reaches the
// step count, and with the new ReplicaSet scaled up and available, Argo's
// shouldFullPromote answers "Completed all 1 canary steps". The template
// must be at version too.
func rolloutDone(ro *unstructured.Unstructured, version string) bool {
	str := func(fields ...string) string {
		s, _, _ := unstructured.NestedString(ro.Object, fields...)
		return s
	}
	stable := str("status", "stableRS")
	return str("status", "observedGeneration") == strconv.FormatInt(ro.GetGeneration(), 10) &&
		str("status", "phase") == "Healthy" &&
		stable != "" && stable == str("status", "currentPodHash") &&
		rolloutVersion(ro) == version
}

// rolloutVersion is the MODEL_VERSION in a Rollout's template.
func rolloutVersion(ro *unstructured.Unstructured) string {
	containers, _, _ := unstructured.NestedSlice(ro.Object, "spec", "template", "spec", "containers")
	for _, ctr := range containers {
		env, _, _ := unstructured.NestedSlice(ctr.(map[string]any), "env")
		for _, e := range env {
			if e, ok := e.(map[string]any); ok && e["name"] == "MODEL_VERSION" {
				v, _ := e["value"].(string)
				return v
			}
		}
	}
	return ""
}

// replicaSetsOf are the Rollouts in want with a ReplicaSet, and those with
// one whose pods are all available.
func replicaSetsOf(ctx context.Context, c *cluster, want map[string]bool) (written, available map[string]bool, err error) {
	var list appsv1.ReplicaSetList
	if err := c.watched.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, nil, err
	}
	written, available = map[string]bool{}, map[string]bool{}
	for _, rs := range list.Items {
		owner := metav1.GetControllerOf(&rs)
		if owner == nil || owner.Kind != rolloutGVK.Kind || !want[owner.Name] {
			continue
		}
		written[owner.Name] = true
		if rs.Status.AvailableReplicas >= replicas && rs.Status.ObservedGeneration == rs.Generation {
			available[owner.Name] = true
		}
	}
	return written, available, nil
}
