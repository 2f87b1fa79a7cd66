package analysis

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// A changed template under the same version number is a later revision: its
// Deployment's name says which, and its series carry its revision label.
func TestSubjectOf(t *testing.T) {
	g := NewWithT(t)
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer"}}
	first, later := SubjectOf(md, "2.4.0", "fraud-scorer-v2-4-0"), SubjectOf(md, "2.4.0", "fraud-scorer-v2-4-0-0a1b2c3d")
	g.Expect(first).To(Equal(Subject{Version: "2.4.0"}))
	g.Expect(later).To(Equal(Subject{Version: "2.4.0", Revision: "2.4.0_.0a1b2c3d"}))
	g.Expect(SubjectOf(md, "2.4.0", "")).To(Equal(first), "a status written before Deployments were named there")
	g.Expect(first.String()).To(Equal("2.4.0"))
	g.Expect(later.String()).To(Equal("2.4.0 (revision 0a1b2c3d)"))
}

// The stable and the candidate revision of one version are asked for and
// judged apart: every comparison with stable, and the sequential judge's
// counts, set the candidate's series against the stable's.
func TestSameVersionRevisionsJudgedApart(t *testing.T) {
	g := NewWithT(t)
	cand, stable := Subject{Version: "2.0.0", Revision: "2.0.0_.0a1b2c3d"}, Subject{Version: "2.0.0"}
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "fraud-scorer"}}
	md.Spec.Analysis = relativeSpec(func(s *servingv1alpha1.AnalysisSpec) {
		s.Judge = &servingv1alpha1.JudgeSpec{Method: servingv1alpha1.JudgeSequential, Confidence: "0.95", TolerancePercent: "0"}
		s.Metrics = []servingv1alpha1.CustomMetric{{Name: "approvals", Query: `approvals{revision="{{.Revision}}"}`}}
	})
	qs, err := Queries(md, cand, stable, time.Minute)
	g.Expect(err).NotTo(HaveOccurred())
	counts, err := JudgeQueries(md, cand, stable, time.Minute, now.Add(-5*time.Minute), now)
	g.Expect(err).NotTo(HaveOccurred())
	for _, q := range append(qs, counts...) {
		if q.Subject() == cand {
			g.Expect(q.PromQL).To(Or(ContainSubstring(`version="2.0.0",revision="2.0.0_.0a1b2c3d"`), Equal(`approvals{revision="2.0.0_.0a1b2c3d"}`)), q.Metric)
		} else {
			g.Expect(q.Subject()).To(Equal(stable))
			g.Expect(q.PromQL).To(ContainSubstring(`version="2.0.0",revision=""`), q.Metric)
		}
	}

	of := func(s Subject, metric string, v float64) Sample {
		return Sample{Query: Query{Metric: metric, Version: s.Version, Revision: s.Revision, PromQL: metric + "{" + s.Revision + "}"}, Value: v}
	}
	samples := []Sample{
		of(cand, MetricRequests, 400), of(cand, MetricErrorRate, 12), of(cand, MetricLatencyP95, 120),
		of(cand, MetricAccuracy, 0.80), of(stable, MetricAccuracy, 0.94),
		of(stable, MetricErrorRate, 0.5), of(stable, MetricLatencyP95, 110),
		of(cand, MetricJudgeRequests, 5000), of(cand, MetricJudgeErrors, 600),
		of(stable, MetricJudgeRequests, 45000), of(stable, MetricJudgeErrors, 225),
	}
	md.Spec.Analysis.Triggers.ErrorRate.MaxPercent = "50" // the relative bound alone breaches
	prev := &servingv1alpha1.AnalysisStatus{Version: "2.0.0", Breaches: 7, LastRound: &servingv1alpha1.AnalysisRound{Verdict: servingv1alpha1.VerdictPass}}
	st := Judge(md.Spec.Analysis, cand, samples, prev, now)
	g.Expect(st.Version).To(Equal("2.0.0"))
	g.Expect(st.Revision).To(Equal("2.0.0_.0a1b2c3d"))
	got := lastRound(st)
	g.Expect(got[MetricErrorRateIncrease].Verdict).To(Equal(servingv1alpha1.VerdictBreach))
	g.Expect(got[MetricErrorRateIncrease].Message).To(Equal("12 against 0.5 of version 2.0.0"))
	g.Expect(got[MetricAccuracyDrop].Verdict).To(Equal(servingv1alpha1.VerdictBreach))
	g.Expect(got[MetricJudge].Verdict).To(Equal(servingv1alpha1.VerdictBreach))
	g.Expect(got[MetricJudge].Message).To(ContainSubstring("from 5000 requests of version 2.0.0 (revision 0a1b2c3d) and 45000 of version 2.0.0 since"))
	g.Expect(st.Breaches).To(BeEquivalentTo(3), "three breaches of this round; the stable revision's 7 are not the candidate's")
	g.Expect(st.LastRound.Message).To(Equal("accuracyDrop of version 2.0.0 (revision 0a1b2c3d) is 14.8936, outside the bound <= 2 (accuracy 0.8 against 0.94 of version 2.0.0)"))
	why, failed := Failed(md.Spec.Analysis, st, cand)
	g.Expect(failed).To(BeTrue())
	g.Expect(why).To(HavePrefix("analysis of version 2.0.0 (revision 0a1b2c3d) breached 3 time(s)"))
	_, failed = Failed(md.Spec.Analysis, st, stable)
	g.Expect(failed).To(BeFalse(), "the candidate's breaches are not the stable revision's")
	g.Expect(PassedSince(prev, cand, time.Time{})).To(BeFalse(), "a round of the stable revision says nothing of the candidate")
	g.Expect(strings.Count(st.LastRound.Message, "revision")).To(Equal(1))
}
