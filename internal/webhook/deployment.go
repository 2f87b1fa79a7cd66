package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/policy"
	"github.com/modelgate/modelgate/internal/window"
)

// +kubebuilder:webhook:path=/mutate-serving-modelgate-dev-v1alpha1-modeldeployment,mutating=true,failurePolicy=fail,sideEffects=None,groups=serving.modelgate.dev,resources=modeldeployments,verbs=create;update,versions=v1alpha1,name=stamp.modeldeployments.serving.modelgate.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-serving-modelgate-dev-v1alpha1-modeldeployment,mutating=false,failurePolicy=fail,sideEffects=None,groups=serving.modelgate.dev,resources=modeldeployments,verbs=create;update,versions=v1alpha1,name=validate.modeldeployments.serving.modelgate.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-serving-modelgate-dev-v1alpha1-modeldeploymentpolicy,mutating=false,failurePolicy=fail,sideEffects=None,groups=serving.modelgate.dev,resources=modeldeploymentpolicies,verbs=create;update,versions=v1alpha1,name=validate.modeldeploymentpolicies.serving.modelgate.dev,admissionReviewVersions=v1

// DeploymentStamper records, from the request's identity, who set the
// emergency override of the deployment windows, who last changed the model
// (version, URI or template: separation of duties), and who set each
// checklist override (sign-offs). It reads and writes annotations and reads
// the few spec fields it compares, as JSON, so a spec the API schema will
// refuse reaches the schema's own message rather than a decoding error here
// (mutation runs before schema validation).
type DeploymentStamper struct{}

// DeploymentStamperPath is where the stamper is served.
const DeploymentStamperPath = "/mutate-serving-modelgate-dev-v1alpha1-modeldeployment"

// stampedView is what the stamper reads of a ModelDeployment.
type stampedView struct {
	Metadata struct {
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		Model struct {
			Version any `json:"version"`
			URI     any `json:"uri"`
		} `json:"model"`
		Template  any `json:"template"`
		Checklist struct {
			Overrides any `json:"overrides"`
		} `json:"checklist"`
	} `json:"spec"`
}

// Handle stamps serving.modelgate.dev/window-override-by when the override is
// set or changed, keeps the stamp while it is unchanged (whatever the request
// says), and drops it with the override; serving.modelgate.dev/spec-changed-by
// and serving.modelgate.dev/overrides-by likewise (see stampsFor).
func (DeploymentStamper) Handle(_ context.Context, req admission.Request) admission.Response {
	var obj map[string]any
	if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("reading the ModelDeployment: %w", err))
	}
	var before, after *stampedView
	if len(req.OldObject.Raw) > 0 {
		before = &stampedView{}
		if err := json.Unmarshal(req.OldObject.Raw, before); err != nil {
			return admission.Errored(http.StatusBadRequest, fmt.Errorf("reading the ModelDeployment before the change: %w", err))
		}
	}
	after = &stampedView{}
	if err := json.Unmarshal(req.Object.Raw, after); err != nil {
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("reading the ModelDeployment's metadata: %w", err))
	}
	who := policy.Signer{User: req.UserInfo.Username, Groups: req.UserInfo.Groups}
	stamps := stampsFor(before, after, who)
	changed := false
	for k, v := range stamps {
		if after.Metadata.Annotations[k] != v {
			changed = true
		}
	}
	if !changed {
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
	for k, v := range stamps {
		if v == "" {
			delete(ann, k)
		} else {
			ann[k] = v
		}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, raw)
}

// stampsFor are the values the stamped annotations must have after a request by
// who that turns before (nil on create) into after; "" removes one. Each is
// computed from before and the request alone, so a value written by hand is
// replaced:
//   - window-override-by: who, when the window override is set or changed;
//     kept while it is unchanged; dropped with it.
//   - spec-changed-by: who, on create and when spec.model.version,
//     spec.model.uri or spec.template changes; kept otherwise.
//   - overrides-by: per checklist override, who set it and their groups
//     (policy.StampOverrides).
func stampsFor(before, after *stampedView, who policy.Signer) map[string]string {
	var old stampedView
	if before != nil {
		old = *before
	}
	out := map[string]string{}

	override := after.Metadata.Annotations[servingv1alpha1.AnnotationWindowOverride]
	switch {
	case override == "":
		out[servingv1alpha1.AnnotationWindowOverrideBy] = ""
	case old.Metadata.Annotations[servingv1alpha1.AnnotationWindowOverride] != override:
		out[servingv1alpha1.AnnotationWindowOverrideBy] = who.User
	default:
		out[servingv1alpha1.AnnotationWindowOverrideBy] = old.Metadata.Annotations[servingv1alpha1.AnnotationWindowOverrideBy]
	}

	changedBy := old.Metadata.Annotations[servingv1alpha1.AnnotationSpecChangedBy]
	if before == nil ||
		!reflect.DeepEqual(old.Spec.Model.Version, after.Spec.Model.Version) ||
		!reflect.DeepEqual(old.Spec.Model.URI, after.Spec.Model.URI) ||
		!reflect.DeepEqual(old.Spec.Template, after.Spec.Template) {
		changedBy = who.User
	}
	out[servingv1alpha1.AnnotationSpecChangedBy] = changedBy

	out[servingv1alpha1.AnnotationOverridesBy] = policy.StampOverrides(
		overridesOf(old.Spec.Checklist.Overrides), overridesOf(after.Spec.Checklist.Overrides),
		policy.ParseSignOffs(old.Metadata.Annotations[servingv1alpha1.AnnotationOverridesBy]), who).String()
	return out
}

// overridesOf reads spec.checklist.overrides leniently: what is not a string
// where one is expected reads as empty, and the schema refuses it later.
func overridesOf(v any) []servingv1alpha1.ChecklistOverride {
	list, _ := v.([]any)
	out := make([]servingv1alpha1.ChecklistOverride, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		str := func(k string) string { s, _ := m[k].(string); return s }
		out = append(out, servingv1alpha1.ChecklistOverride{ID: str("id"), Severity: servingv1alpha1.Severity(str("severity")), Reason: str("reason")})
	}
	return out
}

// +kubebuilder:rbac:groups=serving.modelgate.dev,resources=modeldeploymentpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// DeploymentValidator checks what the API schema cannot: time zones, and the
// ModelDeploymentPolicies that select the ModelDeployment (floors, sign-offs,
// who may override a deployment window), against the request's identity.
type DeploymentValidator struct {
	// Reader lists the policies and reads the namespace's labels (the
	// manager's cached client: namespaces are cached as metadata only).
	Reader client.Reader
	// APIReader reads a namespace the cache has not seen yet (one created a
	// moment ago), rather than refusing a ModelDeployment in it.
	APIReader client.Reader
}

// ValidateCreate refuses deployment windows that cannot be read and a spec
// that asks for less than a policy allows.
func (v DeploymentValidator) ValidateCreate(ctx context.Context, md *servingv1alpha1.ModelDeployment) (admission.Warnings, error) {
	return v.validate(ctx, nil, md)
}

// ValidateUpdate refuses what ValidateCreate does, but lets a ModelDeployment
// admitted before a policy keep the violations it already had (the operator
// holds its next version by the policy's rules); only new ones are refused.
func (v DeploymentValidator) ValidateUpdate(ctx context.Context, oldMD, md *servingv1alpha1.ModelDeployment) (admission.Warnings, error) {
	return v.validate(ctx, oldMD, md)
}

// ValidateDelete allows every deletion.
func (DeploymentValidator) ValidateDelete(context.Context, *servingv1alpha1.ModelDeployment) (admission.Warnings, error) {
	return nil, nil
}

func (v DeploymentValidator) validate(ctx context.Context, oldMD, md *servingv1alpha1.ModelDeployment) (admission.Warnings, error) {
	errs := window.Validate(md.Spec.DeploymentWindows)
	if v.Reader != nil {
		perrs, err := v.validatePolicies(ctx, oldMD, md)
		if err != nil {
			return nil, err
		}
		errs = append(errs, perrs...)
	}
	if len(errs) == 0 {
		return nil, nil
	}
	return nil, apierrors.NewInvalid(servingv1alpha1.GroupVersion.WithKind("ModelDeployment").GroupKind(), md.Name, errs)
}

// validatePolicies judges md by the policies that select it, with the
// overrides signed by the requester, and refuses a window override by a user
// outside the groups a policy allows.
func (v DeploymentValidator) validatePolicies(ctx context.Context, oldMD, md *servingv1alpha1.ModelDeployment) (field.ErrorList, error) {
	var policies servingv1alpha1.ModelDeploymentPolicyList
	if err := v.Reader.List(ctx, &policies); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("listing the ModelDeploymentPolicies: %w", err))
	}
	if len(policies.Items) == 0 {
		return nil, nil
	}
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("reading the admission request: %w", err))
	}
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	err = v.Reader.Get(ctx, client.ObjectKey{Name: md.Namespace}, ns)
	if apierrors.IsNotFound(err) && v.APIReader != nil {
		err = v.APIReader.Get(ctx, client.ObjectKey{Name: md.Namespace}, ns)
	}
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("reading the labels of namespace %s: %w", md.Namespace, err))
	}
	who := policy.Signer{User: req.UserInfo.Username, Groups: req.UserInfo.Groups}

	var before []servingv1alpha1.ChecklistOverride
	recorded := policy.SignOffs{}
	if oldMD != nil {
		before = oldMD.Spec.Checklist.Overrides
		recorded = policy.ParseSignOffs(oldMD.Annotations[servingv1alpha1.AnnotationOverridesBy])
	}
	signOffs := policy.StampOverrides(before, md.Spec.Checklist.Overrides, recorded, who)
	res := policy.Judge(policies.Items, md, ns.Labels, signOffs)
	if !res.Selected() {
		return nil, nil
	}
	had := map[policy.Violation]bool{}
	if oldMD != nil {
		for _, vi := range policy.Judge(policies.Items, oldMD, ns.Labels, recorded).Violations {
			had[vi] = true
		}
	}
	var errs field.ErrorList
	for _, vi := range res.Violations {
		if !had[vi] {
			errs = append(errs, field.Forbidden(field.NewPath(vi.Field), fmt.Sprintf("%s (ModelDeploymentPolicy %s)", vi.Message, vi.Policy)))
		}
	}
	override := md.Annotations[servingv1alpha1.AnnotationWindowOverride]
	if override != "" && (oldMD == nil || oldMD.Annotations[servingv1alpha1.AnnotationWindowOverride] != override) {
		for _, g := range res.Effective.WindowOverride {
			if !who.InAny(g.Groups) {
				errs = append(errs, field.Forbidden(
					field.NewPath("metadata", "annotations").Key(servingv1alpha1.AnnotationWindowOverride),
					fmt.Sprintf("only members of %s may override a deployment window (ModelDeploymentPolicy %s); %s is in none of them",
						strings.Join(g.Groups, ", "), g.Policy, who.User)))
			}
		}
	}
	return errs, nil
}

// PolicyValidator refuses a ModelDeploymentPolicy whose selectors cannot be
// read, which the schema of metav1.LabelSelector does not check (such a
// policy would select nothing), and windows whose time zone Go cannot load.
type PolicyValidator struct{}

// ValidateCreate checks the selectors.
func (PolicyValidator) ValidateCreate(_ context.Context, p *servingv1alpha1.ModelDeploymentPolicy) (admission.Warnings, error) {
	return nil, validatePolicy(p)
}

// ValidateUpdate checks the selectors.
func (PolicyValidator) ValidateUpdate(_ context.Context, _, p *servingv1alpha1.ModelDeploymentPolicy) (admission.Warnings, error) {
	return nil, validatePolicy(p)
}

// ValidateDelete allows every deletion.
func (PolicyValidator) ValidateDelete(context.Context, *servingv1alpha1.ModelDeploymentPolicy) (admission.Warnings, error) {
	return nil, nil
}

func validatePolicy(p *servingv1alpha1.ModelDeploymentPolicy) error {
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
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(servingv1alpha1.GroupVersion.WithKind("ModelDeploymentPolicy").GroupKind(), p.Name, errs)
}
