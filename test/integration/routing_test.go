package integration

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// userRoute is the HTTPRoute a platform team writes for a model: one rule
// sending /predict to the ModelDeployment's Service, one for something else.
func userRoute(ns, name, service string) *gatewayv1.HTTPRoute {
	prefix := ptr.To(gatewayv1.PathMatchPathPrefix)
	backend := func(svc string, port gatewayv1.PortNumber) gatewayv1.HTTPBackendRef {
		return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{
			Name: gatewayv1.ObjectName(svc), Port: ptr.To(port),
		}}}
	}
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "public"}}},
			Rules: []gatewayv1.HTTPRouteRule{
				{
					Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: prefix, Value: ptr.To("/predict")}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{backend(service, 8080)},
				},
				{
					Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: prefix, Value: ptr.To("/docs")}}},
					BackendRefs: []gatewayv1.HTTPBackendRef{backend("docs", 80)},
				},
			},
		},
	}
}

// routeOf reads an HTTPRoute as the API server holds it.
func routeOf(key types.NamespacedName) *gatewayv1.HTTPRoute {
	route := &gatewayv1.HTTPRoute{}
	Expect(k8sClient.Get(ctx, key, route)).To(Succeed())
	return route
}

// weightsOf are the weights the rule for /predict gives each backend, by Service.
func weightsOf(key types.NamespacedName) func() map[string]int32 {
	return func() map[string]int32 {
		out := map[string]int32{}
		for _, rule := range routeOf(key).Spec.Rules {
			if rule.Name != nil || *rule.Matches[0].Path.Value != "/predict" {
				continue
			}
			for _, b := range rule.BackendRefs {
				out[string(b.Name)] = ptr.Deref(b.Weight, 1)
			}
		}
		return out
	}
}

func readyReason(key types.NamespacedName) func() string {
	return func() string {
		c := meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionReady)
		if c == nil {
			return ""
		}
		return c.Reason
	}
}

func replicasOf(key types.NamespacedName) func() int32 {
	return func() int32 {
		dep := &appsv1.Deployment{}
		if err := k8sClient.Get(ctx, key, dep); err != nil {
			return -1
		}
		return *dep.Spec.Replicas
	}
}

func serviceSelector(ns, name string) func() map[string]string {
	return func() map[string]string {
		svc := &corev1.Service{}
		if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, svc); err != nil {
			return nil
		}
		return svc.Spec.Selector
	}
}

var _ = Describe("Traffic on a Gateway API HTTPRoute", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	routed := func(md *servingv1alpha1.ModelDeployment, strategy servingv1alpha1.StrategySpec) {
		strategy.TrafficRouting = &servingv1alpha1.TrafficRouting{GatewayAPI: &servingv1alpha1.GatewayAPIRouting{HTTPRoute: md.Name}}
		md.Spec.Strategy = strategy
	}
	// deployFirst creates md, lets its first version come up and returns its key.
	deployFirst := func(md *servingv1alpha1.ModelDeployment) types.NamespacedName {
		GinkgoHelper()
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		playDeploymentController(deploymentOf(ns, md.Name, md.Spec.Model.Version))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		return key
	}

	It("holds a canary until its route exists, then moves exact weights on it with replicas sized for each side", func() {
		md := newModelDeployment(ns, "1.0.0", 4)
		routed(md, servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
			Steps: []servingv1alpha1.CanaryStep{{Weight: 25}, {Weight: 50, Pause: &servingv1alpha1.Pause{}}},
		}})
		key := deployFirst(md)
		routeKey := types.NamespacedName{Namespace: ns, Name: md.Name}
		stable, candidate := deploymentOf(ns, md.Name, "1.0.0"), deploymentOf(ns, md.Name, "1.1.0")

		By("holding the new version while the route it needs is missing")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		Eventually(readyReason(key)).Should(Equal("HTTPRouteNotReady"))
		cur := getMD(key)
		Expect(cur.Status.Phase).To(Equal(servingv1alpha1.PhaseVerifying))
		Expect(meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionStalled).Message).To(ContainSubstring(
			`HTTPRoute "` + md.Name + `" named in spec.strategy.trafficRouting.gatewayAPI is not found in namespace ` + ns))
		Expect(replicasOf(candidate)()).To(BeZero())

		By("creating the route: the rule for the model is split, the other rule untouched")
		Expect(k8sClient.Create(ctx, userRoute(ns, md.Name, md.Name))).To(Succeed())
		Eventually(weightsOf(routeKey)).Should(Equal(map[string]int32{md.Name + "-stable": 100, md.Name + "-candidate": 0}))
		Expect(routeOf(routeKey).Spec.Rules[1].BackendRefs[0].Name).To(BeEquivalentTo("docs"))
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		Expect(serviceSelector(ns, md.Name)()).To(Equal(desiredstate.VersionLabels(md, "1.0.0")), "<name> follows the router, not the mix of pods")

		By("moving weight only to pods that are up")
		playDeploymentController(candidate)
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(2), "50% of 4 pods")
		// The step's Deployment is written before its route: wait for both.
		Eventually(weightsOf(routeKey)).Should(Equal(map[string]int32{md.Name + "-stable": 75, md.Name + "-candidate": 25}))
		Expect(replicasOf(stable)()).To(BeEquivalentTo(4), "the stable version keeps its pods until the weight moves")
		playDeploymentController(candidate)
		Eventually(weightsOf(routeKey)).Should(Equal(map[string]int32{md.Name + "-stable": 50, md.Name + "-candidate": 50}))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(2))
		Eventually(readyReason(key)).Should(Equal("WaitingForPromote"))
		Expect(getMD(key).Status.Candidate.Weight).To(BeEquivalentTo(50))

		By("promoting: full size first, then the route sends everything to <name>-stable, now the new version")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationPromote, "ok")
		})
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(4))
		Expect(weightsOf(routeKey)()).To(Equal(map[string]int32{md.Name + "-stable": 50, md.Name + "-candidate": 50}))
		playDeploymentController(candidate)
		Eventually(func() string { return getMD(key).Status.Stable.Version }).Should(Equal("1.1.0"))
		Eventually(weightsOf(routeKey)).Should(Equal(map[string]int32{md.Name + "-stable": 100, md.Name + "-candidate": 0}))
		Expect(serviceSelector(ns, md.Name+"-stable")()).To(Equal(desiredstate.VersionLabels(md, "1.1.0")))
	})

	It("mirrors a share of the traffic to a shadow once its pods are up, and stops on an abort", func() {
		md := newModelDeployment(ns, "1.0.0", 4)
		routed(md, servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyShadow,
			Shadow: &servingv1alpha1.ShadowStrategy{MirrorPercent: 50, Duration: metav1.Duration{Duration: time.Hour}}})
		Expect(k8sClient.Create(ctx, userRoute(ns, md.Name, md.Name))).To(Succeed())
		key := deployFirst(md)
		routeKey := types.NamespacedName{Namespace: ns, Name: md.Name}
		candidate := deploymentOf(ns, md.Name, "1.1.0")
		mirrors := func() []gatewayv1.HTTPRouteFilter { return routeOf(routeKey).Spec.Rules[0].Filters }

		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(2), "sized for half the traffic")
		Consistently(mirrors, "300ms").Should(BeEmpty(), "nothing is mirrored to pods that are not up")

		playDeploymentController(candidate)
		Eventually(mirrors).Should(HaveLen(1))
		m := mirrors()[0].RequestMirror
		Expect(m.BackendRef.Name).To(BeEquivalentTo(md.Name + "-candidate"))
		Expect(m.Percent).To(Equal(ptr.To[int32](50)))
		Expect(weightsOf(routeKey)()).To(Equal(map[string]int32{md.Name + "-stable": 100, md.Name + "-candidate": 0}), "a shadow serves no user")
		Eventually(readyReason(key)).Should(Equal("Experimenting"))
		Expect(getMD(key).Status.Candidate.StepStartedAt).NotTo(BeNil())

		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationAbort, "answers disagree with stable")
		})
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		Eventually(mirrors).Should(BeEmpty())
		Eventually(replicasOf(candidate)).Should(Or(BeEquivalentTo(0), BeEquivalentTo(-1)), "scaled to zero, then removed")
	})

	It("sends an A/B cohort to the candidate by header, waits for a verdict, and promotes on request", func() {
		md := newModelDeployment(ns, "1.0.0", 4)
		routed(md, servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyABTest, ABTest: &servingv1alpha1.ABTestStrategy{
			Headers:  []servingv1alpha1.Match{{Name: "x-model-variant", Value: "b"}},
			Duration: metav1.Duration{Duration: time.Second}, Replicas: ptr.To[int32](1),
		}})
		Expect(k8sClient.Create(ctx, userRoute(ns, md.Name, md.Name))).To(Succeed())
		key := deployFirst(md)
		routeKey := types.NamespacedName{Namespace: ns, Name: md.Name}
		candidate := deploymentOf(ns, md.Name, "1.1.0")

		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(func() int { return len(routeOf(routeKey).Spec.Rules) }).Should(Equal(3))
		cohort := routeOf(routeKey).Spec.Rules[0]
		Expect(cohort.Name).To(Equal(ptr.To(gatewayv1.SectionName("modelgate-" + md.Name + "-cohort-0"))))
		Expect(cohort.Matches[0].Path.Value).To(Equal(ptr.To("/predict")))
		Expect(cohort.Matches[0].Headers).To(ConsistOf(HaveField("Value", "b")))
		Expect(cohort.BackendRefs).To(ConsistOf(HaveField("Name", gatewayv1.ObjectName(md.Name+"-candidate"))))

		Eventually(readyReason(key)).Should(Equal("WaitingForVerdict"), "after its duration the test waits for a verdict")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationPromote, "cohort b converts better")
		})
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(4))
		playDeploymentController(candidate)
		Eventually(func() string { return getMD(key).Status.Stable.Version }).Should(Equal("1.1.0"))
		Eventually(func() int { return len(routeOf(routeKey).Spec.Rules) }).Should(Equal(2), "the cohort rule is gone")
		Expect(getMD(key).Status.History[0].Strategy).To(Equal(servingv1alpha1.StrategyABTest))
	})
})

var _ = Describe("A rolling update", func() {
	It("replaces the stable version within maxSurge and maxUnavailable", func() {
		ns := newNamespace()
		md := newModelDeployment(ns, "1.0.0", 3)
		surge, unavailable := intstr.FromInt32(1), intstr.FromInt32(0)
		md.Spec.Strategy.Rolling = &servingv1alpha1.RollingStrategy{MaxSurge: &surge, MaxUnavailable: &unavailable}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		stable, candidate := deploymentOf(ns, md.Name, "1.0.0"), deploymentOf(ns, md.Name, "1.1.0")
		playDeploymentController(stable)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))

		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		for _, want := range []struct{ candidate, stable int32 }{{1, 3}, {2, 2}, {3, 1}} {
			Eventually(replicasOf(candidate)).Should(Equal(want.candidate))
			Eventually(replicasOf(stable)).Should(Equal(want.stable))
			Expect(replicasOf(candidate)()+replicasOf(stable)()).To(BeNumerically("<=", 4), "never above maxSurge")
			playDeploymentController(candidate)
		}
		Eventually(func() string { return getMD(key).Status.Stable.Version }).Should(Equal("1.1.0"))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(-1))
	})
})
