package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// read reads one file of the given content (or stdin with path "-").
func read(t *testing.T, name, content string) (*Set, error) {
	t.Helper()
	if name == Stdin {
		return NewReader(clientgoscheme.Scheme, strings.NewReader(content)).Read([]string{Stdin})
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return NewReader(clientgoscheme.Scheme, nil).Read([]string{path})
}

// found is an object's kind, name and line.
type found struct {
	Kind, Name string
	Line       int
}

func foundOf(set *Set) []found {
	var out []found
	for _, o := range set.Objects {
		out = append(out, found{o.GVK.Kind, o.Object.(interface{ GetName() string }).GetName(), o.Source.Line})
	}
	return out
}

func TestRead(t *testing.T) {
	tests := []struct {
		name, file, content string
		want                []found
		ignored             []string
	}{
		{"YAML documents, each at the line of its kind", "a.yaml",
			"# a comment\n---\n# about the map\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n---\napiVersion: v1\nmetadata: {name: two}\nkind: Secret\n",
			[]found{{"ConfigMap", "one", 5}, {"Secret", "two", 10}}, nil},
		{"separators with comments, an empty document, a document end", "b.yml",
			"--- # first\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n...\n---\n---\n  # only a comment\n",
			[]found{{"ConfigMap", "one", 3}}, nil},
		{"a document without kind: at the start points at its first line", "c.yaml",
			"\n# c\n{apiVersion: v1, kind: ConfigMap, metadata: {name: flow}}\n", []found{{"ConfigMap", "flow", 3}}, nil},
		{"kinds the scheme does not know are ignored", "d.yaml",
			"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
			nil, []string{"Kustomization", "Widget"}},
		{"a List is unfolded", "e.yaml",
			"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: one}}\n- {apiVersion: v1, kind: Service, metadata: {name: two}}\n",
			[]found{{"ConfigMap", "one", 2}, {"Service", "two", 2}}, nil},
		{"JSON: one object", "f.json", "\n\n{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"j\"}}\n",
			[]found{{"ConfigMap", "j", 3}}, nil},
		{"JSON: objects in a row and an array", "g.json",
			"{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"a\"}}\n[\n{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"b\"}}]\n",
			[]found{{"ConfigMap", "a", 1}, {"Secret", "b", 2}}, nil},
		{"standard input", Stdin, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: in}\n", []found{{"ConfigMap", "in", 2}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			set, err := read(t, tt.file, tt.content)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(foundOf(set)).To(Equal(tt.want))
			var ignored []string
			for _, i := range set.Ignored {
				ignored = append(ignored, i.GVK.Kind)
			}
			g.Expect(ignored).To(Equal(tt.ignored))
			for _, o := range set.Objects {
				g.Expect(filepath.Base(o.Source.Path)).To(Equal(tt.file))
			}
		})
	}
}

func TestReadDecodesTyped(t *testing.T) {
	g := NewWithT(t)
	set, err := read(t, "s.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ml}\nstringData: {token: abc}\n")
	g.Expect(err).NotTo(HaveOccurred())
	s, ok := set.Objects[0].Object.(*corev1.Secret)
	g.Expect(ok).To(BeTrue())
	g.Expect(s.Namespace).To(Equal("ml"))
	g.Expect(s.StringData).To(HaveKey("token"))
}

func TestReadProblems(t *testing.T) {
	tests := []struct {
		name, content string
		want          []string
	}{
		{"YAML that does not parse, at the file's line", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\napiVersion: v1\nkind: ConfigMap\ndata:\n  a: [\n",
			[]string{"p.yaml:8: not valid YAML: did not find expected node content"}},
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", []string{"p.yaml:1: the document has no apiVersion or kind"}},
		{"no apiVersion", "kind: ConfigMap\nmetadata: {name: x}\n", []string{"p.yaml:1: the document has no apiVersion or kind"}},
		{"an unknown field, as strict field validation refuses it", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndatta: {a: b}\n",
			[]string{`p.yaml:2: ConfigMap x: strict decoding error: unknown field "datta"`}},
		{"every problem of the file at once", "kind: A\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nnope: 1\n",
			[]string{"p.yaml:1: the document has no apiVersion or kind", `p.yaml:4: ConfigMap x: strict decoding error: unknown field "nope"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			_, err := read(t, "p.yaml", tt.content)
			var problems Problems
			g.Expect(err).To(BeAssignableToTypeOf(problems))
			problems = err.(Problems)
			g.Expect(problems).To(HaveLen(len(tt.want)))
			for i, w := range tt.want {
				g.Expect(problems[i].Error()).To(ContainSubstring(w))
			}
		})
	}
}

func TestReadFolders(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		g.Expect(os.MkdirAll(filepath.Dir(p), 0o755)).To(Succeed())
		g.Expect(os.WriteFile(p, []byte(content), 0o600)).To(Succeed())
	}
	cm := func(name string) string { return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\n" }
	write("b.yaml", cm("b"))
	write("a.yml", cm("a"))
	write("nested/deeper/c.JSON", `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}`)
	write("README.md", "# not a manifest: kind: ConfigMap")
	write("notes.txt", "kind: [")

	set, err := NewReader(clientgoscheme.Scheme, nil).Read([]string{dir})
	g.Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, o := range set.Objects {
		names = append(names, o.Object.(*corev1.ConfigMap).Name)
	}
	g.Expect(names).To(Equal([]string{"a", "b", "c"}), "recursively, in lexical order, manifests only")

	_, err = NewReader(clientgoscheme.Scheme, nil).Read([]string{filepath.Join(dir, "missing")})
	g.Expect(err).To(MatchError(ContainSubstring("missing: no such file or directory")))
	_, err = NewReader(clientgoscheme.Scheme, nil).Read([]string{t.TempDir()})
	g.Expect(err).To(MatchError(ContainSubstring("holds no .yaml, .yml or .json file")))
	_, err = NewReader(clientgoscheme.Scheme, nil).Read([]string{filepath.Join(dir, "notes.txt")})
	g.Expect(err).To(MatchError(ContainSubstring("notes.txt:1: not valid YAML")), "a file named on the command line is read whatever its name")
}

func TestSourceString(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Source{"deploy/a.yaml", 3}.String()).To(Equal("deploy/a.yaml:3"))
	g.Expect(Source{Stdin, 7}.String()).To(Equal("<stdin>:7"))
}
