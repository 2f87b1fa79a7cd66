package rollout

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

func TestSplitReplicas(t *testing.T) {
	weights := []int32{0, 1, 10, 33, 50, 90, 99, 100}
	// want[total] lists {candidate, stable} for each of weights, in order.
	want := map[int32][][2]int32{
		0:  {{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}},
		1:  {{0, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 0}},
		2:  {{0, 2}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {2, 0}},
		3:  {{0, 3}, {1, 2}, {1, 2}, {1, 2}, {2, 1}, {2, 1}, {2, 1}, {3, 0}},
		5:  {{0, 5}, {1, 4}, {1, 4}, {2, 3}, {3, 2}, {4, 1}, {4, 1}, {5, 0}},
		10: {{0, 10}, {1, 9}, {1, 9}, {3, 7}, {5, 5}, {9, 1}, {9, 1}, {10, 0}},
	}
	for _, total := range []int32{0, 1, 2, 3, 5, 10} {
		for i, w := range weights {
			t.Run(fmt.Sprintf("%d pods at %d%%", total, w), func(t *testing.T) {
				g := NewWithT(t)
				cand, stable := SplitReplicas(total, w)

				g.Expect([2]int32{cand, stable}).To(Equal(want[total][i]))
				if total == 0 {
					return
				}
				if w > 0 {
					g.Expect(cand).To(BeNumerically(">=", 1), "any weight above 0 gets a candidate pod")
				} else {
					g.Expect(cand).To(BeZero(), "no weight, no candidate pod")
				}
				if w < 100 {
					g.Expect(stable).To(BeNumerically(">=", 1), "any weight below 100 keeps a stable pod")
				} else {
					g.Expect(stable).To(BeZero(), "all the weight, no stable pod")
				}
				if total == 1 && w > 0 && w < 100 {
					g.Expect(cand+stable).To(Equal(int32(2)), "one pod of each: one more than spec.replicas")
				} else {
					g.Expect(cand+stable).To(Equal(total), "the total is kept")
				}
				if total > 1 && cand > 1 && cand < total-1 {
					exact := float64(total) * float64(w) / 100
					g.Expect(float64(cand)).To(BeNumerically("~", exact, 0.5), "rounded to the nearest pod")
				}
			})
		}
	}
}

// Canary fixtures: a ModelDeployment of 10 pods whose stable version 2.2.0
// (template hashOld) is being replaced by the spec's 2.3.0 (template hashNew).
const (
	stableName    = "fraud-scorer-v2-2-0"
	candidateName = "fraud-scorer-v2-3-0"
)

func weight(w int32) servingv1alpha1.CanaryStep { return servingv1alpha1.CanaryStep{Weight: w} }

func pauseFor(w int32, d time.Duration) servingv1alpha1.CanaryStep {
	return servingv1alpha1.CanaryStep{Weight: w, Pause: &servingv1alpha1.Pause{Duration: &metav1.Duration{Duration: d}}}
}

func pauseUntilPromoted(w int32) servingv1alpha1.CanaryStep {
	return servingv1alpha1.CanaryStep{Weight: w, Pause: &servingv1alpha1.Pause{}}
}

// threeSteps: 10% moves on as soon as its pod is up, 50% pauses 2 minutes,
// 80% waits for a promote.
var threeSteps = []servingv1alpha1.CanaryStep{weight(10), pauseFor(50, 2*time.Minute), pauseUntilPromoted(80)}

func withCanary(steps ...servingv1alpha1.CanaryStep) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) {
		md.Spec.Strategy = servingv1alpha1.StrategySpec{
			Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{Steps: steps},
		}
	}
}

func withReplicas(n int32) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) { md.Spec.Replicas = ptr.To(n) }
}

// atStep puts the candidate (see withCandidate) at a canary step begun at since.
func atStep(step int32, since metav1.Time) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) {
		md.Status.Candidate.Step = step
		md.Status.Candidate.StepStartedAt = ptr.To(metav1.NewMicroTime(since.Time))
	}
}

func withAnnotation(key, value string) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) {
		if md.Annotations == nil {
			md.Annotations = map[string]string{}
		}
		md.Annotations[key] = value
	}
}

func withHandled(r servingv1alpha1.HandledRequests) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) { md.Status.Requests = r }
}

func withPaused(md *servingv1alpha1.ModelDeployment) { md.Spec.Paused = true }

// withRejected records version v with template h as rolled back for reason
// with message msg, as the controller writes the status of a rollback.
func withRejected(v, h, reason, msg string) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) {
		md.Status.Candidate = nil
		md.Status.Rejected = &servingv1alpha1.VersionStatus{Version: v, Deployment: desiredstate.DeploymentName(md, v), TemplateHash: h, Since: &started}
		md.Status.Phase = servingv1alpha1.PhaseRolledBack
		md.Status.Conditions = []metav1.Condition{
			{Type: servingv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: msg},
			{Type: servingv1alpha1.ConditionProgressing, Status: metav1.ConditionFalse, Reason: reason, Message: msg},
			{Type: servingv1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: reason, Message: msg},
			{Type: servingv1alpha1.ConditionRolledBack, Status: metav1.ConditionTrue, Reason: reason, Message: msg},
		}
	}
}

// canaryMD asks for 2.3.0 on 10 pods under threeSteps, beside the stable 2.2.0.
func canaryMD(opts ...func(*servingv1alpha1.ModelDeployment)) *servingv1alpha1.ModelDeployment {
	base := []func(*servingv1alpha1.ModelDeployment){withReplicas(10), withStable("2.2.0", hashOld), withCanary(threeSteps...)}
	return newMD(append(base, opts...)...)
}

// sized is a version's Deployment at n pods, available of them available.
func sized(version, hash string, n, available int32, health Health) Observed {
	o := dep(version, hash, available, health, "")
	o.Replicas = n
	return o
}

// stableAt is the stable version's Deployment at n pods, all available.
func stableAt(n int32) Observed { return sized("2.2.0", hashOld, n, n, HealthCurrent) }

// candAt is the candidate's Deployment at n pods, available of them available.
func candAt(n, available int32) Observed {
	health := HealthCurrent
	if available < n {
		health = HealthInProgress
	}
	return sized("2.3.0", hashNew, n, available, health)
}

// canaryOutcome adds to outcome what a user sees of a canary in status.
type canaryOutcome struct {
	outcome
	Step         int32  // -1 without a candidate
	RolledBack   string // reason of the RolledBack condition, empty without it
	Rejected     string // version/template hash
	Requests     servingv1alpha1.HandledRequests
	RequeueAfter time.Duration
}

func canarySummary(d Decision) canaryOutcome {
	o := canaryOutcome{outcome: summary(d), Step: -1, Requests: d.Requests, RequeueAfter: d.RequeueAfter}
	if d.Candidate != nil {
		o.Step = d.Candidate.Step
	}
	if d.RolledBack != nil {
		o.RolledBack = d.RolledBack.Reason
	}
	if d.Rejected != nil {
		o.Rejected = d.Rejected.Version + "/" + d.Rejected.TemplateHash
	}
	return o
}

// expectConsistent checks what holds for every decision: the input is not
// changed, kstatus' conditions agree, what runs is not deleted.
func expectConsistent(g Gomega, md, before *servingv1alpha1.ModelDeployment, d Decision) {
	g.Expect(md).To(Equal(before), "Decide must not change the ModelDeployment it reads")
	g.Expect(d.Reconciling != nil && d.Stalled != nil).To(BeFalse(), "never Reconciling and Stalled at once")
	if d.Stalled != nil {
		g.Expect(d.Ready.Reason).To(Equal(d.Stalled.Reason))
		g.Expect(d.Ready.Message).To(Equal(d.Stalled.Message))
	}
	for _, r := range d.Run {
		g.Expect(d.Delete).NotTo(ContainElement(desiredstate.DeploymentName(md, r.Version)))
	}
}

func TestDecideCanary(t *testing.T) {
	run := func(ts ...Target) []Target { return ts }
	cand := func(n int32) Target { return Target{Version: "2.3.0", Replicas: n} }
	stable := func(n int32) Target { return Target{Version: "2.2.0", Replicas: n} }
	ago := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }
	abortMsg := `Version 2.3.0 was rolled back by request (serving.modelgate.dev/abort: "latency doubled")`
	rolledBack := withRejected("2.3.0", hashNew, "Aborted", abortMsg)
	const promoteToken = "2026-03-02T13:59:00Z"

	tests := []struct {
		name        string
		md          *servingv1alpha1.ModelDeployment
		deployments map[string]Observed
		want        canaryOutcome
		check       func(g Gomega, d Decision)
	}{
		// Moving through the steps.
		{
			name:        "new version: starts at step 0 with its share of pods, the stable version keeping its pods until they are up",
			md:          canaryMD(),
			deployments: deps(stableAt(10)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/WaitingForPods", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@10",
				Run:    run(cand(1), stable(10)),
				Events: []string{normal + "/RolloutStarted"},
			}, Step: 0},
			check: func(g Gomega, d Decision) {
				c, _ := SplitReplicas(10, 10)
				g.Expect(d.Run[0].Replicas).To(Equal(c))
				g.Expect(d.Candidate.StartedAt).To(Equal(&now))
				g.Expect(d.Candidate.StepStartedAt.Time).To(Equal(now.Time))
				g.Expect(d.Candidate.TemplateHash).To(Equal(hashNew))
				g.Expect(d.Events[0].Message).To(Equal("Rolling out version 2.3.0 to replace 2.2.0"))
				g.Expect(d.Ready.Message).To(Equal("Canary of version 2.3.0 at step 1/3 (weight 10%, 1 of 10 pods): 0/1 candidate pods available"))
			},
		},
		{
			name:        "step's pods up at a step with a pause: the stable version goes down to its share",
			md:          canaryMD(withCanary(pauseFor(10, time.Hour), weight(50)), withCandidate("2.3.0", 10), atStep(0, ago(time.Minute))),
			deployments: deps(stableAt(10), candAt(1, 1)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/Pausing", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@10",
				Run: run(cand(1), stable(9)),
			}, Step: 0, RequeueAfter: 59 * time.Minute},
			check: func(g Gomega, d Decision) {
				c, s := SplitReplicas(10, 10)
				g.Expect(plain(d.Run)).To(Equal(run(cand(c), stable(s))))
			},
		},
		{
			name:        "candidate pods not available yet: waits at the step",
			md:          canaryMD(withCandidate("2.3.0", 10), atStep(0, started)),
			deployments: deps(stableAt(10), candAt(1, 0)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/WaitingForPods", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@10",
				Run: run(cand(1), stable(10)),
			}, Step: 0},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Candidate.StepStartedAt.Time).To(Equal(started.Time), "the step keeps its start time")
				g.Expect(d.Candidate.StartedAt).To(Equal(&started))
			},
		},
		{
			name:        "candidate pods available but at another size: not at the step yet",
			md:          canaryMD(withCandidate("2.3.0", 10), atStep(0, started)),
			deployments: deps(stableAt(10), candAt(3, 3)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/WaitingForPods", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@10",
				Run: run(cand(1), stable(10)),
			}, Step: 0},
		},
		{
			name:        "candidate pods of an older template: not at the step yet",
			md:          canaryMD(withCandidate("2.3.0", 10), atStep(0, started)),
			deployments: deps(stableAt(10), sized("2.3.0", hashOld, 1, 1, HealthCurrent)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/WaitingForPods", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@10",
				Run: run(cand(1), stable(10)),
			}, Step: 0},
		},
		{
			name:        "pods up at a step without a pause: moves on, and waits at the next step for its pods",
			md:          canaryMD(withCandidate("2.3.0", 10), atStep(0, started)),
			deployments: deps(stableAt(10), candAt(1, 1)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/WaitingForPods", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@50",
				Run:    run(cand(5), stable(10)),
				Events: []string{normal + "/StepAdvanced"},
			}, Step: 1},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Candidate.StepStartedAt.Time).To(Equal(now.Time))
				g.Expect(d.Events[0].Message).To(Equal("Canary of version 2.3.0 moved to step 2/3 (weight 50%)"))
			},
		},
		{
			name:        "timed pause not over: pausing, decided again when it ends",
			md:          canaryMD(withCandidate("2.3.0", 50), atStep(1, ago(30*time.Second))),
			deployments: deps(stableAt(10), candAt(5, 5)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/Pausing", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@50",
				Run: run(cand(5), stable(5)),
			}, Step: 1, RequeueAfter: 90 * time.Second},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Ready.Message).To(Equal("Canary of version 2.3.0 at step 2/3 (weight 50%, 5 of 10 pods): pausing until 2026-03-02T14:01:30Z"))
				g.Expect(d.Progressing.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(d.Candidate.StepStartedAt.Time).To(Equal(now.Add(-30 * time.Second)))
			},
		},
		{
			name:        "timed pause over: moves on",
			md:          canaryMD(withCandidate("2.3.0", 50), atStep(1, ago(2*time.Minute))),
			deployments: deps(stableAt(5), candAt(5, 5)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/WaitingForPods", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@80",
				Run:    run(cand(8), stable(5)),
				Events: []string{normal + "/StepAdvanced"},
			}, Step: 2},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Candidate.StepStartedAt.Time).To(Equal(now.Time))
			},
		},
		{
			name:        "pause without a duration: paused until promoted",
			md:          canaryMD(withCandidate("2.3.0", 80), atStep(2, ago(time.Hour))),
			deployments: deps(stableAt(5), candAt(8, 8)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhasePaused, Ready: "False/WaitingForPromote", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@80",
				Run: run(cand(8), stable(2)),
			}, Step: 2},
			check: func(g Gomega, d Decision) {
				msg := "Canary of version 2.3.0 at step 3/3 (weight 80%, 8 of 10 pods): waiting for a promote (annotate serving.modelgate.dev/promote)"
				g.Expect(d.Ready.Message).To(Equal(msg))
				g.Expect(d.Reconciling).To(Equal(&ConditionResult{metav1.ConditionTrue, "WaitingForPromote", msg}))
				g.Expect(d.Progressing.Status).To(Equal(metav1.ConditionTrue))
			},
		},
		{
			name: "promote: moves past the pause, the request echoed as handled",
			md: canaryMD(withCandidate("2.3.0", 80), atStep(2, ago(time.Hour)),
				withAnnotation(servingv1alpha1.AnnotationPromote, promoteToken)),
			deployments: deps(stableAt(2), candAt(8, 8)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/Promoting", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@100",
				Run: run(cand(10), stable(2)),
			}, Step: 3, Requests: servingv1alpha1.HandledRequests{Promote: promoteToken}},
		},
		{
			name: "promote at a timed pause: moves on before it ends",
			md: canaryMD(withCandidate("2.3.0", 50), atStep(1, ago(30*time.Second)),
				withAnnotation(servingv1alpha1.AnnotationPromote, promoteToken)),
			deployments: deps(stableAt(5), candAt(5, 5)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/WaitingForPods", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@80",
				Run:    run(cand(8), stable(5)),
				Events: []string{normal + "/StepAdvanced"},
			}, Step: 2, Requests: servingv1alpha1.HandledRequests{Promote: promoteToken}},
		},
		{
			name: "promote already handled: acted on once, paused again",
			md: canaryMD(withCandidate("2.3.0", 80), atStep(2, ago(time.Hour)),
				withAnnotation(servingv1alpha1.AnnotationPromote, promoteToken),
				withHandled(servingv1alpha1.HandledRequests{Promote: promoteToken})),
			deployments: deps(stableAt(2), candAt(8, 8)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhasePaused, Ready: "False/WaitingForPromote", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@80",
				Run: run(cand(8), stable(2)),
			}, Step: 2, Requests: servingv1alpha1.HandledRequests{Promote: promoteToken}},
		},
		{
			name:        "spec.paused: paused at the step",
			md:          canaryMD(withCandidate("2.3.0", 10), atStep(0, started), withPaused),
			deployments: deps(stableAt(10), candAt(1, 1)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhasePaused, Ready: "False/Paused", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@10",
				Run: run(cand(1), stable(9)),
			}, Step: 0},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Ready.Message).To(Equal("Canary of version 2.3.0 at step 1/3 (weight 10%, 1 of 10 pods): paused by spec.paused"))
				g.Expect(d.Candidate.StepStartedAt.Time).To(Equal(started.Time))
			},
		},
		{
			name: "spec.paused at a timed pause that is over: stays",
			md: canaryMD(withCandidate("2.3.0", 50), atStep(1, ago(time.Hour)), withPaused,
				withAnnotation(servingv1alpha1.AnnotationPromote, promoteToken)),
			deployments: deps(stableAt(5), candAt(5, 5)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhasePaused, Ready: "False/Paused", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@50",
				Run: run(cand(5), stable(5)),
			}, Step: 1},
		},

		// Promotion.
		{
			name: "promote-full: the candidate comes up at full size beside the stable version at full size",
			md: canaryMD(withCandidate("2.3.0", 10), atStep(0, started),
				withAnnotation(servingv1alpha1.AnnotationPromoteFull, "now"), withAnnotation(servingv1alpha1.AnnotationPromoteFullBy, "bob")),
			deployments: deps(stableAt(10), candAt(1, 1)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/Promoting", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@100",
				Run:    run(cand(10), stable(10)),
				Events: []string{normal + "/PromoteRequested"},
			}, Step: 3, Requests: servingv1alpha1.HandledRequests{PromoteFull: "now", PromoteFullBy: "bob"}},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Candidate.Requests).To(Equal([]string{"promote-full by bob"}), "kept with the rollout until its history entry")
				g.Expect(d.Events[0].Message).To(Equal("Version 2.3.0 is promoted by request, skipping the remaining steps"))
				g.Expect(d.Ready.Message).To(Equal("Version 2.3.0 passed every canary step and is scaling to 10 pods before it takes all traffic: 1/10 available"))
			},
		},
		{
			name: "promote-full already handled: the canary goes on step by step",
			md: canaryMD(withCandidate("2.3.0", 10), atStep(0, started),
				withAnnotation(servingv1alpha1.AnnotationPromoteFull, "now"),
				withHandled(servingv1alpha1.HandledRequests{PromoteFull: "now"})),
			deployments: deps(stableAt(10), candAt(1, 1)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/WaitingForPods", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@50",
				Run:    run(cand(5), stable(10)),
				Events: []string{normal + "/StepAdvanced"},
			}, Step: 1, Requests: servingv1alpha1.HandledRequests{PromoteFull: "now"}},
		},
		{
			name:        "at full size, pods still coming up: the stable version keeps its pods",
			md:          canaryMD(withCandidate("2.3.0", 100), atStep(3, started)),
			deployments: deps(stableAt(10), candAt(10, 7)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/Promoting", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@100",
				Run: run(cand(10), stable(10)),
			}, Step: 3},
		},
		{
			name: "at full size with every pod available: promoted, the stable version deleted",
			md: canaryMD(withCandidate("2.3.0", 100), atStep(3, started),
				func(md *servingv1alpha1.ModelDeployment) {
					md.Status.Candidate.Requests = []string{"promote-full by bob"}
				}),
			deployments: deps(stableAt(10), candAt(10, 10)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.3.0/" + hashNew, Run: run(cand(10)),
				Delete:   []string{stableName},
				Finished: []string{"2.3.0:Promoted<-2.2.0"},
				Events:   []string{normal + "/Promoted"},
			}, Step: -1},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Finished[0].Strategy).To(Equal(servingv1alpha1.StrategyCanary))
				g.Expect(d.Finished[0].StartedAt).To(Equal(&started))
				g.Expect(d.Finished[0].Requests).To(Equal([]string{"promote-full by bob"}), "the history records who promoted it")
				g.Expect(d.Stable).To(Equal(&servingv1alpha1.VersionStatus{Version: "2.3.0", Deployment: candidateName, TemplateHash: hashNew, Since: &now}))
			},
		},
		{
			name:        "past the last step: promoted like a full promote",
			md:          canaryMD(withCanary(weight(10), weight(50)), withCandidate("2.3.0", 50), atStep(1, started)),
			deployments: deps(stableAt(10), candAt(5, 5)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/Promoting", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@100",
				Run: run(cand(10), stable(10)),
			}, Step: 2},
		},
		{
			name:        "steps removed from the spec below the candidate's: promoted",
			md:          canaryMD(withCandidate("2.3.0", 100), atStep(7, started)),
			deployments: deps(stableAt(10), candAt(10, 10)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.3.0/" + hashNew, Run: run(cand(10)),
				Delete:   []string{stableName},
				Finished: []string{"2.3.0:Promoted<-2.2.0"},
				Events:   []string{normal + "/Promoted"},
			}, Step: -1},
		},

		// Rollback.
		{
			name: "abort: all traffic back on the stable version, the candidate rejected",
			md: canaryMD(withCandidate("2.3.0", 50), atStep(1, ago(30*time.Second)),
				withAnnotation(servingv1alpha1.AnnotationAbort, "latency doubled"), withAnnotation(servingv1alpha1.AnnotationAbortBy, "alice")),
			deployments: deps(stableAt(5), candAt(5, 5)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseRolledBack, Ready: "False/Aborted", Stalled: "Aborted",
				Stable:   "2.2.0/" + hashOld,
				Run:      run(stable(10), cand(0)),
				Finished: []string{"2.3.0:RolledBack<-2.2.0"},
				Events:   []string{warning + "/RolledBack"},
			}, Step: -1, RolledBack: "Aborted", Rejected: "2.3.0/" + hashNew,
				Requests: servingv1alpha1.HandledRequests{Abort: "latency doubled", AbortBy: "alice"}},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Run[0].Version).To(Equal("2.2.0"), "the stable version is scaled up first")
				g.Expect(d.Rejected).To(Equal(&servingv1alpha1.VersionStatus{Version: "2.3.0", Deployment: candidateName, TemplateHash: hashNew, Since: &now}))
				g.Expect(d.Finished[0]).To(Equal(servingv1alpha1.HistoryEntry{
					Version: "2.3.0", Previous: "2.2.0", Outcome: servingv1alpha1.OutcomeRolledBack, Reason: "Aborted", Message: abortMsg,
					Strategy: servingv1alpha1.StrategyCanary, StartedAt: &started, FinishedAt: &now,
					Requests: []string{"abort by alice"},
				}))
				g.Expect(d.Events[0].Message).To(Equal(abortMsg))
				g.Expect(d.RolledBack).To(Equal(&ConditionResult{metav1.ConditionTrue, "Aborted", abortMsg}))
				g.Expect(d.Progressing.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(d.Selectors.Candidate).To(Equal(desiredstate.VersionLabels(newMD(), "2.2.0")), "nothing selects the rejected version")
			},
		},
		{
			name: "abort while the step's pods come up: rolled back too",
			md: canaryMD(withCandidate("2.3.0", 10), atStep(0, started),
				withAnnotation(servingv1alpha1.AnnotationAbort, "wrong model")),
			deployments: deps(stableAt(10), candAt(1, 0)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseRolledBack, Ready: "False/Aborted", Stalled: "Aborted",
				Stable:   "2.2.0/" + hashOld,
				Run:      run(stable(10), cand(0)),
				Finished: []string{"2.3.0:RolledBack<-2.2.0"},
				Events:   []string{warning + "/RolledBack"},
			}, Step: -1, RolledBack: "Aborted", Rejected: "2.3.0/" + hashNew,
				Requests: servingv1alpha1.HandledRequests{Abort: "wrong model"}},
		},
		{
			name:        "candidate past its progress deadline: rolled back",
			md:          canaryMD(withCandidate("2.3.0", 50), atStep(1, started)),
			deployments: deps(stableAt(10), sized("2.3.0", hashNew, 5, 2, HealthFailed)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseRolledBack, Ready: "False/ProgressDeadlineExceeded", Stalled: "ProgressDeadlineExceeded",
				Stable:   "2.2.0/" + hashOld,
				Run:      run(stable(10), cand(0)),
				Finished: []string{"2.3.0:RolledBack<-2.2.0"},
				Events:   []string{warning + "/RolledBack"},
			}, Step: -1, RolledBack: "ProgressDeadlineExceeded", Rejected: "2.3.0/" + hashNew},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Finished[0].Reason).To(Equal("ProgressDeadlineExceeded"))
				g.Expect(d.Ready.Message).To(HavePrefix("Version 2.3.0 was rolled back: its pods did not become available within the progress deadline"))
			},
		},
		{
			name:        "after a rollback, the same spec stays rolled back and the candidate's Deployment goes",
			md:          canaryMD(rolledBack),
			deployments: deps(stableAt(10), candAt(0, 0)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseRolledBack, Ready: "False/Aborted", Stalled: "Aborted",
				Stable: "2.2.0/" + hashOld,
				Run:    run(stable(10)),
				Delete: []string{candidateName},
			}, Step: -1, RolledBack: "Aborted", Rejected: "2.3.0/" + hashNew},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Ready.Message).To(Equal("Version 2.3.0 was rolled back; version 2.2.0 serves all traffic. Change the spec, or annotate serving.modelgate.dev/retry to try it again"))
			},
		},
		{
			name: "after a rollback, the handled abort and retry do nothing more",
			md: canaryMD(rolledBack,
				withAnnotation(servingv1alpha1.AnnotationAbort, "latency doubled"),
				withAnnotation(servingv1alpha1.AnnotationRetry, "r1"),
				withHandled(servingv1alpha1.HandledRequests{Abort: "latency doubled", Retry: "r1"})),
			deployments: deps(stableAt(10)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseRolledBack, Ready: "False/Aborted", Stalled: "Aborted",
				Stable: "2.2.0/" + hashOld,
				Run:    run(stable(10)),
			}, Step: -1, RolledBack: "Aborted", Rejected: "2.3.0/" + hashNew,
				Requests: servingv1alpha1.HandledRequests{Abort: "latency doubled", Retry: "r1"}},
		},
		{
			name: "retry: the rejected version is tried again from step 0",
			md: canaryMD(rolledBack,
				withAnnotation(servingv1alpha1.AnnotationAbort, "latency doubled"),
				withAnnotation(servingv1alpha1.AnnotationRetry, "r2"), withAnnotation(servingv1alpha1.AnnotationRetryBy, "carol"),
				withHandled(servingv1alpha1.HandledRequests{Abort: "latency doubled", Retry: "r1"})),
			deployments: deps(stableAt(10), candAt(0, 0)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/WaitingForPods", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@10",
				Run:    run(cand(1), stable(10)),
				Events: []string{normal + "/RetryRequested", normal + "/RolloutStarted"},
			}, Step: 0, Requests: servingv1alpha1.HandledRequests{Abort: "latency doubled", Retry: "r2", RetryBy: "carol"}},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Events[0].Message).To(Equal("Version 2.3.0, rolled back before, is tried again by request"))
				g.Expect(d.Candidate.Requests).To(Equal([]string{"retry by carol"}), "the new rollout knows who retried it")
				g.Expect(d.Candidate.StartedAt).To(Equal(&now))
				g.Expect(d.Candidate.StepStartedAt.Time).To(Equal(now.Time))
			},
		},
		{
			name:        "a version other than the rejected one: rolls out",
			md:          canaryMD(withVersion("2.4.0"), rolledBack),
			deployments: deps(stableAt(10), candAt(0, 0)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/WaitingForPods", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.4.0@10",
				Run:    run(Target{Version: "2.4.0", Replicas: 1}, stable(10)),
				Delete: []string{candidateName},
				Events: []string{normal + "/RolloutStarted"},
			}, Step: 0},
		},
		{
			name:        "the rejected version with a changed pod template: rolls out",
			md:          canaryMD(withRejected("2.3.0", hashOld, "Aborted", abortMsg)),
			deployments: deps(stableAt(10)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/WaitingForPods", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@10",
				Run:    run(cand(1), stable(10)),
				Events: []string{normal + "/RolloutStarted"},
			}, Step: 0},
		},
		{
			name:        "spec back to the stable version: no longer rolled back",
			md:          canaryMD(withVersion("2.2.0"), withStable("2.2.0", hashNew), rolledBack),
			deployments: deps(sized("2.2.0", hashNew, 10, 10, HealthCurrent), candAt(0, 0)),
			want: canaryOutcome{outcome: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.2.0/" + hashNew, Run: run(stable(10)),
				Delete: []string{candidateName},
			}, Step: -1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			before := tt.md.DeepCopy()

			d := Decide(Input{MD: tt.md, TemplateHash: hashNew, Deployments: tt.deployments, Now: now})

			g.Expect(canarySummary(d)).To(Equal(tt.want))
			expectConsistent(g, tt.md, before, d)
			if tt.check != nil {
				tt.check(g, d)
			}
		})
	}
}

// cluster plays the controller and the Deployment controller around Decide:
// it writes the decision into status, sizes the Deployments as asked (pods
// removed at once, new pods available only when podsUp says so) and collects
// the events.
type cluster struct {
	md     *servingv1alpha1.ModelDeployment
	deps   map[string]Observed
	now    metav1.Time
	events []string
}

func newCluster(md *servingv1alpha1.ModelDeployment, observed ...Observed) *cluster {
	return &cluster{md: md, deps: deps(observed...), now: now}
}

func (c *cluster) reconcile(g Gomega) Decision {
	before := c.md.DeepCopy()
	d := Decide(Input{MD: c.md, TemplateHash: hashNew, Deployments: c.deps, Now: c.now})
	expectConsistent(g, c.md, before, d)

	for _, t := range d.Run {
		name := desiredstate.DeploymentName(c.md, t.Version)
		o, ok := c.deps[name]
		if !ok {
			if t.Version != c.md.Spec.Model.Version {
				continue // nothing to recreate an old version from
			}
			o = Observed{Name: name, Version: t.Version, TemplateHash: hashNew}
		}
		o.Replicas = t.Replicas
		o.AvailableReplicas = min(o.AvailableReplicas, t.Replicas)
		o.Health = HealthInProgress
		if o.AvailableReplicas >= o.Replicas {
			o.Health = HealthCurrent
		}
		c.deps[name] = o
	}
	for _, name := range d.Delete {
		delete(c.deps, name)
	}

	md := c.md.DeepCopy()
	md.Status.Phase = d.Phase
	md.Status.Stable, md.Status.Candidate, md.Status.Rejected, md.Status.Previous = d.Stable, d.Candidate, d.Rejected, d.Previous
	md.Status.Requests = d.Requests
	md.Status.History = RecordHistory(md.Status.History, d.Finished...)
	md.Status.Conditions = nil
	for _, cond := range []struct {
		typ string
		r   *ConditionResult
	}{
		{servingv1alpha1.ConditionReady, &d.Ready},
		{servingv1alpha1.ConditionProgressing, &d.Progressing},
		{servingv1alpha1.ConditionReconciling, d.Reconciling},
		{servingv1alpha1.ConditionStalled, d.Stalled},
		{servingv1alpha1.ConditionRolledBack, d.RolledBack},
	} {
		if cond.r != nil {
			md.Status.Conditions = append(md.Status.Conditions,
				metav1.Condition{Type: cond.typ, Status: cond.r.Status, Reason: cond.r.Reason, Message: cond.r.Message})
		}
	}
	c.md = md
	for _, e := range d.Events {
		c.events = append(c.events, e.Type+"/"+e.Reason)
	}
	return d
}

// podsUp makes every pod of a version's Deployment available.
func (c *cluster) podsUp(version string) {
	name := desiredstate.DeploymentName(c.md, version)
	o, ok := c.deps[name]
	if !ok {
		return
	}
	o.AvailableReplicas, o.Health = o.Replicas, HealthCurrent
	c.deps[name] = o
}

func (c *cluster) annotate(key, value string) { withAnnotation(key, value)(c.md) }

// available is the number of pods serving, of every version.
func (c *cluster) available() int32 {
	var n int32
	for _, o := range c.deps {
		n += o.AvailableReplicas
	}
	return n
}

// sizes are the Deployments' sizes by version.
func (c *cluster) sizes() map[string]int32 {
	out := map[string]int32{}
	for _, o := range c.deps {
		out[o.Version] = o.Replicas
	}
	return out
}

// A canary, decision after decision, never serves with fewer pods than
// spec.replicas, and tells each change once.
func TestCanaryFromStartToPromotion(t *testing.T) {
	g := NewWithT(t)
	c := newCluster(canaryMD(), stableAt(10))
	reconcile := func() Decision {
		d := c.reconcile(g)
		g.Expect(c.available()).To(BeNumerically(">=", 10), "capacity never drops below spec.replicas")
		return d
	}

	d := reconcile()
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 10, "2.3.0": 1}))
	g.Expect(d.Candidate.Step).To(BeZero())

	d = reconcile()
	g.Expect(d.Ready.Reason).To(Equal("WaitingForPods"))
	g.Expect(d.Events).To(BeEmpty())

	c.podsUp("2.3.0")
	d = reconcile()
	g.Expect(d.Candidate.Step).To(BeEquivalentTo(1))
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 10, "2.3.0": 5}), "the stable version keeps its pods until the candidate's are up")

	c.podsUp("2.3.0")
	d = reconcile()
	g.Expect(d.Ready.Reason).To(Equal("Pausing"))
	g.Expect(d.RequeueAfter).To(Equal(2 * time.Minute))
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 5, "2.3.0": 5}))

	c.now = metav1.NewTime(c.now.Add(d.RequeueAfter))
	d = reconcile()
	g.Expect(d.Candidate.Step).To(BeEquivalentTo(2))
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 5, "2.3.0": 8}))

	c.podsUp("2.3.0")
	d = reconcile()
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhasePaused))
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 2, "2.3.0": 8}))
	d = reconcile()
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhasePaused), "waits for a promote however often it is decided")

	c.annotate(servingv1alpha1.AnnotationPromote, "go")
	d = reconcile()
	g.Expect(d.Ready.Reason).To(Equal("Promoting"))
	g.Expect(c.md.Status.Requests.Promote).To(Equal("go"))
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 2, "2.3.0": 10}))

	c.podsUp("2.3.0")
	d = reconcile()
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.3.0": 10}))
	d = reconcile()
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))

	g.Expect(c.events).To(Equal([]string{
		normal + "/RolloutStarted", normal + "/StepAdvanced", normal + "/StepAdvanced", normal + "/Promoted",
	}))
	g.Expect(c.md.Status.History).To(HaveLen(1))
	g.Expect(c.md.Status.History[0].Outcome).To(Equal(servingv1alpha1.OutcomePromoted))
}

// An aborted canary stays rolled back, quietly, until a retry.
func TestCanaryAbortThenRetry(t *testing.T) {
	g := NewWithT(t)
	c := newCluster(canaryMD(), stableAt(10))
	c.reconcile(g)
	c.podsUp("2.3.0")
	c.reconcile(g)
	c.podsUp("2.3.0")
	d := c.reconcile(g)
	g.Expect(d.Ready.Reason).To(Equal("Pausing"))
	c.events = nil

	c.annotate(servingv1alpha1.AnnotationAbort, "latency doubled")
	d = c.reconcile(g)
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseRolledBack))
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 10, "2.3.0": 0}))
	g.Expect(c.events).To(Equal([]string{warning + "/RolledBack"}), "one event for one rollback")

	for range 3 {
		d = c.reconcile(g)
		g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseRolledBack))
		g.Expect(d.RolledBack.Reason).To(Equal("Aborted"))
		g.Expect(d.Events).To(BeEmpty(), "staying rolled back tells nothing new")
	}
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 10}), "the rejected version's Deployment is deleted")
	g.Expect(c.md.Status.History).To(HaveLen(1))

	c.podsUp("2.2.0")
	c.annotate(servingv1alpha1.AnnotationRetry, "try-2")
	c.events = nil
	d = c.reconcile(g)
	g.Expect(c.events).To(Equal([]string{normal + "/RetryRequested", normal + "/RolloutStarted"}))
	g.Expect(d.Rejected).To(BeNil())
	g.Expect(d.RolledBack).To(BeNil())
	g.Expect(d.Candidate.Step).To(BeZero())
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 10, "2.3.0": 1}))

	c.podsUp("2.3.0")
	d = c.reconcile(g)
	g.Expect(d.Candidate).NotTo(BeNil(), "the abort already handled does not roll the retry back")
	g.Expect(d.Candidate.Step).To(BeEquivalentTo(1))
}

// A request made while no rollout is in flight is moot: it is handled at once,
// and never aborts or promotes the next rollout.
func TestRequestsWithoutARolloutAreNotKept(t *testing.T) {
	g := NewWithT(t)
	md := newMD(withStable("2.3.0", hashNew))
	md.Annotations = map[string]string{
		servingv1alpha1.AnnotationAbort:   "looks wrong",
		servingv1alpha1.AnnotationPromote: "now",
	}
	d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now,
		Deployments: deps(dep("2.3.0", hashNew, 3, HealthCurrent, ""))})
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
	g.Expect(d.Requests.Abort).To(Equal("looks wrong"))
	g.Expect(d.Requests.Promote).To(Equal("now"))
}
