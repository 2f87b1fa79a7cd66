package webhook

import (
	"encoding/json"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/policy"
)

func view(t *testing.T, doc string) *stampedView {
	t.Helper()
	v := &stampedView{}
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestStamps(t *testing.T) {
	const (
		base      = `{"metadata":{"annotations":%s},"spec":{"model":{"version":"2.3.0","uri":"oci://r/m:2.3.0"},"template":{"spec":{"containers":[{"name":"s","image":"i"}]}}}}`
		byAlice   = `{"serving.modelgate.dev/spec-changed-by":"alice"}`
		forged    = `{"serving.modelgate.dev/spec-changed-by":"mallory","serving.modelgate.dev/window-override-by":"mallory","serving.modelgate.dev/overrides-by":"{\"pdb\":{\"user\":\"sam\",\"groups\":[\"platform-sre\"]}}"}`
		bumped    = `{"metadata":{"annotations":{"serving.modelgate.dev/spec-changed-by":"alice"}},"spec":{"model":{"version":"2.4.0","uri":"oci://r/m:2.3.0"},"template":{"spec":{"containers":[{"name":"s","image":"i"}]}}}}`
		newImage  = `{"metadata":{},"spec":{"model":{"version":"2.3.0","uri":"oci://r/m:2.3.0"},"template":{"spec":{"containers":[{"name":"s","image":"j"}]}}}}`
		overrides = `{"metadata":{"annotations":%s},"spec":{"model":{"version":"2.3.0","uri":"oci://r/m:2.3.0"},"template":{"spec":{"containers":[{"name":"s","image":"i"}]}},"checklist":{"overrides":[{"id":"pdb","severity":"Off","reason":"r"}]}}}`
	)
	bob := policy.Signer{User: "bob", Groups: []string{"risk-team"}}
	sprintf := fmt.Sprintf
	tests := []struct {
		name          string
		before, after string
		want          map[string]string
	}{
		{name: "create: the creator changed the spec, hand-written stamps replaced",
			after: sprintf(base, forged),
			want:  map[string]string{servingv1alpha1.AnnotationSpecChangedBy: "bob", servingv1alpha1.AnnotationWindowOverrideBy: "", servingv1alpha1.AnnotationOverridesBy: ""}},
		{name: "an edit that leaves the model alone keeps its author, whatever the request says",
			before: sprintf(base, byAlice), after: sprintf(base, forged),
			want: map[string]string{servingv1alpha1.AnnotationSpecChangedBy: "alice", servingv1alpha1.AnnotationWindowOverrideBy: "", servingv1alpha1.AnnotationOverridesBy: ""}},
		{name: "a version bump is stamped with the requester", before: sprintf(base, byAlice), after: bumped,
			want: map[string]string{servingv1alpha1.AnnotationSpecChangedBy: "bob", servingv1alpha1.AnnotationWindowOverrideBy: "", servingv1alpha1.AnnotationOverridesBy: ""}},
		{name: "a template change is stamped with the requester", before: sprintf(base, byAlice), after: newImage,
			want: map[string]string{servingv1alpha1.AnnotationSpecChangedBy: "bob", servingv1alpha1.AnnotationWindowOverrideBy: "", servingv1alpha1.AnnotationOverridesBy: ""}},
		{name: "a new override is signed by the requester, not by the forged record",
			before: sprintf(base, byAlice), after: sprintf(overrides, forged),
			want: map[string]string{servingv1alpha1.AnnotationSpecChangedBy: "alice", servingv1alpha1.AnnotationWindowOverrideBy: "",
				servingv1alpha1.AnnotationOverridesBy: `{"pdb":{"user":"bob","groups":["risk-team"]}}`}},
		{name: "an unchanged override keeps the signer recorded before",
			before: sprintf(overrides, forged), after: sprintf(overrides, `{}`),
			want: map[string]string{servingv1alpha1.AnnotationSpecChangedBy: "mallory", servingv1alpha1.AnnotationWindowOverrideBy: "",
				servingv1alpha1.AnnotationOverridesBy: `{"pdb":{"user":"sam","groups":["platform-sre"]}}`}},
		{name: "a window override set now is stamped with the requester",
			before: sprintf(base, byAlice), after: sprintf(base, `{"serving.modelgate.dev/window-override":"incident 42","serving.modelgate.dev/window-override-by":"mallory"}`),
			want: map[string]string{servingv1alpha1.AnnotationSpecChangedBy: "alice", servingv1alpha1.AnnotationWindowOverrideBy: "bob", servingv1alpha1.AnnotationOverridesBy: ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var before *stampedView
			if tt.before != "" {
				before = view(t, tt.before)
			}
			g.Expect(stampsFor(before, view(t, tt.after), bob)).To(Equal(tt.want))
		})
	}
}

func TestOverridesOfIsLenient(t *testing.T) {
	g := NewWithT(t)
	var v any
	g.Expect(json.Unmarshal([]byte(`[{"id":"pdb","severity":5},"x"]`), &v)).To(Succeed())
	g.Expect(overridesOf(v)).To(Equal([]servingv1alpha1.ChecklistOverride{{ID: "pdb"}, {}}))
	g.Expect(overridesOf("not a list")).To(BeEmpty())
}
