package integration

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/policy"
)

// policyTestLabel marks the namespace of one story, so that its policies
// select that namespace alone and leave the other stories' alone.
const policyTestLabel = "policy-test.modelgate.dev/story"

// policyNamespace creates a namespace labelled for one story; the label's
// value is the namespace's name.
func policyNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "policy-"}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, ns))).To(Succeed()) })
	ns.Labels = map[string]string{policyTestLabel: ns.Name}
	Expect(k8sClient.Update(ctx, ns)).To(Succeed())
	return ns.Name
}

// newPolicy creates a cluster-scoped policy selecting the story's namespace,
// named after it, and deletes it after the story.
func newPolicy(ns, name string, mutate func(*servingv1alpha1.ModelDeploymentPolicySpec)) *servingv1alpha1.ModelDeploymentPolicy {
	p := &servingv1alpha1.ModelDeploymentPolicy{ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name}}
	p.Spec.NamespaceSelector = metav1.LabelSelector{MatchLabels: map[string]string{policyTestLabel: ns}}
	mutate(&p.Spec)
	Expect(k8sClient.Create(ctx, p)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, p))).To(Succeed()) })
	return p
}

// letAuthenticatedUsersDeploy grants every authenticated user the rights a
// namespace team has over ModelDeployments (the editor role's), and nothing
// over ModelDeploymentPolicies.
func letAuthenticatedUsersDeploy() {
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "modelgate-team"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"serving.modelgate.dev"}, Resources: []string{"modeldeployments"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
	}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "modelgate-team"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "system:authenticated"}}}
	for _, o := range []client.Object{role, binding} {
		if err := k8sClient.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	}
}

// policyModelDeployment is a ModelDeployment of the production profile, as a
// prod namespace's policy asks.
func policyModelDeployment(ns string) *servingv1alpha1.ModelDeployment {
	md := newModelDeployment(ns, "1.0.0", 1)
	md.Name = "fraud-scorer"
	md.Spec.Checklist.Profile = servingv1alpha1.ProfileProduction
	return md
}

var _ = Describe("ModelDeploymentPolicy at admission", func() {
	var ns string
	BeforeEach(func() {
		ns = policyNamespace()
		letAuthenticatedUsersDeploy()
	})

	It("refuses a team's Off override below a floor, naming the policy and the field, and takes a sign-off only from the allowed groups", func() {
		p := newPolicy(ns, "prod-floors", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{
				{ID: "pdb", MinimumSeverity: servingv1alpha1.SeverityEnforce},
				{ID: "network-policy", MinimumSeverity: servingv1alpha1.SeverityEnforce, OverrideGroups: []string{"platform-sre"}},
			}}
		})
		tom := clientAs("tom", "risk-team")
		md := policyModelDeployment(ns)
		md.Spec.Checklist.Overrides = []servingv1alpha1.ChecklistOverride{{ID: "pdb", Severity: servingv1alpha1.SeverityOff, Reason: "no time for a PDB"}}
		// The webhook reads policies from the manager's cache: wait until it knows this one.
		Eventually(func() error { return tom.Create(ctx, md.DeepCopy(), client.DryRunAll) }).Should(MatchError(ContainSubstring(p.Name)))
		err := tom.Create(ctx, md.DeepCopy())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err).To(MatchError(And(
			ContainSubstring("spec.checklist.overrides[id=pdb].severity: Forbidden: item pdb may not be lowered below Enforce, and Off is asked"),
			ContainSubstring("(ModelDeploymentPolicy "+p.Name+")"))))

		By("refusing an override the policy lets only platform-sre sign off, when the team sets it")
		md.Spec.Checklist.Overrides = []servingv1alpha1.ChecklistOverride{{ID: "network-policy", Severity: servingv1alpha1.SeverityWarn, Reason: "the mesh enforces it"}}
		err = tom.Create(ctx, md.DeepCopy())
		Expect(err).To(MatchError(And(
			ContainSubstring("spec.checklist.overrides[id=network-policy].severity: Forbidden"),
			ContainSubstring("only by a member of platform-sre, and for the override to Warn it was set by tom, who is in none of them"),
			ContainSubstring(p.Name))))

		By("admitting it from a member of platform-sre, recorded as their sign-off")
		Expect(clientAs("sam", "platform-sre").Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		signOffs := func() policy.SignOffs {
			return policy.ParseSignOffs(getMD(key).Annotations[servingv1alpha1.AnnotationOverridesBy])
		}
		Expect(signOffs()).To(HaveKeyWithValue("network-policy", HaveField("User", "sam")))

		By("letting the team edit something else: the sign-off stays")
		Eventually(func() error {
			cur := getMD(key)
			cur.Spec.Paused = true
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationOverridesBy, `{"network-policy":{"user":"tom","groups":["platform-sre"]}}`)
			return tom.Update(ctx, cur)
		}).Should(Succeed())
		Expect(signOffs()).To(HaveKeyWithValue("network-policy", HaveField("User", "sam")), "a hand-written record is replaced")

		By("refusing the team's change of the signed-off override: it needs a new sign-off")
		Eventually(func() error {
			cur := getMD(key)
			cur.Spec.Checklist.Overrides[0].Reason = "still the mesh"
			return tom.Update(ctx, cur)
		}).Should(MatchError(ContainSubstring("set by tom, who is in none of them")))
	})

	It("refuses a window override by a user outside the policy's groups and admits one from inside, stamped", func() {
		p := newPolicy(ns, "freeze", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Windows = &servingv1alpha1.PolicyWindows{OverrideGroups: []string{"sre"}}
		})
		md := policyModelDeployment(ns)
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		withOverride := func(reason string) *servingv1alpha1.ModelDeployment {
			cur := getMD(key)
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationWindowOverride, reason)
			return cur
		}
		tom := clientAs("tom", "risk-team")
		// Retried through conflicts with the controller's status writes, and
		// until the webhook's cache knows the policy.
		Eventually(func() error { return tom.Update(ctx, withOverride("INC-1: hotfix")) }).Should(MatchError(ContainSubstring(
			"metadata.annotations[serving.modelgate.dev/window-override]: Forbidden: only members of sre may override a deployment window (ModelDeploymentPolicy " + p.Name + "); tom is in none of them")))
		Expect(getMD(key).Annotations).NotTo(HaveKey(servingv1alpha1.AnnotationWindowOverride))

		carol := clientAs("carol", "sre")
		Eventually(func() error { return carol.Update(ctx, withOverride("INC-1: hotfix")) }).Should(Succeed())
		Expect(getMD(key).Annotations).To(HaveKeyWithValue(servingv1alpha1.AnnotationWindowOverrideBy, "carol"))

		By("letting the team edit something else while carol's override stands")
		Eventually(func() error {
			cur := getMD(key)
			cur.Spec.Paused = true
			return tom.Update(ctx, cur)
		}).Should(Succeed())
		Expect(getMD(key).Annotations).To(HaveKeyWithValue(servingv1alpha1.AnnotationWindowOverrideBy, "carol"))
	})

	It("stamps who last changed the model from the request, and a hand-written stamp does not stand", func() {
		tom := clientAs("tom", "risk-team")
		md := policyModelDeployment(ns)
		md.Annotations = map[string]string{servingv1alpha1.AnnotationSpecChangedBy: "mallory"}
		Expect(tom.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		changedBy := func() string { return getMD(key).Annotations[servingv1alpha1.AnnotationSpecChangedBy] }
		Expect(changedBy()).To(Equal("tom"))

		By("keeping it over an edit that leaves the model alone, whatever that edit says")
		carol := clientAs("carol", "sre")
		Eventually(func() error {
			cur := getMD(key)
			cur.Spec.Paused = true
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationSpecChangedBy, "carol")
			return carol.Update(ctx, cur)
		}).Should(Succeed())
		Expect(changedBy()).To(Equal("tom"))

		By("stamping whoever bumps the version")
		Eventually(func() error {
			cur := getMD(key)
			cur.Spec.Model.Version = "1.1.0"
			return carol.Update(ctx, cur)
		}).Should(Succeed())
		Expect(changedBy()).To(Equal("carol"))

		By("stamping whoever changes the template")
		Eventually(func() error {
			cur := getMD(key)
			cur.Spec.Template.Spec.Containers[0].Image += "-patched"
			return tom.Update(ctx, cur)
		}).Should(Succeed())
		Expect(changedBy()).To(Equal("tom"))
	})

	It("lets a ModelDeployment admitted before a policy be edited, refusing only what the edit makes worse", func() {
		md := newModelDeployment(ns, "1.0.0", 1) // the development profile
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		newPolicy(ns, "prod-profile", func(s *servingv1alpha1.ModelDeploymentPolicySpec) {
			s.Checklist = &servingv1alpha1.PolicyChecklist{MinimumProfile: servingv1alpha1.ProfileProduction}
			s.Sources = &servingv1alpha1.PolicySources{ArtifactURIPrefixes: []string{"oci://registry.example/"}}
		})
		withURI := func(uri string) *servingv1alpha1.ModelDeployment {
			cur := getMD(key)
			cur.Spec.Model.URI = uri
			return cur
		}
		Eventually(func() error {
			return k8sClient.Update(ctx, withURI("oci://elsewhere.example/models/x:1"), client.DryRunAll)
		}).Should(MatchError(ContainSubstring("spec.model.uri: Forbidden")))

		Eventually(func() error {
			cur := getMD(key)
			cur.Spec.Paused = true
			return k8sClient.Update(ctx, cur)
		}).Should(Succeed(), "the profile it had before the policy is no new violation")
		Eventually(func() error { return k8sClient.Update(ctx, withURI("oci://elsewhere.example/models/x:1")) }).Should(MatchError(ContainSubstring(
			"artifact oci://elsewhere.example/models/x:1 is not under an allowed prefix (oci://registry.example/)")))
	})

	It("refuses policies the schema or the webhook can tell are wrong, naming the field", func() {
		p := &servingv1alpha1.ModelDeploymentPolicy{ObjectMeta: metav1.ObjectMeta{Name: ns + "-bad"}}
		p.Spec.Checklist = &servingv1alpha1.PolicyChecklist{Items: []servingv1alpha1.PolicyChecklistItem{{ID: "pdb", MinimumSeverity: servingv1alpha1.SeverityOff}}}
		Expect(k8sClient.Create(ctx, p)).To(MatchError(ContainSubstring("spec.checklist.items[0].minimumSeverity: Invalid value")))

		p.Spec.Checklist = nil
		start := metav1.NewTime(time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC))
		p.Spec.Windows = &servingv1alpha1.PolicyWindows{Freezes: []servingv1alpha1.Freeze{{Start: start, End: start, Reason: "holidays"}}}
		Expect(k8sClient.Create(ctx, p)).To(MatchError(ContainSubstring("spec.windows.freezes[0].end: Invalid value")))

		p.Spec.Windows = nil
		p.Spec.Sources = &servingv1alpha1.PolicySources{ArtifactURIPrefixes: []string{"ftp://models/"}}
		Expect(k8sClient.Create(ctx, p)).To(MatchError(ContainSubstring("spec.sources.artifactURIPrefixes")))

		p.Spec.Sources = nil
		p.Spec.Windows = &servingv1alpha1.PolicyWindows{Allowed: []servingv1alpha1.DeploymentWindow{{Start: "09:00", End: "17:00", TimeZone: "Mars/Olympus_Mons"}}}
		Expect(k8sClient.Create(ctx, p)).To(MatchError(ContainSubstring(`spec.windows.allowed[0].timeZone: Invalid value: "Mars/Olympus_Mons"`)))

		p.Spec.Windows = nil
		p.Spec.NamespaceSelector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: "Near"}}}
		Expect(k8sClient.Create(ctx, p)).To(MatchError(ContainSubstring("spec.namespaceSelector: Invalid value")))
	})
})
