// Package checkformat writes the offline check's judgements: as text for
// people, and as JSON, SARIF 2.1.0 and JUnit XML for CI systems. The machine
// formats are documented in docs/kubectl-modelgate.md and change only
// compatibly: fields are added, never renamed or removed.
package checkformat

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/manifestcheck"
	"github.com/modelgate/modelgate/internal/statusview"
)

// Format is an output format of the check.
type Format string

// The formats, as -o takes them.
const (
	Text  Format = "text"
	JSON  Format = "json"
	SARIF Format = "sarif"
	JUnit Format = "junit"
)

// Formats are every format, in the order help lists them.
var Formats = []Format{Text, JSON, SARIF, JUnit}

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(s))
	if !slices.Contains(Formats, f) {
		names := make([]string, len(Formats))
		for i, f := range Formats {
			names[i] = string(f)
		}
		return "", fmt.Errorf("unknown output format %q: use one of %s", s, strings.Join(names, ", "))
	}
	return f, nil
}

// Options of Write.
type Options struct {
	// Style decorates the text format.
	Style statusview.Style
	// ToolVersion is the plugin's version, named in SARIF.
	ToolVersion string
}

// Write writes the judgements in the format.
func Write(w io.Writer, f Format, js []manifestcheck.Judgement, opts Options) error {
	switch f {
	case JSON:
		return writeJSON(w, js)
	case SARIF:
		return writeSARIF(w, js, opts.ToolVersion)
	case JUnit:
		return writeJUnit(w, js)
	default:
		return writeText(w, js, opts.Style)
	}
}

// name is a ModelDeployment's namespace/name.
func name(j *manifestcheck.Judgement) string { return j.MD.Namespace + "/" + j.MD.Name }

// writeText writes each ModelDeployment's checklist by the seed's sections,
// then a summary line.
func writeText(w io.Writer, js []manifestcheck.Judgement, style statusview.Style) error {
	var b strings.Builder
	failed := 0
	for i := range js {
		j := &js[i]
		if i > 0 {
			b.WriteString("\n")
		}
		verdict := style.Result(servingv1alpha1.CheckPass)
		if !j.Passed() {
			verdict = style.Result(servingv1alpha1.CheckFail)
			failed++
		}
		fmt.Fprintf(&b, "%s: %s %s %s (%s profile): %s\n", j.Source, style.Bold("ModelDeployment"), name(j),
			j.MD.Spec.Model.Version, statusview.Profile(j.MD), verdict)
		fmt.Fprintf(&b, "Checklist: %s\n", statusview.Counts(&j.Result.Status))
		statusview.WriteChecklist(&b, j.Result.Status.Items, "", style)
		if ids := j.Failed(); len(ids) > 0 {
			fmt.Fprintf(&b, "Fails on: %s\n", strings.Join(ids, ", "))
		}
		if ids := j.Unknown(); len(ids) > 0 {
			fmt.Fprintf(&b, "Not judged here, judged by the operator in the cluster: %s\n", strings.Join(ids, ", "))
		}
		writePolicy(&b, j, style)
	}
	if len(js) == 0 {
		b.WriteString("No ModelDeployment found in the manifests: nothing to check.\n")
	} else {
		fmt.Fprintf(&b, "\n%d %s checked: %d passed, %d failed.\n", len(js), plural(len(js), "ModelDeployment", "ModelDeployments"), len(js)-failed, failed)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writePolicy names the policies that select the ModelDeployment and where
// its spec asks for less than they allow, which admission would refuse.
func writePolicy(b *strings.Builder, j *manifestcheck.Judgement, style statusview.Style) {
	if !j.Policy.Selected() {
		return
	}
	fmt.Fprintf(b, "Policies: %s\n", strings.Join(j.Policy.Effective.Policies, ", "))
	if vs := j.Violations(); len(vs) > 0 {
		fmt.Fprintf(b, "%s (admission refuses it until they are fixed):\n", style.Bold("Policy violations"))
		for _, v := range vs {
			fmt.Fprintf(b, "  %s %s\n", style.Result(servingv1alpha1.CheckFail), v)
		}
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// jsonReport is the JSON format.
type jsonReport struct {
	// Passed is true when no enforced item failed and no policy is violated
	// in any ModelDeployment.
	Passed           bool                  `json:"passed"`
	ModelDeployments []jsonModelDeployment `json:"modelDeployments"`
}

type jsonModelDeployment struct {
	Namespace string                           `json:"namespace"`
	Name      string                           `json:"name"`
	Version   string                           `json:"version"`
	Profile   servingv1alpha1.ChecklistProfile `json:"profile"`
	File      string                           `json:"file"`
	Line      int                              `json:"line"`
	Passed    bool                             `json:"passed"`
	// Failed are the enforced items that failed.
	Failed []string `json:"failed"`
	// Unknown are the enforced items that could not be judged offline.
	Unknown []string `json:"unknown"`
	// Checklist has the shape of the object's status.checklist.
	Checklist servingv1alpha1.ChecklistStatus `json:"checklist"`
	// Policy names the policies given with --policy that select the
	// ModelDeployment and their violations, in the shape of status.policy;
	// absent when none selects it.
	Policy *servingv1alpha1.PolicyStatus `json:"policy,omitempty"`
}

func writeJSON(w io.Writer, js []manifestcheck.Judgement) error {
	r := jsonReport{Passed: true, ModelDeployments: make([]jsonModelDeployment, 0, len(js))}
	for i := range js {
		j := &js[i]
		m := jsonModelDeployment{
			Namespace: j.MD.Namespace, Name: j.MD.Name, Version: j.MD.Spec.Model.Version, Profile: statusview.Profile(j.MD),
			File: j.Source.Path, Line: j.Source.Line, Passed: j.Passed(),
			Failed: nonNil(j.Failed()), Unknown: nonNil(j.Unknown()), Checklist: j.Result.Status,
			Policy: j.Policy.Status(),
		}
		r.Passed = r.Passed && m.Passed
		r.ModelDeployments = append(r.ModelDeployments, m)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// nonNil makes an empty list [] rather than null, so that readers need not
// tell the two apart.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
