package integration

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

var _ = Describe("Revisions", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("let a rollback to a version eleven rollouts back pass model-version-semver, after status.history forgot it", func() {
		md := newModelDeployment(ns, "1.0.0", 1)
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		for minor := 1; minor <= 10; minor++ {
			v := fmt.Sprintf("1.%d.0", minor)
			updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = v })
			Eventually(replicasOf(deploymentOf(ns, md.Name, v))).Should(BeEquivalentTo(1))
			playDeploymentController(deploymentOf(ns, md.Name, v))
			Eventually(func() string { return getMD(key).Status.Stable.Version }).Should(Equal(v))
		}
		cur := getMD(key)
		Expect(cur.Status.History).To(HaveLen(10))
		Expect(cur.Status.History).NotTo(ContainElement(HaveField("Version", "1.0.0")), "status.history keeps ten entries")
		Eventually(func() []string {
			var list appsv1.ControllerRevisionList
			Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			var names []string
			for _, cr := range list.Items {
				names = append(names, cr.Name)
			}
			return names
		}).Should(HaveLen(11), "the revision that runs and the ten before it")

		By("going back to 1.0.0")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.0.0" })
		Eventually(func() string {
			item := checklistItem(getMD(key), "model-version-semver")
			return string(item.Result) + ": " + item.Message
		}).Should(Equal("Pass: Version 1.0.0 is below the stable version 1.10.0: a rollback to a version promoted before"))
	})
})
