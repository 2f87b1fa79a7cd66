package rollout

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

var closedWindow = &WindowState{Open: false, NextStart: now.Add(3 * time.Hour),
	Message: "outside every deployment window; the next opens at 2026-03-02T18:00:00+01:00 (Europe/Berlin)"}

func TestDeploymentWindows(t *testing.T) {
	ago := metav1.NewTime(now.Add(-time.Hour))
	tests := []struct {
		name     string
		md       *servingv1alpha1.ModelDeployment
		deps     map[string]Observed
		override string
		phase    servingv1alpha1.Phase
		run      []Target
		step     int32
	}{
		{
			name: "a new canary does not start: no pod, the stable version serves",
			md:   canaryMD(), deps: deps(stableAt(10)),
			phase: servingv1alpha1.PhaseWaiting, run: []Target{{Version: "2.3.0", Replicas: 0}, {Version: "2.2.0", Replicas: 10}}, step: 0,
		},
		{
			name: "a canary mid-way stays at its step",
			md:   canaryMD(withCandidate("2.3.0", 10), atStep(0, ago)), deps: deps(stableAt(9), candAt(1, 1)),
			phase: servingv1alpha1.PhaseWaiting, run: []Target{{Version: "2.3.0", Replicas: 1}, {Version: "2.2.0", Replicas: 9}}, step: 0,
		},
		{
			name: "with the emergency override it moves on",
			md:   canaryMD(withCandidate("2.3.0", 10), atStep(0, ago)), deps: deps(stableAt(9), candAt(1, 1)),
			override: "INC-4711 (set by carol)",
			phase:    servingv1alpha1.PhaseProgressing, run: []Target{{Version: "2.3.0", Replicas: 5}, {Version: "2.2.0", Replicas: 9}}, step: 1,
		},
		{
			name: "an abort is never held",
			md:   canaryMD(withCandidate("2.3.0", 10), atStep(0, ago), withAnnotation(servingv1alpha1.AnnotationAbort, "bad")), deps: deps(stableAt(9), candAt(1, 1)),
			phase: servingv1alpha1.PhaseRolledBack, run: []Target{{Version: "2.2.0", Replicas: 10}, {Version: "2.3.0", Replicas: 0}}, step: -1,
		},
		{
			name: "a blue-green preview comes up, its switch waits",
			md:   canaryMD(withBlueGreen(true, time.Minute), withCandidate("2.3.0", 0)), deps: deps(stableAt(10), candAt(10, 10)),
			phase: servingv1alpha1.PhaseWaiting, run: []Target{{Version: "2.3.0", Replicas: 10}, {Version: "2.2.0", Replicas: 10}}, step: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := Decide(Input{MD: tt.md, TemplateHash: hashNew, Now: now, Deployments: tt.deps, Window: closedWindow, WindowOverride: tt.override})
			g.Expect(d.Phase).To(Equal(tt.phase))
			g.Expect(plain(d.Run)).To(Equal(tt.run))
			g.Expect(canarySummary(d).Step).To(Equal(tt.step))
			if tt.phase == servingv1alpha1.PhaseWaiting {
				g.Expect(d.Ready.Reason).To(Equal("OutsideDeploymentWindow"))
				g.Expect(d.Ready.Message).To(ContainSubstring("the next opens at 2026-03-02T18:00:00+01:00"))
				g.Expect(d.RequeueAfter).To(Equal(3*time.Hour), "decided again when the window opens")
				g.Expect(d.Stalled).To(BeNil(), "waiting for a window is no failure")
			}
		})
	}
}

func TestWindowOverrideRecordedInHistory(t *testing.T) {
	g := NewWithT(t)
	md := canaryMD(withCandidate("2.3.0", 80), atStep(3, now))
	d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableAt(2), candAt(10, 10)), Window: closedWindow, WindowOverride: "INC-4711 (set by carol)"})
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
	g.Expect(d.Finished[0].WindowOverride).To(Equal("INC-4711 (set by carol)"))
}
