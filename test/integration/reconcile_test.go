package integration

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/test/bars"
)

func objectKey(o client.Object) types.NamespacedName {
	return types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}
}

// newModelDeployment is the valid ModelDeployment at a version, in a namespace.
func newModelDeployment(ns, version string, replicas int32) *servingv1alpha1.ModelDeployment {
	md := &servingv1alpha1.ModelDeployment{}
	// The development profile enforces little: these stories are about the
	// rollout; the checklist's own stories set up what production asks for.
	u := withOverlay(ns, fmt.Sprintf(`{spec: {model: {version: %q}, replicas: %d, checklist: {profile: development}}}`, version, replicas))
	Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, md)).To(Succeed())
	return md
}

func getMD(key types.NamespacedName) *servingv1alpha1.ModelDeployment {
	md := &servingv1alpha1.ModelDeployment{}
	Expect(k8sClient.Get(ctx, key, md)).To(Succeed())
	return md
}

// kstatusOf computes what kstatus (and so Flux, Argo CD and kubectl wait) reads
// from a ModelDeployment as the API server holds it.
func kstatusOf(key types.NamespacedName) kstatus.Status {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(servingv1alpha1.GroupVersion.WithKind("ModelDeployment"))
	Expect(k8sClient.Get(ctx, key, u)).To(Succeed())
	res, err := kstatus.Compute(u)
	Expect(err).NotTo(HaveOccurred())
	return res.Status
}

// playDeploymentController writes the status the Deployment controller would
// write once every pod of the Deployment is available.
func playDeploymentController(key types.NamespacedName) {
	Eventually(func(g Gomega) {
		dep := &appsv1.Deployment{}
		g.Expect(k8sClient.Get(ctx, key, dep)).To(Succeed())
		n := ptr.Deref(dep.Spec.Replicas, 1)
		dep.Status = appsv1.DeploymentStatus{
			ObservedGeneration: dep.Generation,
			Replicas:           n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			},
		}
		g.Expect(k8sClient.Status().Update(ctx, dep)).To(Succeed())
	}).Should(Succeed())
}

// failDeployment writes the status of a Deployment past its progress deadline.
func failDeployment(key types.NamespacedName) {
	Eventually(func(g Gomega) {
		dep := &appsv1.Deployment{}
		g.Expect(k8sClient.Get(ctx, key, dep)).To(Succeed())
		dep.Status = appsv1.DeploymentStatus{
			ObservedGeneration: dep.Generation, Replicas: 1, UnavailableReplicas: 1, UpdatedReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{{
				Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded",
				Message: `ReplicaSet "x" has timed out progressing.`,
			}},
		}
		g.Expect(k8sClient.Status().Update(ctx, dep)).To(Succeed())
	}).Should(Succeed())
}

func eventReasons(ns, name string) []string {
	var list eventsv1.EventList
	Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "ModelDeployment" && e.Regarding.Name == name {
			out = append(out, e.Reason)
		}
	}
	return out
}

var _ = Describe("A ModelDeployment", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("gets a Deployment for its version and three Services, and becomes Ready when the pods are available", func() {
		md := newModelDeployment(ns, "2.3.0", 3)
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		// Timed from the accepted create: the API server's first write of a kind
		// also builds its validators, which is not the reconcile's time.
		start := time.Now()
		key := objectKey(md)
		depKey := types.NamespacedName{Namespace: ns, Name: "fraud-scorer-v2-3-0"}

		By("creating the version's Deployment, labelled, owned, with the model's environment")
		dep := &appsv1.Deployment{}
		Eventually(func() error { return k8sClient.Get(ctx, depKey, dep) }).Should(Succeed())
		Expect(*dep.Spec.Replicas).To(BeEquivalentTo(3))
		Expect(dep.Spec.Template.Labels).To(HaveKeyWithValue("app.kubernetes.io/name", "fraud-scorer"))
		Expect(dep.Spec.Template.Labels).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "modelgate"))
		Expect(dep.Spec.Template.Labels).To(HaveKeyWithValue("serving.modelgate.dev/version", "2.3.0"))
		Expect(dep.Spec.Template.Spec.Containers[0].Env).To(ContainElements(
			corev1.EnvVar{Name: "MODEL_NAME", Value: "fraud-scorer"},
			corev1.EnvVar{Name: "MODEL_VERSION", Value: "2.3.0"},
			corev1.EnvVar{Name: "MODEL_URI", Value: "oci://registry.example/models/fraud-scorer:2.3.0"},
		))
		Expect(*dep.Spec.ProgressDeadlineSeconds).To(BeEquivalentTo(600))
		expectOwnedBy(dep, md.Name)

		By("creating the <name> Service, selecting every version")
		svc := &corev1.Service{}
		Eventually(func() error {
			return k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "fraud-scorer"}, svc)
		}).Should(Succeed())
		Expect(svc.Spec.Selector).To(Equal(map[string]string{"app.kubernetes.io/name": "fraud-scorer", "app.kubernetes.io/managed-by": "modelgate"}))
		Expect(svc.Spec.Ports).To(HaveLen(1))
		Expect(svc.Spec.Ports[0].Port).To(BeEquivalentTo(8080))
		expectOwnedBy(svc, md.Name)
		By("making no Service per version: nothing in this strategy sends traffic to one")
		Eventually(func() int64 { return getMD(key).Status.ObservedGeneration }).Should(Equal(getMD(key).Generation))
		for _, name := range []string{"fraud-scorer-stable", "fraud-scorer-candidate"} {
			Expect(apierrors.IsNotFound(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &corev1.Service{}))).To(BeTrue(), "Service %s", name)
		}

		By("reporting InProgress while the Deployment rolls out")
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseProgressing))
		// The decision is recorded before it is applied; the generation counts
		// as handled once it is.
		Eventually(func() int64 { cur := getMD(key); return cur.Generation - cur.Status.ObservedGeneration }).Should(BeZero())
		cur := getMD(key)
		Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, servingv1alpha1.ConditionReconciling)).To(BeTrue())
		Expect(meta.IsStatusConditionFalse(cur.Status.Conditions, servingv1alpha1.ConditionReady)).To(BeTrue())
		Expect(kstatusOf(key)).To(Equal(kstatus.InProgressStatus))

		By("becoming Ready and Current once the pods are available")
		playDeploymentController(depKey)
		Eventually(func() bool {
			return meta.IsStatusConditionTrue(getMD(key).Status.Conditions, servingv1alpha1.ConditionReady)
		}).Should(BeTrue())
		bars.Record("integration", "ReconcileCreateToReady", float64(time.Since(start).Milliseconds()), "ms")
		cur = getMD(key)
		Expect(cur.Status.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
		Expect(cur.Status.Stable.Version).To(Equal("2.3.0"))
		Expect(cur.Status.Candidate).To(BeNil())
		Expect(cur.Status.Replicas).To(BeEquivalentTo(3))
		Expect(cur.Status.AvailableReplicas).To(BeEquivalentTo(3))
		Expect(cur.Status.Selector).To(Equal("app.kubernetes.io/managed-by=modelgate,app.kubernetes.io/name=fraud-scorer"))
		Expect(meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionReconciling)).To(BeNil())
		Expect(cur.Status.History).To(HaveLen(1))
		Expect(cur.Status.History[0].Outcome).To(Equal(servingv1alpha1.OutcomePromoted))
		Expect(kstatusOf(key)).To(Equal(kstatus.CurrentStatus))

		By("emitting each event once, not on every reconcile")
		Eventually(func() []string { return eventReasons(ns, md.Name) }).Should(ContainElement("Promoted"))
		playDeploymentController(depKey) // another round of reconciles with nothing new
		count := func(reason string) func() int {
			return func() int {
				n := 0
				for _, r := range eventReasons(ns, md.Name) {
					if r == reason {
						n++
					}
				}
				return n
			}
		}
		Consistently(count("RolloutStarted"), "1s").Should(Equal(1))
		Expect(count("Promoted")()).To(Equal(1))
	})

	It("replaces the old version with a new one only once the new one is available", func() {
		md := newModelDeployment(ns, "2.3.0", 2)
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		oldKey := types.NamespacedName{Namespace: ns, Name: "fraud-scorer-v2-3-0"}
		newKey := types.NamespacedName{Namespace: ns, Name: desiredstate.DeploymentName(md, "2.4.0-rc.1")}
		playDeploymentController(oldKey)
		Eventually(func() string { return ptr.Deref(getMD(key).Status.Stable, servingv1alpha1.VersionStatus{}).Version }).Should(Equal("2.3.0"))

		By("declaring a new version")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			cur.Spec.Model.Version = "2.4.0-rc.1"
		})

		Eventually(func() error { return k8sClient.Get(ctx, newKey, &appsv1.Deployment{}) }).Should(Succeed())
		Eventually(func() *servingv1alpha1.CandidateStatus { return getMD(key).Status.Candidate }).ShouldNot(BeNil())
		cur := getMD(key)
		Expect(cur.Status.Candidate.Version).To(Equal("2.4.0-rc.1"))
		Expect(cur.Status.Stable.Version).To(Equal("2.3.0"))
		Expect(kstatusOf(key)).To(Equal(kstatus.InProgressStatus))
		Expect(k8sClient.Get(ctx, oldKey, &appsv1.Deployment{})).To(Succeed(), "the old version serves until the new one is available")
		apex := &corev1.Service{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "fraud-scorer"}, apex)).To(Succeed())
		Expect(apex.Spec.Selector).NotTo(HaveKey("serving.modelgate.dev/version"), "<name> serves both versions while the new one comes up")

		By("promoting it and removing the old version once all its pods are available")
		// A rolling update grows the new version a surge at a time.
		Eventually(func() string {
			playDeploymentController(newKey)
			return getMD(key).Status.Stable.Version
		}).Should(Equal("2.4.0-rc.1"))
		Eventually(func() bool {
			dep := &appsv1.Deployment{}
			err := k8sClient.Get(ctx, oldKey, dep)
			return client.IgnoreNotFound(err) == nil && (err != nil || !dep.DeletionTimestamp.IsZero())
		}).Should(BeTrue(), "the old version's Deployment is deleted")
		cur = getMD(key)
		Expect(cur.Status.Candidate).To(BeNil())
		Expect(cur.Status.History).To(HaveLen(2))
		Expect(cur.Status.History[0].Version).To(Equal("2.4.0-rc.1"))
		Expect(cur.Status.History[0].Previous).To(Equal("2.3.0"))
		Expect(kstatusOf(key)).To(Equal(kstatus.CurrentStatus))
	})

	It("stalls, and kstatus reads Failed, when its serving container does not exist", func() {
		md := newModelDeployment(ns, "2.3.0", 1)
		md.Spec.ServingContainer = "triton"
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseFailed))
		cur := getMD(key)
		stalled := meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionStalled)
		Expect(stalled).NotTo(BeNil())
		Expect(stalled.Status).To(Equal(metav1.ConditionTrue))
		Expect(stalled.Reason).To(Equal("InvalidSpec"))
		Expect(stalled.Message).To(ContainSubstring(`spec.servingContainer "triton" names no container`))
		Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
		Expect(kstatusOf(key)).To(Equal(kstatus.FailedStatus))
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "fraud-scorer-v2-3-0"}, &appsv1.Deployment{})).NotTo(Succeed())
		Eventually(func() []string { return eventReasons(ns, md.Name) }).Should(ContainElement("InvalidSpec"))

		By("recovering once the spec is fixed")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.ServingContainer = "server" })
		playDeploymentController(types.NamespacedName{Namespace: ns, Name: "fraud-scorer-v2-3-0"})
		Eventually(func() kstatus.Status { return kstatusOf(key) }).Should(Equal(kstatus.CurrentStatus))
	})

	It("rolls a new version back when its Deployment passes the progress deadline", func() {
		md := newModelDeployment(ns, "1.0.0", 1)
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		playDeploymentController(types.NamespacedName{Namespace: ns, Name: "fraud-scorer-v1-0-0"})
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))

		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			cur.Spec.Model.Version = "1.1.0"
		})
		failDeployment(types.NamespacedName{Namespace: ns, Name: "fraud-scorer-v1-1-0"})
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		Expect(kstatusOf(key)).To(Equal(kstatus.FailedStatus), "failed until the spec changes")
		cur := getMD(key)
		Expect(cur.Status.Stable.Version).To(Equal("1.0.0"))
		Expect(cur.Status.Rejected.Version).To(Equal("1.1.0"))
		rolledBack := meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionRolledBack)
		Expect(rolledBack.Reason).To(Equal("ProgressDeadlineExceeded"))
		Expect(cur.Status.History[0].Outcome).To(Equal(servingv1alpha1.OutcomeRolledBack))
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "fraud-scorer-v1-0-0"}, &appsv1.Deployment{})).To(Succeed())
		Eventually(func() []string { return eventReasons(ns, md.Name) }).Should(ContainElement("RolledBack"))
	})

	It("keeps observedGeneration at the last generation it handled", func() {
		md := newModelDeployment(ns, "1.0.0", 1)
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		Eventually(func() int64 { return getMD(key).Status.ObservedGeneration }).Should(BeEquivalentTo(1))
		for _, c := range getMD(key).Status.Conditions {
			Expect(c.ObservedGeneration).To(BeEquivalentTo(1), "condition %s", c.Type)
		}
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			cur.Spec.Replicas = ptr.To[int32](2)
		})
		Eventually(func() int64 { return getMD(key).Status.ObservedGeneration }).Should(BeEquivalentTo(2))
		dep := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "fraud-scorer-v1-0-0"}, dep)).To(Succeed())
		Expect(*dep.Spec.Replicas).To(BeEquivalentTo(2))
	})

	It("can be scaled through the scale subresource, as an HPA does", func() {
		md := newModelDeployment(ns, "1.0.0", 1)
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		Eventually(func() string { return getMD(key).Status.Selector }).ShouldNot(BeEmpty())

		scale := &autoscalingv1.Scale{}
		Expect(k8sClient.SubResource("scale").Get(ctx, md, scale)).To(Succeed())
		Expect(scale.Spec.Replicas).To(BeEquivalentTo(1))
		Expect(scale.Status.Selector).To(Equal("app.kubernetes.io/managed-by=modelgate,app.kubernetes.io/name=fraud-scorer"))
		Eventually(func() error { // as an HPA does, retrying when the object changed
			if err := k8sClient.SubResource("scale").Get(ctx, md, scale); err != nil {
				return err
			}
			scale.Spec.Replicas = 4
			return k8sClient.SubResource("scale").Update(ctx, md, client.WithSubResourceBody(scale))
		}).Should(Succeed())
		Eventually(func() int32 {
			dep := &appsv1.Deployment{}
			Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "fraud-scorer-v1-0-0"}, dep)).To(Succeed())
			return *dep.Spec.Replicas
		}).Should(BeEquivalentTo(4))
	})
})

func expectOwnedBy(o client.Object, owner string) {
	GinkgoHelper()
	ref := metav1.GetControllerOf(o)
	Expect(ref).NotTo(BeNil(), "%s has no controller reference", o.GetName())
	Expect(ref.Kind).To(Equal("ModelDeployment"))
	Expect(ref.Name).To(Equal(owner))
	Expect(ptr.Deref(ref.BlockOwnerDeletion, false)).To(BeTrue(), "deleting the ModelDeployment in the foreground waits for %s", o.GetName())
}
