package rollout

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

func withAnalysis(md *servingv1alpha1.ModelDeployment) {
	md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{
		Prometheus: &servingv1alpha1.PrometheusSpec{Address: "http://prometheus:9090"},
		Triggers:   &servingv1alpha1.TriggersSpec{ErrorRate: &servingv1alpha1.ErrorRateTrigger{MaxPercent: "5"}},
	}
}

func round(version string, at time.Time, verdict servingv1alpha1.Verdict, breaches int32) *servingv1alpha1.AnalysisStatus {
	return &servingv1alpha1.AnalysisStatus{Version: version, Breaches: breaches,
		LastRound: &servingv1alpha1.AnalysisRound{Time: metav1.NewMicroTime(at), Verdict: verdict, Message: "errorRate of version " + version + " is 12, outside the bound <= 5"}}
}

func TestCanaryWaitsOnAnalysis(t *testing.T) {
	stepStart := metav1.NewTime(now.Add(-time.Minute))
	// Step 0 (10%, no pause) with its pod up: it moves on only on a passing round since it began.
	md := canaryMD(withAnalysis, withCandidate("2.3.0", 10), atStep(0, stepStart))
	deployments := deps(stableAt(10), candAt(1, 1))
	tests := []struct {
		name     string
		analysis *servingv1alpha1.AnalysisStatus
		step     int32
		phase    servingv1alpha1.Phase
		reason   string
	}{
		{"no round yet: waits", nil, 0, servingv1alpha1.PhaseProgressing, "Analyzing"},
		{"a round that passed before the step began: waits", round("2.3.0", stepStart.Add(-time.Second), servingv1alpha1.VerdictPass, 0), 0, servingv1alpha1.PhaseProgressing, "Analyzing"},
		{"no data: waits", round("2.3.0", now.Time, servingv1alpha1.VerdictNoData, 0), 0, servingv1alpha1.PhaseProgressing, "Analyzing"},
		{"a pass of another version: waits", round("2.2.0", now.Time, servingv1alpha1.VerdictPass, 0), 0, servingv1alpha1.PhaseProgressing, "Analyzing"},
		{"a passing round in the step: moves on", round("2.3.0", now.Time, servingv1alpha1.VerdictPass, 0), 1, servingv1alpha1.PhaseProgressing, "WaitingForPods"},
		{"a breach beyond failureLimit 0: rolled back", round("2.3.0", now.Time, servingv1alpha1.VerdictBreach, 1), -1, servingv1alpha1.PhaseRolledBack, "AnalysisFailed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deployments, Analysis: tt.analysis})
			g.Expect(d.Phase).To(Equal(tt.phase))
			g.Expect(d.Ready.Reason).To(Equal(tt.reason))
			g.Expect(canarySummary(d).Step).To(Equal(tt.step))
			if tt.phase == servingv1alpha1.PhaseRolledBack {
				g.Expect(d.Ready.Message).To(Equal("Version 2.3.0 was rolled back: analysis of version 2.3.0 breached 1 time(s), more than failureLimit 0: errorRate of version 2.3.0 is 12, outside the bound <= 5"))
				g.Expect(plain(d.Run)).To(Equal([]Target{{Version: "2.2.0", Replicas: 10}, {Version: "2.3.0", Replicas: 0}}))
				g.Expect(d.Finished[0].Reason).To(Equal("AnalysisFailed"))
			}
		})
	}
}

func TestExperimentVerdictFromAnalysis(t *testing.T) {
	started := now.Add(-2 * time.Hour)
	end := started.Add(time.Hour)
	md := canaryMD(withShadow(10, time.Hour), withAnalysis, withCandidate("2.3.0", 0), atStep(0, metav1.NewTime(started)))
	deployments := deps(stableAt(10), candAt(1, 1))

	g := NewWithT(t)
	d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deployments, Analysis: round("2.3.0", end.Add(-time.Minute), servingv1alpha1.VerdictPass, 0)})
	g.Expect(d.Ready.Reason).To(Equal("Analyzing"), "a round from before the end does not decide")

	d = Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deployments, Analysis: round("2.3.0", end.Add(time.Minute), servingv1alpha1.VerdictPass, 0)})
	g.Expect(d.Ready.Reason).To(Equal("Promoting"), "a passing round after the end promotes, with no one asking")
	g.Expect(d.Candidate.Step).To(Equal(experimentPromoting))
	g.Expect(plain(d.Run)[0]).To(Equal(Target{Version: "2.3.0", Replicas: 10}))
	g.Expect(d.Events).To(ContainElement(HaveField("Reason", "AnalysisPassed")))
	g.Expect(d.Route.MirrorPercent).To(BeEquivalentTo(10), "the mirror goes on while it grows")

	d = Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deployments, Analysis: round("2.3.0", now.Time, servingv1alpha1.VerdictBreach, 1)})
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseRolledBack))
	g.Expect(d.Route.MirrorPercent).To(BeZero())
}

// After an analysis rollback, status keeps saying what breached, not only that
// the version was rolled back.
func TestRolledBackKeepsTheBreachInSight(t *testing.T) {
	g := NewWithT(t)
	msg := "Version 2.3.0 was rolled back: analysis of version 2.3.0 breached 1 time(s), more than failureLimit 0: errorRate of version 2.3.0 is 12, outside the bound <= 5"
	md := canaryMD(withAnalysis, withRejected("2.3.0", hashNew, "AnalysisFailed", msg), func(md *servingv1alpha1.ModelDeployment) {
		md.Status.History = []servingv1alpha1.HistoryEntry{{Version: "2.3.0", Outcome: servingv1alpha1.OutcomeRolledBack, Reason: "AnalysisFailed", Message: msg}}
	})
	d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableAt(10))})
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseRolledBack))
	g.Expect(d.RolledBack.Reason).To(Equal("AnalysisFailed"))
	g.Expect(d.RolledBack.Message).To(Equal(msg + "; version 2.2.0 serves all traffic. Change the spec, or annotate serving.modelgate.dev/retry to try it again"))
}

func withBake(d time.Duration) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) {
		withAnalysis(md)
		md.Spec.Analysis.Bake = &metav1.Duration{Duration: d}
	}
}

// A promoted version bakes with the one it replaced kept warm, rolls back to
// it at once on a breach, and lets it go when the bake is over.
func TestBake(t *testing.T) {
	g := NewWithT(t)
	c := newCluster(canaryMD(withBake(time.Hour), withCandidate("2.3.0", 80), atStep(3, now)), stableAt(2), candAt(10, 10))
	d := c.reconcile(g)
	g.Expect(d.Stable.Version).To(Equal("2.3.0"))
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseBaking))
	g.Expect(d.Ready.Status).To(Equal(metav1.ConditionTrue), "a baking version serves")
	g.Expect(d.Previous.Version).To(Equal("2.2.0"))
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 10, "2.3.0": 10}), "the replaced version is kept warm at full size")
	g.Expect(d.RequeueAfter).To(Equal(time.Hour))
	g.Expect(d.Progressing.Message).To(ContainSubstring("baking until"))

	c.podsUp("2.2.0")
	c.now = metav1.NewTime(now.Add(30 * time.Minute))
	d = Decide(Input{MD: c.md, TemplateHash: hashNew, Deployments: c.deps, Now: c.now, Analysis: round("2.3.0", c.now.Time, servingv1alpha1.VerdictPass, 0)})
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseBaking))

	breached := Decide(Input{MD: c.md, TemplateHash: hashNew, Deployments: c.deps, Now: c.now, Analysis: round("2.3.0", c.now.Time, servingv1alpha1.VerdictBreach, 1)})
	g.Expect(breached.Phase).To(Equal(servingv1alpha1.PhaseRolledBack))
	g.Expect(breached.Stable.Version).To(Equal("2.2.0"), "the warm version serves again")
	g.Expect(breached.Rejected.Version).To(Equal("2.3.0"))
	g.Expect(plain(breached.Run)).To(Equal([]Target{{Version: "2.2.0", Replicas: 10}, {Version: "2.3.0", Replicas: 0}}))
	g.Expect(breached.Finished[0].Reason).To(Equal("BakeFailed"))
	g.Expect(breached.RolledBack.Message).To(HavePrefix("Version 2.3.0 was rolled back during its bake: analysis of version 2.3.0 breached 1 time(s)"))
	g.Expect(breached.Selectors.Stable).To(Equal(desiredstate.VersionLabels(c.md, "2.2.0")))

	c.now = metav1.NewTime(now.Add(61 * time.Minute))
	d = c.reconcile(g)
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
	g.Expect(d.Previous).To(BeNil())
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.3.0": 10}), "the bake is over: the old version goes")
}

func TestCanaryFinishesEarlyOnTheJudge(t *testing.T) {
	stepStart := metav1.NewTime(now.Add(-time.Minute))
	judged := func(verdict servingv1alpha1.JudgeVerdict) *servingv1alpha1.AnalysisStatus {
		st := round("2.3.0", now.Time, servingv1alpha1.VerdictPass, 0)
		st.Judge = &servingv1alpha1.JudgeStatus{Time: st.LastRound.Time, Verdict: verdict, Message: string(verdict) + ": candidate error rate 0.71% to 1.52%"}
		return st
	}
	judge := func(promoteEarly bool) func(*servingv1alpha1.ModelDeployment) {
		return func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Analysis.Judge = &servingv1alpha1.JudgeSpec{Method: servingv1alpha1.JudgeSequential, TolerancePercent: "1", PromoteEarly: promoteEarly}
		}
	}
	tests := []struct {
		name         string
		promoteEarly bool
		analysis     *servingv1alpha1.AnalysisStatus
		step         int32
		reason       string
	}{
		{"PassEarly with promoteEarly: skips the remaining steps", true, judged(servingv1alpha1.JudgePassEarly), 3, "Promoting"},
		{"PassEarly without promoteEarly: the next step", false, judged(servingv1alpha1.JudgePassEarly), 1, "WaitingForPods"},
		{"Continue: the next step", true, judged(servingv1alpha1.JudgeContinue), 1, "WaitingForPods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			md := canaryMD(withAnalysis, judge(tt.promoteEarly), withCandidate("2.3.0", 10), atStep(0, stepStart))
			d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableAt(10), candAt(1, 1)), Analysis: tt.analysis})
			g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseProgressing))
			g.Expect(d.Ready.Reason).To(Equal(tt.reason))
			g.Expect(canarySummary(d).Step).To(Equal(tt.step))
			if tt.step == 3 {
				g.Expect(d.Events).To(ContainElement(And(HaveField("Reason", ReasonPassedEarly),
					HaveField("Message", "Version 2.3.0 passed the sequential judge early and skips the remaining canary steps: PassEarly: candidate error rate 0.71% to 1.52%"))))
			}
		})
	}
}
