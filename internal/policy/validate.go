package policy

import (
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/window"
)

// Validate finds what the schema cannot tell is wrong with a policy:
// selectors that cannot be parsed and windows whose time zone Go cannot
// load. The webhook refuses such a policy; the policy controller reports one
// stored before in its Ready condition.
func Validate(p *servingv1alpha1.ModelDeploymentPolicy) field.ErrorList {
	var errs field.ErrorList
	if _, err := metav1.LabelSelectorAsSelector(&p.Spec.NamespaceSelector); err != nil {
		errs = append(errs, field.Invalid(field.NewPath("spec", "namespaceSelector"), p.Spec.NamespaceSelector, err.Error()))
	}
	if p.Spec.Selector != nil {
		if _, err := metav1.LabelSelectorAsSelector(p.Spec.Selector); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), p.Spec.Selector, err.Error()))
		}
	}
	if w := p.Spec.Windows; w != nil {
		// window.Validate names spec.deploymentWindows, the ModelDeployment's field.
		for _, e := range window.Validate(w.Allowed) {
			e.Field = strings.Replace(e.Field, "spec.deploymentWindows", "spec.windows.allowed", 1)
			errs = append(errs, e)
		}
	}
	return errs
}
