// Package statusbound cuts the strings of a ModelDeployment's status to the
// bounds its schema declares, with an ellipsis, just before status is
// written: one choke point, so no message of any origin can make the patch
// fail validation or swell the object.
package statusbound

import (
	"unicode/utf8"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

const ellipsis = "…"

// Cut returns s when it holds at most max bytes, else its longest prefix
// that ends on a character boundary and, with an ellipsis added, holds at
// most max bytes.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max < len(ellipsis) {
		return ""
	}
	n := max - len(ellipsis)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + ellipsis
}

// Apply cuts every string of st to its bound.
func Apply(st *servingv1alpha1.ModelDeploymentStatus) {
	const (
		msg    = servingv1alpha1.MaxStatusMessage
		name   = servingv1alpha1.MaxStatusName
		figure = servingv1alpha1.MaxStatusFigure
	)
	cut := func(s *string, max int) { *s = Cut(*s, max) }
	for i := range st.Conditions {
		cut(&st.Conditions[i].Message, servingv1alpha1.MaxConditionMessage)
	}
	cut(&st.Selector, msg)
	for _, v := range []*servingv1alpha1.VersionStatus{st.Stable, st.Previous, st.Rejected} {
		version(v)
	}
	if st.Candidate != nil {
		version(&st.Candidate.VersionStatus)
		for i := range st.Candidate.Requests {
			cut(&st.Candidate.Requests[i], servingv1alpha1.MaxStatusRequest)
		}
	}
	r := &st.Requests
	for _, s := range []*string{&r.Promote, &r.PromoteFull, &r.Abort, &r.Retry} {
		cut(s, servingv1alpha1.MaxRequestValue)
	}
	for _, s := range []*string{&r.PromoteBy, &r.PromoteFullBy, &r.AbortBy, &r.RetryBy} {
		cut(s, name)
	}
	if c := st.Checklist; c != nil {
		cut(&c.Version, name)
		cut(&c.Summary, msg)
		for i := range c.Items {
			it := &c.Items[i]
			cut(&it.ID, name)
			cut(&it.Section, name)
			cut(&it.Message, msg)
			cut(&it.Remediation, msg)
			cut(&it.OverrideReason, msg)
			cut(&it.AttestedBy, name)
		}
	}
	if p := st.Policy; p != nil {
		for i := range p.Policies {
			cut(&p.Policies[i], name)
		}
		for i := range p.Violations {
			v := &p.Violations[i]
			cut(&v.Policy, name)
			cut(&v.Field, name)
			cut(&v.Message, msg)
		}
	}
	if a := st.Analysis; a != nil {
		cut(&a.Version, name)
		cut(&a.Revision, name)
		if a.LastRound != nil {
			cut(&a.LastRound.Message, msg)
		}
		for i := range a.Measurements {
			m := &a.Measurements[i]
			cut(&m.Metric, name)
			cut(&m.Version, name)
			cut(&m.Value, figure)
			cut(&m.Bound, figure)
			cut(&m.Query, servingv1alpha1.MaxStatusQuery)
			cut(&m.Message, msg)
		}
	}
	for i := range st.Approvals {
		a := &st.Approvals[i]
		cut(&a.Role, name)
		cut(&a.Version, name)
		cut(&a.Approver, name)
		cut(&a.Approval, name)
		cut(&a.Comment, msg)
	}
	loadTest(st.LoadTest)
	for i := range st.History {
		h := &st.History[i]
		cut(&h.Version, name)
		cut(&h.Previous, name)
		cut(&h.Reason, name)
		cut(&h.Message, msg)
		for j := range h.Approvers {
			cut(&h.Approvers[j], msg)
		}
		cut(&h.Checklist, msg)
		cut(&h.WindowOverride, msg)
		for j := range h.Requests {
			cut(&h.Requests[j], servingv1alpha1.MaxStatusRequest)
		}
		loadTest(h.LoadTest)
	}
}

func version(v *servingv1alpha1.VersionStatus) {
	if v == nil {
		return
	}
	v.Version = Cut(v.Version, servingv1alpha1.MaxStatusName)
	v.Deployment = Cut(v.Deployment, servingv1alpha1.MaxStatusName)
	v.TemplateHash = Cut(v.TemplateHash, servingv1alpha1.MaxStatusName)
}

func loadTest(l *servingv1alpha1.LoadTestStatus) {
	if l == nil {
		return
	}
	l.Version = Cut(l.Version, servingv1alpha1.MaxStatusName)
	for _, s := range []*string{&l.AchievedRPS, &l.ErrorPercent, &l.P50Ms, &l.P95Ms, &l.P99Ms} {
		*s = Cut(*s, servingv1alpha1.MaxStatusFigure)
	}
	l.Message = Cut(l.Message, servingv1alpha1.MaxStatusMessage)
}
