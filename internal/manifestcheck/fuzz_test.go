package manifestcheck

import (
	"bytes"
	"context"
	"testing"

	"github.com/modelgate/modelgate/internal/manifests"
)

// FuzzCheck: `kubectl modelgate check` over any YAML or JSON a user hands it
// reads what it can and judges every ModelDeployment read, without
// panicking, and a judgement names its ModelDeployment.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		md("fraud", "production"),
		md("fraud", "staging") + "\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {maxUnavailable: 1, selector: {matchLabels: {app.kubernetes.io/name: fraud}}}",
		md("a", "development") + "\n---\n" + md("b", "production"),
		`{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "serving.modelgate.dev/v1alpha1", "kind": "ModelDeployment", "metadata": {"name": "x"}}]}`,
		"apiVersion: serving.modelgate.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: x}\nspec: {template: {spec: {containers: []}}}",
		"apiVersion: serving.modelgate.dev/v1alpha1\nkind: ModelDeployment\nmetadata: {name: x}\nspec:\n  deploymentWindows: [{start: '25:00', end: '09:00', timeZone: Nowhere}]\n  analysis: {metrics: [{name: m, query: '{{.Namespace}}'}]}",
		"---\n---\n: : :\n",
		"kind: [",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := manifests.NewReader(Scheme(), bytes.NewReader(data)).Read([]string{manifests.Stdin})
		if set == nil {
			if err == nil {
				t.Fatal("Read returned neither a set nor an error")
			}
			return
		}
		judgements, _ := Check(context.Background(), set.Objects, Options{})
		for _, j := range judgements {
			if j.MD == nil || j.MD.Name == "" && j.MD.GenerateName == "" && len(judgements) > 1 {
				t.Fatalf("a judgement without its ModelDeployment: %+v", j)
			}
		}
	})
}
