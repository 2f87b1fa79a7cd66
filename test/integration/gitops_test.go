package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/test/gitops"
)

// gitopsFixtures is where UPDATE_GITOPS_FIXTURES=1 writes the statuses this
// story sees, for test/gitops's table.
var gitopsFixtures = filepath.Join("..", "gitops", "testdata")

var _ = Describe("GitOps health checks", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	// judge runs Argo CD's Lua and Flux's CEL on the ModelDeployment as the
	// API server holds it, holds both to kstatus and to the health wanted,
	// and writes the object as a fixture when asked.
	judge := func(key types.NamespacedName, fixture, wantArgo string) {
		GinkgoHelper()
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(servingv1alpha1.GroupVersion.WithKind("ModelDeployment"))
		Expect(k8sClient.Get(ctx, key, u)).To(Succeed())
		argo, msg, err := gitops.ArgoHealth(u.Object)
		Expect(err).NotTo(HaveOccurred())
		flux, err := gitops.FluxHealth(u.Object)
		Expect(err).NotTo(HaveOccurred())
		ks, err := gitops.Kstatus(u.Object)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("%s: Argo CD %s (%s), Flux %s, kstatus %s\n", fixture, argo, msg, flux, ks)
		Expect(argo).To(Equal(wantArgo), "Argo CD's health of %s: %s", fixture, msg)
		Expect(gitops.ArgoAsKstatus[argo]).To(Equal(ks), "Argo CD agrees with kstatus")
		Expect(flux).To(Equal(ks), "Flux agrees with kstatus")
		if os.Getenv("UPDATE_GITOPS_FIXTURES") != "" {
			writeFixture(u, fixture)
		}
	}

	It("reads a canary as Healthy, Progressing, Suspended at a paused step and Degraded once rolled back, as kstatus does", func() {
		md := newModelDeployment(ns, "1.0.0", 4)
		md.Name = "canary"
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
			Steps: []servingv1alpha1.CanaryStep{{Weight: 25}, {Weight: 50, Pause: &servingv1alpha1.Pause{}}},
		}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		stable, candidate := deploymentOf(ns, md.Name, "1.0.0"), deploymentOf(ns, md.Name, "1.1.0")
		playDeploymentController(stable)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		judge(key, "healthy", gitops.Healthy)

		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseProgressing))
		judge(key, "progressing", gitops.Progressing)

		playDeploymentController(candidate)
		Eventually(func() int64 { return int64(getMD(key).Status.Candidate.Step) }).Should(BeEquivalentTo(1))
		// Step 2 (50%) sizes the candidate at two of four pods before they come up.
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(2))
		playDeploymentController(candidate)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhasePaused))
		judge(key, "suspended-paused", gitops.Suspended)

		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			metav1.SetMetaDataAnnotation(&cur.ObjectMeta, servingv1alpha1.AnnotationAbort, "p95 doubled")
		})
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		judge(key, "degraded-rolled-back", gitops.Degraded)
	})

	It("reads a version awaiting approval as Suspended and a failing checklist as Degraded, as kstatus does", func() {
		md := newModelDeployment(ns, "2.3.0", 2)
		md.Name = "approval"
		md.Spec.Approvals = &servingv1alpha1.ApprovalsSpec{Required: []servingv1alpha1.RequiredApproval{{Role: "product-owner", Groups: []string{"po"}}}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		Eventually(func() servingv1alpha1.Phase { return getMD(objectKey(md)).Status.Phase }).Should(Equal(servingv1alpha1.PhaseAwaitingApproval))
		judge(objectKey(md), "suspended-awaiting-approval", gitops.Suspended)

		// Production without its PodDisruptionBudget, model card or probes.
		blocked := productionModelDeployment(ns, "blocked")
		Expect(k8sClient.Create(ctx, blocked)).To(Succeed())
		Eventually(func() servingv1alpha1.Phase { return getMD(objectKey(blocked)).Status.Phase }).Should(Equal(servingv1alpha1.PhaseVerifying))
		judge(objectKey(blocked), "stalled-checklist", gitops.Degraded)
	})
})

// writeFixture keeps what the health checks read, without what changes from
// run to run.
func writeFixture(u *unstructured.Unstructured, name string) {
	GinkgoHelper()
	o := u.DeepCopy()
	o.SetManagedFields(nil)
	o.SetUID("")
	o.SetResourceVersion("")
	o.SetCreationTimestamp(metav1.Time{})
	o.SetNamespace("models")
	b, err := yaml.Marshal(o.Object)
	Expect(err).NotTo(HaveOccurred())
	header := fmt.Sprintf("# The status the real reconciler wrote on envtest, in test/integration/gitops_test.go\n"+
		"# (UPDATE_GITOPS_FIXTURES=1 make test-integration TEST_FLAGS='-run TestIntegration -ginkgo.focus=GitOps'):\n# %s.\n",
		strings.TrimSpace(CurrentSpecReport().LeafNodeText))
	Expect(os.WriteFile(filepath.Join(gitopsFixtures, name+".yaml"), append([]byte(header), b...), 0o600)).To(Succeed())
}
