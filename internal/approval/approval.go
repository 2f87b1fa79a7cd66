// Package approval judges sign-offs: which of a ModelDeployment's required
// roles the ModelApprovals given for a version satisfy, which attested
// checklist items they tick, and why an approval that does not count does not.
// Identity comes from what the admission webhook stamped, never from the user.
package approval

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// Result is the judgement of the approvals of one version.
type Result struct {
	// Required is false when the spec asks for no approval.
	Required bool
	// Given are the approvals that count, one per role (the oldest), in the
	// spec's order of roles.
	Given []servingv1alpha1.GivenApproval
	// Missing are the required roles not approved yet, in spec order.
	Missing []string
	// Ignored says, for each approval of this version that does not count, why.
	Ignored []string
	// Attested are the attested items ticked, by item id.
	Attested map[string]servingv1alpha1.GivenApproval
}

// Approved reports whether every required role is approved.
func (r Result) Approved() bool { return len(r.Missing) == 0 }

// Approvers are the sign-offs as role=user, for the history.
func (r Result) Approvers() []string {
	out := make([]string, 0, len(r.Given))
	for _, g := range r.Given {
		out = append(out, g.Role+"="+g.Approver)
	}
	return out
}

// Message says what is approved, missing and ignored, for the Approved condition.
func (r Result) Message(version string) string {
	var parts []string
	if len(r.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("Version %s waits for the approval of %s (create a ModelApproval for version %s with that role)",
			version, strings.Join(r.Missing, ", "), version))
	} else {
		parts = append(parts, fmt.Sprintf("Version %s is approved by %s", version, strings.Join(r.Approvers(), ", ")))
	}
	if len(r.Ignored) > 0 {
		parts = append(parts, "not counted: "+strings.Join(r.Ignored, "; "))
	}
	return strings.Join(parts, "; ")
}

// Digest identifies what an approval covers: the ModelDeployment's name, its
// model version and URI, its serving container and pod template, and the
// names of the config copies its revision reads (configrollout.Names, which
// carry a hash of their data). Anything else in the spec (replicas,
// strategy, analysis) may change under an approval; a change of any of these
// needs a new one. Without config copies the digest is what it was before
// config rollouts, so approvals given then still count.
func Digest(md *servingv1alpha1.ModelDeployment, config ...string) string {
	b, _ := json.Marshal(struct { // always marshals: plain API types
		Name, Version, URI, ServingContainer string
		Template                             any
		Config                               []string `json:",omitempty"`
	}{md.Name, md.Spec.Model.Version, md.Spec.Model.URI, md.Spec.ServingContainer, md.Spec.Template, config})
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Judge counts the approvals of md's version. An approval counts only for the
// ModelDeployment (by UID) and the digest of its spec it was given for (see
// Digest, stamped at admission), for the exact version it names, for a role the spec requires, and only when the
// groups stamped at admission include one the spec allows for that role; an
// attestation approval (spec.item) ticks its item under the same rules, the
// item's role taking its groups from spec.approvals. config names the
// config copies the spec's revision reads (see Digest).
func Judge(md *servingv1alpha1.ModelDeployment, version string, approvals []servingv1alpha1.ModelApproval, config ...string) Result {
	res := Result{Attested: map[string]servingv1alpha1.GivenApproval{}}
	allowed := map[string][]string{}
	var roles []string
	if a := md.Spec.Approvals; a != nil {
		res.Required = len(a.Required) > 0
		for _, r := range a.Required {
			allowed[r.Role] = r.Groups
			roles = append(roles, r.Role)
		}
	}
	attestations := map[string]servingv1alpha1.Attestation{}
	for _, at := range md.Spec.Checklist.Attestations {
		attestations[at.ID] = at
	}
	// Oldest first, so the first approval of a role is the one shown.
	sorted := slices.Clone(approvals)
	sort.SliceStable(sorted, func(i, j int) bool {
		return sorted[i].CreationTimestamp.Before(&sorted[j].CreationTimestamp)
	})
	given := map[string]bool{}
	digest := Digest(md, config...)
	for _, ap := range sorted {
		s := ap.Spec
		if s.ModelDeployment != md.Name || s.Version != version || !ap.DeletionTimestamp.IsZero() {
			continue
		}
		why := refuse(ap, allowed, attestations)
		if why == "" {
			why = stale(ap, md, digest)
		}
		if why != "" {
			res.Ignored = append(res.Ignored, why)
			continue
		}
		g := servingv1alpha1.GivenApproval{Role: s.Role, Version: s.Version, Approver: s.Approver.Username,
			ApprovedAt: s.Approver.ApprovedAt, Approval: ap.Name, Comment: s.Comment, Digest: s.Digest}
		if s.Item != "" {
			if _, seen := res.Attested[s.Item]; !seen {
				res.Attested[s.Item] = g
			}
			continue
		}
		if !given[s.Role] {
			given[s.Role] = true
			res.Given = append(res.Given, g)
		}
	}
	for _, r := range roles {
		if !given[r] {
			res.Missing = append(res.Missing, r)
		}
	}
	// In the spec's order of roles, whatever order they were given in.
	sort.SliceStable(res.Given, func(i, j int) bool {
		return slices.Index(roles, res.Given[i].Role) < slices.Index(roles, res.Given[j].Role)
	})
	return res
}

// stale says why an approval was given for something other than what the
// spec asks for now, or "": another ModelDeployment of the same name, or a
// spec of the same version whose model, template or config changed since.
func stale(ap servingv1alpha1.ModelApproval, md *servingv1alpha1.ModelDeployment, digest string) string {
	s := ap.Spec
	switch {
	case s.Digest == "" || s.ModelDeploymentUID == "":
		return fmt.Sprintf("%s carries no digest of what it approves (was %s created before the ModelApproval, and is modelgate's webhook installed?)", ap.Name, md.Name)
	case s.ModelDeploymentUID != string(md.UID):
		return fmt.Sprintf("%s was given for an earlier ModelDeployment named %s (uid %s)", ap.Name, md.Name, s.ModelDeploymentUID)
	case s.Digest != digest:
		return fmt.Sprintf("%s approved %s, but the model, its template or the config it reads changed since (now %s): approve again", ap.Name, short(s.Digest), short(digest))
	}
	return ""
}

// short is the start of a digest, enough to tell two apart in a message.
func short(digest string) string {
	if len(digest) > len("sha256:")+12 {
		return digest[:len("sha256:")+12]
	}
	return digest
}

// refuse says why an approval of the version does not count, or "".
func refuse(ap servingv1alpha1.ModelApproval, allowed map[string][]string, attestations map[string]servingv1alpha1.Attestation) string {
	s := ap.Spec
	who := "someone unknown"
	if s.Approver != nil {
		who = s.Approver.Username
	}
	if s.Item != "" {
		at, ok := attestations[s.Item]
		switch {
		case !ok:
			return fmt.Sprintf("%s by %s attests item %q, which spec.checklist.attestations does not declare", ap.Name, who, s.Item)
		case at.Role != s.Role:
			return fmt.Sprintf("%s by %s attests item %q as %s, but the item is attested by role %s", ap.Name, who, s.Item, s.Role, at.Role)
		}
	}
	groups, ok := allowed[s.Role]
	switch {
	case s.Approver == nil:
		return fmt.Sprintf("%s carries no approver stamped at admission (is modelgate's webhook installed?)", ap.Name)
	case !ok && s.Item == "":
		return fmt.Sprintf("%s by %s is for role %s, which spec.approvals does not require", ap.Name, who, s.Role)
	case !ok:
		return fmt.Sprintf("%s by %s attests item %q as %s, a role spec.approvals does not list, so no group may give it", ap.Name, who, s.Item, s.Role)
	}
	for _, g := range s.Approver.Groups {
		if slices.Contains(groups, g) {
			return ""
		}
	}
	return fmt.Sprintf("%s by %s is for role %s, but %s is in none of its groups (%s)", ap.Name, who, s.Role, who, strings.Join(groups, ", "))
}

// WithoutSelfApprovals drops the approvals given by changedBy, the user who
// last changed the model version, its URI or the template (as stamped at
// admission in serving.modelgate.dev/spec-changed-by), when policy (the
// ModelDeploymentPolicy requiring separation of duties) is not empty. It
// returns the approvals that may count and, for each dropped one, why, in
// the words of Result.Ignored. With no policy, or nobody recorded, nothing is
// dropped.
func WithoutSelfApprovals(approvals []servingv1alpha1.ModelApproval, changedBy, policy string) (kept []servingv1alpha1.ModelApproval, ignored []string) {
	if policy == "" || changedBy == "" {
		return approvals, nil
	}
	kept = make([]servingv1alpha1.ModelApproval, 0, len(approvals))
	for _, ap := range approvals {
		if ap.Spec.Approver == nil || ap.Spec.Approver.Username != changedBy {
			kept = append(kept, ap)
			continue
		}
		ignored = append(ignored, fmt.Sprintf("%s by %s does not count: %s last changed the model or its template, and policy %s requires an approval by someone else (separation of duties)",
			ap.Name, changedBy, changedBy, policy))
	}
	return kept, ignored
}
