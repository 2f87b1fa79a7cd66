package rollout

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/analysis"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// experimentStrategy is a shadow or an A/B test: the candidate is measured
// while the router gives it its copies or its cohort, before it is promoted.
type experimentStrategy struct{}

func (experimentStrategy) step(d *Decision, in Input, name string, replicas int32) {
	s := in.MD.Spec.Strategy
	if (s.Type != servingv1alpha1.StrategyShadow || s.Shadow == nil) && (s.Type != servingv1alpha1.StrategyABTest || s.ABTest == nil) { // admission requires it
		decideRolling(d, in, name, replicas)
		return
	}
	decideExperiment(d, in, name, replicas)
}
func (experimentStrategy) startedMoving(*servingv1alpha1.CandidateStatus) bool { return true }
func (experimentStrategy) apexStableOnly(bool) bool                            { return true }
func (experimentStrategy) measured(c *servingv1alpha1.CandidateStatus) bool {
	return c.StepStartedAt != nil && c.Step == 0
}
func (experimentStrategy) keepWarm(*servingv1alpha1.ModelDeployment) time.Duration { return 0 }

// experimentPromoting is the step (status.candidate.step) of a shadow or an
// A/B test whose candidate grows to full size before it takes all the
// traffic; before it, at step 0, the candidate runs at its test size and gets
// its mirrored copies or its cohort.
const experimentPromoting int32 = 1

// experiment is what a shadow and an A/B test have in common: the candidate
// runs at a size of its own beside a stable version at full size, gets traffic
// the router picks for it for a while, and is then promoted or rejected.
type experiment struct {
	kind     string
	duration time.Duration
	size     int32
	// route gives the candidate its traffic.
	route func(*desiredstate.RoutePlan)
	// what the candidate gets, for status messages.
	what string
}

func newExperiment(md *servingv1alpha1.ModelDeployment, replicas int32) experiment {
	s := md.Spec.Strategy
	if s.Type == servingv1alpha1.StrategyShadow {
		percent := max(s.Shadow.MirrorPercent, 1)
		return experiment{
			kind: "Shadow", duration: s.Shadow.Duration.Duration, size: shareOf(replicas, percent),
			route: func(p *desiredstate.RoutePlan) { p.MirrorPercent = percent },
			what:  fmt.Sprintf("a copy of %d%% of the requests, its answers dropped", percent),
		}
	}
	size := shareOf(replicas, 50)
	if s.ABTest.Replicas != nil {
		size = *s.ABTest.Replicas
	}
	cohort := &desiredstate.Cohort{Headers: s.ABTest.Headers, Cookies: s.ABTest.Cookies}
	return experiment{
		kind: "A/B test", duration: s.ABTest.Duration.Duration, size: size,
		route: func(p *desiredstate.RoutePlan) { p.Cohort = cohort },
		what:  "the requests of its cohort (" + cohortText(cohort) + ")",
	}
}

// decideExperiment runs a shadow or an A/B test. The clock starts once the
// candidate's pods are up and the router gives it traffic; when the duration
// has passed, the rollout waits for a verdict: a promote grows the candidate
// to full size and makes it stable, an abort rejects it. Neither strategy moves
// user traffic by itself.
func decideExperiment(d *Decision, in Input, name string, replicas int32) {
	md := in.MD
	want := md.Spec.Model.Version
	c := d.Candidate
	c.Weight = 0
	x := newExperiment(md, replicas)
	obs, found := in.Deployments[name]

	if rolledBackNow(d, in, name, replicas) {
		return
	}
	if c.Step < experimentPromoting {
		for _, p := range []struct {
			annotation string
			handled    *string
		}{{servingv1alpha1.AnnotationPromote, &d.Requests.Promote}, {servingv1alpha1.AnnotationPromoteFull, &d.Requests.PromoteFull}} {
			if v, ok := requested(md, p.annotation, *p.handled); ok {
				handle(d, in, p.annotation, v)
				c.Step = experimentPromoting
				d.Events = append(d.Events, Event{corev1.EventTypeNormal, ReasonPromoteRequested,
					fmt.Sprintf("Version %s is promoted by request at the end of its %s", want, x.kind)})
				break
			}
		}
	}

	if c.Step >= experimentPromoting {
		// The candidate keeps its test traffic while it grows, and the stable
		// version keeps every pod until the switch.
		x.route(&d.traffic)
		d.Run = []Target{{Version: want, Deployment: name, Replicas: replicas}, {Version: d.Stable.Version, Deployment: d.Stable.Deployment, Replicas: max(replicas, in.Deployments[d.Stable.Deployment].Replicas)}}
		if found && rolledOut(obs, in.TemplateHash, replicas) {
			promote(d, in, name, obs)
			return
		}
		progress(d, ReasonPromoting, fmt.Sprintf("Version %s passed its %s and is scaling to %d pods before it takes all traffic: %d/%d available",
			want, x.kind, replicas, obs.AvailableReplicas, replicas), obs, found)
		return
	}

	d.Run = []Target{{Version: want, Deployment: name, Replicas: x.size}, {Version: d.Stable.Version, Deployment: d.Stable.Deployment, Replicas: replicas}}
	where := fmt.Sprintf("%s of version %s", x.kind, want)
	if c.StepStartedAt == nil {
		if !found || !rolledOut(obs, in.TemplateHash, x.size) {
			progress(d, ReasonWaitingForPods, fmt.Sprintf("%s: %d/%d candidate pods available; version %s serves all traffic",
				where, obs.AvailableReplicas, x.size, d.Stable.Version), obs, found)
			return
		}
		if !testsPassed(d, in, name, replicas, where, obs, found) {
			return
		}
		if outsideWindow(in) {
			waitForWindow(d, in)
			return
		}
		c.StepStartedAt = ptr.To(metav1.NewMicroTime(in.Now.Time))
		d.Events = append(d.Events, Event{corev1.EventTypeNormal, ReasonExperimentStarted,
			fmt.Sprintf("%s started: the candidate gets %s for %s", where, x.what, x.duration)})
	}
	x.route(&d.traffic)
	if md.Spec.Paused {
		paused(d, ReasonPaused, where+": paused by spec.paused")
		return
	}
	end := c.StepStartedAt.Add(x.duration)
	if in.Now.Time.Before(end) {
		progress(d, ReasonExperimenting, fmt.Sprintf("%s: the candidate gets %s until %s; version %s serves every answer users see",
			where, x.what, end.UTC().Format(time.RFC3339), d.Stable.Version), obs, found)
		d.RequeueAfter = end.Sub(in.Now.Time)
		return
	}
	if !analyzed(md) {
		paused(d, ReasonWaitingForVerdict, fmt.Sprintf("%s ran for %s: annotate %s to promote it or %s to reject it",
			where, x.duration, servingv1alpha1.AnnotationPromote, servingv1alpha1.AnnotationAbort))
		return
	}
	// The analysis gives the verdict: a round passed since the end of the
	// test promotes; a breach has rolled it back above.
	if !analysis.PassedSince(in.Analysis, specSubject(d, in), end) {
		waitForAnalysis(d, in, fmt.Sprintf("%s ran for %s", where, x.duration), obs, found)
		return
	}
	c.Step = experimentPromoting
	d.Events = append(d.Events, Event{corev1.EventTypeNormal, ReasonAnalysisPassed,
		fmt.Sprintf("%s passed its analysis: %s", where, in.Analysis.LastRound.Message)})
	decideExperiment(d, in, name, replicas)
}

func cohortText(c *desiredstate.Cohort) string {
	out := ""
	for _, h := range c.Headers {
		if out != "" {
			out += ", "
		}
		out += fmt.Sprintf("header %s: %s", h.Name, h.Value)
	}
	for _, k := range c.Cookies {
		if out != "" {
			out += ", "
		}
		out += fmt.Sprintf("cookie %s=%s", k.Name, k.Value)
	}
	return out
}
