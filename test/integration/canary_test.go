package integration

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

var _ = Describe("A canary", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	replicasOf := func(key types.NamespacedName) func() int32 {
		return func() int32 {
			dep := &appsv1.Deployment{}
			if err := k8sClient.Get(ctx, key, dep); err != nil {
				return -1
			}
			return *dep.Spec.Replicas
		}
	}
	annotate := func(key types.NamespacedName, annotation, value string) {
		GinkgoHelper()
		updateMD(key, func(md *servingv1alpha1.ModelDeployment) {
			metav1.SetMetaDataAnnotation(&md.ObjectMeta, annotation, value)
		})
	}

	It("moves a new version through its steps by replica ratio, waits for a promote, then replaces the stable version", func() {
		md := newModelDeployment(ns, "1.0.0", 4)
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
			Steps: []servingv1alpha1.CanaryStep{{Weight: 25}, {Weight: 50, Pause: &servingv1alpha1.Pause{}}},
		}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		stable, candidate := deploymentOf(ns, md.Name, "1.0.0"), deploymentOf(ns, md.Name, "1.1.0")
		playDeploymentController(stable)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))

		By("starting at 25%: one candidate pod of four, the stable version keeping its pods until it is up")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			cur.Spec.Model.Version = "1.1.0"
		})
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		Expect(replicasOf(stable)()).To(BeEquivalentTo(4))
		Eventually(func() int32 { return ptr.Deref(getMD(key).Status.Candidate, servingv1alpha1.CandidateStatus{}).Weight }).Should(BeEquivalentTo(25))
		playDeploymentController(candidate)
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(2), "moves on to 50%% once the step's pod is up")
		Expect(replicasOf(stable)()).To(BeEquivalentTo(4), "the stable version keeps its pods until the candidate's are up")
		playDeploymentController(candidate)
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(2))

		By("waiting at the step without a duration for a promote")
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhasePaused))
		cur := getMD(key)
		Expect(cur.Status.Candidate.Step).To(BeEquivalentTo(1))
		Expect(meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionReady).Reason).To(Equal("WaitingForPromote"))
		Expect(kstatusOf(key)).To(Equal(kstatus.InProgressStatus))

		By("following an HPA that resizes the ModelDeployment mid-canary: the split is kept")
		Eventually(func() error {
			scale := &autoscalingv1.Scale{}
			if err := k8sClient.SubResource("scale").Get(ctx, getMD(key), scale); err != nil {
				return err
			}
			scale.Spec.Replicas = 6
			return k8sClient.SubResource("scale").Update(ctx, getMD(key), client.WithSubResourceBody(scale))
		}).Should(Succeed())
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(3))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(3))
		playDeploymentController(candidate)
		playDeploymentController(stable)

		By("promoting: the candidate scales to full size before the stable version goes")
		annotate(key, servingv1alpha1.AnnotationPromote, "2026-11-25T10:00:00Z")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(6))
		Expect(replicasOf(stable)()).To(BeEquivalentTo(3), "the stable version keeps its pods while the candidate scales up")
		Eventually(func() string { return getMD(key).Status.Requests.Promote }).Should(Equal("2026-11-25T10:00:00Z"))
		playDeploymentController(candidate)
		Eventually(func() string { return getMD(key).Status.Stable.Version }).Should(Equal("1.1.0"))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(-1), "the old version's Deployment is removed")
		Expect(kstatusOf(key)).To(Equal(kstatus.CurrentStatus))
	})

	It("writes a stable Deployment deleted by hand mid-canary again from its revision, at the size the step needs, traffic staying where the step put it", func() {
		md := newModelDeployment(ns, "1.0.0", 4)
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
			Steps: []servingv1alpha1.CanaryStep{{Weight: 25, Pause: &servingv1alpha1.Pause{}}},
		}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		stable, candidate := deploymentOf(ns, md.Name, "1.0.0"), deploymentOf(ns, md.Name, "1.1.0")
		playDeploymentController(stable)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		revision := &appsv1.ControllerRevision{}
		Eventually(func() error { return k8sClient.Get(ctx, stable, revision) }).Should(Succeed())
		Expect(metav1.IsControlledBy(revision, getMD(key))).To(BeTrue())

		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhasePaused))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(3))
		image := func() string {
			dep := &appsv1.Deployment{}
			Expect(k8sClient.Get(ctx, stable, dep)).To(Succeed())
			return dep.Spec.Template.Spec.Containers[0].Image
		}
		stableImage := image()

		By("deleting the stable Deployment by hand")
		old := &appsv1.Deployment{}
		Expect(k8sClient.Get(ctx, stable, old)).To(Succeed())
		Expect(k8sClient.Delete(ctx, old)).To(Succeed())
		Eventually(func() bool {
			dep := &appsv1.Deployment{}
			return k8sClient.Get(ctx, stable, dep) == nil && dep.UID != old.UID
		}).Should(BeTrue(), "written again from its revision")
		Expect(replicasOf(stable)()).To(BeEquivalentTo(3), "at the size the step needs")
		Expect(image()).To(Equal(stableImage))
		Eventually(func() []string { return eventReasons(ns, md.Name) }).Should(ContainElement("DeploymentRestored"))
		cur := getMD(key)
		Expect(cur.Status.Phase).To(Equal(servingv1alpha1.PhasePaused))
		Expect(cur.Status.Candidate.Weight).To(BeEquivalentTo(25), "traffic stays where the step put it")
		Expect(cur.Status.Stable.Version).To(Equal("1.0.0"))
	})

	It("puts back the pod templates of Deployments edited by hand mid-canary, at the size the step needs, traffic staying where the step put it", func() {
		md := newModelDeployment(ns, "1.0.0", 4)
		// A template with what the API server fills in defaults for (ports,
		// probes, quantities, volumes): only hand edits count as edits.
		md.Spec.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
		md.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{
			{Name: "LOG_LEVEL", Value: "info"},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		}
		md.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.5"), corev1.ResourceMemory: resource.MustParse("1Gi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1024Mi")},
		}
		md.Spec.Template.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}}
		md.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "features", MountPath: "/etc/features"}, {Name: "scratch", MountPath: "/tmp"}}
		md.Spec.Template.Spec.Volumes = []corev1.Volume{
			{Name: "features", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "features"}}}},
			{Name: "scratch"},
		}
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
			Steps: []servingv1alpha1.CanaryStep{{Weight: 25, Pause: &servingv1alpha1.Pause{}}},
		}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		stable, candidate := deploymentOf(ns, md.Name, "1.0.0"), deploymentOf(ns, md.Name, "1.1.0")
		playDeploymentController(stable)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhasePaused))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(3))
		playDeploymentController(stable)
		get := func(key types.NamespacedName) *appsv1.Deployment {
			dep := &appsv1.Deployment{}
			Expect(k8sClient.Get(ctx, key, dep)).To(Succeed())
			return dep
		}
		stableBefore, candidateBefore := get(stable), get(candidate)
		restored := func() []string {
			var list eventsv1.EventList
			Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			var out []string
			for _, e := range list.Items {
				if e.Reason == "DeploymentTemplateRestored" {
					out = append(out, e.Note)
				}
			}
			return out
		}
		Expect(restored()).To(BeEmpty(), "a template the API server defaulted is no edit")

		By("setting the image of the stable Deployment by hand, as kubectl set image does")
		edit := get(stable)
		patch := client.MergeFrom(edit.DeepCopy())
		edit.Spec.Template.Spec.Containers[0].Image = "registry.example/ml/server:hotfix"
		Expect(k8sClient.Patch(ctx, edit, patch)).To(Succeed())
		Eventually(func() string { return get(stable).Spec.Template.Spec.Containers[0].Image }).
			Should(Equal(stableBefore.Spec.Template.Spec.Containers[0].Image), "put back from its revision")
		Expect(equality.Semantic.DeepEqual(get(stable).Spec.Template, stableBefore.Spec.Template)).To(BeTrue())
		Expect(replicasOf(stable)()).To(BeEquivalentTo(3), "at the size the step needs")
		Eventually(restored).Should(ConsistOf(ContainSubstring(
			"Pod template of Deployment %s (version 1.0.0) was edited by hand at spec.containers[server].image; written again from its revision, at 3 pods", stable.Name)))

		By("adding an env variable to the candidate's Deployment by hand, as kubectl set env does")
		edit = get(candidate)
		patch = client.MergeFrom(edit.DeepCopy())
		edit.Spec.Template.Spec.Containers[0].Env = append(edit.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "DEBUG", Value: "1"})
		Expect(k8sClient.Patch(ctx, edit, patch)).To(Succeed())
		Eventually(func() []corev1.EnvVar { return get(candidate).Spec.Template.Spec.Containers[0].Env }).
			Should(Equal(candidateBefore.Spec.Template.Spec.Containers[0].Env))
		Expect(replicasOf(candidate)()).To(BeEquivalentTo(1))
		Eventually(restored).Should(HaveLen(2))
		Expect(restored()).To(ContainElement(ContainSubstring("Deployment %s (version 1.1.0) was edited by hand at spec.containers[server].env;", candidate.Name)))

		By("leaving the templates alone once put back")
		stableGeneration, candidateGeneration := get(stable).Generation, get(candidate).Generation
		Expect(stableGeneration).To(Equal(stableBefore.Generation+2), "the edit and the write that undid it")
		playDeploymentController(stable)
		playDeploymentController(candidate)
		Consistently(func() []int64 { return []int64{get(stable).Generation, get(candidate).Generation} }, "2s").
			Should(Equal([]int64{stableGeneration, candidateGeneration}))
		Expect(restored()).To(HaveLen(2))
		cur := getMD(key)
		Expect(cur.Status.Phase).To(Equal(servingv1alpha1.PhasePaused))
		Expect(cur.Status.Candidate.Weight).To(BeEquivalentTo(25), "traffic stays where the step put it")
		Expect(cur.Status.Stable.Version).To(Equal("1.0.0"))
	})

	It("rolls back on an abort, does not try the version again, and tries it again on a retry", func() {
		md := newModelDeployment(ns, "1.0.0", 2)
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
			Steps: []servingv1alpha1.CanaryStep{{Weight: 50, Pause: &servingv1alpha1.Pause{Duration: &metav1.Duration{Duration: time.Hour}}}},
		}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		stable, candidate := deploymentOf(ns, md.Name, "1.0.0"), deploymentOf(ns, md.Name, "2.0.0")
		playDeploymentController(stable)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			cur.Spec.Model.Version = "2.0.0"
		})
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(func() string {
			return meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionReady).Reason
		}).Should(Equal("Pausing"))

		By("aborting: all pods back on the stable version, the candidate at zero")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			// The requester written by hand is replaced at admission.
			cur.Annotations[servingv1alpha1.AnnotationAbort] = "error rate doubled on the dashboard"
			cur.Annotations[servingv1alpha1.AnnotationAbortBy] = "mallory"
		})
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(2), "the decision is recorded before it is applied")
		cur := getMD(key)
		Expect(cur.Status.Rejected.Version).To(Equal("2.0.0"))
		Expect(cur.Status.History[0].Outcome).To(Equal(servingv1alpha1.OutcomeRolledBack))
		Expect(cur.Status.History[0].Message).To(ContainSubstring("error rate doubled on the dashboard"))
		by := cur.Annotations[servingv1alpha1.AnnotationAbortBy]
		Expect(by).NotTo(BeEmpty())
		Expect(by).NotTo(Equal("mallory"), "stamped from the request's identity")
		Expect(cur.Status.Requests.AbortBy).To(Equal(by))
		Expect(cur.Status.History[0].Requests).To(Equal([]string{"abort by " + by}), "the history records who aborted")
		Expect(meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionRolledBack).Reason).To(Equal("Aborted"))
		Expect(kstatusOf(key)).To(Equal(kstatus.FailedStatus), "failed until the spec changes")
		Eventually(func() []string { return eventReasons(ns, md.Name) }).Should(ContainElement("RolledBack"))
		Eventually(replicasOf(candidate)).Should(Or(BeEquivalentTo(0), BeEquivalentTo(-1)))
		Expect(getMD(key).Status.Candidate).To(BeNil(), "the rejected version is not tried again")

		By("retrying it without editing the spec")
		annotate(key, servingv1alpha1.AnnotationRetry, "try-2")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		Eventually(func() *servingv1alpha1.CandidateStatus { return getMD(key).Status.Candidate }).ShouldNot(BeNil())
		cur = getMD(key)
		Expect(cur.Status.Rejected).To(BeNil())
		Expect(cur.Status.Candidate.Version).To(Equal("2.0.0"))
		Expect(cur.Status.Requests.Retry).To(Equal("try-2"))
		Expect(cur.Status.Requests.RetryBy).To(Equal(by))
		Expect(cur.Status.Candidate.Requests).To(Equal([]string{"retry by " + by}))
	})
})
