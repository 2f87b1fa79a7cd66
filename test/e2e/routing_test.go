package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/modelgate/modelgate/test/bars"
)

var (
	mdResource    = schema.GroupVersionResource{Group: "serving.modelgate.dev", Version: "v1alpha1", Resource: "modeldeployments"}
	routeResource = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
)

// rolloutClock watches a ModelDeployment, its Deployments and its HTTPRoute
// from the test process and notes when things happened, so the time the
// operator adds to a step can be told apart from the time pods take and the
// pauses declared.
type rolloutClock struct {
	mu sync.Mutex
	// stepAt is when status.candidate.step first showed each step;
	// stepStartedAt is status.candidate.stepStartedAt of each step, written by
	// the operator to the microsecond.
	stepAt, stepStartedAt map[int64]time.Time
	// readyAt is when the candidate's Deployment first had all of n pods available.
	readyAt map[int32]time.Time
	// stableAt is when status.stable.version first showed each version.
	stableAt map[string]time.Time
	// weights are the distinct stable/candidate weights the route showed, in order.
	weights []string
}

func watchRollout(ctx context.Context, ns, name, candidateVersion string) *rolloutClock {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	dyn := dynamic.NewForConfigOrDie(cfg)
	kube := kubernetes.NewForConfigOrDie(cfg)
	c := &rolloutClock{stepAt: map[int64]time.Time{}, stepStartedAt: map[int64]time.Time{}, readyAt: map[int32]time.Time{}, stableAt: map[string]time.Time{}}
	byName := metav1.ListOptions{FieldSelector: "metadata.name=" + name}

	mdWatch, err := dyn.Resource(mdResource).Namespace(ns).Watch(ctx, byName)
	Expect(err).NotTo(HaveOccurred())
	routeWatch, err := dyn.Resource(routeResource).Namespace(ns).Watch(ctx, byName)
	Expect(err).NotTo(HaveOccurred())
	depWatch, err := kube.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{
		LabelSelector: fmt.Sprintf("app.kubernetes.io/name=%s,serving.modelgate.dev/version=%s", name, candidateVersion),
	})
	Expect(err).NotTo(HaveOccurred())
	for _, w := range []watch.Interface{mdWatch, routeWatch, depWatch} {
		go func() {
			defer GinkgoRecover()
			for ev := range w.ResultChan() {
				now := time.Now()
				c.mu.Lock()
				switch o := ev.Object.(type) {
				case *appsv1.Deployment:
					n := ptr.Deref(o.Spec.Replicas, 1)
					if o.Status.ObservedGeneration >= o.Generation && o.Status.AvailableReplicas == n && o.Status.UpdatedReplicas == n {
						if _, seen := c.readyAt[n]; !seen {
							c.readyAt[n] = now
						}
					}
				case *unstructured.Unstructured:
					if o.GetKind() == "HTTPRoute" {
						c.noteWeights(o, name)
						break
					}
					if _, found, _ := unstructured.NestedMap(o.Object, "status", "candidate"); found {
						step, _, _ := unstructured.NestedInt64(o.Object, "status", "candidate", "step") // 0 is omitted
						if _, seen := c.stepAt[step]; !seen {
							c.stepAt[step] = now
						}
						if at, _, _ := unstructured.NestedString(o.Object, "status", "candidate", "stepStartedAt"); at != "" {
							t, err := time.Parse(time.RFC3339Nano, at)
							Expect(err).NotTo(HaveOccurred())
							c.stepStartedAt[step] = t
						}
					}
					if v, _, _ := unstructured.NestedString(o.Object, "status", "stable", "version"); v != "" {
						if _, seen := c.stableAt[v]; !seen {
							c.stableAt[v] = now
						}
					}
				}
				c.mu.Unlock()
			}
		}()
	}
	DeferCleanup(func() {
		mdWatch.Stop()
		routeWatch.Stop()
		depWatch.Stop()
	})
	return c
}

// noteWeights appends the weights the route's first rule gives <name>-stable
// and <name>-candidate when they changed.
func (c *rolloutClock) noteWeights(route *unstructured.Unstructured, name string) {
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	if len(rules) == 0 {
		return
	}
	refs, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
	weights := map[string]int64{}
	for _, r := range refs {
		ref := r.(map[string]any)
		w, found, _ := unstructured.NestedInt64(ref, "weight")
		if !found {
			w = 1
		}
		weights[ref["name"].(string)] = w
	}
	s := fmt.Sprintf("%d/%d", weights[name+"-stable"], weights[name+"-candidate"])
	if _, ours := weights[name+"-stable"]; !ours {
		return // the user's route, before modelgate wrote it
	}
	if len(c.weights) == 0 || c.weights[len(c.weights)-1] != s {
		c.weights = append(c.weights, s)
	}
}

func (c *rolloutClock) snapshot() (stepAt, stepStartedAt map[int64]time.Time, readyAt map[int32]time.Time, stableAt map[string]time.Time, weights []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.stepAt), maps.Clone(c.stepStartedAt), maps.Clone(c.readyAt), maps.Clone(c.stableAt), slices.Clone(c.weights)
}

// routeFor is an HTTPRoute with one rule sending /predict to a ModelDeployment's Service.
func routeFor(name string) string {
	return fmt.Sprintf(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %[1]s}
spec:
  parentRefs: [{name: public, namespace: %[2]s}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /predict}}]
    backendRefs: [{name: %[1]s, port: 8080}]
`, name, gatewayNS)
}

// gatewayNS holds the shared Gateway the routes attach to, the layout the
// Gateway API recommends: one Gateway in an infrastructure namespace.
const gatewayNS = "gateway-infra"

const sharedGateway = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public}
spec:
  gatewayClassName: example
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    allowedRoutes: {namespaces: {from: All}}
    tls: {certificateRefs: [{name: wildcard-tls}]}
`

// routingNS keeps these specs' objects apart from the other containers', which
// may run before or after them.
const routingNS = "routing"

var _ = Describe("Traffic routing on a local cluster", Ordered, func() {
	BeforeAll(func() {
		kubectl("create", "namespace", routingNS)
		kubectl("create", "namespace", gatewayNS)
		kubectl("-n", gatewayNS, "apply", "-f", writeTemp(sharedGateway))
	})
	get := func(jsonpath string, what ...string) func() string {
		return func() string {
			out, _ := kubectlErr(append(append([]string{"-n", routingNS, "get"}, what...), "-o", "jsonpath="+jsonpath)...)
			return out
		}
	}

	It("sets canary weights on an HTTPRoute step by step, adding little to each step beyond pods and pauses", func() {
		kubectl("-n", routingNS, "apply", "-f", writeTemp(routeFor("router-canary")))
		kubectl("-n", routingNS, "apply", "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: router-canary}
spec:
  model: {name: router-canary, version: 1.0.0, uri: "pvc://models/router-canary/1.0.0"}
  replicas: 4
  checklist:
    profile: development
    # Judged, not enforced: the route's Gateway is the shared one of gateway-infra.
    overrides: [{id: tls, severity: Warn, reason: "judged for the shared Gateway, without blocking"}]
  strategy:
    type: Canary
    canary: {steps: [{weight: 25}, {weight: 50, pause: {duration: 2s}}, {weight: 75}]}
    trafficRouting: {gatewayAPI: {httpRoute: router-canary}}
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/server:1.0}]
`))
		Eventually(get("{.status.phase}", "md/router-canary")).Should(Equal("Succeeded"))
		Eventually(get("{.spec.rules[0].backendRefs[*].weight}", "httproute/router-canary")).Should(Equal("100 0"))
		Expect(get(`{.status.checklist.items[?(@.id=="tls")].message}`, "md/router-canary")()).To(Equal(
			"TLS is terminated by Gateway gateway-infra/public listener https (Secret gateway-infra/wildcard-tls, not read)"),
			"the shared Gateway in another namespace is read and judged")

		ctx, cancel := context.WithCancel(context.Background())
		DeferCleanup(cancel)
		clock := watchRollout(ctx, routingNS, "router-canary", "2.0.0")
		kubectl("-n", routingNS, "patch", "md", "router-canary", "--type=merge", "-p", `{"spec":{"model":{"version":"2.0.0"}}}`)
		Eventually(get("{.status.stable.version}", "md/router-canary")).Should(Equal("2.0.0"))
		Eventually(func() []string { _, _, _, _, w := clock.snapshot(); return w }).Should(
			Equal([]string{"100/0", "75/25", "50/50", "25/75", "100/0"}), "every step's weight, once, in order")
		Expect(get("{.spec.rules[0].backendRefs[*].name}", "httproute/router-canary")()).To(Equal("router-canary-stable router-canary-candidate"))
		Expect(get(`{.spec.selector.serving\.modelgate\.dev/version}`, "svc/router-canary-stable")()).To(Equal("2.0.0"))

		By("measuring what the operator adds to each step beyond pod readiness and the declared pause")
		Eventually(func() map[string]time.Time {
			_, _, _, stableAt, _ := clock.snapshot()
			return stableAt
		}).Should(HaveKey("2.0.0"))
		stepAt, stepStartedAt, readyAt, stableAt, _ := clock.snapshot()
		Expect(stepAt).To(HaveLen(4), "steps 0 to 2 and the promotion")
		Expect(readyAt).To(HaveKey(int32(4)))
		Expect(stepStartedAt).To(HaveKey(int64(1)))
		pauseEnd := stepStartedAt[1].Add(2 * time.Second)
		Expect(stepAt[2]).To(BeTemporally(">=", pauseEnd), "the pause is never cut short")
		overheads := []time.Duration{
			stepAt[1].Sub(readyAt[1]),                  // 25%: 1 of 4 pods
			stepAt[2].Sub(later(readyAt[2], pauseEnd)), // 50%: 2 pods and the 2 s pause
			stepAt[3].Sub(readyAt[3]),                  // 75%: 3 pods
			stableAt["2.0.0"].Sub(readyAt[4]),          // promotion at full size
		}
		var worst time.Duration
		for i, o := range overheads {
			GinkgoWriter.Printf("step %d: the operator added %s\n", i, o)
			worst = max(worst, o)
		}
		bars.Record("e2e", "StepOverheadWorst", float64(worst.Milliseconds()), "ms")
	})

	It("splits an A/B cohort by header on an HTTPRoute and sends it back to stable on an abort", func() {
		kubectl("-n", routingNS, "apply", "-f", writeTemp(routeFor("ab-scorer")))
		kubectl("-n", routingNS, "apply", "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: ab-scorer}
spec:
  model: {name: ab-scorer, version: 1.0.0, uri: "pvc://models/ab-scorer/1.0.0"}
  replicas: 2
  checklist: {profile: development}
  strategy:
    type: ABTest
    abTest: {headers: [{name: x-model-variant, value: b}], duration: 1h, replicas: 1}
    trafficRouting: {gatewayAPI: {httpRoute: ab-scorer}}
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/server:1.0}]
`))
		Eventually(get("{.status.phase}", "md/ab-scorer")).Should(Equal("Succeeded"))
		kubectl("-n", routingNS, "patch", "md", "ab-scorer", "--type=merge", "-p", `{"spec":{"model":{"version":"1.1.0"}}}`)

		Eventually(get("{.spec.rules[0].name}", "httproute/ab-scorer")).Should(Equal("modelgate-ab-scorer-cohort-0"))
		Expect(get("{.spec.rules[0].matches[0].path.value} {.spec.rules[0].matches[0].headers[0].name}={.spec.rules[0].matches[0].headers[0].value} {.spec.rules[0].backendRefs[0].name}",
			"httproute/ab-scorer")()).To(Equal("/predict x-model-variant=b ab-scorer-candidate"))
		Expect(get("{.spec.rules[1].backendRefs[*].name}={.spec.rules[1].backendRefs[*].weight}", "httproute/ab-scorer")()).
			To(Equal("ab-scorer-stable ab-scorer-candidate=100 0"), "everyone else stays on stable")
		Expect(get("{.status.conditions[?(@.type==\"Ready\")].reason}", "md/ab-scorer")()).To(Equal("Experimenting"))
		Eventually(get("{range .items[*]}{.status.phase} {end}", "pods", "-l", "app.kubernetes.io/name=ab-scorer,serving.modelgate.dev/version=1.1.0")).
			Should(Equal("Running"))
		Expect(get(`{.spec.selector.serving\.modelgate\.dev/version}`, "svc/ab-scorer")()).To(Equal("1.0.0"))

		kubectl("-n", routingNS, "annotate", "md", "ab-scorer", "serving.modelgate.dev/abort=cohort b converts worse")
		Eventually(get("{.status.phase}", "md/ab-scorer")).Should(Equal("RolledBack"))
		Eventually(get("{.spec.rules[*].backendRefs[*].name}", "httproute/ab-scorer")).Should(Equal("ab-scorer-stable ab-scorer-candidate"),
			"the cohort rule is gone")
		Expect(get("{.status.history[0].outcome} {.status.history[0].strategy}", "md/ab-scorer")()).To(Equal("RolledBack ABTest"))
	})

	It("rolls back a candidate whose pods miss the progress deadline", func() {
		kubectl("-n", routingNS, "apply", "-f", writeTemp(`
apiVersion: serving.modelgate.dev/v1alpha1
kind: ModelDeployment
metadata: {name: slow-scorer}
spec:
  model: {name: slow-scorer, version: 1.0.0, uri: "pvc://models/slow-scorer/1.0.0"}
  replicas: 2
  checklist: {profile: development}
  strategy: {type: Canary, canary: {steps: [{weight: 50}]}, progressDeadline: 5s}
  template:
    spec:
      containers: [{name: server, image: registry.example/ml/server:1.0}]
`))
		Eventually(get("{.status.phase}", "md/slow-scorer")).Should(Equal("Succeeded"))
		By("asking for a version whose pods no node can take, so they never become available")
		kubectl("-n", routingNS, "patch", "md", "slow-scorer", "--type=merge", "-p",
			`{"spec":{"model":{"version":"2.0.0"},"template":{"spec":{"nodeSelector":{"modelgate.dev/e2e":"nowhere"}}}}}`)
		Eventually(get("{.status.candidate.version}", "md/slow-scorer")).Should(Equal("2.0.0"))
		Eventually(get("{.status.phase}", "md/slow-scorer"), "60s").Should(Equal("RolledBack"))
		Expect(get("{.status.conditions[?(@.type==\"RolledBack\")].reason}", "md/slow-scorer")()).To(Equal("ProgressDeadlineExceeded"))
		Expect(get("{.status.history[0].version} {.status.history[0].outcome}", "md/slow-scorer")()).To(Equal("2.0.0 RolledBack"))
		Eventually(get("{range .items[*]}{.status.phase} {end}", "pods", "-l", "app.kubernetes.io/name=slow-scorer")).
			Should(Equal("Running Running"), "only the stable version's pods are left")
		// A canary without a router has <name> alone, never selecting the
		// rolled-back version only.
		Expect(get(`{.spec.selector.serving\.modelgate\.dev/version}`, "svc/slow-scorer")()).NotTo(Equal("2.0.0"))
		Expect(get("{.metadata.name}", "svc/slow-scorer-candidate")()).To(ContainSubstring("NotFound"))
	})
})

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
