package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// validModelDeployment is a ModelDeployment the API server accepts; each
// validation case changes one thing in it.
const validModelDeployment = `
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata:
  name: fraud-scorer
spec:
  model:
    name: fraud-scorer
    version: 2.3.0
    uri: oci://registry.example/models/fraud-scorer:2.3.0
  template:
    spec:
      containers:
      - name: server
        image: registry.example/ml/server:1.0.0
`

// withOverlay returns the valid ModelDeployment with overlay (YAML) merged into
// it: maps merge key by key, anything else replaces.
func withOverlay(namespace, overlay string) *unstructured.Unstructured {
	base := map[string]any{}
	Expect(yaml.Unmarshal([]byte(validModelDeployment), &base)).To(Succeed())
	over := map[string]any{}
	Expect(yaml.Unmarshal([]byte(overlay), &over)).To(Succeed())
	u := &unstructured.Unstructured{Object: merge(base, over)}
	u.SetNamespace(namespace)
	return u
}

func merge(base, over map[string]any) map[string]any {
	for k, v := range over {
		bm, bok := base[k].(map[string]any)
		om, ook := v.(map[string]any)
		if bok && ook {
			base[k] = merge(bm, om)
			continue
		}
		if v == nil {
			delete(base, k)
			continue
		}
		base[k] = v
	}
	return base
}

var _ = Describe("The API server validates a ModelDeployment", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	DescribeTable("and refuses bad input, naming the field",
		func(overlay string, wantInError ...string) {
			err := k8sClient.Create(ctx, withOverlay(ns, overlay))
			Expect(err).To(HaveOccurred(), "the API server accepted:\n%s", overlay)
			for _, want := range wantInError {
				Expect(err.Error()).To(ContainSubstring(want))
			}
		},
		Entry("a version that is not semver",
			`{spec: {model: {version: "2.3"}}}`,
			`spec.model.version: Invalid value: "2.3": must be a semantic version`),
		Entry("a version with a leading v",
			`{spec: {model: {version: "v2.3.0"}}}`,
			`spec.model.version: Invalid value: "v2.3.0": must be a semantic version`),
		Entry("a weight above 100",
			`{spec: {strategy: {type: Canary, canary: {steps: [{weight: 10}, {weight: 150}]}}}}`,
			`spec.strategy.canary.steps[1].weight: Invalid value: 150`, `less than or equal to 100`),
		Entry("a weight below 0",
			`{spec: {strategy: {type: Canary, canary: {steps: [{weight: -5}, {weight: 50}]}}}}`,
			`spec.strategy.canary.steps[0].weight: Invalid value: -5`, `greater than or equal to 0`),
		Entry("weights that do not increase",
			`{spec: {strategy: {type: Canary, canary: {steps: [{weight: 10}, {weight: 50}, {weight: 50}]}}}}`,
			`spec.strategy.canary.steps: Invalid value: weights must increase from step to step`),
		Entry("weights that go down",
			`{spec: {strategy: {type: Canary, canary: {steps: [{weight: 50}, {weight: 10}]}}}}`,
			`spec.strategy.canary.steps: Invalid value: weights must increase from step to step`),
		Entry("an empty step list for Canary",
			`{spec: {strategy: {type: Canary, canary: {steps: []}}}}`,
			`spec.strategy.canary.steps: Invalid value: 0`, `should have at least 1 items`),
		Entry("Canary without its block",
			`{spec: {strategy: {type: Canary}}}`,
			`spec.strategy.canary: Invalid value: spec.strategy.canary is required when type is Canary`),
		Entry("BlueGreen without its block",
			`{spec: {strategy: {type: BlueGreen}}}`,
			`spec.strategy.blueGreen: Invalid value: spec.strategy.blueGreen is required when type is BlueGreen`),
		Entry("a strategy block that does not match the type",
			`{spec: {strategy: {type: Rolling, canary: {steps: [{weight: 10}]}}}}`,
			`spec.strategy.canary: Invalid value: spec.strategy.canary is set but type is not Canary`),
		Entry("a second strategy block beside the right one",
			`{spec: {strategy: {type: BlueGreen, blueGreen: {}, canary: {steps: [{weight: 10}]}}}}`,
			`spec.strategy.canary is set but type is not Canary`),
		Entry("an unknown strategy type",
			`{spec: {strategy: {type: Linear}}}`,
			`spec.strategy.type: Unsupported value: "Linear"`),
		Entry("Shadow without a router",
			`{spec: {strategy: {type: Shadow, shadow: {duration: 10m}}}}`,
			`spec.strategy.trafficRouting: Invalid value: spec.strategy.trafficRouting.gatewayAPI is required for Shadow and ABTest`),
		Entry("ABTest without a router",
			`{spec: {strategy: {type: ABTest, abTest: {duration: 1h, headers: [{name: x-model-variant, value: b}]}}}}`,
			`spec.strategy.trafficRouting.gatewayAPI is required for Shadow and ABTest`),
		Entry("ABTest without a cohort",
			`{spec: {strategy: {type: ABTest, trafficRouting: {gatewayAPI: {httpRoute: r}}, abTest: {duration: 1h}}}}`,
			`spec.strategy.abTest: Invalid value: declare at least one header or cookie`),
		Entry("a zero interval",
			`{spec: {analysis: {interval: 0s}}}`,
			`spec.analysis.interval: Invalid value: "0s": must be a positive duration`),
		Entry("a negative interval",
			`{spec: {analysis: {interval: -30s}}}`,
			`spec.analysis.interval: Invalid value: "-30s": must be a positive duration`),
		Entry("an interval that is no duration",
			`{spec: {analysis: {interval: soon}}}`,
			`spec.analysis.interval`),
		Entry("a negative progress deadline",
			`{spec: {strategy: {progressDeadline: -1m}}}`,
			`spec.strategy.progressDeadline: Invalid value: "-1m": must be a positive duration`),
		Entry("a percent above 100",
			`{spec: {analysis: {triggers: {errorRate: {maxPercent: "150"}}}}}`,
			`spec.analysis.triggers.errorRate.maxPercent: Invalid value: "150": must be a percent from 0 to 100`),
		Entry("a negative percent",
			`{spec: {analysis: {triggers: {accuracyDrop: {maxPercent: "-1"}}}}}`,
			`spec.analysis.triggers.accuracyDrop.maxPercent: Invalid value: "-1": must be a percent from 0 to 100`),
		Entry("an override without a reason",
			`{spec: {checklist: {overrides: [{id: pdb, severity: Warn}]}}}`,
			`spec.checklist.overrides[0].reason: Required value`),
		Entry("an override with an empty reason",
			`{spec: {checklist: {overrides: [{id: pdb, severity: Warn, reason: ""}]}}}`,
			`spec.checklist.overrides[0].reason: Invalid value: ""`),
		Entry("duplicate override ids",
			`{spec: {checklist: {overrides: [{id: pdb, severity: Warn, reason: a}, {id: pdb, severity: Enforce, reason: b}]}}}`,
			`spec.checklist.overrides[1]: Duplicate value`),
		Entry("an unknown severity",
			`{spec: {checklist: {overrides: [{id: pdb, severity: Block, reason: a}]}}}`,
			`spec.checklist.overrides[0].severity: Unsupported value: "Block"`),
		Entry("an unknown checklist profile",
			`{spec: {checklist: {profile: prod}}}`,
			`spec.checklist.profile: Unsupported value: "prod"`),
		Entry("an unknown noData policy",
			`{spec: {analysis: {noData: Retry}}}`,
			`spec.analysis.noData: Unsupported value: "Retry"`),
		Entry("a deployment window with start equal to end",
			`{spec: {deploymentWindows: [{start: "09:00", end: "09:00"}]}}`,
			`spec.deploymentWindows[0].end: Invalid value: start and end are equal`),
		Entry("a deployment window on an unknown day",
			`{spec: {deploymentWindows: [{days: [Mon, Funday], start: "09:00", end: "17:00"}]}}`,
			`spec.deploymentWindows[0].days[1]: Unsupported value: "Funday"`),
		Entry("a deployment window starting at 24:00",
			`{spec: {deploymentWindows: [{start: "24:00", end: "09:00"}]}}`,
			`spec.deploymentWindows[0].start: Invalid value: "24:00": must be a time HH:MM from 00:00 to 23:59`),
		Entry("a deployment window ending at 9:5",
			`{spec: {deploymentWindows: [{start: "08:00", end: "9:5"}]}}`,
			`spec.deploymentWindows[0].end: Invalid value: "9:5": must be a time HH:MM from 00:00 to 23:59`),
		Entry("a deployment window at 12:60",
			`{spec: {deploymentWindows: [{start: "12:60", end: "13:00"}]}}`,
			`spec.deploymentWindows[0].start: Invalid value: "12:60": must be a time HH:MM`),
		Entry("replicas below 0",
			`{spec: {replicas: -1}}`,
			`spec.replicas: Invalid value: -1`, `greater than or equal to 0`),
		Entry("an artifact URI of an unknown scheme",
			`{spec: {model: {uri: "ftp://models.example/fraud"}}}`,
			`spec.model.uri: Invalid value: "ftp://models.example/fraud": must be a URI with scheme https, oci, s3, gs or pvc`),
		Entry("a model card with both a ConfigMap and a URL",
			`{spec: {model: {modelCard: {configMapRef: {name: card}, url: "https://docs.example/card"}}}}`,
			`spec.model.modelCard: Invalid value: set exactly one of configMapRef and url`),
		Entry("an evaluation metric that is no number",
			`{spec: {model: {evaluation: {accuracy: high}}}}`,
			`spec.model.evaluation[accuracy]: Invalid value: "high": must be a decimal number`),
		Entry("a custom metric without bounds",
			`{spec: {analysis: {metrics: [{name: drift, query: "sum(x)"}]}}}`,
			`spec.analysis.metrics[0]: Invalid value: declare min, max or both`),
		Entry("a custom metric named like a built-in measurement",
			`{spec: {analysis: {metrics: [{name: errorRate, query: "sum(x)", max: "1"}]}}}`,
			`spec.analysis.metrics[0].name: Invalid value`, `is the name of a built-in measurement`),
		Entry("a load-test bound in both its spellings",
			`{spec: {analysis: {loadTest: {rps: 50, maxP95Milliseconds: 250, p95Milliseconds: 300}}}}`,
			`spec.analysis.loadTest.p95Milliseconds: Invalid value`, `set maxP95Milliseconds only: p95Milliseconds is its deprecated spelling`),
		Entry("a notification with neither webhook nor slack",
			`{spec: {notifications: [{name: ops}]}}`,
			`spec.notifications[0]: Invalid value: set exactly one of webhook and slack`),
		Entry("a name too long for the Services named after it",
			`{metadata: {name: a-model-deployment-name-that-is-far-too-long-for-services}}`,
			`metadata.name must be a DNS-1035 label of at most 52 characters`),
		// Upper bounds (#18): no timeout, duration, count or percent without one.
		Entry("an interval above 1h",
			`{spec: {analysis: {interval: 2h}}}`,
			`spec.analysis.interval: Invalid value: "2h": must be a positive duration of at most 1h`),
		Entry("a progress deadline above 24h",
			`{spec: {strategy: {progressDeadline: 25h}}}`,
			`spec.strategy.progressDeadline: Invalid value: "25h": must be a positive duration of at most 24h`),
		Entry("a canary pause above 24h",
			`{spec: {strategy: {type: Canary, canary: {steps: [{weight: 10, pause: {duration: 48h}}]}}}}`,
			`spec.strategy.canary.steps[0].pause.duration: Invalid value: "48h": must be a positive duration of at most 24h`),
		Entry("a Prometheus timeout above 60s",
			`{spec: {analysis: {prometheus: {address: "http://p:9090", timeout: 5m}}}}`,
			`spec.analysis.prometheus.timeout: Invalid value: "5m": must be a positive duration of at most 60s`),
		Entry("a smoke test timeout above 60s",
			`{spec: {analysis: {smokeTest: {requests: [{path: /predict}], timeout: 1h}}}}`,
			`spec.analysis.smokeTest.timeout: Invalid value: "1h": must be a positive duration of at most 60s`),
		Entry("a bake above a week",
			`{spec: {analysis: {bake: 200h}}}`,
			`spec.analysis.bake: Invalid value: "200h": must be a duration from 0s to 168h`),
		Entry("an alert for above an hour",
			`{spec: {alerts: {for: 2h}}}`,
			`spec.alerts.for: Invalid value: "2h": must be a duration from 0s to 1h`),
		Entry("an availability objective above 100",
			`{spec: {alerts: {availabilityObjective: "100.5"}}}`,
			`spec.alerts.availabilityObjective: Invalid value: "100.5": must be a percent from 0 to 100`),
		Entry("a shadow phase above a week",
			`{spec: {strategy: {type: Shadow, trafficRouting: {gatewayAPI: {httpRoute: r}}, shadow: {duration: 169h}}}}`,
			`spec.strategy.shadow.duration: Invalid value: "169h": must be a positive duration of at most 168h`),
		Entry("a maxSurge that could wrap int32",
			`{spec: {strategy: {type: Rolling, rolling: {maxSurge: 2147483647}}}}`,
			`spec.strategy.rolling.maxSurge: Invalid value: 2147483647: must be a number of pods from 0 to 100000 or a percent from 0% to 100%`),
		Entry("a maxUnavailable above 100%",
			`{spec: {strategy: {type: Rolling, rolling: {maxUnavailable: "150%"}}}}`,
			`spec.strategy.rolling.maxUnavailable: Invalid value: "150%": must be a number of pods from 0 to 100000 or a percent from 0% to 100%`),
		Entry("replicas above 100000",
			`{spec: {replicas: 2147483647}}`,
			`spec.replicas: Invalid value: 2147483647: spec.replicas in body should be less than or equal to 100000`),
		// Query templates hold only their placeholders (#18), refused by the
		// ModelDeployment webhook.
		Entry("the 76-byte query template that rendered 800 MB",
			`{spec: {analysis: {metrics: [{name: m, max: "1", query: "{{range 2000}}{{range 2000}}{{range 10}}{{$.Namespace}}{{end}}{{end}}{{end}}"}]}}}`,
			`spec.analysis.metrics[0].query: Invalid value:`, `may hold only the placeholders {{.Namespace}}, {{.Name}}, {{.Version}}, {{.Revision}}, {{.Window}}`),
		Entry("a function in a built-in query",
			`{spec: {analysis: {prometheus: {address: "http://p:9090", queries: {errorRate: "{{printf \"%09999d\" 1}}"}}}}}`,
			`spec.analysis.prometheus.queries.errorRate: Invalid value:`),
		Entry("{{.Feature}} outside featureValue",
			`{spec: {analysis: {prometheus: {address: "http://p:9090", queries: {accuracy: "x{f=\"{{.Feature}}\"}"}}}}}`,
			`spec.analysis.prometheus.queries.accuracy: Invalid value:`, `{{.Feature}} is not one`),
	)

	It("accepts values at their upper bounds and templates of placeholders", func() {
		u := withOverlay(ns, `
spec:
  replicas: 100000
  strategy:
    type: Rolling
    rolling: {maxSurge: 100000, maxUnavailable: "100%"}
    progressDeadline: 24h
  analysis:
    interval: 1h
    bake: 168h
    prometheus:
      address: "http://prometheus.monitoring:9090"
      timeout: 60s
      queries: {featureValue: "f{feature=\"{{.Feature}}\",v=\"{{ .Version }}\"}", errorRate: "e{ns=\"{{.Namespace}}\",n=\"{{.Name}}\",r=\"{{.Revision}}\"}[{{.Window}}]"}
    smokeTest: {requests: [{path: /predict}], timeout: 60s}
  alerts: {for: 1h, availabilityObjective: "100"}
`)
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
	})

	It("accepts every block of the API and fills in the defaults", func() {
		u := withOverlay(ns, `
spec:
  model:
    registry: {url: "http://mlflow.ml:5000", version: "14"}
    modelCard: {configMapRef: {name: fraud-scorer-card}}
    evaluation: {accuracy: "0.94"}
  documentation: {runbook: "https://wiki.example/runbook"}
  checklist:
    overrides: [{id: network-policy, severity: Warn, reason: "the mesh enforces it"}]
    attestations: [{id: security-scan, section: Vulnerability Assessment, role: security, evidence: "https://scans.example/1"}]
  strategy:
    type: Canary
    canary: {steps: [{weight: 0}, {weight: 10, pause: {duration: 2m}}, {weight: 50, pause: {}}, {weight: 100}]}
  analysis:
    prometheus: {address: "http://prometheus.monitoring:9090"}
    triggers: {errorRate: {maxPercent: "5"}, latencyP95: {maxMilliseconds: 300}, accuracyDrop: {maxPercent: "2"}}
    metrics: [{name: drift, query: "max(drift)", max: "0.3"}]
    smokeTest: {requests: [{path: /predict, method: POST, body: "{}", expectedFields: [{path: prediction}]}]}
    loadTest: {rps: 50, p95Milliseconds: 250, maxP99Milliseconds: 500}
    bake: 10m
  approvals: {required: [{role: security, groups: [security-team]}]}
  deploymentWindows: [{days: [Mon, Tue], start: "22:00", end: "02:00", timeZone: Europe/Berlin}]
  notifications: [{name: ops, slack: {urlSecretRef: {name: slack-hook, key: url}}}]
`)
		Expect(k8sClient.Create(ctx, u)).To(Succeed())

		md := &servingv1alpha1.ModelDeployment{}
		Expect(k8sClient.Get(ctx, objectKey(u), md)).To(Succeed())
		Expect(*md.Spec.Replicas).To(BeEquivalentTo(1))
		Expect(md.Spec.Service.Port).To(BeEquivalentTo(8080))
		Expect(md.Spec.Checklist.Profile).To(Equal(servingv1alpha1.ProfileProduction))
		Expect(md.Spec.Strategy.ProgressDeadline.Duration.String()).To(Equal("10m0s"))
		Expect(md.Spec.Analysis.Interval.Duration.String()).To(Equal("30s"))
		Expect(md.Spec.Analysis.NoData).To(Equal(servingv1alpha1.NoDataPause))
		Expect(md.Spec.Analysis.SmokeTest.Requests[0].ExpectedStatus).To(BeEquivalentTo(200))
		Expect(md.Spec.Analysis.LoadTest.Duration.Duration.String()).To(Equal("1m0s"))
		Expect(md.Spec.DeploymentWindows[0].End).To(Equal("02:00"), "an end before the start crosses midnight")
	})

	It("defaults a bare spec to the Rolling strategy and the production profile", func() {
		u := withOverlay(ns, `{spec: {strategy: {type: BlueGreen, blueGreen: {}}}}`)
		Expect(k8sClient.Create(ctx, u)).To(Succeed())
		md := &servingv1alpha1.ModelDeployment{}
		Expect(k8sClient.Get(ctx, objectKey(u), md)).To(Succeed())
		Expect(*md.Spec.Strategy.BlueGreen.AutoPromotion).To(BeTrue())
		Expect(md.Spec.Strategy.BlueGreen.ScaleDownDelay.Duration.String()).To(Equal("30s"))

		bare := withOverlay(ns, `{metadata: {name: bare}}`)
		Expect(k8sClient.Create(ctx, bare)).To(Succeed())
		Expect(k8sClient.Get(ctx, objectKey(bare), md)).To(Succeed())
		Expect(md.Spec.Strategy.Type).To(Equal(servingv1alpha1.StrategyRolling))
		Expect(md.Spec.Checklist.Profile).To(Equal(servingv1alpha1.ProfileProduction))
	})
})

var _ = Describe("The API server validates drift triggers, stable comparisons and the judge", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	DescribeTable("and refuses bad input, naming the field",
		func(overlay string, wantInError ...string) {
			err := k8sClient.Create(ctx, withOverlay(ns, overlay))
			Expect(err).To(HaveOccurred(), "the API server accepted:\n%s", overlay)
			for _, want := range wantInError {
				Expect(err.Error()).To(ContainSubstring(want))
			}
		},
		Entry("a PSI bound of zero",
			`{spec: {analysis: {triggers: {predictionDrift: {maxPSI: "0"}}}}}`,
			`spec.analysis.triggers.predictionDrift.maxPSI: Invalid value: "0": must be a positive decimal such as "0.25"`),
		Entry("a negative PSI bound",
			`{spec: {analysis: {triggers: {inputDrift: {maxPSI: "-0.1", features: [amount]}}}}}`,
			`spec.analysis.triggers.inputDrift.maxPSI: Invalid value: "-0.1": must be a positive decimal`),
		Entry("prediction drift without a bound",
			`{spec: {analysis: {triggers: {predictionDrift: {minObservations: 100}}}}}`,
			`spec.analysis.triggers.predictionDrift.maxPSI: Required value`),
		Entry("input drift without features",
			`{spec: {analysis: {triggers: {inputDrift: {maxPSI: "0.2"}}}}}`,
			`spec.analysis.triggers.inputDrift.features: Required value`),
		Entry("input drift over an empty list of features",
			`{spec: {analysis: {triggers: {inputDrift: {maxPSI: "0.2", features: []}}}}}`,
			`spec.analysis.triggers.inputDrift.features: Invalid value`, `at least 1 items`),
		Entry("a feature name that would break the query",
			`{spec: {analysis: {triggers: {inputDrift: {maxPSI: "0.2", features: ['amount"} or vector(1) #']}}}}}`,
			`spec.analysis.triggers.inputDrift.features[0]: Invalid value`, `should match`),
		Entry("a feature listed twice",
			`{spec: {analysis: {triggers: {inputDrift: {maxPSI: "0.2", features: [amount, amount]}}}}}`,
			`spec.analysis.triggers.inputDrift.features[1]: Duplicate value: "amount"`),
		Entry("too few observations to judge",
			`{spec: {analysis: {triggers: {predictionDrift: {maxPSI: "0.2", minObservations: 0}}}}}`,
			`spec.analysis.triggers.predictionDrift.minObservations: Invalid value: 0`),
		Entry("relativeTo without maxIncreasePercent",
			`{spec: {analysis: {triggers: {errorRate: {maxPercent: "5", relativeTo: Stable}}}}}`,
			`spec.analysis.triggers.errorRate: Invalid value: relativeTo and maxIncreasePercent go together`),
		Entry("maxIncreasePercent without relativeTo",
			`{spec: {analysis: {triggers: {latencyP95: {maxMilliseconds: 300, maxIncreasePercent: "50"}}}}}`,
			`spec.analysis.triggers.latencyP95: Invalid value: relativeTo and maxIncreasePercent go together`),
		Entry("an unknown baseline",
			`{spec: {analysis: {triggers: {errorRate: {maxPercent: "5", relativeTo: previous, maxIncreasePercent: "50"}}}}}`,
			`spec.analysis.triggers.errorRate.relativeTo: Unsupported value: "previous"`),
		Entry("a negative increase",
			`{spec: {analysis: {triggers: {latencyP95: {maxMilliseconds: 300, relativeTo: Stable, maxIncreasePercent: "-10"}}}}}`,
			`spec.analysis.triggers.latencyP95.maxIncreasePercent: Invalid value: "-10": must be a percent of zero or more`),
		Entry("a judge without a method",
			`{spec: {analysis: {judge: {confidence: "0.95"}}}}`,
			`spec.analysis.judge.method: Required value`),
		Entry("an unknown judge",
			`{spec: {analysis: {judge: {method: Bayesian}}}}`,
			`spec.analysis.judge.method: Unsupported value: "Bayesian"`),
		Entry("a confidence of one",
			`{spec: {analysis: {judge: {method: Sequential, confidence: "1"}}}}`,
			`spec.analysis.judge.confidence: Invalid value: "1": must be a decimal from 0.5 to below 1`),
		Entry("a confidence below one half",
			`{spec: {analysis: {judge: {method: Sequential, confidence: "0.3"}}}}`,
			`spec.analysis.judge.confidence: Invalid value: "0.3": must be a decimal from 0.5 to below 1`),
		Entry("a tolerance above 100 points",
			`{spec: {analysis: {judge: {method: Sequential, tolerancePercent: "101"}}}}`,
			`spec.analysis.judge.tolerancePercent: Invalid value: "101": must be a percent from 0 to 100`),
	)

	It("accepts them and fills in the defaults", func() {
		u := withOverlay(ns, `
spec:
  analysis:
    prometheus:
      address: "http://prometheus.monitoring:9090"
      queries:
        errorCount: 'sum(increase(errors_total{version="{{.Version}}"}[{{.Window}}]))'
        predictionScore: 'sum by (le) (increase(score_bucket{version="{{.Version}}"}[{{.Window}}]))'
        featureValue: 'sum by (le) (increase(feature_bucket{version="{{.Version}}",feature="{{.Feature}}"}[{{.Window}}]))'
    triggers:
      errorRate: {maxPercent: "5", relativeTo: Stable, maxIncreasePercent: "50"}
      latencyP95: {maxMilliseconds: 300, relativeTo: Stable, maxIncreasePercent: "200"}
      predictionDrift: {maxPSI: "0.25"}
      inputDrift: {maxPSI: "0.2", features: [amount, merchant_risk], minObservations: 500}
    judge: {method: Sequential, promoteEarly: true}
`)
		Expect(k8sClient.Create(ctx, u)).To(Succeed())

		md := &servingv1alpha1.ModelDeployment{}
		Expect(k8sClient.Get(ctx, objectKey(u), md)).To(Succeed())
		tr := md.Spec.Analysis.Triggers
		Expect(tr.ErrorRate.RelativeTo).To(Equal(servingv1alpha1.BaselineStable))
		Expect(tr.ErrorRate.MaxIncreasePercent).To(BeEquivalentTo("50"))
		Expect(tr.LatencyP95.MaxIncreasePercent).To(BeEquivalentTo("200"))
		Expect(tr.PredictionDrift.MaxPSI).To(BeEquivalentTo("0.25"))
		Expect(tr.PredictionDrift.MinObservations).To(BeEquivalentTo(200), "the default")
		Expect(tr.InputDrift.Features).To(ConsistOf(servingv1alpha1.FeatureName("amount"), servingv1alpha1.FeatureName("merchant_risk")))
		Expect(tr.InputDrift.MinObservations).To(BeEquivalentTo(500))
		j := md.Spec.Analysis.Judge
		Expect(j.Method).To(Equal(servingv1alpha1.JudgeSequential))
		Expect(j.Confidence).To(BeEquivalentTo("0.95"), "the default")
		Expect(j.TolerancePercent).To(BeEquivalentTo("0"), "the default")
		Expect(j.PromoteEarly).To(BeTrue())
		Expect(md.Spec.Analysis.Prometheus.Queries.FeatureValue).To(ContainSubstring(`feature="{{.Feature}}"`))
	})
})
