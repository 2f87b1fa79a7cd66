package rollout

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

func TestSizeForTraffic(t *testing.T) {
	tests := []struct {
		total, weight, candidate, stable int32
	}{
		{0, 50, 0, 0},
		{1, 0, 0, 1},
		{1, 1, 1, 1},
		{1, 100, 1, 0},
		{3, 10, 1, 3},
		{3, 34, 2, 2},
		{3, 50, 2, 2},
		{10, 0, 0, 10},
		{10, 5, 1, 10},
		{10, 25, 3, 8},
		{10, 50, 5, 5},
		{10, 99, 10, 1},
		{10, 100, 10, 0},
		{10, 120, 10, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d pods at %d%%", tt.total, tt.weight), func(t *testing.T) {
			g := NewWithT(t)
			cand, stable := SizeForTraffic(tt.total, tt.weight)
			g.Expect([2]int32{cand, stable}).To(Equal([2]int32{tt.candidate, tt.stable}))
			if tt.total > 0 {
				g.Expect(float64(cand)).To(BeNumerically(">=", float64(tt.total)*float64(min(tt.weight, 100))/100), "each side has the pods its share needs")
				g.Expect(cand+stable).To(BeNumerically("<=", tt.total+1), "rounding up adds at most one pod")
			}
		})
	}
}

func TestRollingSizes(t *testing.T) {
	tests := []struct {
		name                                                                            string
		total, surge, unavailable, newRun, newAvail, oldRun, oldAvail, wantNew, wantOld int32
	}{
		{"starts with the surge", 4, 1, 1, 0, 0, 4, 4, 1, 3},
		{"surge only: the old one waits for new pods", 4, 1, 0, 0, 0, 4, 4, 1, 4},
		{"surge only, a new pod up: one old pod goes", 4, 1, 0, 1, 1, 4, 4, 1, 3},
		{"unavailable only: shrinks first", 4, 0, 1, 0, 0, 4, 4, 0, 3},
		{"unavailable only, room made: grows", 4, 0, 1, 0, 0, 3, 3, 1, 3},
		{"new pods not up: nothing more goes", 4, 1, 1, 2, 0, 3, 3, 2, 3},
		{"unavailable old pods go first", 4, 1, 1, 2, 1, 3, 1, 2, 2},
		{"nothing up anywhere: nothing goes", 3, 1, 0, 3, 0, 3, 0, 3, 3},
		{"stale availability above running is capped", 4, 1, 1, 2, 2, 2, 4, 3, 1},
		{"done: all new", 4, 1, 1, 4, 4, 0, 0, 4, 0},
		{"a single pod with surge 1", 1, 1, 0, 0, 0, 1, 1, 1, 1},
		{"a single pod, its new pod up", 1, 1, 0, 1, 1, 1, 1, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			n, o := RollingSizes(tt.total, tt.surge, tt.unavailable, tt.newRun, tt.newAvail, tt.oldRun, tt.oldAvail)
			g.Expect([2]int32{n, o}).To(Equal([2]int32{tt.wantNew, tt.wantOld}))
		})
	}
}

// A rolling update, move after move with pods coming up between moves, keeps
// within its surge and its availability budget and ends with all pods new.
func TestRollingKeepsItsBudget(t *testing.T) {
	for _, tt := range []struct {
		replicas              int32
		maxSurge, maxUnavail  intstr.IntOrString
		surge, unavailability int32
	}{
		{10, intstr.FromString("25%"), intstr.FromString("25%"), 3, 2},
		{4, intstr.FromInt32(1), intstr.FromInt32(0), 1, 0},
		{4, intstr.FromInt32(0), intstr.FromInt32(1), 0, 1},
		{3, intstr.FromInt32(0), intstr.FromInt32(0), 1, 0},
		{1, intstr.FromString("25%"), intstr.FromString("25%"), 1, 0},
		{5, intstr.FromString("100%"), intstr.FromInt32(0), 5, 0},
	} {
		t.Run(fmt.Sprintf("%d pods, surge %s, unavailable %s", tt.replicas, tt.maxSurge.String(), tt.maxUnavail.String()), func(t *testing.T) {
			g := NewWithT(t)
			md := newMD(withReplicas(tt.replicas), withStable("2.2.0", hashOld), func(md *servingv1alpha1.ModelDeployment) {
				md.Spec.Strategy.Rolling = &servingv1alpha1.RollingStrategy{MaxSurge: &tt.maxSurge, MaxUnavailable: &tt.maxUnavail}
			})
			c := newCluster(md, sized("2.2.0", hashOld, tt.replicas, tt.replicas, HealthCurrent))
			var d Decision
			for i := 0; i < 100 && d.Phase != servingv1alpha1.PhaseSucceeded; i++ {
				d = c.reconcile(g)
				var running int32
				for _, o := range c.deps {
					running += o.Replicas
				}
				g.Expect(running).To(BeNumerically("<=", tt.replicas+tt.surge), "never above maxSurge")
				g.Expect(c.available()).To(BeNumerically(">=", tt.replicas-tt.unavailability), "never below maxUnavailable")
				// One version's pods come up at a time, as they would.
				if i%2 == 0 {
					c.podsUp("2.3.0")
				} else {
					c.podsUp("2.2.0")
				}
			}
			g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
			g.Expect(c.sizes()).To(Equal(map[string]int32{"2.3.0": tt.replicas}))
			g.Expect(c.events).To(Equal([]string{normal + "/RolloutStarted", normal + "/Promoted"}))
		})
	}
}

// routedCanary is canaryMD with its weights set on an HTTPRoute.
func withRoute(md *servingv1alpha1.ModelDeployment) {
	md.Spec.Strategy.TrafficRouting = &servingv1alpha1.TrafficRouting{GatewayAPI: &servingv1alpha1.GatewayAPIRouting{HTTPRoute: "fraud"}}
}

// With a router, a canary's weight moves on the route only once the pods
// sized for it are up, a promotion keeps the route until the candidate is at
// full size, and <name> selects the stable version alone.
func TestRoutedCanaryFromStartToPromotion(t *testing.T) {
	g := NewWithT(t)
	c := newCluster(canaryMD(withRoute), stableAt(10))
	expectRoute := func(d Decision, weight int32) {
		g.Expect(d.Route).To(Equal(&desiredstate.RoutePlan{CandidateWeight: weight}))
		g.Expect(d.Selectors.Apex).To(Equal(d.Selectors.Stable), "the router, not the mix of pods, sets the share")
	}

	d := c.reconcile(g)
	expectRoute(d, 0)
	g.Expect(d.Candidate.Weight).To(BeZero(), "status shows the weight the route gives")
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 10, "2.3.0": 1}))

	c.podsUp("2.3.0")
	d = c.reconcile(g) // 10% is up: on to 50%, whose pods are not up yet
	g.Expect(d.Candidate.Step).To(BeEquivalentTo(1))
	expectRoute(d, 10)
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 10, "2.3.0": 5}))

	c.podsUp("2.3.0")
	d = c.reconcile(g)
	expectRoute(d, 50)
	g.Expect(d.Candidate.Weight).To(BeEquivalentTo(50))
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 5, "2.3.0": 5}))

	c.now = metav1.NewTime(c.now.Add(d.RequeueAfter))
	d = c.reconcile(g)
	expectRoute(d, 50)
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 5, "2.3.0": 8}))
	c.podsUp("2.3.0")
	d = c.reconcile(g)
	expectRoute(d, 80)
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 2, "2.3.0": 8}))

	c.annotate(servingv1alpha1.AnnotationPromote, "go")
	d = c.reconcile(g)
	expectRoute(d, 80) // until the candidate is at full size
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 2, "2.3.0": 10}))

	c.podsUp("2.3.0")
	d = c.reconcile(g)
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
	expectRoute(d, 0) // <name>-stable now selects 2.3.0
	g.Expect(d.Selectors.Stable).To(Equal(desiredstate.VersionLabels(c.md, "2.3.0")))
}

func TestRoutedCanaryRollbackPutsTheRouteBackFirst(t *testing.T) {
	g := NewWithT(t)
	md := canaryMD(withRoute, withCandidate("2.3.0", 50), atStep(1, started), withAnnotation(servingv1alpha1.AnnotationAbort, "bad answers"))
	d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableAt(5), candAt(5, 5))})
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseRolledBack))
	g.Expect(d.Route).To(Equal(&desiredstate.RoutePlan{}), "all traffic on stable")
	g.Expect(plain(d.Run)).To(Equal([]Target{{Version: "2.2.0", Replicas: 10}, {Version: "2.3.0", Replicas: 0}}))
}

func TestRouteProblemHoldsTheCandidate(t *testing.T) {
	g := NewWithT(t)
	md := canaryMD(withRoute)
	d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableAt(10)),
		RouteProblem: `HTTPRoute "fraud" not found`})
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseVerifying))
	g.Expect(d.Stalled).NotTo(BeNil())
	g.Expect(d.Stalled.Reason).To(Equal("HTTPRouteNotReady"))
	g.Expect(d.Stalled.Message).To(Equal(`Version 2.3.0 gets no traffic: HTTPRoute "fraud" not found; version 2.2.0 keeps serving`))
	g.Expect(plain(d.Run)).To(Equal([]Target{{Version: "2.3.0", Replicas: 0}, {Version: "2.2.0", Replicas: 10}}))

	first := Decide(Input{MD: newMD(withRoute), TemplateHash: hashNew, Now: now, RouteProblem: "no route"})
	g.Expect(first.Phase).To(Equal(servingv1alpha1.PhaseProgressing), "the first version moves no traffic between versions")
}

func withShadow(percent int32, d time.Duration) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) {
		md.Spec.Strategy.Type = servingv1alpha1.StrategyShadow
		md.Spec.Strategy.Canary = nil
		md.Spec.Strategy.Shadow = &servingv1alpha1.ShadowStrategy{MirrorPercent: percent, Duration: metav1.Duration{Duration: d}}
		withRoute(md)
	}
}

func withABTest(replicas *int32, d time.Duration) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) {
		md.Spec.Strategy.Type = servingv1alpha1.StrategyABTest
		md.Spec.Strategy.Canary = nil
		md.Spec.Strategy.ABTest = &servingv1alpha1.ABTestStrategy{
			Headers:  []servingv1alpha1.Match{{Name: "x-model-variant", Value: "b"}},
			Duration: metav1.Duration{Duration: d}, Replicas: replicas,
		}
		withRoute(md)
	}
}

// A shadow sizes the candidate for its copy of the traffic, mirrors only once
// its pods are up, never gives it user traffic, and waits for a verdict.
func TestShadowFromStartToPromotion(t *testing.T) {
	g := NewWithT(t)
	c := newCluster(canaryMD(withShadow(20, 10*time.Minute)), stableAt(10))

	d := c.reconcile(g)
	g.Expect(d.Ready.Reason).To(Equal("WaitingForPods"))
	g.Expect(d.Route).To(Equal(&desiredstate.RoutePlan{}), "nothing mirrored to pods that are not up")
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 10, "2.3.0": 2}))
	g.Expect(d.Selectors.Apex).To(Equal(d.Selectors.Stable))

	c.podsUp("2.3.0")
	d = c.reconcile(g)
	g.Expect(d.Ready.Reason).To(Equal("Experimenting"))
	g.Expect(d.Route).To(Equal(&desiredstate.RoutePlan{MirrorPercent: 20}))
	g.Expect(d.Candidate.Weight).To(BeZero(), "a shadow never serves users")
	g.Expect(d.Candidate.StepStartedAt.Time).To(Equal(now.Time))
	g.Expect(d.RequeueAfter).To(Equal(10 * time.Minute))
	g.Expect(d.Ready.Message).To(Equal("Shadow of version 2.3.0: the candidate gets a copy of 20% of the requests, its answers dropped until " +
		now.Add(10*time.Minute).UTC().Format(time.RFC3339) + "; version 2.2.0 serves every answer users see"))

	c.now = metav1.NewTime(c.now.Add(5 * time.Minute))
	d = c.reconcile(g)
	g.Expect(d.RequeueAfter).To(Equal(5*time.Minute), "the clock runs from the start of mirroring")

	c.now = metav1.NewTime(c.now.Add(5 * time.Minute))
	d = c.reconcile(g)
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhasePaused))
	g.Expect(d.Ready.Reason).To(Equal("WaitingForVerdict"))
	g.Expect(d.Route.MirrorPercent).To(BeEquivalentTo(20), "mirroring goes on while the verdict is awaited")
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 10, "2.3.0": 2}))

	c.annotate(servingv1alpha1.AnnotationPromote, "looks good")
	d = c.reconcile(g)
	g.Expect(d.Ready.Reason).To(Equal("Promoting"))
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 10, "2.3.0": 10}), "full size beside a full stable version before the switch")
	g.Expect(d.Route.CandidateWeight).To(BeZero())

	c.podsUp("2.3.0")
	d = c.reconcile(g)
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
	g.Expect(d.Route).To(Equal(&desiredstate.RoutePlan{}))
	g.Expect(c.sizes()).To(Equal(map[string]int32{"2.3.0": 10}))
	g.Expect(c.events).To(Equal([]string{normal + "/RolloutStarted", normal + "/ExperimentStarted", normal + "/PromoteRequested", normal + "/Promoted"}))
	g.Expect(c.md.Status.History[0].Strategy).To(Equal(servingv1alpha1.StrategyShadow))
}

func TestABTest(t *testing.T) {
	cohort := &desiredstate.Cohort{Headers: []servingv1alpha1.Match{{Name: "x-model-variant", Value: "b"}}}
	tests := []struct {
		name     string
		replicas *int32
		size     int32
	}{
		{"candidate at half the stable size by default", nil, 5},
		{"candidate at the declared size", ptr.To[int32](2), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := newCluster(canaryMD(withABTest(tt.replicas, time.Hour)), stableAt(10))
			d := c.reconcile(g)
			g.Expect(d.Route).To(Equal(&desiredstate.RoutePlan{}))
			g.Expect(c.sizes()).To(Equal(map[string]int32{"2.2.0": 10, "2.3.0": tt.size}))

			c.podsUp("2.3.0")
			d = c.reconcile(g)
			g.Expect(d.Route).To(Equal(&desiredstate.RoutePlan{Cohort: cohort}))
			g.Expect(d.Ready.Message).To(ContainSubstring("the candidate gets the requests of its cohort (header x-model-variant: b)"))

			c.annotate(servingv1alpha1.AnnotationAbort, "cohort B converts worse")
			d = c.reconcile(g)
			g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseRolledBack))
			g.Expect(d.Route).To(Equal(&desiredstate.RoutePlan{}), "the cohort goes back to stable")
			g.Expect(plain(d.Run)).To(Equal([]Target{{Version: "2.2.0", Replicas: 10}, {Version: "2.3.0", Replicas: 0}}))
		})
	}
}

func TestExperimentPausedHoldsTheClockOut(t *testing.T) {
	g := NewWithT(t)
	md := canaryMD(withShadow(100, time.Minute), withCandidate("2.3.0", 0), atStep(0, metav1.NewTime(now.Add(-time.Hour))), withPaused)
	d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableAt(10), candAt(10, 10))})
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhasePaused))
	g.Expect(d.Ready.Reason).To(Equal("Paused"))
	g.Expect(d.Route.MirrorPercent).To(BeEquivalentTo(100))
}
