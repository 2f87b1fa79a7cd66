package install

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestCRDUpgradeKeepsObjects installs the CRDs of the last commit whose CRDs
// differ from these, creates that commit's sample ModelDeployment, applies
// these CRDs over them as `make install` does in an upgrade, and reads the
// object back: nothing it had is lost, and it can still be updated. It runs
// on its own kube-apiserver and etcd (envtest), since the e2e cluster's
// managers and stories need the current CRDs throughout.
func TestCRDUpgradeKeepsObjects(t *testing.T) {
	kubectlPath := tool(t, "KUBECTL")
	tool(t, "KUBEBUILDER_ASSETS")
	rev, oldCRDs := previousCRDs(t)
	t.Logf("upgrading from the CRDs of %s", rev)

	env := &envtest.Environment{}
	if _, err := env.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	user, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) []byte {
		t.Helper()
		return run(t, kubectlPath, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	}
	// kubectl wait fails, rather than waits, on a CRD without conditions yet.
	waitEstablished := func() {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for _, crd := range []string{"modeldeployments.serving.modelgate.dev", "modelapprovals.serving.modelgate.dev"} {
			for !established(getObject(t, kubectl("get", "crd", crd, "-o", "json"))) {
				if time.Now().After(deadline) {
					t.Fatalf("CRD %s is not Established after a minute", crd)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}

	oldDir := filepath.Join(dir, "old")
	if err := os.MkdirAll(oldDir, 0o750); err != nil {
		t.Fatal(err)
	}
	for name, content := range oldCRDs {
		if err := os.WriteFile(filepath.Join(oldDir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Server-side, as `make install` does: older CRDs were too large for a
	// client-side apply.
	kubectl("apply", "--server-side", "-f", oldDir)
	waitEstablished()
	sample := filepath.Join(dir, "sample.yaml")
	if err := os.WriteFile(sample, gitShow(t, rev, "config/samples/serving_v1alpha1_modeldeployment.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl("-n", "default", "apply", "-f", sample)
	name := strings.TrimSpace(string(kubectl("-n", "default", "get", "modeldeployments", "-o", "jsonpath={.items[0].metadata.name}")))
	before := getObject(t, kubectl("-n", "default", "get", "modeldeployment", name, "-o", "json"))

	kubectl("apply", "--server-side", "-f", filepath.Join(root, "config", "crd", "bases"))
	waitEstablished()
	after := getObject(t, kubectl("-n", "default", "get", "modeldeployment", name, "-o", "json"))
	if d := cmp.Diff(before["spec"], after["spec"], cmp.FilterPath(addedByNewSchema(before["spec"]), cmp.Ignore())); d != "" {
		t.Errorf("the upgrade changed ModelDeployment %s's spec (-before +after):\n%s", name, d)
	}
	if before["metadata"].(map[string]any)["uid"] != after["metadata"].(map[string]any)["uid"] {
		t.Errorf("ModelDeployment %s was replaced", name)
	}
	// An update under the new schema: its validation ratchets on what the
	// object already had.
	kubectl("-n", "default", "label", "modeldeployment", name, "upgraded=true")
	stored := string(kubectl("get", "crd", "modeldeployments.serving.modelgate.dev", "-o", "jsonpath={.status.storedVersions}"))
	if !strings.Contains(stored, "v1alpha1") {
		t.Errorf("storedVersions = %s, want v1alpha1 kept", stored)
	}
}

func established(crd map[string]any) bool {
	status, _ := crd["status"].(map[string]any)
	conditions, _ := status["conditions"].([]any)
	for _, c := range conditions {
		if c, ok := c.(map[string]any); ok && c["type"] == "Established" && c["status"] == "True" {
			return true
		}
	}
	return false
}

// addedByNewSchema ignores the fields the old object lacked: the new
// schema's defaults may fill them.
func addedByNewSchema(before any) func(cmp.Path) bool {
	return func(p cmp.Path) bool {
		cur := before
		for _, step := range p[1:] {
			switch s := step.(type) {
			case cmp.MapIndex:
				m, ok := cur.(map[string]any)
				if !ok {
					return false
				}
				v, ok := m[s.Key().String()]
				if !ok {
					return true
				}
				cur = v
			case cmp.SliceIndex:
				l, ok := cur.([]any)
				if !ok || s.Key() < 0 || s.Key() >= len(l) {
					return false
				}
				cur = l[s.Key()]
			}
		}
		return false
	}
}

func getObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// previousCRDs finds the newest commit whose config/crd/bases differ from
// the working tree's, and returns its CRD files by name.
func previousCRDs(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	current, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(current) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	revs := strings.Fields(string(git(t, "log", "--format=%H", "--", "config/crd/bases")))
	for _, rev := range revs {
		files := map[string][]byte{}
		differs := false
		for _, path := range current {
			name := filepath.Base(path)
			old, err := exec.Command("git", "-C", root, "show", rev+":config/crd/bases/"+name).Output()
			if err != nil {
				continue // the CRD is newer than rev
			}
			now, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			files[name] = old
			differs = differs || string(old) != string(now)
		}
		if differs && files["serving.modelgate.dev_modeldeployments.yaml"] != nil {
			return rev, files
		}
	}
	t.Fatalf("no commit among %d has other ModelDeployment CRDs than the working tree's (a shallow clone?)", len(revs))
	return "", nil
}

func gitShow(t *testing.T, rev, path string) []byte {
	t.Helper()
	return git(t, "show", rev+":"+path)
}

func git(t *testing.T, args ...string) []byte {
	t.Helper()
	return run(t, "git", append([]string{"-C", root}, args...)...)
}
