package rollout

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

var (
	now     = metav1.NewTime(time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC))
	started = metav1.NewTime(now.Add(-7 * time.Minute))
	since   = metav1.NewTime(now.Add(-72 * time.Hour))
)

// Template hashes: the spec's current template, and an older one.
const (
	hashNew = "aaaa1111"
	hashOld = "bbbb2222"
)

// newMD is a ModelDeployment asking for version 2.3.0 on 3 pods with the
// Rolling strategy, with an empty status. Options change it further.
func newMD(opts ...func(*servingv1alpha1.ModelDeployment)) *servingv1alpha1.ModelDeployment {
	md := &servingv1alpha1.ModelDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer", Namespace: "risk", Generation: 4},
		Spec: servingv1alpha1.ModelDeploymentSpec{
			Model: servingv1alpha1.ModelSpec{
				Name: "fraud-scorer", Version: "2.3.0", URI: "oci://registry.example/models/fraud-scorer:2.3.0",
			},
			Replicas: ptr.To[int32](3),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "server", Image: "registry.example/ml/server:1.4"}}}},
			Strategy: servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyRolling},
		},
	}
	for _, o := range opts {
		o(md)
	}
	return md
}

func withVersion(v string) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) { md.Spec.Model.Version = v }
}

func withStrategy(s servingv1alpha1.StrategyType) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) { md.Spec.Strategy.Type = s }
}

// withStable records version v, running with template hash h, as stable.
func withStable(v, h string) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) {
		md.Status.Stable = &servingv1alpha1.VersionStatus{
			Version: v, Deployment: desiredstate.DeploymentName(md, v), TemplateHash: h, Since: &since,
		}
		md.Status.Phase = servingv1alpha1.PhaseSucceeded
	}
}

// withCandidate records version v as the candidate of a rollout in progress.
func withCandidate(v string, weight int32) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) {
		md.Status.Candidate = &servingv1alpha1.CandidateStatus{
			VersionStatus: servingv1alpha1.VersionStatus{Version: v, Deployment: desiredstate.DeploymentName(md, v), TemplateHash: hashNew},
			Weight:        weight,
			StartedAt:     &started,
		}
		md.Status.Phase = servingv1alpha1.PhaseProgressing
	}
}

// withStalled records a stall of the last reconcile, as the controller writes it.
func withStalled(reason, msg string) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) {
		md.Status.Phase = servingv1alpha1.PhaseFailed
		md.Status.Conditions = []metav1.Condition{
			{Type: servingv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: msg},
			{Type: servingv1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: reason, Message: msg},
		}
	}
}

// dep is the observed Deployment of a version of newMD.
func dep(version, hash string, available int32, health Health, msg string) Observed {
	return Observed{
		Name:         desiredstate.DeploymentName(newMD(), version),
		Version:      version,
		TemplateHash: hash, Replicas: 3, AvailableReplicas: available, Health: health, Message: msg,
	}
}

func deps(obs ...Observed) map[string]Observed {
	out := map[string]Observed{}
	for _, o := range obs {
		out[o.Name] = o
	}
	return out
}

// outcome is what a user sees of a decision: the status summary, what runs,
// what goes, the history written and the events.
type outcome struct {
	Phase       servingv1alpha1.Phase
	Ready       string // status/reason
	Reconciling bool
	Stalled     string // reason, empty when not stalled
	Stable      string // version/template hash
	Candidate   string // version@weight
	Run         []Target
	Delete      []string
	Finished    []string // version:outcome<-previous
	Events      []string // type/reason
}

func summary(d Decision) outcome {
	o := outcome{
		Phase:       d.Phase,
		Ready:       fmt.Sprintf("%s/%s", d.Ready.Status, d.Ready.Reason),
		Reconciling: d.Reconciling != nil,
		Run:         plain(d.Run),
		Delete:      d.Delete,
	}
	if d.Stalled != nil {
		o.Stalled = d.Stalled.Reason
	}
	if d.Stable != nil {
		o.Stable = d.Stable.Version + "/" + d.Stable.TemplateHash
	}
	if d.Candidate != nil {
		o.Candidate = fmt.Sprintf("%s@%d", d.Candidate.Version, d.Candidate.Weight)
	}
	for _, f := range d.Finished {
		o.Finished = append(o.Finished, fmt.Sprintf("%s:%s<-%s", f.Version, f.Outcome, f.Previous))
	}
	for _, e := range d.Events {
		o.Events = append(o.Events, e.Type+"/"+e.Reason)
	}
	return o
}

// plain leaves out of the targets the Deployments named as a first revision
// of their version always is, so the tables name only a later revision's.
func plain(run []Target) []Target {
	out := make([]Target, 0, len(run))
	for _, t := range run {
		if t.Deployment == desiredstate.DeploymentName(newMD(), t.Version) {
			t.Deployment = ""
		}
		out = append(out, t)
	}
	if len(run) == 0 {
		return run
	}
	return out
}

const (
	normal  = corev1.EventTypeNormal
	warning = corev1.EventTypeWarning
)

func TestDecide(t *testing.T) {
	run := func(ts ...Target) []Target { return ts }
	tests := []struct {
		name        string
		md          *servingv1alpha1.ModelDeployment
		deployments map[string]Observed
		want        outcome
		// check looks at what the summary leaves out: messages, times, names.
		check func(g Gomega, d Decision)
	}{
		// First deploy: no stable version yet.
		{
			name: "first deploy, Deployment not created yet",
			md:   newMD(),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Candidate: "2.3.0@0", Run: run(Target{Version: "2.3.0", Replicas: 3}),
				Events: []string{normal + "/RolloutStarted"},
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Candidate.Deployment).To(Equal("fraud-scorer-v2-3-0"))
				g.Expect(d.Candidate.TemplateHash).To(Equal(hashNew))
				g.Expect(d.Candidate.StartedAt).To(Equal(&now))
				g.Expect(d.Events[0].Message).To(Equal("Rolling out version 2.3.0"))
				g.Expect(d.Ready.Message).To(Equal("Rolling out version 2.3.0: 0/3 pods available"))
				g.Expect(d.Reconciling).To(Equal(&ConditionResult{metav1.ConditionTrue, "RollingOut", d.Ready.Message}))
				g.Expect(d.Progressing.Status).To(Equal(metav1.ConditionTrue))
			},
		},
		{
			name:        "first deploy in progress: no second RolloutStarted",
			md:          newMD(withCandidate("2.3.0", 0)),
			deployments: deps(dep("2.3.0", hashNew, 1, HealthInProgress, "Available: 1/3")),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Candidate: "2.3.0@100", Run: run(Target{Version: "2.3.0", Replicas: 3}),
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Candidate.StartedAt).To(Equal(&started), "the rollout keeps its start time")
				g.Expect(d.Ready.Message).To(Equal("Rolling out version 2.3.0: 1/3 pods available (Available: 1/3)"))
			},
		},
		{
			name:        "first deploy current: promoted",
			md:          newMD(withCandidate("2.3.0", 100)),
			deployments: deps(dep("2.3.0", hashNew, 3, HealthCurrent, "Deployment is available. Replicas: 3")),
			want: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.3.0/" + hashNew, Run: run(Target{Version: "2.3.0", Replicas: 3}),
				Finished: []string{"2.3.0:Promoted<-"},
				Events:   []string{normal + "/Promoted"},
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Stable).To(Equal(&servingv1alpha1.VersionStatus{
					Version: "2.3.0", Deployment: "fraud-scorer-v2-3-0", TemplateHash: hashNew, Since: &now,
				}))
				g.Expect(d.Finished[0]).To(Equal(servingv1alpha1.HistoryEntry{
					Version: "2.3.0", Outcome: servingv1alpha1.OutcomePromoted, Reason: "Promoted",
					Message: "Version 2.3.0 serves all traffic", Strategy: servingv1alpha1.StrategyRolling,
					StartedAt: &started, FinishedAt: &now,
				}))
				g.Expect(d.Events[0].Message).To(Equal("Version 2.3.0 promoted: it serves all traffic"))
				g.Expect(d.Ready.Message).To(Equal("Version 2.3.0 serves all traffic with 3/3 pods available"))
				g.Expect(d.Progressing).To(Equal(ConditionResult{metav1.ConditionFalse, "Succeeded", "No rollout in progress; version 2.3.0 is stable"}))
			},
		},
		{
			name:        "first deploy already current on the first look: started and promoted",
			md:          newMD(),
			deployments: deps(dep("2.3.0", hashNew, 3, HealthCurrent, "")),
			want: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.3.0/" + hashNew, Run: run(Target{Version: "2.3.0", Replicas: 3}),
				Finished: []string{"2.3.0:Promoted<-"},
				Events:   []string{normal + "/RolloutStarted", normal + "/Promoted"},
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Finished[0].StartedAt).To(Equal(&now))
			},
		},
		{
			name:        "first deploy current with an older template: not promoted",
			md:          newMD(withCandidate("2.3.0", 100)),
			deployments: deps(dep("2.3.0", hashOld, 3, HealthCurrent, "")),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Candidate: "2.3.0@100", Run: run(Target{Version: "2.3.0", Replicas: 3}),
			},
		},
		{
			name:        "first deploy failed: stalled",
			md:          newMD(withCandidate("2.3.0", 0)),
			deployments: deps(dep("2.3.0", hashNew, 0, HealthFailed, "Progress deadline exceeded")),
			want: outcome{
				Phase: servingv1alpha1.PhaseFailed, Ready: "False/ProgressDeadlineExceeded", Stalled: "ProgressDeadlineExceeded",
				Candidate: "2.3.0@0", Run: run(Target{Version: "2.3.0", Replicas: 3}),
				Events: []string{warning + "/ProgressDeadlineExceeded"},
			},
			check: func(g Gomega, d Decision) {
				msg := "Version 2.3.0 did not become available within the progress deadline: Progress deadline exceeded"
				g.Expect(d.Stalled).To(Equal(&ConditionResult{metav1.ConditionTrue, "ProgressDeadlineExceeded", msg}))
				g.Expect(d.Ready.Message).To(Equal(msg))
				g.Expect(d.Events[0].Message).To(Equal(msg))
				g.Expect(d.Progressing.Status).To(Equal(metav1.ConditionFalse))
			},
		},
		{
			name:        "first deploy under Canary: no stable version to keep, so it rolls out",
			md:          newMD(withStrategy(servingv1alpha1.StrategyCanary), withCandidate("2.3.0", 100)),
			deployments: deps(dep("2.3.0", hashNew, 3, HealthCurrent, "")),
			want: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.3.0/" + hashNew, Run: run(Target{Version: "2.3.0", Replicas: 3}),
				Finished: []string{"2.3.0:Promoted<-"},
				Events:   []string{normal + "/Promoted"},
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Finished[0].Strategy).To(Equal(servingv1alpha1.StrategyCanary))
			},
		},
		{
			name: "replicas unset: one pod",
			md:   newMD(func(md *servingv1alpha1.ModelDeployment) { md.Spec.Replicas = nil }),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Candidate: "2.3.0@0", Run: run(Target{Version: "2.3.0", Replicas: 1}),
				Events: []string{normal + "/RolloutStarted"},
			},
		},

		// A new version beside the stable one.
		{
			name:        "new version starts beside the stable one",
			md:          newMD(withStable("2.2.0", hashOld)),
			deployments: deps(dep("2.2.0", hashOld, 3, HealthCurrent, "")),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@0",
				Run:    run(Target{Version: "2.3.0", Replicas: 1}, Target{Version: "2.2.0", Replicas: 3}),
				Events: []string{normal + "/RolloutStarted"},
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Events[0].Message).To(Equal("Rolling out version 2.3.0 to replace 2.2.0"))
				g.Expect(d.Ready.Message).To(Equal("Rolling out version 2.3.0: 0/3 pods available, 3 pods of version 2.2.0 left (maxSurge 1, maxUnavailable 0)"))
			},
		},
		{
			name: "weight from available pods of both versions",
			md:   newMD(withStable("2.2.0", hashOld), withCandidate("2.3.0", 0)),
			deployments: deps(
				dep("2.2.0", hashOld, 3, HealthCurrent, ""),
				dep("2.3.0", hashNew, 2, HealthInProgress, "Available: 2/3"),
			),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@40",
				Run: run(Target{Version: "2.3.0", Replicas: 3}, Target{Version: "2.2.0", Replicas: 1}),
			},
		},
		{
			name: "weight with the stable version down: all traffic on the candidate",
			md:   newMD(withStable("2.2.0", hashOld), withCandidate("2.3.0", 40)),
			deployments: deps(
				dep("2.2.0", hashOld, 0, HealthInProgress, ""),
				dep("2.3.0", hashNew, 1, HealthInProgress, ""),
			),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@100",
				Run: run(Target{Version: "2.3.0", Replicas: 3}, Target{Version: "2.2.0", Replicas: 2}),
			},
		},
		{
			name: "candidate's Deployment gone: no traffic on it",
			md:   newMD(withStable("2.2.0", hashOld), withCandidate("2.3.0", 40)),
			deployments: deps(
				dep("2.2.0", hashOld, 3, HealthCurrent, ""),
			),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@0",
				Run: run(Target{Version: "2.3.0", Replicas: 1}, Target{Version: "2.2.0", Replicas: 3}),
			},
		},
		{
			name: "no pod available anywhere: no traffic on the candidate",
			md:   newMD(withStable("2.2.0", hashOld), withCandidate("2.3.0", 40)),
			deployments: deps(
				dep("2.2.0", hashOld, 0, HealthInProgress, ""),
				dep("2.3.0", hashNew, 0, HealthInProgress, ""),
			),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@0",
				Run: run(Target{Version: "2.3.0", Replicas: 3}, Target{Version: "2.2.0", Replicas: 3}),
			},
		},
		{
			name: "new version current: promoted, the old stable deleted",
			md:   newMD(withStable("2.2.0", hashOld), withCandidate("2.3.0", 50)),
			deployments: deps(
				dep("2.2.0", hashOld, 3, HealthCurrent, ""),
				dep("2.3.0", hashNew, 3, HealthCurrent, ""),
			),
			want: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.3.0/" + hashNew, Run: run(Target{Version: "2.3.0", Replicas: 3}),
				Delete:   []string{"fraud-scorer-v2-2-0"},
				Finished: []string{"2.3.0:Promoted<-2.2.0"},
				Events:   []string{normal + "/Promoted"},
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Events[0].Message).To(Equal("Version 2.3.0 promoted, replacing 2.2.0"))
				g.Expect(d.Stable.Since).To(Equal(&now))
			},
		},
		{
			name: "new version missed its progress deadline: rolled back, the stable version serving",
			md:   newMD(withStable("2.2.0", hashOld), withCandidate("2.3.0", 0)),
			deployments: deps(
				dep("2.2.0", hashOld, 3, HealthCurrent, ""),
				dep("2.3.0", hashNew, 0, HealthFailed, "Progress deadline exceeded"),
			),
			want: outcome{
				Phase: servingv1alpha1.PhaseRolledBack, Ready: "False/ProgressDeadlineExceeded", Stalled: "ProgressDeadlineExceeded",
				Stable:   "2.2.0/" + hashOld,
				Run:      run(Target{Version: "2.2.0", Replicas: 3}, Target{Version: "2.3.0", Replicas: 0}),
				Finished: []string{"2.3.0:RolledBack<-2.2.0"},
				Events:   []string{warning + "/RolledBack"},
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Rejected.Version).To(Equal("2.3.0"))
				g.Expect(d.Stalled.Message).To(Equal("Version 2.3.0 was rolled back: its pods did not become available within the progress deadline (Progress deadline exceeded)"))
			},
		},

		// The stable version with a changed pod template, rolled out in place.
		{
			name:        "stable version unchanged and current: Ready, nothing to tell",
			md:          newMD(withVersion("2.2.0"), withStable("2.2.0", hashNew)),
			deployments: deps(dep("2.2.0", hashNew, 3, HealthCurrent, "")),
			want: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.2.0/" + hashNew, Run: run(Target{Version: "2.2.0", Replicas: 3}),
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Stable.Since).To(Equal(&since), "the version has been stable since it was promoted")
			},
		},
		// A changed template (or URI) of the stable version is a candidate of
		// its own, in a Deployment of its own, through the strategy.
		{
			name:        "changed template: a candidate beside the stable revision, not an update in place",
			md:          newMD(withVersion("2.2.0"), withStable("2.2.0", hashOld)),
			deployments: deps(dep("2.2.0", hashOld, 3, HealthCurrent, "")),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.2.0@0",
				Run:    run(Target{Version: "2.2.0", Deployment: "fraud-scorer-v2-2-0-" + hashNew, Replicas: 1}, Target{Version: "2.2.0", Replicas: 3}),
				Events: []string{normal + "/RolloutStarted"},
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Candidate.Deployment).To(Equal("fraud-scorer-v2-2-0-" + hashNew))
				g.Expect(d.SpecDeployment).To(Equal("fraud-scorer-v2-2-0-" + hashNew))
				g.Expect(d.Selectors.Candidate).To(HaveKeyWithValue(desiredstate.LabelVersion, "2.2.0_."+hashNew), "the candidate Service selects the new revision only")
				g.Expect(d.Selectors.Stable).To(HaveKeyWithValue(desiredstate.LabelVersion, "2.2.0"))
			},
		},
		{
			name: "changed template rolled out: promoted, the old revision retired",
			md: newMD(withVersion("2.2.0"), withStable("2.2.0", hashOld), func(md *servingv1alpha1.ModelDeployment) {
				md.Status.Candidate = &servingv1alpha1.CandidateStatus{VersionStatus: servingv1alpha1.VersionStatus{
					Version: "2.2.0", Deployment: "fraud-scorer-v2-2-0-" + hashNew, TemplateHash: hashNew}, Weight: 50, StartedAt: &started}
				md.Status.Phase = servingv1alpha1.PhaseProgressing
			}),
			deployments: deps(dep("2.2.0", hashOld, 0, HealthCurrent, ""), func() Observed {
				o := dep("2.2.0", hashNew, 3, HealthCurrent, "")
				o.Name = "fraud-scorer-v2-2-0-" + hashNew
				return o
			}()),
			want: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.2.0/" + hashNew,
				Run:    run(Target{Version: "2.2.0", Deployment: "fraud-scorer-v2-2-0-" + hashNew, Replicas: 3}),
				Delete: []string{"fraud-scorer-v2-2-0"}, Finished: []string{"2.2.0:Promoted<-2.2.0"},
				Events: []string{normal + "/Promoted"},
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Stable.Deployment).To(Equal("fraud-scorer-v2-2-0-" + hashNew))
			},
		},
		{
			name:        "stable version losing pods: not Ready",
			md:          newMD(withVersion("2.2.0"), withStable("2.2.0", hashNew)),
			deployments: deps(dep("2.2.0", hashNew, 2, HealthInProgress, "")),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/WaitingForPods", Reconciling: true,
				Stable: "2.2.0/" + hashNew, Run: run(Target{Version: "2.2.0", Replicas: 3}),
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Ready.Message).To(Equal("Version 2.2.0 has 2/3 pods available"))
			},
		},
		{
			name:        "stable version's Deployment failed: stalled",
			md:          newMD(withVersion("2.2.0"), withStable("2.2.0", hashNew)),
			deployments: deps(dep("2.2.0", hashNew, 1, HealthFailed, "Progress deadline exceeded")),
			want: outcome{
				Phase: servingv1alpha1.PhaseFailed, Ready: "False/ProgressDeadlineExceeded", Stalled: "ProgressDeadlineExceeded",
				Stable: "2.2.0/" + hashNew, Run: run(Target{Version: "2.2.0", Replicas: 3}),
				Events: []string{warning + "/ProgressDeadlineExceeded"},
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Stalled.Message).To(Equal("Deployment fraud-scorer-v2-2-0 of version 2.2.0 did not become available within the progress deadline: Progress deadline exceeded"))
			},
		},

		// A candidate superseded by a newer spec version.
		{
			name: "candidate superseded by a newer version",
			md:   newMD(withVersion("2.4.0"), withStable("2.2.0", hashOld), withCandidate("2.3.0", 40)),
			deployments: deps(
				dep("2.2.0", hashOld, 3, HealthCurrent, ""),
				dep("2.3.0", hashNew, 2, HealthInProgress, ""),
			),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.4.0@0",
				Run:      run(Target{Version: "2.4.0", Replicas: 1}, Target{Version: "2.2.0", Replicas: 3}),
				Delete:   []string{"fraud-scorer-v2-3-0"},
				Finished: []string{"2.3.0:Superseded<-2.2.0"},
				Events:   []string{normal + "/Superseded", normal + "/RolloutStarted"},
			},
			check: func(g Gomega, d Decision) {
				g.Expect(d.Finished[0]).To(Equal(servingv1alpha1.HistoryEntry{
					Version: "2.3.0", Previous: "2.2.0", Outcome: servingv1alpha1.OutcomeSuperseded, Reason: "Superseded",
					Message:  "Version 2.3.0 was replaced in the spec by 2.4.0 before it finished rolling out",
					Strategy: servingv1alpha1.StrategyRolling, StartedAt: &started, FinishedAt: &now,
				}))
				g.Expect(d.Events[0].Message).To(Equal("Version 2.3.0 superseded by 2.4.0 before it finished rolling out"))
				g.Expect(d.Candidate.StartedAt).To(Equal(&now), "the new rollout starts now")
			},
		},
		{
			name: "first deploy superseded before it finished",
			md:   newMD(withVersion("2.4.0"), withCandidate("2.3.0", 100)),
			deployments: deps(
				dep("2.3.0", hashOld, 1, HealthInProgress, ""),
			),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Candidate: "2.4.0@0", Run: run(Target{Version: "2.4.0", Replicas: 3}),
				Delete:   []string{"fraud-scorer-v2-3-0"},
				Finished: []string{"2.3.0:Superseded<-"},
				Events:   []string{normal + "/Superseded", normal + "/RolloutStarted"},
			},
		},
		{
			name: "spec back to the stable version: candidate superseded, stable stays",
			md:   newMD(withVersion("2.2.0"), withStable("2.2.0", hashNew), withCandidate("2.3.0", 40)),
			deployments: deps(
				dep("2.2.0", hashNew, 3, HealthCurrent, ""),
				dep("2.3.0", hashNew, 2, HealthInProgress, ""),
			),
			want: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.2.0/" + hashNew, Run: run(Target{Version: "2.2.0", Replicas: 3}),
				Delete:   []string{"fraud-scorer-v2-3-0"},
				Finished: []string{"2.3.0:Superseded<-2.2.0"},
				Events:   []string{normal + "/Superseded"},
			},
		},
		{
			name: "superseding version already current: both end in the same decision",
			md:   newMD(withVersion("2.4.0"), withStable("2.2.0", hashOld), withCandidate("2.3.0", 40)),
			deployments: deps(
				dep("2.2.0", hashOld, 3, HealthCurrent, ""),
				dep("2.3.0", hashOld, 2, HealthInProgress, ""),
				dep("2.4.0", hashNew, 3, HealthCurrent, ""),
			),
			want: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.4.0/" + hashNew, Run: run(Target{Version: "2.4.0", Replicas: 3}),
				Delete:   []string{"fraud-scorer-v2-2-0", "fraud-scorer-v2-3-0"},
				Finished: []string{"2.3.0:Superseded<-2.2.0", "2.4.0:Promoted<-2.2.0"},
				Events:   []string{normal + "/Superseded", normal + "/RolloutStarted", normal + "/Promoted"},
			},
		},

		// Stalled events: only for a new stall.
		{
			name: "same stall as last time: no event",
			md: newMD(withVersion("2.2.0"), withStable("2.2.0", hashOld),
				withStalled("ProgressDeadlineExceeded", "Deployment fraud-scorer-v2-2-0 of version 2.2.0 did not become available within the progress deadline: Progress deadline exceeded")),
			deployments: deps(dep("2.2.0", hashNew, 0, HealthFailed, "Progress deadline exceeded")),
			want: outcome{
				Phase: servingv1alpha1.PhaseFailed, Ready: "False/ProgressDeadlineExceeded", Stalled: "ProgressDeadlineExceeded",
				Stable: "2.2.0/" + hashOld, Run: run(Target{Version: "2.2.0", Replicas: 3}),
			},
		},
		{
			name: "stalled again with another message: event",
			md: newMD(withVersion("2.2.0"), withStable("2.2.0", hashOld),
				withStalled("ProgressDeadlineExceeded", "Deployment fraud-scorer-v2-2-0 of version 2.2.0 did not become available within the progress deadline: something else")),
			deployments: deps(dep("2.2.0", hashNew, 0, HealthFailed, "Progress deadline exceeded")),
			want: outcome{
				Phase: servingv1alpha1.PhaseFailed, Ready: "False/ProgressDeadlineExceeded", Stalled: "ProgressDeadlineExceeded",
				Stable: "2.2.0/" + hashOld, Run: run(Target{Version: "2.2.0", Replicas: 3}),
				Events: []string{warning + "/ProgressDeadlineExceeded"},
			},
		},
		{
			name: "stalled again for another reason: event",
			md: newMD(withVersion("2.2.0"), withStable("2.2.0", hashOld),
				withStalled("InvalidSpec", "spec.servingContainer \"model\" names no container in spec.template.spec.containers")),
			deployments: deps(dep("2.2.0", hashNew, 0, HealthFailed, "Progress deadline exceeded")),
			want: outcome{
				Phase: servingv1alpha1.PhaseFailed, Ready: "False/ProgressDeadlineExceeded", Stalled: "ProgressDeadlineExceeded",
				Stable: "2.2.0/" + hashOld,
				Run:    run(Target{Version: "2.2.0", Replicas: 3}),
				Events: []string{warning + "/ProgressDeadlineExceeded"},
			},
		},
		{
			name: "failed phase without a Stalled condition: event",
			md: newMD(withVersion("2.2.0"), withStable("2.2.0", hashOld), func(md *servingv1alpha1.ModelDeployment) {
				md.Status.Phase = servingv1alpha1.PhaseFailed
			}),
			deployments: deps(dep("2.2.0", hashNew, 0, HealthFailed, "Progress deadline exceeded")),
			want: outcome{
				Phase: servingv1alpha1.PhaseFailed, Ready: "False/ProgressDeadlineExceeded", Stalled: "ProgressDeadlineExceeded",
				Stable: "2.2.0/" + hashOld, Run: run(Target{Version: "2.2.0", Replicas: 3}),
				Events: []string{warning + "/ProgressDeadlineExceeded"},
			},
		},
		{
			name: "recovered from a stall: no stall event, no Stalled condition",
			md: newMD(withStable("2.2.0", hashOld), withCandidate("2.3.0", 0),
				withStalled("ProgressDeadlineExceeded", "Version 2.3.0 did not become available within the progress deadline: Progress deadline exceeded; version 2.2.0 keeps serving")),
			deployments: deps(
				dep("2.2.0", hashOld, 3, HealthCurrent, ""),
				dep("2.3.0", hashNew, 1, HealthInProgress, ""),
			),
			want: outcome{
				Phase: servingv1alpha1.PhaseProgressing, Ready: "False/RollingOut", Reconciling: true,
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@25",
				Run: run(Target{Version: "2.3.0", Replicas: 3}, Target{Version: "2.2.0", Replicas: 2}),
			},
		},

		// Deployments nobody asked for.
		{
			name: "unknown leftover Deployments are deleted, sorted",
			md:   newMD(withStable("2.3.0", hashNew)),
			deployments: deps(
				dep("2.3.0", hashNew, 3, HealthCurrent, ""),
				dep("2.1.0", hashOld, 3, HealthCurrent, ""),
				dep("1.9.0-rc.2", hashOld, 0, HealthFailed, ""),
				dep("2.0.0", hashOld, 1, HealthInProgress, ""),
			),
			want: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.3.0/" + hashNew, Run: run(Target{Version: "2.3.0", Replicas: 3}),
				Delete: []string{desiredstate.DeploymentName(newMD(), "1.9.0-rc.2"), "fraud-scorer-v2-0-0", "fraud-scorer-v2-1-0"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			before := tt.md.DeepCopy()

			d := Decide(Input{MD: tt.md, TemplateHash: hashNew, Deployments: tt.deployments, Now: now})

			g.Expect(summary(d)).To(Equal(tt.want))
			g.Expect(tt.md).To(Equal(before), "Decide must not change the ModelDeployment it reads")
			// Reconciling, Stalled and Ready agree, as kstatus reads them.
			g.Expect(d.Reconciling != nil && d.Stalled != nil).To(BeFalse(), "never Reconciling and Stalled at once")
			if d.Ready.Status == metav1.ConditionTrue {
				g.Expect(d.Reconciling).To(BeNil())
				g.Expect(d.Stalled).To(BeNil())
			}
			if d.Stalled != nil {
				g.Expect(d.Ready.Reason).To(Equal(d.Stalled.Reason))
				g.Expect(d.Ready.Message).To(Equal(d.Stalled.Message))
			}
			// Everything that runs is kept.
			for _, r := range d.Run {
				g.Expect(d.Delete).NotTo(ContainElement(r.Deployment))
			}
			if tt.check != nil {
				tt.check(g, d)
			}
		})
	}
}

func TestDecideSelectors(t *testing.T) {
	md := newMD()
	version := func(v string) map[string]string { return desiredstate.VersionLabels(md, v) }
	tests := []struct {
		name        string
		md          *servingv1alpha1.ModelDeployment
		deployments map[string]Observed
		wantStable  map[string]string
		wantCand    map[string]string
	}{
		{
			name:       "first deploy: both select the candidate",
			md:         newMD(),
			wantStable: version("2.3.0"),
			wantCand:   version("2.3.0"),
		},
		{
			name:        "no rollout: both select the stable version",
			md:          newMD(withStable("2.3.0", hashNew)),
			deployments: deps(dep("2.3.0", hashNew, 3, HealthCurrent, "")),
			wantStable:  version("2.3.0"),
			wantCand:    version("2.3.0"),
		},
		{
			name:        "rollout: each its own version",
			md:          newMD(withStable("2.2.0", hashOld)),
			deployments: deps(dep("2.2.0", hashOld, 3, HealthCurrent, "")),
			wantStable:  version("2.2.0"),
			wantCand:    version("2.3.0"),
		},
		{
			name:       "build metadata in the version: a valid label value",
			md:         newMD(withVersion("2.3.0+build.5"), withStable("2.2.0", hashOld)),
			wantStable: version("2.2.0"),
			wantCand:   map[string]string{desiredstate.LabelName: "fraud-scorer", desiredstate.LabelManagedBy: "modelgate", desiredstate.LabelVersion: "2.3.0_build.5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)

			d := Decide(Input{MD: tt.md, TemplateHash: hashNew, Deployments: tt.deployments, Now: now})

			g.Expect(d.Selectors.Apex).To(Equal(desiredstate.SelectorLabels(md)), "the <name> Service selects every version")
			g.Expect(d.Selectors.Stable).To(Equal(tt.wantStable))
			g.Expect(d.Selectors.Candidate).To(Equal(tt.wantCand))
		})
	}
}

func TestRecordHistory(t *testing.T) {
	entry := func(v string) servingv1alpha1.HistoryEntry {
		return servingv1alpha1.HistoryEntry{Version: v, Outcome: servingv1alpha1.OutcomePromoted}
	}
	entries := func(vs ...string) []servingv1alpha1.HistoryEntry {
		var out []servingv1alpha1.HistoryEntry
		for _, v := range vs {
			out = append(out, entry(v))
		}
		return out
	}
	versions := func(h []servingv1alpha1.HistoryEntry) []string {
		var out []string
		for _, e := range h {
			out = append(out, e.Version)
		}
		return out
	}
	// ten is a full history, newest first: 1.10.0 down to 1.1.0.
	var ten []string
	for i := 10; i >= 1; i-- {
		ten = append(ten, fmt.Sprintf("1.%d.0", i))
	}

	tests := []struct {
		name     string
		history  []servingv1alpha1.HistoryEntry
		finished []servingv1alpha1.HistoryEntry
		want     []string
	}{
		{"nothing finished, nothing recorded", nil, nil, nil},
		{"nothing finished keeps the history", entries("2.2.0", "2.1.0"), nil, []string{"2.2.0", "2.1.0"}},
		{"first entry", nil, entries("2.3.0"), []string{"2.3.0"}},
		{"newest first", entries("2.2.0", "2.1.0"), entries("2.3.0"), []string{"2.3.0", "2.2.0", "2.1.0"}},
		{
			"entries of one decision: the later one first",
			entries("2.2.0"), entries("2.3.0", "2.4.0"),
			[]string{"2.4.0", "2.3.0", "2.2.0"},
		},
		{"full history drops the oldest", entries(ten...), entries("2.0.0"), append([]string{"2.0.0"}, ten[:9]...)},
		{
			"at most HistoryLimit even from one decision",
			entries(ten...), entries("2.0.0", "2.1.0"),
			append([]string{"2.1.0", "2.0.0"}, ten[:8]...),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			before := append([]servingv1alpha1.HistoryEntry(nil), tt.history...)

			got := RecordHistory(tt.history, tt.finished...)

			g.Expect(versions(got)).To(Equal(tt.want))
			g.Expect(len(got)).To(BeNumerically("<=", HistoryLimit))
			g.Expect(tt.history).To(Equal(before), "the old history is not changed in place")
		})
	}
	NewWithT(t).Expect(HistoryLimit).To(Equal(10), "status.history holds at most 10 entries")
}

func TestDecideWithTheGateClosed(t *testing.T) {
	failing := Gate{Closed: true, Reason: "ChecklistFailed", Message: "checklist items fail: pdb"}
	retrying := Gate{Closed: true, Reason: "ChecklistUnknown", Message: "model-registry could not be judged", Retrying: true}
	tests := []struct {
		name        string
		md          *servingv1alpha1.ModelDeployment
		deployments map[string]Observed
		gate        Gate
		want        outcome
		wantMessage string
	}{
		{
			name: "first deploy: the candidate exists without pods, stalled until the user fixes the cause",
			md:   newMD(), gate: failing,
			want: outcome{
				Phase: servingv1alpha1.PhaseVerifying, Ready: "False/ChecklistFailed", Stalled: "ChecklistFailed",
				Candidate: "2.3.0@0", Run: []Target{{Version: "2.3.0", Replicas: 0}},
				Events: []string{normal + "/RolloutStarted", warning + "/ChecklistFailed"},
			},
			wantMessage: "Version 2.3.0 gets no traffic: checklist items fail: pdb",
		},
		{
			name: "first deploy, a probe did not answer: reconciling, not stalled",
			md:   newMD(withCandidate("2.3.0", 0)), gate: retrying,
			deployments: deps(dep("2.3.0", hashNew, 0, HealthCurrent, "")),
			want: outcome{
				Phase: servingv1alpha1.PhaseVerifying, Ready: "False/ChecklistUnknown", Reconciling: true,
				Candidate: "2.3.0@0", Run: []Target{{Version: "2.3.0", Replicas: 0}},
			},
		},
		{
			name: "a candidate that had pods loses them when the gate closes",
			md:   newMD(withCandidate("2.3.0", 100)), gate: failing,
			deployments: deps(dep("2.3.0", hashNew, 3, HealthCurrent, "")),
			want: outcome{
				Phase: servingv1alpha1.PhaseVerifying, Ready: "False/ChecklistFailed", Stalled: "ChecklistFailed",
				Candidate: "2.3.0@0", Run: []Target{{Version: "2.3.0", Replicas: 0}},
				Events: []string{warning + "/ChecklistFailed"},
			},
		},
		{
			name: "a new version beside the stable one: the stable keeps serving at full size",
			md:   newMD(withStable("2.2.0", hashOld)), gate: failing,
			deployments: deps(dep("2.2.0", hashOld, 3, HealthCurrent, "")),
			want: outcome{
				Phase: servingv1alpha1.PhaseVerifying, Ready: "False/ChecklistFailed", Stalled: "ChecklistFailed",
				Stable: "2.2.0/" + hashOld, Candidate: "2.3.0@0",
				Run:    []Target{{Version: "2.3.0", Replicas: 0}, {Version: "2.2.0", Replicas: 3}},
				Events: []string{normal + "/RolloutStarted", warning + "/ChecklistFailed"},
			},
			wantMessage: "Version 2.3.0 gets no traffic: checklist items fail: pdb; version 2.2.0 keeps serving",
		},
		{
			name: "a changed template of the stable version is a candidate the gate holds, the current pods serving",
			md:   newMD(withStable("2.3.0", hashOld)), gate: failing,
			deployments: deps(dep("2.3.0", hashOld, 3, HealthCurrent, "")),
			want: outcome{
				Phase: servingv1alpha1.PhaseVerifying, Ready: "False/ChecklistFailed", Stalled: "ChecklistFailed",
				Stable: "2.3.0/" + hashOld, Candidate: "2.3.0@0",
				Run:    []Target{{Version: "2.3.0", Deployment: "fraud-scorer-v2-3-0-" + hashNew, Replicas: 0}, {Version: "2.3.0", Replicas: 3}},
				Events: []string{normal + "/RolloutStarted", warning + "/ChecklistFailed"},
			},
		},
		{
			name: "an unchanged stable version keeps serving whatever the gate says",
			md:   newMD(withStable("2.3.0", hashNew)), gate: failing,
			deployments: deps(dep("2.3.0", hashNew, 3, HealthCurrent, "")),
			want: outcome{
				Phase: servingv1alpha1.PhaseSucceeded, Ready: "True/Succeeded",
				Stable: "2.3.0/" + hashNew, Run: []Target{{Version: "2.3.0", Replicas: 3}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := Decide(Input{MD: tt.md, TemplateHash: hashNew, Deployments: tt.deployments, Now: now, Gate: tt.gate})
			g.Expect(summary(d)).To(Equal(tt.want))
			if tt.wantMessage != "" {
				g.Expect(d.Ready.Message).To(Equal(tt.wantMessage))
			}
		})
	}
}

// A candidate held by the checklist sits at zero pods, which kstatus reads as
// Current; when the gate opens it must scale up first, never be promoted empty.
func TestDecideNeverPromotesAVersionWithoutItsPods(t *testing.T) {
	held := dep("2.3.0", hashNew, 0, HealthCurrent, "Deployment is available. Replicas: 0")
	held.Replicas = 0
	tests := []struct {
		name string
		md   *servingv1alpha1.ModelDeployment
		// size the candidate is asked to grow to: all of it on a first deploy,
		// the surge beside a stable version
		size int32
	}{
		{"first deploy", newMD(withCandidate("2.3.0", 0)), 3},
		{"beside a stable version", newMD(withStable("2.2.0", hashOld), withCandidate("2.3.0", 0)), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			deployments := deps(held)
			if tt.md.Status.Stable != nil {
				deployments = deps(held, dep("2.2.0", hashOld, 3, HealthCurrent, ""))
			}
			d := Decide(Input{MD: tt.md, TemplateHash: hashNew, Deployments: deployments, Now: now})
			g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseProgressing))
			g.Expect(d.Candidate).NotTo(BeNil())
			g.Expect(plain(d.Run)[0]).To(Equal(Target{Version: "2.3.0", Replicas: tt.size}))
			g.Expect(d.Delete).NotTo(ContainElement("fraud-scorer-v2-2-0"), "the stable version serves until the candidate has its pods")
			g.Expect(d.Finished).To(BeEmpty())
		})
	}
}

// The stall event goes out when the stall is new, not on every reconcile.
func TestDecideStallEventOnlyOnce(t *testing.T) {
	g := NewWithT(t)
	gate := Gate{Closed: true, Reason: "ChecklistFailed", Message: "checklist items block it: pdb"}
	first := Decide(Input{MD: newMD(), TemplateHash: hashNew, Now: now, Gate: gate})
	g.Expect(first.Events).To(ContainElement(HaveField("Reason", "ChecklistFailed")))

	md := newMD(withCandidate("2.3.0", 0))
	md.Status.Phase = first.Phase
	md.Status.Conditions = []metav1.Condition{{Type: servingv1alpha1.ConditionStalled, Status: metav1.ConditionTrue,
		Reason: first.Stalled.Reason, Message: first.Stalled.Message}}
	again := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Gate: gate})
	g.Expect(again.Stalled).NotTo(BeNil())
	g.Expect(again.Events).To(BeEmpty())
}

// A changed template already rolled onto the stable Deployment is not
// reported as held when the gate closes afterwards.
func TestDecideChangedTemplateAlreadyRolledIsNotHeld(t *testing.T) {
	g := NewWithT(t)
	gate := Gate{Closed: true, Reason: "ChecklistFailed", Message: "checklist items block it: pdb"}
	md := newMD(withStable("2.3.0", hashOld))
	d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Gate: gate,
		Deployments: deps(dep("2.3.0", hashNew, 3, HealthCurrent, ""))})
	g.Expect(plain(d.Run)).To(Equal([]Target{{Version: "2.3.0", Replicas: 3}}))
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
}

// A candidate whose template (or URI) changes under it starts again: what
// passed the gate and the first steps was another template.
func TestDecideCandidateWithAChangedTemplateIsSuperseded(t *testing.T) {
	g := NewWithT(t)
	md := newMD(withStable("2.2.0", hashOld), withCandidate("2.3.0", 50))
	d := Decide(Input{MD: md, TemplateHash: "cccc3333", Now: now, Deployments: deps(dep("2.2.0", hashOld, 3, HealthCurrent, ""), dep("2.3.0", hashNew, 3, HealthCurrent, ""))})
	o := summary(d)
	g.Expect(o.Finished).To(Equal([]string{"2.3.0:Superseded<-2.2.0"}))
	g.Expect(d.Finished[0].Message).To(Equal("Version 2.3.0 was replaced by a changed pod template, URI or config before it finished rolling out"))
	g.Expect(o.Events).To(HaveExactElements(normal+"/Superseded", normal+"/RolloutStarted"))
	g.Expect(d.Candidate.TemplateHash).To(Equal("cccc3333"))
	g.Expect(d.Candidate.StartedAt).To(Equal(&now), "the new candidate starts from the beginning")
}
