// Command crdcompact makes the CRDs that controller-gen writes small enough
// for a client-side `kubectl apply` (and Argo CD's and Flux's default sync),
// whose last-applied annotation may hold at most 256 KiB.
//
// What makes them large is the schema of the Kubernetes types they embed (a
// full pod template): this command drops the descriptions inside the embedded
// types named on the command line, keeping every description of modelgate's
// own fields and the embedded field's own, so `kubectl explain` still explains
// modelgate's API; and it writes the embedded schema's small nodes in YAML's
// flow style, since block indentation 30 levels deep is most of the bytes.
// Validation is untouched: the schema is the same, only its layout and the
// upstream field docs change.
//
// Usage: crdcompact -embedded modeldeployments.serving.modelgate.dev=spec.template FILE...
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// flowWidth is the longest node written on one line in flow style.
const flowWidth = 240

// embeddedFlags collects CRD=path pairs.
type embeddedFlags map[string][]string

func (e embeddedFlags) String() string { return fmt.Sprint(map[string][]string(e)) }

func (e embeddedFlags) Set(v string) error {
	crd, path, ok := strings.Cut(v, "=")
	if !ok || crd == "" || path == "" {
		return fmt.Errorf("want CRD=field.path, such as modeldeployments.serving.modelgate.dev=spec.template, got %q", v)
	}
	e[crd] = append(e[crd], path)
	return nil
}

func main() {
	embedded := embeddedFlags{}
	flag.Var(embedded, "embedded", "CRD=field.path of an embedded Kubernetes type whose docs are dropped (repeatable)")
	flag.Parse()
	for _, file := range flag.Args() {
		if err := compactFile(file, embedded); err != nil {
			fmt.Fprintf(os.Stderr, "crdcompact: %s: %v\n", file, err)
			os.Exit(1)
		}
	}
}

func compactFile(file string, embedded embeddedFlags) error {
	in, err := os.ReadFile(file) //nolint:gosec // the CRD files the Makefile names
	if err != nil {
		return err
	}
	out, err := Compact(in, embedded)
	if err != nil {
		return err
	}
	return os.WriteFile(file, out, 0o644) //nolint:gosec // a file committed to the repository, read by everyone
}

// Compact rewrites one CRD document. A CRD with no embedded paths is written
// back unchanged.
func Compact(in []byte, embedded map[string][]string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(in, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("want one YAML document")
	}
	root := doc.Content[0]
	name := scalar(lookup(root, "metadata", "name"))
	paths := embedded[name]
	if len(paths) == 0 {
		return in, nil
	}
	versions := lookup(root, "spec", "versions")
	if versions == nil || versions.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s has no spec.versions", name)
	}
	for _, v := range versions.Content {
		schema := lookup(v, "schema", "openAPIV3Schema")
		for _, p := range paths {
			field := schema
			for _, part := range strings.Split(p, ".") {
				field = lookup(field, "properties", part)
			}
			if field == nil {
				return nil, fmt.Errorf("%s has no field %s in version %s", name, p, scalar(lookup(v, "name")))
			}
			props := lookup(field, "properties")
			if props == nil {
				return nil, fmt.Errorf("%s: field %s has no properties to compact", name, p)
			}
			dropDescriptions(props)
			flowSmallNodes(props)
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return append([]byte("---\n"), buf.Bytes()...), nil
}

// lookup follows mapping keys from n; nil when one is missing.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

func scalar(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
}

// dropDescriptions removes every "description" of a schema below n. Only
// schema keywords are touched: a property named "description" (a field of
// the embedded type) is a key of a "properties" map and stays.
func dropDescriptions(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "properties" && v.Kind == yaml.MappingNode {
				// Keys here are field names; each value is a schema.
				for j := 1; j < len(v.Content); j += 2 {
					dropDescriptions(v.Content[j])
				}
				kept = append(kept, k, v)
				continue
			}
			if k.Value == "description" && v.Kind == yaml.ScalarNode {
				continue
			}
			dropDescriptions(v)
			kept = append(kept, k, v)
		}
		n.Content = kept
	case yaml.SequenceNode:
		for _, c := range n.Content {
			dropDescriptions(c)
		}
	}
}

// flowSmallNodes writes in flow style every mapping or sequence below n
// whose flow form fits flowWidth, so a schema such as
// {type: object, properties: {name: {type: string}}} takes one line.
// It returns the flow length of n, or -1 when n stays in block style.
func flowSmallNodes(n *yaml.Node) int {
	switch n.Kind {
	case yaml.ScalarNode:
		if strings.ContainsAny(n.Value, "\n") {
			return -1
		}
		b, err := yaml.Marshal(n)
		if err != nil {
			return -1
		}
		return len(bytes.TrimSpace(b))
	case yaml.MappingNode, yaml.SequenceNode:
		total, fits := 2, true
		for _, c := range n.Content {
			l := flowSmallNodes(c)
			if l < 0 {
				fits = false
				continue
			}
			total += l + 2 // ", " or ": "
		}
		if !fits || total > flowWidth {
			return -1
		}
		n.Style = yaml.FlowStyle
		return total
	}
	return -1
}
