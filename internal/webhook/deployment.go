package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// +kubebuilder:webhook:path=/mutate-serving-modelgate-dev-v1alpha1-modeldeployment,mutating=true,failurePolicy=fail,sideEffects=None,groups=serving.modelgate.dev,resources=modeldeployments,verbs=create;update,versions=v1alpha1,name=stamp.modeldeployments.serving.modelgate.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-serving-modelgate-dev-v1alpha1-modeldeployment,mutating=false,failurePolicy=fail,sideEffects=None,groups=serving.modelgate.dev,resources=modeldeployments,verbs=create;update,versions=v1alpha1,name=validate.modeldeployments.serving.modelgate.dev,admissionReviewVersions=v1

// DeploymentStamper records who set the emergency override of the deployment
// windows, from the request's identity.
type DeploymentStamper struct{}

// Default stamps serving.modelgate.dev/window-override-by when the override
// is set or changed, keeps the stamp while it is unchanged (whatever the
// request says), and drops it with the override.
func (DeploymentStamper) Default(ctx context.Context, md *servingv1alpha1.ModelDeployment) error {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return fmt.Errorf("reading the admission request: %w", err)
	}
	var old servingv1alpha1.ModelDeployment
	if len(req.OldObject.Raw) > 0 {
		if err := json.Unmarshal(req.OldObject.Raw, &old); err != nil {
			return fmt.Errorf("reading the ModelDeployment before the change: %w", err)
		}
	}
	override, set := md.Annotations[servingv1alpha1.AnnotationWindowOverride]
	switch {
	case !set || override == "":
		delete(md.Annotations, servingv1alpha1.AnnotationWindowOverrideBy)
	case old.Annotations[servingv1alpha1.AnnotationWindowOverride] != override:
		md.Annotations[servingv1alpha1.AnnotationWindowOverrideBy] = req.UserInfo.Username
	default:
		md.Annotations[servingv1alpha1.AnnotationWindowOverrideBy] = old.Annotations[servingv1alpha1.AnnotationWindowOverrideBy]
	}
	return nil
}

// DeploymentValidator checks what the API schema cannot.
type DeploymentValidator struct{}

// ValidateCreate refuses time zones Go cannot load.
func (DeploymentValidator) ValidateCreate(_ context.Context, md *servingv1alpha1.ModelDeployment) (admission.Warnings, error) {
	return nil, validateDeployment(md)
}

// ValidateUpdate refuses time zones Go cannot load.
func (DeploymentValidator) ValidateUpdate(_ context.Context, _, md *servingv1alpha1.ModelDeployment) (admission.Warnings, error) {
	return nil, validateDeployment(md)
}

// ValidateDelete allows every deletion.
func (DeploymentValidator) ValidateDelete(context.Context, *servingv1alpha1.ModelDeployment) (admission.Warnings, error) {
	return nil, nil
}

func validateDeployment(md *servingv1alpha1.ModelDeployment) error {
	var errs field.ErrorList
	for i, w := range md.Spec.DeploymentWindows {
		if w.TimeZone == "" {
			continue
		}
		if _, err := time.LoadLocation(w.TimeZone); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("spec", "deploymentWindows").Index(i).Child("timeZone"), w.TimeZone,
				"not a time zone of the IANA database, such as Europe/Berlin or America/New_York"))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(servingv1alpha1.GroupVersion.WithKind("ModelDeployment").GroupKind(), md.Name, errs)
}
