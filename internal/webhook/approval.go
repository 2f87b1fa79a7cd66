// Package webhook holds modelgate's admission webhooks: ModelApprovals get
// their approver stamped from the authenticated request (as cert-manager does
// for CertificateRequests) and can be neither forged nor edited;
// ModelDeployments get what the API schema cannot check (time zones, the
// platform's ModelDeploymentPolicies) and the identity of whoever overrides
// a deployment window, changes the model or sets a checklist override.
package webhook

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/approval"
	"github.com/modelgate/modelgate/internal/configrollout"
)

// +kubebuilder:webhook:path=/mutate-serving-modelgate-dev-v1alpha1-modelapproval,mutating=true,failurePolicy=fail,sideEffects=None,groups=serving.modelgate.dev,resources=modelapprovals,verbs=create,versions=v1alpha1,name=stamp.modelapprovals.serving.modelgate.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-serving-modelgate-dev-v1alpha1-modelapproval,mutating=false,failurePolicy=fail,sideEffects=None,groups=serving.modelgate.dev,resources=modelapprovals,verbs=create;update,versions=v1alpha1,name=validate.modelapprovals.serving.modelgate.dev,admissionReviewVersions=v1

// ApprovalStamper writes the requester's identity into a new ModelApproval,
// and what it approves: the UID of the ModelDeployment it names and the
// digest of that ModelDeployment's model and template as they are now.
type ApprovalStamper struct {
	Clock clock.PassiveClock
	// Reader reads the ModelDeployment approved; the API server's own copy,
	// since an approval often follows the change it approves at once.
	Reader client.Reader
}

// Default stamps spec.approver, refusing an approval that already names one:
// only the API server knows who is asking. It stamps the digest of what is
// approved from the ModelDeployment as stored now, whatever the user wrote
// there; an approval of a ModelDeployment that does not exist yet gets
// none, and never counts.
func (s *ApprovalStamper) Default(ctx context.Context, ap *servingv1alpha1.ModelApproval) error {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return fmt.Errorf("reading the admission request: %w", err)
	}
	if ap.Spec.Approver != nil {
		return fmt.Errorf("spec.approver is set by modelgate from the identity that creates the ModelApproval: remove it and create the approval again")
	}
	ap.Spec.Approver = &servingv1alpha1.Approver{
		Username:   req.UserInfo.Username,
		UID:        req.UserInfo.UID,
		Groups:     slices.Clone(req.UserInfo.Groups),
		ApprovedAt: metav1.NewTime(s.Clock.Now()),
	}
	ap.Spec.ModelDeploymentUID, ap.Spec.Digest = "", ""
	md := &servingv1alpha1.ModelDeployment{}
	err = s.Reader.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: ap.Spec.ModelDeployment}, md)
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("reading ModelDeployment %s to stamp what is approved: %w", ap.Spec.ModelDeployment, err)
	}
	config, err := configCopies(ctx, s.Reader, md)
	if err != nil {
		return fmt.Errorf("reading the config ModelDeployment %s reads, to stamp what is approved: %w", md.Name, err)
	}
	ap.Spec.ModelDeploymentUID, ap.Spec.Digest = string(md.UID), approval.Digest(md, config...)
	return nil
}

// configCopies names the config copies the spec's revision reads, as the
// reconciler plans them (configrollout.Plan), so an approval binds to the
// config's data as it is now. A Secret's values are read only from one that
// opted in, and only its hash is kept.
func configCopies(ctx context.Context, reader client.Reader, md *servingv1alpha1.ModelDeployment) ([]string, error) {
	if !configrollout.Enabled(md) {
		return nil, nil
	}
	var sources []configrollout.Source
	for _, ref := range configrollout.References(&md.Spec.Template.Spec) {
		src := configrollout.Source{Reference: ref}
		key := client.ObjectKey{Namespace: md.Namespace, Name: ref.Name}
		switch ref.Kind {
		case configrollout.KindConfigMap:
			cm := &corev1.ConfigMap{}
			if err := reader.Get(ctx, key, cm); client.IgnoreNotFound(err) != nil {
				return nil, err
			} else if err == nil {
				src.Found, src.Hash = true, configrollout.ConfigMapHash(cm)
			}
		case configrollout.KindSecret:
			m := &metav1.PartialObjectMetadata{}
			m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
			if err := reader.Get(ctx, key, m); client.IgnoreNotFound(err) != nil {
				return nil, err
			} else if err != nil {
				break
			}
			src.Found = true
			if src.Untracked = configrollout.Untracked(m.Labels, ""); src.Untracked != "" {
				break // not opted in: its values are not read
			}
			secret := &corev1.Secret{}
			if err := reader.Get(ctx, key, secret); apierrors.IsNotFound(err) {
				src.Found = false // deleted since its metadata was read: missing, as the reconciler finds it
				break
			} else if err != nil {
				return nil, err
			}
			if src.Untracked = configrollout.Untracked(secret.Labels, secret.Type); src.Untracked == "" {
				src.Hash = configrollout.SecretHash(secret)
			}
		}
		sources = append(sources, src)
	}
	return configrollout.Names(configrollout.Plan(md, sources)), nil
}

// ApprovalValidator refuses an approver other than the requester and any
// change to an approval once given.
type ApprovalValidator struct{}

// ValidateCreate checks that the stamped approver is the requester: a stamp
// the mutating webhook did not write (or one changed after it) is refused.
func (ApprovalValidator) ValidateCreate(ctx context.Context, ap *servingv1alpha1.ModelApproval) (admission.Warnings, error) {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the admission request: %w", err)
	}
	a := ap.Spec.Approver
	if a == nil || a.Username != req.UserInfo.Username || a.UID != req.UserInfo.UID || !slices.Equal(a.Groups, req.UserInfo.Groups) {
		return nil, fmt.Errorf("spec.approver must be the identity that creates the ModelApproval (%s), as modelgate stamps it; it cannot be given by hand", req.UserInfo.Username)
	}
	return nil, nil
}

// ValidateUpdate refuses any change of the approval itself; labels,
// annotations and finalizers may change.
func (ApprovalValidator) ValidateUpdate(_ context.Context, oldAp, newAp *servingv1alpha1.ModelApproval) (admission.Warnings, error) {
	if !apiequality.Semantic.DeepEqual(oldAp.Spec, newAp.Spec) {
		return nil, fmt.Errorf("a ModelApproval cannot be changed once given: delete it and create another")
	}
	return nil, nil
}

// ValidateDelete lets approvals be withdrawn.
func (ApprovalValidator) ValidateDelete(context.Context, *servingv1alpha1.ModelApproval) (admission.Warnings, error) {
	return nil, nil
}

// Setup registers the webhooks with the manager's webhook server.
func Setup(mgr ctrl.Manager, clk clock.PassiveClock) error {
	if err := ctrl.NewWebhookManagedBy(mgr, &servingv1alpha1.ModelApproval{}).
		WithDefaulter(&ApprovalStamper{Clock: clk, Reader: mgr.GetAPIReader()}).
		WithValidator(ApprovalValidator{}).
		Complete(); err != nil {
		return fmt.Errorf("registering the ModelApproval webhooks: %w", err)
	}
	// The ModelDeployment validator reads policies and namespaces from the
	// cache: informers registered now start with the manager, so the first
	// write after a restart does not wait for them to sync. Best effort: a
	// CRD not established yet is watched on first use instead, and until it
	// is, ModelDeployment writes are refused saying why (fail closed).
	namespaces := &metav1.PartialObjectMetadata{}
	namespaces.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	for _, o := range []client.Object{namespaces, &servingv1alpha1.ModelDeploymentPolicy{}} {
		if _, err := mgr.GetCache().GetInformer(context.Background(), o); err != nil {
			ctrl.Log.WithName("webhook").Info("Cannot watch yet what the ModelDeployment webhook reads; it will on first use", "kind", fmt.Sprintf("%T", o), "error", err.Error())
		}
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &servingv1alpha1.ModelDeployment{}).
		WithValidator(DeploymentValidator{Reader: mgr.GetClient(), APIReader: mgr.GetAPIReader()}).
		Complete(); err != nil {
		return fmt.Errorf("registering the ModelDeployment webhooks: %w", err)
	}
	if err := ctrl.NewWebhookManagedBy(mgr, &servingv1alpha1.ModelDeploymentPolicy{}).
		WithValidator(PolicyValidator{}).
		Complete(); err != nil {
		return fmt.Errorf("registering the ModelDeploymentPolicy webhook: %w", err)
	}
	mgr.GetWebhookServer().Register(DeploymentStamperPath, &webhook.Admission{Handler: DeploymentStamper{}})
	return nil
}
