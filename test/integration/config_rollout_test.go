package integration

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/configrollout"
)

// configReading is a ModelDeployment whose server mounts ConfigMap
// thresholds and reads one key of it into its environment, moving by a
// canary that waits an hour at half its pods.
func configReading(ns, version string) *servingv1alpha1.ModelDeployment {
	md := newModelDeployment(ns, version, 2)
	md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
		Steps: []servingv1alpha1.CanaryStep{{Weight: 50, Pause: &servingv1alpha1.Pause{Duration: &metav1.Duration{Duration: time.Hour}}}},
	}}
	spec := &md.Spec.Template.Spec
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: "thresholds", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "thresholds"}}}})
	spec.Containers[0].Env = append(spec.Containers[0].Env, corev1.EnvVar{Name: "THRESHOLD", ValueFrom: &corev1.EnvVarSource{
		ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "thresholds"}, Key: "threshold"}}})
	return md
}

// settledOnConfig makes ConfigMap thresholds and a ModelDeployment at 1.0.0
// reading it (changed by mutate first), and waits until that version serves.
func settledOnConfig(ns string, mutate ...func(*servingv1alpha1.ModelDeployment)) (*corev1.ConfigMap, *servingv1alpha1.ModelDeployment, types.NamespacedName, types.NamespacedName) {
	GinkgoHelper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "thresholds"}, Data: map[string]string{"threshold": "0.5"}}
	Expect(k8sClient.Create(ctx, cm)).To(Succeed())
	md := configReading(ns, "1.0.0")
	for _, m := range mutate {
		m(md)
	}
	Expect(k8sClient.Create(ctx, md)).To(Succeed())
	key := objectKey(md)
	stable := deploymentOf(ns, md.Name, "1.0.0")
	Eventually(replicasOf(stable)).Should(BeEquivalentTo(2))
	playDeploymentController(stable)
	Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
	return cm, md, key, stable
}

// configMapOfVolume is the ConfigMap a Deployment's pods mount as volume name.
func configMapOfVolume(key types.NamespacedName, volume string) func(Gomega) string {
	return func(g Gomega) string {
		dep := &appsv1.Deployment{}
		g.Expect(k8sClient.Get(ctx, key, dep)).To(Succeed())
		for _, v := range dep.Spec.Template.Spec.Volumes {
			if v.Name == volume && v.ConfigMap != nil {
				return v.ConfigMap.Name
			}
		}
		return ""
	}
}

// copiesIn lists the names of the config copies modelgate made in a namespace.
func copiesIn(ns string, list client.ObjectList) []string {
	GinkgoHelper()
	Expect(k8sClient.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{configrollout.LabelCopy: "true"})).To(Succeed())
	var out []string
	items, err := meta.ExtractList(list)
	Expect(err).NotTo(HaveOccurred())
	for _, o := range items {
		out = append(out, o.(client.Object).GetName())
	}
	return out
}

var _ = Describe("Config rollouts", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("roll a ConfigMap change out by canary and roll it back to the old content", func() {
		cm, md, key, stable := settledOnConfig(ns, func(md *servingv1alpha1.ModelDeployment) { md.Spec.RevisionHistoryLimit = ptr.To[int32](0) })

		By("reading an immutable copy of the ConfigMap, owned by the ModelDeployment")
		oldCopy := configMapOfVolume(stable, "thresholds")(Default)
		Expect(oldCopy).To(HavePrefix("thresholds-"))
		dep := getDeployment(stable)
		Expect(dep.Spec.Template.Spec.Containers[0].Env).To(ContainElement(HaveField("ValueFrom.ConfigMapKeyRef.Name", oldCopy)),
			"the environment reads the copy too")
		copied := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: oldCopy}, copied)).To(Succeed())
		Expect(copied.Data).To(Equal(map[string]string{"threshold": "0.5"}))
		Expect(copied.Immutable).To(HaveValue(BeTrue()))
		expectOwnedBy(copied, md.Name)

		By("changing the ConfigMap: a candidate revision of the same version reads a copy of the new data")
		cm.Data["threshold"] = "0.9"
		Expect(k8sClient.Update(ctx, cm)).To(Succeed())
		Eventually(func() *servingv1alpha1.CandidateStatus { return getMD(key).Status.Candidate }).ShouldNot(BeNil())
		cand := getMD(key).Status.Candidate
		Expect(cand.Version).To(Equal("1.0.0"))
		Expect(cand.Deployment).To(HavePrefix(stable.Name + "-"))
		candidate := types.NamespacedName{Namespace: ns, Name: cand.Deployment}
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1), "the canary's first step: one pod of two")
		newCopy := configMapOfVolume(candidate, "thresholds")(Default)
		Expect(newCopy).To(HavePrefix("thresholds-"))
		Expect(newCopy).NotTo(Equal(oldCopy))
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: newCopy}, copied)).To(Succeed())
		Expect(copied.Data).To(Equal(map[string]string{"threshold": "0.9"}))
		Expect(configMapOfVolume(stable, "thresholds")(Default)).To(Equal(oldCopy), "the stable pods keep the old content")
		Eventually(func() []string { return eventReasons(ns, md.Name) }).Should(ContainElement("ConfigCopied"))
		playDeploymentController(candidate)
		Eventually(func() string {
			return meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionReady).Reason
		}).Should(Equal("Pausing"))

		By("aborting: the stable revision serves the old content, the candidate is rejected")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationAbort, "new thresholds refuse too much")
		})
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(2))
		playDeploymentController(stable)
		Eventually(replicasOf(candidate)).Should(Or(BeEquivalentTo(0), BeEquivalentTo(-1)))
		cur := getMD(key)
		Expect(cur.Status.Rejected.Deployment).To(Equal(candidate.Name))
		Expect(cur.Status.Stable.Deployment).To(Equal(stable.Name))
		Expect(configMapOfVolume(stable, "thresholds")(Default)).To(Equal(oldCopy))
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: oldCopy}, copied)).To(Succeed())
		Expect(copied.Data).To(Equal(map[string]string{"threshold": "0.5"}), "the old content is kept whatever the live ConfigMap says")
		Consistently(func() *servingv1alpha1.CandidateStatus { return getMD(key).Status.Candidate }, "1s").Should(BeNil(),
			"the rejected config is not tried again")

		By("putting the old data back: the stable revision again, and the rejected copy goes with its revision")
		Expect(k8sClient.Get(ctx, objectKey(cm), cm)).To(Succeed())
		cm.Data["threshold"] = "0.5"
		Expect(k8sClient.Update(ctx, cm)).To(Succeed())
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		Expect(getMD(key).Status.Rejected).To(BeNil())
		Eventually(func() []string { return copiesIn(ns, &corev1.ConfigMapList{}) }).Should(Equal([]string{oldCopy}))
	})

	It("hold a config change approved before it for a new approval, as a changed image is held", func() {
		letAuthenticatedUsersApprove()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "thresholds"}, Data: map[string]string{"threshold": "0.5"}}
		Expect(k8sClient.Create(ctx, cm)).To(Succeed())
		md := configReading(ns, "1.0.0")
		md.Spec.Approvals = &servingv1alpha1.ApprovalsSpec{Required: []servingv1alpha1.RequiredApproval{{Role: "security", Groups: []string{"sec-team"}}}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		stable := deploymentOf(ns, md.Name, "1.0.0")
		alice := clientAs("alice", "sec-team")
		Expect(alice.Create(ctx, newApproval(ns, "first", md.Name, "1.0.0", "security"))).To(Succeed())
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(2))
		playDeploymentController(stable)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))

		By("changing the ConfigMap: the approval of the old data does not count")
		cm.Data["threshold"] = "0.9"
		Expect(k8sClient.Update(ctx, cm)).To(Succeed())
		Eventually(condition(key, servingv1alpha1.ConditionApproved)).Should(And(
			HavePrefix("False/AwaitingApproval: Version 1.0.0 waits for the approval of security"),
			ContainSubstring("the config it reads changed since")))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseAwaitingApproval))
		candidate := types.NamespacedName{Namespace: ns, Name: getMD(key).Status.Candidate.Deployment}
		Expect(replicasOf(candidate)()).To(BeNumerically("<=", 0))

		By("approving the new data: the canary starts")
		Expect(alice.Create(ctx, newApproval(ns, "second", md.Name, "1.0.0", "security"))).To(Succeed())
		Eventually(condition(key, servingv1alpha1.ConditionApproved)).Should(HavePrefix("True/Approved"))
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
	})

	It("make the spec's copy again once it is deleted by hand, so its pods can start", func() {
		_, _, _, stable := settledOnConfig(ns)
		name := configMapOfVolume(stable, "thresholds")(Default)
		copied := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, copied)).To(Succeed())
		uid := copied.UID

		Expect(k8sClient.Delete(ctx, copied)).To(Succeed())
		Eventually(func(g Gomega) {
			again := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, again)).To(Succeed())
			g.Expect(again.UID).NotTo(Equal(uid))
			g.Expect(again.Data).To(Equal(map[string]string{"threshold": "0.5"}))
		}).Should(Succeed())
	})

	It("never let pods read an object planted under a copy's name, owner reference and all", func() {
		cm, _, key, _ := settledOnConfig(ns)

		By("planting, ahead of a change, an immutable ConfigMap under the name its copy will have, controlled by the ModelDeployment, with other data")
		cur := getMD(key)
		next := &corev1.ConfigMap{Data: map[string]string{"threshold": "0.9"}}
		name := configrollout.CopyName(cur, configrollout.Ref{Kind: configrollout.KindConfigMap, Name: "thresholds"}, configrollout.ConfigMapHash(next))
		planted := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels:          map[string]string{configrollout.LabelCopy: "true"},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cur, servingv1alpha1.GroupVersion.WithKind("ModelDeployment"))}},
			Data: map[string]string{"threshold": "0.0"}, Immutable: ptr.To(true)}
		Expect(k8sClient.Create(ctx, planted)).To(Succeed())

		By("changing the ConfigMap to the data the name stands for: the candidate is held, and status says why")
		cm.Data = next.Data
		Expect(k8sClient.Update(ctx, cm)).To(Succeed())
		Eventually(condition(key, servingv1alpha1.ConditionReconciling)).Should(ContainSubstring(
			"the ConfigMap of that name holds other data than ConfigMap thresholds"))
		var deps appsv1.DeploymentList
		Expect(k8sClient.List(ctx, &deps, client.InNamespace(ns))).To(Succeed())
		for _, d := range deps.Items {
			Expect(configMapOfVolume(objectKey(&d), "thresholds")(Default)).NotTo(Equal(name), "Deployment %s reads the planted ConfigMap", d.Name)
		}

		By("removing the planted object: the real copy is made and the candidate reads it")
		Expect(k8sClient.Delete(ctx, planted)).To(Succeed())
		Eventually(func() *servingv1alpha1.CandidateStatus { return getMD(key).Status.Candidate }).ShouldNot(BeNil())
		candidate := types.NamespacedName{Namespace: ns, Name: getMD(key).Status.Candidate.Deployment}
		Eventually(configMapOfVolume(candidate, "thresholds")).Should(Equal(name))
		copied := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, copied)).To(Succeed())
		Expect(copied.Data).To(Equal(map[string]string{"threshold": "0.9"}))
	})

	It("put back the stable's copy when other data is planted under its name mid-canary, leaving the candidate alone", func() {
		cm, _, key, stable := settledOnConfig(ns)
		stableCopy := configMapOfVolume(stable, "thresholds")(Default)

		By("changing the ConfigMap: a canary of the new data")
		cm.Data["threshold"] = "0.9"
		Expect(k8sClient.Update(ctx, cm)).To(Succeed())
		Eventually(func() *servingv1alpha1.CandidateStatus { return getMD(key).Status.Candidate }).ShouldNot(BeNil())
		candidate := types.NamespacedName{Namespace: ns, Name: getMD(key).Status.Candidate.Deployment}
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		candidateCopy := configMapOfVolume(candidate, "thresholds")(Default)
		Expect(candidateCopy).NotTo(Equal(stableCopy))

		By("deleting the stable's copy and planting other data under its name, owner reference and all")
		owner := getMD(key)
		planted := &corev1.ConfigMap{}
		Eventually(func(g Gomega) {
			old := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: stableCopy}}
			g.Expect(client.IgnoreNotFound(k8sClient.Delete(ctx, old))).To(Succeed())
			planted = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: stableCopy,
				Labels:          map[string]string{configrollout.LabelCopy: "true"},
				OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(owner, servingv1alpha1.GroupVersion.WithKind("ModelDeployment"))}},
				Data: map[string]string{"threshold": "0.0"}, Immutable: ptr.To(true)}
			g.Expect(k8sClient.Create(ctx, planted)).To(Succeed())
		}).Should(Succeed())

		By("the planted object is removed and the stable's copy made again, with a warning naming it")
		Eventually(func(g Gomega) {
			again := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: stableCopy}, again)).To(Succeed())
			g.Expect(again.UID).NotTo(Equal(planted.UID))
			g.Expect(again.Data).To(Equal(map[string]string{"threshold": "0.5"}))
			g.Expect(again.Immutable).To(HaveValue(BeTrue()))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			var list eventsv1.EventList
			g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			var notes []string
			for _, e := range list.Items {
				if e.Reason == "ConfigCopyReplaced" {
					notes = append(notes, e.Note)
				}
			}
			g.Expect(notes).To(ContainElement(And(ContainSubstring("ConfigMap "+stableCopy), ContainSubstring("revision "+stable.Name),
				ContainSubstring("removed and made again"), Not(ContainSubstring("0.0")))))
		}).Should(Succeed())

		By("the canary's candidate is unaffected")
		cur := getMD(key)
		Expect(cur.Status.Candidate).NotTo(BeNil())
		Expect(cur.Status.Candidate.Deployment).To(Equal(candidate.Name))
		Expect(configMapOfVolume(candidate, "thresholds")(Default)).To(Equal(candidateCopy))
		Expect(configMapOfVolume(stable, "thresholds")(Default)).To(Equal(stableCopy))
		Expect(replicasOf(candidate)()).To(BeEquivalentTo(1))
		copied := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: candidateCopy}, copied)).To(Succeed())
		Expect(copied.Data).To(Equal(map[string]string{"threshold": "0.9"}))
	})

	It("with configRollout Off let the pods read the live ConfigMap: a change makes no candidate", func() {
		cm, _, key, stable := settledOnConfig(ns, func(md *servingv1alpha1.ModelDeployment) { md.Spec.ConfigRollout = servingv1alpha1.ConfigRolloutOff })
		Expect(configMapOfVolume(stable, "thresholds")(Default)).To(Equal("thresholds"))

		cm.Data["threshold"] = "0.9"
		Expect(k8sClient.Update(ctx, cm)).To(Succeed())
		Consistently(func() *servingv1alpha1.CandidateStatus { return getMD(key).Status.Candidate }, "2s").Should(BeNil())
		Expect(getMD(key).Status.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
		Expect(configMapOfVolume(stable, "thresholds")(Default)).To(Equal("thresholds"))
		Expect(copiesIn(ns, &corev1.ConfigMapList{})).To(BeEmpty())
	})

	It("copy only the Secrets that opted in, and never show a Secret's value in status or events", func() {
		const oldValue, newValue = "first-credential-7f3a91", "second-credential-c42d08"
		creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "creds",
			Labels: map[string]string{servingv1alpha1.LabelManagerReadable: "true"}}, Data: map[string][]byte{"token": []byte(oldValue)}}
		other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "other"}, Data: map[string][]byte{"key": []byte(oldValue)}}
		Expect(k8sClient.Create(ctx, creds)).To(Succeed())
		Expect(k8sClient.Create(ctx, other)).To(Succeed())
		md := newModelDeployment(ns, "1.0.0", 2)
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
			Steps: []servingv1alpha1.CanaryStep{{Weight: 50, Pause: &servingv1alpha1.Pause{}}},
		}}
		md.Spec.Template.Spec.Containers[0].Env = append(md.Spec.Template.Spec.Containers[0].Env,
			corev1.EnvVar{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "token"}}},
			corev1.EnvVar{Name: "OTHER", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "other"}, Key: "key"}}})
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		stable := deploymentOf(ns, md.Name, "1.0.0")
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(2))
		playDeploymentController(stable)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))

		secretOf := func(dep types.NamespacedName, env string) func(Gomega) string {
			return func(g Gomega) string {
				d := &appsv1.Deployment{}
				g.Expect(k8sClient.Get(ctx, dep, d)).To(Succeed())
				for _, e := range d.Spec.Template.Spec.Containers[0].Env {
					if e.Name == env {
						return e.ValueFrom.SecretKeyRef.Name
					}
				}
				return ""
			}
		}
		oldCopy := secretOf(stable, "TOKEN")(Default)
		Expect(oldCopy).To(HavePrefix("creds-"))
		Expect(secretOf(stable, "OTHER")(Default)).To(Equal("other"), "a Secret that did not opt in is read live")
		copied := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: oldCopy}, copied)).To(Succeed())
		Expect(string(copied.Data["token"])).To(Equal(oldValue))
		Expect(copied.Immutable).To(HaveValue(BeTrue()))
		Expect(copied.Labels).NotTo(HaveKey(servingv1alpha1.LabelManagerReadable), "the copy is no Secret the manager reads for anyone")
		Expect(checklistItem(getMD(key), "secrets").Message).To(ContainSubstring(
			"config rollout does not cover Secrets other (not labelled serving.modelgate.dev/manager-readable=true, so modelgate does not read it)"))

		By("changing the opted-in Secret: a candidate reading a copy of the new value")
		creds.Data["token"] = []byte(newValue)
		Expect(k8sClient.Update(ctx, creds)).To(Succeed())
		Eventually(func() *servingv1alpha1.CandidateStatus { return getMD(key).Status.Candidate }).ShouldNot(BeNil())
		candidate := types.NamespacedName{Namespace: ns, Name: getMD(key).Status.Candidate.Deployment}
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		newCopy := secretOf(candidate, "TOKEN")(Default)
		Expect(newCopy).To(HavePrefix("creds-"))
		Expect(newCopy).NotTo(Equal(oldCopy))
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: newCopy}, copied)).To(Succeed())
		Expect(string(copied.Data["token"])).To(Equal(newValue))
		Expect(secretOf(stable, "TOKEN")(Default)).To(Equal(oldCopy))

		By("changing the Secret that did not opt in: no candidate, the pods read it live")
		playDeploymentController(candidate)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhasePaused))
		before := getMD(key).Status.Candidate.Deployment
		other.Data["key"] = []byte(newValue)
		Expect(k8sClient.Update(ctx, other)).To(Succeed())
		Consistently(func() string { return getMD(key).Status.Candidate.Deployment }, "1s").Should(Equal(before))

		By("finding neither value in status, events or the revisions kept")
		values := []string{oldValue, newValue, base64.StdEncoding.EncodeToString([]byte(oldValue)), base64.StdEncoding.EncodeToString([]byte(newValue))}
		status, err := json.Marshal(getMD(key).Status)
		Expect(err).NotTo(HaveOccurred())
		var events eventsv1.EventList
		Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
		Expect(events.Items).NotTo(BeEmpty())
		var text strings.Builder
		text.Write(status)
		for _, e := range events.Items {
			text.WriteString(e.Note + e.Reason)
		}
		var revisions appsv1.ControllerRevisionList
		Expect(k8sClient.List(ctx, &revisions, client.InNamespace(ns))).To(Succeed())
		Expect(revisions.Items).NotTo(BeEmpty())
		for _, cr := range revisions.Items {
			text.Write(cr.Data.Raw)
		}
		for _, v := range values {
			Expect(text.String()).NotTo(ContainSubstring(v))
		}
		Expect(text.String()).To(ContainSubstring(newCopy), "the events name the copy")
	})
})
