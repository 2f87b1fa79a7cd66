package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

var _ = Describe("A change to what the checklist reads", func() {
	It("judges tls again when an Ingress starts serving the model, and capacity when a quota covering its pods comes and shrinks", func() {
		ns := newNamespace()
		productionSurroundings(ns, "fraud-scorer")
		Expect(k8sClient.Create(ctx, pdbFor(ns, "fraud-scorer"))).To(Succeed())
		md := productionModelDeployment(ns, "fraud-scorer")
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		Eventually(func() servingv1alpha1.CheckResult { return itemOf(key, "tls")().Result }).Should(Equal(servingv1alpha1.CheckSkipped))

		By("an Ingress sending any host to the model's Service without TLS")
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "public"},
			Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
				Name: "fraud-scorer", Port: networkingv1.ServiceBackendPort{Number: 8080}}}}}
		Expect(k8sClient.Create(ctx, ing)).To(Succeed())
		Eventually(func() string { return itemOf(key, "tls")().Message }).
			Should(ContainSubstring("Ingress public sends any host to Service fraud-scorer without TLS"))

		By("a quota covering its pods, then lowered below what the model's two pods ask for")
		Eventually(func() servingv1alpha1.CheckResult { return itemOf(key, "capacity")().Result }).Should(Equal(servingv1alpha1.CheckPass))
		q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "compute"},
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("1")}}}
		Expect(k8sClient.Create(ctx, q)).To(Succeed())
		// What the quota controller would count for the two pods; envtest runs none.
		q.Status = corev1.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("200m")}}
		Expect(k8sClient.Status().Update(ctx, q)).To(Succeed())
		Eventually(func() string { return itemOf(key, "capacity")().Message }).Should(ContainSubstring("fits ResourceQuota compute"))
		q.Spec.Hard = corev1.ResourceList{corev1.ResourceRequestsCPU: resource.MustParse("100m")}
		Expect(k8sClient.Update(ctx, q)).To(Succeed())
		Eventually(func() string { return itemOf(key, "capacity")().Message }).Should(ContainSubstring("ResourceQuota compute: requests.cpu"))
		Expect(itemOf(key, "capacity")().Result).To(Equal(servingv1alpha1.CheckFail))
	})

	It("judges capacity again when a node comes to offer the GPUs a model asks for", func() {
		ns := newNamespace()
		productionSurroundings(ns, "gpu-scorer")
		Expect(k8sClient.Create(ctx, pdbFor(ns, "gpu-scorer"))).To(Succeed())
		md := productionModelDeployment(ns, "gpu-scorer")
		md.Spec.Template.Spec.Containers[0].Resources.Limits["example.com/gpu"] = resource.MustParse("1")
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		Eventually(func() string { return itemOf(key, "capacity")().Message }).Should(ContainSubstring("no node offers example.com/gpu"))

		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{GenerateName: "gpu-"}}
		Expect(k8sClient.Create(ctx, node)).To(Succeed())
		DeferCleanup(func() { Expect(k8sClient.Delete(ctx, node)).To(Succeed()) })
		node.Status.Allocatable = corev1.ResourceList{"example.com/gpu": resource.MustParse("4")}
		Expect(k8sClient.Status().Update(ctx, node)).To(Succeed())
		Eventually(func() string { return itemOf(key, "capacity")().Message }).Should(ContainSubstring("fits the nodes' 4 example.com/gpu"))
		Expect(itemOf(key, "capacity")().Result).To(Equal(servingv1alpha1.CheckPass))
	})
})
