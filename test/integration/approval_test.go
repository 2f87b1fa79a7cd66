package integration

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/approval"
)

// clientAs is a client that the API server authenticates as user in groups,
// through impersonation, as kubectl --as and --as-group do.
func clientAs(user string, groups ...string) client.Client {
	c := rest.CopyConfig(cfg)
	c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append(groups, "system:authenticated")}
	cl, err := client.New(c, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	return cl
}

// letAuthenticatedUsersApprove grants every authenticated user the right to
// work with ModelApprovals and read ModelDeployments, as a platform team would
// for its approvers.
func letAuthenticatedUsersApprove() {
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "modelgate-approver"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"serving.modelgate.dev"}, Resources: []string{"modelapprovals"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
		{APIGroups: []string{"serving.modelgate.dev"}, Resources: []string{"modeldeployments"}, Verbs: []string{"get", "list", "update", "patch"}},
	}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "modelgate-approver"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "system:authenticated"}}}
	for _, o := range []client.Object{role, binding} {
		if err := k8sClient.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	}
}

func newApproval(ns, name, md, version, role string) *servingv1alpha1.ModelApproval {
	return &servingv1alpha1.ModelApproval{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: servingv1alpha1.ModelApprovalSpec{ModelDeployment: md, Version: version, Role: role}}
}

func getDeployment(key types.NamespacedName) *appsv1.Deployment {
	dep := &appsv1.Deployment{}
	Expect(k8sClient.Get(ctx, key, dep)).To(Succeed())
	return dep
}

func condition(key types.NamespacedName, typ string) func() string {
	return func() string {
		c := meta.FindStatusCondition(getMD(key).Status.Conditions, typ)
		if c == nil {
			return ""
		}
		return string(c.Status) + "/" + c.Reason + ": " + c.Message
	}
}

var _ = Describe("Approvals", func() {
	var ns string
	BeforeEach(func() {
		ns = newNamespace()
		letAuthenticatedUsersApprove()
	})

	It("stamps the approver from the request and refuses forged or edited approvals", func() {
		alice := clientAs("alice", "sec-team")
		ap := newApproval(ns, "security-ok", "fraud-scorer", "2.3.0", "security")
		Expect(alice.Create(ctx, ap)).To(Succeed())
		got := &servingv1alpha1.ModelApproval{}
		Expect(k8sClient.Get(ctx, objectKey(ap), got)).To(Succeed())
		Expect(got.Spec.Approver).NotTo(BeNil())
		Expect(got.Spec.Approver.Username).To(Equal("alice"))
		Expect(got.Spec.Approver.Groups).To(ContainElements("sec-team", "system:authenticated"))
		Expect(got.Spec.Approver.ApprovedAt.IsZero()).To(BeFalse())

		By("refusing an approval that names its own approver")
		forged := newApproval(ns, "forged", "fraud-scorer", "2.3.0", "security")
		forged.Spec.Approver = &servingv1alpha1.Approver{Username: "ciso", Groups: []string{"sec-team"}, ApprovedAt: metav1.Now()}
		err := clientAs("mallory", "dev").Create(ctx, forged)
		Expect(err).To(MatchError(ContainSubstring("spec.approver is set by modelgate from the identity that creates the ModelApproval")))

		By("refusing an edit, even by its approver")
		got.Spec.Comment = "changed my mind"
		err = alice.Update(ctx, got)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("cannot be changed"))
		got.Spec.Comment = ""
		got.Spec.Approver.Username = "ciso"
		Expect(alice.Update(ctx, got)).NotTo(Succeed(), "nor can the stamp be rewritten")
	})

	It("holds a version until its attested items and every required role are signed off by allowed groups, for that exact version", func() {
		md := newModelDeployment(ns, "2.3.0", 2)
		md.Spec.Approvals = &servingv1alpha1.ApprovalsSpec{Required: []servingv1alpha1.RequiredApproval{
			{Role: "security", Groups: []string{"sec-team"}},
			{Role: "product-owner", Groups: []string{"po"}},
		}}
		md.Spec.Checklist.Attestations = []servingv1alpha1.Attestation{{ID: "security-scan", Section: "Vulnerability Assessment", Role: "security"}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		dep := deploymentOf(ns, md.Name, "2.3.0")

		By("keeping the unattested item unticked, and the version without pods")
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseVerifying))
		Expect(checklistItem(getMD(key), "security-scan").Result).To(Equal(servingv1alpha1.CheckFail))
		Eventually(replicasOf(dep)).Should(BeZero(), "created without pods once the decision is applied")

		By("ticking it with an attestation, showing who attested it")
		scan := newApproval(ns, "scan-2-3-0", md.Name, "2.3.0", "security")
		scan.Spec.Item = "security-scan"
		Expect(clientAs("alice", "sec-team").Create(ctx, scan)).To(Succeed())
		Eventually(func() string { return checklistItem(getMD(key), "security-scan").AttestedBy }).Should(Equal("alice"))
		Expect(checklistItem(getMD(key), "security-scan").AttestedAt).NotTo(BeNil())

		By("waiting for both roles")
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseAwaitingApproval))
		Expect(condition(key, servingv1alpha1.ConditionApproved)()).To(HavePrefix("False/AwaitingApproval: Version 2.3.0 waits for the approval of security, product-owner"))
		Expect(kstatusOf(key)).To(BeEquivalentTo("InProgress"), "waiting for people is progress, not failure")
		Eventually(func() []string { return eventReasons(ns, md.Name) }).Should(ContainElement("AwaitingApproval"))

		By("ignoring an approval from a group the role does not allow, saying so")
		Expect(clientAs("eve", "dev").Create(ctx, newApproval(ns, "eve-says-yes", md.Name, "2.3.0", "security"))).To(Succeed())
		Eventually(condition(key, servingv1alpha1.ConditionApproved)).Should(ContainSubstring(
			"not counted: eve-says-yes by eve is for role security, but eve is in none of its groups (sec-team)"))

		By("proceeding once both roles are approved by allowed groups")
		Expect(clientAs("alice", "sec-team").Create(ctx, newApproval(ns, "alice-security", md.Name, "2.3.0", "security"))).To(Succeed())
		Expect(clientAs("bob", "po").Create(ctx, newApproval(ns, "bob-po", md.Name, "2.3.0", "product-owner"))).To(Succeed())
		Eventually(replicasOf(dep)).Should(BeEquivalentTo(2))
		playDeploymentController(dep)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		cur := getMD(key)
		Expect(cur.Status.History[0].Approvers).To(Equal([]string{"security=alice", "product-owner=bob"}))
		Expect(cur.Status.Approvals).To(HaveLen(2))
		Expect(condition(key, servingv1alpha1.ConditionApproved)()).To(HavePrefix("True/Approved: Version 2.3.0 is approved by security=alice, product-owner=bob"))

		By("not counting the approvals of 2.3.0 for 2.4.0")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "2.4.0" })
		Eventually(func() string { return checklistItem(getMD(key), "security-scan").Message }).Should(Equal("Not attested yet for version 2.4.0"))
		Expect(replicasOf(deploymentOf(ns, md.Name, "2.4.0"))()).To(BeNumerically("<=", 0))
		Expect(getMD(key).Status.Stable.Version).To(Equal("2.3.0"))
	})

	It("binds an approval to what was approved: a changed image of an approved 2.4.0 waits for a new approval, then goes through its canary", func() {
		md := newModelDeployment(ns, "2.4.0", 4)
		md.Spec.Approvals = &servingv1alpha1.ApprovalsSpec{Required: []servingv1alpha1.RequiredApproval{{Role: "security", Groups: []string{"sec-team"}}}}
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
			Steps: []servingv1alpha1.CanaryStep{{Weight: 25, Pause: &servingv1alpha1.Pause{}}},
		}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		stable := deploymentOf(ns, md.Name, "2.4.0")
		alice := clientAs("alice", "sec-team")

		By("stamping the approval with the ModelDeployment's UID and the digest of its spec")
		Expect(alice.Create(ctx, newApproval(ns, "first", md.Name, "2.4.0", "security"))).To(Succeed())
		first := &servingv1alpha1.ModelApproval{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "first"}, first)).To(Succeed())
		created := getMD(key)
		Expect(first.Spec.ModelDeploymentUID).To(BeEquivalentTo(created.UID))
		Expect(first.Spec.Digest).To(Equal(approval.Digest(created)))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(4))
		playDeploymentController(stable)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		Expect(getMD(key).Status.Approvals).To(ConsistOf(HaveField("Digest", first.Spec.Digest)), "status shows which digest the approval covers")
		image := getDeployment(stable).Spec.Template.Spec.Containers[0].Image

		By("holding a changed image of the same version, the serving pods keeping theirs")
		const patched = "registry.example/fraud:2.4.0-patched"
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Template.Spec.Containers[0].Image = patched })
		Eventually(condition(key, servingv1alpha1.ConditionApproved)).Should(And(
			HavePrefix("False/AwaitingApproval: Version 2.4.0 waits for the approval of security"),
			ContainSubstring("first approved sha256:"), ContainSubstring("changed since")))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseAwaitingApproval))
		candidate := types.NamespacedName{Namespace: ns, Name: getMD(key).Status.Candidate.Deployment}
		Expect(candidate.Name).To(HavePrefix(stable.Name+"-"), "a revision of the same version gets a Deployment of its own")
		Consistently(func() string { return getDeployment(stable).Spec.Template.Spec.Containers[0].Image }, "2s").Should(Equal(image))
		Expect(replicasOf(stable)()).To(BeEquivalentTo(4))
		Expect(replicasOf(candidate)()).To(BeEquivalentTo(0))

		By("going through its canary once approved again, the stable revision serving beside it")
		Expect(alice.Create(ctx, newApproval(ns, "second", md.Name, "2.4.0", "security"))).To(Succeed())
		Eventually(condition(key, servingv1alpha1.ConditionApproved)).Should(HavePrefix("True/Approved"))
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		Expect(getDeployment(candidate).Spec.Template.Spec.Containers[0].Image).To(Equal(patched))
		playDeploymentController(candidate)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhasePaused))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(3), "the stable revision gives up its pod once the candidate's is up")
		Expect(getDeployment(stable).Spec.Template.Spec.Containers[0].Image).To(Equal(image))
		svc := &corev1.Service{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: md.Name}, svc)).To(Succeed())
		for _, rev := range []types.NamespacedName{stable, candidate} {
			Expect(labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(getDeployment(rev).Spec.Template.Labels))).To(BeTrue(),
				"<name> serves both revisions' pods during the canary")
		}

		By("promoting: the new revision replaces the old one")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationPromote, "now")
		})
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(4))
		playDeploymentController(candidate)
		Eventually(func() string { return getMD(key).Status.Stable.Deployment }).Should(Equal(candidate.Name))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(-1), "the old revision's Deployment is removed")
		Expect(getMD(key).Status.History[0].Outcome).To(Equal(servingv1alpha1.OutcomePromoted))
	})

	It("refuses a time zone Go cannot load, and stamps who overrides a deployment window", func() {
		md := newModelDeployment(ns, "1.0.0", 1)
		md.Spec.DeploymentWindows = []servingv1alpha1.DeploymentWindow{{Start: "09:00", End: "17:00", TimeZone: "Europe/Berlin"}, {Start: "22:00", End: "02:00", TimeZone: "Mars/Olympus_Mons"}}
		err := k8sClient.Create(ctx, md)
		Expect(err).To(MatchError(ContainSubstring(`spec.deploymentWindows[1].timeZone: Invalid value: "Mars/Olympus_Mons"`)))

		md.Spec.DeploymentWindows = md.Spec.DeploymentWindows[:1]
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		carol := clientAs("carol", "sre")
		Eventually(func() error {
			cur := getMD(key)
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationWindowOverride, "INC-4711: fraud spike")
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationWindowOverrideBy, "someone-else")
			return carol.Update(ctx, cur)
		}).Should(Succeed())
		Expect(getMD(key).Annotations[servingv1alpha1.AnnotationWindowOverrideBy]).To(Equal("carol"), "stamped from the request, not taken from it")

		Eventually(func() error {
			cur := getMD(key)
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationWindowOverrideBy, "mallory")
			return clientAs("mallory", "dev").Update(ctx, cur)
		}).Should(Succeed())
		Expect(getMD(key).Annotations[servingv1alpha1.AnnotationWindowOverrideBy]).To(Equal("carol"), "an unchanged override keeps its stamp")
	})

	It("holds a new version outside its deployment windows, and lets it through on an emergency override, recorded with who set it", func() {
		md := newModelDeployment(ns, "1.0.0", 1)
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))

		// A window on the day after tomorrow only: closed now, whatever the time.
		later := time.Now().UTC().AddDate(0, 0, 2).Weekday().String()[:3]
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			cur.Spec.DeploymentWindows = []servingv1alpha1.DeploymentWindow{{Days: []servingv1alpha1.Weekday{servingv1alpha1.Weekday(later)}, Start: "09:00", End: "17:00", TimeZone: "UTC"}}
			cur.Spec.Model.Version = "1.1.0"
		})
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseWaiting))
		Expect(condition(key, servingv1alpha1.ConditionReady)()).To(HavePrefix("False/OutsideDeploymentWindow: Version 1.1.0 gets no traffic: outside every deployment window; the next opens at"))
		Expect(replicasOf(deploymentOf(ns, md.Name, "1.1.0"))()).To(BeNumerically("<=", 0), "no pod of the new version outside the window")

		Eventually(func() error {
			cur := getMD(key)
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationWindowOverride, "INC-4711 fraud spike")
			return clientAs("carol", "sre").Update(ctx, cur)
		}).Should(Succeed())
		candidate := deploymentOf(ns, md.Name, "1.1.0")
		Eventually(func() string {
			playDeploymentController(candidate)
			return getMD(key).Status.Stable.Version
		}).Should(Equal("1.1.0"))
		Expect(getMD(key).Status.History[0].WindowOverride).To(Equal("INC-4711 fraud spike (set by carol)"))
	})
})
