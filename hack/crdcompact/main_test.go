package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// clientSideLimit is what a CRD file may weigh for a client-side apply: the
// last-applied annotation holds at most 256 KiB, and 200 KiB leaves room for
// the API to grow between checks.
const clientSideLimit = 200 * 1024

const fixture = `---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: things.example.dev
spec:
  versions:
  - name: v1
    schema:
      openAPIV3Schema:
        description: A thing.
        properties:
          spec:
            description: The thing's spec.
            properties:
              template:
                description: Our own words on the embedded type.
                properties:
                  metadata:
                    description: Upstream's words.
                    properties:
                      labels:
                        additionalProperties: {type: string}
                        description: Upstream's words on labels.
                        type: object
                    type: object
                  description:
                    description: An upstream field that happens to be called description.
                    type: string
                type: object
              replicas:
                description: Our own words on replicas.
                type: integer
            type: object
        type: object
`

func schemaOf(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var crd map[string]any
	if err := yaml.Unmarshal(doc, &crd); err != nil {
		t.Fatal(err)
	}
	v := crd["spec"].(map[string]any)["versions"].([]any)[0].(map[string]any)
	return v["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any)
}

func prop(s map[string]any, path ...string) map[string]any {
	for _, p := range path {
		s = s["properties"].(map[string]any)[p].(map[string]any)
	}
	return s
}

func TestCompactDropsOnlyTheEmbeddedTypesDocs(t *testing.T) {
	out, err := Compact([]byte(fixture), map[string][]string{"things.example.dev": {"spec.template"}})
	if err != nil {
		t.Fatal(err)
	}
	s := schemaOf(t, out)
	for path, want := range map[string]string{
		"":              "A thing.",
		"spec":          "The thing's spec.",
		"spec.replicas": "Our own words on replicas.",
		"spec.template": "Our own words on the embedded type.",
	} {
		var parts []string
		if path != "" {
			parts = strings.Split(path, ".")
		}
		if got := prop(s, parts...)["description"]; got != want {
			t.Errorf("description of %q = %v, want %q kept", path, got, want)
		}
	}
	for _, path := range [][]string{{"spec", "template", "metadata"}, {"spec", "template", "metadata", "labels"}, {"spec", "template", "description"}} {
		if got, ok := prop(s, path...)["description"]; ok {
			t.Errorf("description of %v = %v, want it dropped", path, got)
		}
	}
	if got := prop(s, "spec", "template", "description")["type"]; got != "string" {
		t.Errorf("the field named description lost its schema: type %v", got)
	}
	if got := prop(s, "spec", "template", "metadata", "labels")["additionalProperties"]; got == nil {
		t.Error("the schema itself must stay: additionalProperties of labels is gone")
	}
	if !strings.Contains(string(out), "labels: {additionalProperties: {type: string}, type: object}") {
		t.Errorf("small nodes are written on one line:\n%s", out)
	}
}

func TestCompactLeavesOtherCRDsAlone(t *testing.T) {
	out, err := Compact([]byte(fixture), map[string][]string{"others.example.dev": {"spec.template"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != fixture {
		t.Errorf("a CRD with nothing embedded changed:\n%s", out)
	}
}

func TestCompactRefusesAPathThatIsNotThere(t *testing.T) {
	_, err := Compact([]byte(fixture), map[string][]string{"things.example.dev": {"spec.podTemplate"}})
	if err == nil || !strings.Contains(err.Error(), "no field spec.podTemplate") {
		t.Errorf("err = %v, want one naming the missing field", err)
	}
}

// The committed CRDs are what GitOps tools sync: each must apply client-side.
func TestCommittedCRDsApplyClientSide(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "config", "crd", "bases", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs found: %v", err)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > clientSideLimit {
			t.Errorf("%s is %d bytes, over the %d a client-side apply allows with room to grow: drop more upstream docs in hack/crdcompact or split the API",
				filepath.Base(f), fi.Size(), clientSideLimit)
		}
	}
}
