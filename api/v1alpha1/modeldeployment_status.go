package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Phase is a one-word summary of where a ModelDeployment is. Conditions carry
// the detail; tools should read conditions, people read the phase.
// +kubebuilder:validation:Enum=Verifying;AwaitingApproval;Waiting;Progressing;Paused;Baking;Succeeded;RolledBack;Failed
type Phase string

const (
	// PhaseVerifying: the checklist runs against the candidate; it has no traffic.
	PhaseVerifying Phase = "Verifying"
	// PhaseAwaitingApproval: the candidate waits for required sign-offs.
	PhaseAwaitingApproval Phase = "AwaitingApproval"
	// PhaseWaiting: the candidate waits for a deployment window.
	PhaseWaiting Phase = "Waiting"
	// PhaseProgressing: traffic is moving to the candidate.
	PhaseProgressing Phase = "Progressing"
	// PhasePaused: the rollout is paused by spec.paused or a step without duration.
	PhasePaused Phase = "Paused"
	// PhaseBaking: the candidate was promoted and is watched for the bake time.
	PhaseBaking Phase = "Baking"
	// PhaseSucceeded: the version the spec asks for serves all traffic.
	PhaseSucceeded Phase = "Succeeded"
	// PhaseRolledBack: the candidate was rejected and traffic is back on stable.
	PhaseRolledBack Phase = "RolledBack"
	// PhaseFailed: the spec cannot succeed without a change.
	PhaseFailed Phase = "Failed"
)

// Condition types of a ModelDeployment. Ready, Reconciling and Stalled follow
// the kstatus conventions so that kubectl wait, Flux and Argo CD read health.
const (
	// ConditionReady is True when the version the spec asks for serves all
	// traffic and its pods are available.
	ConditionReady = "Ready"
	// ConditionReconciling is True while modelgate works toward the spec
	// (abnormal-true: its presence means "not done yet").
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the spec cannot succeed without a change
	// (abnormal-true).
	ConditionStalled = "Stalled"
	// ConditionChecklistPassed is True when no enforced checklist item fails.
	ConditionChecklistPassed = "ChecklistPassed"
	// ConditionApproved is True when every required sign-off is given.
	ConditionApproved = "Approved"
	// ConditionNotified is False while deliveries to a receiver of
	// spec.notifications keep failing.
	ConditionNotified = "Notified"
	// ConditionProgressing is True while traffic moves to a candidate.
	ConditionProgressing = "Progressing"
	// ConditionRolledBack is True when the last candidate was rolled back
	// (abnormal-true).
	ConditionRolledBack = "RolledBack"
	// ConditionPolicyCompliant is False when the spec asks for less than a
	// ModelDeploymentPolicy that selects it allows; its message names the
	// policy and the field. The version is then judged by the policy's rules.
	ConditionPolicyCompliant = "PolicyCompliant"
)

// ModelDeploymentStatus is what modelgate observed and decided.
type ModelDeploymentStatus struct {
	// observedGeneration is the generation modelgate last handled completely.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase summarises where the ModelDeployment is.
	// +optional
	Phase Phase `json:"phase,omitempty"`

	// conditions: Ready, Reconciling and Stalled, and the detail conditions
	// ChecklistPassed, Approved, Notified, Progressing and RolledBack.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// replicas is the number of model-server pods of all versions, for the scale subresource.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// availableReplicas is the number of available model-server pods of all versions.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`

	// selector selects the pods of every version, for the scale subresource.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Selector string `json:"selector,omitempty"`

	// stable is the version serving traffic.
	// +optional
	Stable *VersionStatus `json:"stable,omitempty"`

	// candidate is the version being rolled out, if any.
	// +optional
	Candidate *CandidateStatus `json:"candidate,omitempty"`

	// previous is the version a blue-green switch replaced, kept at full size
	// from its since time for spec.strategy.blueGreen.scaleDownDelay, so that a
	// rollback is instant.
	// +optional
	Previous *VersionStatus `json:"previous,omitempty"`

	// rejected is the version (and pod template) that was rolled back; it is
	// not tried again until the spec changes or a retry is requested.
	// +optional
	Rejected *VersionStatus `json:"rejected,omitempty"`

	// requests echoes the manual-control annotations handled.
	// +optional
	Requests HandledRequests `json:"requests,omitempty"`

	// checklist is the last checklist result of the candidate (or of the stable
	// version when no rollout is in progress).
	// +optional
	Checklist *ChecklistStatus `json:"checklist,omitempty"`

	// policy names the ModelDeploymentPolicies that select this
	// ModelDeployment and where the spec asks for less than they allow.
	// Absent when no policy selects it.
	// +optional
	Policy *PolicyStatus `json:"policy,omitempty"`

	// analysis holds the last measurements.
	// +optional
	Analysis *AnalysisStatus `json:"analysis,omitempty"`

	// approvals are the sign-offs counted for the candidate (or, with no
	// rollout in flight, for the stable version when it was promoted).
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Approvals []GivenApproval `json:"approvals,omitempty"`

	// loadTest holds the figures of the last load test.
	// +optional
	LoadTest *LoadTestStatus `json:"loadTest,omitempty"`

	// history of rollouts, newest first, at most 10.
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	// +optional
	History []HistoryEntry `json:"history,omitempty"`
}

// GivenApproval is a sign-off that counted, with who gave it and when.
type GivenApproval struct {
	// role approved.
	// +kubebuilder:validation:MaxLength=253
	Role string `json:"role"`
	// version approved.
	// +kubebuilder:validation:MaxLength=253
	Version string `json:"version"`
	// approver's username, as stamped at admission.
	// +kubebuilder:validation:MaxLength=253
	Approver string `json:"approver"`
	// approvedAt is when the approval was given.
	ApprovedAt metav1.Time `json:"approvedAt"`
	// approval is the name of the ModelApproval.
	// +kubebuilder:validation:MaxLength=253
	Approval string `json:"approval"`
	// digest of what the approval covers (see ModelApproval spec.digest).
	// +kubebuilder:validation:MaxLength=80
	// +optional
	Digest string `json:"digest,omitempty"`
	// comment of the approver.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Comment string `json:"comment,omitempty"`
}

// VersionStatus identifies one version of the model and the Deployment running it.
type VersionStatus struct {
	// version of the model.
	// +kubebuilder:validation:MaxLength=253
	Version string `json:"version"`

	// deployment is the name of the Deployment running the version.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Deployment string `json:"deployment,omitempty"`

	// templateHash identifies the pod template the version runs with.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	TemplateHash string `json:"templateHash,omitempty"`

	// since is when the version became stable.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
}

// CandidateStatus is the version being rolled out.
type CandidateStatus struct {
	VersionStatus `json:",inline"`

	// weight is the percent of traffic the candidate gets.
	// +optional
	Weight int32 `json:"weight"`

	// step is the index of the current canary step.
	// +optional
	Step int32 `json:"step,omitempty"`

	// startedAt is when the rollout of the candidate started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// stepStartedAt is when the current step began (for a shadow or an A/B
	// test, when the candidate began to get its traffic), to the microsecond:
	// pauses are timed from it, and a time cut to the second would shorten
	// them by up to a second.
	// +optional
	StepStartedAt *metav1.MicroTime `json:"stepStartedAt,omitempty"`

	// requests are the manual controls handled during this rollout, each as
	// "<annotation> by <user>", the last 8; the history entry keeps them.
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=320
	// +listType=atomic
	// +optional
	Requests []string `json:"requests,omitempty"`
}

// HandledRequests echoes the last value of each manual-control annotation that
// was handled, so each request is acted on exactly once.
type HandledRequests struct {
	// promote is the last serving.modelgate.dev/promote value handled (its
	// first 1024 bytes).
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Promote string `json:"promote,omitempty"`
	// promoteFull is the last serving.modelgate.dev/promote-full value handled.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	PromoteFull string `json:"promoteFull,omitempty"`
	// abort is the last serving.modelgate.dev/abort value handled.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Abort string `json:"abort,omitempty"`
	// retry is the last serving.modelgate.dev/retry value handled.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Retry string `json:"retry,omitempty"`
	// promoteBy is who asked for the promote handled, as the admission
	// webhook stamped it (serving.modelgate.dev/promote-by).
	// +kubebuilder:validation:MaxLength=253
	// +optional
	PromoteBy string `json:"promoteBy,omitempty"`
	// promoteFullBy is who asked for the promote-full handled.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	PromoteFullBy string `json:"promoteFullBy,omitempty"`
	// abortBy is who asked for the abort handled.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	AbortBy string `json:"abortBy,omitempty"`
	// retryBy is who asked for the retry handled.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	RetryBy string `json:"retryBy,omitempty"`
}

// CheckResult is the outcome of one checklist item.
// +kubebuilder:validation:Enum=Pass;Fail;Warn;Skipped;Unknown
type CheckResult string

const (
	CheckPass    CheckResult = "Pass"
	CheckFail    CheckResult = "Fail"
	CheckWarn    CheckResult = "Warn"
	CheckSkipped CheckResult = "Skipped"
	CheckUnknown CheckResult = "Unknown"
)

// ChecklistStatus is the result of the checklist.
type ChecklistStatus struct {
	// version the checklist ran against.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Version string `json:"version,omitempty"`

	// summary is the items passed out of those judged (not skipped), such as 21/22.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Summary string `json:"summary,omitempty"`

	// passed counts items that passed.
	Passed int32 `json:"passed"`
	// failed counts items that failed.
	Failed int32 `json:"failed"`
	// warnings counts items that failed with severity Warn.
	Warnings int32 `json:"warnings"`
	// skipped counts items that were skipped or could not be judged.
	// +optional
	Skipped int32 `json:"skipped,omitempty"`

	// capacity is the rollout's resource footprint.
	// +optional
	Capacity *CapacityStatus `json:"capacity,omitempty"`

	// items are the results, one per checklist item.
	// +kubebuilder:validation:MaxItems=128
	// +listType=map
	// +listMapKey=id
	// +optional
	Items []ChecklistItemStatus `json:"items,omitempty"`
}

// CapacityStatus is the resource footprint of a rollout: steady is one version
// at full size, peak is both versions at once (blue-green, or a canary step).
type CapacityStatus struct {
	// steady requests of cpu, memory and GPUs.
	// +optional
	Steady corev1.ResourceList `json:"steady,omitempty"`
	// peak requests of cpu, memory and GPUs.
	// +optional
	Peak corev1.ResourceList `json:"peak,omitempty"`
}

// ChecklistItemStatus is the result of one checklist item.
type ChecklistItemStatus struct {
	// id of the item.
	// +kubebuilder:validation:MaxLength=253
	ID string `json:"id"`
	// section of the seed checklist the item answers.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Section string `json:"section,omitempty"`
	// result of the item.
	Result CheckResult `json:"result"`
	// severity the item had.
	// +optional
	Severity Severity `json:"severity,omitempty"`
	// message says what was found.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
	// remediation says what to do about it.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Remediation string `json:"remediation,omitempty"`
	// overrideReason is the reason of the spec's override of the severity, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	OverrideReason string `json:"overrideReason,omitempty"`
	// severitySource says what set the severity when a ModelDeploymentPolicy
	// selects the ModelDeployment: "policy/<name>" when a policy raised it
	// (by its minimum profile or an item floor), "spec" when the spec's
	// profile or override stands. Empty when no policy selects it.
	// +kubebuilder:validation:MaxLength=270
	// +optional
	SeveritySource string `json:"severitySource,omitempty"`
	// attestedBy is who attested the item, for attested items.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	AttestedBy string `json:"attestedBy,omitempty"`
	// attestedAt is when the item was attested.
	// +optional
	AttestedAt *metav1.Time `json:"attestedAt,omitempty"`
}

// Verdict is the judgement of one measurement.
// +kubebuilder:validation:Enum=Pass;Breach;NoData;Error
type Verdict string

const (
	VerdictPass   Verdict = "Pass"
	VerdictBreach Verdict = "Breach"
	VerdictNoData Verdict = "NoData"
	VerdictError  Verdict = "Error"
)

// AnalysisStatus holds the analysis of the version under watch: the counts
// its verdict depends on, its last round and the last measurements of each
// metric.
type AnalysisStatus struct {
	// version under analysis; the counts start again for another version.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Version string `json:"version,omitempty"`
	// revision of the version under analysis, as its metrics' revision
	// label; empty for a version's first.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Revision string `json:"revision,omitempty"`
	// breaches counts breaching measurements of the version.
	// +optional
	Breaches int32 `json:"breaches,omitempty"`
	// consecutiveErrors counts rounds in a row with a failed query.
	// +optional
	ConsecutiveErrors int32 `json:"consecutiveErrors,omitempty"`
	// lastRound is the verdict of the last round of measurements.
	// +optional
	LastRound *AnalysisRound `json:"lastRound,omitempty"`
	// measurements, the last few of each metric.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	Measurements []Measurement `json:"measurements,omitempty"`
	// judge is the statistical judge's verdict at the last round, when
	// spec.analysis.judge is declared.
	// +optional
	Judge *JudgeStatus `json:"judge,omitempty"`
}

// JudgeVerdict is what the sequential judge decided at a look.
// +kubebuilder:validation:Enum=Continue;Breach;PassEarly
type JudgeVerdict string

const (
	// JudgeContinue: not enough evidence either way yet.
	JudgeContinue JudgeVerdict = "Continue"
	// JudgeBreach: the candidate's error rate is shown above the stable's by
	// more than the tolerance.
	JudgeBreach JudgeVerdict = "Breach"
	// JudgePassEarly: it is shown above the stable's by less than the
	// tolerance, or below it.
	JudgePassEarly JudgeVerdict = "PassEarly"
)

// JudgeStatus is the sequential judge's verdict on the counts since the
// candidate's analysis began.
type JudgeStatus struct {
	// time of the round the judge looked at, to the microsecond.
	Time metav1.MicroTime `json:"time"`
	// verdict of the judge.
	Verdict JudgeVerdict `json:"verdict"`
	// message gives the intervals the verdict was read from.
	// +optional
	Message string `json:"message,omitempty"`
}

// AnalysisRound is one round of measurements, judged as a whole: Breach when
// any measurement breached (or a NoData counts as one under noData: Fail),
// Error when a query failed, NoData when a measurement had no data under
// noData: Pause, Pass otherwise.
type AnalysisRound struct {
	// time of the round, to the microsecond.
	Time metav1.MicroTime `json:"time"`
	// verdict of the round.
	Verdict Verdict `json:"verdict"`
	// message names what decided the verdict.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
}

// Measurement is one judged measurement.
type Measurement struct {
	// metric measured, such as errorRate.
	// +kubebuilder:validation:MaxLength=253
	Metric string `json:"metric"`
	// version measured.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Version string `json:"version,omitempty"`
	// verdict of the measurement.
	Verdict Verdict `json:"verdict"`
	// value measured, as a decimal string.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Value string `json:"value,omitempty"`
	// bound the value was judged against.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Bound string `json:"bound,omitempty"`
	// query sent.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Query string `json:"query,omitempty"`
	// message explains a NoData or Error verdict.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
	// time of the measurement.
	Time metav1.Time `json:"time"`
}

// LoadTestStatus is the checklist's Performance Testing form, filled in.
type LoadTestStatus struct {
	// version load-tested.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Version string `json:"version,omitempty"`
	// targetRPS is the rate asked for.
	TargetRPS int32 `json:"targetRPS"`
	// achievedRPS is the rate sustained, as a decimal string.
	// +kubebuilder:validation:MaxLength=64
	AchievedRPS string `json:"achievedRPS"`
	// requests sent.
	Requests int64 `json:"requests"`
	// errorPercent of requests that failed, as a decimal string.
	// +kubebuilder:validation:MaxLength=64
	ErrorPercent string `json:"errorPercent"`
	// p50Ms is the median latency in milliseconds, as a decimal string.
	// +kubebuilder:validation:MaxLength=64
	P50Ms string `json:"p50Ms"`
	// p95Ms is the 95th percentile latency in milliseconds, as a decimal string.
	// +kubebuilder:validation:MaxLength=64
	P95Ms string `json:"p95Ms"`
	// p99Ms is the 99th percentile latency in milliseconds, as a decimal string.
	// +kubebuilder:validation:MaxLength=64
	P99Ms string `json:"p99Ms"`
	// verdict of the load test against its bounds.
	Verdict Verdict `json:"verdict"`
	// message says which bound was missed, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
	// time the load test finished.
	Time metav1.Time `json:"time"`
}

// Outcome is how a rollout ended.
// +kubebuilder:validation:Enum=Promoted;RolledBack;Superseded;Failed
type Outcome string

const (
	OutcomePromoted   Outcome = "Promoted"
	OutcomeRolledBack Outcome = "RolledBack"
	OutcomeSuperseded Outcome = "Superseded"
	OutcomeFailed     Outcome = "Failed"
)

// HistoryEntry records one rollout.
type HistoryEntry struct {
	// version rolled out.
	// +kubebuilder:validation:MaxLength=253
	Version string `json:"version"`
	// previous version it replaced, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Previous string `json:"previous,omitempty"`
	// outcome of the rollout.
	Outcome Outcome `json:"outcome"`
	// reason for the outcome, CamelCase.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Reason string `json:"reason,omitempty"`
	// message explains the outcome.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
	// strategy used.
	// +optional
	Strategy StrategyType `json:"strategy,omitempty"`
	// startedAt is when the rollout started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// finishedAt is when it ended.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// approvers who signed off, as role=user.
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	// +kubebuilder:validation:items:MaxLength=1024
	Approvers []string `json:"approvers,omitempty"`
	// checklist summary at the time, such as 21/22.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Checklist string `json:"checklist,omitempty"`
	// loadTest figures of the version, when one ran.
	// +optional
	LoadTest *LoadTestStatus `json:"loadTest,omitempty"`
	// windowOverride records a rollout let through outside its deployment
	// windows: the override's reason and who set it.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	WindowOverride string `json:"windowOverride,omitempty"`

	// requests are the manual controls that acted on this rollout (promote,
	// promote-full, abort, retry), each as "<annotation> by <user>", the user
	// as the admission webhook stamped it.
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=320
	// +listType=atomic
	// +optional
	Requests []string `json:"requests,omitempty"`
}

// PolicyStatus is how the ModelDeploymentPolicies that select a
// ModelDeployment judge its spec.
type PolicyStatus struct {
	// policies that select the ModelDeployment, by name.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	// +kubebuilder:validation:items:MaxLength=253
	Policies []string `json:"policies,omitempty"`

	// violations are where the spec asks for less than a policy allows; the
	// version is judged by the policy's rules instead.
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	Violations []PolicyViolation `json:"violations,omitempty"`
}

// PolicyViolation is one place where a spec asks for less than a policy allows.
type PolicyViolation struct {
	// policy that sets the rule.
	// +kubebuilder:validation:MaxLength=253
	Policy string `json:"policy"`
	// field of the ModelDeployment, such as spec.checklist.profile.
	// +kubebuilder:validation:MaxLength=253
	Field string `json:"field"`
	// message says what the policy requires and how to comply.
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message"`
}
