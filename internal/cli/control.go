package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// request is a manual control carried by an annotation.
type request struct {
	verb       string
	annotation string
	// handled is the value of status.requests the operator echoes once it
	// acted on the annotation.
	handled func(*servingv1alpha1.HandledRequests) string
}

var (
	promoteRequest = request{"promote", servingv1alpha1.AnnotationPromote,
		func(r *servingv1alpha1.HandledRequests) string { return r.Promote }}
	promoteFullRequest = request{"promote --full", servingv1alpha1.AnnotationPromoteFull,
		func(r *servingv1alpha1.HandledRequests) string { return r.PromoteFull }}
	abortRequest = request{"abort", servingv1alpha1.AnnotationAbort,
		func(r *servingv1alpha1.HandledRequests) string { return r.Abort }}
	retryRequest = request{"retry", servingv1alpha1.AnnotationRetry,
		func(r *servingv1alpha1.HandledRequests) string { return r.Retry }}
)

// maxReasonLength bounds an abort's reason; it is kept in the annotation,
// in status.requests and in the history message.
const maxReasonLength = 512

// token is the value of a request: a new value is a new request, so it
// carries the time to the nanosecond. An abort's value carries its reason
// first, since the operator records the value as the reason.
func token(now time.Time, reason string) string {
	t := now.UTC().Format(time.RFC3339Nano)
	if reason == "" {
		return t
	}
	return fmt.Sprintf("%s (requested %s)", reason, t)
}

// statusCurrent reports whether status describes the latest spec: only then
// can it tell that a request would be moot.
func statusCurrent(md *servingv1alpha1.ModelDeployment) bool {
	return md.Status.Phase != "" && md.Status.ObservedGeneration == md.Generation
}

// refusal says why a request would do nothing, or "" when it may. The
// operator would record a moot request as handled and do nothing; saying so
// before asking is kinder.
func refusal(md *servingv1alpha1.ModelDeployment, r request) string {
	if !statusCurrent(md) {
		return ""
	}
	st := &md.Status
	switch r.annotation {
	case servingv1alpha1.AnnotationPromote, servingv1alpha1.AnnotationPromoteFull, servingv1alpha1.AnnotationAbort:
		if st.Candidate != nil {
			return ""
		}
		what := "nothing to promote"
		if r.annotation == servingv1alpha1.AnnotationAbort {
			what = "nothing to abort"
		}
		why := fmt.Sprintf("%s: ModelDeployment %s has no rollout in flight (phase %s, %s). ", what, md.Name, st.Phase, stableText(md))
		if rej := st.Rejected; rej != nil && rej.Version == md.Spec.Model.Version && r.annotation != servingv1alpha1.AnnotationAbort {
			return why + fmt.Sprintf("Version %s was rolled back; to roll it out again: kubectl modelgate retry %s", rej.Version, md.Name)
		}
		return why + "A rollout starts when spec.model.version or the template changes"
	case servingv1alpha1.AnnotationRetry:
		if st.Rejected != nil {
			return ""
		}
		return fmt.Sprintf("nothing to retry: ModelDeployment %s has no rolled-back version (phase %s, %s). Retry tries again a version the operator rolled back",
			md.Name, st.Phase, stableText(md))
	}
	return ""
}

func stableText(md *servingv1alpha1.ModelDeployment) string {
	if s := md.Status.Stable; s != nil {
		return "version " + s.Version + " serves all traffic"
	}
	return "no version serves traffic yet"
}

// where says where a rollout is, in a sentence.
func where(md *servingv1alpha1.ModelDeployment) string {
	st := &md.Status
	parts := []string{"phase " + string(st.Phase)}
	if c := st.Candidate; c != nil {
		s := fmt.Sprintf("candidate %s at %d%%", c.Version, c.Weight)
		if can := md.Spec.Strategy.Canary; md.Spec.Strategy.Type == servingv1alpha1.StrategyCanary && can != nil && int(c.Step) < len(can.Steps) {
			s += fmt.Sprintf(" (step %d of %d)", c.Step+1, len(can.Steps))
		}
		parts = append(parts, s)
	}
	if s := st.Stable; s != nil {
		parts = append(parts, "stable "+s.Version)
	}
	if r := st.Rejected; r != nil {
		parts = append(parts, "rolled back "+r.Version)
	}
	return strings.Join(parts, ", ")
}

// waiting says what a rollout waits for, from the condition that explains it.
func waiting(md *servingv1alpha1.ModelDeployment) string {
	for _, t := range []string{servingv1alpha1.ConditionStalled, servingv1alpha1.ConditionProgressing, servingv1alpha1.ConditionReady} {
		if c := meta.FindStatusCondition(md.Status.Conditions, t); c != nil && c.Message != "" && (t != servingv1alpha1.ConditionStalled || c.Status == metav1.ConditionTrue) {
			return c.Message
		}
	}
	return ""
}

const waitFlagHelp = "How long to wait for the operator to handle the request and report what it did; 0 does not wait"

const defaultWait = 10 * time.Second

func newControlCommands(opts *Options) []*cobra.Command {
	var (
		full                   bool
		reason                 string
		promoteWait, abortWait time.Duration
		retryWait, pauseWait   time.Duration
		resumeWait             time.Duration
		requestRun             = opts.requestRunner
		pausedRun              = opts.pausedRunner
	)
	promote := &cobra.Command{
		Use:   "promote NAME",
		Short: "Move a rollout to its next step, or with --full promote it at once",
		Long: `Annotate the ModelDeployment with serving.modelgate.dev/promote (or
serving.modelgate.dev/promote-full with --full) and a new request token. The
operator moves a canary past its current step's pause, or switches a
blue-green preview, and records the token in status.requests; the command
waits for that (see --wait) and says where the rollout is.

A promote is handled once the current step's pods are available; a rollout
paused by spec.paused holds it until resumed.`,
		Example: `  # Past a canary step that waits for a promote
  kubectl modelgate promote fraud-scorer -n ml

  # Skip the remaining steps
  kubectl modelgate promote fraud-scorer -n ml --full`,
		Args:              exactlyOneName,
		ValidArgsFunction: completeNames(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			r := promoteRequest
			if full {
				r = promoteFullRequest
			}
			return requestRun(cmd.Context(), args[0], r, "", promoteWait)
		},
	}
	promote.Flags().BoolVar(&full, "full", false, "Promote the candidate at once, skipping the remaining steps")
	promote.Flags().DurationVar(&promoteWait, "wait", defaultWait, waitFlagHelp)

	abort := &cobra.Command{
		Use:   "abort NAME --reason REASON",
		Short: "Roll a rollout back to the stable version now, with a reason",
		Long: `Annotate the ModelDeployment with serving.modelgate.dev/abort, whose value
carries the reason and a request token. The operator rolls the candidate
back: traffic to the stable version first, then the candidate scaled to
zero, phase RolledBack, the reason in status.history and an event. The
version is not tried again until the spec changes or 'kubectl modelgate retry'.`,
		Example:           `  kubectl modelgate abort fraud-scorer -n ml --reason "p95 latency doubled on EU traffic"`,
		Args:              exactlyOneName,
		ValidArgsFunction: completeNames(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			reason = strings.Join(strings.Fields(reason), " ")
			if reason == "" {
				return usageError("abort needs --reason: say why the rollout is rolled back, for the history and the people who read it, such as --reason \"error rate above 5%%\"")
			}
			if len(reason) > maxReasonLength {
				return usageError("--reason is %d characters long; keep it under %d and link to details", len(reason), maxReasonLength)
			}
			return requestRun(cmd.Context(), args[0], abortRequest, reason, abortWait)
		},
	}
	abort.Flags().StringVar(&reason, "reason", "", "Why the rollout is rolled back (required), recorded in status.history")
	abort.Flags().DurationVar(&abortWait, "wait", defaultWait, waitFlagHelp)

	retry := &cobra.Command{
		Use:   "retry NAME",
		Short: "Roll out again a version that was rolled back, without changing the spec",
		Long: `Annotate the ModelDeployment with serving.modelgate.dev/retry and a new
request token. The operator forgets the rolled-back version (status.rejected)
and rolls it out again from the first step.`,
		Example:           `  kubectl modelgate retry fraud-scorer -n ml`,
		Args:              exactlyOneName,
		ValidArgsFunction: completeNames(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			return requestRun(cmd.Context(), args[0], retryRequest, "", retryWait)
		},
	}
	retry.Flags().DurationVar(&retryWait, "wait", defaultWait, waitFlagHelp)

	pauseCmd := &cobra.Command{
		Use:   "pause NAME",
		Short: "Freeze a rollout at its current step (spec.paused: true)",
		Long: `Set spec.paused on the ModelDeployment. A rollout in flight stays at its
current step; rollbacks (an abort, a missed progress deadline) still happen.`,
		Example:           `  kubectl modelgate pause fraud-scorer -n ml`,
		Args:              exactlyOneName,
		ValidArgsFunction: completeNames(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			return pausedRun(cmd.Context(), args[0], true, pauseWait)
		},
	}
	pauseCmd.Flags().DurationVar(&pauseWait, "wait", defaultWait, waitFlagHelp)

	resumeCmd := &cobra.Command{
		Use:               "resume NAME",
		Short:             "Let a paused rollout move on (spec.paused: false)",
		Long:              `Clear spec.paused on the ModelDeployment, so that its rollout moves on.`,
		Example:           `  kubectl modelgate resume fraud-scorer -n ml`,
		Args:              exactlyOneName,
		ValidArgsFunction: completeNames(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			return pausedRun(cmd.Context(), args[0], false, resumeWait)
		},
	}
	resumeCmd.Flags().DurationVar(&resumeWait, "wait", defaultWait, waitFlagHelp)
	return []*cobra.Command{promote, abort, retry, pauseCmd, resumeCmd}
}

// requestRunner annotates the ModelDeployment with a request and reports
// whether, and how, the operator handled it.
func (o *Options) requestRunner(ctx context.Context, name string, r request, reason string, waitFor time.Duration) error {
	t, err := o.connect(name)
	if err != nil {
		return err
	}
	md, err := t.get(ctx)
	if err != nil {
		return err
	}
	if why := refusal(md, r); why != "" {
		return errors.New(why)
	}
	value := token(o.Clock.Now(), reason)
	base := md.DeepCopy()
	if md.Annotations == nil {
		md.Annotations = map[string]string{}
	}
	md.Annotations[r.annotation] = value
	if err := t.c.Patch(ctx, md, client.MergeFrom(base)); err != nil {
		return t.explain(err, "annotate")
	}
	out := o.Streams.Out
	fmt.Fprintf(out, "Requested %s of ModelDeployment %s/%s (%s=%q).\n", r.verb, t.namespace, t.name, r.annotation, value)
	if md.Spec.Paused && (r.annotation == servingv1alpha1.AnnotationPromote || r.annotation == servingv1alpha1.AnnotationPromoteFull) {
		fmt.Fprintf(out, "Note: the rollout is paused by spec.paused and holds the request until 'kubectl modelgate resume %s'.\n", t.name)
	}
	done, last, err := t.waitFor(ctx, waitFor, func(md *servingv1alpha1.ModelDeployment) bool {
		return r.handled(&md.Status.Requests) == value
	})
	if err != nil {
		return err
	}
	if done {
		_, err = fmt.Fprintf(out, "The operator handled it: %s.\n", where(last))
		return err
	}
	return notYet(out, last, waitFor, "the request")
}

// notYet says that the operator has not answered yet, and why it may not
// have; the request stands, so it must not be repeated.
func notYet(out io.Writer, md *servingv1alpha1.ModelDeployment, waited time.Duration, what string) error {
	s := fmt.Sprintf("The operator has not handled %s yet", what)
	if waited > 0 {
		s += fmt.Sprintf(" (waited %s)", waited)
	}
	s += fmt.Sprintf(": %s.", where(md))
	if w := waiting(md); w != "" {
		s += " " + strings.TrimSuffix(w, ".") + "."
	}
	s += fmt.Sprintf(" The request stands and is handled when the rollout reaches it; do not repeat it, as a new request is another step. Follow it with: kubectl modelgate status %s --watch\n", md.Name)
	_, err := io.WriteString(out, s)
	return err
}

// pausedRunner sets or clears spec.paused and reports when the operator has
// seen the change.
func (o *Options) pausedRunner(ctx context.Context, name string, paused bool, waitFor time.Duration) error {
	t, err := o.connect(name)
	if err != nil {
		return err
	}
	md, err := t.get(ctx)
	if err != nil {
		return err
	}
	verb := map[bool]string{true: "paused", false: "resumed"}[paused]
	out := o.Streams.Out
	if md.Spec.Paused == paused {
		state := map[bool]string{true: "already paused", false: "not paused"}[paused]
		_, err := fmt.Fprintf(out, "ModelDeployment %s/%s is %s: nothing changed (%s).\n", t.namespace, t.name, state, where(md))
		return err
	}
	base := md.DeepCopy()
	md.Spec.Paused = paused
	if err := t.c.Patch(ctx, md, client.MergeFrom(base)); err != nil {
		return t.explain(err, "patch")
	}
	fmt.Fprintf(out, "ModelDeployment %s/%s %s (spec.paused: %t).\n", t.namespace, t.name, verb, paused)
	if paused {
		fmt.Fprintf(out, "A rollout in flight stays at its current step; rollbacks still happen. Resume with: kubectl modelgate resume %s\n", t.name)
	}
	generation := md.Generation
	done, last, err := t.waitFor(ctx, waitFor, func(md *servingv1alpha1.ModelDeployment) bool {
		return md.Status.ObservedGeneration >= generation
	})
	if err != nil {
		return err
	}
	if done {
		_, err = fmt.Fprintf(out, "The operator has seen it: %s.\n", where(last))
		return err
	}
	return notYet(out, last, waitFor, "the change")
}

// pollInterval is how often a wait reads the object again.
const pollInterval = 200 * time.Millisecond

// waitFor reads the object until cond holds or the time is up, and returns
// the last copy read. A zero timeout reads it once.
func (t *target) waitFor(ctx context.Context, timeout time.Duration, cond func(*servingv1alpha1.ModelDeployment) bool) (bool, *servingv1alpha1.ModelDeployment, error) {
	var last *servingv1alpha1.ModelDeployment
	check := func(ctx context.Context) (bool, error) {
		md, err := t.get(ctx)
		if err != nil {
			return false, err
		}
		last = md
		return cond(md), nil
	}
	if timeout <= 0 {
		ok, err := check(ctx)
		return ok, last, err
	}
	err := wait.PollUntilContextTimeout(ctx, pollInterval, timeout, true, check)
	switch {
	case err == nil:
		return true, last, nil
	case last != nil && (errors.Is(err, context.DeadlineExceeded) || wait.Interrupted(err)):
		return false, last, nil
	}
	return false, last, err
}
