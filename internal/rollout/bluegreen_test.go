package rollout

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func withBlueGreen(autoPromotion bool, delay time.Duration) func(*servingv1alpha1.ModelDeployment) {
	return func(md *servingv1alpha1.ModelDeployment) {
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyBlueGreen, BlueGreen: &servingv1alpha1.BlueGreenStrategy{
			AutoPromotion: ptr.To(autoPromotion), ScaleDownDelay: &metav1.Duration{Duration: delay},
		}}
	}
}

func TestDecideBlueGreen(t *testing.T) {
	stableDep := dep("2.2.0", hashOld, 3, HealthCurrent, "")
	previewUp := dep("2.3.0", hashNew, 3, HealthCurrent, "")
	previewStarting := dep("2.3.0", hashNew, 1, HealthInProgress, "")
	apexOf := func(d Decision) string { return d.Selectors.Apex["serving.modelgate.dev/version"] }

	t.Run("the preview comes up at full size while users stay on the stable version", func(t *testing.T) {
		g := NewWithT(t)
		md := newMD(withBlueGreen(true, 30*time.Second), withStable("2.2.0", hashOld))
		d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableDep, previewStarting)})
		g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseProgressing))
		g.Expect(d.Ready.Reason).To(Equal("PreviewStarting"))
		g.Expect(plain(d.Run)).To(Equal([]Target{{Version: "2.3.0", Replicas: 3}, {Version: "2.2.0", Replicas: 3}}))
		g.Expect(apexOf(d)).To(Equal("2.2.0"), "<name> selects the stable version only")
		g.Expect(d.Selectors.Candidate["serving.modelgate.dev/version"]).To(Equal("2.3.0"), "the preview is reachable on <name>-candidate")
		g.Expect(d.Candidate.Weight).To(BeZero())
	})

	t.Run("without autoPromotion a ready preview waits for a promote", func(t *testing.T) {
		g := NewWithT(t)
		md := newMD(withBlueGreen(false, 30*time.Second), withStable("2.2.0", hashOld), withCandidate("2.3.0", 0))
		d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableDep, previewUp)})
		g.Expect(d.Phase).To(Equal(servingv1alpha1.PhasePaused))
		g.Expect(d.Ready.Reason).To(Equal("WaitingForPromote"))
		g.Expect(apexOf(d)).To(Equal("2.2.0"))
	})

	t.Run("a promote switches <name> in one selector change and keeps the old version warm", func(t *testing.T) {
		g := NewWithT(t)
		md := newMD(withBlueGreen(false, 30*time.Second), withStable("2.2.0", hashOld), withCandidate("2.3.0", 0))
		md.Annotations = map[string]string{servingv1alpha1.AnnotationPromote: "go"}
		d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableDep, previewUp)})
		g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
		g.Expect(d.Stable.Version).To(Equal("2.3.0"))
		g.Expect(apexOf(d)).To(Equal("2.3.0"))
		g.Expect(d.Previous.Version).To(Equal("2.2.0"))
		g.Expect(plain(d.Run)).To(ContainElement(Target{Version: "2.2.0", Replicas: 3}), "the old version keeps its pods for an instant rollback")
		g.Expect(d.Delete).To(BeEmpty())
		g.Expect(d.RequeueAfter).To(Equal(30 * time.Second))
		g.Expect(d.Requests.Promote).To(Equal("go"))
	})

	t.Run("autoPromotion switches as soon as the preview is available", func(t *testing.T) {
		g := NewWithT(t)
		md := newMD(withBlueGreen(true, 30*time.Second), withStable("2.2.0", hashOld), withCandidate("2.3.0", 0))
		d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableDep, previewUp)})
		g.Expect(d.Stable.Version).To(Equal("2.3.0"))
		g.Expect(d.Previous.Version).To(Equal("2.2.0"))
	})

	t.Run("the old version goes once the scale-down delay has passed", func(t *testing.T) {
		g := NewWithT(t)
		switched := metav1.NewTime(now.Add(-10 * time.Second))
		md := newMD(withBlueGreen(true, 30*time.Second), withStable("2.3.0", hashNew))
		md.Status.Previous = &servingv1alpha1.VersionStatus{Version: "2.2.0", Deployment: "fraud-scorer-v2-2-0", Since: &switched}
		d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableDep, previewUp)})
		g.Expect(plain(d.Run)).To(ContainElement(Target{Version: "2.2.0", Replicas: 3}))
		g.Expect(d.RequeueAfter).To(Equal(20 * time.Second))

		later := Decide(Input{MD: md, TemplateHash: hashNew, Now: metav1.NewTime(now.Add(21 * time.Second)), Deployments: deps(stableDep, previewUp)})
		g.Expect(later.Previous).To(BeNil())
		g.Expect(later.Delete).To(Equal([]string{"fraud-scorer-v2-2-0"}))
	})

	t.Run("an abort before the switch rolls the preview back", func(t *testing.T) {
		g := NewWithT(t)
		md := newMD(withBlueGreen(false, 30*time.Second), withStable("2.2.0", hashOld), withCandidate("2.3.0", 0))
		md.Annotations = map[string]string{servingv1alpha1.AnnotationAbort: "bad preview"}
		d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableDep, previewUp)})
		g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseRolledBack))
		g.Expect(plain(d.Run)[0]).To(Equal(Target{Version: "2.2.0", Replicas: 3}))
		g.Expect(d.Rejected.Version).To(Equal("2.3.0"))
		g.Expect(apexOf(d)).To(Equal("2.2.0"))
	})
}
