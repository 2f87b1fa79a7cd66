// Package install checks the Helm chart in charts/modelgate against config/,
// with the real helm and kubectl: it lints, and fails when the chart installs
// other CRDs, other RBAC or other objects than the kustomize install.
package install

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

type object = map[string]any

var (
	root     = filepath.Join("..", "..")
	chartDir = filepath.Join(root, "charts", "modelgate")
)

func tool(t *testing.T, env string) string {
	t.Helper()
	p := os.Getenv(env)
	if p == "" {
		t.Fatalf("%s is not set: run these tests with 'make test-integration'", env)
	}
	return p
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out, stderr.String())
	}
	return out
}

func decode(t *testing.T, b []byte) []object {
	t.Helper()
	var objs []object
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var o object
		if err := d.Decode(&o); err == io.EOF {
			return objs
		} else if err != nil {
			t.Fatal(err)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
}

func readObjects(t *testing.T, glob string) []object {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(root, glob))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no files match %s: %v", glob, err)
	}
	var objs []object
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, decode(t, b)...)
	}
	return objs
}

func key(o object) string {
	md, _ := o["metadata"].(map[string]any)
	return o["kind"].(string) + "/" + md["name"].(string)
}

func byKey(objs []object) map[string]object {
	m := map[string]object{}
	for _, o := range objs {
		m[key(o)] = o
	}
	return m
}

// template renders the chart as release "modelgate" in modelgate-system, the
// names and namespace config/default uses.
func template(t *testing.T, set ...string) []object {
	t.Helper()
	args := []string{"template", "modelgate", chartDir, "--namespace", "modelgate-system", "--include-crds"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return decode(t, run(t, tool(t, "HELM"), args...))
}

func TestLint(t *testing.T) {
	for _, set := range [][]string{
		nil,
		{"webhook.certificate.source=cert-manager", "metrics.serviceMonitor.enabled=true", "networkPolicy.enabled=true", "grafana.dashboards.enabled=true"},
		{"replicaCount=1", "leaderElection.enabled=false", "podDisruptionBudget.enabled=false", "extraArgs={--zap-log-level=debug}"},
	} {
		args := []string{"lint", "--strict", chartDir}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		run(t, tool(t, "HELM"), args...)
	}
}

// TestCRDsAndRBACMatchConfig fails when the chart's CRDs or RBAC rules
// differ from config/crd/bases and config/rbac: a chart edited by hand, or
// not regenerated after `make manifests`.
func TestCRDsAndRBACMatchConfig(t *testing.T) {
	chart := byKey(template(t))
	crds := readObjects(t, "config/crd/bases/*.yaml")
	for _, crd := range crds {
		got, ok := chart[key(crd)]
		if !ok {
			t.Errorf("the chart lacks %s", key(crd))
			continue
		}
		if d := cmp.Diff(crd, got); d != "" {
			t.Errorf("%s differs between config/crd/bases and the chart (-config +chart):\n%s", key(crd), d)
		}
	}
	if n := countKind(chart, "CustomResourceDefinition"); n != len(crds) {
		t.Errorf("the chart has %d CRDs, config/crd/bases %d", n, len(crds))
	}
	roles := 0
	for _, role := range readObjects(t, "config/rbac/*.yaml") {
		kind := role["kind"].(string)
		if kind != "ClusterRole" && kind != "Role" {
			continue
		}
		roles++
		name := "modelgate-" + role["metadata"].(map[string]any)["name"].(string)
		got, ok := chart[kind+"/"+name]
		if !ok {
			t.Errorf("the chart lacks %s/%s", kind, name)
			continue
		}
		if d := cmp.Diff(role["rules"], got["rules"]); d != "" {
			t.Errorf("%s/%s rules differ between config/rbac and the chart (-config +chart):\n%s", kind, name, d)
		}
	}
	if n := countKind(chart, "ClusterRole") + countKind(chart, "Role"); n != roles {
		t.Errorf("the chart has %d Roles and ClusterRoles, config/rbac %d", n, roles)
	}
}

func countKind(objs map[string]object, kind string) int {
	n := 0
	for k := range objs {
		if strings.HasPrefix(k, kind+"/") {
			n++
		}
	}
	return n
}

// TestChartIsKustomizeInstall renders the chart with the values that match
// config/default (cert-manager certificates) and compares every object with
// `kubectl kustomize config/default`, but for the labels Helm adds.
func TestChartIsKustomizeInstall(t *testing.T) {
	chart := byKey(template(t, "webhook.certificate.source=cert-manager"))
	kustomize := byKey(decode(t, run(t, tool(t, "KUBECTL"), "kustomize", filepath.Join(root, "config", "default"))))
	for k, want := range kustomize {
		if strings.HasPrefix(k, "Namespace/") {
			continue // helm install --create-namespace
		}
		got, ok := chart[k]
		if !ok {
			t.Errorf("the chart lacks %s", k)
			continue
		}
		if d := cmp.Diff(withoutInstallLabels(want), withoutInstallLabels(got)); d != "" {
			t.Errorf("%s differs (-kustomize +chart):\n%s", k, d)
		}
	}
	for k := range chart {
		if _, ok := kustomize[k]; !ok {
			t.Errorf("the chart adds %s, which config/default lacks", k)
		}
	}
}

// withoutInstallLabels drops the labels that say who installed an object.
func withoutInstallLabels(o object) object {
	md, _ := o["metadata"].(map[string]any)
	labels, _ := md["labels"].(map[string]any)
	for _, l := range []string{"app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "helm.sh/chart", "app.kubernetes.io/name"} {
		delete(labels, l)
	}
	if len(labels) == 0 {
		delete(md, "labels")
	}
	return o
}

// TestDashboardsAreConfigs renders the optional dashboards and finds in them
// config/grafana's JSON byte for byte, Grafana's {{legend}} placeholders
// untouched by Helm.
func TestDashboardsAreConfigs(t *testing.T) {
	chart := byKey(template(t, "grafana.dashboards.enabled=true"))
	cm, ok := chart["ConfigMap/modelgate-dashboards"]
	if !ok {
		t.Fatal("the chart with grafana.dashboards.enabled=true has no ConfigMap/modelgate-dashboards")
	}
	md := cm["metadata"].(map[string]any)
	if md["labels"].(map[string]any)["grafana_dashboard"] != "1" {
		t.Errorf("labels %v, want grafana_dashboard=1", md["labels"])
	}
	data := cm["data"].(map[string]any)
	for _, name := range []string{"fleet.json", "model.json"} {
		want, err := os.ReadFile(filepath.Join(root, "config", "grafana", name))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(string(want), data[name]); d != "" {
			t.Errorf("%s differs between config/grafana and the chart (-config +chart):\n%s", name, d)
		}
	}
	if _, ok := byKey(template(t))["ConfigMap/modelgate-dashboards"]; ok {
		t.Error("the dashboards are rendered by default; they are optional")
	}
}
