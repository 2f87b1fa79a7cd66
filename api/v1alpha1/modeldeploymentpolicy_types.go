package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ModelDeploymentPolicy is the least a platform team allows the
// ModelDeployments it selects: a checklist profile and item floors, approvals,
// separation of duties, who may override a deployment window, freezes, the
// analysis a rollout must declare, and where artifacts and images may come
// from. It is cluster-scoped and written by the platform team only; the
// rules every matching policy sets are merged with each ModelDeployment's
// spec, the strictest winning (docs/policy.md).
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=mdp,categories=modelgate
// +kubebuilder:printcolumn:name="Profile",type=string,JSONPath=`.spec.checklist.minimumProfile`,description="The least checklist profile a selected ModelDeployment may use"
// +kubebuilder:printcolumn:name="Strategies",type=string,JSONPath=`.spec.analysis.allowedStrategies`,description="Strategies a selected ModelDeployment may use (empty: any)"
// +kubebuilder:printcolumn:name="Namespaces",type=string,JSONPath=`.spec.namespaceSelector.matchLabels`,priority=1,description="Labels of the namespaces selected"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ModelDeploymentPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says which ModelDeployments the policy selects and the least it
	// allows them.
	// +required
	Spec ModelDeploymentPolicySpec `json:"spec"`

	// status is what modelgate observed of the policy.
	// +optional
	Status ModelDeploymentPolicyStatus `json:"status,omitempty"`
}

// ModelDeploymentPolicyList is a list of ModelDeploymentPolicies.
//
// +kubebuilder:object:root=true
type ModelDeploymentPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ModelDeploymentPolicy `json:"items"`
}

// Annotations stamped by the admission webhook from the request's identity.
// A value written by hand is replaced; a value is kept while what it records
// is unchanged.
const (
	// AnnotationSpecChangedBy names the user who last changed
	// spec.model.version, spec.model.uri or spec.template: under separation
	// of duties that user's approvals of the version do not count.
	AnnotationSpecChangedBy = "serving.modelgate.dev/spec-changed-by"
	// AnnotationOverridesBy records, as a JSON object by item id, who set
	// each of spec.checklist.overrides and the groups the request carried,
	// so that a sign-off a policy asks for can be judged after admission.
	AnnotationOverridesBy = "serving.modelgate.dev/overrides-by"
)

// ModelDeploymentPolicySpec selects ModelDeployments and sets the least they
// may ask for. Every block is optional; a block left out sets nothing.
type ModelDeploymentPolicySpec struct {
	// namespaceSelector selects the namespaces whose ModelDeployments the
	// policy governs, by the namespaces' labels. {} selects every namespace.
	// +required
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`

	// selector further selects ModelDeployments by their own labels. Empty or
	// absent selects every ModelDeployment of the selected namespaces.
	// +optional
	Selector *metav1.LabelSelector `json:"selector,omitempty"`

	// checklist sets the least checklist profile and per-item floors.
	// +optional
	Checklist *PolicyChecklist `json:"checklist,omitempty"`

	// approvals adds required sign-offs to the ModelDeployment's own and
	// sets separation of duties.
	// +optional
	Approvals *PolicyApprovals `json:"approvals,omitempty"`

	// windows says who may override the deployment windows, and adds windows
	// and freezes of the platform's own.
	// +optional
	Windows *PolicyWindows `json:"windows,omitempty"`

	// analysis is what a rollout must declare: the strategies allowed, the
	// rollback triggers, a least canary duration and bake.
	// +optional
	Analysis *PolicyAnalysis `json:"analysis,omitempty"`

	// sources limits where the model artifact and the container images may
	// come from.
	// +optional
	Sources *PolicySources `json:"sources,omitempty"`
}

// PolicyChecklist sets floors under the checklist a ModelDeployment asks for.
type PolicyChecklist struct {
	// minimumProfile is the least profile a ModelDeployment may select:
	// production > staging > development. A spec asking for less is refused
	// at admission and judged by this profile.
	// +optional
	MinimumProfile ChecklistProfile `json:"minimumProfile,omitempty"`

	// items set a floor severity on single checklist items (catalogue items
	// or attested items, by id): an override below the floor is refused,
	// unless the item names groups whose members may sign it off.
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=id
	// +optional
	Items []PolicyChecklistItem `json:"items,omitempty"`
}

// PolicyChecklistItem is the floor of one checklist item.
// +kubebuilder:validation:XValidation:rule="self.minimumSeverity != 'Off'",message="minimumSeverity Off sets no floor: use Warn or Enforce, or leave the item out",fieldPath=".minimumSeverity"
type PolicyChecklistItem struct {
	// id of the checklist item, such as pdb or network-policy.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	ID string `json:"id"`

	// minimumSeverity is the least severity the item may have: with Enforce
	// an override to Warn or Off is refused.
	// +kubebuilder:default=Enforce
	// +optional
	MinimumSeverity Severity `json:"minimumSeverity,omitempty"`

	// overrideGroups are the groups whose members may set an override below
	// the floor (their sign-off). Empty: nobody may.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	// +optional
	OverrideGroups []string `json:"overrideGroups,omitempty"`
}

// PolicyApprovals adds sign-offs and says whether authors may approve their
// own change.
type PolicyApprovals struct {
	// required roles, each with the groups allowed to give it, added to the
	// ModelDeployment's spec.approvals. For a role both name, an approval
	// must come from a group both allow.
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=role
	// +optional
	Required []RequiredApproval `json:"required,omitempty"`

	// allowSelfApproval lets an approval by the user who last changed the
	// model version, its URI or the template count. By default (false) such
	// an approval counts for no role: separation of duties.
	// +optional
	AllowSelfApproval bool `json:"allowSelfApproval,omitempty"`
}

// PolicyWindows governs when rollouts move and who may override that.
type PolicyWindows struct {
	// overrideGroups are the groups whose members may set the
	// serving.modelgate.dev/window-override annotation. Empty: anyone who
	// may edit the ModelDeployment, as without a policy.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	// +optional
	OverrideGroups []string `json:"overrideGroups,omitempty"`

	// allowed are windows a rollout must also be inside, besides the
	// ModelDeployment's own spec.deploymentWindows.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	Allowed []DeploymentWindow `json:"allowed,omitempty"`

	// freezes are periods in which no rollout moves (a rollback still does).
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Freezes []Freeze `json:"freezes,omitempty"`
}

// Freeze is a period in which rollouts are held.
// +kubebuilder:validation:XValidation:rule="timestamp(self.end) > timestamp(self.start)",message="end must be after start",fieldPath=".end"
type Freeze struct {
	// start of the freeze, an RFC 3339 time such as 2026-12-20T00:00:00Z.
	// +required
	Start metav1.Time `json:"start"`

	// end of the freeze, after start.
	// +required
	End metav1.Time `json:"end"`

	// reason of the freeze, shown to the teams it holds.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Reason string `json:"reason"`
}

// TriggerName names a built-in rollback trigger of spec.analysis.triggers.
// +kubebuilder:validation:Enum=errorRate;latencyP95;accuracyDrop
type TriggerName string

const (
	TriggerErrorRate    TriggerName = "errorRate"
	TriggerLatencyP95   TriggerName = "latencyP95"
	TriggerAccuracyDrop TriggerName = "accuracyDrop"
)

// PolicyAnalysis is what a rollout must declare.
type PolicyAnalysis struct {
	// allowedStrategies are the strategies a ModelDeployment may use. Empty:
	// any.
	// +kubebuilder:validation:MaxItems=5
	// +listType=set
	// +optional
	AllowedStrategies []StrategyType `json:"allowedStrategies,omitempty"`

	// requiredTriggers are the rollback triggers spec.analysis.triggers must
	// declare.
	// +kubebuilder:validation:MaxItems=3
	// +listType=set
	// +optional
	RequiredTriggers []TriggerName `json:"requiredTriggers,omitempty"`

	// minCanaryDuration is the least time a Canary's timed pauses must add up
	// to (a pause without duration, which waits for a person, counts as none).
	// Other strategies are not concerned.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="must be a duration such as 10m or 1h"
	// +optional
	MinCanaryDuration *metav1.Duration `json:"minCanaryDuration,omitempty"`

	// minBake is the least spec.analysis.bake.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s')",message="must be a duration such as 10m or 1h"
	// +optional
	MinBake *metav1.Duration `json:"minBake,omitempty"`
}

// PolicySources limits where a model and its server come from.
type PolicySources struct {
	// artifactURIPrefixes: spec.model.uri must start with one of them, such
	// as oci://registry.example/models/.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.all(p, p.matches('^(https|oci|s3|gs|pvc)://.+'))",message="each prefix must start with a scheme modelgate reads (https://, oci://, s3://, gs:// or pvc://) followed by a host or bucket"
	// +listType=set
	// +optional
	ArtifactURIPrefixes []string `json:"artifactURIPrefixes,omitempty"`

	// imageRegistries: every container image of spec.template (init
	// containers included) must start with one of them, such as
	// registry.example/ml/.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	// +optional
	ImageRegistries []string `json:"imageRegistries,omitempty"`
}

// ModelDeploymentPolicyStatus is what modelgate observed of a policy.
type ModelDeploymentPolicyStatus struct {
	// observedGeneration is the generation of the policy the ModelDeployments
	// it selects were last judged by.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions of the policy, such as Ready.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}
