// Package rollout decides, as a pure function of the spec, the last status and
// the observed Deployments, which versions run at what size, which version is
// stable, and what the status says. The controller gathers and applies.
package rollout

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// Health is how far a version's Deployment has rolled out, as kstatus reads it.
type Health string

const (
	// HealthCurrent: every pod is updated and available.
	HealthCurrent Health = "Current"
	// HealthInProgress: pods are starting or updating.
	HealthInProgress Health = "InProgress"
	// HealthFailed: the Deployment exceeded its progress deadline.
	HealthFailed Health = "Failed"
)

// Observed is what the controller found of one version's Deployment.
type Observed struct {
	// Name of the Deployment.
	Name string
	// Version of the model it runs.
	Version string
	// TemplateHash of the pod template it was written from.
	TemplateHash string
	// Replicas is the Deployment's spec.replicas; AvailableReplicas its status'.
	Replicas, AvailableReplicas int32
	// Health of the rollout, and kstatus's message about it.
	Health  Health
	Message string
}

// Input is everything a decision depends on.
type Input struct {
	MD *servingv1alpha1.ModelDeployment
	// TemplateHash of the pod template the spec asks for.
	TemplateHash string
	// Deployments owned by the ModelDeployment, by name.
	Deployments map[string]Observed
	// Now is the time of the decision.
	Now metav1.Time
	// Gate of the spec's version.
	Gate Gate
	// RouteProblem says why the route of spec.strategy.trafficRouting
	// cannot carry a rollout (missing, or sending nothing to the
	// ModelDeployment's Services); empty when it can or when there is no router.
	RouteProblem string
	// Analysis is the analysis of the candidate as judged in this reconcile
	// (or the last one), nil when there is none.
	Analysis *servingv1alpha1.AnalysisStatus
	// Approvers are the sign-offs of the spec's version, as role=user, for
	// the history of its rollout.
	Approvers []string
	// Window is whether a deployment window is open now; nil when the spec
	// declares none.
	Window *WindowState
	// WindowOverride is the emergency override of the windows, as "reason
	// (set by user)", or empty.
	WindowOverride string
	// Requester says who set a manual-control annotation, as the history
	// shows it; nil reads the admission webhook's stamp as it is.
	Requester func(annotation string) string
	// Tests are the smoke and load tests of the candidate; nil when the spec
	// declares none.
	Tests *TestsState
}

// TestsState is where the candidate's smoke and load tests stand.
type TestsState struct {
	// Done is false while they run (or wait for the candidate's endpoints).
	Done bool
	// Passed, or Reason (SmokeTestFailed, LoadTestFailed) and Message.
	Passed          bool
	Reason, Message string
}

// WindowState is what the deployment windows say about now.
type WindowState struct {
	Open bool
	// NextStart is when the next window opens, zero if none within a week.
	NextStart time.Time
	// Message says so, with times in the windows' own zones.
	Message string
}

// Target is a version that must run at a size.
type Target struct {
	Version string
	// Deployment runs it: several revisions of one version (a changed
	// template or URI) each have their own.
	Deployment string
	Replicas   int32
}

// Gate says whether the spec's version may get traffic. The controller closes
// it for a failing checklist, then for missing approvals; Decide closes it too
// for a route that cannot carry a rollout. Deployment windows are not a gate:
// they hold a rollout where it is (Input.Window), and never a rollback.
type Gate struct {
	// Closed holds the version; the zero Gate is open.
	Closed bool
	// Reason (CamelCase) and Message say why it is closed.
	Reason, Message string
	// Retrying is true when the gate may open by itself, such as a probe whose
	// far end did not answer, or by someone else's act, such as an approval;
	// otherwise it waits for the user to change something (the spec, or an
	// object the checklist looks at).
	Retrying bool
	// Phase of a held version; Verifying when empty.
	Phase servingv1alpha1.Phase
}

// ConditionResult is a condition's status, reason and message.
type ConditionResult struct {
	Status  metav1.ConditionStatus
	Reason  string
	Message string
}

// Event is a change worth telling the user about.
type Event struct {
	Type    string
	Reason  string
	Message string
}

// Decision is what the controller applies and writes to status.
type Decision struct {
	Stable    *servingv1alpha1.VersionStatus
	Candidate *servingv1alpha1.CandidateStatus
	// Run lists the versions whose Deployments must exist, with their sizes.
	Run []Target
	// SpecDeployment is the Deployment of the revision the spec asks for,
	// the only one written from the spec's template.
	SpecDeployment string
	// Delete lists Deployments to remove, by name.
	Delete []string
	// Selectors of the three Services.
	Selectors desiredstate.ServiceSelectors
	Phase     servingv1alpha1.Phase
	Ready     ConditionResult
	// Reconciling is set while the spec is not reached yet; Stalled when it
	// cannot be without a change. Nil means the condition is absent.
	Reconciling *ConditionResult
	Stalled     *ConditionResult
	// Progressing is the detail condition about a rollout in flight.
	Progressing ConditionResult
	// RolledBack is the condition of a rolled-back candidate; nil removes it.
	RolledBack *ConditionResult
	// Rejected is the rolled-back version that is not tried again.
	Rejected *servingv1alpha1.VersionStatus
	// Previous is the version a blue-green switch replaced, kept warm for a while.
	Previous *servingv1alpha1.VersionStatus
	// Requests are the manual-control annotations handled so far.
	Requests servingv1alpha1.HandledRequests
	// RequeueAfter asks to decide again after a while, such as at the end of a pause.
	RequeueAfter time.Duration
	// Finished is the history entry of a rollout that ended in this decision.
	Finished []servingv1alpha1.HistoryEntry
	// Events to emit, each about a change since the last status.
	Events []Event
	// Route is what the router must say; nil without a router.
	Route *desiredstate.RoutePlan

	// traffic is what the strategy asks of the router, made into Route at the end.
	traffic desiredstate.RoutePlan
	// testing keeps the candidate out of <name> while its tests run.
	testing bool
	// handled are the manual requests handled in this decision, as
	// "<annotation> by <user>".
	handled []string
}

// Decide computes the next step: which versions run at what size, what the
// Services select and the router sends where, and what status says.
func Decide(in Input) Decision {
	md := in.MD
	want := md.Spec.Model.Version
	replicas := desiredstate.Replicas(md)
	prev := md.Status

	d := Decision{Stable: prev.Stable.DeepCopy(), Candidate: prev.Candidate.DeepCopy(),
		Rejected: prev.Rejected.DeepCopy(), Previous: prev.Previous.DeepCopy(), Requests: prev.Requests}

	// A candidate that is no longer what the spec asks for is dropped.
	sameStable, wantName := specRevision(d.Stable, in)
	d.SpecDeployment = wantName
	// (A candidate's template changed under it starts again from the gate
	// and the first step: what passed them was another template.)
	if c := d.Candidate; c != nil && (c.Version != want || c.Deployment != wantName || (c.TemplateHash != "" && c.TemplateHash != in.TemplateHash)) {
		msg, event := fmt.Sprintf("Version %s was replaced in the spec by %s before it finished rolling out", c.Version, want),
			fmt.Sprintf("Version %s superseded by %s before it finished rolling out", c.Version, want)
		if c.Version == want {
			msg = fmt.Sprintf("Version %s was replaced by a changed pod template, URI or config before it finished rolling out", want)
			event = fmt.Sprintf("Version %s superseded by a changed pod template, URI or config before it finished rolling out", want)
		}
		d.Finished = append(d.Finished, servingv1alpha1.HistoryEntry{
			Version: c.Version, Previous: stableVersion(d.Stable), Outcome: servingv1alpha1.OutcomeSuperseded,
			Reason: ReasonSuperseded, Message: msg, Strategy: md.Spec.Strategy.Type, StartedAt: c.StartedAt, FinishedAt: &in.Now,
		})
		d.Events = append(d.Events, Event{corev1.EventTypeNormal, ReasonSuperseded, event})
		d.Candidate = nil
	}

	if sameStable {
		d.Rejected = nil // the spec went back to the stable version
		decideStableVersion(&d, in, wantName, replicas)
	} else {
		decideNewVersion(&d, in, wantName, replicas)
	}
	keepPreviousWarm(&d, in)

	if d.Candidate == nil {
		// With no rollout in flight there is nothing to promote or abort: a
		// request made now is handled as moot, not kept for the next rollout.
		for annotation, handled := range map[string]*string{
			servingv1alpha1.AnnotationPromote:     &d.Requests.Promote,
			servingv1alpha1.AnnotationPromoteFull: &d.Requests.PromoteFull,
			servingv1alpha1.AnnotationAbort:       &d.Requests.Abort,
			servingv1alpha1.AnnotationRetry:       &d.Requests.Retry,
		} {
			if v, ok := requested(md, annotation, *handled); ok {
				record(&d, in, annotation, v)
			}
		}
	}
	var before []string
	if prev.Candidate != nil {
		before = prev.Candidate.Requests
	}
	settleRequests(&d, before)
	d.Delete = unwanted(in.Deployments, d.Run, md)
	d.Selectors = selectors(md, d.Stable, d.Candidate)
	// <name> selects the stable version only when users must reach one
	// version at a time (a blue-green preview, a shadow whose answers are
	// dropped, an A/B cohort chosen by the router), when a router, not the
	// mix of pods, sets a canary's share, and while the candidate is tested.
	if strategyFor(md).apexStableOnly(Routed(md)) || d.testing {
		d.Selectors.Apex = d.Selectors.Stable
	}
	if Routed(md) {
		if d.Candidate == nil {
			d.traffic = desiredstate.RoutePlan{} // everything on stable
		}
		d.Route = &d.traffic
	}
	if d.Stalled != nil && d.RolledBack == nil && !sameStalled(md, d.Stalled) { // a rollback tells of itself
		d.Events = append(d.Events, Event{corev1.EventTypeWarning, d.Stalled.Reason, d.Stalled.Message})
	}
	return d
}

// SpecDeployment names the Deployment of the revision the spec asks for
// (specRevision), for what needs it before the decision, such as the
// checklist's HPA and capacity checks.
func SpecDeployment(md *servingv1alpha1.ModelDeployment, templateHash string, deployments map[string]Observed) string {
	_, name := specRevision(md.Status.Stable, Input{MD: md, TemplateHash: templateHash, Deployments: deployments})
	return name
}

// specRevision says whether the spec asks for the stable revision, and names
// the Deployment of the revision it asks for. A version's identity is its
// number and its pod template (which holds the URI): a change of either is a
// candidate that goes through the gate and the strategy, and a changed
// template under the stable number runs in a Deployment of its own. A stable
// Deployment that already runs the spec's template, rolled in place before
// modelgate made a changed template a candidate, is the stable revision too.
func specRevision(stable *servingv1alpha1.VersionStatus, in Input) (sameStable bool, name string) {
	md, want := in.MD, in.MD.Spec.Model.Version
	if stable == nil || stable.Version != want {
		return false, desiredstate.DeploymentName(md, want)
	}
	current := cmp.Or(stable.Deployment, desiredstate.DeploymentName(md, want))
	if stable.TemplateHash == in.TemplateHash || stable.TemplateHash == "" || in.Deployments[current].TemplateHash == in.TemplateHash {
		return true, current
	}
	return false, desiredstate.RevisionDeploymentName(md, want, in.TemplateHash)
}

// decideStableVersion handles a spec that asks for the stable revision: its
// Deployment is kept at the spec's size. Any change of the template or the
// URI makes another revision, a candidate (decideNewVersion).
func decideStableVersion(d *Decision, in Input, name string, replicas int32) {
	want := in.MD.Spec.Model.Version
	d.Run = []Target{{Version: want, Deployment: name, Replicas: replicas}}
	obs, found := in.Deployments[name]
	switch {
	case found && obs.Health == HealthFailed:
		stall(d, ReasonProgressDeadlineExceeded, fmt.Sprintf("Deployment %s of version %s did not become available within the progress deadline: %s", name, want, obs.Message))
	case found && rolledOut(obs, in.TemplateHash, replicas):
		d.Stable.Deployment = name
		d.Stable.TemplateHash = in.TemplateHash
		succeed(d, want, obs)
	default:
		progress(d, ReasonWaitingForPods, fmt.Sprintf("Version %s has %d/%d pods available", want, obs.AvailableReplicas, replicas), obs, found)
	}
}

// testsPassed holds the candidate out of user traffic while its smoke and
// load tests run against it, rolls it back when they fail, and reports
// whether they passed (or none are declared).
func testsPassed(d *Decision, in Input, name string, replicas int32, where string, obs Observed, found bool) bool {
	t := in.Tests
	switch {
	case t == nil || (t.Done && t.Passed):
		return true
	case t.Done:
		rollback(d, in, name, replicas, t.Reason, fmt.Sprintf("Version %s was rolled back: %s", in.MD.Spec.Model.Version, t.Message))
		return false
	}
	d.testing = true
	d.Candidate.Weight = 0
	d.traffic = desiredstate.RoutePlan{}
	progress(d, ReasonTesting, where+": smoke and load tests run against the candidate; it gets no user traffic until they pass", obs, found)
	return false
}

// outsideWindow reports whether the deployment windows hold a rollout now: a
// window is declared, none is open, and no emergency override is set.
// Rollbacks are never held.
func outsideWindow(in Input) bool {
	return in.Window != nil && !in.Window.Open && in.WindowOverride == ""
}

// waitForWindow holds a rollout where it is until a deployment window opens.
func waitForWindow(d *Decision, in Input) {
	msg := in.Window.Message
	if d.Phase != servingv1alpha1.PhaseWaiting {
		d.Phase = servingv1alpha1.PhaseWaiting
		d.Ready = ConditionResult{metav1.ConditionFalse, ReasonOutsideWindow, msg}
		d.Reconciling = &ConditionResult{metav1.ConditionTrue, ReasonOutsideWindow, msg}
		d.Progressing = ConditionResult{metav1.ConditionTrue, ReasonOutsideWindow, msg}
		if in.MD.Status.Phase != servingv1alpha1.PhaseWaiting {
			d.Events = append(d.Events, Event{corev1.EventTypeNormal, ReasonOutsideWindow, msg})
		}
	}
	if next := in.Window.NextStart; !next.IsZero() && next.After(in.Now.Time) {
		d.RequeueAfter = next.Sub(in.Now.Time)
	}
}

// decideNewVersion handles a spec version that is not stable yet: the first
// deploy, or a new version beside the stable one.
func decideNewVersion(d *Decision, in Input, name string, replicas int32) {
	md := in.MD
	want := md.Spec.Model.Version
	if stillRejected(d, in) {
		stayRolledBack(d, in, replicas)
		return
	}
	if d.Candidate == nil {
		d.Candidate = &servingv1alpha1.CandidateStatus{
			VersionStatus: servingv1alpha1.VersionStatus{Version: want, Deployment: name},
			StartedAt:     &in.Now,
		}
		msg := fmt.Sprintf("Rolling out version %s", want)
		if d.Stable != nil {
			msg = fmt.Sprintf("Rolling out version %s to replace %s", want, d.Stable.Version)
		}
		d.Events = append(d.Events, Event{corev1.EventTypeNormal, ReasonRolloutStarted, msg})
	}
	d.Candidate.TemplateHash = in.TemplateHash
	gate := in.Gate
	if !gate.Closed && d.Stable != nil && in.RouteProblem != "" && Routed(md) {
		// Without its route a rollout cannot move traffic; the stable version
		// keeps serving through whatever the route says today.
		gate = Gate{Closed: true, Reason: ReasonRouteNotReady, Message: in.RouteProblem}
	}
	if gate.Closed {
		holdCandidate(d, in, gate, replicas)
		return
	}
	if outsideWindow(in) && !strategyFor(md).startedMoving(d.Candidate) {
		// Outside every deployment window a rollout does not start moving
		// traffic; a preview (blue-green) may come up.
		holdCandidate(d, in, Gate{Closed: true, Reason: ReasonOutsideWindow, Message: in.Window.Message,
			Retrying: true, Phase: servingv1alpha1.PhaseWaiting}, replicas)
		waitForWindow(d, in)
		return
	}
	if d.Stable == nil {
		// The first version has nothing to shift traffic from.
		decideRolling(d, in, name, replicas)
		return
	}
	strategyFor(md).step(d, in, name, replicas)
}

// rolledOut reports whether a Deployment runs the wanted template at the
// wanted size with every pod available. kstatus alone is not enough: a
// Deployment just created at zero pods (a candidate the checklist held) is
// Current, and so is one whose new size the Deployment controller has not
// seen yet.
func rolledOut(obs Observed, templateHash string, replicas int32) bool {
	return obs.Health == HealthCurrent && obs.TemplateHash == templateHash &&
		obs.Replicas == replicas && obs.AvailableReplicas >= replicas
}

// unwanted lists the observed Deployments of versions that need not run.
func unwanted(observed map[string]Observed, run []Target, md *servingv1alpha1.ModelDeployment) []string {
	keep := map[string]bool{}
	for _, t := range run {
		keep[cmp.Or(t.Deployment, desiredstate.DeploymentName(md, t.Version))] = true
	}
	var out []string
	for name := range observed {
		if !keep[name] {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// selectors point <name> at every version (Rolling serves from both while the
// new one comes up), <name>-stable at the stable revision and <name>-candidate
// at the candidate; each falls back to the other when only one exists.
func selectors(md *servingv1alpha1.ModelDeployment, stable *servingv1alpha1.VersionStatus, cand *servingv1alpha1.CandidateStatus) desiredstate.ServiceSelectors {
	var stableL, candL map[string]string
	if stable != nil {
		stableL = revisionLabels(md, stable)
	}
	if cand != nil {
		candL = revisionLabels(md, &cand.VersionStatus)
	}
	if stableL == nil {
		stableL = candL
	}
	if candL == nil {
		candL = stableL
	}
	if stableL == nil { // nothing decided yet: select the spec's version
		stableL, candL = desiredstate.VersionLabels(md, md.Spec.Model.Version), desiredstate.VersionLabels(md, md.Spec.Model.Version)
	}
	return desiredstate.ServiceSelectors{Apex: desiredstate.SelectorLabels(md), Stable: stableL, Candidate: candL}
}

// revisionLabels select the pods of one revision of a version.
func revisionLabels(md *servingv1alpha1.ModelDeployment, v *servingv1alpha1.VersionStatus) map[string]string {
	return desiredstate.RevisionLabels(md, v.Version, desiredstate.RevisionOf(md, v.Version, v.Deployment))
}

func stableVersion(s *servingv1alpha1.VersionStatus) string {
	if s == nil {
		return ""
	}
	return s.Version
}

// HistoryLimit is how many rollouts status.history keeps.
const HistoryLimit = 10

// RecordHistory puts the finished rollouts first, newest first, and keeps at
// most HistoryLimit entries.
func RecordHistory(history []servingv1alpha1.HistoryEntry, finished ...servingv1alpha1.HistoryEntry) []servingv1alpha1.HistoryEntry {
	if len(finished) == 0 {
		return history
	}
	out := make([]servingv1alpha1.HistoryEntry, 0, len(history)+len(finished))
	for i := len(finished) - 1; i >= 0; i-- {
		out = append(out, finished[i])
	}
	out = append(out, history...)
	if len(out) > HistoryLimit {
		out = out[:HistoryLimit]
	}
	return out
}
