package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// EventType is what happened to a ModelDeployment.
type EventType string

// The events modelgate notifies.
const (
	// ChecklistFailed: an Enforce item of the readiness checklist failed, so
	// the version gets no traffic.
	ChecklistFailed EventType = "ChecklistFailed"
	// AwaitingApproval: the candidate waits for the roles in the message.
	AwaitingApproval EventType = "AwaitingApproval"
	// StepMoved: a rollout moved to its next step (Fields: step, weight).
	StepMoved EventType = "StepMoved"
	// Promoted: the candidate became the stable version.
	Promoted EventType = "Promoted"
	// RolledBack: the candidate was rolled back (Fields: metric, value,
	// bound, when a trigger was breached).
	RolledBack EventType = "RolledBack"
)

// Well-known keys of Event.Fields.
const (
	FieldMetric = "metric"
	FieldValue  = "value"
	FieldBound  = "bound"
	FieldStep   = "step"
	FieldWeight = "weight"
)

// Event is one notification about a ModelDeployment.
type Event struct {
	Type      EventType
	Namespace string
	Name      string
	// Version is the version the event is about: the candidate, or the
	// version promoted or rolled back.
	Version string
	// Previous is the version before: the stable version a rollback returned
	// to, or the version a promotion replaced. Empty when there is none.
	Previous string
	// Reason is a CamelCase reason, the same as the Kubernetes Event's.
	Reason string
	// Message is a sentence for people, the same as the condition's.
	Message string
	// Time is when it happened; Send sets it when zero.
	Time time.Time
	// Fields are details by key, such as metric, value and bound.
	Fields map[string]string
}

// ID is a stable identity of the event, the same for every attempt and for
// the same event sent again, so a receiver can drop duplicates.
func (e Event) ID() string {
	h := sha256.New()
	for _, s := range []string{string(e.Type), e.Namespace, e.Name, e.Version, e.Previous, e.Reason,
		e.Time.UTC().Format(time.RFC3339Nano)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Kind is the format a receiver takes.
type Kind string

// The kinds of receivers.
const (
	// KindWebhook receives the JSON document described in docs/notifications.md.
	KindWebhook Kind = "webhook"
	// KindSlack receives a Slack-compatible incoming-webhook message.
	KindSlack Kind = "slack"
)

// Receiver is where one spec.notifications entry is delivered.
type Receiver struct {
	// Name is spec.notifications[].name; it names the receiver in logs,
	// metrics and status, since the URL is never shown.
	Name string
	Kind Kind
	// URL is read from the Secret; it carries credentials and is never
	// logged or shown whole.
	URL string
}

// KindOf says which kind of receiver a spec.notifications entry is and which
// Secret key holds its URL; ok is false when it sets neither, which the API
// refuses.
func KindOf(n servingv1alpha1.Notification) (kind Kind, ref servingv1alpha1.SecretKeyReference, ok bool) {
	switch {
	case n.Webhook != nil:
		return KindWebhook, n.Webhook.URLSecretRef, true
	case n.Slack != nil:
		return KindSlack, n.Slack.URLSecretRef, true
	}
	return "", servingv1alpha1.SecretKeyReference{}, false
}

// title is the event type as a heading.
func (t EventType) title() string {
	switch t {
	case ChecklistFailed:
		return "Checklist failed"
	case AwaitingApproval:
		return "Awaiting approval"
	case StepMoved:
		return "Step moved"
	case Promoted:
		return "Promoted"
	case RolledBack:
		return "Rolled back"
	}
	return strings.TrimSpace(string(t))
}
