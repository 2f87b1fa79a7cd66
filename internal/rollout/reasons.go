package rollout

// Reasons of the conditions and events a decision writes, and of the
// notifications and metrics that follow them: one name for each, used by all.
const (
	// A rollout's steps.
	ReasonRolloutStarted    = "RolloutStarted"
	ReasonSuperseded        = "Superseded"
	ReasonStepAdvanced      = "StepAdvanced"
	ReasonPromoteRequested  = "PromoteRequested"
	ReasonPassedEarly       = "PassedEarly"
	ReasonRetryRequested    = "RetryRequested"
	ReasonExperimentStarted = "ExperimentStarted"
	ReasonAnalysisPassed    = "AnalysisPassed"
	ReasonPromoted          = "Promoted"
	// ReasonRolledBack is the event reason of every rollback, and the
	// condition reason of one whose own reason (RollbackReasons) is lost.
	ReasonRolledBack = "RolledBack"

	// Where a rollout stands.
	ReasonWaitingForPods    = "WaitingForPods"
	ReasonRollingOut        = "RollingOut"
	ReasonPreviewStarting   = "PreviewStarting"
	ReasonTesting           = "Testing"
	ReasonPausing           = "Pausing"
	ReasonPaused            = "Paused"
	ReasonWaitingForPromote = "WaitingForPromote"
	ReasonWaitingForVerdict = "WaitingForVerdict"
	ReasonExperimenting     = "Experimenting"
	ReasonAnalyzing         = "Analyzing"
	ReasonPromoting         = "Promoting"
	ReasonBaking            = "Baking"
	ReasonSucceeded         = "Succeeded"
	ReasonOutsideWindow     = "OutsideDeploymentWindow"

	// What holds a version before it gets traffic (Gate.Reason).
	ReasonChecklistFailed  = "ChecklistFailed"
	ReasonChecklistUnknown = "ChecklistUnknown"
	ReasonAwaitingApproval = "AwaitingApproval"
	ReasonRouteNotReady    = "HTTPRouteNotReady"

	// What the controller writes when a reconcile fails.
	ReasonInvalidSpec        = "InvalidSpec"
	ReasonRetryingAfterError = "RetryingAfterError"

	// Why a version was rolled back (RollbackReasons).
	ReasonAborted                  = "Aborted"
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	ReasonAnalysisFailed           = "AnalysisFailed"
	ReasonBakeFailed               = "BakeFailed"
	ReasonSmokeTestFailed          = "SmokeTestFailed"
	ReasonLoadTestFailed           = "LoadTestFailed"
)

// RollbackReasons are the reasons a version is rolled back for, as the
// RolledBack condition, the history and modelgate_rollbacks_total say them.
var RollbackReasons = []string{
	ReasonAborted, ReasonProgressDeadlineExceeded, ReasonAnalysisFailed, ReasonBakeFailed, ReasonSmokeTestFailed, ReasonLoadTestFailed,
}
