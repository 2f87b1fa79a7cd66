package notify

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SchemaVersion is the version of the JSON webhook document. Fields may be
// added to a version; none is removed or changes meaning.
const SchemaVersion = "modelgate.dev/notification/v1"

// webhookDocument is the generic JSON webhook's body, documented in
// docs/notifications.md. Every key is always present.
type webhookDocument struct {
	Schema          string            `json:"schema"`
	ID              string            `json:"id"`
	Type            EventType         `json:"type"`
	Time            string            `json:"time"`
	Namespace       string            `json:"namespace"`
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	PreviousVersion string            `json:"previousVersion"`
	Reason          string            `json:"reason"`
	Message         string            `json:"message"`
	Fields          map[string]string `json:"fields"`
}

// slackMessage is a Slack-compatible incoming-webhook body.
type slackMessage struct {
	Text string `json:"text"`
}

// Body is what a receiver of kind is sent for ev.
func Body(kind Kind, ev Event) ([]byte, error) {
	switch kind {
	case KindWebhook:
		fields := ev.Fields
		if fields == nil {
			fields = map[string]string{}
		}
		return json.Marshal(webhookDocument{
			Schema: SchemaVersion, ID: ev.ID(), Type: ev.Type, Time: ev.Time.UTC().Format(time.RFC3339Nano),
			Namespace: ev.Namespace, Name: ev.Name, Version: ev.Version, PreviousVersion: ev.Previous,
			Reason: ev.Reason, Message: ev.Message, Fields: fields,
		})
	case KindSlack:
		return json.Marshal(slackMessage{Text: SlackText(ev)})
	}
	return nil, fmt.Errorf("unknown receiver kind %q: want %s or %s", kind, KindWebhook, KindSlack)
}

// emoji starts each Slack message, by event type.
var emoji = map[EventType]string{
	ChecklistFailed:  ":x:",
	AwaitingApproval: ":hourglass_flowing_sand:",
	StepMoved:        ":arrow_forward:",
	Promoted:         ":white_check_mark:",
	RolledBack:       ":rewind:",
}

// fieldOrder is the order of the well-known fields in a Slack message; others
// follow in alphabetical order.
var fieldOrder = []string{FieldMetric, FieldValue, FieldBound, FieldStep, FieldWeight}

// SlackText is the Slack message for ev, in Slack's mrkdwn:
//
//	:rewind: *Rolled back* ml/fraud-scorer 2.4.0 (previous 2.3.0)
//	ErrorRateBreached: error rate 7.2% is above the bound 5%
//	metric: errorRate · value: 7.2 · bound: 5
func SlackText(ev Event) string {
	var b strings.Builder
	if e, ok := emoji[ev.Type]; ok {
		b.WriteString(e + " ")
	}
	fmt.Fprintf(&b, "*%s* %s/%s", slackEscape(ev.Type.title()), slackEscape(ev.Namespace), slackEscape(ev.Name))
	if ev.Version != "" {
		b.WriteString(" " + slackEscape(ev.Version))
	}
	if ev.Previous != "" {
		fmt.Fprintf(&b, " (previous %s)", slackEscape(ev.Previous))
	}
	switch {
	case ev.Reason != "" && ev.Message != "":
		fmt.Fprintf(&b, "\n%s: %s", slackEscape(ev.Reason), slackEscape(ev.Message))
	case ev.Reason != "" || ev.Message != "":
		b.WriteString("\n" + slackEscape(ev.Reason+ev.Message))
	}
	if len(ev.Fields) > 0 {
		parts := make([]string, 0, len(ev.Fields))
		for _, k := range orderedKeys(ev.Fields) {
			parts = append(parts, slackEscape(k)+": "+slackEscape(ev.Fields[k]))
		}
		b.WriteString("\n" + strings.Join(parts, " · "))
	}
	return b.String()
}

// orderedKeys are the well-known keys of fields first, then the rest sorted.
func orderedKeys(fields map[string]string) []string {
	keys := make([]string, 0, len(fields))
	for _, k := range fieldOrder {
		if _, ok := fields[k]; ok {
			keys = append(keys, k)
		}
	}
	var rest []string
	for k := range fields {
		if !slices.Contains(fieldOrder, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(keys, rest...)
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning to.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
