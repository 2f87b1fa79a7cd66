package checklist

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// Change is a checklist item whose result differs from the last status.
type Change struct {
	ID, Version string
	From, To    servingv1alpha1.CheckResult
	Message     string
}

// Changes lists the items whose result changed between two checklist results
// of the same version; a new version, or the first result, reports only the
// items that do not pass, so a user hears about problems, not every tick.
func Changes(before, after *servingv1alpha1.ChecklistStatus) []Change {
	if after == nil {
		return nil
	}
	old := map[string]servingv1alpha1.CheckResult{}
	if before != nil && before.Version == after.Version {
		for _, it := range before.Items {
			old[it.ID] = it.Result
		}
	}
	var out []Change
	for _, it := range after.Items {
		from, seen := old[it.ID]
		switch {
		case seen && from == it.Result:
			continue
		case !seen && (it.Result == servingv1alpha1.CheckPass || it.Result == servingv1alpha1.CheckSkipped):
			continue
		}
		out = append(out, Change{ID: it.ID, Version: after.Version, From: from, To: it.Result, Message: it.Message})
	}
	return out
}

// EventType is Warning for a change to a failing result, Normal otherwise.
func (c Change) EventType() string {
	if c.To == servingv1alpha1.CheckFail || c.To == servingv1alpha1.CheckUnknown {
		return corev1.EventTypeWarning
	}
	return corev1.EventTypeNormal
}

func (c Change) String() string {
	if c.From == "" {
		return fmt.Sprintf("Checklist item %s of version %s: %s: %s", c.ID, c.Version, c.To, c.Message)
	}
	return fmt.Sprintf("Checklist item %s of version %s: %s -> %s: %s", c.ID, c.Version, c.From, c.To, c.Message)
}

// maxEventNote is the longest note an event may carry (events.k8s.io allows 1 kB).
const maxEventNote = 1000

// Summary is one event's worth of changes: Warning when any item now fails or
// could not be judged, and a note naming each change. Changes of one reconcile
// go out as one event, since the events API folds events that differ only in
// their note into one series.
func Summary(changes []Change) (eventType, note string) {
	if len(changes) == 0 {
		return "", ""
	}
	eventType = corev1.EventTypeNormal
	parts := make([]string, 0, len(changes))
	for _, c := range changes {
		if c.EventType() == corev1.EventTypeWarning {
			eventType = corev1.EventTypeWarning
		}
		parts = append(parts, c.String())
	}
	note = strings.Join(parts, "; ")
	if len(note) > maxEventNote {
		note = note[:maxEventNote-3] + "..."
	}
	return eventType, note
}
