package controller

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/alerts"
)

func withTriggers(md *servingv1alpha1.ModelDeployment) {
	md.Spec.Analysis = &servingv1alpha1.AnalysisSpec{Triggers: &servingv1alpha1.TriggersSpec{
		ErrorRate: &servingv1alpha1.ErrorRateTrigger{MaxPercent: "5"},
	}}
}

// alertWrites counts the writes of alerts objects the reconciler sends.
func alertWrites(n *int) *interceptor.Funcs {
	return &interceptor.Funcs{Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
		if o, ok := obj.(interface{ GetName() string }); ok && o.GetName() == "fraud-scorer-alerts" {
			*n++
		}
		return c.Apply(ctx, obj, opts...)
	}}
}

// Without the Prometheus Operator, the rules go into a labelled ConfigMap
// the ModelDeployment controls, written again only when they change, and
// removed with the triggers.
func TestAlertsInAConfigMap(t *testing.T) {
	g := NewWithT(t)
	writes := 0
	h := newHarness(t, newMD(withTriggers), alertWrites(&writes))
	h.mustReconcile()
	cm := &corev1.ConfigMap{}
	g.Expect(h.c.Get(context.Background(), client.ObjectKey{Namespace: "risk", Name: "fraud-scorer-alerts"}, cm)).To(Succeed())
	g.Expect(cm.Labels).To(HaveKeyWithValue(LabelAlertRules, "true"))
	g.Expect(metav1.IsControlledBy(cm, h.md())).To(BeTrue())
	var file alerts.File
	g.Expect(yaml.Unmarshal([]byte(cm.Data["risk-fraud-scorer.rules.yaml"]), &file)).To(Succeed())
	g.Expect(file.Groups).To(HaveLen(1))
	g.Expect(file.Groups[0].Rules[0].Alert).To(Equal(alerts.AlertErrorRate))
	g.Expect(writes).To(Equal(1))

	for range 3 {
		h.mustReconcile()
	}
	g.Expect(writes).To(Equal(1), "no write that changes nothing")

	h.update(func(md *servingv1alpha1.ModelDeployment) { md.Spec.Analysis.Triggers.ErrorRate.MaxPercent = "2" })
	h.mustReconcile()
	g.Expect(writes).To(Equal(2))
	g.Expect(h.c.Get(context.Background(), client.ObjectKeyFromObject(cm), cm)).To(Succeed())
	g.Expect(cm.Data["risk-fraud-scorer.rules.yaml"]).To(ContainSubstring(`> 2`))

	h.update(func(md *servingv1alpha1.ModelDeployment) { md.Spec.Analysis = nil })
	h.mustReconcile()
	g.Expect(apierrors.IsNotFound(h.c.Get(context.Background(), client.ObjectKeyFromObject(cm), cm))).To(BeTrue(), "the ConfigMap is removed with the triggers")
}

// With the Prometheus Operator, the rules go into a PrometheusRule, and a
// ConfigMap written before it came is removed.
func TestAlertsInAPrometheusRule(t *testing.T) {
	g := NewWithT(t)
	writes := 0
	h := newHarness(t, newMD(withTriggers), alertWrites(&writes))
	h.mustReconcile()
	key := client.ObjectKey{Namespace: "risk", Name: "fraud-scorer-alerts"}
	g.Expect(h.c.Get(context.Background(), key, &corev1.ConfigMap{})).To(Succeed())

	h.r.PrometheusRules = true
	h.mustReconcile()
	rule := &unstructured.Unstructured{}
	rule.SetGroupVersionKind(PrometheusRuleGVK)
	g.Expect(h.c.Get(context.Background(), key, rule)).To(Succeed())
	// The fake client keeps no field of a kind it has no schema for: the
	// rules inside are read in the envtest story, on a real API server.
	g.Expect(metav1.IsControlledBy(rule, h.md())).To(BeTrue())
	g.Expect(apierrors.IsNotFound(h.c.Get(context.Background(), key, &corev1.ConfigMap{}))).To(BeTrue())
	h.mustReconcile()
	g.Expect(writes).To(Equal(2), "the ConfigMap once, the PrometheusRule once")
}
