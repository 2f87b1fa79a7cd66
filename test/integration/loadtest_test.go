package integration

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/internal/loadtest"
)

// endpointServer serves handler on an address an EndpointSlice may hold: the
// API server refuses loopback addresses in endpoints, so it listens on one of
// this machine's other addresses.
func endpointServer(handler http.Handler) *httptest.Server {
	GinkgoHelper()
	addrs, err := net.InterfaceAddrs()
	Expect(err).NotTo(HaveOccurred())
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok || ipnet.IP.IsLoopback() || ipnet.IP.To4() == nil || !ipnet.IP.IsGlobalUnicast() {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort(ipnet.IP.String(), "0"))
		if err != nil {
			continue
		}
		srv := httptest.NewUnstartedServer(handler)
		srv.Listener = l
		srv.Start()
		DeferCleanup(srv.Close)
		return srv
	}
	Fail("this machine has no IPv4 address but loopback for a test endpoint")
	return nil
}

// candidatePod plays the Deployment controller and the kubelet for the
// candidate at version: a pod of its template, running at srv's address.
func candidatePod(ns, md, version string, srv *httptest.Server) *corev1.Pod {
	GinkgoHelper()
	host, _, err := net.SplitHostPort(srv.Listener.Addr().String())
	Expect(err).NotTo(HaveOccurred())
	dep := &appsv1.Deployment{}
	Expect(k8sClient.Get(ctx, deploymentOf(ns, md, version), dep)).To(Succeed())
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: dep.Name + "-x1", Labels: dep.Spec.Template.Labels},
		Spec:       dep.Spec.Template.Spec,
	}
	Expect(k8sClient.Create(ctx, pod)).To(Succeed())
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: host, PodIPs: []corev1.PodIP{{IP: host}}}
	Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
	return pod
}

// endpointSlice writes an EndpointSlice of <md>-candidate whose one ready
// endpoint is at srv's address, with targetRef naming pod; managed says
// whether it carries the EndpointSlice controller's label.
func endpointSlice(ns, md, name string, srv *httptest.Server, pod string, managed bool) {
	GinkgoHelper()
	host, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	Expect(err).NotTo(HaveOccurred())
	p, err := strconv.Atoi(port)
	Expect(err).NotTo(HaveOccurred())
	// The EndpointSlice controller copies its Service's labels onto the
	// slices (the manager caches only slices with modelgate's); one made by
	// hand may copy them too.
	labels := map[string]string{discoveryv1.LabelServiceName: md + "-candidate",
		desiredstate.LabelName: md, desiredstate.LabelManagedBy: desiredstate.ManagedByValue}
	if managed {
		labels[discoveryv1.LabelManagedBy] = loadtest.EndpointSliceControllerName
	}
	Expect(k8sClient.Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod}}},
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(p))}},
	})).To(Succeed())
}

// candidateEndpoint plays the EndpointSlice controller (envtest runs none)
// for <md>-candidate at version: its one ready endpoint is srv, a real HTTP
// server on this machine, standing for a pod of the candidate.
func candidateEndpoint(ns, md, version string, srv *httptest.Server) {
	GinkgoHelper()
	pod := candidatePod(ns, md, version, srv)
	endpointSlice(ns, md, md+"-candidate-x", srv, pod.Name, true)
}

var _ = Describe("Smoke and load tests", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	// tested is a ModelDeployment at version, deployed, whose one-step canary
	// declares a smoke test and a load test.
	tested := func(version string) *servingv1alpha1.ModelDeployment {
		md := newModelDeployment(ns, version, 2)
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
			Steps: []servingv1alpha1.CanaryStep{{Weight: 50, Pause: &servingv1alpha1.Pause{}}},
		}}
		md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{
			SmokeTest: &servingv1alpha1.SmokeTestSpec{Requests: []servingv1alpha1.SmokeRequest{{
				Method: "POST", Path: "/predict", Body: `{"amount": 120.5}`, ExpectedStatus: 200,
				ExpectedFields: []servingv1alpha1.ExpectedField{{Path: "prediction"}},
			}}},
			LoadTest: &servingv1alpha1.LoadTestSpec{RPS: 50, Duration: &metav1.Duration{Duration: time.Second}, Path: "/predict",
				Body: `{"amount": 120.5}`, MaxP95Milliseconds: ptr.To[int32](200), MaxErrorPercent: "1"},
		}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		playDeploymentController(deploymentOf(ns, md.Name, version))
		Eventually(func() servingv1alpha1.Phase { return getMD(objectKey(md)).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		return md
	}

	It("keeps the candidate out of user traffic until its tests pass, and records the load test's figures", func() {
		var requests atomic.Int64
		srv := endpointServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"prediction": 0, "probability": 0.07}`))
		}))
		md := tested("1.0.0")
		key := objectKey(md)

		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		candidate := deploymentOf(ns, md.Name, "1.1.0")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		Eventually(serviceSelector(ns, md.Name)).Should(HaveKeyWithValue("serving.modelgate.dev/version", "1.0.0"), "<name> leaves the candidate out")
		playDeploymentController(candidate)
		Eventually(readyReason(key)).Should(Equal("Testing"))
		Expect(getMD(key).Status.Candidate.Weight).To(BeZero())
		candidateEndpoint(ns, md.Name, "1.1.0", srv)

		Eventually(readyReason(key), "30s").Should(Equal("WaitingForPromote"))
		lt := getMD(key).Status.LoadTest
		Expect(lt).NotTo(BeNil())
		Expect(lt.Version).To(Equal("1.1.0"))
		Expect(lt.Verdict).To(Equal(servingv1alpha1.VerdictPass))
		Expect(lt.TargetRPS).To(BeEquivalentTo(50))
		Expect(lt.Requests).To(BeNumerically(">=", 45))
		Expect(lt.P95Ms).NotTo(BeEmpty())
		Expect(requests.Load()).To(BeNumerically(">=", lt.Requests), "every request went to the candidate's endpoint")
		Expect(getMD(key).Status.Candidate.Weight).To(BeEquivalentTo(50))
		// Status records the decision before the Services are patched: wait for them.
		Eventually(serviceSelector(ns, md.Name)).ShouldNot(HaveKey("serving.modelgate.dev/version"), "the candidate joins <name> at its weight")
	})

	It("rolls back a candidate that fails its smoke test, saying what failed", func() {
		srv := endpointServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error": "model not loaded"}`, http.StatusInternalServerError)
		}))
		md := tested("1.0.0")
		key := objectKey(md)
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		candidate := deploymentOf(ns, md.Name, "1.1.0")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		candidateEndpoint(ns, md.Name, "1.1.0", srv)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }, "30s").Should(Equal(servingv1alpha1.PhaseRolledBack))
		Expect(condition(key, servingv1alpha1.ConditionRolledBack)()).To(And(HavePrefix("True/SmokeTestFailed: Version 1.1.0 was rolled back:"), ContainSubstring("500")))
		Expect(getMD(key).Status.History[0].Reason).To(Equal("SmokeTestFailed"))
	})

	It("tests only the candidate's own pods: EndpointSlices made by hand are ignored", func() {
		var served, baited atomic.Int64
		srv := endpointServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"prediction": 0, "probability": 0.07}`))
		}))
		bait := endpointServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			baited.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"prediction": 0, "probability": 0.07}`))
		}))
		md := tested("1.0.0")
		key := objectKey(md)
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		candidate := deploymentOf(ns, md.Name, "1.1.0")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(readyReason(key)).Should(Equal("Testing"))

		By("a user's slices, labelled with the candidate's Service name, one also with the EndpointSlice controller's name")
		pod := candidatePod(ns, md.Name, "1.1.0", srv)
		endpointSlice(ns, md.Name, "forged-unmanaged", bait, pod.Name, false)
		endpointSlice(ns, md.Name, "forged-managed", bait, "not-a-candidate-pod", true)

		By("the EndpointSlice controller's slice of the candidate's pod, seen by the manager after the forged ones")
		endpointSlice(ns, md.Name, md.Name+"-candidate-x", srv, pod.Name, true)
		Eventually(readyReason(key), "30s").Should(Equal("WaitingForPromote"))
		Expect(served.Load()).To(BeNumerically(">", 0))
		Expect(baited.Load()).To(BeZero(), "the forged slices, there all along, were never tested")
	})
})
