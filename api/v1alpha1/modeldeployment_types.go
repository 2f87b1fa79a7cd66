package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ModelDeployment puts one machine-learning model into production: it declares
// the model version, the server that runs it and the readiness checklist it must
// satisfy, and modelgate moves traffic to it by the declared strategy.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=md,categories=modelgate
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.model.version`,description="The model version the spec asks for"
// +kubebuilder:printcolumn:name="Stable",type=string,JSONPath=`.status.stable.version`,description="The version serving all traffic"
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.status.candidate.weight`,description="Percent of traffic on the candidate"
// +kubebuilder:printcolumn:name="Checklist",type=string,JSONPath=`.status.checklist.summary`,description="Checklist items passed out of those enforced"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 52",message="metadata.name must be a DNS-1035 label of at most 52 characters (lower case letters, digits and '-', starting with a letter), because the Services <name>, <name>-stable and <name>-candidate are named after it"
type ModelDeployment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec declares the model, its server, the checklist it must pass and how
	// traffic moves to a new version.
	// +required
	Spec ModelDeploymentSpec `json:"spec"`

	// status is what modelgate observed and decided, written once per reconcile.
	// +optional
	Status ModelDeploymentStatus `json:"status,omitempty"`
}

// ModelDeploymentList is a list of ModelDeployments.
//
// +kubebuilder:object:root=true
type ModelDeploymentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ModelDeployment `json:"items"`
}

// Annotations that control a rollout by hand. Each carries a request token
// (any new value, such as a timestamp); a value is handled once and echoed in
// status.requests.
const (
	// AnnotationPromote moves a rollout to its next step, past a pause.
	AnnotationPromote = "serving.modelgate.dev/promote"
	// AnnotationPromoteFull promotes the candidate at once, skipping the remaining steps.
	AnnotationPromoteFull = "serving.modelgate.dev/promote-full"
	// AnnotationAbort rolls the candidate back now; its value is recorded as the reason.
	AnnotationAbort = "serving.modelgate.dev/abort"
	// AnnotationRetry tries a rolled-back version again without editing the spec.
	AnnotationRetry = "serving.modelgate.dev/retry"
	// AnnotationWindowOverride lets a rollout move outside its deployment
	// windows; its value says why. It is an emergency control: history
	// records it with who set it.
	AnnotationWindowOverride = "serving.modelgate.dev/window-override"
	// AnnotationWindowOverrideBy is stamped by the admission webhook with the
	// user who set the override; a value given by hand is replaced.
	AnnotationWindowOverrideBy = "serving.modelgate.dev/window-override-by"
	// AnnotationPromoteBy, AnnotationPromoteFullBy, AnnotationAbortBy and
	// AnnotationRetryBy are stamped by the admission webhook with the user
	// who set the manual control of the same name (RequesterAnnotation);
	// values given by hand are replaced. status.requests and the history
	// record them.
	AnnotationPromoteBy     = AnnotationPromote + "-by"
	AnnotationPromoteFullBy = AnnotationPromoteFull + "-by"
	AnnotationAbortBy       = AnnotationAbort + "-by"
	AnnotationRetryBy       = AnnotationRetry + "-by"

	// LabelManagerReadable opts a Secret in to being read by modelgate's
	// manager on a ModelDeployment's behalf (a Prometheus bearer token, a
	// notification receiver's URL), with the value "true". Without it, a
	// namespace user who may not read Secrets could name any Secret of the
	// namespace and have its value sent to an address of their choosing.
	LabelManagerReadable = "serving.modelgate.dev/manager-readable"
)

// ConfigRolloutMode says whether config changes roll out as revisions.
// +kubebuilder:validation:Enum=On;Off
type ConfigRolloutMode string

// The modes of spec.configRollout.
const (
	ConfigRolloutOn  ConfigRolloutMode = "On"
	ConfigRolloutOff ConfigRolloutMode = "Off"
)

// ModelDeploymentSpec is the desired state of a ModelDeployment.
type ModelDeploymentSpec struct {
	// model names the model version to serve and where its artifact lives.
	// +required
	Model ModelSpec `json:"model"`

	// replicas is the number of model-server pods serving traffic when no rollout
	// is in progress. During a rollout the pods are split between versions.
	// The scale subresource exposes it, so a HorizontalPodAutoscaler may target
	// the ModelDeployment itself. At most 100000.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// template is the pod template of the model server. Its labels and
	// annotations reach every version's pods (and its labels every version's
	// Deployment) beside modelgate's own labels, which a template may not set:
	// app.kubernetes.io/name, app.kubernetes.io/managed-by and
	// serving.modelgate.dev/version. modelgate injects MODEL_NAME, MODEL_VERSION
	// and MODEL_URI into the serving container's environment. A change here makes
	// a new candidate like a new model version does.
	// +kubebuilder:validation:XValidation:rule="!has(self.metadata) || !has(self.metadata.labels) || !('app.kubernetes.io/name' in self.metadata.labels)",message="may not set app.kubernetes.io/name: modelgate sets it to the ModelDeployment's name, and its Services select the pods by it",fieldPath=".metadata.labels",reason=FieldValueForbidden
	// +kubebuilder:validation:XValidation:rule="!has(self.metadata) || !has(self.metadata.labels) || !('app.kubernetes.io/managed-by' in self.metadata.labels)",message="may not set app.kubernetes.io/managed-by: modelgate sets it to modelgate, and its Services select the pods by it",fieldPath=".metadata.labels",reason=FieldValueForbidden
	// +kubebuilder:validation:XValidation:rule="!has(self.metadata) || !has(self.metadata.labels) || !('serving.modelgate.dev/version' in self.metadata.labels)",message="may not set serving.modelgate.dev/version: modelgate sets it to each version's own, and its Services select a version by it",fieldPath=".metadata.labels",reason=FieldValueForbidden
	// +required
	Template corev1.PodTemplateSpec `json:"template"`

	// servingContainer names the container in the template that serves the
	// model. Defaults to the first container.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	ServingContainer string `json:"servingContainer,omitempty"`

	// revisionHistoryLimit is how many revisions (a version's pod template
	// and model, kept in a ControllerRevision each) are kept beyond those
	// that run, for rollbacks and the semver check. Default 10.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +optional
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`

	// configRollout: On makes a change of the ConfigMaps and Secrets the
	// template references a new revision, each revision reading an immutable
	// copy; Off lets pods read the live objects. docs/config-rollouts.md.
	// +kubebuilder:default=On
	// +optional
	ConfigRollout ConfigRolloutMode `json:"configRollout,omitempty"`

	// service describes the Services modelgate creates in front of the model:
	// <name> for users; <name>-stable and <name>-candidate, one version each,
	// where the strategy uses them (router, BlueGreen, smoke or load test).
	// +kubebuilder:default={}
	// +optional
	Service ServiceSpec `json:"service,omitempty"`

	// documentation links the documents the checklist's Documentation section asks for.
	// +optional
	Documentation *DocumentationSpec `json:"documentation,omitempty"`

	// checklist selects the readiness checklist profile and adjusts it.
	// +kubebuilder:default={}
	// +optional
	Checklist ChecklistSpec `json:"checklist,omitempty"`

	// strategy says how traffic moves from the stable version to a candidate.
	// +kubebuilder:default={type: Rolling}
	// +optional
	Strategy StrategySpec `json:"strategy,omitempty"`

	// analysis declares what is measured while traffic moves and during bake,
	// and the rollback triggers.
	// +optional
	Analysis *AnalysisSpec `json:"analysis,omitempty"`

	// alerts tunes the Prometheus alerts written for the triggers (docs/alerts.md).
	// +optional
	Alerts *AlertsSpec `json:"alerts,omitempty"`

	// approvals lists the sign-offs a candidate needs before it gets traffic.
	// +optional
	Approvals *ApprovalsSpec `json:"approvals,omitempty"`

	// deploymentWindows limit when a rollout may move traffic. Empty means any
	// time. A rollback is never held by a window.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	DeploymentWindows []DeploymentWindow `json:"deploymentWindows,omitempty"`

	// notifications are sent when a check fails, a rollout waits for approval,
	// a step moves, a version is promoted or rolled back.
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=name
	// +optional
	Notifications []Notification `json:"notifications,omitempty"`

	// paused freezes a rollout at its current step. Rollbacks still happen.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// ModelSpec identifies a model version and its artifact.
type ModelSpec struct {
	// name of the model, as its registry and model card know it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// version of the model, a semantic version MAJOR.MINOR.PATCH with optional
	// pre-release and build metadata (https://semver.org), without a leading "v".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.matches('^(0|[1-9][0-9]*)[.](0|[1-9][0-9]*)[.](0|[1-9][0-9]*)(-((0|[1-9][0-9]*|[0-9]*[a-zA-Z-][a-zA-Z0-9-]*)([.](0|[1-9][0-9]*|[0-9]*[a-zA-Z-][a-zA-Z0-9-]*))*))?([+]([0-9a-zA-Z-]+([.][0-9a-zA-Z-]+)*))?$')",message="must be a semantic version MAJOR.MINOR.PATCH such as 2.3.0 or 2.3.0-rc.1, without a leading v"
	// +required
	Version string `json:"version"`

	// uri locates the model artifact: https://, oci://, s3://, gs:// or pvc://.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^(https|oci|s3|gs|pvc)://[^ ]+$')",message="must be a URI with scheme https, oci, s3, gs or pvc, such as oci://registry.example/models/fraud-scorer:2.3.0"
	// +required
	URI string `json:"uri"`

	// registry points at the model's entry in an MLflow-compatible model registry.
	// +optional
	Registry *ModelRegistryRef `json:"registry,omitempty"`

	// modelCard points at the model card: a ConfigMap in the same namespace or a URL.
	// +optional
	ModelCard *ModelCardRef `json:"modelCard,omitempty"`

	// evaluation holds the validation results the model shipped with, by metric
	// name, as decimal strings (for example accuracy: "0.94").
	// +kubebuilder:validation:MaxProperties=32
	// +optional
	Evaluation map[string]Decimal `json:"evaluation,omitempty"`
}

// Decimal is a decimal number written as a string, such as "0.94" or "-1.5".
// +kubebuilder:validation:MaxLength=32
// +kubebuilder:validation:XValidation:rule="self.matches('^-?[0-9]+([.][0-9]+)?$')",message="must be a decimal number such as 0.94"
type Decimal string

// Percent is a decimal number from 0 to 100 written as a string, such as "5" or "0.5".
// +kubebuilder:validation:MaxLength=16
// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]+([.][0-9]+)?$') && double(self) <= 100.0",message="must be a percent from 0 to 100, such as \"5\" or \"0.5\""
type Percent string

// URL is an absolute http or https URL.
// +kubebuilder:validation:MaxLength=2048
// +kubebuilder:validation:XValidation:rule="self.matches('^https?://[^ ]+$')",message="must be an http:// or https:// URL"
type URL string

// ModelRegistryRef names a model version in an MLflow-compatible registry.
type ModelRegistryRef struct {
	// url of the registry's REST API, such as http://mlflow.ml:5000.
	// +required
	URL URL `json:"url"`

	// name of the registered model. Defaults to spec.model.name.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Name string `json:"name,omitempty"`

	// version of the registered model in the registry (MLflow numbers them "1", "2", ...).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Version string `json:"version"`
}

// ModelCardRef points at a model card. Exactly one of configMapRef and url is set.
// +kubebuilder:validation:XValidation:rule="has(self.configMapRef) != has(self.url)",message="set exactly one of configMapRef and url"
type ModelCardRef struct {
	// configMapRef names a ConfigMap in the ModelDeployment's namespace holding the card.
	// +optional
	ConfigMapRef *ConfigMapKeyReference `json:"configMapRef,omitempty"`

	// url of the model card document.
	// +optional
	URL URL `json:"url,omitempty"`
}

// ConfigMapKeyReference names a ConfigMap and optionally one key in it.
type ConfigMapKeyReference struct {
	// name of the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// key in the ConfigMap holding the card, as Markdown. Empty means every key
	// is a section of the card.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Key string `json:"key,omitempty"`
}

// SecretKeyReference names a key in a Secret in the ModelDeployment's namespace.
type SecretKeyReference struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// key in the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Key string `json:"key"`
}

// ServiceSpec describes the Services in front of the model server.
type ServiceSpec struct {
	// port the Services listen on.
	// +kubebuilder:default=8080
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`

	// targetPort on the pods, a number or a container port name. Defaults to port.
	// +optional
	TargetPort *intstr.IntOrString `json:"targetPort,omitempty"`

	// metricsPort is the container port serving Prometheus metrics, for the
	// checklist's monitoring item and the analysis queries.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	MetricsPort *int32 `json:"metricsPort,omitempty"`
}

// DocumentationSpec links the documents a production model needs.
type DocumentationSpec struct {
	// runbook for the operations team.
	// +optional
	Runbook URL `json:"runbook,omitempty"`

	// rollbackProcedure documents the rollback, step by step.
	// +optional
	RollbackProcedure URL `json:"rollbackProcedure,omitempty"`

	// apiDocs documents the model's API.
	// +optional
	APIDocs URL `json:"apiDocs,omitempty"`

	// architecture links the deployment architecture diagram.
	// +optional
	Architecture URL `json:"architecture,omitempty"`
}

// ChecklistProfile selects the default severity of every checklist item.
// +kubebuilder:validation:Enum=production;staging;development
type ChecklistProfile string

const (
	ProfileProduction  ChecklistProfile = "production"
	ProfileStaging     ChecklistProfile = "staging"
	ProfileDevelopment ChecklistProfile = "development"
)

// Severity says what a failing checklist item does.
// Enforce blocks the candidate from traffic, Warn records it, Off skips the item.
// +kubebuilder:validation:Enum=Enforce;Warn;Off
type Severity string

const (
	SeverityEnforce Severity = "Enforce"
	SeverityWarn    Severity = "Warn"
	SeverityOff     Severity = "Off"
)

// ChecklistSpec selects and adjusts the readiness checklist.
type ChecklistSpec struct {
	// profile sets the default severity of every item: production enforces the
	// most, development the least.
	// +kubebuilder:default=production
	// +optional
	Profile ChecklistProfile `json:"profile,omitempty"`

	// overrides change the severity of single items, each with a reason that
	// shows in status.
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=id
	// +optional
	Overrides []ChecklistOverride `json:"overrides,omitempty"`

	// attestations declare items the cluster cannot verify (code review, security
	// scan, legal review ...), ticked by an approval from the named role.
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=id
	// +optional
	Attestations []Attestation `json:"attestations,omitempty"`

	// minimumEvaluation declares the least value each evaluation metric must
	// reach, by metric name (for example accuracy: "0.9").
	// +kubebuilder:validation:MaxProperties=32
	// +optional
	MinimumEvaluation map[string]Decimal `json:"minimumEvaluation,omitempty"`

	// allowedRegistries are image registry prefixes whose images need not be
	// pinned by digest (for example registry.example/ml/).
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	// +optional
	AllowedRegistries []string `json:"allowedRegistries,omitempty"`
}

// ChecklistOverride changes the severity of one checklist item.
type ChecklistOverride struct {
	// id of the checklist item, such as network-policy.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	ID string `json:"id"`

	// severity the item gets instead of the profile's.
	// +required
	Severity Severity `json:"severity"`

	// reason for the override, shown in status beside the item.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +required
	Reason string `json:"reason"`
}

// Attestation declares a checklist item that a person attests.
type Attestation struct {
	// id of the item, such as security-scan.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	ID string `json:"id"`

	// section of the checklist the item belongs to, such as Vulnerability Assessment.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Section string `json:"section,omitempty"`

	// role that may attest the item.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Role string `json:"role"`

	// evidence links what backs the attestation, such as a scan report.
	// +optional
	Evidence URL `json:"evidence,omitempty"`
}

// StrategyType names how traffic moves to a candidate.
// +kubebuilder:validation:Enum=Canary;BlueGreen;Shadow;ABTest;Rolling
type StrategyType string

const (
	StrategyCanary    StrategyType = "Canary"
	StrategyBlueGreen StrategyType = "BlueGreen"
	StrategyShadow    StrategyType = "Shadow"
	StrategyABTest    StrategyType = "ABTest"
	StrategyRolling   StrategyType = "Rolling"
)

// StrategySpec says how traffic moves from the stable version to a candidate.
// The block named by type is required and no other strategy block may be set.
// +kubebuilder:validation:XValidation:rule="self.type != 'Canary' || has(self.canary)",message="spec.strategy.canary is required when type is Canary",fieldPath=".canary"
// +kubebuilder:validation:XValidation:rule="self.type != 'BlueGreen' || has(self.blueGreen)",message="spec.strategy.blueGreen is required when type is BlueGreen",fieldPath=".blueGreen"
// +kubebuilder:validation:XValidation:rule="self.type != 'Shadow' || has(self.shadow)",message="spec.strategy.shadow is required when type is Shadow",fieldPath=".shadow"
// +kubebuilder:validation:XValidation:rule="self.type != 'ABTest' || has(self.abTest)",message="spec.strategy.abTest is required when type is ABTest",fieldPath=".abTest"
// +kubebuilder:validation:XValidation:rule="!has(self.canary) || self.type == 'Canary'",message="spec.strategy.canary is set but type is not Canary",fieldPath=".canary"
// +kubebuilder:validation:XValidation:rule="!has(self.blueGreen) || self.type == 'BlueGreen'",message="spec.strategy.blueGreen is set but type is not BlueGreen",fieldPath=".blueGreen"
// +kubebuilder:validation:XValidation:rule="!has(self.shadow) || self.type == 'Shadow'",message="spec.strategy.shadow is set but type is not Shadow",fieldPath=".shadow"
// +kubebuilder:validation:XValidation:rule="!has(self.abTest) || self.type == 'ABTest'",message="spec.strategy.abTest is set but type is not ABTest",fieldPath=".abTest"
// +kubebuilder:validation:XValidation:rule="!has(self.rolling) || self.type == 'Rolling'",message="spec.strategy.rolling is set but type is not Rolling",fieldPath=".rolling"
// +kubebuilder:validation:XValidation:rule="!(self.type in ['Shadow', 'ABTest']) || (has(self.trafficRouting) && has(self.trafficRouting.gatewayAPI))",message="spec.strategy.trafficRouting.gatewayAPI is required for Shadow and ABTest: mirroring and header matching need a router (a Gateway API HTTPRoute)",fieldPath=".trafficRouting"
type StrategySpec struct {
	// type of the strategy. Rolling replaces the old version as the new one
	// becomes available; Canary moves weight step by step; BlueGreen switches all
	// traffic at once after a preview; Shadow mirrors traffic to the candidate
	// without serving its answers; ABTest sends a matched cohort to the candidate.
	// +kubebuilder:default=Rolling
	// +optional
	Type StrategyType `json:"type,omitempty"`

	// canary configures the Canary strategy.
	// +optional
	Canary *CanaryStrategy `json:"canary,omitempty"`

	// blueGreen configures the BlueGreen strategy.
	// +optional
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`

	// shadow configures the Shadow strategy.
	// +optional
	Shadow *ShadowStrategy `json:"shadow,omitempty"`

	// abTest configures the ABTest strategy.
	// +optional
	ABTest *ABTestStrategy `json:"abTest,omitempty"`

	// rolling configures the Rolling strategy.
	// +optional
	Rolling *RollingStrategy `json:"rolling,omitempty"`

	// trafficRouting names the router that splits traffic. Without one, a canary
	// weight is approximated by the ratio of replicas behind the <name> Service.
	// +optional
	TrafficRouting *TrafficRouting `json:"trafficRouting,omitempty"`

	// progressDeadline is how long a candidate may take to become available
	// before it is rolled back. At most 24h.
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('24h')",message="must be a positive duration of at most 24h"
	// +optional
	ProgressDeadline *metav1.Duration `json:"progressDeadline,omitempty"`
}

// CanaryStrategy moves traffic to the candidate in steps.
type CanaryStrategy struct {
	// steps move traffic to the candidate. Weights increase from step to step.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:XValidation:rule="self.all(i, s, i == 0 || s.weight > self[i - 1].weight)",message="weights must increase from step to step: each step's weight must be above the weight of the step before it"
	// +listType=atomic
	// +required
	Steps []CanaryStep `json:"steps"`
}

// CanaryStep is one step of a canary.
type CanaryStep struct {
	// weight is the percent of traffic the candidate gets at this step.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +required
	Weight int32 `json:"weight"`

	// pause holds the step. Without a duration it waits for a manual promote.
	// Without a pause the step moves on as soon as its analysis passes.
	// +optional
	Pause *Pause `json:"pause,omitempty"`
}

// Pause holds a rollout step for a duration, or until promoted.
type Pause struct {
	// duration of the pause, at most 24h. Empty waits for a manual promote.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('24h')",message="must be a positive duration of at most 24h"
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// BlueGreenStrategy previews the candidate at full size, then switches all traffic.
type BlueGreenStrategy struct {
	// autoPromotion switches traffic as soon as the preview passes its gates.
	// When false the switch waits for a manual promote.
	// +kubebuilder:default=true
	// +optional
	AutoPromotion *bool `json:"autoPromotion,omitempty"`

	// scaleDownDelay keeps the old version at full size after the switch, so a
	// rollback is instant. At most 24h.
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('24h')",message="must be a duration from 0s to 24h"
	// +optional
	ScaleDownDelay *metav1.Duration `json:"scaleDownDelay,omitempty"`
}

// ShadowStrategy mirrors live traffic to the candidate; its answers are never served.
type ShadowStrategy struct {
	// mirrorPercent is the percent of live requests copied to the candidate.
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	MirrorPercent int32 `json:"mirrorPercent,omitempty"`

	// duration of the shadow phase before the analysis decides, at most 168h
	// (a week).
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('168h')",message="must be a positive duration of at most 168h"
	// +required
	Duration metav1.Duration `json:"duration"`
}

// ABTestStrategy sends a cohort of requests, matched by header or cookie, to the candidate.
// +kubebuilder:validation:XValidation:rule="size(self.headers) + size(self.cookies) > 0",message="declare at least one header or cookie that selects the candidate's cohort"
type ABTestStrategy struct {
	// headers that select the candidate's cohort, all of which must match.
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:default={}
	// +listType=atomic
	// +optional
	Headers []Match `json:"headers"`

	// cookies that select the candidate's cohort. At most one: every cookie
	// travels in the one Cookie header, and a Gateway API match judges a header
	// once, by a regular expression that cannot require several cookies in any
	// order.
	// +kubebuilder:validation:MaxItems=1
	// +kubebuilder:default={}
	// +listType=atomic
	// +optional
	Cookies []Match `json:"cookies"`

	// duration of the test before the analysis decides, at most 720h (30
	// days).
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('720h')",message="must be a positive duration of at most 720h"
	// +required
	Duration metav1.Duration `json:"duration"`

	// replicas of the candidate during the test, sized for its cohort's
	// traffic, which only the user knows. Defaults to half of the stable
	// version's replicas, rounded up. At most 100000.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
}

// Match is an exact match on a header or cookie.
type Match struct {
	// name of the header or cookie.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +required
	Name string `json:"name"`

	// value it must have.
	// +kubebuilder:validation:MaxLength=4096
	// +required
	Value string `json:"value"`
}

// RollingStrategy replaces the old version as the new one becomes available.
type RollingStrategy struct {
	// maxSurge is how many pods above spec.replicas a new version may add
	// while it replaces the old one (an absolute number or a percent of
	// spec.replicas, rounded up): across the two versions' Deployments for a
	// new version, and within the Deployment's own rolling update for a
	// changed template of the same version. Default 25%. At most 100000
	// pods or 100%.
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 && self <= 100000 : self.matches('^(100|[1-9]?[0-9])%$')",message="must be a number of pods from 0 to 100000 or a percent from 0% to 100%"
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`

	// maxUnavailable is how many of spec.replicas may be unavailable while a
	// new version replaces the old one (rounded down), across the two
	// versions' Deployments and within a Deployment's own rolling update.
	// Default 25%; when both come to zero one pod of surge is allowed. At
	// most 100000 pods or 100%.
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 0 && self <= 100000 : self.matches('^(100|[1-9]?[0-9])%$')",message="must be a number of pods from 0 to 100000 or a percent from 0% to 100%"
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
}

// TrafficRouting names the router that splits traffic between versions.
type TrafficRouting struct {
	// gatewayAPI routes traffic with a Gateway API HTTPRoute.
	// +optional
	GatewayAPI *GatewayAPIRouting `json:"gatewayAPI,omitempty"`
}

// GatewayAPIRouting names the HTTPRoute whose backend weights modelgate sets.
// The route stays the user's: modelgate rewrites only the backends of the
// rules that send traffic to the ModelDeployment's Services (<name>,
// <name>-stable or <name>-candidate), to <name>-stable and <name>-candidate
// with the weights of the rollout, and adds (then removes) its own mirror
// filter and A/B cohort rules.
type GatewayAPIRouting struct {
	// httpRoute is the name of an HTTPRoute in the ModelDeployment's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	HTTPRoute string `json:"httpRoute"`
}

// NoDataPolicy says what a measurement without data does.
// +kubebuilder:validation:Enum=Pause;Fail;Ignore
type NoDataPolicy string

const (
	NoDataPause  NoDataPolicy = "Pause"
	NoDataFail   NoDataPolicy = "Fail"
	NoDataIgnore NoDataPolicy = "Ignore"
)

// AnalysisSpec declares what is measured while traffic moves and during bake.
type AnalysisSpec struct {
	// interval between measurements, at most 1h.
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('1h')",message="must be a positive duration of at most 1h"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// prometheus is where the measurements are queried.
	// +optional
	Prometheus *PrometheusSpec `json:"prometheus,omitempty"`

	// triggers are the built-in rollback triggers of the checklist.
	// +optional
	Triggers *TriggersSpec `json:"triggers,omitempty"`

	// metrics are custom PromQL measurements with bounds.
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=name
	// +optional
	Metrics []CustomMetric `json:"metrics,omitempty"`

	// failureLimit is how many breaching measurements of a version are
	// tolerated, summed over every metric and round, before it is rolled
	// back. Unlike Argo Rollouts' per-metric failureLimit, one count covers
	// the whole analysis (docs/analysis.md).
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +optional
	FailureLimit int32 `json:"failureLimit,omitempty"`

	// consecutiveErrorLimit is how many rounds of analysis in a row with a
	// failed query (Prometheus unreachable, a timeout, a bad query) are
	// tolerated; one more rolls the candidate back, with reason
	// AnalysisFailed. Failed rounds are not breaches and do not count against
	// failureLimit; a round without a failed query resets the count.
	// +kubebuilder:default=4
	// +kubebuilder:validation:Minimum=0
	// +optional
	ConsecutiveErrorLimit int32 `json:"consecutiveErrorLimit,omitempty"`

	// minSampleSize is the least number of requests in a window for a
	// measurement to be judged; below it the measurement has no data.
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=0
	// +optional
	MinSampleSize int32 `json:"minSampleSize,omitempty"`

	// noData says what a measurement without data does: Pause waits (never
	// promotes without data), Fail counts it as a breach, Ignore passes it.
	// +kubebuilder:default=Pause
	// +optional
	NoData NoDataPolicy `json:"noData,omitempty"`

	// smokeTest runs declared requests against the candidate before it gets traffic.
	// +optional
	SmokeTest *SmokeTestSpec `json:"smokeTest,omitempty"`

	// loadTest drives load at the candidate before it gets traffic.
	// +optional
	LoadTest *LoadTestSpec `json:"loadTest,omitempty"`

	// bake is how long the analysis keeps watching after promotion, with the
	// previous version kept warm for an instant rollback. At most 168h (a
	// week).
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('168h')",message="must be a duration from 0s to 168h"
	// +optional
	Bake *metav1.Duration `json:"bake,omitempty"`

	// judge compares the candidate's error rate with the stable version's by
	// a statistical test instead of a bound per interval (docs/drift.md).
	// +optional
	Judge *JudgeSpec `json:"judge,omitempty"`
}

// AlertsSpec tunes the alerts generated from the analysis' triggers.
type AlertsSpec struct {
	// availabilityObjective is the least percent of requests answered
	// without a server error over an hour. Default "99.9".
	// +optional
	AvailabilityObjective Percent `json:"availabilityObjective,omitempty"`

	// for is how long a bound must be crossed before its alert fires, at
	// most 1h. Default 5m.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('1h')",message="must be a duration from 0s to 1h"
	// +optional
	For *metav1.Duration `json:"for,omitempty"`
}

// PrometheusSpec says where and how to query Prometheus.
type PrometheusSpec struct {
	// address of the Prometheus HTTP API, such as http://prometheus.monitoring:9090.
	// +required
	Address URL `json:"address"`

	// timeout of one query, at most 60s.
	// +kubebuilder:default="5s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('60s')",message="must be a positive duration of at most 60s"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// bearerTokenSecretRef names a Secret key holding a bearer token for Prometheus.
	// +optional
	BearerTokenSecretRef *SecretKeyReference `json:"bearerTokenSecretRef,omitempty"`

	// queries override the PromQL templates of the built-in triggers, so any
	// model server's metric names can be used.
	// +optional
	Queries *QueryTemplates `json:"queries,omitempty"`
}

// QueryTemplates are PromQL templates with the variables {{.Namespace}},
// {{.Name}}, {{.Version}} and {{.Window}}.
type QueryTemplates struct {
	// errorRate returns the percent of failed requests.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	ErrorRate string `json:"errorRate,omitempty"`

	// latencyP95 returns the 95th percentile latency in milliseconds.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	LatencyP95 string `json:"latencyP95,omitempty"`

	// accuracy returns the model's accuracy as a ratio from 0 to 1.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Accuracy string `json:"accuracy,omitempty"`

	// requestCount returns the number of requests, for the sample-size floor.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	RequestCount string `json:"requestCount,omitempty"`

	// errorCount returns the number of failed requests, for the judge.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	ErrorCount string `json:"errorCount,omitempty"`

	// predictionScore returns the histogram of prediction scores: one
	// cumulative count per le label, +Inf included.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	PredictionScore string `json:"predictionScore,omitempty"`

	// featureValue returns the histogram of the input feature {{.Feature}}:
	// one cumulative count per le label, +Inf included.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	FeatureValue string `json:"featureValue,omitempty"`
}

// TriggersSpec are the checklist's rollback triggers.
type TriggersSpec struct {
	// errorRate rolls back when the candidate's error rate exceeds the bound.
	// +optional
	ErrorRate *ErrorRateTrigger `json:"errorRate,omitempty"`

	// latencyP95 rolls back when the candidate's 95th percentile latency exceeds the bound.
	// +optional
	LatencyP95 *LatencyTrigger `json:"latencyP95,omitempty"`

	// accuracyDrop rolls back when the candidate's accuracy falls below the
	// stable version's by more than the bound, relative to the stable version.
	// +optional
	AccuracyDrop *AccuracyDropTrigger `json:"accuracyDrop,omitempty"`

	// predictionDrift rolls back when the candidate's prediction scores have
	// moved from the stable version's over the same window.
	// +optional
	PredictionDrift *PredictionDriftTrigger `json:"predictionDrift,omitempty"`

	// inputDrift rolls back when the inputs the candidate receives have moved
	// from the stable version's over the same window, for any feature listed.
	// +optional
	InputDrift *InputDriftTrigger `json:"inputDrift,omitempty"`
}

// ErrorRateTrigger bounds the percent of failed requests.
// +kubebuilder:validation:XValidation:rule="has(self.relativeTo) == has(self.maxIncreasePercent)",message="relativeTo and maxIncreasePercent go together"
type ErrorRateTrigger struct {
	// maxPercent of requests that may fail.
	// +required
	MaxPercent Percent `json:"maxPercent"`

	StableComparison `json:",inline"`
}

// LatencyTrigger bounds the 95th percentile latency.
// +kubebuilder:validation:XValidation:rule="has(self.relativeTo) == has(self.maxIncreasePercent)",message="relativeTo and maxIncreasePercent go together"
type LatencyTrigger struct {
	// maxMilliseconds the 95th percentile may reach, at most 3600000 (1h).
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600000
	// +required
	MaxMilliseconds int32 `json:"maxMilliseconds"`

	StableComparison `json:",inline"`
}

// StableComparison bounds a measurement relative to the stable version's
// over the same window, besides its absolute bound.
type StableComparison struct {
	// relativeTo is the version compared with: Stable.
	// +optional
	RelativeTo Baseline `json:"relativeTo,omitempty"`

	// maxIncreasePercent is how far the candidate's value may exceed the
	// stable's, in percent of it: "50" passes up to 1.5 times the stable's.
	// +optional
	MaxIncreasePercent IncreasePercent `json:"maxIncreasePercent,omitempty"`
}

// Baseline names the version a measurement is compared with.
// +kubebuilder:validation:Enum=Stable
type Baseline string

// BaselineStable is the version serving before the candidate.
const BaselineStable Baseline = "Stable"

// IncreasePercent is a decimal percent of zero or more, written as a string.
// +kubebuilder:validation:MaxLength=16
// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]+([.][0-9]+)?$') && double(self) <= 10000.0",message="must be a percent of zero or more, at most 10000, such as \"50\" or \"200\""
type IncreasePercent string

// PSI is a bound on the Population Stability Index, a positive decimal
// written as a string: by custom 0.1 is a moderate shift, 0.25 a large one.
// +kubebuilder:validation:MaxLength=16
// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]+([.][0-9]+)?$') && double(self) > 0.0",message="must be a positive decimal such as \"0.25\""
type PSI string

// PredictionDriftTrigger bounds how far the distribution of prediction
// scores may move from the stable version's.
type PredictionDriftTrigger struct {
	// maxPSI is the greatest Population Stability Index that passes.
	// +required
	MaxPSI PSI `json:"maxPSI"`

	// minObservations each version needs in the window; fewer is no data.
	// +kubebuilder:default=200
	// +kubebuilder:validation:Minimum=1
	// +optional
	MinObservations int32 `json:"minObservations,omitempty"`
}

// InputDriftTrigger bounds how far the distribution of each listed input
// feature may move from the stable version's.
type InputDriftTrigger struct {
	// maxPSI is the greatest Population Stability Index that passes, per feature.
	// +required
	MaxPSI PSI `json:"maxPSI"`

	// features are the input features compared, by name.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	// +required
	Features []FeatureName `json:"features"`

	// minObservations each version needs in the window; fewer is no data.
	// +kubebuilder:default=200
	// +kubebuilder:validation:Minimum=1
	// +optional
	MinObservations int32 `json:"minObservations,omitempty"`
}

// The name is written into PromQL, hence the narrow alphabet.

// FeatureName is an input feature's name, as the model server labels it.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_.:-]*$`
type FeatureName string

// JudgeMethod names a statistical judge.
// +kubebuilder:validation:Enum=Sequential
type JudgeMethod string

// JudgeSequential compares error rates with confidence sequences that stay
// valid however often they are looked at.
const JudgeSequential JudgeMethod = "Sequential"

// Confidence is a decimal from 0.5 to below 1, written as a string.
// +kubebuilder:validation:MaxLength=16
// +kubebuilder:validation:XValidation:rule="self.matches('^0[.][0-9]+$') && double(self) >= 0.5",message="must be a decimal from 0.5 to below 1, such as \"0.95\""
type Confidence string

// JudgeSpec declares the statistical judge of the candidate against stable.
type JudgeSpec struct {
	// method of the test: Sequential.
	// +required
	Method JudgeMethod `json:"method"`

	// confidence is one minus the greatest chance, over the whole analysis,
	// of rolling back a candidate within the tolerance of stable, or of
	// promoting early one beyond it.
	// +kubebuilder:default="0.95"
	// +optional
	Confidence Confidence `json:"confidence,omitempty"`

	// tolerancePercent is how many percentage points the candidate's error
	// rate may exceed the stable's by: a rollback needs it shown worse by
	// more, an early promotion shown worse by less.
	// +kubebuilder:default="0"
	// +optional
	TolerancePercent Percent `json:"tolerancePercent,omitempty"`

	// promoteEarly lets a canary finish its steps as soon as the judge shows
	// the candidate no worse than stable, other triggers passing.
	// +optional
	PromoteEarly bool `json:"promoteEarly,omitempty"`
}

// AccuracyDropTrigger bounds the accuracy drop against the stable version.
type AccuracyDropTrigger struct {
	// maxPercent the accuracy may drop, relative to the stable version's.
	// +required
	MaxPercent Percent `json:"maxPercent"`
}

// CustomMetric is a PromQL measurement with bounds.
// +kubebuilder:validation:XValidation:rule="has(self.min) || has(self.max)",message="declare min, max or both"
type CustomMetric struct {
	// name of the measurement, shown in status. The names of the built-in
	// measurements (requestCount, errorRate, latencyP95, accuracy,
	// accuracyDrop) are reserved.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="!(self in ['requestCount', 'errorRate', 'latencyP95', 'accuracy', 'accuracyDrop'])",message="is the name of a built-in measurement (requestCount, errorRate, latencyP95, accuracy, accuracyDrop): choose another name, or bound the built-in one in spec.analysis.triggers"
	// +required
	Name string `json:"name"`

	// query is a PromQL template with the variables {{.Namespace}}, {{.Name}},
	// {{.Version}} and {{.Window}}, returning one number.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	// +required
	Query string `json:"query"`

	// min is the least value that passes.
	// +optional
	Min *Decimal `json:"min,omitempty"`

	// max is the greatest value that passes.
	// +optional
	Max *Decimal `json:"max,omitempty"`
}

// SmokeTestSpec declares requests the candidate must answer as expected.
type SmokeTestSpec struct {
	// requests sent to the candidate, in order.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +required
	Requests []SmokeRequest `json:"requests"`

	// timeout of each request, at most 60s.
	// +kubebuilder:default="5s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('60s')",message="must be a positive duration of at most 60s"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// SmokeRequest is one request of a smoke test and what its answer must hold.
type SmokeRequest struct {
	// method of the request.
	// +kubebuilder:default=GET
	// +kubebuilder:validation:Enum=GET;POST;PUT;HEAD
	// +optional
	Method string `json:"method,omitempty"`

	// path of the request, such as /predict.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="must start with /"
	// +required
	Path string `json:"path"`

	// body of the request, sent as JSON.
	// +kubebuilder:validation:MaxLength=65536
	// +optional
	Body string `json:"body,omitempty"`

	// expectedStatus is the HTTP status the answer must have.
	// +kubebuilder:default=200
	// +kubebuilder:validation:Minimum=100
	// +kubebuilder:validation:Maximum=599
	// +optional
	ExpectedStatus int32 `json:"expectedStatus,omitempty"`

	// expectedFields are JSON fields the answer must have, by dotted path
	// (such as prediction or scores.fraud), with an optional exact value.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	ExpectedFields []ExpectedField `json:"expectedFields,omitempty"`
}

// ExpectedField is a JSON field an answer must have.
type ExpectedField struct {
	// path of the field, dotted.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +required
	Path string `json:"path"`

	// value the field must have, compared as its JSON text. Empty means any value.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Value string `json:"value,omitempty"`
}

// LoadTestSpec drives open-loop load at the candidate and bounds what it must sustain.
// +kubebuilder:validation:XValidation:rule="!(has(self.maxP95Milliseconds) && has(self.p95Milliseconds))",message="set maxP95Milliseconds only: p95Milliseconds is its deprecated spelling",fieldPath=".p95Milliseconds"
// +kubebuilder:validation:XValidation:rule="!(has(self.maxP99Milliseconds) && has(self.p99Milliseconds))",message="set maxP99Milliseconds only: p99Milliseconds is its deprecated spelling",fieldPath=".p99Milliseconds"
type LoadTestSpec struct {
	// rps is the target requests per second.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5000
	// +required
	RPS int32 `json:"rps"`

	// duration of the load test.
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('30m')",message="must be a positive duration of at most 30m"
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`

	// path requested, such as /predict.
	// +kubebuilder:default="/predict"
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/')",message="must start with /"
	// +optional
	Path string `json:"path,omitempty"`

	// body of each request, sent as JSON with POST. Empty sends GET.
	// +kubebuilder:validation:MaxLength=65536
	// +optional
	Body string `json:"body,omitempty"`

	// maxP95Milliseconds is the greatest 95th percentile latency that passes.
	// Bounds are spelled max or min, then the quantity's unit, as the
	// triggers' maxMilliseconds and maxPercent.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600000
	// +optional
	MaxP95Milliseconds *int32 `json:"maxP95Milliseconds,omitempty"`

	// maxP99Milliseconds is the greatest 99th percentile latency that passes.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600000
	// +optional
	MaxP99Milliseconds *int32 `json:"maxP99Milliseconds,omitempty"`

	// p95Milliseconds is the deprecated spelling of maxP95Milliseconds,
	// still accepted.
	//
	// Deprecated: use maxP95Milliseconds.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600000
	// +optional
	P95Milliseconds *int32 `json:"p95Milliseconds,omitempty"`

	// p99Milliseconds is the deprecated spelling of maxP99Milliseconds,
	// still accepted.
	//
	// Deprecated: use maxP99Milliseconds.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=3600000
	// +optional
	P99Milliseconds *int32 `json:"p99Milliseconds,omitempty"`

	// maxErrorPercent of requests that may fail.
	// +kubebuilder:default="1"
	// +optional
	MaxErrorPercent Percent `json:"maxErrorPercent,omitempty"`

	// minAchievedPercent is the least share of the target rate that must be achieved.
	// +kubebuilder:default="95"
	// +optional
	MinAchievedPercent Percent `json:"minAchievedPercent,omitempty"`
}

// ApprovalsSpec lists the sign-offs a candidate needs.
type ApprovalsSpec struct {
	// required roles, each with the groups allowed to give it.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=role
	// +required
	Required []RequiredApproval `json:"required"`
}

// RequiredApproval is one role whose sign-off a candidate needs.
type RequiredApproval struct {
	// role, such as security, product-owner or ml-engineer.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Role string `json:"role"`

	// groups whose members may give the role's approval.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	// +required
	Groups []string `json:"groups"`
}

// Weekday is a day of the week, abbreviated.
// +kubebuilder:validation:Enum=Mon;Tue;Wed;Thu;Fri;Sat;Sun
type Weekday string

// DeploymentWindow is a span of time on some days in which a rollout may move
// traffic. An end before the start means the window crosses midnight.
// +kubebuilder:validation:XValidation:rule="self.start != self.end",message="start and end are equal, so the window is empty; an end before the start means the window crosses midnight",fieldPath=".end"
type DeploymentWindow struct {
	// days the window opens on. Empty means every day.
	// +kubebuilder:validation:MaxItems=7
	// +listType=set
	// +optional
	Days []Weekday `json:"days,omitempty"`

	// start of the window, HH:MM on a 24-hour clock.
	// +kubebuilder:validation:MaxLength=5
	// +kubebuilder:validation:XValidation:rule="self.matches('^([01][0-9]|2[0-3]):[0-5][0-9]$')",message="must be a time HH:MM from 00:00 to 23:59"
	// +required
	Start string `json:"start"`

	// end of the window, HH:MM on a 24-hour clock.
	// +kubebuilder:validation:MaxLength=5
	// +kubebuilder:validation:XValidation:rule="self.matches('^([01][0-9]|2[0-3]):[0-5][0-9]$')",message="must be a time HH:MM from 00:00 to 23:59"
	// +required
	End string `json:"end"`

	// timeZone of start and end, an IANA name such as Europe/Berlin.
	// +kubebuilder:default=UTC
	// +kubebuilder:validation:MaxLength=64
	// +optional
	TimeZone string `json:"timeZone,omitempty"`
}

// Notification is one receiver of rollout notifications.
// +kubebuilder:validation:XValidation:rule="has(self.webhook) != has(self.slack)",message="set exactly one of webhook and slack"
type Notification struct {
	// name of the receiver, shown in status.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Name string `json:"name"`

	// webhook receives JSON documents.
	// +optional
	Webhook *WebhookReceiver `json:"webhook,omitempty"`

	// slack receives Slack-compatible incoming-webhook messages.
	// +optional
	Slack *WebhookReceiver `json:"slack,omitempty"`
}

// WebhookReceiver reads its URL from a Secret, since webhook URLs carry credentials.
type WebhookReceiver struct {
	// urlSecretRef names the Secret key holding the URL.
	// +required
	URLSecretRef SecretKeyReference `json:"urlSecretRef"`
}
