package analysis

import (
	"strings"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// Subject is what an analysis measures: a version, and which revision of
// it. A change of the template or the URI under the same version number is
// a later revision running beside the stable one, whose metrics carry its
// revision (desiredstate.RevisionLabel, the {{.Revision}} of a query); a
// first revision's carry none, so Revision "" selects it, and the series of
// servers that ran before modelgate reported revisions.
type Subject struct {
	Version  string
	Revision string
}

// SubjectOf is the subject of version running in deployment, its
// Deployment's name telling the revision (desiredstate.RevisionOf).
func SubjectOf(md *servingv1alpha1.ModelDeployment, version, deployment string) Subject {
	return Subject{Version: version, Revision: desiredstate.RevisionLabel(version, desiredstate.RevisionOf(md, version, deployment))}
}

// String names the subject in messages: "2.4.0", or "2.4.0 (revision
// 0a1b2c3d)" for a later revision.
func (s Subject) String() string {
	if s.Revision == "" {
		return s.Version
	}
	_, hash, ok := strings.Cut(s.Revision, "_.")
	if !ok {
		hash = s.Revision
	}
	return s.Version + " (revision " + hash + ")"
}

// Of reports whether the analysis status st is of s: its counts start
// again for another version or another revision of the same.
func (s Subject) Of(st *servingv1alpha1.AnalysisStatus) bool {
	return st != nil && st.Version == s.Version && st.Revision == s.Revision
}
