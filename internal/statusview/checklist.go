// Package statusview shows a ModelDeployment to people: its checklist by the
// seed document's sections, ticked or not, with each failing item's reason and
// remediation; its rollout; and the Markdown deployment record a change ticket
// takes. Everything here is a pure function of the object and a time.
package statusview

import (
	"fmt"
	"strings"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
)

// outline is the seed checklist's headings in its order: each part (##) and
// its sections (###). Items are shown under their section, and under their
// part when their section is a part itself (Business Continuity).
var outline = []struct {
	part     string
	sections []string
}{
	{"Pre-Deployment Preparation", []string{"Model Readiness", "Documentation", "Code Quality", "Infrastructure"}},
	{"Security and Compliance", []string{"Security Checks", "Compliance", "Vulnerability Assessment"}},
	{"Monitoring and Observability", []string{"Application Monitoring", "Model Monitoring", "Alerting", "Dashboards"}},
	{"Testing", []string{"Functional Testing", "Performance Testing", "Integration Testing", "Chaos Testing (Optional)"}},
	{"Deployment Strategy", []string{"Deployment Approach", "Blue-Green Deployment", "Canary Deployment", "Rollback Plan"}},
	{"Data Management", []string{"Input Data", "Output Data", "Data Storage"}},
	{"Performance Optimization", []string{"Model Optimization", "Infrastructure Optimization"}},
	{"Business Continuity", []string{"High Availability", "Disaster Recovery", "Capacity Planning"}},
	{"Stakeholder Communication", []string{"Pre-Deployment Communication", "Training and Onboarding", "Approvals"}},
	{"Post-Deployment", []string{"Immediate Post-Deployment (First 24 Hours)", "First Week Monitoring", "Ongoing Operations"}},
	{"Rollback Execution (If Needed)", []string{"Rollback Triggers", "Rollback Procedure"}},
}

// otherPart holds items whose section the seed does not have.
const otherPart = "Other"

// Group is one heading of the checklist and its items, in the seed's order.
type Group struct {
	// Part is the seed's ## heading; Section its ### heading, or "" for
	// items filed under the part itself.
	Part, Section string
	Items         []servingv1alpha1.ChecklistItemStatus
}

// Groups files the items under the seed's headings, in the seed's order,
// keeping the items' own order within a heading. Items of a section the seed
// does not have come last, under "Other".
func Groups(items []servingv1alpha1.ChecklistItemStatus) []Group {
	type key struct{ part, section string }
	order := map[key]int{}
	var groups []Group
	for _, p := range outline {
		order[key{p.part, ""}] = len(groups)
		groups = append(groups, Group{Part: p.part})
		for _, s := range p.sections {
			order[key{p.part, s}] = len(groups)
			groups = append(groups, Group{Part: p.part, Section: s})
		}
	}
	where := map[string]key{}
	for k := range order {
		if k.section != "" {
			where[k.section] = k
		} else {
			where[k.part] = k
		}
	}
	others := map[string]int{}
	for _, it := range items {
		k, ok := where[it.Section]
		if !ok {
			k = key{otherPart, it.Section}
			if _, seen := others[it.Section]; !seen {
				others[it.Section] = len(groups)
				order[k] = len(groups)
				groups = append(groups, Group{Part: otherPart, Section: it.Section})
			}
		}
		g := &groups[order[k]]
		g.Items = append(g.Items, it)
	}
	out := groups[:0]
	for _, g := range groups {
		if len(g.Items) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// Title is what an item verifies, in the checklist's words; "" for an item
// the catalogue does not have (an attestation).
func Title(id string) string {
	return titles[id]
}

var titles = func() map[string]string {
	m := map[string]string{}
	for _, c := range checklist.Catalogue() {
		m[c.ID] = c.Title
	}
	return m
}()

// Style says how text is decorated: colour only on a terminal.
type Style struct {
	Color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiPurple = "\x1b[35m"
)

func (s Style) paint(code, text string) string {
	if !s.Color || text == "" {
		return text
	}
	return code + text + ansiReset
}

// Bold is text in bold on a terminal.
func (s Style) Bold(text string) string { return s.paint(ansiBold, text) }

// Result is a result's word, coloured by what it means.
func (s Style) Result(r servingv1alpha1.CheckResult) string {
	word := strings.ToUpper(string(r))
	switch r {
	case servingv1alpha1.CheckPass:
		return s.paint(ansiGreen, word)
	case servingv1alpha1.CheckFail:
		return s.paint(ansiRed, word)
	case servingv1alpha1.CheckWarn:
		return s.paint(ansiYellow, word)
	case servingv1alpha1.CheckUnknown:
		return s.paint(ansiPurple, word)
	}
	return s.paint(ansiDim, word)
}

// The seed's tick boxes.
const (
	boxTicked = "[x]"
	boxOpen   = "[ ]"
)

// Box is the seed's tick box: [x] for an item that passed, [ ] otherwise.
func (s Style) Box(r servingv1alpha1.CheckResult) string {
	if r == servingv1alpha1.CheckPass {
		return s.paint(ansiGreen, boxTicked)
	}
	if r == servingv1alpha1.CheckFail {
		return s.paint(ansiRed, boxOpen)
	}
	return boxOpen
}

// Counts says how many items passed, failed, warned and were not judged.
func Counts(st *servingv1alpha1.ChecklistStatus) string {
	return fmt.Sprintf("%s passed, %d failed, %d %s, %d skipped or unknown",
		st.Summary, st.Failed, st.Warnings, plural(int(st.Warnings), "warning", "warnings"), st.Skipped)
}

// WriteChecklist writes the items by the seed's headings, indented by
// indent: a tick box, the id and what it verifies; for an item that did not
// pass, its result, severity and override, then what was found and what to do.
// A severity a ModelDeploymentPolicy set is shown with the policy's name.
func WriteChecklist(b *strings.Builder, items []servingv1alpha1.ChecklistItemStatus, indent string, style Style) {
	width := 0
	for _, it := range items {
		width = max(width, len(it.ID))
	}
	part := ""
	for _, g := range Groups(items) {
		if g.Part != part {
			part = g.Part
			fmt.Fprintf(b, "%s%s\n", indent, style.Bold(g.Part))
		}
		inner, pad := indent+"  ", width+2 // items under a part keep the titles aligned
		if g.Section != "" {
			fmt.Fprintf(b, "%s%s\n", inner, style.Bold(g.Section))
			inner, pad = inner+"  ", width
		}
		for _, it := range g.Items {
			line := fmt.Sprintf("%s%s %-*s  %s", inner, style.Box(it.Result), pad, it.ID, Title(it.ID))
			b.WriteString(strings.TrimRight(line, " "))
			if it.Result != servingv1alpha1.CheckPass {
				fmt.Fprintf(b, "  %s", style.Result(it.Result))
				if note := severityNote(it); note != "" {
					fmt.Fprintf(b, " (%s)", note)
				}
			}
			b.WriteString("\n")
			detail := inner + "      "
			if it.OverrideReason != "" {
				fmt.Fprintf(b, "%sOverride: %s\n", detail, it.OverrideReason)
			}
			if p, ok := strings.CutPrefix(it.SeveritySource, checklist.SourcePolicy); ok {
				fmt.Fprintf(b, "%s%s set by ModelDeploymentPolicy %s\n", detail, it.Severity, p)
			}
			if it.AttestedBy != "" {
				fmt.Fprintf(b, "%sAttested by %s\n", detail, it.AttestedBy)
			}
			if it.Result == servingv1alpha1.CheckPass {
				continue
			}
			if it.Message != "" {
				fmt.Fprintf(b, "%s%s\n", detail, it.Message)
			}
			if it.Remediation != "" {
				fmt.Fprintf(b, "%sFix: %s\n", detail, it.Remediation)
			}
		}
	}
}

// severityNote says what an item's severity makes of a result that is not
// self-evident: an item that could not be judged blocks only when enforced.
func severityNote(it servingv1alpha1.ChecklistItemStatus) string {
	if it.Result == servingv1alpha1.CheckUnknown && it.Severity != "" {
		return string(it.Severity)
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
