package rollout

import (
	"testing"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// Rolling, like every strategy, gives a version traffic only once its smoke
// and load tests passed: its first pods come up beside the whole stable
// version, out of user traffic, and the update moves on only after the tests.
func TestDecideRollingRunsTests(t *testing.T) {
	md := newMD(withVersion("2.4.0"), withStable("2.3.0", hashOld), withCandidate("2.4.0", 0))
	stable := dep("2.3.0", hashOld, 3, HealthCurrent, "")
	underTest := func(available int32) Observed {
		o := dep("2.4.0", hashNew, available, HealthCurrent, "")
		o.Replicas = 1
		return o
	}
	tests := []struct {
		name      string
		deps      map[string]Observed
		tests     *TestsState
		run       []Target
		phase     servingv1alpha1.Phase
		candidate string
		reason    string
		apexAll   bool
	}{
		{
			name: "the first candidate pod comes up beside the whole stable version, out of user traffic",
			deps: deps(stable), tests: &TestsState{},
			run:   []Target{{Version: "2.4.0", Replicas: 1}, {Version: "2.3.0", Replicas: 3}},
			phase: servingv1alpha1.PhaseProgressing, candidate: "2.4.0@0", reason: ReasonWaitingForPods,
		},
		{
			name: "the tests run against it; nothing else moves",
			deps: deps(stable, underTest(1)), tests: &TestsState{},
			run:   []Target{{Version: "2.4.0", Replicas: 1}, {Version: "2.3.0", Replicas: 3}},
			phase: servingv1alpha1.PhaseProgressing, candidate: "2.4.0@0", reason: ReasonTesting,
		},
		{
			name: "a failed smoke test rolls the candidate back",
			deps: deps(stable, underTest(1)), tests: &TestsState{Done: true, Reason: ReasonSmokeTestFailed, Message: "smoke test: 500"},
			run:   []Target{{Version: "2.3.0", Replicas: 3}, {Version: "2.4.0", Replicas: 0}},
			phase: servingv1alpha1.PhaseRolledBack, reason: ReasonSmokeTestFailed, apexAll: true, // the candidate has no pods left
		},
		{
			name: "passed tests let the rolling update move on, both versions behind <name>",
			deps: deps(stable, underTest(1)), tests: &TestsState{Done: true, Passed: true},
			run:   []Target{{Version: "2.4.0", Replicas: 1}, {Version: "2.3.0", Replicas: 2}},
			phase: servingv1alpha1.PhaseProgressing, candidate: "2.4.0@25", reason: ReasonRollingOut, apexAll: true,
		},
		{
			name:  "without tests declared nothing waits",
			deps:  deps(stable),
			run:   []Target{{Version: "2.4.0", Replicas: 1}, {Version: "2.3.0", Replicas: 3}},
			phase: servingv1alpha1.PhaseProgressing, candidate: "2.4.0@0", reason: ReasonRollingOut, apexAll: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := Decide(Input{MD: md.DeepCopy(), TemplateHash: hashNew, Deployments: tt.deps, Now: now, Tests: tt.tests})
			o := summary(d)
			g.Expect(o.Run).To(Equal(tt.run))
			g.Expect(o.Phase).To(Equal(tt.phase))
			g.Expect(o.Candidate).To(Equal(tt.candidate))
			g.Expect(d.Progressing.Reason).To(Equal(tt.reason))
			if tt.apexAll {
				g.Expect(d.Selectors.Apex).To(Equal(desiredstate.SelectorLabels(md)))
			} else {
				g.Expect(d.Selectors.Apex).To(Equal(d.Selectors.Stable), "users reach the stable version only")
			}
		})
	}
}
