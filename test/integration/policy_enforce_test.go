package integration

import (
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/test/bars"
)

// itemOf reads one checklist item of a ModelDeployment, empty until judged.
func itemOf(key types.NamespacedName, id string) func() servingv1alpha1.ChecklistItemStatus {
	return func() servingv1alpha1.ChecklistItemStatus {
		if st := getMD(key).Status.Checklist; st != nil {
			for _, it := range st.Items {
				if it.ID == id {
					return it
				}
			}
		}
		return servingv1alpha1.ChecklistItemStatus{}
	}
}

// replicasOfVersion reads the size of a version's Deployment.
func replicasOfVersion(ns, name, version string) func() int32 {
	return func() int32 {
		dep := &appsv1.Deployment{}
		if err := k8sClient.Get(ctx, deploymentOf(ns, name, version), dep); err != nil {
			return -1
		}
		return ptr.Deref(dep.Spec.Replicas, 1)
	}
}

var _ = Describe("ModelDeploymentPolicy in the reconciler", func() {
	var ns string
	BeforeEach(func() {
		ns = policyNamespace()
		letAuthenticatedUsersDeploy()
		letAuthenticatedUsersApprove()
	})

	It("holds the next version of a ModelDeployment admitted before the policy until the PDB the policy requires exists", func() {
		md := newModelDeployment(ns, "1.0.0", 2) // development: pdb is off
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		Expect(getMD(key).Status.Policy).To(BeNil(), "no policy selects it yet")

		p := newPolicy(ns, "pdb-floor", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{{ID: "pdb", MinimumSeverity: servingv1alpha1.SeverityEnforce}}}
		})
		By("re-judging it when the policy appears: the item's severity and who set it, in status")
		Eventually(itemOf(key, "pdb")).Should(And(
			HaveField("Severity", servingv1alpha1.SeverityEnforce),
			HaveField("SeveritySource", "policy/"+p.Name),
			HaveField("Result", servingv1alpha1.CheckFail)))
		Expect(getMD(key).Status.Policy.Policies).To(ConsistOf(p.Name))
		Expect(getMD(key).Status.Phase).To(Equal(servingv1alpha1.PhaseSucceeded), "the version already serving keeps serving")

		By("holding the next version without traffic")
		updateMD(key, func(md *servingv1alpha1.ModelDeployment) { md.Spec.Model.Version = "1.1.0" })
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseVerifying))
		Expect(meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionChecklistPassed).Message).To(ContainSubstring("blocked by pdb"))
		Eventually(replicasOfVersion(ns, md.Name, "1.1.0")).Should(BeZero())
		Expect(replicasOfVersion(ns, md.Name, "1.0.0")()).To(BeEquivalentTo(2))

		By("letting it through once the PDB exists")
		Expect(k8sClient.Create(ctx, pdbFor(ns, md.Name))).To(Succeed())
		Eventually(replicasOfVersion(ns, md.Name, "1.1.0")).Should(BeNumerically(">", 0))
	})

	It("holds a version whose spec asks for a strategy the policy does not allow, saying which policy and field", func() {
		md := newModelDeployment(ns, "1.0.0", 1) // Rolling
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))

		p := newPolicy(ns, "no-rolling", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Analysis = &servingv1alpha1.PolicyAnalysis{AllowedStrategies: []servingv1alpha1.StrategyType{servingv1alpha1.StrategyCanary, servingv1alpha1.StrategyBlueGreen}}
		})
		Eventually(func() string {
			c := meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionPolicyCompliant)
			if c == nil {
				return ""
			}
			return string(c.Status) + " " + c.Message
		}).Should(And(HavePrefix("False"), ContainSubstring("spec.strategy.type"), ContainSubstring(p.Name)))

		updateMD(key, func(md *servingv1alpha1.ModelDeployment) { md.Spec.Model.Version = "1.1.0" })
		Eventually(func() string {
			return meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionReady).Reason
		}).Should(Equal("PolicyViolated"))
		Eventually(replicasOfVersion(ns, md.Name, "1.1.0")).Should(BeZero(), "no traffic, no pods")
		Expect(replicasOfVersion(ns, md.Name, "1.0.0")()).To(BeEquivalentTo(1))

		By("complying: a canary runs")
		updateMD(key, func(md *servingv1alpha1.ModelDeployment) {
			md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary,
				Canary: &servingv1alpha1.CanaryStrategy{Steps: []servingv1alpha1.CanaryStep{{Weight: 50}}}}
		})
		Eventually(func() metav1.ConditionStatus {
			return meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionPolicyCompliant).Status
		}).Should(Equal(metav1.ConditionTrue))
		Eventually(replicasOfVersion(ns, md.Name, "1.1.0")).Should(BeNumerically(">", 0))
	})

	It("does not count an approval by the user who bumped the version; a second user's counts", func() {
		p := newPolicy(ns, "sign-off", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Approvals = &servingv1alpha1.PolicyApprovals{Required: []servingv1alpha1.RequiredApproval{{Role: "risk", Groups: []string{"risk-officers"}}}}
		})
		alice := clientAs("alice", "risk-officers")
		md := policyModelDeployment(ns)
		md.Spec.Checklist.Profile = servingv1alpha1.ProfileDevelopment
		Expect(alice.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseAwaitingApproval))

		By("alice, who created it, approving her own version")
		Expect(alice.Create(ctx, newApproval(ns, "by-alice", md.Name, "1.0.0", "risk"))).To(Succeed())
		Eventually(condition(key, servingv1alpha1.ConditionApproved)).Should(And(
			ContainSubstring("by-alice by alice does not count"), ContainSubstring("separation of duties"), ContainSubstring(p.Name)))
		Consistently(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }, "1s").Should(Equal(servingv1alpha1.PhaseAwaitingApproval))

		By("bob approving it")
		Expect(clientAs("bob", "risk-officers").Create(ctx, newApproval(ns, "by-bob", md.Name, "1.0.0", "risk"))).To(Succeed())
		Eventually(func() []servingv1alpha1.GivenApproval { return getMD(key).Status.Approvals }).Should(ConsistOf(
			HaveField("Approver", "bob")))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).ShouldNot(Equal(servingv1alpha1.PhaseAwaitingApproval))
	})

	It("holds a rollout during a policy's freeze, and a platform user's override lets it through", func() {
		md := newModelDeployment(ns, "1.0.0", 1)
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary,
			Canary: &servingv1alpha1.CanaryStrategy{Steps: []servingv1alpha1.CanaryStep{{Weight: 50}}}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		newPolicy(ns, "freeze", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Windows = &servingv1alpha1.PolicyWindows{OverrideGroups: []string{"platform-sre"}, Freezes: []servingv1alpha1.Freeze{{
				Start: metav1.NewTime(time.Now().Add(-time.Hour)), End: metav1.NewTime(time.Now().Add(24 * time.Hour)), Reason: "year-end freeze",
			}}}
		})
		Eventually(func() *servingv1alpha1.PolicyStatus { return getMD(key).Status.Policy }).ShouldNot(BeNil())

		updateMD(key, func(md *servingv1alpha1.ModelDeployment) { md.Spec.Model.Version = "1.1.0" })
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseWaiting))
		Expect(meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionReady).Message).To(ContainSubstring("year-end freeze"))

		By("a team user may not override the freeze")
		err := clientAs("tom", "risk-team").Patch(ctx, getMD(key), client.RawPatch(types.MergePatchType,
			[]byte(`{"metadata":{"annotations":{"serving.modelgate.dev/window-override":"hotfix"}}}`)))
		Expect(err).To(MatchError(ContainSubstring("platform-sre")))

		By("a platform user may")
		Expect(clientAs("paula", "platform-sre").Patch(ctx, getMD(key), client.RawPatch(types.MergePatchType,
			[]byte(`{"metadata":{"annotations":{"serving.modelgate.dev/window-override":"fraud spike, hotfix"}}}`)))).To(Succeed())
		Eventually(replicasOfVersion(ns, md.Name, "1.1.0")).Should(BeNumerically(">", 0))
	})

	It("re-judges the ModelDeployments a policy selects when it is edited", func() {
		p := newPolicy(ns, "edited", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{{ID: "hpa", MinimumSeverity: servingv1alpha1.SeverityWarn}}}
		})
		md := newModelDeployment(ns, "1.0.0", 1)
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		Eventually(itemOf(key, "hpa")).Should(HaveField("SeveritySource", "policy/"+p.Name))
		Eventually(func(g Gomega) {
			cur := &servingv1alpha1.ModelDeploymentPolicy{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), cur)).To(Succeed())
			g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
			g.Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, servingv1alpha1.ConditionReady)).To(BeTrue())
		}).Should(Succeed())

		Eventually(func() error {
			cur := &servingv1alpha1.ModelDeploymentPolicy{}
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(p), cur)).To(Succeed())
			cur.Spec.Checklist.Items = []servingv1alpha1.PolicyChecklistItem{{ID: "runbook", MinimumSeverity: servingv1alpha1.SeverityWarn}}
			return k8sClient.Update(ctx, cur)
		}).Should(Succeed())
		Eventually(itemOf(key, "runbook")).Should(HaveField("SeveritySource", "policy/"+p.Name))
		Expect(itemOf(key, "hpa")().SeveritySource).NotTo(Equal("policy/"+p.Name), "the floor it dropped no longer applies")

		By("letting it go when the policy is deleted")
		Expect(k8sClient.Delete(ctx, p)).To(Succeed())
		Eventually(func() *servingv1alpha1.PolicyStatus { return getMD(key).Status.Policy }).Should(BeNil())
		Expect(meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionPolicyCompliant)).To(BeNil())
	})

	It("re-judges 300 ModelDeployments after one policy edit", func() {
		const n = 300
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				md := newModelDeployment(ns, "1.0.0", 1)
				md.Name = fmt.Sprintf("model-%03d", i)
				errs <- k8sClient.Create(ctx, md)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			Expect(err).NotTo(HaveOccurred())
		}
		judged := func(source string) func() int {
			return func() int {
				var list servingv1alpha1.ModelDeploymentList
				Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
				count := 0
				for i := range list.Items {
					if st := list.Items[i].Status.Checklist; st != nil {
						for _, it := range st.Items {
							if it.ID == "pdb" && it.SeveritySource == source {
								count++
							}
						}
					}
				}
				return count
			}
		}
		Eventually(judged(""), "120s", "500ms").Should(Equal(n))

		start := time.Now()
		p := newPolicy(ns, "fleet", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{{ID: "pdb", MinimumSeverity: servingv1alpha1.SeverityWarn}}}
		})
		Eventually(judged("policy/"+p.Name), "120s", "200ms").Should(Equal(n))
		bars.Record("integration", "PolicyEditRejudges300ModelDeployments", time.Since(start).Seconds(), "s")
	})
})
