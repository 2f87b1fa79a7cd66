package integration

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// strict is how kubectl applies by default: an unknown or pruned field is an
// error, not a silent loss.
var strict = client.FieldValidation(metav1.FieldValidationStrict)

// podTemplateOf reads the pod template of a version's Deployment, once it exists.
func podTemplateOf(ns, name, version string) func(Gomega) *appsv1.Deployment {
	return func(g Gomega) *appsv1.Deployment {
		dep := &appsv1.Deployment{}
		g.Expect(k8sClient.Get(ctx, deploymentOf(ns, name, version), dep)).To(Succeed())
		return dep
	}
}

var _ = Describe("The pod template's labels and annotations", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("are accepted under strict field validation and reach every version's Deployment and pods", func() {
		u := withOverlay(ns, `
spec:
  checklist: {profile: development}
  template:
    metadata:
      labels: {team: growth, cost-center: ml-42}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9090"
        sidecar.istio.io/inject: "false"
    spec:
      volumes:
      - name: scratch
        ephemeral:
          volumeClaimTemplate:
            metadata: {labels: {team: growth}, annotations: {backup.example/skip: "true"}}
            spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`)
		Expect(k8sClient.Create(ctx, u, strict)).To(Succeed())
		key := objectKey(u)

		By("keeping every label and annotation the user wrote, embedded claim templates too")
		md := getMD(key)
		Expect(md.Spec.Template.Labels).To(Equal(map[string]string{"team": "growth", "cost-center": "ml-42"}))
		Expect(md.Spec.Template.Annotations).To(HaveKeyWithValue("sidecar.istio.io/inject", "false"))
		claim := md.Spec.Template.Spec.Volumes[0].Ephemeral.VolumeClaimTemplate
		Expect(claim.Labels).To(HaveKeyWithValue("team", "growth"))
		Expect(claim.Annotations).To(HaveKeyWithValue("backup.example/skip", "true"))

		By("putting them on the version's pods beside modelgate's labels, and the labels on its Deployment")
		dep := &appsv1.Deployment{}
		Eventually(func(g Gomega) { dep = podTemplateOf(ns, md.Name, "2.3.0")(g) }).Should(Succeed())
		Expect(dep.Spec.Template.Labels).To(Equal(map[string]string{
			"team": "growth", "cost-center": "ml-42",
			"app.kubernetes.io/name": md.Name, "app.kubernetes.io/managed-by": "modelgate", "serving.modelgate.dev/version": "2.3.0",
		}))
		Expect(dep.Spec.Template.Annotations).To(Equal(map[string]string{
			"prometheus.io/scrape": "true", "prometheus.io/port": "9090", "sidecar.istio.io/inject": "false",
		}))
		Expect(dep.Labels).To(HaveKeyWithValue("team", "growth"))
		Expect(dep.Spec.Template.Spec.Volumes[0].Ephemeral.VolumeClaimTemplate.Labels).To(HaveKeyWithValue("team", "growth"))

		By("giving the next version the same metadata")
		playDeploymentController(deploymentOf(ns, md.Name, "2.3.0"))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		updateMD(key, func(md *servingv1alpha1.ModelDeployment) { md.Spec.Model.Version = "2.4.0" })
		Eventually(func(g Gomega) map[string]string { return podTemplateOf(ns, md.Name, "2.4.0")(g).Spec.Template.Labels }).
			Should(And(HaveKeyWithValue("team", "growth"), HaveKeyWithValue("serving.modelgate.dev/version", "2.4.0")))
	})

	DescribeTable("may not set modelgate's own labels, refused naming the field",
		func(label string) {
			err := k8sClient.Create(ctx, withOverlay(ns, fmt.Sprintf(`{spec: {template: {metadata: {labels: {%q: x}}}}}`, label)), strict)
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("spec.template.metadata.labels: Forbidden: may not set " + label))
		},
		Entry("the name", "app.kubernetes.io/name"),
		Entry("the manager", "app.kubernetes.io/managed-by"),
		Entry("the version", "serving.modelgate.dev/version"),
	)

	It("are what the checklist judges selectors by: a PDB on a team label passes pdb, and a label change it no longer selects is held", func() {
		productionSurroundings(ns, "growth-scorer")
		md := productionModelDeployment(ns, "growth-scorer")
		md.Spec.Template.Labels = map[string]string{"team": "growth"}
		Expect(k8sClient.Create(ctx, md, strict)).To(Succeed())
		key := objectKey(md)
		teamPDB := pdbFor(ns, "growth-team")
		teamPDB.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "growth"}}
		Expect(k8sClient.Create(ctx, teamPDB)).To(Succeed())

		Eventually(func() servingv1alpha1.CheckResult { return itemResults(getMD(key))["pdb"] }).
			Should(Equal(servingv1alpha1.CheckPass))
		Expect(checklistItem(getMD(key), "pdb").Message).To(ContainSubstring("growth-team"))
		// The decision is recorded before it is applied: the pods are played
		// once the Deployment has its size.
		Eventually(replicasOf(deploymentOf(ns, md.Name, "1.0.0"))).Should(Equal(*getMD(key).Spec.Replicas))
		playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))

		By("moving the pods to a team no PDB selects: the change is judged by the labels the pods would carry, and held")
		updateMD(key, func(md *servingv1alpha1.ModelDeployment) { md.Spec.Template.Labels["team"] = "risk" })
		Eventually(func() servingv1alpha1.CheckResult { return itemResults(getMD(key))["pdb"] }).
			Should(Equal(servingv1alpha1.CheckFail))
		Eventually(func() string {
			return meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionReady).Message
		}).Should(ContainSubstring("Version 1.0.0 gets no traffic: checklist items block it: pdb"))
		Expect(getMD(key).Status.Candidate.Deployment).To(HavePrefix(deploymentOf(ns, md.Name, "1.0.0").Name+"-"),
			"the changed template is a candidate of its own beside the serving pods")
		Consistently(func(g Gomega) string { return podTemplateOf(ns, md.Name, "1.0.0")(g).Spec.Template.Labels["team"] }, "1s").
			Should(Equal("growth"), "the serving pods keep the template the checklist passed")

		By("selecting the new team too: the change rolls out as a candidate")
		teamPDB = pdbFor(ns, "risk-team")
		teamPDB.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "risk"}}
		Expect(k8sClient.Create(ctx, teamPDB)).To(Succeed())
		Eventually(func(g Gomega) string {
			dep := &appsv1.Deployment{}
			g.Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: getMD(key).Status.Candidate.Deployment}, dep)).To(Succeed())
			g.Expect(dep.Spec.Replicas).To(HaveValue(BeNumerically(">", 0)))
			return dep.Spec.Template.Labels["team"]
		}).Should(Equal("risk"))
	})
})
