package integration

import (
	"fmt"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/test/bars"
)

// scaleModelDeployment is the ModelDeployment of make bench-scale
// (test/scale): four replicas, a one-step 50% canary without a router.
func scaleModelDeployment(ns, name, version string) *servingv1alpha1.ModelDeployment {
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	md.Spec.Model = servingv1alpha1.ModelSpec{Name: name, Version: version, URI: fmt.Sprintf("pvc://models/%s/%s", name, version)}
	md.Spec.Replicas = ptr.To[int32](4)
	md.Spec.Checklist.Profile = servingv1alpha1.ProfileDevelopment
	md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary,
		Canary: &servingv1alpha1.CanaryStrategy{Steps: []servingv1alpha1.CanaryStep{{Weight: 50}}}}
	md.Spec.Template.Spec.Containers = []corev1.Container{{Name: "server", Image: "registry.example/ml/server:1.0"}}
	return md
}

// playDeployments plays the Deployment controller for every Deployment of a
// namespace whose pods are not all available yet, and reports whether there
// was none.
func playDeployments(g Gomega, ns string) bool {
	var list appsv1.DeploymentList
	g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	settled := true
	for i := range list.Items {
		dep := &list.Items[i]
		if dep.Status.ObservedGeneration == dep.Generation && dep.Status.AvailableReplicas == ptr.Deref(dep.Spec.Replicas, 1) {
			continue
		}
		settled = false
		playDeploymentController(objectKey(dep))
	}
	return settled
}

// deploymentWrites are the writes of Deployments among requests, as
// "VERB name" (a creation names none: the name is in its body).
func deploymentWrites(qs []apiRequest) []string {
	var out []string
	for _, q := range writes(qs) {
		if q.Resource == "deployments" {
			out = append(out, q.Verb+" "+q.Name)
		}
	}
	return out
}

// quiet waits until the manager has sent nothing to ns for a second, and
// returns all it sent.
func quiet(ns string) []apiRequest {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		n := len(managerRequests.of(ns))
		g.Consistently(func() int { return len(managerRequests.of(ns)) }, time.Second, 100*time.Millisecond).Should(Equal(n))
	}).Should(Succeed())
	return managerRequests.of(ns)
}

var _ = Describe("The manager's writes", func() {
	It("writes each Deployment once per step of a one-step canary, and counts the requests of a ModelDeployment created and updated", func() {
		ns := newNamespace()
		md := scaleModelDeployment(ns, "scorer", "1.0.0")
		stable, candidate := deploymentOf(ns, md.Name, "1.0.0"), deploymentOf(ns, md.Name, "2.0.0")
		key := objectKey(md)
		settledAt := func(version string) func(Gomega) {
			return func(g Gomega) {
				g.Expect(playDeployments(g, ns)).To(BeTrue())
				cur := getMD(key)
				g.Expect(cur.Status.ObservedGeneration).To(Equal(cur.Generation))
				g.Expect(cur.Status.Phase).To(Equal(servingv1alpha1.PhaseSucceeded))
				g.Expect(cur.Status.Stable.Version).To(Equal(version))
				var list appsv1.DeploymentList
				g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
				g.Expect(list.Items).To(HaveLen(1))
			}
		}

		By("creating it: the Deployment is written once, at its full size")
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		Eventually(func() int64 { return getMD(key).Status.ObservedGeneration }).Should(BeEquivalentTo(1))
		Expect(replicasOf(stable)()).To(BeEquivalentTo(4))
		Eventually(settledAt("1.0.0")).Should(Succeed())
		created := quiet(ns)
		Expect(deploymentWrites(created)).To(Equal([]string{"POST "}), "%v", created)

		By("updating it, step 1 at 50%: the candidate created at its step's size, the stable version not written")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			cur.Spec.Model.Version = "2.0.0"
			cur.Spec.Model.URI = "pvc://models/scorer/2.0.0"
		})
		Eventually(func() int64 { return getMD(key).Status.ObservedGeneration }).Should(BeEquivalentTo(2))
		Expect(replicasOf(candidate)()).To(BeEquivalentTo(2))
		Expect(replicasOf(stable)()).To(BeEquivalentTo(4))
		step := quiet(ns)[len(created):]
		Expect(deploymentWrites(step)).To(Equal([]string{"POST "}), "%v", step)

		By("promoting: the candidate resized once, the stable version deleted once")
		Eventually(settledAt("2.0.0")).Should(Succeed())
		all := quiet(ns)
		promotion := all[len(created)+len(step):]
		Expect(deploymentWrites(promotion)).To(ConsistOf("PATCH "+candidate.Name, "DELETE "+stable.Name), "%v", promotion)
		for _, q := range promotion {
			if q.Verb == http.MethodPatch && q.Resource == "deployments" {
				Expect(q.Body).To(MatchJSON(`{"spec":{"replicas":4}}`))
			}
		}

		updated := all[len(created):]
		GinkgoWriter.Printf("Created: %v\nUpdated: %v\n", created, updated)
		for _, q := range all {
			Expect(q.Code).To(BeNumerically("<", 300), "no request refused (a conflict, a creation of what exists): %v", q)
		}
		// Every request is a write: reads are served by the cache.
		Expect(writes(all)).To(HaveLen(len(all)))
		bars.Record("integration", "ManagerRequestsPerModelDeploymentCreated", float64(len(created)), "requests")
		bars.Record("integration", "ManagerRequestsPerModelDeploymentUpdated", float64(len(updated)), "requests")
		bars.Record("integration", "DeploymentWritesPerOneStepCanary", float64(len(deploymentWrites(updated))), "writes")
		// A status write, the Deployment, the Service, the revision, a status
		// write with the Deployment's progress and observedGeneration, the
		// status write of Ready, the revision marked promoted: 7 writes and
		// 3 events (RolloutStarted, ChecklistChanged, Promoted).
		Expect(len(created)).To(BeNumerically("<=", 10), "%v", created)
		// The same for the update, with a status write when step 1 is done
		// and the candidate resized, and the old Deployment deleted.
		Expect(len(updated)).To(BeNumerically("<=", 12), "%v", updated)
	})
})
