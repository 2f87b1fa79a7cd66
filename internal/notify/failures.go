package notify

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// ReceiverFailure is a receiver whose recent deliveries all failed, for a
// condition on the ModelDeployment.
type ReceiverFailure struct {
	// Receiver is spec.notifications[].name.
	Receiver string
	// Since is the first failed attempt not followed by a delivery.
	Since time.Time
	// LastError is the last attempt's error, with the URL redacted.
	LastError string
	// Attempts made since then.
	Attempts int
	// Failed deliveries in a row (each after all its attempts).
	Failed int
}

// Failures returns the failing receivers of a ModelDeployment, by name: those
// whose last FailureThreshold deliveries failed. A delivery clears it.
func (n *Notifier) Failures(namespace, name string) []ReceiverFailure {
	return n.failures.list(namespace, name)
}

// Forget drops what is known of a ModelDeployment's receivers, and its
// series of modelgate_notifications_total: call it when it is deleted.
func (n *Notifier) Forget(namespace, name string) {
	n.failures.forget(namespace, name)
	notifications.DeletePartialMatch(map[string]string{"namespace": namespace, "modeldeployment": name})
}

// Summary is a condition message for failing receivers, "" for none:
//
//	notifications failing: audit since 2026-11-25T12:00:00Z, 1 delivery failed
//	(5 attempts), last: POST https://audit.example/…: HTTP 503 Service Unavailable
func Summary(failures []ReceiverFailure) string {
	if len(failures) == 0 {
		return ""
	}
	parts := make([]string, 0, len(failures))
	for _, f := range failures {
		deliveries := "deliveries"
		if f.Failed == 1 {
			deliveries = "delivery"
		}
		parts = append(parts, fmt.Sprintf("%s since %s, %d %s failed (%d attempts), last: %s",
			f.Receiver, f.Since.UTC().Format(time.RFC3339), f.Failed, deliveries, f.Attempts, f.LastError))
	}
	return "notifications failing: " + strings.Join(parts, "; ")
}

// failureBook keeps the failing receivers; a delivered one is removed.
type failureBook struct {
	threshold int
	mu        sync.Mutex
	byKey     map[key]*failure
}

type failure struct {
	since     time.Time
	lastError string
	attempts  int
	failed    int
}

func (b *failureBook) failed(k key, since time.Time, attempts int, lastError string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.byKey[k]
	if !ok {
		f = &failure{since: since}
		b.byKey[k] = f
	}
	f.failed++
	f.attempts += attempts
	f.lastError = lastError
}

// succeeded clears k, and says whether it was failing.
func (b *failureBook) succeeded(k key) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.byKey[k]
	delete(b.byKey, k)
	return ok && f.failed >= b.threshold
}

func (b *failureBook) isFailing(k key) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.byKey[k]
	return ok && f.failed >= b.threshold
}

func (b *failureBook) list(namespace, name string) []ReceiverFailure {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []ReceiverFailure
	for k, f := range b.byKey {
		if k.namespace == namespace && k.name == name && f.failed >= b.threshold {
			out = append(out, ReceiverFailure{Receiver: k.receiver, Since: f.since, LastError: f.lastError,
				Attempts: f.attempts, Failed: f.failed})
		}
	}
	slices.SortFunc(out, func(a, b ReceiverFailure) int { return strings.Compare(a.Receiver, b.Receiver) })
	return out
}

func (b *failureBook) forget(namespace, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.byKey {
		if k.namespace == namespace && k.name == name {
			delete(b.byKey, k)
		}
	}
}
