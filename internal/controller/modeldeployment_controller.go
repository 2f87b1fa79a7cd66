// Package controller holds the ModelDeployment reconciler: it gathers what the
// cluster holds, asks the pure rollout and desiredstate packages what to do,
// applies it, and writes status once, at the end.
package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
	"github.com/modelgate/modelgate/internal/approval"
	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/internal/configrollout"
	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/internal/loadtest"
	"github.com/modelgate/modelgate/internal/notify"
	"github.com/modelgate/modelgate/internal/policy"
	"github.com/modelgate/modelgate/internal/rollout"
	"github.com/modelgate/modelgate/internal/statusbound"
	"github.com/modelgate/modelgate/internal/traffic"
	"github.com/modelgate/modelgate/internal/window"
)

// ownerIndex is the field index of owned objects by the name of their
// controlling ModelDeployment.
const ownerIndex = ".metadata.controller.modeldeployment"

// ModelDeploymentReconciler reconciles ModelDeployments.
type ModelDeploymentReconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
	// Clock is injected so tests control the times written to status.
	Clock clock.PassiveClock
	// Prober runs the checklist's network probes; nil skips them.
	Prober Prober
	// GatewayAPI is true when the cluster serves the Gateway API, whose
	// HTTPRoutes and Gateways the checklist then reads and watches.
	GatewayAPI bool
	// PrometheusRules is true when the cluster serves the Prometheus
	// Operator's PrometheusRule: a ModelDeployment's alerts are written
	// there, else into a ConfigMap.
	PrometheusRules bool
	// APIReader reads what the cache does not hold whole: Secret values, such
	// as a Prometheus token or a receiver's URL. SetupWithManager sets the
	// manager's when nil; without one, reading a Secret value is an error.
	APIReader client.Reader
	// HTTPClient's transport carries the analysis' queries; nil uses the default.
	HTTPClient *http.Client
	// Routers are the traffic routers by kind (rollout.RouterKind). Nil has
	// the Gateway API's, reading and patching HTTPRoutes through Client.
	Routers map[string]traffic.Router
	// MetricsProviders build the metrics provider of spec.analysis, by kind
	// (analysis.ProviderKind). Nil has Prometheus only.
	MetricsProviders map[string]analysis.ProviderFactory
	// Rounds runs the analysis' queries in the background. Nil gets one
	// running analysis.DefaultMaxRounds rounds at once,
	// analysis.DefaultMaxRoundsPerNamespace of one namespace, which
	// SetupWithManager stops with the manager.
	Rounds *analysis.Rounds
	// MaxConcurrentReconciles is how many ModelDeployments are reconciled at
	// once. Default DefaultMaxConcurrentReconciles.
	MaxConcurrentReconciles int
	// Notifier delivers spec.notifications in the background; nil sends none.
	Notifier *notify.Notifier
	// Tester runs the smoke and load tests in the background; nil runs none.
	Tester *loadtest.Tester
	// TestClient sends the smoke and load tests (the manager's dials through
	// the egress policy); nil makes one per job with loadtest.NewClient.
	TestClient *http.Client
	// Stamps says why the identities the admission webhook stamps (an
	// approval's approver, who set a window override or a manual control)
	// cannot be believed now, or "" when they can (stamps.Checker). Nil
	// believes them: for unit tests that run no API server only.
	Stamps interface {
		Untrusted(ctx context.Context) (string, error)
	}

	roundsOnce sync.Once
	// own remembers what the manager's own writes made stale in its cache.
	own ownWrites
	// referencedObjs remembers the Secrets and ConfigMaps read past the
	// metadata-only cache, by resourceVersion.
	referencedObjs *referencedObjects
	referencedOnce sync.Once
	// kept remembers, by Deployment UID, the generation of a pod template
	// that the API server kept different from the one modelgate wrote back
	// (an admission webhook that mutates it): not written again, nor told
	// again, until the Deployment changes.
	kept sync.Map
	// finished carries the ModelDeployments whose background work (a round
	// of queries, the tests) just finished, to be reconciled at once rather
	// than at the next poll.
	finished chan event.GenericEvent
}

// enqueue asks for a reconcile of a ModelDeployment whose background work
// finished. It never blocks: with the queue full, the next poll finds it.
func (r *ModelDeploymentReconciler) enqueue(namespace, name string) {
	select {
	case r.finished <- event.GenericEvent{Object: &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}}:
	default:
	}
}

// DefaultMaxConcurrentReconciles is how many ModelDeployments are reconciled
// at once unless told otherwise. Nothing slow runs on these workers (queries,
// tests and notifications run in the background); a reconcile mostly waits
// for the API server's answers to its few writes, and with 4 workers a
// mass creation waited on them, not on the API server (make bench-scale).
const DefaultMaxConcurrentReconciles = 8

// rounds is the runner of the analysis' rounds, made on first use.
func (r *ModelDeploymentReconciler) rounds() *analysis.Rounds {
	r.roundsOnce.Do(func() {
		if r.Rounds == nil {
			r.Rounds = &analysis.Rounds{MaxJobs: analysis.DefaultMaxRounds, MaxJobsPerNamespace: analysis.DefaultMaxRoundsPerNamespace}
		}
	})
	return r.Rounds
}

// httpTransport carries the analysis' queries.
func (r *ModelDeploymentReconciler) httpTransport() http.RoundTripper {
	if r.HTTPClient == nil {
		return nil
	}
	return r.HTTPClient.Transport
}

// scope carries what one reconcile gathered and decided.
type scope struct {
	md           *servingv1alpha1.ModelDeployment
	now          metav1.Time
	template     corev1.PodTemplateSpec
	templateHash string
	// configSources are the ConfigMaps and Secrets the spec's template
	// references, and configCopies the copies its revision reads instead
	// (none with spec.configRollout Off).
	configSources []configrollout.Source
	configCopies  []configrollout.Copy
	// copyProblems say what was found wrong with the copies the spec's
	// revision reads and put right, for status.
	copyProblems []string
	deployments  map[string]*appsv1.Deployment
	// deleted are the Deployments this manager deleted that the cache still lists.
	deleted  map[types.UID]bool
	observed map[string]rollout.Observed
	// revisions are the ControllerRevisions owned, by name (their Deployment's).
	revisions map[string]*appsv1.ControllerRevision
	decision  rollout.Decision
	decided   bool
	// deploymentWrites counts the writes of Deployments this reconcile made
	// that the API server took (each brings a watch event).
	deploymentWrites int
	// router is the traffic router of spec.strategy.trafficRouting, nil when
	// there is none or its route cannot carry a rollout (routeProblem says
	// why).
	router       traffic.Router
	routeProblem string
	// analysis is the candidate's analysis after this reconcile's round, if
	// one was judged (analysisJudged); analysisDue is how long until the
	// next one, or until the running one is looked at again.
	analysis       *servingv1alpha1.AnalysisStatus
	analysisJudged bool
	analysisDue    time.Duration
	// policy is the judgement of the ModelDeploymentPolicies that select
	// the ModelDeployment: the effective rules and the spec's violations.
	policy policy.Result
	// approvals are the sign-offs of the spec's version.
	approvals approval.Result
	// untrusted says why the identities the admission webhook stamps cannot
	// be believed now; empty when they can.
	untrusted string
	// tests are the candidate's smoke and load tests, testsDue when to look
	// again while they run, and loadTest the figures of a finished load test.
	tests    *rollout.TestsState
	testsDue time.Duration
	loadTest *servingv1alpha1.LoadTestStatus
	// notified is the Notified condition, from the notifier's failures; nil
	// removes it.
	notified *rollout.ConditionResult

	checklistInputs *checklist.Inputs
	checklist       checklist.Result
}

// The manager writes status (by patch), never a ModelDeployment's spec or
// metadata, and uses no finalizer: owner references let the garbage
// collector remove what it made. docs/rbac.md explains each rule.
// +kubebuilder:rbac:groups=serving.modelgate.dev,resources=modeldeployments,verbs=get;list;watch
// +kubebuilder:rbac:groups=serving.modelgate.dev,resources=modeldeployments/status,verbs=get;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;patch

// Reconcile moves one ModelDeployment toward its spec.
func (r *ModelDeploymentReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	md := &servingv1alpha1.ModelDeployment{}
	if err := r.Get(ctx, req.NamespacedName, md); err != nil {
		if apierrors.IsNotFound(err) {
			forgetMetrics(req.Namespace, req.Name)
			if r.Notifier != nil {
				r.Notifier.Forget(req.Namespace, req.Name)
			}
			if r.Tester != nil {
				r.Tester.Cancel(req.Namespace, req.Name)
			}
			r.rounds().Cancel(req.Namespace, req.Name)
			r.referenced().forgetNamespace(req.Namespace)
			r.own.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !md.DeletionTimestamp.IsZero() {
		// Owner references let the garbage collector remove what we created.
		return ctrl.Result{}, nil
	}
	if wait, pending := r.waitForOwnWrites(ctx, md); pending {
		return ctrl.Result{RequeueAfter: wait}, nil
	}

	base := md.DeepCopy()
	if r.own.appliedGeneration(req.NamespacedName, md.UID) == md.Generation {
		// The last reconcile applied this generation's decision and left
		// observedGeneration to this reconcile's status write, whatever
		// it ends with.
		md.Status.ObservedGeneration = md.Generation
	}
	s := &scope{md: md, now: metav1.NewTime(r.Clock.Now())}
	// recorded is set once the decision is in status; from then on only an
	// error needs another status write.
	recorded := false
	defer func() {
		if recorded && retErr == nil {
			return
		}
		summarize(s, retErr)
		if _, err := r.patchStatus(ctx, base, md); err != nil {
			retErr = kerrors.NewAggregate([]error{retErr, err})
			return
		}
		r.emitEvents(ctx, base, s, retErr)
	}()

	for _, step := range []func(context.Context, *scope) error{r.gather, r.gatherRoute, r.gatherPolicy, r.gatherStamps, r.gatherApprovals, r.gatherChecklist, r.gatherAnalysis, r.gatherTests, r.decide} {
		if err := step(ctx, s); err != nil {
			return ctrl.Result{}, r.stepError(ctx, s, err)
		}
	}

	// The decision is recorded before it is acted on, so that a manager that
	// restarts, or a reconcile that read a stale copy, never acts twice: a
	// stale status is refused by the optimistic lock, and nothing is done.
	observed := md.Status.ObservedGeneration
	summarize(s, nil)
	md.Status.ObservedGeneration = observed
	from := md.ResourceVersion
	written, err := r.patchStatus(ctx, base, md)
	if err != nil {
		return ctrl.Result{}, err
	}
	recorded = true
	statusWritten := md.ResourceVersion != from
	if !written {
		return ctrl.Result{}, nil // stale: the write that made it so queues us again
	}
	r.emitEvents(ctx, base, s, nil)
	if s.analysisJudged {
		// Counted once its status is written: a round judged against a stale
		// copy, whose write was refused, is judged again and counted then.
		recordAnalysisMetrics(md, s.analysis)
	}
	base = md.DeepCopy()

	if err := r.apply(ctx, s); err != nil {
		if apierrors.IsConflict(err) {
			// A cached copy older than our own last write: the write's event
			// queues us again, with the decision already recorded.
			logf.FromContext(ctx).V(1).Info("Applying against a stale copy; reconciling again", "error", err.Error())
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		recorded = false // the error goes into status
		return ctrl.Result{}, r.stepError(ctx, s, err)
	}
	if err := r.generationHandled(ctx, s, base, statusWritten); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: requeueAfter(s)}, nil
}

// waitForOwnWrites reports whether the cache is older than the manager's own
// last writes for md, and how long to wait at most. Its copy of md older than
// our last status write would be refused by the optimistic lock; Deployments
// older than our writes, or missing ones we created, would be written the
// same again (a patch that changes nothing, a POST refused with 409). The
// events of those writes queue md again once the cache has them.
func (r *ModelDeploymentReconciler) waitForOwnWrites(ctx context.Context, md *servingv1alpha1.ModelDeployment) (time.Duration, bool) {
	log := logf.FromContext(ctx).V(1)
	if r.own.staleStatus(client.ObjectKeyFromObject(md), md.ResourceVersion) {
		log.Info("Cached copy older than our last status write; waiting for it", "modelDeployment", klog.KObj(md))
		return 0, true
	}
	wait, pending := r.ownWritesPending(ctx, md)
	if pending {
		log.Info("Cached objects older than our last writes; waiting for them", "modelDeployment", klog.KObj(md))
	}
	return wait, pending
}

// generationHandled records that the generation is handled, once its
// decision is applied. When this reconcile wrote its status or a Deployment,
// the watch event of that write queues the next reconcile, whose status
// write says so (it has more to say then, such as the new Deployment's
// progress): one status write less per generation.
func (r *ModelDeploymentReconciler) generationHandled(ctx context.Context, s *scope, base *servingv1alpha1.ModelDeployment, statusWritten bool) error {
	md := s.md
	switch {
	case md.Status.ObservedGeneration == md.Generation:
		return nil
	case statusWritten || s.deploymentWrites > 0:
		r.own.generationApplied(client.ObjectKeyFromObject(md), md.UID, md.Generation)
		return nil
	}
	md.Status.ObservedGeneration = md.Generation
	_, err := r.patchStatus(ctx, base, md)
	return err
}

// requeueAfter is when to decide again without a watch event: at the end of a
// pause, at the next round of analysis, or to look again at what the checklist
// cannot watch.
func requeueAfter(s *scope) time.Duration {
	next := s.decision.RequeueAfter
	measuring := s.decision.Candidate != nil || s.decision.Phase == servingv1alpha1.PhaseBaking
	if s.analysisDue > 0 && measuring && (next == 0 || s.analysisDue < next) {
		next = s.analysisDue
	}
	if s.testsDue > 0 && s.decision.Candidate != nil && (next == 0 || s.testsDue < next) {
		next = s.testsDue
	}
	if next > 0 || s.decision.Phase != servingv1alpha1.PhaseVerifying {
		return next
	}
	// Watches bring the cluster's changes; what lies outside it (an artifact
	// uploaded, a registration finished, a probe that did not answer) is asked
	// again on a timer, the prober backing off per probe.
	if s.decision.Reconciling != nil {
		return verifyRetryInterval
	}
	return verifyRecheckInterval
}

// patchStatus writes the status by merge patch with an optimistic lock. It
// reports false, without an error, when the object changed since it was read:
// the status was computed from a stale copy and must not be written (it would
// append history twice and repeat events); the write that made it stale queues
// the object again. Every status string is cut to its schema bound first.
func (r *ModelDeploymentReconciler) patchStatus(ctx context.Context, base, md *servingv1alpha1.ModelDeployment) (bool, error) {
	statusbound.Apply(&md.Status)
	if equality.Semantic.DeepEqual(base.Status, md.Status) {
		return true, nil
	}
	from := md.ResourceVersion
	err := r.Status().Patch(ctx, md, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	if err == nil && md.ResourceVersion != from {
		// A write the API server found empty changes no resourceVersion and
		// sends no event: nothing to wait for then.
		r.own.statusWritten(client.ObjectKeyFromObject(md), from)
	}
	switch {
	case apierrors.IsConflict(err):
		logf.FromContext(ctx).V(1).Info("Status changed since it was read; reconciling again", "modelDeployment", klog.KObj(md))
		return false, nil
	case err != nil:
		return false, client.IgnoreNotFound(err)
	}
	return true, nil
}

// stepError turns a step's error into what Reconcile returns: nothing for a
// namespace being deleted, the error otherwise (terminal ones stall).
func (r *ModelDeploymentReconciler) stepError(ctx context.Context, s *scope, err error) error {
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		// The namespace is going away, and the ModelDeployment with it: nothing
		// to retry, and nothing more to record.
		s.decided = false
		return nil
	}
	if errors.Is(err, reconcile.TerminalError(nil)) {
		logf.FromContext(ctx).Info("Spec cannot succeed without a change", "modelDeployment", klog.KObj(s.md), "reason", err.Error())
	}
	return err
}

const (
	// verifyRetryInterval is how often a checklist that could not be judged is tried again.
	verifyRetryInterval = 10 * time.Second
	// verifyRecheckInterval is how often a failing checklist is judged again
	// for what no watch reports.
	verifyRecheckInterval = time.Minute
)

// gather reads the desired pod template and the Deployments this
// ModelDeployment owns, and judges how far each has rolled out.
func (r *ModelDeploymentReconciler) gather(ctx context.Context, s *scope) error {
	tpl, err := desiredstate.PodTemplate(s.md, s.md.Spec.Model.Version)
	if err != nil {
		return reconcile.TerminalError(invalidSpec{err})
	}
	// The copies of the config it reads are part of a revision's template,
	// so a change of their data is a new revision.
	if tpl, err = r.gatherConfig(ctx, s, tpl); err != nil {
		return err
	}
	s.template, s.templateHash = tpl, desiredstate.TemplateHash(&tpl)

	var list appsv1.DeploymentList
	if err := r.List(ctx, &list, client.InNamespace(s.md.Namespace), client.MatchingFields{ownerIndex: s.md.Name}); err != nil {
		return fmt.Errorf("listing Deployments of %s: %w", s.md.Name, err)
	}
	s.deployments = make(map[string]*appsv1.Deployment, len(list.Items))
	s.observed = make(map[string]rollout.Observed, len(list.Items))
	uids := make([]types.UID, 0, len(list.Items))
	for i := range list.Items {
		uids = append(uids, list.Items[i].UID)
	}
	s.deleted = r.own.deletedOf(client.ObjectKeyFromObject(s.md), uids)
	for i := range list.Items {
		dep := &list.Items[i]
		if !metav1.IsControlledBy(dep, s.md) {
			continue // same name, older incarnation of the ModelDeployment
		}
		obs, err := observe(dep)
		if err != nil {
			return err
		}
		s.deployments[dep.Name] = dep
		s.observed[dep.Name] = obs
	}
	return r.gatherRevisions(ctx, s)
}

// observe reads a Deployment's rollout state the way kstatus does, so our
// notion of "rolled out" is the one GitOps tools use.
func observe(dep *appsv1.Deployment) (rollout.Observed, error) {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(dep)
	if err != nil {
		return rollout.Observed{}, fmt.Errorf("converting Deployment %s: %w", dep.Name, err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion("apps/v1")
	u.SetKind("Deployment")
	res, err := kstatus.Compute(u)
	if err != nil {
		return rollout.Observed{}, fmt.Errorf("computing the status of Deployment %s: %w", dep.Name, err)
	}
	health := rollout.HealthInProgress
	switch res.Status {
	case kstatus.CurrentStatus:
		health = rollout.HealthCurrent
	case kstatus.FailedStatus:
		health = rollout.HealthFailed
	}
	message := res.Message
	if g := dep.Status.ObservedGeneration; g > 0 && g < dep.Generation {
		// A write the Deployment controller has not seen yet, as after every
		// resize: a moment's state, not worth a status write of its own.
		message = ""
	}
	return rollout.Observed{
		Name:              dep.Name,
		Version:           dep.Annotations[desiredstate.AnnotationModelVersion],
		TemplateHash:      dep.Annotations[desiredstate.AnnotationTemplateHash],
		Replicas:          ptr.Deref(dep.Spec.Replicas, 1),
		AvailableReplicas: dep.Status.AvailableReplicas,
		Health:            health,
		Message:           message,
	}, nil
}

func (r *ModelDeploymentReconciler) decide(_ context.Context, s *scope) error {
	checklistGate := judgeChecklist(s)
	gate := policyGate(s)
	if !gate.Closed {
		gate = checklistGate
	}
	if !gate.Closed {
		gate = approvalGate(s)
	}
	s.decision = rollout.Decide(rollout.Input{
		MD: s.md, TemplateHash: s.templateHash, Deployments: s.observed, Now: s.now, Gate: gate, RouteProblem: s.routeProblem,
		Analysis: s.analysis, Approvers: s.approvals.Approvers(),
		Window: windowState(s), WindowOverride: windowOverride(s), Tests: s.tests,
		Requester: requester(s),
	})
	judgeWhatTheDecisionLeaves(s)
	s.notified = r.notifiedCondition(s.md)
	s.decided = true
	return nil
}

// judgeWhatTheDecisionLeaves judges the checklist again, for status, when
// the decision changes what it reads: the stable version a promotion makes,
// the Deployments it deletes. Status then says at once what the next
// reconcile would find (the version now equal to the stable one, a peak
// without the retired Deployment), not in a status write of its own. The
// gate the decision passed through stays as it was judged.
func judgeWhatTheDecisionLeaves(s *scope) {
	in := s.checklistInputs
	if in == nil {
		return
	}
	changed := false
	if st := s.decision.Stable; st != nil && st.Version != in.StableVersion {
		in.StableVersion, changed = st.Version, true
	}
	if len(s.decision.Delete) > 0 {
		kept := slices.DeleteFunc(slices.Clone(in.Deployments), func(d appsv1.Deployment) bool {
			return slices.Contains(s.decision.Delete, d.Name)
		})
		if len(kept) != len(in.Deployments) {
			in.Deployments, changed = kept, true
		}
	}
	if changed {
		s.checklist = checklist.Evaluate(checklist.Catalogue(), in)
	}
}

// windowState is what the deployment windows say about now; nil when the
// spec declares none. A window that cannot be read (which admission refuses)
// holds the rollout rather than let it through.
func windowState(s *scope) *rollout.WindowState {
	// The policies' freezes and windows hold as the spec's own do; the
	// emergency override lifts them too, and admission lets only the groups
	// the policies name set it.
	if hold := s.policy.Effective.Hold(s.now.Time); hold != "" {
		return &rollout.WindowState{Message: hold}
	}
	ws := s.md.Spec.DeploymentWindows
	if len(ws) == 0 {
		return nil
	}
	res, err := window.Check(ws, s.now.Time)
	if err != nil {
		return &rollout.WindowState{Message: "the deployment windows cannot be read, so no rollout moves: " + err.Error()}
	}
	msg := res.Message
	if s.untrusted != "" && s.md.Annotations[servingv1alpha1.AnnotationWindowOverride] != "" {
		msg += "; the window override is not believed: " + s.untrusted
	}
	return &rollout.WindowState{Open: res.Open, NextStart: res.NextStart, Message: msg}
}

// windowOverride is the emergency override of the windows with who set it,
// as the admission webhook stamped it; none while the stamps cannot be
// believed (windowState says why).
func windowOverride(s *scope) string {
	md := s.md
	reason := md.Annotations[servingv1alpha1.AnnotationWindowOverride]
	if reason == "" || s.untrusted != "" {
		return ""
	}
	by := md.Annotations[servingv1alpha1.AnnotationWindowOverrideBy]
	if by == "" {
		by = "an unknown user (is modelgate's webhook installed?)"
	}
	return fmt.Sprintf("%s (set by %s)", reason, by)
}

// apply makes the cluster match the decision in an order that never sends
// traffic to pods that are not there: Deployments that grow (or are new)
// first, then the Services and the route, then Deployments that shrink, then
// removal of versions that are done, then the revisions kept. A rollback thus
// puts traffic back on the stable version before the candidate gives up its
// pods.
func (r *ModelDeploymentReconciler) apply(ctx context.Context, s *scope) error {
	log := logf.FromContext(ctx)
	var shrinking []rollout.Target
	for _, t := range s.decision.Run {
		if dep, ok := s.deployments[deploymentOf(s.md, t)]; ok && t.Replicas < ptr.Deref(dep.Spec.Replicas, 1) {
			shrinking = append(shrinking, t)
			continue
		}
		if err := r.applyDeployment(ctx, s, t); err != nil {
			return err
		}
	}
	if err := r.applyServices(ctx, s); err != nil {
		return err
	}
	if err := r.applyRoute(ctx, s); err != nil {
		return err
	}
	for _, t := range shrinking {
		if err := r.applyDeployment(ctx, s, t); err != nil {
			return err
		}
	}
	for _, name := range s.decision.Delete {
		dep := s.deployments[name]
		if s.deleted[dep.UID] {
			continue // deleted already; the cache has not seen it go yet
		}
		log.Info("Deleting Deployment of a retired version", "deployment", klog.KObj(dep), "version", dep.Annotations[desiredstate.AnnotationModelVersion])
		if err := r.Delete(ctx, dep, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("deleting Deployment %s: %w", name, err)
		}
		r.kept.Delete(dep.UID)
		r.own.deploymentDeleted(client.ObjectKeyFromObject(s.md), dep.UID)
		s.deploymentWrites++
	}
	// Last, so that keeping the revisions and the alerts never delays the
	// pods and traffic the decision asks for; the copies go with the
	// revisions that read them.
	if err := r.applyRevisions(ctx, s); err != nil {
		return err
	}
	if err := r.pruneConfigCopies(ctx, s); err != nil {
		return err
	}
	if err := r.applyAlerts(ctx, s); err != nil {
		return err
	}
	// Last: what it finds wrong is told in status, and holds nothing else.
	return r.checkRevisionCopies(ctx, s)
}

// applyDeployment creates or patches the Deployment of one revision. Only the
// spec's revision is written from the spec's template; another keeps the
// template it was deployed with and only has its size set.
func (r *ModelDeploymentReconciler) applyDeployment(ctx context.Context, s *scope, t rollout.Target) error {
	name := deploymentOf(s.md, t)
	dep, exists := s.deployments[name]
	if exists {
		// Edited by hand mid-rollout: its template is put back first, at the
		// size the step needs.
		restored, err := r.restoreTemplate(ctx, s, dep, t)
		if err != nil || (restored && name != s.decision.SpecDeployment) {
			return err
		}
	}
	if name != s.decision.SpecDeployment {
		if !exists {
			// Deleted by hand mid-rollout: written again from its revision,
			// at the size the step needs.
			return r.restoreDeployment(ctx, s, name, t.Version, t.Replicas)
		}
		if ptr.Deref(dep.Spec.Replicas, 1) == t.Replicas {
			return nil
		}
		patch := client.MergeFrom(dep.DeepCopy())
		from := dep.ResourceVersion
		dep.Spec.Replicas = ptr.To(t.Replicas)
		if err := r.Patch(ctx, dep, patch); err != nil {
			return fmt.Errorf("scaling Deployment %s: %w", name, err)
		}
		r.deploymentWritten(s, dep, from)
		return nil
	}

	// The copies its pods read come first, and only here: a copy that cannot
	// be made holds the spec's revision, never a rollback to another.
	if err := r.applyConfigCopies(ctx, s); err != nil {
		return err
	}
	dep = &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.md.Namespace}}
	var from string
	op, err := controllerutil.CreateOrPatch(ctx, r.Client, dep, func() error {
		from = dep.ResourceVersion // "" for a Deployment to create
		desiredstate.MutateDeployment(dep, s.md, t.Version, desiredstate.RevisionOf(s.md, t.Version, name), s.template, t.Replicas)
		return controllerutil.SetControllerReference(s.md, dep, r.Scheme)
	})
	if err != nil {
		if apierrors.IsInvalid(err) {
			// The API server refuses the pod template: retrying cannot help.
			return reconcile.TerminalError(invalidSpec{fmt.Errorf("the API server refused Deployment %s: %w", name, err)})
		}
		return fmt.Errorf("applying Deployment %s: %w", name, err)
	}
	if op != controllerutil.OperationResultNone {
		logf.FromContext(ctx).Info("Applied Deployment", "deployment", klog.KObj(dep), "version", t.Version, "operation", op)
		r.deploymentWritten(s, dep, from)
	}
	return nil
}

// deploymentWritten records a write of a Deployment that replaced
// resourceVersion from ("" for one created), so that no reconcile writes it
// again from a cache that has not seen it (ownWritesPending).
func (r *ModelDeploymentReconciler) deploymentWritten(s *scope, dep *appsv1.Deployment, from string) {
	switch {
	case from == "":
		r.objectCreated(s, kindDeployment, dep.Name)
	case dep.ResourceVersion != from:
		r.own.objectPatched(dep.UID, from)
	default:
		return // the API server found nothing to change: no event comes
	}
	s.deploymentWrites++
}

// objectCreated records an owned object created, until the cache holds it.
func (r *ModelDeploymentReconciler) objectCreated(s *scope, kind, name string) {
	r.own.objectCreated(client.ObjectKeyFromObject(s.md), ownObject{kind, name}, r.Clock.Now())
}

// The kinds of owned objects whose creation is waited for in the cache.
const (
	kindDeployment         = "Deployment"
	kindService            = "Service"
	kindControllerRevision = "ControllerRevision"
)

// ownWritesPending reports whether the cache lacks an object the manager
// created for md, or lists one of md's Deployments older than the manager's
// own last write of it, and how long to wait at most for a created one. A
// failing read is left to gather to report.
func (r *ModelDeploymentReconciler) ownWritesPending(ctx context.Context, md *servingv1alpha1.ModelDeployment) (time.Duration, bool) {
	key := client.ObjectKeyFromObject(md)
	created, wait := r.own.createdOf(key, r.Clock.Now())
	pending := false
	for _, obj := range created {
		var o client.Object
		switch obj.kind {
		case kindDeployment:
			o = &appsv1.Deployment{}
		case kindService:
			o = &corev1.Service{}
		default:
			o = &appsv1.ControllerRevision{}
		}
		err := r.Get(ctx, client.ObjectKey{Namespace: md.Namespace, Name: obj.name}, o)
		switch {
		case apierrors.IsNotFound(err):
			pending = true
		case err == nil:
			r.own.createdSeen(key, obj)
		}
	}
	if !pending {
		wait = 0
	}
	// Only their UIDs and resourceVersions are read: no copy of the cache.
	var list appsv1.DeploymentList
	if err := r.List(ctx, &list, client.InNamespace(md.Namespace), client.MatchingFields{ownerIndex: md.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return wait, pending
	}
	for i := range list.Items {
		if r.own.staleObject(list.Items[i].UID, list.Items[i].ResourceVersion) {
			pending = true
		}
	}
	return wait, pending
}

// deploymentOf is the Deployment of a target.
func deploymentOf(md *servingv1alpha1.ModelDeployment, t rollout.Target) string {
	return cmp.Or(t.Deployment, desiredstate.DeploymentName(md, t.Version))
}

// applyServices keeps <name> serving, and <name>-stable and
// <name>-candidate where the strategy uses them or they exist already
// (made while it did, or by an earlier modelgate): something may send
// traffic to them, so they keep following the versions.
func (r *ModelDeploymentReconciler) applyServices(ctx context.Context, s *scope) error {
	used := desiredstate.VersionServices(s.md)
	for _, svc := range desiredstate.Services(s.md, s.decision.Selectors) {
		if !used && svc.Name != desiredstate.ServiceName(s.md) {
			err := r.Get(ctx, client.ObjectKeyFromObject(svc), &corev1.Service{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("reading Service %s: %w", svc.Name, err)
			}
		}
		if err := r.applyService(ctx, s, svc); err != nil {
			return err
		}
	}
	return nil
}

func (r *ModelDeploymentReconciler) applyService(ctx context.Context, s *scope, want *corev1.Service) error {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: want.Name, Namespace: want.Namespace}}
	op, err := controllerutil.CreateOrPatch(ctx, r.Client, svc, func() error {
		desiredstate.MutateService(svc, s.md, want.Spec.Selector)
		return controllerutil.SetControllerReference(s.md, svc, r.Scheme)
	})
	if err != nil {
		return fmt.Errorf("applying Service %s: %w", want.Name, err)
	}
	if op == controllerutil.OperationResultCreated {
		r.objectCreated(s, kindService, svc.Name)
	}
	return nil
}

// invalidSpec marks an error the user must fix in the spec.
type invalidSpec struct{ error }

func (e invalidSpec) Unwrap() error { return e.error }

// emitEvents tells the user what changed in this reconcile, and nothing else.
func (r *ModelDeploymentReconciler) emitEvents(ctx context.Context, before *servingv1alpha1.ModelDeployment, s *scope, err error) {
	if r.Recorder == nil {
		return
	}
	md := s.md
	if err == nil {
		log := logf.FromContext(ctx)
		for _, e := range s.decision.Events {
			r.Recorder.Eventf(md, nil, e.Type, e.Reason, "Reconcile", "%s", e.Message)
			// Every decision is also a structured line, for log pipelines.
			log.Info("Decision", "modelDeployment", klog.KObj(md), "version", md.Spec.Model.Version, "reason", e.Reason, "message", e.Message)
			if e.Reason == rollout.ReasonRolledBack {
				rollbacks.WithLabelValues(md.Namespace, md.Name, rolledBackReason(md)).Inc()
			}
		}
		r.notify(ctx, s)
	}
	if err == nil && s.checklistInputs != nil {
		if eventType, note := checklist.Summary(checklist.Changes(before.Status.Checklist, &s.checklist.Status)); note != "" {
			r.Recorder.Eventf(md, nil, eventType, "ChecklistChanged", "Verify", "%s", note)
		}
	}
	var invalid invalidSpec
	if errors.As(err, &invalid) {
		old := meta.FindStatusCondition(before.Status.Conditions, servingv1alpha1.ConditionStalled)
		if old == nil || old.Status != metav1.ConditionTrue || old.Message != invalid.Error() {
			r.Recorder.Eventf(md, nil, corev1.EventTypeWarning, rollout.ReasonInvalidSpec, "Reconcile", "%s", invalid.Error())
		}
	}
}

// SetupWithManager registers the reconciler, its indexes, the watches on what
// it creates, and the watches on what the checklist reads, each mapped back to
// the ModelDeployments it may concern.
func (r *ModelDeploymentReconciler) SetupWithManager(mgr ctrl.Manager) error {
	ctx := context.Background()
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	r.finished = make(chan event.GenericEvent, 1024)
	if rounds := r.rounds(); rounds.OnDone == nil {
		rounds.OnDone = func(k analysis.RoundKey) { r.enqueue(k.Owner()) }
	}
	if r.Tester != nil && r.Tester.OnDone == nil {
		r.Tester.OnDone = func(k loadtest.Key) { r.enqueue(k.Owner()) }
	}
	var cached client.Reader = mgr.GetCache()
	checklistResults.reader.Store(&cached)
	if err := mgr.Add(r.rounds()); err != nil {
		return fmt.Errorf("adding the analysis' rounds to the manager: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &appsv1.Deployment{}, ownerIndex, ownerName); err != nil {
		return fmt.Errorf("indexing Deployments by owner: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &appsv1.ControllerRevision{}, ownerIndex, ownerName); err != nil {
		return fmt.Errorf("indexing ControllerRevisions by owner: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &autoscalingv2.HorizontalPodAutoscaler{}, hpaTargetIndex, hpaTarget); err != nil {
		return fmt.Errorf("indexing HorizontalPodAutoscalers by target: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &servingv1alpha1.ModelApproval{}, approvalTargetIndex, approvalTarget); err != nil {
		return fmt.Errorf("indexing ModelApprovals by ModelDeployment: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &servingv1alpha1.ModelDeployment{}, secretRefIndex, referencedSecretNames); err != nil {
		return fmt.Errorf("indexing ModelDeployments by the Secrets they reference: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &servingv1alpha1.ModelDeployment{}, configMapRefIndex, referencedConfigMapNames); err != nil {
		return fmt.Errorf("indexing ModelDeployments by the ConfigMaps they reference: %w", err)
	}
	b := ctrl.NewControllerManagedBy(mgr).
		For(&servingv1alpha1.ModelDeployment{}).
		Owns(&appsv1.Deployment{}).
		Owns(&appsv1.ControllerRevision{}).
		Owns(&corev1.Service{}).
		// The alerts' ConfigMaps by their metadata, like every ConfigMap.
		Owns(&corev1.ConfigMap{}, builder.OnlyMetadata).
		Watches(&autoscalingv2.HorizontalPodAutoscaler{}, handler.EnqueueRequestsFromMapFunc(r.modelDeploymentOfHPA)).
		Watches(&servingv1alpha1.ModelApproval{}, handler.EnqueueRequestsFromMapFunc(r.modelDeploymentOfApproval)).
		Watches(&policyv1.PodDisruptionBudget{}, handler.EnqueueRequestsFromMapFunc(r.modelDeploymentsSelectedBy)).
		Watches(&networkingv1.NetworkPolicy{}, handler.EnqueueRequestsFromMapFunc(r.modelDeploymentsSelectedBy)).
		Watches(&networkingv1.Ingress{}, handler.EnqueueRequestsFromMapFunc(r.modelDeploymentsOfIngress)).
		// Secrets and ConfigMaps by their metadata only: their contents are
		// read past the cache for the few that ModelDeployments name.
		WatchesMetadata(metadataOnly("Secret"), handler.EnqueueRequestsFromMapFunc(r.modelDeploymentsOfSecret)).
		WatchesMetadata(metadataOnly("ConfigMap"), handler.EnqueueRequestsFromMapFunc(r.modelDeploymentsOfConfigMap)).
		Watches(&corev1.ResourceQuota{}, r.quotaChanges()).
		// Nodes matter for their allocatable GPUs only; their frequent status
		// updates are filtered out.
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(r.modelDeploymentsAskingForGPUs),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
				oldNode, okOld := e.ObjectOld.(*corev1.Node)
				newNode, okNew := e.ObjectNew.(*corev1.Node)
				return okOld && okNew && !equality.Semantic.DeepEqual(oldNode.Status.Allocatable, newNode.Status.Allocatable)
			}}))
	namespaces := &metav1.PartialObjectMetadata{}
	namespaces.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	b = b.Watches(&servingv1alpha1.ModelDeploymentPolicy{}, handler.EnqueueRequestsFromMapFunc(r.modelDeploymentsOfPolicy)).
		WatchesMetadata(namespaces, handler.EnqueueRequestsFromMapFunc(r.modelDeploymentsInNamespaceOf), builder.WithPredicates(namespaceLabelsChanged))
	if r.GatewayAPI {
		if err := mgr.GetFieldIndexer().IndexField(ctx, &gatewayv1.HTTPRoute{}, routeGatewayIndex, routeGateways); err != nil {
			return fmt.Errorf("indexing HTTPRoutes by Gateway: %w", err)
		}
		if err := mgr.GetFieldIndexer().IndexField(ctx, &gatewayv1.Gateway{}, gatewayCertificateIndex, gatewayCertificateNamespacesOf); err != nil {
			return fmt.Errorf("indexing Gateways by certificate namespace: %w", err)
		}
		if err := mgr.GetFieldIndexer().IndexField(ctx, &servingv1alpha1.ModelDeployment{}, routedByIndex, routedBy); err != nil {
			return fmt.Errorf("indexing ModelDeployments by the HTTPRoute of their router: %w", err)
		}
		b = b.Watches(&gatewayv1.HTTPRoute{}, handler.EnqueueRequestsFromMapFunc(r.modelDeploymentsOfRoute)).
			Watches(&gatewayv1.Gateway{}, handler.EnqueueRequestsFromMapFunc(r.modelDeploymentsOfGateway)).
			Watches(&gatewayv1.ReferenceGrant{}, handler.EnqueueRequestsFromMapFunc(r.modelDeploymentsOfReferenceGrant))
	}
	if r.PrometheusRules {
		rules := &metav1.PartialObjectMetadata{}
		rules.SetGroupVersionKind(PrometheusRuleGVK)
		b = b.Owns(rules, builder.OnlyMetadata)
	}
	b = b.WatchesRawSource(source.Channel(r.finished, &handler.EnqueueRequestForObject{}))
	return b.Named("modeldeployment").
		WithOptions(controller.Options{MaxConcurrentReconciles: cmp.Or(r.MaxConcurrentReconciles, DefaultMaxConcurrentReconciles)}).
		Complete(r)
}

// Indexes that map a shared Gateway's changes back to the ModelDeployments
// whose routes it carries.
const (
	// routeGatewayIndex indexes HTTPRoutes by the "namespace/name" of their Gateways.
	routeGatewayIndex = ".spec.parentRefs.gateway"
	// gatewayCertificateIndex indexes Gateways by the namespaces of certificates they name across namespaces.
	gatewayCertificateIndex = ".spec.listeners.tls.certificateRefs.namespace"
)

func routeGateways(o client.Object) []string {
	route, ok := o.(*gatewayv1.HTTPRoute)
	if !ok {
		return nil
	}
	return gatewayParents(route)
}

func gatewayCertificateNamespacesOf(o client.Object) []string {
	gw, ok := o.(*gatewayv1.Gateway)
	if !ok {
		return nil
	}
	return gatewayCertificateNamespaces(gw)
}

// modelDeploymentsOfGateway maps a Gateway to the ModelDeployments whose
// Services the HTTPRoutes attached to it send traffic to, in any namespace:
// the tls item judges a Gateway for no other.
func (r *ModelDeploymentReconciler) modelDeploymentsOfGateway(ctx context.Context, o client.Object) []reconcile.Request {
	var routes gatewayv1.HTTPRouteList
	if err := r.List(ctx, &routes, client.MatchingFields{routeGatewayIndex: o.GetNamespace() + "/" + o.GetName()}); err != nil {
		logf.FromContext(ctx).Error(err, "Listing HTTPRoutes to map a Gateway change", "gateway", klog.KObj(o))
		return nil
	}
	var out []reconcile.Request
	for i := range routes.Items {
		out = append(out, r.modelDeploymentsServedBy(ctx, o, routes.Items[i].Namespace, routeServices(&routes.Items[i]))...)
	}
	return distinct(out)
}

// modelDeploymentsOfReferenceGrant maps a ReferenceGrant to the
// ModelDeployments served by Gateways whose certificates are in its namespace.
func (r *ModelDeploymentReconciler) modelDeploymentsOfReferenceGrant(ctx context.Context, o client.Object) []reconcile.Request {
	var gateways gatewayv1.GatewayList
	if err := r.List(ctx, &gateways, client.MatchingFields{gatewayCertificateIndex: o.GetNamespace()}); err != nil {
		logf.FromContext(ctx).Error(err, "Listing Gateways to map a ReferenceGrant change", "referenceGrant", klog.KObj(o))
		return nil
	}
	var out []reconcile.Request
	for i := range gateways.Items {
		out = append(out, r.modelDeploymentsOfGateway(ctx, &gateways.Items[i])...)
	}
	return out
}

// modelDeploymentsInNamespaceOf maps a namespace to its ModelDeployments.
func (r *ModelDeploymentReconciler) modelDeploymentsInNamespaceOf(ctx context.Context, o client.Object) []reconcile.Request {
	return r.modelDeployments(ctx, o, client.InNamespace(o.GetName()))
}

// modelDeployments lists the ModelDeployments a change of o concerns as
// requests. Mappings only read what they list: none copies the cache, which
// would allocate all of a namespace's ModelDeployments at every event.
func (r *ModelDeploymentReconciler) modelDeployments(ctx context.Context, o client.Object, opts ...client.ListOption) []reconcile.Request {
	var list servingv1alpha1.ModelDeploymentList
	if err := r.List(ctx, &list, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
		logf.FromContext(ctx).Error(err, "Listing ModelDeployments to map a change", "object", klog.KObj(o))
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// modelDeploymentOfHPA maps an HPA to the ModelDeployment it scales, directly
// or through one of its Deployments.
func (r *ModelDeploymentReconciler) modelDeploymentOfHPA(ctx context.Context, o client.Object) []reconcile.Request {
	hpa, ok := o.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return nil
	}
	ref := hpa.Spec.ScaleTargetRef
	switch ref.Kind {
	case "ModelDeployment":
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: hpa.Namespace, Name: ref.Name}}}
	case "Deployment":
		dep := &appsv1.Deployment{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: hpa.Namespace, Name: ref.Name}, dep); err != nil {
			return nil
		}
		if owner := ownerName(dep); len(owner) == 1 {
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: hpa.Namespace, Name: owner[0]}}}
		}
	}
	return nil
}

// modelDeploymentsOfConfigMap maps a ConfigMap to the ModelDeployments whose
// model card it holds or whose template reads it, through the index.
func (r *ModelDeploymentReconciler) modelDeploymentsOfConfigMap(ctx context.Context, o client.Object) []reconcile.Request {
	return append(r.modelDeployments(ctx, o, client.InNamespace(o.GetNamespace()), client.MatchingFields{configMapRefIndex: o.GetName()}),
		copyOwner(o)...)
}

// copyOwner is the ModelDeployment a config copy belongs to: a copy deleted
// by hand is made again at once, not at the next unrelated reconcile, while
// the pods reading it wait.
func copyOwner(o client.Object) []reconcile.Request {
	owner := ownerName(o)
	if o.GetLabels()[configrollout.LabelCopy] != labelTrue || len(owner) == 0 {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: owner[0]}}}
}

// metadataOnly is a PartialObjectMetadata of a core kind, for a
// metadata-only watch or read.
func metadataOnly(kind string) *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	return m
}

// CacheOptions are the manager's cache options: no object keeps its
// managedFields, which nothing here reads. What modelgate writes
// (Deployments, Services, ControllerRevisions) is cached only with its
// managed-by label, so the manager's memory grows with its own objects, not
// with the cluster's. EndpointSlices are not cached at all: the candidate's
// are listed past the cache when its tests start, and the manager may not
// watch them. Nodes keep
// only their allocatable resources, the one thing the checklist reads of
// them. ModelDeployments are compacted (compactModelDeployment) and, given a
// shard, only those it selects are cached. Secrets are never cached whole
// (the watches above are metadata-only); stripSecretValues guards a full Secret informer that some future read
// through the cache would start.
func CacheOptions(shard labels.Selector) cache.Options {
	owned := labels.SelectorFromSet(labels.Set{desiredstate.LabelManagedBy: desiredstate.ManagedByValue})
	return cache.Options{
		NewInformer:      newInformer,
		DefaultTransform: stripForCache,
		ByObject: map[client.Object]cache.ByObject{
			&appsv1.Deployment{}:               {Label: owned},
			&corev1.Service{}:                  {Label: owned},
			&appsv1.ControllerRevision{}:       {Label: owned},
			&corev1.Node{}:                     {Transform: keepNodeAllocatable},
			&corev1.Secret{}:                   {Transform: stripSecretValues},
			&servingv1alpha1.ModelDeployment{}: {Label: shard, Transform: compactModelDeployment},
		},
	}
}

// stripForCache drops from every cached object what nothing here reads and
// what can weigh as much as the object: its managedFields, and the copy of
// itself kubectl apply keeps in an annotation. Nothing here writes the
// metadata of what it reads whole (status is patched), so no write loses it.
func stripForCache(o any) (any, error) {
	o, err := cache.TransformStripManagedFields()(o)
	if err != nil {
		return o, err
	}
	if obj, ok := o.(metav1.Object); ok {
		if a := obj.GetAnnotations(); a != nil {
			if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
				delete(a, corev1.LastAppliedConfigAnnotation)
				obj.SetAnnotations(a)
			}
		}
		compactMeta(obj)
	}
	return o, nil
}

// keepNodeAllocatable drops all of a Node but its name, labels and
// allocatable resources: images, conditions and addresses are most of a
// Node's size, and the checklist reads none of them.
func keepNodeAllocatable(o any) (any, error) {
	node, ok := o.(*corev1.Node)
	if !ok {
		return o, nil
	}
	return &corev1.Node{
		TypeMeta: node.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: node.Name, UID: node.UID, ResourceVersion: node.ResourceVersion, Generation: node.Generation,
			Labels: node.Labels, CreationTimestamp: node.CreationTimestamp, DeletionTimestamp: node.DeletionTimestamp,
		},
		Status: corev1.NodeStatus{Allocatable: node.Status.Allocatable},
	}, nil
}

func stripSecretValues(o any) (any, error) {
	secret, ok := o.(*corev1.Secret)
	if !ok {
		return o, nil
	}
	for k := range secret.Data {
		secret.Data[k] = nil
	}
	for k := range secret.StringData {
		secret.StringData[k] = ""
	}
	secret.ManagedFields = nil
	delete(secret.Annotations, corev1.LastAppliedConfigAnnotation)
	return secret, nil
}

// ownerName is the index function: the name of the controlling ModelDeployment.
func ownerName(o client.Object) []string {
	ref := metav1.GetControllerOf(o)
	if ref == nil || ref.APIVersion != servingv1alpha1.GroupVersion.String() || ref.Kind != "ModelDeployment" {
		return nil
	}
	return []string{ref.Name}
}
