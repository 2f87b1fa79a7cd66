package integration

import (
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/test/bars"
)

// productionModelDeployment passes every production checklist item once the
// objects of productionSurroundings exist: artifact and registry answer (the
// suite's httptest servers), the model card, docs, probes, resources,
// security context, a pinned image, spread, monitoring.
func productionModelDeployment(ns, name string) *servingv1alpha1.ModelDeployment {
	md := &servingv1alpha1.ModelDeployment{}
	u := withOverlay(ns, fmt.Sprintf(`
metadata: {name: %[1]s}
spec:
  model:
    name: %[1]s
    version: 1.0.0
    uri: %[2]s/models/%[1]s/1.0.0/model.bin
    registry: {url: %[3]q, version: "3"}
    modelCard: {configMapRef: {name: %[1]s-card}}
    evaluation: {accuracy: "0.95"}
  documentation: {runbook: "https://wiki.example/%[1]s/runbook", rollbackProcedure: "https://wiki.example/%[1]s/rollback"}
  replicas: 2
  service: {port: 8080, metricsPort: 9090}
  checklist: {profile: production, minimumEvaluation: {accuracy: "0.9"}}
  analysis: {prometheus: {address: "http://prometheus.monitoring:9090"}, triggers: {errorRate: {maxPercent: "5"}, latencyP95: {maxMilliseconds: 300}}}
  template:
    spec:
      securityContext: {runAsNonRoot: true}
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app.kubernetes.io/name: %[1]s}}}
      containers:
      - name: server
        image: registry.example/ml/server@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]
        readinessProbe: {httpGet: {path: /readyz, port: http}}
        livenessProbe: {httpGet: {path: /healthz, port: http}}
        resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: "1", memory: 512Mi}}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true}
`, name, artifactServer.URL, registryServer.URL))
	Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, md)).To(Succeed())
	return md
}

// productionSurroundings are the objects production asks for around the pods,
// but the PodDisruptionBudget.
func productionSurroundings(ns, name string) {
	GinkgoHelper()
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}}
	for _, o := range []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name + "-card", Namespace: ns}, Data: map[string]string{
			"card.md": "# Model Details\nA gradient-boosted fraud scorer.\n# Intended Use\nCard payments.\n# Training Data\nQ1 transactions.\n# Evaluation\nAUC 0.97.\n# Limitations\nNot for wire transfers.\n",
		}},
		&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "serving.modelgate.dev/v1alpha1", Kind: "ModelDeployment", Name: name},
			MinReplicas:    ptr.To[int32](2), MaxReplicas: 10,
		}},
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name + "-ingress", Namespace: ns}, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: *selector, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "payments"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(8080))}},
			}},
		}},
	} {
		Expect(k8sClient.Create(ctx, o)).To(Succeed())
	}
}

func pdbFor(ns, name string) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: policyv1.PodDisruptionBudgetSpec{
		MaxUnavailable: ptr.To(intstr.FromInt32(1)),
		Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}},
	}}
}

func checklistItem(md *servingv1alpha1.ModelDeployment, id string) servingv1alpha1.ChecklistItemStatus {
	GinkgoHelper()
	Expect(md.Status.Checklist).NotTo(BeNil())
	for _, it := range md.Status.Checklist.Items {
		if it.ID == id {
			return it
		}
	}
	Fail("no checklist item " + id)
	return servingv1alpha1.ChecklistItemStatus{}
}

// itemResults are the checklist's results by id, for one readable assertion.
func itemResults(md *servingv1alpha1.ModelDeployment) map[string]servingv1alpha1.CheckResult {
	out := map[string]servingv1alpha1.CheckResult{}
	if md.Status.Checklist != nil {
		for _, it := range md.Status.Checklist.Items {
			out[it.ID] = it.Result
		}
	}
	return out
}

func deploymentOf(ns, name, version string) types.NamespacedName {
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: name}}
	return types.NamespacedName{Namespace: ns, Name: desiredstate.DeploymentName(md, version)}
}

var _ = Describe("The readiness checklist", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("holds a production version without a PodDisruptionBudget in Verifying, then lets it through once one is applied", func() {
		productionSurroundings(ns, "fraud-scorer")
		md := productionModelDeployment(ns, "fraud-scorer")
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)

		By("failing pdb and nothing else, with no pods and no traffic")
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseVerifying))
		cur := getMD(key)
		for id, result := range itemResults(cur) {
			if id == "pdb" {
				Expect(result).To(Equal(servingv1alpha1.CheckFail))
				continue
			}
			Expect(result).To(Or(Equal(servingv1alpha1.CheckPass), Equal(servingv1alpha1.CheckSkipped)),
				"%s: %s", id, checklistItem(cur, id).Message)
		}
		Expect(checklistItem(cur, "pdb").Remediation).NotTo(BeEmpty())
		cond := meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionChecklistPassed)
		Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		Expect(cond.Message).To(ContainSubstring("blocked by pdb"))
		Expect(kstatusOf(key)).To(Equal(kstatus.FailedStatus), "the user must act: GitOps tools show it as failed")
		Expect(cur.Status.Checklist.Summary).To(MatchRegexp(`^\d+/\d+$`))

		dep := &appsv1.Deployment{}
		// The decision is recorded in status before it is applied.
		Eventually(func() error { return k8sClient.Get(ctx, deploymentOf(ns, md.Name, "1.0.0"), dep) }).Should(Succeed())
		Expect(*dep.Spec.Replicas).To(BeZero())
		Expect(dep.Generation).To(BeEquivalentTo(1), "created without pods and never scaled up while blocked")
		Eventually(func() []string { return eventReasons(ns, md.Name) }).Should(ContainElement("ChecklistChanged"))
		// The metric follows the status in the manager's cache.
		Eventually(func() float64 { return metricValue("fraud-scorer", ns, "pdb", "Fail") }).Should(Equal(1.0))

		By("applying the missing PodDisruptionBudget")
		Expect(k8sClient.Create(ctx, pdbFor(ns, md.Name))).To(Succeed())
		Eventually(func() bool {
			return meta.IsStatusConditionTrue(getMD(key).Status.Conditions, servingv1alpha1.ConditionChecklistPassed)
		}).Should(BeTrue())
		Eventually(func() int32 {
			Expect(k8sClient.Get(ctx, deploymentOf(ns, md.Name, "1.0.0"), dep)).To(Succeed())
			return *dep.Spec.Replicas
		}).Should(BeEquivalentTo(2))
		playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
		Eventually(func() kstatus.Status { return kstatusOf(key) }).Should(Equal(kstatus.CurrentStatus))
		Expect(checklistItem(getMD(key), "pdb").Result).To(Equal(servingv1alpha1.CheckPass))
		// The metric follows the status write that the test saw.
		Eventually(func() float64 { return metricValue("fraud-scorer", ns, "pdb", "Pass") }).Should(Equal(1.0))
		Expect(metricValue("fraud-scorer", ns, "pdb", "Fail")).To(BeZero(), "the old series is gone")
	})

	It("lets a failing item through when an override turns it to Warn, and shows the reason", func() {
		productionSurroundings(ns, "churn")
		md := productionModelDeployment(ns, "churn")
		md.Spec.Checklist.Overrides = []servingv1alpha1.ChecklistOverride{{ID: "pdb", Severity: servingv1alpha1.SeverityWarn, Reason: "the batch tier tolerates disruption"}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		Eventually(func() bool {
			return meta.IsStatusConditionTrue(getMD(key).Status.Conditions, servingv1alpha1.ConditionChecklistPassed)
		}).Should(BeTrue())
		item := checklistItem(getMD(key), "pdb")
		Expect(item.Result).To(Equal(servingv1alpha1.CheckWarn))
		Expect(item.Severity).To(Equal(servingv1alpha1.SeverityWarn))
		Expect(item.OverrideReason).To(Equal("the batch tier tolerates disruption"))
		Expect(getMD(key).Status.Checklist.Warnings).To(BeNumerically(">=", 1))
		playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
	})

	It("blocks a version whose Secret lacks a referenced key until the key is there", func() {
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
			Data: map[string][]byte{"user": []byte("scorer")}})).To(Succeed())
		md := newModelDeployment(ns, "1.0.0", 1)
		md.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseVerifying))
		item := checklistItem(getMD(key), "secrets")
		Expect(item.Result).To(Equal(servingv1alpha1.CheckFail))
		Expect(item.Message).To(And(ContainSubstring("db"), ContainSubstring("password")))
		Expect(item.Message).NotTo(ContainSubstring("scorer"), "a Secret's value never shows")

		secret := &corev1.Secret{}
		Expect(k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db"}, secret)).To(Succeed())
		secret.Data["password"] = []byte("s3cret")
		Expect(k8sClient.Update(ctx, secret)).To(Succeed())
		Eventually(func() servingv1alpha1.CheckResult { return checklistItem(getMD(key), "secrets").Result }).Should(Equal(servingv1alpha1.CheckPass))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseProgressing))
	})

	It("fails model-card when the card's URL answers 404, naming the status, and holds the version", func() {
		productionSurroundings(ns, "fraud-scorer")
		Expect(k8sClient.Create(ctx, pdbFor(ns, "fraud-scorer"))).To(Succeed())
		md := productionModelDeployment(ns, "fraud-scorer")
		md.Spec.Model.ModelCard = &servingv1alpha1.ModelCardRef{URL: servingv1alpha1.URL(artifactServer.URL + "/cards/fraud-scorer.md")}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		Eventually(func() servingv1alpha1.CheckResult { return itemResults(getMD(key))["model-card"] }).Should(Equal(servingv1alpha1.CheckFail))
		Expect(checklistItem(getMD(key), "model-card").Message).To(HaveSuffix("/cards/fraud-scorer.md was not found: " +
			strings.TrimPrefix(artifactServer.URL, "https://") + " answered HTTP 404 Not Found"))
		Expect(getMD(key).Status.Phase).To(Equal(servingv1alpha1.PhaseVerifying), "a missing card blocks, not waits")
	})

	It("blocks a version whose analysis names a Prometheus token Secret that does not exist, until it does", func() {
		md := newModelDeployment(ns, "1.0.0", 1)
		md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{Prometheus: &servingv1alpha1.PrometheusSpec{
			Address:              "http://prometheus.monitoring:9090",
			BearerTokenSecretRef: &servingv1alpha1.SecretKeyReference{Name: "prometheus-token", Key: "token"},
		}}
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		Eventually(func() servingv1alpha1.CheckResult { return itemResults(getMD(key))["secrets"] }).Should(Equal(servingv1alpha1.CheckFail))
		Expect(checklistItem(getMD(key), "secrets").Message).To(Equal(
			`Secret "prometheus-token" referenced by spec.analysis.prometheus.bearerTokenSecretRef was not found`))
		Expect(getMD(key).Status.Phase).To(Equal(servingv1alpha1.PhaseVerifying))

		token := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-token", Namespace: ns},
			Data: map[string][]byte{"token": []byte("t0ken")}}
		Expect(k8sClient.Create(ctx, token)).To(Succeed())
		Eventually(func() string { return checklistItem(getMD(key), "secrets").Message }).Should(Equal(
			`Secret "prometheus-token" referenced by spec.analysis.prometheus.bearerTokenSecretRef is not labelled serving.modelgate.dev/manager-readable=true, so modelgate will not read it`))

		By("opting the Secret in to being read by modelgate")
		token.Labels = map[string]string{servingv1alpha1.LabelManagerReadable: "true"}
		Expect(k8sClient.Update(ctx, token)).To(Succeed())
		Eventually(func() servingv1alpha1.CheckResult { return itemResults(getMD(key))["secrets"] }).Should(Equal(servingv1alpha1.CheckPass))
		Expect(checklistItem(getMD(key), "secrets").Message).NotTo(ContainSubstring("t0ken"))
	})

	It("lets a bare template through with the development profile, and still shows the whole checklist", func() {
		md := newModelDeployment(ns, "0.1.0", 1)
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		playDeploymentController(deploymentOf(ns, md.Name, "0.1.0"))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		cur := getMD(key)
		Expect(cur.Status.Checklist.Items).To(HaveLen(len(checklist.Catalogue())))
		Expect(checklistItem(cur, "pdb").Result).To(Equal(servingv1alpha1.CheckSkipped), "off in development")
		Expect(checklistItem(cur, "probes").Result).To(Equal(servingv1alpha1.CheckWarn), "a bare template has no probes: a warning in development")
		Expect(meta.IsStatusConditionTrue(cur.Status.Conditions, servingv1alpha1.ConditionChecklistPassed)).To(BeTrue())
	})

	It("judges 300 ModelDeployments created at once", func() {
		const n = 300
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				md := newModelDeployment(ns, "1.0.0", 1)
				md.Name = fmt.Sprintf("model-%03d", i)
				errs <- k8sClient.Create(ctx, md)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			Expect(err).NotTo(HaveOccurred())
		}
		items := len(checklist.Catalogue())
		Eventually(func() int {
			var list servingv1alpha1.ModelDeploymentList
			Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			complete := 0
			for i := range list.Items {
				if c := list.Items[i].Status.Checklist; c != nil && len(c.Items) == items {
					complete++
				}
			}
			return complete
		}, "120s", "500ms").Should(Equal(n))
		bars.Record("integration", "ChecklistFor300ModelDeployments", time.Since(start).Seconds(), "s")
	})
})

// metricValue reads modelgate_checklist_result for one item and result from
// the manager's registry, as Prometheus would scrape it.
func metricValue(name, ns, check, result string) float64 {
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "modelgate_checklist_result" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["modeldeployment"] == name && labels["namespace"] == ns && labels["check"] == check && labels["result"] == result {
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}
