package integration

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

var _ = Describe("A blue-green rollout", func() {
	It("previews the new version at full size, switches <name> on a promote, and keeps the old version warm for the delay", func() {
		ns := newNamespace()
		md := newModelDeployment(ns, "1.0.0", 2)
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyBlueGreen, BlueGreen: &servingv1alpha1.BlueGreenStrategy{
			AutoPromotion: ptr.To(false), ScaleDownDelay: &metav1.Duration{Duration: 2 * time.Second},
		}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		blue, green := deploymentOf(ns, md.Name, "1.0.0"), deploymentOf(ns, md.Name, "2.0.0")
		playDeploymentController(blue)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		selectorOf := func(name string) func() string {
			return func() string {
				svc := &corev1.Service{}
				if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, svc); err != nil {
					return err.Error()
				}
				return svc.Spec.Selector["serving.modelgate.dev/version"]
			}
		}
		Eventually(selectorOf(md.Name)).Should(Equal("1.0.0"), "<name> selects one version")

		By("bringing the preview up at full size behind <name>-candidate only")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "2.0.0" })
		Eventually(func() int32 {
			dep := &appsv1.Deployment{}
			if err := k8sClient.Get(ctx, green, dep); err != nil {
				return -1
			}
			return *dep.Spec.Replicas
		}).Should(BeEquivalentTo(2))
		Eventually(selectorOf(md.Name + "-candidate")).Should(Equal("2.0.0"))
		playDeploymentController(green)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhasePaused))
		Expect(selectorOf(md.Name)()).To(Equal("1.0.0"), "no user traffic before the switch")

		By("switching on a promote, the old version kept at full size")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationPromote, "ship-it")
		})
		Eventually(selectorOf(md.Name)).Should(Equal("2.0.0"))
		// The Services change before the status is written: wait for both.
		Eventually(func() string { return getMD(key).Status.Stable.Version }).Should(Equal("2.0.0"))
		Expect(getMD(key).Status.Previous).To(HaveField("Version", "1.0.0"))
		Expect(k8sClient.Get(ctx, blue, &appsv1.Deployment{})).To(Succeed())

		By("letting the old version go after the scale-down delay")
		Eventually(func() bool {
			dep := &appsv1.Deployment{}
			err := k8sClient.Get(ctx, blue, dep)
			return err != nil || !dep.DeletionTimestamp.IsZero()
		}, "10s").Should(BeTrue())
		Eventually(func() *servingv1alpha1.VersionStatus { return getMD(key).Status.Previous }).Should(BeNil())
	})
})
