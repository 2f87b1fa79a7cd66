package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/alerts"
	"github.com/modelgate/modelgate/internal/controller"
)

// alertRules reads the rules of a ModelDeployment's PrometheusRule as
// "alert version expr" lines; nil when there is none.
func alertRules(g Gomega, key client.ObjectKey) (*unstructured.Unstructured, []string) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(controller.PrometheusRuleGVK)
	err := k8sClient.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name + "-alerts"}, u)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	g.Expect(err).NotTo(HaveOccurred())
	groups, _, _ := unstructured.NestedSlice(u.Object, "spec", "groups")
	g.Expect(groups).To(HaveLen(1))
	rules, _, _ := unstructured.NestedSlice(groups[0].(map[string]any), "rules")
	var out []string
	for _, r := range rules {
		m := r.(map[string]any)
		version, _, _ := unstructured.NestedString(m, "labels", "version")
		out = append(out, m["alert"].(string)+" "+version+" "+m["expr"].(string))
	}
	return u, out
}

var _ = Describe("Alerts generated from the triggers", func() {
	It("writes a PrometheusRule the ModelDeployment controls, again only when the rules change, and removes it with the triggers", func() {
		ns, _, md := analyzedCanary(nil)
		key := objectKey(md)

		By("writing the rules of the stable version")
		var rule *unstructured.Unstructured
		Eventually(func(g Gomega) {
			var rules []string
			rule, rules = alertRules(g, key)
			g.Expect(rules).To(ContainElement(And(HavePrefix(alerts.AlertErrorRate+" 1.0.0 "), HaveSuffix(") > 5"))))
			g.Expect(rules).To(ContainElement(HavePrefix(alerts.AlertRolledBack + " ")))
		}).Should(Succeed())
		Expect(metav1.IsControlledBy(rule, getMD(key))).To(BeTrue())
		Expect(rule.GetLabels()).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "modelgate"))
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: md.Name + "-alerts"}, &corev1.ConfigMap{})).
			To(Satisfy(apierrors.IsNotFound), "no ConfigMap where PrometheusRules are served")

		By("leaving them alone through a change that does not touch them")
		written := rule.GetResourceVersion()
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Replicas = ptr.To[int32](3) })
		Eventually(replicasOf(deploymentOf(ns, md.Name, "1.0.0"))).Should(BeEquivalentTo(3))
		playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
		Eventually(func(g Gomega) {
			cur := getMD(key)
			g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
			g.Expect(cur.Status.AvailableReplicas).To(BeEquivalentTo(3))
		}).Should(Succeed())
		rule, _ = alertRules(Default, key)
		Expect(rule.GetResourceVersion()).To(Equal(written), "reconciled without writing the unchanged rules")

		By("writing them again when a bound changes")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Analysis.Triggers.ErrorRate.MaxPercent = "2.5" })
		Eventually(func(g Gomega) {
			_, rules := alertRules(g, key)
			g.Expect(rules).To(ContainElement(And(HavePrefix(alerts.AlertErrorRate+" 1.0.0 "), HaveSuffix(") > 2.5"))))
		}).Should(Succeed())

		By("removing them with the triggers")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Analysis.Triggers = nil })
		Eventually(func(g Gomega) {
			u, _ := alertRules(g, key)
			g.Expect(u).To(BeNil())
		}).Should(Succeed())
	})
})
