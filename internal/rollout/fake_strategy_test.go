package rollout

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// bigBang is a strategy: everything a strategy needs to plug into Decide is
// this type and its entry in strategies. It brings the new version up at full
// size beside the stable one, then promotes it at once, keeping the old one
// warm for a minute.
type bigBang struct{}

func (bigBang) step(d *Decision, in Input, name string, replicas int32) {
	obs, found := in.Deployments[name]
	d.Run = []Target{{Version: in.MD.Spec.Model.Version, Replicas: replicas}, {Version: d.Stable.Version, Replicas: replicas}}
	if rolledBackNow(d, in, name, replicas) {
		return
	}
	if found && rolledOut(obs, in.TemplateHash, replicas) {
		promote(d, in, name, obs)
		return
	}
	progress(d, ReasonWaitingForPods, fmt.Sprintf("Big bang of version %s: %d/%d pods available", in.MD.Spec.Model.Version, obs.AvailableReplicas, replicas), obs, found)
}
func (bigBang) startedMoving(*servingv1alpha1.CandidateStatus) bool     { return false }
func (bigBang) apexStableOnly(bool) bool                                { return true }
func (bigBang) measured(*servingv1alpha1.CandidateStatus) bool          { return true }
func (bigBang) keepWarm(*servingv1alpha1.ModelDeployment) time.Duration { return time.Minute }

func TestAStrategyRegisteredByType(t *testing.T) {
	const typ servingv1alpha1.StrategyType = "BigBang"
	strategies[typ] = bigBang{}
	t.Cleanup(func() { delete(strategies, typ) })
	g := NewWithT(t)
	md := newMD(withStrategy(typ), withStable("2.2.0", hashOld))
	stableDep := dep("2.2.0", hashOld, 3, HealthCurrent, "")

	d := Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableDep, dep("2.3.0", hashNew, 1, HealthInProgress, ""))})
	g.Expect(d.Ready.Reason).To(Equal(ReasonWaitingForPods))
	g.Expect(plain(d.Run)).To(Equal([]Target{{Version: "2.3.0", Replicas: 3}, {Version: "2.2.0", Replicas: 3}}))
	g.Expect(d.Selectors.Apex["serving.modelgate.dev/version"]).To(Equal("2.2.0"), "its apexStableOnly")
	md.Status.Candidate = d.Candidate
	_, _, _, measured := UnderAnalysis(md)
	g.Expect(measured).To(BeTrue(), "its measured")

	d = Decide(Input{MD: md, TemplateHash: hashNew, Now: now, Deployments: deps(stableDep, dep("2.3.0", hashNew, 3, HealthCurrent, ""))})
	g.Expect(d.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
	g.Expect(d.Stable.Version).To(Equal("2.3.0"))
	g.Expect(d.Previous.Version).To(Equal("2.2.0"), "kept warm for its keepWarm")
	g.Expect(d.RequeueAfter).To(Equal(time.Minute))
}
