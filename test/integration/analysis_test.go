package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/test/bars"
)

// metricsAPI speaks Prometheus' query API with the values a story sets, by
// metric name and version: the operator's real client queries it over HTTP.
// A version such as 1.0.0_.0a1b2c3d is a later revision of 1.0.0, which
// the model server labels revision="1.0.0_.0a1b2c3d" (selects).
type metricsAPI struct {
	mu      sync.Mutex
	values  map[string]string // "metric@version" -> value; absent means no series
	hists   map[string]string // "metric@version" -> the series of a histogram, by le
	queries int
	srv     *httptest.Server
}

func newMetricsAPI() *metricsAPI {
	m := &metricsAPI{values: map[string]string{}, hists: map[string]string{}}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		q := r.Form.Get("query")
		m.mu.Lock()
		defer m.mu.Unlock()
		m.queries++
		w.Header().Set("Content-Type", "application/json")
		for key, series := range m.hists {
			metric, version, _ := strings.Cut(key, "@")
			if strings.Contains(q, metric) && selects(q, version) {
				_, _ = fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[%s]}}`, series)
				return
			}
		}
		// The longest metric that matches answers, so that a story can set a
		// query apart from others it is a part of.
		best, value := "", ""
		for key, v := range m.values {
			metric, version, _ := strings.Cut(key, "@")
			if strings.Contains(q, metric) && selects(q, version) && len(metric) > len(best) {
				best, value = metric, v
			}
		}
		if best != "" {
			_, _ = fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,%q]}]}}`, time.Now().Unix(), value)
			return
		}
		_, _ = fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
	}))
	DeferCleanup(m.srv.Close)
	return m
}

// selects reports whether query q asks for the series of version: those
// of a later revision (1.0.0_.0a1b2c3d) carry it as their revision label;
// those of a first revision, its version label and none of a later one.
func selects(q, version string) bool {
	if strings.Contains(version, "_.") {
		return strings.Contains(q, fmt.Sprintf("revision=%q", version))
	}
	return strings.Contains(q, fmt.Sprintf("version=%q", version)) && !strings.Contains(q, fmt.Sprintf(`revision="%s_.`, version))
}

// asked is how many queries were sent.
func (m *metricsAPI) asked() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.queries
}

// set makes a query of metric for version answer value.
func (m *metricsAPI) set(metric, version, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[metric+"@"+version] = value
}

// setHistogram makes a histogram query of metric for version answer the
// cumulative counts given, one per le bound.
func (m *metricsAPI) setHistogram(metric, version string, buckets map[string]float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var series []string
	for le, n := range buckets {
		series = append(series, fmt.Sprintf(`{"metric":{"le":%q},"value":[%d,"%g"]}`, le, time.Now().Unix(), n))
	}
	m.hists[metric+"@"+version] = strings.Join(series, ",")
}

// analyzedCanary is 1.0.0 deployed on 2 pods, with a one-step canary analysed
// every second against a metrics API the story sets, and a bake if given.
func analyzedCanary(bake *metav1.Duration) (string, *metricsAPI, *servingv1alpha1.ModelDeployment) {
	GinkgoHelper()
	ns := newNamespace()
	prom := newMetricsAPI()
	md := newModelDeployment(ns, "1.0.0", 2)
	md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{
		Steps: []servingv1alpha1.CanaryStep{{Weight: 50}},
	}}
	md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{
		Interval:      &metav1.Duration{Duration: time.Second},
		Prometheus:    &servingv1alpha1.PrometheusSpec{Address: servingv1alpha1.URL(prom.srv.URL)},
		Triggers:      &servingv1alpha1.TriggersSpec{ErrorRate: &servingv1alpha1.ErrorRateTrigger{MaxPercent: "5"}},
		MinSampleSize: 10, ConsecutiveErrorLimit: 4, NoData: servingv1alpha1.NoDataPause, Bake: bake,
	}
	Expect(k8sClient.Create(ctx, md)).To(Succeed())
	playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
	Eventually(func() servingv1alpha1.Phase { return getMD(objectKey(md)).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
	return ns, prom, md
}

var _ = Describe("Analysis during a canary", func() {
	It("moves on when live measurements pass, waits without enough requests, and rolls back on a breach", func() {
		ns, prom, md := analyzedCanary(nil)
		key := objectKey(md)

		By("promoting a version whose measurements pass")
		prom.set("increase(model_requests_total", "1.1.0", "240")
		prom.set(`code=~"5.."`, "1.1.0", "1.5")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		candidate := deploymentOf(ns, md.Name, "1.1.0")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(2), "a passing round ends the step")
		a := getMD(key).Status.Analysis
		Expect(a.Version).To(Equal("1.1.0"))
		Expect(a.LastRound.Verdict).To(Equal(servingv1alpha1.VerdictPass))
		Expect(a.Measurements).To(ContainElement(And(HaveField("Metric", "errorRate"), HaveField("Value", "1.5"), HaveField("Bound", "<= 5"),
			HaveField("Verdict", servingv1alpha1.VerdictPass))))
		playDeploymentController(candidate)
		Eventually(func() string { return getMD(key).Status.Stable.Version }).Should(Equal("1.1.0"))

		By("holding a version with too few requests to judge")
		prom.set("increase(model_requests_total", "1.2.0", "3")
		prom.set(`code=~"5.."`, "1.2.0", "33")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.2.0" })
		candidate = deploymentOf(ns, md.Name, "1.2.0")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(readyReason(key)).Should(Equal("Analyzing"))
		Eventually(func() string {
			return meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionReady).Message
		}).Should(ContainSubstring("3 requests in the window, fewer than minSampleSize 10"))
		Expect(getMD(key).Status.Phase).To(Equal(servingv1alpha1.PhaseProgressing), "never promoted without data")

		By("rolling it back by itself once the breach is measured")
		prom.set("increase(model_requests_total", "1.2.0", "500")
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		cur := getMD(key)
		rolledBack := meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionRolledBack)
		Expect(rolledBack.Reason).To(Equal("AnalysisFailed"))
		Expect(rolledBack.Message).To(ContainSubstring("errorRate of version 1.2.0 is 33, outside the bound <= 5"))
		Expect(cur.Status.History[0].Reason).To(Equal("AnalysisFailed"))
		Expect(cur.Status.Stable.Version).To(Equal("1.1.0"))
		Eventually(func() float64 {
			return counterValue("modelgate_rollbacks_total", ns, md.Name, "reason", "AnalysisFailed")
		}).Should(BeEquivalentTo(1))
		Expect(counterValue("modelgate_analysis_measurements_total", ns, md.Name, "verdict", "Breach")).To(BeNumerically(">=", 1))
		Eventually(replicasOf(candidate)).Should(Or(BeEquivalentTo(0), BeEquivalentTo(-1)))
		Eventually(func() []string { return eventReasons(ns, md.Name) }).Should(ContainElement("RolledBack"))

		By("having sent one query per metric and version of each round, no more")
		measured := func() int {
			var n float64
			for _, v := range []string{"Pass", "Breach", "NoData", "Error"} {
				n += counterValue("modelgate_analysis_measurements_total", ns, md.Name, "verdict", v)
			}
			return int(n)
		}
		Eventually(func() int { return prom.asked() - measured() }).Should(BeZero())
		Expect(prom.asked()).To(BeNumerically(">=", 6), "three rounds or more, of two queries each")
		bars.Record("integration", "AnalysisQueriesPerMeasurement", float64(prom.asked())/float64(measured()), "queries")
	})

	It("bakes a promoted version with the old one warm, and rolls back to it at once on a breach", func() {
		ns, prom, md := analyzedCanary(&metav1.Duration{Duration: time.Hour})
		key := objectKey(md)
		stable, candidate := deploymentOf(ns, md.Name, "1.0.0"), deploymentOf(ns, md.Name, "1.1.0")

		prom.set("increase(model_requests_total", "1.1.0", "300")
		prom.set(`code=~"5.."`, "1.1.0", "0.2")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(2))
		playDeploymentController(candidate)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseBaking))
		Expect(getMD(key).Status.Stable.Version).To(Equal("1.1.0"))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(2), "the replaced version is kept warm at full size")

		By("breaching during the bake")
		prom.set(`code=~"5.."`, "1.1.0", "40")
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		cur := getMD(key)
		Expect(cur.Status.Stable.Version).To(Equal("1.0.0"))
		Expect(cur.Status.Rejected.Version).To(Equal("1.1.0"))
		Expect(cur.Status.History[0].Reason).To(Equal("BakeFailed"))
		Expect(meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionRolledBack).Message).To(ContainSubstring("errorRate of version 1.1.0 is 40, outside the bound <= 5"))
		Eventually(replicasOf(candidate)).Should(Or(BeEquivalentTo(0), BeEquivalentTo(-1)))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(2), "the restored version serves at full size")
	})
})

var _ = Describe("Analysis of a changed template under the same version", func() {
	It("rolls back the new revision on its own error rate while the stable revision of the same version is healthy", func() {
		ns, prom, md := analyzedCanary(nil)
		key := objectKey(md)
		stable := deploymentOf(ns, md.Name, "1.0.0")
		prom.set("increase(model_requests_total", "1.0.0", "300")
		prom.set(`code=~"5.."`, "1.0.0", "0.5")

		By("changing the image under the same version, compared with the stable revision")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			cur.Spec.Template.Spec.Containers[0].Image += "-patched"
			cur.Spec.Checklist.Overrides = append(cur.Spec.Checklist.Overrides, servingv1alpha1.ChecklistOverride{
				ID: "hpa", Severity: servingv1alpha1.SeverityWarn, Reason: "told, not enforced, in this story"})
			cur.Spec.Analysis.Triggers.ErrorRate.StableComparison = servingv1alpha1.StableComparison{
				RelativeTo: servingv1alpha1.BaselineStable, MaxIncreasePercent: "100"}
		})
		var candidate types.NamespacedName
		Eventually(func() string {
			if c := getMD(key).Status.Candidate; c != nil {
				candidate = types.NamespacedName{Namespace: ns, Name: c.Deployment}
			}
			return candidate.Name
		}).Should(HavePrefix(stable.Name + "-"))
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		dep := getDeployment(candidate)
		revision := dep.Spec.Template.Labels[desiredstate.LabelVersion]
		Expect(revision).To(Equal("1.0.0_." + strings.TrimPrefix(candidate.Name, stable.Name+"-")))
		Expect(dep.Spec.Template.Spec.Containers[0].Env).To(ContainElement(corev1.EnvVar{Name: desiredstate.EnvModelRevision,
			ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['serving.modelgate.dev/version']"}}}),
			"its model server reports the revision its pods are labelled with")
		Expect(getDeployment(stable).Spec.Template.Spec.Containers[0].Env).NotTo(ContainElement(HaveField("Name", desiredstate.EnvModelRevision)),
			"the first revision's pods are unchanged")
		Eventually(func() string { return checklistItem(getMD(key), "hpa").Message }).Should(ContainSubstring("its Deployment "+candidate.Name),
			"the checklist looks for an HPA on the revision's own Deployment")

		By("measuring the new revision's own error rate, four points above its bound")
		prom.set("increase(model_requests_total", revision, "300")
		prom.set(`code=~"5.."`, revision, "9")
		playDeploymentController(candidate)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		cur := getMD(key)
		hash := strings.TrimPrefix(candidate.Name, stable.Name+"-")
		rolledBack := meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionRolledBack)
		Expect(rolledBack.Reason).To(Equal("AnalysisFailed"))
		Expect(rolledBack.Message).To(ContainSubstring(fmt.Sprintf("errorRate of version 1.0.0 (revision %s) is 9, outside the bound <= 5", hash)))
		Expect(cur.Status.Analysis.Version).To(Equal("1.0.0"))
		Expect(cur.Status.Analysis.Revision).To(Equal(revision))
		Expect(cur.Status.Analysis.Measurements).To(ContainElement(And(HaveField("Metric", "errorRateIncrease"), HaveField("Value", "1700"),
			HaveField("Message", "9 against 0.5 of version 1.0.0"))), "set against the stable revision's 0.5%, not its own 9%")
		Expect(cur.Status.Stable.Deployment).To(Equal(stable.Name))
		Expect(cur.Status.Rejected.Deployment).To(Equal(candidate.Name))
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(2))
		Eventually(replicasOf(candidate)).Should(Or(BeEquivalentTo(0), BeEquivalentTo(-1)))
		// A canary without a router has no <name>-stable: <name> serves, and
		// never the rejected revision alone.
		Eventually(serviceSelector(ns, md.Name)).Should(And(Not(BeNil()), Not(HaveKeyWithValue(desiredstate.LabelVersion, revision))))
	})
})

// counterValue sums a counter of the manager's metrics for one ModelDeployment
// whose label key has value.
func counterValue(name, ns, md, key, value string) float64 {
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == ns && labels["modeldeployment"] == md && labels[key] == value {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
