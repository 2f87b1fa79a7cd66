package notify

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestBody(t *testing.T) {
	at := time.Date(2026, 11, 25, 13, 0, 0, 500, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		kind Kind
		ev   Event
		want string
	}{
		{name: "a webhook document without fields or previous version still has every key", kind: KindWebhook,
			ev: Event{Type: AwaitingApproval, Namespace: "ml", Name: "fraud-scorer", Version: "2.4.0", Reason: "AwaitingApproval",
				Message: "waiting for the roles security, product-owner", Time: at},
			want: `{"schema":"modelgate.dev/notification/v1","id":"` + Event{Type: AwaitingApproval, Namespace: "ml", Name: "fraud-scorer",
				Version: "2.4.0", Reason: "AwaitingApproval", Time: at}.ID() + `","type":"AwaitingApproval","time":"2026-11-25T12:00:00.0000005Z",` +
				`"namespace":"ml","name":"fraud-scorer","version":"2.4.0","previousVersion":"","reason":"AwaitingApproval",` +
				`"message":"waiting for the roles security, product-owner","fields":{}}`},
		{name: "a step in Slack, the well-known fields first", kind: KindSlack,
			ev: Event{Type: StepMoved, Namespace: "ml", Name: "fraud-scorer", Version: "2.4.0", Reason: "StepMoved",
				Message: "step 2 of 4: 25% of requests to 2.4.0", Time: at,
				Fields: map[string]string{"zone": "eu", FieldWeight: "25", FieldStep: "2", "analysis": "passed"}},
			want: `{"text":":arrow_forward: *Step moved* ml/fraud-scorer 2.4.0\nStepMoved: step 2 of 4: 25% of requests to 2.4.0\n` +
				`step: 2 · weight: 25 · analysis: passed · zone: eu"}`},
		{name: "Slack's three special characters are escaped", kind: KindSlack,
			ev: Event{Type: ChecklistFailed, Namespace: "ml", Name: "fraud-scorer", Version: "2.4.0",
				Message: "pdb: <none> selects the pods & the HPA's minimum > 1", Time: at},
			want: `{"text":":x: *Checklist failed* ml/fraud-scorer 2.4.0\npdb: \u0026lt;none\u0026gt; selects the pods \u0026amp; the HPA's minimum \u0026gt; 1"}`},
		{name: "a promotion in Slack", kind: KindSlack,
			ev:   Event{Type: Promoted, Namespace: "ml", Name: "fraud-scorer", Version: "2.4.0", Previous: "2.3.0", Reason: "Promoted", Time: at},
			want: `{"text":":white_check_mark: *Promoted* ml/fraud-scorer 2.4.0 (previous 2.3.0)\nPromoted"}`},
		{name: "a type of the future in Slack", kind: KindSlack,
			ev:   Event{Type: "Paused", Namespace: "ml", Name: "fraud-scorer", Time: at},
			want: `{"text":"*Paused* ml/fraud-scorer"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := Body(tt.kind, tt.ev)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(got)).To(Equal(tt.want))
		})
	}
	_, err := Body("teams", Event{})
	NewWithT(t).Expect(err).To(MatchError(`unknown receiver kind "teams": want webhook or slack`))
}

func TestEventID(t *testing.T) {
	g := NewWithT(t)
	ev := event("ml")
	g.Expect(ev.ID()).To(MatchRegexp(`^[0-9a-f]{32}$`))
	same := ev
	same.Time = ev.Time.In(time.FixedZone("CET", 3600))
	same.Message = "another wording"
	g.Expect(same.ID()).To(Equal(ev.ID()), "the same event in another zone and words")
	other := ev
	other.Version = "2.4.1"
	g.Expect(other.ID()).NotTo(Equal(ev.ID()))
	later := ev
	later.Time = ev.Time.Add(time.Second)
	g.Expect(later.ID()).NotTo(Equal(ev.ID()))
}

func TestRedactURL(t *testing.T) {
	tests := map[string]string{
		"https://hooks.slack.com/services/T000/B000/" + secret: "https://hooks.slack.com/…",
		"https://user:" + secret + "@hooks.example:8443/x":     "https://hooks.example:8443/…",
		"https://hooks.example?token=" + secret:                "https://hooks.example/…",
		"https://hooks.example/":                               "https://hooks.example",
		"http://receiver.ns.svc:8080":                          "http://receiver.ns.svc:8080",
		"hooks.example/" + secret:                              "(a URL that cannot be parsed)",
		"https://hooks.example/%zz" + secret:                   "(a URL that cannot be parsed)",
	}
	for raw, want := range tests {
		t.Run(want, func(t *testing.T) {
			NewWithT(t).Expect(RedactURL(raw)).To(Equal(want))
		})
	}
}

// TestClientErrorsAreNotQuoted: an error of the HTTP client quotes the URL
// (with its credentials) and whatever the far end said; the failure shown
// is a fixed reason.
func TestClientErrorsAreNotQuoted(t *testing.T) {
	g := NewWithT(t)
	ns := namespace(t)
	raw := "https://hooks.example/services/" + secret + "?sig=" + secret + "2"
	n := start(t, fast(func(o *Options) {
		o.MaxAttempts = 1
		o.HTTPClient = &http.Client{Transport: failingTransport{}}
	}))
	g.Expect(n.Send(Receiver{Name: "audit", Kind: KindWebhook, URL: raw}, event(ns))).To(BeTrue())
	g.Eventually(func() []ReceiverFailure { return n.Failures(ns, "fraud-scorer") }).Should(HaveLen(1))
	g.Expect(n.Failures(ns, "fraud-scorer")[0].LastError).To(Equal("POST https://hooks.example/…: request failed"))
}

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp: lookup hooks.example: no such host; the far end said: " + secret)
}

func TestBackoff(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 10 * time.Second}
	lowest := func(int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	tests := []struct {
		attempt  int
		low, top time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{5, 5 * time.Second, 10 * time.Second},
		{60, 5 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		g := NewWithT(t)
		g.Expect(backoff(b, tt.attempt, lowest)).To(Equal(tt.low), "attempt %d", tt.attempt)
		g.Expect(backoff(b, tt.attempt, highest)).To(Equal(tt.top), "attempt %d", tt.attempt)
	}
	NewWithT(t).Expect(backoff(Backoff{Initial: 1, Max: 1}, 3, lowest)).To(Equal(time.Duration(1)))
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		" 120 ":                         2 * time.Minute,
		"-3":                            0,
		"soon":                          0,
		"Wed, 25 Nov 2026 12:00:30 GMT": 30 * time.Second,
		"Wed, 25 Nov 2026 11:00:00 GMT": 0,
	}
	for v, want := range tests {
		NewWithT(t).Expect(parseRetryAfter(v, now)).To(Equal(want), "Retry-After: %q", v)
	}
}

func TestKindOf(t *testing.T) {
	g := NewWithT(t)
	ref := servingv1alpha1.SecretKeyReference{Name: "hooks", Key: "url"}
	kind, got, ok := KindOf(servingv1alpha1.Notification{Name: "a", Webhook: &servingv1alpha1.WebhookReceiver{URLSecretRef: ref}})
	g.Expect([]any{kind, got, ok}).To(Equal([]any{KindWebhook, ref, true}))
	kind, got, ok = KindOf(servingv1alpha1.Notification{Name: "b", Slack: &servingv1alpha1.WebhookReceiver{URLSecretRef: ref}})
	g.Expect([]any{kind, got, ok}).To(Equal([]any{KindSlack, ref, true}))
	_, _, ok = KindOf(servingv1alpha1.Notification{Name: "c"})
	g.Expect(ok).To(BeFalse())
}

func TestSummary(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Summary(nil)).To(BeEmpty())
	since := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	g.Expect(Summary([]ReceiverFailure{
		{Receiver: "audit", Since: since, LastError: "POST https://audit.example/…: HTTP 503 Service Unavailable", Attempts: 5, Failed: 1},
		{Receiver: "ops", Since: since.Add(time.Minute), LastError: "POST https://hooks.slack.com/…: no answer within 10s", Attempts: 6, Failed: 2},
	})).To(Equal(strings.Join([]string{
		"notifications failing: audit since 2026-11-25T12:00:00Z, 1 delivery failed (5 attempts), last: POST https://audit.example/…: HTTP 503 Service Unavailable",
		"ops since 2026-11-25T12:01:00Z, 2 deliveries failed (6 attempts), last: POST https://hooks.slack.com/…: no answer within 10s",
	}, "; ")))
}
