package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// sharedGateway is the Gateway a platform team runs for every team, in its
// own namespace, with the listeners given.
func sharedGateway(ns string, listeners ...gatewayv1.Listener) *gatewayv1.Gateway {
	return &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shared"},
		Spec:       gatewayv1.GatewaySpec{GatewayClassName: "envoy", Listeners: listeners},
	}
}

func httpsListener(certNS, cert string) gatewayv1.Listener {
	ref := gatewayv1.SecretObjectReference{Name: gatewayv1.ObjectName(cert)}
	if certNS != "" {
		ref.Namespace = ptr.To(gatewayv1.Namespace(certNS))
	}
	return gatewayv1.Listener{
		Name: "https", Port: 443, Protocol: gatewayv1.HTTPSProtocolType,
		AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}},
		TLS:           &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{ref}},
	}
}

var _ = Describe("A model behind a shared Gateway in another namespace", func() {
	var ns, infra string
	var key types.NamespacedName
	BeforeEach(func() {
		ns, infra = newNamespace(), newNamespace()
		productionSurroundings(ns, "fraud-scorer")
		Expect(k8sClient.Create(ctx, pdbFor(ns, "fraud-scorer"))).To(Succeed())
		route := userRoute(ns, "fraud", "fraud-scorer")
		route.Spec.ParentRefs = []gatewayv1.ParentReference{{Name: "shared", Namespace: ptr.To(gatewayv1.Namespace(infra))}}
		Expect(k8sClient.Create(ctx, route)).To(Succeed())
		md := productionModelDeployment(ns, "fraud-scorer")
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key = objectKey(md)
	})

	It("fails tls on the Gateway's plain listener, and passes once the platform team adds HTTPS", func() {
		gw := sharedGateway(infra, gatewayv1.Listener{Name: "http", Port: 80, Protocol: gatewayv1.HTTPProtocolType,
			AllowedRoutes: &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: ptr.To(gatewayv1.NamespacesFromAll)}}})
		Expect(k8sClient.Create(ctx, gw)).To(Succeed())
		// Judged first without the Gateway (it does not exist), then again when it appears.
		Eventually(func() string { return itemOf(key, "tls")().Message }).
			Should(ContainSubstring("through Gateway " + infra + "/shared, which has no listener terminating TLS with a valid certificate: listener http (HTTP, port 80) is plain text"))
		Expect(itemOf(key, "tls")().Result).To(Equal(servingv1alpha1.CheckFail))
		Expect(itemOf(key, "tls")().Remediation).To(ContainSubstring("Ask the owner of Gateway " + infra + "/shared"))

		By("editing the Gateway in the other namespace: the model is judged again")
		Eventually(func() error {
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(gw), gw)).To(Succeed())
			gw.Spec.Listeners = []gatewayv1.Listener{httpsListener("", "wildcard")}
			return k8sClient.Update(ctx, gw)
		}).Should(Succeed())
		Eventually(func() servingv1alpha1.CheckResult { return itemOf(key, "tls")().Result }).Should(Equal(servingv1alpha1.CheckPass))
		Expect(itemOf(key, "tls")().Message).To(Equal("TLS is terminated by Gateway " + infra + "/shared listener https (Secret " + infra + "/wildcard, not read)"))
	})

	It("fails tls when the Gateway has not accepted the route, naming the reason", func() {
		Expect(k8sClient.Create(ctx, sharedGateway(infra, httpsListener("", "wildcard")))).To(Succeed())
		Eventually(func() servingv1alpha1.CheckResult { return itemOf(key, "tls")().Result }).Should(Equal(servingv1alpha1.CheckPass))

		By("the Gateway's implementation refusing the route in its status")
		Eventually(func() error {
			route := routeOf(types.NamespacedName{Namespace: ns, Name: "fraud"})
			route.Status.Parents = []gatewayv1.RouteParentStatus{{
				ParentRef:      gatewayv1.ParentReference{Name: "shared", Namespace: ptr.To(gatewayv1.Namespace(infra))},
				ControllerName: "example.com/gateway-controller",
				Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionFalse, Reason: "NotAllowedByListeners",
					Message: "no listener allows routes from this namespace", LastTransitionTime: metav1.Now(), ObservedGeneration: route.Generation}},
			}}
			return k8sClient.Status().Update(ctx, route)
		}).Should(Succeed())
		Eventually(func() servingv1alpha1.CheckResult { return itemOf(key, "tls")().Result }).Should(Equal(servingv1alpha1.CheckFail))
		Expect(itemOf(key, "tls")().Message).To(ContainSubstring("which has not accepted the route: Accepted=False (reason NotAllowedByListeners)"))
	})

	It("judges a certificate in a third namespace by the ReferenceGrant there, without reading it", func() {
		certs := newNamespace()
		Expect(k8sClient.Create(ctx, sharedGateway(infra, httpsListener(certs, "wildcard")))).To(Succeed())
		Eventually(func() string { return itemOf(key, "tls")().Message }).
			Should(ContainSubstring("names Secret " + certs + "/wildcard, and no ReferenceGrant in namespace " + certs + " lets Gateways of namespace " + infra + " use it"))
		Expect(itemOf(key, "tls")().Result).To(Equal(servingv1alpha1.CheckFail))

		By("granting the Gateways of the infrastructure namespace the certificate: the model is judged again")
		Expect(k8sClient.Create(ctx, &gatewayv1.ReferenceGrant{
			ObjectMeta: metav1.ObjectMeta{Namespace: certs, Name: "gateways-use-wildcard"},
			Spec: gatewayv1.ReferenceGrantSpec{
				From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "Gateway", Namespace: gatewayv1.Namespace(infra)}},
				To:   []gatewayv1.ReferenceGrantTo{{Group: "", Kind: "Secret", Name: ptr.To[gatewayv1.ObjectName]("wildcard")}},
			},
		})).To(Succeed())
		Eventually(func() servingv1alpha1.CheckResult { return itemOf(key, "tls")().Result }).Should(Equal(servingv1alpha1.CheckPass))
		Expect(itemOf(key, "tls")().Message).To(ContainSubstring("Secret " + certs + "/wildcard, not read, ReferenceGrant " + certs + "/gateways-use-wildcard"))
	})
})
