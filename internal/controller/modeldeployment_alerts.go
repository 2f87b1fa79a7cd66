package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/alerts"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// The alerts of a ModelDeployment with triggers go into a PrometheusRule
// when the cluster serves the Prometheus Operator's CRD, else into a
// ConfigMap any Prometheus can load (a sidecar finds it by LabelAlertRules).
// Both are read through the metadata-only cache, as every ConfigMap is here:
// the content's hash, kept in an annotation, tells whether the object
// already holds what RulesFor says, so an unchanged rule file is never
// written again.
const (
	// LabelAlertRules marks the ConfigMaps holding a rule file, with "true".
	LabelAlertRules = "serving.modelgate.dev/alert-rules"
	// AnnotationAlertRulesHash is the hash of the rule file an object holds.
	AnnotationAlertRulesHash = "serving.modelgate.dev/alert-rules-hash"
	// fieldOwner is the manager's name in the managed fields of what it
	// applies server-side.
	fieldOwner = "modelgate"
)

// PrometheusRuleGVK is the Prometheus Operator's kind for alerting rules.
var PrometheusRuleGVK = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"}

// AlertsObjectName is the name of the PrometheusRule or ConfigMap holding
// a ModelDeployment's alerts.
func AlertsObjectName(md *servingv1alpha1.ModelDeployment) string { return md.Name + "-alerts" }

// AlertsConfigMapKey is the key of the rule file in the ConfigMap: unique
// across namespaces, so a loader may put every file into one folder.
func AlertsConfigMapKey(md *servingv1alpha1.ModelDeployment) string {
	return md.Namespace + "-" + md.Name + ".rules.yaml"
}

// ServesPrometheusRules tells whether the cluster serves the Prometheus
// Operator's PrometheusRule.
func ServesPrometheusRules(mapper meta.RESTMapper) (bool, error) {
	return serves(mapper, PrometheusRuleGVK.GroupKind(), PrometheusRuleGVK.Version)
}

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=create;patch;delete
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=prometheusrules,verbs=get;list;watch;create;patch;delete

// applyAlerts writes the ModelDeployment's alerts where they belong, and
// removes the ones it no longer wants (no triggers, or the other kind of
// object after the Prometheus Operator came or went). A rule file that does
// not render leaves what was written: the analysis reports the same
// template in status.
func (r *ModelDeploymentReconciler) applyAlerts(ctx context.Context, s *scope) error {
	md := s.md
	want, other := corev1.SchemeGroupVersion.WithKind("ConfigMap"), PrometheusRuleGVK
	if r.PrometheusRules {
		want, other = other, want
	}
	if r.PrometheusRules {
		if err := r.deleteAlerts(ctx, md, other); err != nil {
			return err
		}
	}
	file, err := alerts.RulesFor(md)
	if err != nil {
		logf.FromContext(ctx).Info("The alerts cannot be generated; keeping the ones written before", "modelDeployment", klog.KObj(md), "reason", err.Error())
		return nil
	}
	if file == nil {
		return r.deleteAlerts(ctx, md, want)
	}
	hash, err := alerts.Hash(file)
	if err != nil {
		return err
	}
	current, err := r.alertsMetadata(ctx, md, want)
	if err != nil {
		return err
	}
	if current != nil && metav1.IsControlledBy(current, md) && current.Annotations[AnnotationAlertRulesHash] == hash {
		return nil
	}
	obj, err := r.alertsObject(md, want, file, hash)
	if err != nil {
		return err
	}
	logf.FromContext(ctx).Info("Writing the alerts", "modelDeployment", klog.KObj(md), "kind", want.Kind, "name", obj.GetName(), "hash", hash)
	if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj), client.FieldOwner(fieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying the alerts %s %s: %w", want.Kind, obj.GetName(), err)
	}
	return nil
}

// alertsMetadata reads the metadata of the ModelDeployment's alerts object
// of a kind; nil when there is none.
func (r *ModelDeploymentReconciler) alertsMetadata(ctx context.Context, md *servingv1alpha1.ModelDeployment, gvk schema.GroupVersionKind) (*metav1.PartialObjectMetadata, error) {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(gvk)
	if err := r.Get(ctx, client.ObjectKey{Namespace: md.Namespace, Name: AlertsObjectName(md)}, m); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the alerts %s of %s: %w", gvk.Kind, md.Name, err)
	}
	return m, nil
}

// deleteAlerts removes the ModelDeployment's alerts object of a kind, if it
// controls one.
func (r *ModelDeploymentReconciler) deleteAlerts(ctx context.Context, md *servingv1alpha1.ModelDeployment, gvk schema.GroupVersionKind) error {
	m, err := r.alertsMetadata(ctx, md, gvk)
	if err != nil || m == nil || !metav1.IsControlledBy(m, md) {
		return err
	}
	logf.FromContext(ctx).Info("Removing alerts no longer wanted", "modelDeployment", klog.KObj(md), "kind", gvk.Kind, "name", m.Name)
	if err := r.Delete(ctx, m); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting the alerts %s %s: %w", gvk.Kind, m.Name, err)
	}
	return nil
}

// alertsObject is the whole object to apply: the rule file in a
// PrometheusRule's spec or a ConfigMap's key, with modelgate's labels, the
// hash, and the ModelDeployment as controller.
func (r *ModelDeploymentReconciler) alertsObject(md *servingv1alpha1.ModelDeployment, gvk schema.GroupVersionKind, file *alerts.File, hash string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	if gvk == PrometheusRuleGVK {
		spec, err := runtime.DefaultUnstructuredConverter.ToUnstructured(file)
		if err != nil {
			return nil, err
		}
		u.Object["spec"] = spec
	} else {
		text, err := alerts.Marshal(file)
		if err != nil {
			return nil, err
		}
		u.Object["data"] = map[string]any{AlertsConfigMapKey(md): string(text)}
	}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(md.Namespace)
	u.SetName(AlertsObjectName(md))
	labels := desiredstate.SelectorLabels(md)
	if gvk != PrometheusRuleGVK {
		labels[LabelAlertRules] = labelTrue
	}
	u.SetLabels(labels)
	u.SetAnnotations(map[string]string{AnnotationAlertRulesHash: hash})
	if err := controllerutil.SetControllerReference(md, u, r.Scheme); err != nil {
		return nil, err
	}
	return u, nil
}
