// Package manifests reads Kubernetes manifests (multi-document YAML or JSON
// files, folders of them, or standard input) into typed objects of a scheme,
// remembering the file and line each object came from so that findings can
// point at it.
package manifests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"
)

// Stdin is the path that reads standard input, as kubectl's -f - does.
const Stdin = "-"

// Source is where an object was read: the file as given (or "-" for standard
// input) and the 1-based line of its kind, or of the document's start when
// that cannot be found.
type Source struct {
	Path string `json:"file"`
	Line int    `json:"line"`
}

func (s Source) String() string {
	path := s.Path
	if path == Stdin {
		path = "<stdin>"
	}
	return fmt.Sprintf("%s:%d", path, s.Line)
}

// Object is one decoded object and where it came from.
type Object struct {
	Object runtime.Object
	GVK    schema.GroupVersionKind
	Source Source
}

// Ignored is a document of a kind the scheme does not know (a Kustomization,
// another operator's resource), which the reader skips.
type Ignored struct {
	GVK    schema.GroupVersionKind
	Source Source
}

// Set is what a read found.
type Set struct {
	Objects []Object
	Ignored []Ignored
}

// Problem is a document that could not be read: YAML or JSON that does not
// parse, an object without apiVersion or kind, or a field its kind does not
// have (which kubectl apply refuses too).
type Problem struct {
	Source Source
	Err    error
}

func (p Problem) Error() string { return p.Source.String() + ": " + p.Err.Error() }

// Problems are every document that could not be read, in the order read.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Reader reads manifests into the kinds of a scheme.
type Reader struct {
	decoder runtime.Decoder
	// Stdin is read for the path "-".
	Stdin io.Reader
}

// NewReader decodes into the scheme's kinds strictly: a field the kind does
// not have is a Problem, as it is for the API server's strict field validation.
func NewReader(scheme *runtime.Scheme, stdin io.Reader) *Reader {
	codecs := serializer.NewCodecFactory(scheme, serializer.EnableStrict)
	return &Reader{decoder: codecs.UniversalDeserializer(), Stdin: stdin}
}

// extensions are the file names a folder is searched for.
var extensions = []string{".yaml", ".yml", ".json"}

// Read reads each path: a file, a folder (every .yaml, .yml and .json file
// beneath it, in lexical order) or "-" for standard input. A path that cannot
// be read is an error; documents that cannot be decoded are returned together
// as Problems, after every path was read, so that one run shows them all.
func (r *Reader) Read(paths []string) (*Set, error) {
	set := &Set{}
	var problems Problems
	for _, p := range paths {
		files, err := r.files(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := r.readFile(f)
			if err != nil {
				return nil, err
			}
			problems = append(problems, r.decodeFile(f, data, set)...)
		}
	}
	if len(problems) > 0 {
		return set, problems
	}
	return set, nil
}

// files lists the files a path stands for.
func (r *Reader) files(path string) ([]string, error) {
	if path == Stdin {
		return []string{Stdin}, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && slices.Contains(extensions, strings.ToLower(filepath.Ext(p))) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read folder %s: %w", path, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("folder %s holds no .yaml, .yml or .json file", path)
	}
	return files, nil
}

func (r *Reader) readFile(path string) ([]byte, error) {
	if path == Stdin {
		if r.Stdin == nil {
			return nil, errors.New("cannot read standard input")
		}
		data, err := io.ReadAll(r.Stdin)
		if err != nil {
			return nil, fmt.Errorf("cannot read standard input: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(path) //nolint:gosec // reading the files the user named is the point
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	}
	return data, nil
}

// document is one YAML or JSON document of a file, in JSON, with the line
// of its kind.
type document struct {
	json []byte
	line int
}

// decodeFile splits a file into documents and decodes each into set.
func (r *Reader) decodeFile(path string, data []byte, set *Set) Problems {
	var docs []document
	var problems Problems
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var err error
		if docs, err = splitJSON(data); err != nil {
			return Problems{{Source{path, lineAt(data, len(data)-len(bytes.TrimLeft(data, " \t\r\n")))}, err}}
		}
	} else {
		for _, d := range splitYAML(data) {
			j, err := yaml.YAMLToJSON(d.raw)
			if err != nil {
				line, msg := yamlErrorLine(d, err)
				problems = append(problems, Problem{Source{path, line}, fmt.Errorf("not valid YAML: %s", msg)})
				continue
			}
			docs = append(docs, document{j, d.line})
		}
	}
	for _, d := range docs {
		problems = append(problems, r.decode(Source{path, d.line}, d.json, set)...)
	}
	return problems
}

// decode decodes one document, unfolding a List into its items.
func (r *Reader) decode(src Source, data []byte, set *Set) Problems {
	if t := bytes.TrimSpace(data); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil // an empty document, such as one holding only comments
	}
	if items, isList, err := listItems(data); err != nil {
		return Problems{{src, err}}
	} else if isList {
		var problems Problems
		for _, item := range items {
			problems = append(problems, r.decode(src, item, set)...)
		}
		return problems
	}
	obj, gvk, err := r.decoder.Decode(data, nil, nil)
	switch {
	case err == nil:
	case runtime.IsNotRegisteredError(err) && gvk != nil:
		set.Ignored = append(set.Ignored, Ignored{GVK: *gvk, Source: src})
		return nil
	case runtime.IsMissingKind(err) || runtime.IsMissingVersion(err):
		return Problems{{src, errors.New("the document has no apiVersion or kind: every Kubernetes object needs both")}}
	case runtime.IsStrictDecodingError(err):
		return Problems{{src, fmt.Errorf("%s %s: %w (kubectl apply refuses it too: correct or remove the field)", gvk.Kind, nameOf(obj), err)}}
	default:
		return Problems{{src, err}}
	}
	set.Objects = append(set.Objects, Object{Object: obj, GVK: *gvk, Source: src})
	return nil
}

// nameOf is an object's name for a message.
func nameOf(obj runtime.Object) string {
	if o, ok := obj.(interface{ GetName() string }); ok && o.GetName() != "" {
		return o.GetName()
	}
	return "(no name)"
}

// listItems returns the items of a List (kind List, or any kind ending in
// List with an items array), as kubectl reads `kubectl get -o yaml` output.
func listItems(data []byte) ([]json.RawMessage, bool, error) {
	var head struct {
		Kind  string            `json:"kind"`
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, false, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	if !strings.HasSuffix(head.Kind, "List") || head.Items == nil {
		return nil, false, nil
	}
	return head.Items, true, nil
}

// yamlDocument is one document of a YAML stream, the line it starts on and
// the line of its kind.
type yamlDocument struct {
	raw         []byte
	start, line int
}

// yamlLineRE finds the line in a YAML parser's error, counted from the
// document's first line.
var yamlLineRE = regexp.MustCompile(`^(?:.*: )?yaml: line (\d+): (.*)$`)

// yamlErrorLine places a YAML error on the file's line, and says it without
// the parser's own line number.
func yamlErrorLine(d yamlDocument, err error) (int, string) {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return d.line, err.Error()
	}
	n, _ := strconv.Atoi(m[1])
	return d.start + n - 1, m[2]
}

// splitYAML splits a YAML stream on its "---" separators. Each document's
// line is that of its top-level kind, so that a finding points at the object
// rather than at the comments above it; without one, its first line with
// content.
func splitYAML(data []byte) []yamlDocument {
	var docs []yamlDocument
	var cur bytes.Buffer
	start, kindLine, firstLine := 1, 0, 0
	flush := func() {
		line := kindLine
		if line == 0 {
			line = firstLine
		}
		if line == 0 {
			line = start
		}
		docs = append(docs, yamlDocument{raw: bytes.Clone(cur.Bytes()), start: start, line: line})
		cur.Reset()
		kindLine, firstLine = 0, 0
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, l := range lines {
		n := i + 1
		if isSeparator(l) {
			flush()
			start = n + 1
			continue
		}
		trimmed := bytes.TrimSpace(l)
		if firstLine == 0 && len(trimmed) > 0 && trimmed[0] != '#' {
			firstLine = n
		}
		if kindLine == 0 && bytes.HasPrefix(l, []byte("kind:")) {
			kindLine = n
		}
		cur.Write(l)
	}
	flush()
	return docs
}

// isSeparator reports whether a line separates YAML documents: "---" alone or
// followed by a space or a comment.
func isSeparator(line []byte) bool {
	l := bytes.TrimRight(line, " \t\r\n")
	return bytes.Equal(l, []byte("---")) || bytes.HasPrefix(l, []byte("--- ")) || bytes.HasPrefix(l, []byte("---\t"))
}

// splitJSON reads one or more JSON values in a row (a JSON array is taken as
// a list of objects), with the line each begins on.
func splitJSON(data []byte) ([]document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var docs []document
	for {
		offset := int(dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			return docs, nil
		} else if err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		// The offset is before any white space that precedes the value.
		offset += len(data[offset:]) - len(bytes.TrimLeft(data[offset:], " \t\r\n"))
		line := lineAt(data, offset)
		if bytes.HasPrefix(raw, []byte("[")) {
			var items []json.RawMessage
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, fmt.Errorf("not valid JSON: %w", err)
			}
			for _, it := range items {
				docs = append(docs, document{it, line})
			}
			continue
		}
		docs = append(docs, document{raw, line})
	}
}

// lineAt is the 1-based line of a byte offset.
func lineAt(data []byte, offset int) int {
	return bytes.Count(data[:offset], []byte("\n")) + 1
}
