package controller

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/notify"
	"github.com/modelgate/modelgate/internal/rollout"
)

// notifiable maps the decisions' event reasons to what receivers are told.
var notifiable = map[string]notify.EventType{
	rollout.ReasonChecklistFailed:  notify.ChecklistFailed,
	rollout.ReasonAwaitingApproval: notify.AwaitingApproval,
	rollout.ReasonStepAdvanced:     notify.StepMoved,
	rollout.ReasonPromoted:         notify.Promoted,
	rollout.ReasonRolledBack:       notify.RolledBack,
}

// notify hands the decision's events to the notifier, which delivers them in
// the background: a receiver that is slow or down never holds a reconcile.
// Receivers' URLs are read from their Secrets past the cache, which keeps
// Secrets without their values.
func (r *ModelDeploymentReconciler) notify(ctx context.Context, s *scope) {
	md := s.md
	if r.Notifier == nil || len(md.Spec.Notifications) == 0 {
		return
	}
	var events []notify.Event
	for _, e := range s.decision.Events {
		typ, ok := notifiable[e.Reason]
		if !ok {
			continue
		}
		ev := notify.Event{Type: typ, Namespace: md.Namespace, Name: md.Name, Version: md.Spec.Model.Version,
			Reason: e.Reason, Message: e.Message, Time: s.now.Time, Fields: map[string]string{}}
		if st := md.Status.Stable; st != nil && st.Version != ev.Version {
			ev.Previous = st.Version
		}
		if c := md.Status.Candidate; c != nil && typ == notify.StepMoved {
			ev.Fields[notify.FieldStep] = strconv.Itoa(int(c.Step) + 1)
			ev.Fields[notify.FieldWeight] = strconv.Itoa(int(c.Weight))
		}
		if typ == notify.RolledBack {
			ev.Reason = rolledBackReason(md)
			breachFields(s, ev.Fields)
		}
		events = append(events, ev)
	}
	if len(events) == 0 {
		return
	}
	log := logf.FromContext(ctx)
	for _, n := range md.Spec.Notifications {
		kind, ref, ok := notify.KindOf(n)
		if !ok {
			continue
		}
		url, err := r.secretValue(ctx, md.Namespace, ref)
		if err != nil {
			log.Info("Cannot notify a receiver", "modelDeployment", klog.KObj(md), "receiver", n.Name, "error", err.Error())
			url = "" // Send counts it as failed and lists it in Failures
		}
		for _, ev := range events {
			r.Notifier.Send(notify.Receiver{Name: n.Name, Kind: kind, URL: url}, ev)
		}
	}
}

// breachFields names the breached metric of the last round, its value and bound.
func breachFields(s *scope, fields map[string]string) {
	a := s.analysis
	if a == nil || a.LastRound == nil {
		return
	}
	for _, m := range a.Measurements {
		if m.Verdict == servingv1alpha1.VerdictBreach && m.Time.Time.Equal(a.LastRound.Time.Time) {
			fields[notify.FieldMetric], fields[notify.FieldValue], fields[notify.FieldBound] = m.Metric, m.Value, m.Bound
			return
		}
	}
}

// errNoAPIReader is what reading a Secret value answers when the reconciler
// was built without an APIReader.
var errNoAPIReader = errors.New("cannot read Secret values: the reconciler has no APIReader, and the cache keeps Secrets without their values")

// secretValue reads one key of a Secret past the cache (which keeps Secrets
// without their values): a receiver's URL, a Prometheus token.
func (r *ModelDeploymentReconciler) secretValue(ctx context.Context, namespace string, ref servingv1alpha1.SecretKeyReference) (string, error) {
	reader := r.APIReader
	if reader == nil {
		// The client reads from the cache, which strips Secret values: it
		// would answer "" for every key.
		return "", errNoAPIReader
	}
	secret := &corev1.Secret{}
	if err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, secret); err != nil {
		return "", fmt.Errorf("reading Secret %s: %w", ref.Name, err)
	}
	if secret.Labels[servingv1alpha1.LabelManagerReadable] != labelTrue {
		// Only a Secret that opted in: a namespace user who may not read
		// Secrets could otherwise send any of them where they choose.
		return "", fmt.Errorf("secret %s is not labelled %s=true, so modelgate does not read it", ref.Name, servingv1alpha1.LabelManagerReadable)
	}
	v, ok := secret.Data[ref.Key]
	if !ok {
		return "", fmt.Errorf("secret %s has no key %q", ref.Name, ref.Key)
	}
	return string(v), nil
}

// Reasons of the Notified condition.
const (
	ReasonDelivered       = "Delivered"
	ReasonDeliveryFailing = "DeliveryFailing"
)

// notifiedCondition shows receivers whose deliveries keep failing; nil when
// nothing is notified.
func (r *ModelDeploymentReconciler) notifiedCondition(md *servingv1alpha1.ModelDeployment) *rollout.ConditionResult {
	if r.Notifier == nil || len(md.Spec.Notifications) == 0 {
		return nil
	}
	if msg := notify.Summary(r.Notifier.Failures(md.Namespace, md.Name)); msg != "" {
		return &rollout.ConditionResult{Status: metav1.ConditionFalse, Reason: ReasonDeliveryFailing, Message: msg}
	}
	return &rollout.ConditionResult{Status: metav1.ConditionTrue, Reason: ReasonDelivered, Message: "Notifications are delivered"}
}
