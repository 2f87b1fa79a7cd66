package checklist

import (
	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// PolicySeverities is what the platform's ModelDeploymentPolicies make of the
// severities a spec asks for (internal/policy computes it): the profile the
// defaults come from and a floor under single items. Evaluate applies it when
// Inputs.Policy is set; without it the spec's profile and overrides decide
// alone, as they always did.
type PolicySeverities struct {
	// Profile the item defaults come from: the spec's, or a policy's minimum
	// profile when that is stricter. Empty keeps the spec's.
	Profile servingv1alpha1.ChecklistProfile
	// ProfileSource names the policy that raised the profile; empty when the
	// spec's stands.
	ProfileSource string
	// Floors are the least severity of items, by id (catalogue or attested),
	// with the policy that set each. An override a policy let through with a
	// sign-off has no floor here.
	Floors map[string]Floor
}

// Floor is the least severity of one item and the policy that set it.
type Floor struct {
	Severity servingv1alpha1.Severity
	Policy   string
}

// SourceSpec and SourcePolicy are the values of an item's severitySource.
const (
	SourceSpec   = "spec"
	SourcePolicy = "policy/"
)

// SeverityRank orders severities from the least strict (Off) to the most
// (Enforce); an unknown severity ranks as Off.
func SeverityRank(s servingv1alpha1.Severity) int {
	switch s {
	case servingv1alpha1.SeverityEnforce:
		return 2
	case servingv1alpha1.SeverityWarn:
		return 1
	}
	return 0
}

// ProfileRank orders profiles from the least strict (development) to the
// most (production); empty is production, the API's default.
func ProfileRank(p servingv1alpha1.ChecklistProfile) int {
	switch p {
	case servingv1alpha1.ProfileDevelopment:
		return 0
	case servingv1alpha1.ProfileStaging:
		return 1
	}
	return 2
}

// profileOf is the profile the item defaults of in come from.
func profileOf(in *Inputs) servingv1alpha1.ChecklistProfile {
	if in.Policy != nil && in.Policy.Profile != "" {
		return in.Policy.Profile
	}
	if p := in.MD.Spec.Checklist.Profile; p != "" {
		return p
	}
	return servingv1alpha1.ProfileProduction
}

// applyPolicy raises item's severity to its floor and says what set it.
// fromProfile is true when the severity came from the profile rather than an
// override. Without a policy it leaves the item as the spec made it.
func (p *PolicySeverities) applyPolicy(item *servingv1alpha1.ChecklistItemStatus, fromProfile bool) {
	if p == nil {
		return
	}
	item.SeveritySource = SourceSpec
	if fromProfile && p.ProfileSource != "" {
		item.SeveritySource = SourcePolicy + p.ProfileSource
	}
	if f, ok := p.Floors[item.ID]; ok && SeverityRank(f.Severity) > SeverityRank(item.Severity) {
		item.Severity, item.SeveritySource = f.Severity, SourcePolicy+f.Policy
	}
}

// Severity is the severity item id runs at for in: the profile's (raised by
// a policy's minimum profile), the spec's override, then a policy's floor.
// The gatherer uses it to skip network probes for items that are off.
func (in *Inputs) Severity(id string) servingv1alpha1.Severity {
	item := servingv1alpha1.ChecklistItemStatus{ID: id, Severity: off}
	profile := profileOf(in)
	for _, it := range table {
		if it.id == id {
			item.Severity = it.severity(profile)
		}
	}
	fromProfile := true
	for _, o := range in.MD.Spec.Checklist.Overrides {
		if o.ID == id {
			item.Severity, fromProfile = o.Severity, false
		}
	}
	in.Policy.applyPolicy(&item, fromProfile)
	return item.Severity
}

// severity is the item's severity in profile, without building the map
// Check.Severity holds: the gatherer asks for every item on each reconcile.
func (it item) severity(profile servingv1alpha1.ChecklistProfile) servingv1alpha1.Severity {
	switch profile {
	case servingv1alpha1.ProfileDevelopment:
		return it.dev
	case servingv1alpha1.ProfileStaging:
		return it.staging
	}
	return it.production
}
