package gitops

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"
)

func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	// As the API server's JSON decodes: integers as int64, as kstatus wants.
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		t.Fatal(err)
	}
	return u.Object
}

// TestHealthOfRecordedStatuses runs the shipped checks on statuses the real
// reconciler wrote (see each fixture's header), and holds them to kstatus.
func TestHealthOfRecordedStatuses(t *testing.T) {
	for _, tc := range []struct {
		fixture  string
		wantArgo string
		want     kstatus.Status
	}{
		{"healthy", Healthy, kstatus.CurrentStatus},
		{"progressing", Progressing, kstatus.InProgressStatus},
		{"suspended-paused", Suspended, kstatus.InProgressStatus},
		{"suspended-awaiting-approval", Suspended, kstatus.InProgressStatus},
		{"degraded-rolled-back", Degraded, kstatus.FailedStatus},
		{"stalled-checklist", Degraded, kstatus.FailedStatus},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			check(t, fixture(t, tc.fixture), tc.wantArgo, tc.want)
		})
	}
}

// TestHealthOfUnhandledSpec: a spec changed after the status was written
// reads as in progress whatever the status says, as kstatus reads it.
func TestHealthOfUnhandledSpec(t *testing.T) {
	for _, name := range []string{"healthy", "degraded-rolled-back"} {
		t.Run(name, func(t *testing.T) {
			o := fixture(t, name)
			md := o["metadata"].(map[string]any)
			md["generation"] = md["generation"].(int64) + 1
			check(t, o, Progressing, kstatus.InProgressStatus)
		})
	}
}

func check(t *testing.T, o map[string]any, wantArgo string, want kstatus.Status) {
	t.Helper()
	ks, err := Kstatus(o)
	if err != nil {
		t.Fatal(err)
	}
	if ks != want {
		t.Errorf("kstatus = %s, want %s", ks, want)
	}
	argo, msg, err := ArgoHealth(o)
	if err != nil {
		t.Fatal(err)
	}
	if argo != wantArgo {
		t.Errorf("Argo CD health = %s (%s), want %s", argo, msg, wantArgo)
	}
	if msg == "" {
		t.Errorf("Argo CD health %s has no message", argo)
	}
	if ArgoAsKstatus[argo] != ks {
		t.Errorf("Argo CD's %s disagrees with kstatus %s", argo, ks)
	}
	flux, err := FluxHealth(o)
	if err != nil {
		t.Fatal(err)
	}
	if flux != ks {
		t.Errorf("Flux = %s, kstatus %s", flux, ks)
	}
}
