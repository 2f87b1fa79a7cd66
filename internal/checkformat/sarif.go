package checkformat

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/internal/manifestcheck"
	"github.com/modelgate/modelgate/internal/manifests"
)

// SARIF 2.1.0 (OASIS), the subset code-scanning services read.
const (
	SARIFVersion = "2.1.0"
	SARIFSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	// ToolName is the driver's name in SARIF.
	ToolName = "kubectl-modelgate"
	// sarifError is the level of a failure.
	sarifError = "error"
	// checklistDocs explains every rule.
	checklistDocs = "https://github.com/modelgate/modelgate/blob/main/docs/checklist.md#the-items"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool `json:"executionSuccessful"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	ShortDescription     sarifText          `json:"shortDescription"`
	FullDescription      sarifText          `json:"fullDescription"`
	HelpURI              string             `json:"helpUri"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
	Properties           sarifRuleProps     `json:"properties"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Section string   `json:"section"`
	Tags    []string `json:"tags"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Kind      string          `json:"kind"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations"`
	// Properties carry the item's result, severity and remediation as the
	// checklist reported them.
	Properties sarifResultProps `json:"properties"`
}

type sarifResultProps struct {
	ModelDeployment string `json:"modelDeployment"`
	Version         string `json:"version"`
	Result          string `json:"result"`
	Severity        string `json:"severity,omitempty"`
	Remediation     string `json:"remediation,omitempty"`
	OverrideReason  string `json:"overrideReason,omitempty"`
	// Policy and Field name a policy violation's rule and the spec's field.
	Policy string `json:"policy,omitempty"`
	Field  string `json:"field,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// writeSARIF writes one run whose rules are the catalogue and whose results
// are the items that did not pass: a failure is an error, a warning a
// warning, an item that could not be judged an open question (kind open,
// level none, as SARIF requires for a result that is not a failure).
// Passed and skipped items are left out, as linters leave out clean lines.
func writeSARIF(w io.Writer, js []manifestcheck.Judgement, version string) error {
	cat := checklist.Catalogue()
	index := map[string]int{}
	rules := make([]sarifRule, 0, len(cat))
	for i, c := range cat {
		index[c.ID] = i
		rules = append(rules, sarifRule{
			ID: c.ID, Name: ruleName(c.ID),
			ShortDescription:     sarifText{c.Title},
			FullDescription:      sarifText{fmt.Sprintf("%s (seed checklist section %s). Severity by profile: %s.", c.Title, c.Section, severities(c))},
			HelpURI:              checklistDocs,
			DefaultConfiguration: sarifConfiguration{Level: level(c.Severity[servingv1alpha1.ProfileProduction])},
			Properties:           sarifRuleProps{Section: c.Section, Tags: []string{"modelgate", "checklist", c.Section}},
		})
	}
	results := []sarifResult{}
	for i := range js {
		j := &js[i]
		for _, it := range j.Result.Status.Items {
			kind, lvl := "fail", ""
			switch it.Result {
			case servingv1alpha1.CheckFail:
				lvl = sarifError
			case servingv1alpha1.CheckWarn:
				lvl = "warning"
			case servingv1alpha1.CheckUnknown:
				kind, lvl = "open", "none"
			default:
				continue
			}
			text := fmt.Sprintf("%s %s: %s", name(j), j.MD.Spec.Model.Version, it.Message)
			if it.Remediation != "" {
				text += " Fix: " + it.Remediation
			}
			ri, ok := index[it.ID]
			if !ok {
				ri = -1 // an item outside the catalogue; SARIF's "no rule index"
			}
			results = append(results, sarifResult{
				RuleID: it.ID, RuleIndex: ri, Kind: kind, Level: lvl, Message: sarifText{text},
				Locations: []sarifLocation{{
					PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: artifactURI(j.Source.Path)}, Region: sarifRegion{StartLine: j.Source.Line}},
					LogicalLocations: []sarifLogical{{Name: j.MD.Name, FullyQualifiedName: "ModelDeployment/" + name(j), Kind: "resource"}},
				}},
				Properties: sarifResultProps{
					ModelDeployment: name(j), Version: j.MD.Spec.Model.Version, Result: string(it.Result),
					Severity: string(it.Severity), Remediation: it.Remediation, OverrideReason: it.OverrideReason,
				},
			})
		}
	}
	results = appendPolicyResults(results, js)
	log := sarifLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []sarifRun{{
		Tool:        sarifTool{Driver: sarifDriver{Name: ToolName, Version: version, InformationURI: "https://github.com/modelgate/modelgate", Rules: rules}},
		Invocations: []sarifInvocation{{ExecutionSuccessful: true}},
		Results:     results,
	}}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}

// level is the SARIF level of a severity.
func level(s servingv1alpha1.Severity) string {
	switch s {
	case servingv1alpha1.SeverityEnforce:
		return sarifError
	case servingv1alpha1.SeverityWarn:
		return "warning"
	}
	return "none"
}

func severities(c checklist.Check) string {
	parts := make([]string, 0, 3)
	for _, p := range []servingv1alpha1.ChecklistProfile{servingv1alpha1.ProfileProduction, servingv1alpha1.ProfileStaging, servingv1alpha1.ProfileDevelopment} {
		parts = append(parts, fmt.Sprintf("%s %s", p, c.Severity[p]))
	}
	return strings.Join(parts, ", ")
}

// ruleName is an id in the PascalCase SARIF viewers expect of a rule name,
// such as NetworkPolicy for network-policy.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// artifactURI is a path as a SARIF artifact URI: relative paths stay
// relative (code scanning resolves them against the checkout), with forward
// slashes; absolute ones become file URIs.
func artifactURI(path string) string {
	if path == manifests.Stdin {
		return "stdin"
	}
	u := url.URL{Path: filepath.ToSlash(filepath.Clean(path))}
	if filepath.IsAbs(path) {
		u.Scheme = "file"
	}
	return u.String()
}

// appendPolicyResults adds each policy violation as an error of the rule
// "policy" (outside the catalogue, so without a rule index): admission would
// refuse the ModelDeployment.
func appendPolicyResults(results []sarifResult, js []manifestcheck.Judgement) []sarifResult {
	for i := range js {
		j := &js[i]
		for _, v := range j.Violations() {
			results = append(results, sarifResult{
				RuleID: "policy", RuleIndex: -1, Kind: "fail", Level: sarifError,
				Message: sarifText{fmt.Sprintf("%s %s: %s", name(j), j.MD.Spec.Model.Version, v)},
				Locations: []sarifLocation{{
					PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: artifactURI(j.Source.Path)}, Region: sarifRegion{StartLine: j.Source.Line}},
					LogicalLocations: []sarifLogical{{Name: j.MD.Name, FullyQualifiedName: "ModelDeployment/" + name(j), Kind: "resource"}},
				}},
				Properties: sarifResultProps{ModelDeployment: name(j), Version: j.MD.Spec.Model.Version, Result: string(servingv1alpha1.CheckFail),
					Policy: v.Policy, Field: v.Field},
			})
		}
	}
	return results
}
