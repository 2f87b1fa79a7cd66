// Package policy merges the platform's ModelDeploymentPolicies with a
// ModelDeployment's spec: which policies select it, the effective rules it is
// judged by (the strictest of the spec and every policy, with the policy that
// set each rule) and where the spec asks for less than a policy allows. It is
// pure: the webhook, the operator and the offline check gather, this judges.
package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
)

// Signer is who set something, as the admission request said: the user and
// the groups the request carried.
type Signer struct {
	User   string   `json:"user"`
	Groups []string `json:"groups,omitempty"`
}

// InAny reports whether s is a member of one of groups.
func (s Signer) InAny(groups []string) bool {
	return slices.ContainsFunc(s.Groups, func(g string) bool { return slices.Contains(groups, g) })
}

// Violation is one place where a spec asks for less than a policy allows.
type Violation struct {
	// Policy that sets the rule.
	Policy string
	// Field of the ModelDeployment, such as spec.checklist.profile.
	Field string
	// Message says what the policy requires and how to comply.
	Message string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s: %s (policy %s)", v.Field, v.Message, v.Policy)
}

// Approval is one required role of the effective rules.
type Approval struct {
	Role   string
	Groups []string
	// Source is "spec" or "policy/<name>": the policy that added or narrowed the role.
	Source string
}

// Groups is a list of groups one policy allows, with its name.
type Groups struct {
	Groups []string
	Policy string
}

// Prefixes is a list of prefixes one policy allows, with its name.
type Prefixes struct {
	Prefixes []string
	Policy   string
}

// Strategies is a list of strategies one policy allows, with its name.
type Strategies struct {
	Allowed []servingv1alpha1.StrategyType
	Policy  string
}

// Window is a deployment window a policy adds.
type Window struct {
	servingv1alpha1.DeploymentWindow
	Policy string
}

// Freeze is a freeze a policy declares.
type Freeze struct {
	servingv1alpha1.Freeze
	Policy string
}

// Duration is a least duration and the policy that set it; Policy is empty
// when no policy sets one.
type Duration struct {
	Min    time.Duration
	Policy string
}

// Effective is what a ModelDeployment is judged by once every policy that
// selects it is merged with its spec. Each rule names the policy that set it.
// Where several policies list what they allow (groups, strategies, prefixes),
// each list is kept: what is used must be in every one of them.
type Effective struct {
	// Policies that select the ModelDeployment, sorted by name.
	Policies []string
	// Checklist are the severities the checklist applies (Inputs.Policy).
	Checklist checklist.PolicySeverities
	// Approvals are the required roles: the spec's and the policies'.
	Approvals []Approval
	// SeparationOfDuties names the policy that requires it; empty when none does.
	SeparationOfDuties string
	// WindowOverride are the groups allowed to override a deployment window,
	// per policy: the user must be in one group of each.
	WindowOverride []Groups
	// Windows are the policies' deployment windows, in addition to the spec's.
	Windows []Window
	// Freezes are the policies' freezes.
	Freezes []Freeze
	// Strategies are the strategies each policy allows.
	Strategies []Strategies
	// Triggers are the rollback triggers that must be declared, each with the
	// first policy (by name) that requires it, in the API's order.
	Triggers []Trigger
	// MinCanaryDuration and MinBake are the longest of the policies' minimums.
	MinCanaryDuration, MinBake Duration
	// ArtifactURIPrefixes and ImageRegistries are what each policy allows.
	ArtifactURIPrefixes, ImageRegistries []Prefixes
}

// Trigger is a rollback trigger a policy requires.
type Trigger struct {
	Name   servingv1alpha1.TriggerName
	Policy string
}

// Result is the judgement of one ModelDeployment by the policies.
type Result struct {
	Effective Effective
	// Violations are where the spec asks for less than a policy allows, by
	// policy then field.
	Violations []Violation
	// Conflicts are rules the policies cannot all have at once (two of them
	// allow disjoint groups for the same role); the first policy by name wins.
	Conflicts []string
	// Invalid are policies skipped because a selector cannot be read.
	Invalid []string
}

// Selected reports whether any policy selects the ModelDeployment.
func (r *Result) Selected() bool { return len(r.Effective.Policies) > 0 }

// Judge selects the policies that govern md (in a namespace with nsLabels)
// and merges them with its spec. signOffs are who set each of the spec's
// checklist overrides, by item id, as stamped at admission.
func Judge(policies []servingv1alpha1.ModelDeploymentPolicy, md *servingv1alpha1.ModelDeployment,
	nsLabels map[string]string, signOffs map[string]Signer) Result {
	selected, invalid := Select(policies, md, nsLabels)
	res := Merge(selected, md, signOffs)
	res.Invalid = invalid
	return res
}

// Select returns the policies whose namespaceSelector matches nsLabels and
// whose selector (if any) matches md's labels, sorted by name. A policy whose
// selector cannot be read is left out and named in invalid (the policy
// webhook refuses such selectors, so only a policy written before it can).
func Select(policies []servingv1alpha1.ModelDeploymentPolicy, md *servingv1alpha1.ModelDeployment,
	nsLabels map[string]string) (selected []*servingv1alpha1.ModelDeploymentPolicy, invalid []string) {
	for i := range policies {
		p := &policies[i]
		ok, err := Selects(p, md, nsLabels)
		switch {
		case err != nil:
			invalid = append(invalid, fmt.Sprintf("%s: %v", p.Name, err))
		case ok:
			selected = append(selected, p)
		}
	}
	slices.SortFunc(selected, func(a, b *servingv1alpha1.ModelDeploymentPolicy) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(invalid)
	return selected, invalid
}

// Selects reports whether p governs md in a namespace with nsLabels.
func Selects(p *servingv1alpha1.ModelDeploymentPolicy, md *servingv1alpha1.ModelDeployment, nsLabels map[string]string) (bool, error) {
	ok, err := matches(&p.Spec.NamespaceSelector, nsLabels)
	if err != nil || !ok {
		return false, wrap("spec.namespaceSelector", err)
	}
	if p.Spec.Selector == nil {
		return true, nil
	}
	ok, err = matches(p.Spec.Selector, md.Labels)
	return ok, wrap("spec.selector", err)
}

// matches reports whether sel selects set. A selector of matchLabels alone
// (the usual one) is matched without parsing, since admission judges every
// policy in the cluster on each write of a ModelDeployment.
func matches(sel *metav1.LabelSelector, set map[string]string) (bool, error) {
	if len(sel.MatchExpressions) == 0 {
		for k, v := range sel.MatchLabels {
			if got, ok := set[k]; !ok || got != v {
				return false, nil
			}
		}
		return true, nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false, err
	}
	return s.Matches(labels.Set(set)), nil
}

func wrap(field string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", field, err)
}

// Merge merges selected (sorted by name, as Select returns them) with md's
// spec. The strictest rule wins; between equally strict policies, the first
// by name is named as the source, so the result does not depend on the order
// policies were listed in.
func Merge(selected []*servingv1alpha1.ModelDeploymentPolicy, md *servingv1alpha1.ModelDeployment, signOffs map[string]Signer) Result {
	var res Result
	if len(selected) == 0 {
		return res
	}
	sorted := slices.Clone(selected)
	slices.SortFunc(sorted, func(a, b *servingv1alpha1.ModelDeploymentPolicy) int { return strings.Compare(a.Name, b.Name) })
	m := merger{md: md, signOffs: signOffs, res: &res}
	for _, p := range sorted {
		res.Effective.Policies = append(res.Effective.Policies, p.Name)
	}
	m.checklist(sorted)
	m.approvals(sorted)
	for _, p := range sorted {
		m.windows(p)
		m.analysis(p)
		m.sources(p)
	}
	slices.SortStableFunc(res.Violations, func(a, b Violation) int {
		return cmp.Or(strings.Compare(a.Policy, b.Policy), strings.Compare(a.Field, b.Field), strings.Compare(a.Message, b.Message))
	})
	return res
}

type merger struct {
	md       *servingv1alpha1.ModelDeployment
	signOffs map[string]Signer
	res      *Result
}

func (m *merger) violate(policy, field, format string, args ...any) {
	m.res.Violations = append(m.res.Violations, Violation{Policy: policy, Field: field, Message: fmt.Sprintf(format, args...)})
}

// checklist raises the profile to the strictest minimum and sets a floor
// under each item a policy names, unless the spec's override of it was signed
// off by a member of the groups that policy allows.
func (m *merger) checklist(policies []*servingv1alpha1.ModelDeploymentPolicy) {
	eff := &m.res.Effective.Checklist
	spec := m.md.Spec.Checklist
	specProfile := spec.Profile
	if specProfile == "" {
		specProfile = servingv1alpha1.ProfileProduction
	}
	eff.Profile = specProfile
	overrides := map[string]servingv1alpha1.ChecklistOverride{}
	for _, o := range spec.Overrides {
		overrides[o.ID] = o
	}
	for _, p := range policies {
		pc := p.Spec.Checklist
		if pc == nil {
			continue
		}
		if pc.MinimumProfile != "" && checklist.ProfileRank(pc.MinimumProfile) > checklist.ProfileRank(specProfile) {
			m.violate(p.Name, "spec.checklist.profile", "profile %s is below the minimum profile %s; set spec.checklist.profile to %s",
				specProfile, pc.MinimumProfile, pc.MinimumProfile)
			if checklist.ProfileRank(pc.MinimumProfile) > checklist.ProfileRank(eff.Profile) {
				eff.Profile, eff.ProfileSource = pc.MinimumProfile, p.Name
			}
		}
		for _, it := range pc.Items {
			floor := it.MinimumSeverity
			if floor == "" {
				floor = servingv1alpha1.SeverityEnforce
			}
			if o, ok := overrides[it.ID]; ok && checklist.SeverityRank(o.Severity) < checklist.SeverityRank(floor) {
				if m.signedOff(p.Name, it, o, floor) {
					continue
				}
			}
			if cur, ok := eff.Floors[it.ID]; !ok || checklist.SeverityRank(floor) > checklist.SeverityRank(cur.Severity) {
				if eff.Floors == nil {
					eff.Floors = map[string]checklist.Floor{}
				}
				eff.Floors[it.ID] = checklist.Floor{Severity: floor, Policy: p.Name}
			}
		}
	}
}

// signedOff reports whether the override o below the floor of item it is
// signed off; if not, it records why as a violation.
func (m *merger) signedOff(policy string, it servingv1alpha1.PolicyChecklistItem, o servingv1alpha1.ChecklistOverride, floor servingv1alpha1.Severity) bool {
	field := fmt.Sprintf("spec.checklist.overrides[id=%s].severity", it.ID)
	if len(it.OverrideGroups) == 0 {
		m.violate(policy, field, "item %s may not be lowered below %s, and %s is asked; remove the override or raise it to %s",
			it.ID, floor, o.Severity, floor)
		return false
	}
	who, ok := m.signOffs[it.ID]
	if ok && who.InAny(it.OverrideGroups) {
		return true
	}
	by := "no sign-off of it is recorded"
	if ok {
		by = fmt.Sprintf("it was set by %s, who is in none of them", who.User)
	}
	m.violate(policy, field, "item %s may be lowered below %s only by a member of %s, and for the override to %s %s; ask a member to set it, or raise it to %s",
		it.ID, floor, strings.Join(it.OverrideGroups, ", "), o.Severity, by, floor)
	return false
}

// approvals adds the policies' roles to the spec's. For a role named twice an
// approval must come from a group every source allows (the intersection);
// a spec whose groups for a role share none with a policy's is a violation,
// and the policy's groups stand.
func (m *merger) approvals(policies []*servingv1alpha1.ModelDeploymentPolicy) {
	eff := &m.res.Effective
	index := map[string]int{}
	if a := m.md.Spec.Approvals; a != nil {
		for _, r := range a.Required {
			index[r.Role] = len(eff.Approvals)
			eff.Approvals = append(eff.Approvals, Approval{Role: r.Role, Groups: sortedSet(r.Groups), Source: checklist.SourceSpec})
		}
	}
	for _, p := range policies {
		pa := p.Spec.Approvals
		if pa == nil {
			continue
		}
		if !pa.AllowSelfApproval && eff.SeparationOfDuties == "" {
			eff.SeparationOfDuties = p.Name
		}
		for _, r := range pa.Required {
			groups := sortedSet(r.Groups)
			i, seen := index[r.Role]
			if !seen {
				index[r.Role] = len(eff.Approvals)
				eff.Approvals = append(eff.Approvals, Approval{Role: r.Role, Groups: groups, Source: checklist.SourcePolicy + p.Name})
				continue
			}
			cur := &eff.Approvals[i]
			both := intersect(cur.Groups, groups)
			switch {
			case len(both) > 0:
				if !slices.Equal(both, cur.Groups) {
					cur.Groups, cur.Source = both, checklist.SourcePolicy+p.Name
				}
			case cur.Source == checklist.SourceSpec:
				m.violate(p.Name, fmt.Sprintf("spec.approvals.required[role=%s].groups", r.Role),
					"role %s may be approved only by a member of %s, and the spec names %s; name groups among the policy's",
					r.Role, strings.Join(groups, ", "), strings.Join(cur.Groups, ", "))
				cur.Groups, cur.Source = groups, checklist.SourcePolicy+p.Name
			default:
				m.res.Conflicts = append(m.res.Conflicts, fmt.Sprintf("policies %s and %s allow no common group for role %s; %s's groups stand",
					strings.TrimPrefix(cur.Source, checklist.SourcePolicy), p.Name, r.Role, strings.TrimPrefix(cur.Source, checklist.SourcePolicy)))
			}
		}
	}
}

func (m *merger) windows(p *servingv1alpha1.ModelDeploymentPolicy) {
	w := p.Spec.Windows
	if w == nil {
		return
	}
	eff := &m.res.Effective
	if len(w.OverrideGroups) > 0 {
		eff.WindowOverride = append(eff.WindowOverride, Groups{Groups: sortedSet(w.OverrideGroups), Policy: p.Name})
	}
	for _, win := range w.Allowed {
		eff.Windows = append(eff.Windows, Window{DeploymentWindow: win, Policy: p.Name})
	}
	for _, f := range w.Freezes {
		eff.Freezes = append(eff.Freezes, Freeze{Freeze: f, Policy: p.Name})
	}
}

// triggerOrder is the order of the triggers in the API.
var triggerOrder = []servingv1alpha1.TriggerName{
	servingv1alpha1.TriggerErrorRate, servingv1alpha1.TriggerLatencyP95, servingv1alpha1.TriggerAccuracyDrop,
}

func (m *merger) analysis(p *servingv1alpha1.ModelDeploymentPolicy) {
	pa := p.Spec.Analysis
	if pa == nil {
		return
	}
	eff := &m.res.Effective
	spec := &m.md.Spec
	if len(pa.AllowedStrategies) > 0 {
		allowed := slices.Clone(pa.AllowedStrategies)
		slices.Sort(allowed)
		eff.Strategies = append(eff.Strategies, Strategies{Allowed: allowed, Policy: p.Name})
		strategy := spec.Strategy.Type
		if strategy == "" {
			strategy = servingv1alpha1.StrategyRolling
		}
		if !slices.Contains(allowed, strategy) {
			m.violate(p.Name, "spec.strategy.type", "strategy %s is not allowed; use one of %s", strategy, joinStrings(allowed))
		}
	}
	for _, name := range triggerOrder {
		if !slices.Contains(pa.RequiredTriggers, name) {
			continue
		}
		if !slices.ContainsFunc(eff.Triggers, func(t Trigger) bool { return t.Name == name }) {
			eff.Triggers = append(eff.Triggers, Trigger{Name: name, Policy: p.Name})
			slices.SortStableFunc(eff.Triggers, func(a, b Trigger) int {
				return slices.Index(triggerOrder, a.Name) - slices.Index(triggerOrder, b.Name)
			})
		}
		if !declaresTrigger(spec.Analysis, name) {
			m.violate(p.Name, "spec.analysis.triggers."+string(name), "the rollback trigger %s must be declared", name)
		}
	}
	if d := pa.MinCanaryDuration; d != nil {
		raise(&eff.MinCanaryDuration, d.Duration, p.Name)
		if spec.Strategy.Type == servingv1alpha1.StrategyCanary {
			if got := CanaryDuration(spec.Strategy.Canary); got < d.Duration {
				m.violate(p.Name, "spec.strategy.canary.steps", "the canary's timed pauses add up to %s, less than the minimum %s; lengthen the pauses",
					got, d.Duration)
			}
		}
	}
	if d := pa.MinBake; d != nil {
		raise(&eff.MinBake, d.Duration, p.Name)
		var got time.Duration
		if spec.Analysis != nil && spec.Analysis.Bake != nil {
			got = spec.Analysis.Bake.Duration
		}
		if got < d.Duration {
			m.violate(p.Name, "spec.analysis.bake", "bake is %s, less than the minimum %s; set spec.analysis.bake to at least %s", got, d.Duration, d.Duration)
		}
	}
}

// raise sets d to min when min is longer; the first policy by name keeps a tie.
func raise(d *Duration, minimum time.Duration, policy string) {
	if d.Policy == "" || minimum > d.Min {
		d.Min, d.Policy = minimum, policy
	}
}

// CanaryDuration is the time a canary's timed pauses add up to; a pause
// waiting for a person counts as none.
func CanaryDuration(c *servingv1alpha1.CanaryStrategy) time.Duration {
	var total time.Duration
	if c == nil {
		return 0
	}
	for _, s := range c.Steps {
		if s.Pause != nil && s.Pause.Duration != nil {
			total += s.Pause.Duration.Duration
		}
	}
	return total
}

func declaresTrigger(a *servingv1alpha1.AnalysisSpec, name servingv1alpha1.TriggerName) bool {
	if a == nil || a.Triggers == nil {
		return false
	}
	switch name {
	case servingv1alpha1.TriggerErrorRate:
		return a.Triggers.ErrorRate != nil
	case servingv1alpha1.TriggerLatencyP95:
		return a.Triggers.LatencyP95 != nil
	case servingv1alpha1.TriggerAccuracyDrop:
		return a.Triggers.AccuracyDrop != nil
	}
	return false
}

func (m *merger) sources(p *servingv1alpha1.ModelDeploymentPolicy) {
	ps := p.Spec.Sources
	if ps == nil {
		return
	}
	eff := &m.res.Effective
	spec := &m.md.Spec
	if len(ps.ArtifactURIPrefixes) > 0 {
		allowed := sortedSet(ps.ArtifactURIPrefixes)
		eff.ArtifactURIPrefixes = append(eff.ArtifactURIPrefixes, Prefixes{Prefixes: allowed, Policy: p.Name})
		if !hasPrefix(spec.Model.URI, allowed) {
			m.violate(p.Name, "spec.model.uri", "artifact %s is not under an allowed prefix (%s)", spec.Model.URI, strings.Join(allowed, ", "))
		}
	}
	if len(ps.ImageRegistries) > 0 {
		allowed := sortedSet(ps.ImageRegistries)
		eff.ImageRegistries = append(eff.ImageRegistries, Prefixes{Prefixes: allowed, Policy: p.Name})
		check := func(kind string, cs []corev1.Container) {
			for _, c := range cs {
				if !hasPrefix(c.Image, allowed) {
					m.violate(p.Name, fmt.Sprintf("spec.template.spec.%s[name=%s].image", kind, c.Name),
						"image %s is not from an allowed registry (%s)", c.Image, strings.Join(allowed, ", "))
				}
			}
		}
		check("initContainers", spec.Template.Spec.InitContainers)
		check("containers", spec.Template.Spec.Containers)
	}
}

func hasPrefix(s string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(s, p) })
}

func sortedSet(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func joinStrings[T ~string](items []T) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = string(it)
	}
	return strings.Join(parts, ", ")
}
