package v1alpha1

// Bounds of the status strings, in bytes, as the MaxLength markers of the
// status types declare them (in characters, which a byte bound never
// exceeds). internal/statusbound cuts every status string to them before
// status is written, so an error text of any length (a Prometheus answer, a
// probe's failure) can neither make a status patch fail validation nor grow
// the object toward etcd's limit.
const (
	// MaxStatusMessage bounds status messages, reasons of history entries,
	// summaries and comments.
	MaxStatusMessage = 1024
	// MaxConditionMessage is metav1.Condition's own bound on its message.
	MaxConditionMessage = 32768
	// MaxStatusName bounds names, users and versions echoed in status.
	MaxStatusName = 253
	// MaxStatusQuery bounds a rendered query (analysis.MaxRendered).
	MaxStatusQuery = 4096
	// MaxStatusFigure bounds numbers written as strings.
	MaxStatusFigure = 64
	// MaxRequestValue bounds the echo of a manual control's value in
	// status.requests; longer values are compared by this prefix.
	MaxRequestValue = 1024
	// MaxStatusRequest bounds one "<annotation> by <user>" of the requests
	// a rollout handled.
	MaxStatusRequest = 320
)
