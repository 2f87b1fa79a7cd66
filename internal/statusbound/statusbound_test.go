package statusbound

import (
	"strings"
	"testing"
	"unicode/utf8"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven byte", 10, "eleven …"},
		{"ééééé", 8, "éé…"}, // never half a character
		{"abc", 2, ""},
		{"", 0, ""},
	} {
		g := NewWithT(t)
		got := Cut(tc.in, tc.max)
		g.Expect(got).To(Equal(tc.want), "Cut(%q, %d)", tc.in, tc.max)
		g.Expect(len(got)).To(BeNumerically("<=", tc.max))
		g.Expect(utf8.ValidString(got)).To(BeTrue())
	}
}

// A Prometheus error of a megabyte, a huge condition message, a long abort
// reason: every string leaves within its schema bound.
func TestApply(t *testing.T) {
	g := NewWithT(t)
	huge := strings.Repeat("x", 1<<20)
	st := servingv1alpha1.ModelDeploymentStatus{
		Conditions: []metav1.Condition{{Type: "Ready", Message: huge}},
		Candidate:  &servingv1alpha1.CandidateStatus{VersionStatus: servingv1alpha1.VersionStatus{Version: "2.0.0"}, Requests: []string{huge}},
		Requests:   servingv1alpha1.HandledRequests{Abort: huge, AbortBy: huge},
		Checklist:  &servingv1alpha1.ChecklistStatus{Summary: huge, Items: []servingv1alpha1.ChecklistItemStatus{{ID: "pdb", Message: huge}}},
		Analysis: &servingv1alpha1.AnalysisStatus{LastRound: &servingv1alpha1.AnalysisRound{Message: huge},
			Measurements: []servingv1alpha1.Measurement{{Metric: "errorRate", Message: huge, Query: huge}}},
		History: []servingv1alpha1.HistoryEntry{{Version: "2.0.0", Reason: huge, Message: huge, Requests: []string{huge}}},
	}
	Apply(&st)
	g.Expect(st.Conditions[0].Message).To(HaveLen(servingv1alpha1.MaxConditionMessage))
	g.Expect(st.Conditions[0].Message).To(HaveSuffix("…"))
	g.Expect(st.Candidate.Requests[0]).To(HaveLen(servingv1alpha1.MaxStatusRequest))
	g.Expect(st.Requests.Abort).To(HaveLen(servingv1alpha1.MaxRequestValue))
	g.Expect(st.Requests.AbortBy).To(HaveLen(servingv1alpha1.MaxStatusName))
	g.Expect(st.Checklist.Summary).To(HaveLen(servingv1alpha1.MaxStatusMessage))
	g.Expect(st.Checklist.Items[0].Message).To(HaveLen(servingv1alpha1.MaxStatusMessage))
	g.Expect(st.Analysis.LastRound.Message).To(HaveLen(servingv1alpha1.MaxStatusMessage))
	g.Expect(st.Analysis.Measurements[0].Message).To(HaveLen(servingv1alpha1.MaxStatusMessage))
	g.Expect(st.Analysis.Measurements[0].Query).To(HaveLen(servingv1alpha1.MaxStatusQuery))
	g.Expect(st.History[0].Reason).To(HaveLen(servingv1alpha1.MaxStatusName))
	g.Expect(st.History[0].Message).To(HaveLen(servingv1alpha1.MaxStatusMessage))
	g.Expect(st.History[0].Requests[0]).To(HaveLen(servingv1alpha1.MaxStatusRequest))
	g.Expect(st.History[0].Version).To(Equal("2.0.0"), "short strings are left alone")
}
