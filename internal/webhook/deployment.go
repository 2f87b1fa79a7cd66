package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/window"
)

// +kubebuilder:webhook:path=/mutate-serving-modelgate-dev-v1alpha1-modeldeployment,mutating=true,failurePolicy=fail,sideEffects=None,groups=serving.modelgate.dev,resources=modeldeployments,verbs=create;update,versions=v1alpha1,name=stamp.modeldeployments.serving.modelgate.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-serving-modelgate-dev-v1alpha1-modeldeployment,mutating=false,failurePolicy=fail,sideEffects=None,groups=serving.modelgate.dev,resources=modeldeployments,verbs=create;update,versions=v1alpha1,name=validate.modeldeployments.serving.modelgate.dev,admissionReviewVersions=v1

// DeploymentStamper records who set the emergency override of the deployment
// windows, from the request's identity. It reads and writes annotations only,
// as JSON, so a spec the API schema will refuse reaches the schema's own
// message rather than a decoding error here (mutation runs before schema
// validation).
type DeploymentStamper struct{}

// DeploymentStamperPath is where the stamper is served.
const DeploymentStamperPath = "/mutate-serving-modelgate-dev-v1alpha1-modeldeployment"

// Handle stamps serving.modelgate.dev/window-override-by when the override is
// set or changed, keeps the stamp while it is unchanged (whatever the request
// says), and drops it with the override.
func (DeploymentStamper) Handle(_ context.Context, req admission.Request) admission.Response {
	var obj map[string]any
	if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("reading the ModelDeployment: %w", err))
	}
	var oldMeta, newMeta struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if len(req.OldObject.Raw) > 0 {
		if err := json.Unmarshal(req.OldObject.Raw, &oldMeta); err != nil {
			return admission.Errored(http.StatusBadRequest, fmt.Errorf("reading the ModelDeployment before the change: %w", err))
		}
	}
	if err := json.Unmarshal(req.Object.Raw, &newMeta); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("reading the ModelDeployment's metadata: %w", err))
	}
	annotations := newMeta.Metadata.Annotations
	before := annotations[servingv1alpha1.AnnotationWindowOverrideBy]
	override := annotations[servingv1alpha1.AnnotationWindowOverride]
	stamp := ""
	switch {
	case override == "":
	case oldMeta.Metadata.Annotations[servingv1alpha1.AnnotationWindowOverride] != override:
		stamp = req.UserInfo.Username
	default:
		stamp = oldMeta.Metadata.Annotations[servingv1alpha1.AnnotationWindowOverrideBy]
	}
	if stamp == before {
		return admission.Allowed("")
	}
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	ann, _ := meta["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		meta["annotations"] = ann
	}
	if stamp == "" {
		delete(ann, servingv1alpha1.AnnotationWindowOverrideBy)
	} else {
		ann[servingv1alpha1.AnnotationWindowOverrideBy] = stamp
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}

// DeploymentValidator checks what the API schema cannot.
type DeploymentValidator struct{}

// ValidateCreate refuses deployment windows that cannot be read, such as a
// time zone Go cannot load.
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
	errs := window.Validate(md.Spec.DeploymentWindows)
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(servingv1alpha1.GroupVersion.WithKind("ModelDeployment").GroupKind(), md.Name, errs)
}
