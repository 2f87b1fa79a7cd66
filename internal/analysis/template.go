package analysis

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
)

// Placeholders are the variables every query template may use. A template
// is text and these alone: text/template's other actions (range, if, with,
// pipes, functions, variables, define) would let a 76-byte template render
// gigabytes inside the manager (issue #18), so they are refused at admission
// and again here, before anything renders.
var Placeholders = []string{"Namespace", "Name", "Version", "Revision", "Window"}

// MaxRendered bounds a rendered query, in bytes.
const MaxRendered = 4096

// CheckTemplate says why text is not a query template made of text and
// {{.Placeholder}} actions only, or nil. extra names the placeholders the
// template's own metric adds to Placeholders (Feature for featureValue).
func CheckTemplate(text string, extra ...string) error {
	_, err := parseTemplate(text, extra)
	return err
}

func parseTemplate(text string, extra []string) (*template.Template, error) {
	t, err := template.New("query").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("the query template does not parse: %w", err)
	}
	allowed := append(append([]string(nil), Placeholders...), extra...)
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = "{{." + a + "}}"
	}
	only := fmt.Errorf("a query template may hold only the placeholders %s, with no other template action (range, if, with, pipes, functions, variables)", strings.Join(names, ", "))
	if len(t.Templates()) > 1 {
		return nil, only
	}
	if t.Tree == nil || t.Root == nil {
		return t, nil
	}
	for _, n := range t.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
		case *parse.ActionNode:
			name, ok := placeholder(n)
			if !ok {
				return nil, fmt.Errorf("%w; %s is not one", only, n)
			}
			if !slices.Contains(allowed, name) {
				return nil, fmt.Errorf("%w; {{.%s}} is not one", only, name)
			}
		default:
			return nil, fmt.Errorf("%w; %s is not one", only, n)
		}
	}
	return t, nil
}

// placeholder is the field an action names when it is {{.Field}} and nothing
// more.
func placeholder(a *parse.ActionNode) (string, bool) {
	p := a.Pipe
	if p == nil || p.IsAssign || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return "", false
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 {
		return "", false
	}
	return f.Ident[0], true
}

// errTooLong stops a render that passes MaxRendered.
var errTooLong = fmt.Errorf("the rendered query is longer than %d bytes", MaxRendered)

// boundedBuffer is a strings.Builder that refuses to grow past MaxRendered.
type boundedBuffer struct{ strings.Builder }

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxRendered {
		return 0, errTooLong
	}
	return b.Builder.Write(p)
}

// renderChecked renders a template CheckTemplate accepts, at most
// MaxRendered bytes of it.
func renderChecked(text string, vars any, extra []string) (string, error) {
	t, err := parseTemplate(text, extra)
	if err != nil {
		return "", err
	}
	var b boundedBuffer
	if err := t.Execute(&b, vars); err != nil {
		if errors.Is(err, errTooLong) {
			return "", errTooLong
		}
		return "", fmt.Errorf("the query template uses a variable other than .Namespace, .Name, .Version, .Revision and .Window: %w", err)
	}
	return b.String(), nil
}
