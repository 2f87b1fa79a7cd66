package analysis

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func judgeSpec(tolerance string, promoteEarly bool) *servingv1alpha1.AnalysisSpec {
	return spec(func(s *servingv1alpha1.AnalysisSpec) {
		s.Judge = &servingv1alpha1.JudgeSpec{Method: servingv1alpha1.JudgeSequential, Confidence: "0.95",
			TolerancePercent: servingv1alpha1.Percent(tolerance), PromoteEarly: promoteEarly}
	})
}

// counted is a healthy round with each version's counts since the analysis began.
func counted(candRequests, candErrors, stableRequests, stableErrors float64) []Sample {
	return append(healthy(),
		sample(MetricJudgeRequests, "2.0.0", candRequests), sample(MetricJudgeErrors, "2.0.0", candErrors),
		sample(MetricJudgeRequests, "1.0.0", stableRequests), sample(MetricJudgeErrors, "1.0.0", stableErrors))
}

func TestSequentialJudge(t *testing.T) {
	tests := []struct {
		name    string
		spec    *servingv1alpha1.AnalysisSpec
		samples []Sample
		verdict servingv1alpha1.Verdict // of the judge's measurement
		judge   servingv1alpha1.JudgeVerdict
		round   servingv1alpha1.Verdict
		message string // the measurement's, prefix
	}{
		{
			name: "five times stable's error rate", spec: judgeSpec("0", false), samples: counted(5000, 250, 45000, 450),
			verdict: servingv1alpha1.VerdictBreach, judge: servingv1alpha1.JudgeBreach, round: servingv1alpha1.VerdictBreach,
			message: "Breach: candidate error rate ",
		},
		{
			name: "as good as stable, within one point", spec: judgeSpec("1", true), samples: counted(5000, 50, 45000, 450),
			verdict: servingv1alpha1.VerdictPass, judge: servingv1alpha1.JudgePassEarly, round: servingv1alpha1.VerdictPass,
			message: "PassEarly: candidate error rate ",
		},
		{
			name: "as good as stable, with no tolerance", spec: judgeSpec("0", true), samples: counted(5000, 50, 45000, 450),
			verdict: servingv1alpha1.VerdictPass, judge: servingv1alpha1.JudgeContinue, round: servingv1alpha1.VerdictPass,
			message: "Continue: ",
		},
		{
			name: "too few requests to tell", spec: judgeSpec("1", true), samples: counted(100, 1, 900, 9),
			verdict: servingv1alpha1.VerdictPass, judge: servingv1alpha1.JudgeContinue, round: servingv1alpha1.VerdictPass,
			message: "Continue: candidate error rate ",
		},
		{
			name: "no error series is no error", spec: judgeSpec("1", true),
			samples: with(counted(5000, 0, 45000, 450), failing(MetricJudgeErrors, "2.0.0", ErrNoData)),
			verdict: servingv1alpha1.VerdictPass, judge: servingv1alpha1.JudgePassEarly, round: servingv1alpha1.VerdictPass,
		},
		{
			name: "no stable version", spec: judgeSpec("0", false), samples: healthy(),
			verdict: servingv1alpha1.VerdictNoData, round: servingv1alpha1.VerdictNoData,
			message: "no stable version to compare with",
		},
		{
			name: "a count that failed", spec: judgeSpec("0", false),
			samples: with(counted(5000, 50, 45000, 450), failing(MetricJudgeRequests, "1.0.0", errTimeout)),
			verdict: servingv1alpha1.VerdictError, round: servingv1alpha1.VerdictError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			st := Judge(tt.spec, v("2.0.0"), tt.samples, nil, now)
			g.Expect(st.LastRound.Verdict).To(Equal(tt.round))
			var m *servingv1alpha1.Measurement
			for i := range st.Measurements {
				if st.Measurements[i].Metric == MetricJudge {
					m = &st.Measurements[i]
				}
			}
			g.Expect(m).NotTo(BeNil())
			g.Expect(m.Verdict).To(Equal(tt.verdict))
			g.Expect(m.Message).To(HavePrefix(tt.message))
			if tt.judge == "" {
				g.Expect(st.Judge).To(BeNil())
				return
			}
			g.Expect(st.Judge.Verdict).To(Equal(tt.judge))
			g.Expect(st.Judge.Message).To(Equal(m.Message))
			g.Expect(m.Bound).To(Equal("<= " + string(tt.spec.Judge.TolerancePercent)))
			g.Expect(m.Message).To(ContainSubstring("requests of version 2.0.0"))
			g.Expect(m.Query).To(Equal(MetricJudgeRequests+"{2.0.0}"), "the candidate's count")
		})
	}
}

var errTimeout = errorString("timeout")

type errorString string

func (e errorString) Error() string { return string(e) }

func TestPassedEarly(t *testing.T) {
	g := NewWithT(t)
	early := counted(5000, 50, 45000, 450)
	st := Judge(judgeSpec("1", true), v("2.0.0"), early, nil, now)
	why, ok := PassedEarly(judgeSpec("1", true), st, v("2.0.0"), now.Add(-time.Minute))
	g.Expect(ok).To(BeTrue())
	g.Expect(why).To(HavePrefix("PassEarly: "))

	_, ok = PassedEarly(judgeSpec("1", false), st, v("2.0.0"), now.Add(-time.Minute))
	g.Expect(ok).To(BeFalse(), "without promoteEarly the canary runs its steps")
	_, ok = PassedEarly(judgeSpec("1", true), st, v("2.0.0"), now.Add(time.Minute))
	g.Expect(ok).To(BeFalse(), "a verdict from before the step says nothing")
	_, ok = PassedEarly(judgeSpec("1", true), st, v("3.0.0"), now.Add(-time.Minute))
	g.Expect(ok).To(BeFalse(), "nor one of another version")

	slow := with(early, sample(MetricLatencyP95, "2.0.0", 900))
	st = Judge(judgeSpec("1", true), v("2.0.0"), slow, nil, now)
	g.Expect(st.Judge.Verdict).To(Equal(servingv1alpha1.JudgePassEarly))
	_, ok = PassedEarly(judgeSpec("1", true), st, v("2.0.0"), now.Add(-time.Minute))
	g.Expect(ok).To(BeFalse(), "every other trigger must pass")

	st = Judge(judgeSpec("1", true), v("2.0.0"), early, nil, now)
	st = Judge(judgeSpec("1", true), v("2.0.0"), with(early, failing(MetricJudgeRequests, "1.0.0", errTimeout)), st, now.Add(time.Minute))
	_, ok = PassedEarly(judgeSpec("1", true), st, v("2.0.0"), now.Add(-time.Minute))
	g.Expect(ok).To(BeFalse(), "the judge must have said so in the last round")
}

func TestJudgeQueries(t *testing.T) {
	g := NewWithT(t)
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "fraud-scorer"}}
	md.Spec.Analysis = judgeSpec("0", false)
	qs, err := JudgeQueries(md, v("2.0.0"), v("1.0.0"), time.Minute, now.Add(-7*time.Minute-300*time.Millisecond), now)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(qs).To(HaveLen(4))
	sel := `namespace="risk",modeldeployment="fraud-scorer",version=`
	g.Expect(qs[0].Metric).To(Equal(MetricJudgeRequests))
	g.Expect(qs[0].PromQL).To(Equal(`sum(increase(model_requests_total{`+sel+`"2.0.0",revision=""}[7m]))`), "counted since the analysis began")
	g.Expect(qs[3].PromQL).To(Equal(`sum(increase(model_requests_total{` + sel + `"1.0.0",revision="",code=~"5.."}[7m])) or vector(0)`))

	qs, err = JudgeQueries(md, v("2.0.0"), v("1.0.0"), time.Minute, now.Add(-10*time.Second), now)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(qs[0].PromQL).To(ContainSubstring("[1m]"), "never shorter than a round's window")

	qs, err = JudgeQueries(md, v("2.0.0"), v(""), time.Minute, now.Add(-time.Hour), now)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(qs).To(BeEmpty(), "nothing to compare with")
}
