package integration

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// Score histograms of the stable version and of one whose scores moved up:
// cumulative counts by le, 1,000 observations each, or a tenth of that.
var (
	stableScores = map[string]float64{"0.1": 600, "0.25": 850, "0.5": 950, "1": 1000, "+Inf": 1000}
	shiftedFew   = map[string]float64{"0.1": 5, "0.25": 15, "0.5": 70, "1": 100, "+Inf": 100}
	shiftedScore = map[string]float64{"0.1": 50, "0.25": 150, "0.5": 700, "1": 1000, "+Inf": 1000}
)

var _ = Describe("Analysis against the stable version", func() {
	It("holds a version whose scores are too few to compare, and rolls it back once they show drift, with value, bound and buckets", func() {
		ns, prom, md := analyzedCanary(nil)
		key := objectKey(md)
		prom.setHistogram("model_prediction_score_bucket", "1.0.0", stableScores)

		By("holding it while the candidate has too few scores")
		prom.set("increase(model_requests_total", "1.1.0", "500")
		prom.set(`code=~"5.."`, "1.1.0", "0.5")
		prom.setHistogram("model_prediction_score_bucket", "1.1.0", shiftedFew)
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			cur.Spec.Model.Version = "1.1.0"
			cur.Spec.Analysis.Triggers.PredictionDrift = &servingv1alpha1.PredictionDriftTrigger{MaxPSI: "0.25", MinObservations: 200}
		})
		candidate := deploymentOf(ns, md.Name, "1.1.0")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(readyReason(key)).Should(Equal("Analyzing"))
		Eventually(func() string {
			return meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionReady).Message
		}).Should(ContainSubstring("predictionDrift of version 1.1.0 has no data: against version 1.0.0: too few observations: candidate 100, stable 1000, each needs 200"))
		cur := getMD(key)
		Expect(cur.Status.Phase).To(Equal(servingv1alpha1.PhaseProgressing), "never promoted without data")
		Expect(cur.Status.Analysis.Measurements).To(ContainElement(And(HaveField("Metric", "errorRate"), HaveField("Verdict", servingv1alpha1.VerdictPass))),
			"its error rate passes")

		By("rolling it back once enough scores show how far they moved")
		prom.setHistogram("model_prediction_score_bucket", "1.1.0", shiftedScore)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		cur = getMD(key)
		rolledBack := meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionRolledBack)
		Expect(rolledBack.Reason).To(Equal("AnalysisFailed"))
		Expect(rolledBack.Message).To(MatchRegexp(`predictionDrift of version 1\.1\.0 is [0-9.]+, outside the bound <= 0\.25 \(PSI [0-9.]+ \(noise [0-9.e-]+\): \(-Inf, 0\.1\] 5\.0% vs 59\.9%, \(0\.25, 0\.5\] 54\.9% vs 10\.0%, \(0\.5, 1\] 30\.0% vs 5\.0%, against version 1\.0\.0\)`))
		Expect(cur.Status.Stable.Version).To(Equal("1.0.0"))
		var drift *servingv1alpha1.Measurement
		for i, m := range cur.Status.Analysis.Measurements {
			if m.Metric == "predictionDrift" && m.Verdict == servingv1alpha1.VerdictBreach {
				drift = &cur.Status.Analysis.Measurements[i]
				break
			}
		}
		Expect(drift).NotTo(BeNil())
		Expect(drift.Bound).To(Equal("<= 0.25"))
		Expect(drift.Value).To(MatchRegexp(`^[0-9.]+$`))
		Expect(drift.Query).To(ContainSubstring(`model_prediction_score_bucket{namespace="` + ns + `",modeldeployment="` + md.Name + `",version="1.1.0",revision=""}`))
		Expect(cur.Status.Analysis.Measurements).To(ContainElement(And(HaveField("Metric", "errorRate"), HaveField("Value", "0.5"), HaveField("Verdict", servingv1alpha1.VerdictPass))),
			"rolled back on drift alone: its error rate passed")
	})

	It("judges the error rate against the stable version's over the same round", func() {
		ns, prom, md := analyzedCanary(nil)
		key := objectKey(md)
		relative := func(cur *servingv1alpha1.ModelDeployment) {
			cur.Spec.Analysis.Triggers.ErrorRate.StableComparison = servingv1alpha1.StableComparison{
				RelativeTo: servingv1alpha1.BaselineStable, MaxIncreasePercent: "50",
			}
		}

		By("holding the candidate while the stable version has no data")
		prom.set("increase(model_requests_total", "1.1.0", "500")
		prom.set(`code=~"5.."`, "1.1.0", "1.2")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0"; relative(cur) })
		candidate := deploymentOf(ns, md.Name, "1.1.0")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(func() string {
			return meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionReady).Message
		}).Should(ContainSubstring("errorRateIncrease of version 1.1.0 has no data: the stable version 1.0.0 has no data in the window"))
		Expect(getMD(key).Status.Phase).To(Equal(servingv1alpha1.PhaseProgressing))

		By("promoting it at 20% above the stable's error rate")
		prom.set(`code=~"5.."`, "1.0.0", "1")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(2), "a passing round ends the step")
		Expect(getMD(key).Status.Analysis.Measurements).To(ContainElement(And(HaveField("Metric", "errorRateIncrease"), HaveField("Value", "20"),
			HaveField("Bound", "<= 50"), HaveField("Verdict", servingv1alpha1.VerdictPass))))
		playDeploymentController(candidate)
		Eventually(func() string { return getMD(key).Status.Stable.Version }).Should(Equal("1.1.0"))

		By("rolling back the next at three times the stable's, under the absolute bound")
		prom.set(`code=~"5.."`, "1.1.0", "1")
		prom.set("increase(model_requests_total", "1.2.0", "500")
		prom.set(`code=~"5.."`, "1.2.0", "3")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.2.0" })
		candidate = deploymentOf(ns, md.Name, "1.2.0")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		cur := getMD(key)
		Expect(meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionRolledBack).Message).To(
			ContainSubstring("errorRateIncrease of version 1.2.0 is 200, outside the bound <= 50 (3 against 1 of version 1.1.0)"))
		Expect(cur.Status.Stable.Version).To(Equal("1.1.0"))
	})

	It("judges a shadow against the stable version on the mirrored traffic, and rolls it back on drift while no user saw its answers", func() {
		ns := newNamespace()
		prom := newMetricsAPI()
		md := newModelDeployment(ns, "1.0.0", 2)
		md.Spec.Strategy = servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyShadow,
			Shadow:         &servingv1alpha1.ShadowStrategy{MirrorPercent: 100, Duration: metav1.Duration{Duration: time.Hour}},
			TrafficRouting: &servingv1alpha1.TrafficRouting{GatewayAPI: &servingv1alpha1.GatewayAPIRouting{HTTPRoute: md.Name}}}
		md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{
			Interval:   &metav1.Duration{Duration: time.Second},
			Prometheus: &servingv1alpha1.PrometheusSpec{Address: servingv1alpha1.URL(prom.srv.URL)},
			Triggers: &servingv1alpha1.TriggersSpec{
				ErrorRate: &servingv1alpha1.ErrorRateTrigger{MaxPercent: "5", StableComparison: servingv1alpha1.StableComparison{
					RelativeTo: servingv1alpha1.BaselineStable, MaxIncreasePercent: "50"}},
				PredictionDrift: &servingv1alpha1.PredictionDriftTrigger{MaxPSI: "0.25", MinObservations: 200},
			},
			MinSampleSize: 10, ConsecutiveErrorLimit: 4, NoData: servingv1alpha1.NoDataPause,
		}
		Expect(k8sClient.Create(ctx, userRoute(ns, md.Name, md.Name))).To(Succeed())
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		playDeploymentController(deploymentOf(ns, md.Name, "1.0.0"))
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))

		prom.set("increase(model_requests_total", "1.1.0", "500")
		prom.set(`code=~"5.."`, "1.1.0", "1")
		prom.set(`code=~"5.."`, "1.0.0", "1")
		prom.setHistogram("model_prediction_score_bucket", "1.0.0", stableScores)
		prom.setHistogram("model_prediction_score_bucket", "1.1.0", shiftedScore)
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.1.0" })
		candidate := deploymentOf(ns, md.Name, "1.1.0")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(2))
		playDeploymentController(candidate)

		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		cur := getMD(key)
		Expect(meta.FindStatusCondition(cur.Status.Conditions, servingv1alpha1.ConditionRolledBack).Message).To(
			MatchRegexp(`predictionDrift of version 1\.1\.0 is [0-9.]+, outside the bound <= 0\.25 \(PSI `))
		Expect(cur.Status.Analysis.Measurements).To(ContainElement(And(HaveField("Metric", "errorRateIncrease"), HaveField("Value", "0"),
			HaveField("Verdict", servingv1alpha1.VerdictPass))), "its error rate is stable's")
		Expect(cur.Status.Stable.Version).To(Equal("1.0.0"))
		Eventually(weightsOf(key)).Should(Equal(map[string]int32{md.Name + "-stable": 100, md.Name + "-candidate": 0}), "a shadow serves no user")
	})

	It("lets the sequential judge finish a canary early on cumulative counts, and roll back a worse version", func() {
		ns, prom, md := analyzedCanary(nil)
		key := objectKey(md)
		// errorCount is the one query counting failed requests since the start.
		errorCount := func(version string) string {
			return fmt.Sprintf(`increase(model_requests_total{namespace=%q,modeldeployment=%q,version=%q,revision="",code=~"5.."}`, ns, md.Name, version)
		}
		counts := func(version, requests, errors string) {
			prom.set("increase(model_requests_total", version, requests)
			prom.set(errorCount(version), version, errors)
		}

		By("running the steps while the counts cannot tell the versions apart")
		counts("1.0.0", "5000", "50")
		counts("1.1.0", "5000", "50")
		prom.set(`code=~"5.."`, "1.1.0", "1")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) {
			cur.Spec.Model.Version = "1.1.0"
			cur.Spec.Strategy.Canary.Steps = []servingv1alpha1.CanaryStep{{Weight: 10}, {Weight: 50, Pause: &servingv1alpha1.Pause{Duration: &metav1.Duration{Duration: time.Hour}}}, {Weight: 80}}
			cur.Spec.Analysis.Judge = &servingv1alpha1.JudgeSpec{Method: servingv1alpha1.JudgeSequential, Confidence: "0.95", TolerancePercent: "1", PromoteEarly: true}
		})
		candidate := deploymentOf(ns, md.Name, "1.1.0")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(func() int32 { return getMD(key).Status.Candidate.Step }).Should(BeEquivalentTo(1), "a Continue passes the step")
		playDeploymentController(candidate)
		Eventually(readyReason(key)).Should(Equal("Pausing"))
		judge := getMD(key).Status.Analysis.Judge
		Expect(judge).NotTo(BeNil())
		Expect(judge.Verdict).To(Equal(servingv1alpha1.JudgeContinue))
		Expect(judge.Message).To(HavePrefix("Continue: candidate error rate "))
		Expect(getMD(key).Status.Analysis.Measurements).To(ContainElement(And(HaveField("Metric", "judge"), HaveField("Bound", "<= 1"),
			HaveField("Query", MatchRegexp(`increase\(model_requests_total\{.*version="1\.1\.0",revision=""\}\[[0-9]+s\]\)`)))),
			"counted from the candidate's start, not over one interval")

		By("promoting it, pause and all, once they show it within a point of stable's")
		counts("1.0.0", "20000", "200")
		counts("1.1.0", "20000", "200")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(2))
		playDeploymentController(candidate)
		Eventually(func() string { return getMD(key).Status.Stable.Version }).Should(Equal("1.1.0"))
		Expect(eventReasons(ns, md.Name)).To(ContainElement("PassedEarly"))

		By("rolling back a version whose errors are shown five times stable's")
		counts("1.2.0", "20000", "1000")
		prom.set(`code=~"5.."`, "1.2.0", "4")
		updateMD(key, func(cur *servingv1alpha1.ModelDeployment) { cur.Spec.Model.Version = "1.2.0" })
		candidate = deploymentOf(ns, md.Name, "1.2.0")
		Eventually(replicasOf(candidate)).Should(BeEquivalentTo(1))
		playDeploymentController(candidate)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseRolledBack))
		Expect(meta.FindStatusCondition(getMD(key).Status.Conditions, servingv1alpha1.ConditionRolledBack).Message).To(
			MatchRegexp(`judge of version 1\.2\.0 is [0-9.]+, outside the bound <= 1 \(Breach: candidate error rate [0-9.]+% to [0-9.]+%, stable [0-9.]+% to [0-9.]+%`))
	})
})
