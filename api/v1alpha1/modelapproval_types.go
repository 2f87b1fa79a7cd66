package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ModelApprovalSpec is one sign-off: a role's approval of one version of one
// ModelDeployment, or of one attested checklist item of that version.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a ModelApproval cannot be changed once given: delete it and create another"
type ModelApprovalSpec struct {
	// modelDeployment is the name of the ModelDeployment, in the same namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	ModelDeployment string `json:"modelDeployment"`

	// version approved, exactly as spec.model.version names it. An approval
	// counts for that version only.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +required
	Version string `json:"version"`

	// role the approval is given as, such as security or product-owner.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Role string `json:"role"`

	// item, when set, is the id of an attested checklist item
	// (spec.checklist.attestations) this approval ticks, rather than the
	// version's sign-off for the role.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Item string `json:"item,omitempty"`

	// comment of the approver.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Comment string `json:"comment,omitempty"`

	// approver is stamped by modelgate's admission webhook from the identity
	// that created the object; one set by the user is refused.
	// +optional
	Approver *Approver `json:"approver,omitempty"`

	// modelDeploymentUID is stamped at admission: the UID of the
	// ModelDeployment approved, so an approval does not carry over to another
	// object of the same name. Empty when it did not exist then.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	ModelDeploymentUID string `json:"modelDeploymentUID,omitempty"`

	// digest is stamped at admission: a digest of what was approved (the
	// ModelDeployment's name, model version, URI, serving container and pod
	// template, as they were when the approval was created). The approval
	// counts only while the spec still has that digest: any later change of
	// the model or its template needs a new approval.
	// +kubebuilder:validation:MaxLength=80
	// +optional
	Digest string `json:"digest,omitempty"`
}

// Approver is who gave an approval, as the API server authenticated them.
type Approver struct {
	// username of the approver.
	Username string `json:"username"`
	// uid of the approver, if the authenticator gives one.
	// +optional
	UID string `json:"uid,omitempty"`
	// groups the approver belonged to when approving.
	// +listType=atomic
	// +optional
	Groups []string `json:"groups,omitempty"`
	// approvedAt is when the approval was created.
	ApprovedAt metav1.Time `json:"approvedAt"`
}

// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=mapproval,categories=modelgate
// +kubebuilder:printcolumn:name="ModelDeployment",type=string,JSONPath=`.spec.modelDeployment`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.spec.role`
// +kubebuilder:printcolumn:name="Item",type=string,JSONPath=`.spec.item`
// +kubebuilder:printcolumn:name="Approver",type=string,JSONPath=`.spec.approver.username`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ModelApproval is a sign-off that a ModelDeployment's required approvals and
// attested checklist items count. Who gave it is stamped at admission, from
// the request's authenticated identity, and it cannot be edited after.
type ModelApproval struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ModelApprovalSpec `json:"spec"`
}

// +kubebuilder:object:root=true

// ModelApprovalList is a list of ModelApprovals.
type ModelApprovalList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ModelApproval `json:"items"`
}
