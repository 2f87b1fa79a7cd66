package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestStatusAndReportGolden(t *testing.T) {
	for _, tt := range []struct {
		golden string
		md     *servingv1alpha1.ModelDeployment
		cmd    string
	}{
		{"status-canary.golden", canaryMD(), "status"},
		{"status-blocked.golden", blockedMD(), "status"},
		{"status-policy.golden", policyMD(), "status"},
		{"report-canary.golden", canaryMD(), "report"},
		{"report-promoted.golden", promotedMD(), "report"},
		{"report-blocked.golden", blockedMD(), "report"},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			g := NewWithT(t)
			r := run(t, fakeCluster(tt.md), "", tt.cmd, tt.md.Name, "-n", "ml")
			g.Expect(r.code).To(Equal(ExitOK), r.err)
			g.Expect(r.err).To(BeEmpty())
			goldenFile(t, tt.golden, []byte(r.out))
		})
	}
}

func TestReadErrors(t *testing.T) {
	g := NewWithT(t)
	c := fakeCluster(canaryMD())
	r := run(t, c, "", "status", "nope", "-n", "ml")
	g.Expect(r.code).To(Equal(ExitFailed))
	g.Expect(r.err).To(Equal(`error: ModelDeployment "nope" not found in namespace "ml": list them with 'kubectl get modeldeployments -n ml', or pass the right --namespace` + "\n"))

	r = run(t, c, "", "status", "fraud-scorer")
	g.Expect(r.code).To(Equal(ExitFailed))
	g.Expect(r.err).To(ContainSubstring(`not found in namespace "default"`), "without -n, the kubeconfig's namespace")

	r = run(t, c, "", "report")
	g.Expect(r.code).To(Equal(ExitUsage))
	g.Expect(r.err).To(ContainSubstring("needs the name of a ModelDeployment"))
	r = run(t, c, "", "status", "a", "b")
	g.Expect(r.code).To(Equal(ExitUsage))
	g.Expect(r.err).To(ContainSubstring("takes one ModelDeployment name, got 2: a b"))
	r = run(t, c, "", "status", "a", "--nope")
	g.Expect(r.code).To(Equal(ExitUsage))
	g.Expect(r.err).To(ContainSubstring("unknown flag: --nope\nSee 'kubectl modelgate status --help'."))
}

// syncBuffer is a buffer written by the command and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStatusWatch: --watch prints the view, again on a change, and stops
// when the object is deleted.
func TestStatusWatch(t *testing.T) {
	g := NewWithT(t)
	t.Setenv("KUBECONFIG", "")
	md := canaryMD()
	c := fakeCluster(md)
	var out syncBuffer
	done := make(chan int)
	go func() {
		done <- Run(context.Background(), []string{"status", "fraud-scorer", "-n", "ml", "--watch"}, Options{
			Streams:     genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &out},
			ConfigFlags: genericclioptions.NewConfigFlags(true),
			NewClient:   func() (client.WithWatch, error) { return c, nil },
			Clock:       clocktesting.NewFakePassiveClock(now),
			Color:       ptr.To(false),
		})
	}()
	g.SetDefaultEventuallyTimeout(10 * time.Second)
	g.Eventually(out.String).Should(ContainSubstring("Weight:    34%"))

	// The operator moves the canary on.
	cur := &servingv1alpha1.ModelDeployment{}
	g.Expect(c.Get(context.Background(), client.ObjectKeyFromObject(md), cur)).To(Succeed())
	cur.Status.Candidate.Weight, cur.Status.Candidate.Step = 67, 1
	cur.Status.Phase = servingv1alpha1.PhaseProgressing
	g.Expect(c.Status().Update(context.Background(), cur)).To(Succeed())
	g.Eventually(out.String).Should(ContainSubstring("\n---\nModelDeployment ml/fraud-scorer"), "a separator between views off a terminal")
	g.Expect(out.String()).To(ContainSubstring("Weight:    67%"))
	g.Expect(out.String()).To(ContainSubstring("Step:      2 of 2, pause 5m0s"))

	g.Expect(c.Delete(context.Background(), cur)).To(Succeed())
	g.Eventually(done).Should(Receive(Equal(ExitOK)))
	g.Expect(out.String()).To(HaveSuffix("\nModelDeployment ml/fraud-scorer was deleted.\n"))
}

// operator plays the operator's part for the manual controls: it echoes a
// request's annotation in status.requests and applies apply.
func operator(t *testing.T, c client.Client, annotation string, echo func(*servingv1alpha1.HandledRequests, string), apply func(*servingv1alpha1.ModelDeployment)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			md := &servingv1alpha1.ModelDeployment{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: "ml", Name: "fraud-scorer"}, md); err == nil && md.Annotations[annotation] != "" {
				echo(&md.Status.Requests, md.Annotations[annotation])
				apply(md)
				if err := c.Status().Update(ctx, md); err == nil {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
}

func TestPromote(t *testing.T) {
	g := NewWithT(t)
	c := fakeCluster(canaryMD())
	operator(t, c, servingv1alpha1.AnnotationPromote,
		func(r *servingv1alpha1.HandledRequests, v string) { r.Promote = v },
		func(md *servingv1alpha1.ModelDeployment) {
			md.Status.Phase = servingv1alpha1.PhaseProgressing
			md.Status.Candidate.Weight, md.Status.Candidate.Step = 67, 1
		})
	r := run(t, c, "", "promote", "fraud-scorer", "-n", "ml", "--wait", "5s")
	g.Expect(r.code).To(Equal(ExitOK), r.err)
	g.Expect(r.out).To(Equal(`Requested promote of ModelDeployment ml/fraud-scorer (serving.modelgate.dev/promote="2026-07-01T10:00:00Z").
The operator handled it: phase Progressing, candidate 2.6.0 at 67% (step 2 of 2), stable 2.4.0, rolled back 2.5.0.
`))
	md := &servingv1alpha1.ModelDeployment{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: "ml", Name: "fraud-scorer"}, md)).To(Succeed())
	g.Expect(md.Annotations).To(HaveKeyWithValue(servingv1alpha1.AnnotationPromote, "2026-07-01T10:00:00Z"))
}

// TestPromoteNotHandled: a request the operator has not answered stands; the
// command says so, why, and not to repeat it, and does not fail.
func TestPromoteNotHandled(t *testing.T) {
	g := NewWithT(t)
	md := canaryMD()
	md.Spec.Paused = true
	c := fakeCluster(md)
	r := run(t, c, "", "promote", "fraud-scorer", "-n", "ml", "--full", "--wait", "0")
	g.Expect(r.code).To(Equal(ExitOK), r.err)
	g.Expect(r.out).To(Equal(`Requested promote --full of ModelDeployment ml/fraud-scorer (serving.modelgate.dev/promote-full="2026-07-01T10:00:00Z").
Note: the rollout is paused by spec.paused and holds the request until 'kubectl modelgate resume fraud-scorer'.
The operator has not handled the request yet: phase Paused, candidate 2.6.0 at 34% (step 1 of 2), stable 2.4.0, rolled back 2.5.0. Version 2.6.0 is rolling out; 2.4.0 serves the rest. The request stands and is handled when the rollout reaches it; do not repeat it, as a new request is another step. Follow it with: kubectl modelgate status fraud-scorer --watch
`))
}

func TestAbort(t *testing.T) {
	g := NewWithT(t)
	c := fakeCluster(canaryMD())
	operator(t, c, servingv1alpha1.AnnotationAbort,
		func(r *servingv1alpha1.HandledRequests, v string) { r.Abort = v },
		func(md *servingv1alpha1.ModelDeployment) {
			md.Status.Phase = servingv1alpha1.PhaseRolledBack
			md.Status.Candidate = nil
			md.Status.Rejected = &servingv1alpha1.VersionStatus{Version: "2.6.0"}
		})
	r := run(t, c, "", "abort", "fraud-scorer", "-n", "ml", "--reason", "  p95 latency\n doubled ")
	g.Expect(r.code).To(Equal(ExitOK), r.err)
	g.Expect(r.out).To(Equal(`Requested abort of ModelDeployment ml/fraud-scorer (serving.modelgate.dev/abort="p95 latency doubled (requested 2026-07-01T10:00:00Z)").
The operator handled it: phase RolledBack, stable 2.4.0, rolled back 2.6.0.
`))
}

// TestControlRefusals: requests that would do nothing, and command lines
// that cannot work, are refused with what to do.
func TestControlRefusals(t *testing.T) {
	stale := promotedMD()
	stale.Generation = 8 // status has not caught up: it cannot tell
	for _, tt := range []struct {
		name string
		md   *servingv1alpha1.ModelDeployment
		args []string
		code int
		want string
	}{
		{"promote without a rollout", promotedMD(), []string{"promote", "fraud-scorer"}, ExitFailed,
			"error: nothing to promote: ModelDeployment fraud-scorer has no rollout in flight (phase Succeeded, version 2.6.0 serves all traffic). A rollout starts when spec.model.version or the template changes\n"},
		{"abort without a rollout", promotedMD(), []string{"abort", "fraud-scorer", "--reason", "r"}, ExitFailed,
			"error: nothing to abort: ModelDeployment fraud-scorer has no rollout in flight"},
		{"retry without a rolled-back version", promotedMD(), []string{"retry", "fraud-scorer"}, ExitFailed,
			"error: nothing to retry: ModelDeployment fraud-scorer has no rolled-back version (phase Succeeded, version 2.6.0 serves all traffic)"},
		{"promote of a rolled-back version", rolledBackMD(), []string{"promote", "fraud-scorer"}, ExitFailed,
			"error: nothing to promote: ModelDeployment fraud-scorer has no rollout in flight (phase RolledBack, version 2.4.0 serves all traffic). Version 2.6.0 was rolled back; to roll it out again: kubectl modelgate retry fraud-scorer\n"},
		{"abort without a reason", canaryMD(), []string{"abort", "fraud-scorer"}, ExitUsage, "error: abort needs --reason"},
		{"abort with a blank reason", canaryMD(), []string{"abort", "fraud-scorer", "--reason", " \n"}, ExitUsage, "error: abort needs --reason"},
		{"abort with a reason too long", canaryMD(), []string{"abort", "fraud-scorer", "--reason", strings.Repeat("x", 600)}, ExitUsage,
			"error: --reason is 600 characters long; keep it under 512"},
		{"promote of a missing object", canaryMD(), []string{"promote", "nope"}, ExitFailed, `error: ModelDeployment "nope" not found in namespace "ml"`},
		{"a stale status is not judged", stale, []string{"promote", "fraud-scorer", "--wait", "0"}, ExitOK, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := fakeCluster(tt.md)
			r := run(t, c, "", append(tt.args, "-n", "ml")...)
			g.Expect(r.code).To(Equal(tt.code), r.out+r.err)
			g.Expect(r.err).To(HavePrefix(tt.want))
			if tt.code != ExitOK {
				md := &servingv1alpha1.ModelDeployment{}
				g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: "ml", Name: "fraud-scorer"}, md)).To(Succeed())
				g.Expect(md.Annotations).To(BeEmpty(), "nothing is written when a request is refused")
			}
		})
	}
}

// rolledBackMD is canaryMD once 2.6.0 was aborted.
func rolledBackMD() *servingv1alpha1.ModelDeployment {
	md := canaryMD()
	md.Status.Phase = servingv1alpha1.PhaseRolledBack
	md.Status.Candidate = nil
	md.Status.Rejected = &servingv1alpha1.VersionStatus{Version: "2.6.0"}
	return md
}

func TestUnreachable(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "config")
	g.Expect(os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, namespace: ml}}]
current-context: c
`), 0o600)).To(Succeed())
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"status", "fraud-scorer", "--kubeconfig", kubeconfig, "--request-timeout", "5s"}, Options{
		Streams: genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
	})
	g.Expect(code).To(Equal(ExitFailed))
	g.Expect(errOut.String()).To(ContainSubstring("error: cannot reach the API server: "))
	g.Expect(errOut.String()).To(ContainSubstring("Check that the cluster is up and that --kubeconfig and --context name it"))
}

func TestRetry(t *testing.T) {
	g := NewWithT(t)
	c := fakeCluster(canaryMD())
	r := run(t, c, "", "retry", "fraud-scorer", "-n", "ml", "--wait", "0")
	g.Expect(r.code).To(Equal(ExitOK), r.err)
	g.Expect(r.out).To(HavePrefix(`Requested retry of ModelDeployment ml/fraud-scorer (serving.modelgate.dev/retry="2026-07-01T10:00:00Z").` + "\nThe operator has not handled the request yet"))
}

func TestPauseResume(t *testing.T) {
	g := NewWithT(t)
	c := fakeCluster(canaryMD())
	paused := func() bool {
		md := &servingv1alpha1.ModelDeployment{}
		g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: "ml", Name: "fraud-scorer"}, md)).To(Succeed())
		return md.Spec.Paused
	}
	r := run(t, c, "", "pause", "fraud-scorer", "-n", "ml", "--wait", "0")
	g.Expect(r.code).To(Equal(ExitOK), r.err)
	g.Expect(r.out).To(HavePrefix("ModelDeployment ml/fraud-scorer paused (spec.paused: true).\nA rollout in flight stays at its current step; rollbacks still happen. Resume with: kubectl modelgate resume fraud-scorer\n"))
	g.Expect(paused()).To(BeTrue())

	r = run(t, c, "", "pause", "fraud-scorer", "-n", "ml")
	g.Expect(r.code).To(Equal(ExitOK))
	g.Expect(r.out).To(HavePrefix("ModelDeployment ml/fraud-scorer is already paused: nothing changed"))

	r = run(t, c, "", "resume", "fraud-scorer", "-n", "ml", "--wait", "0")
	g.Expect(r.code).To(Equal(ExitOK), r.err)
	g.Expect(r.out).To(HavePrefix("ModelDeployment ml/fraud-scorer resumed (spec.paused: false).\n"))
	g.Expect(paused()).To(BeFalse())
}

func TestHelpAndCompletion(t *testing.T) {
	g := NewWithT(t)
	r := run(t, nil, "", "--help")
	g.Expect(r.code).To(Equal(ExitOK))
	g.Expect(r.out).To(ContainSubstring("Usage:\n  kubectl modelgate [command]"))
	for _, cmd := range []string{"status", "report", "promote", "abort", "retry", "pause", "resume", "approve", "check", "completion"} {
		g.Expect(r.out).To(MatchRegexp(`\n  %s\s`, cmd))
	}
	g.Expect(r.out).To(ContainSubstring("--kubeconfig"), "kubectl's own flags")

	for _, cmd := range []string{"status", "report", "promote", "abort", "retry", "pause", "resume", "approve", "check"} {
		r = run(t, nil, "", cmd, "--help")
		g.Expect(r.code).To(Equal(ExitOK))
		g.Expect(r.out).To(ContainSubstring("Examples:\n  "), "%s --help has examples", cmd)
	}

	for _, shell := range []string{"bash", "zsh", "fish"} {
		r = run(t, nil, "", "completion", shell)
		g.Expect(r.code).To(Equal(ExitOK))
		g.Expect(r.out).To(ContainSubstring("kubectl-modelgate"))
	}

	r = run(t, fakeCluster(canaryMD(), blockedMD()), "", "__complete", "status", "-n", "ml", "")
	g.Expect(r.code).To(Equal(ExitOK))
	g.Expect(r.out).To(HavePrefix("fraud-scorer\nranker\n:4\n"), "names of the namespace's ModelDeployments")
	r = run(t, nil, "", "__complete", "check", "-o", "")
	g.Expect(r.out).To(HavePrefix("text\njson\nsarif\njunit\n"))
}

func TestPureParts(t *testing.T) {
	g := NewWithT(t)
	when := time.Date(2026, 7, 1, 10, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	g.Expect(token(when, "")).To(Equal("2026-07-01T08:00:00.123456789Z"))
	g.Expect(token(when, "too slow")).To(Equal("too slow (requested 2026-07-01T08:00:00.123456789Z)"))

	for _, tt := range []struct {
		name string
		md   func() *servingv1alpha1.ModelDeployment
		want string
	}{
		{"a canary", canaryMD, "phase Paused, candidate 2.6.0 at 34% (step 1 of 2), stable 2.4.0, rolled back 2.5.0"},
		{"promoted", promotedMD, "phase Succeeded, stable 2.6.0"},
		{"blocked first deploy", blockedMD, "phase Verifying"},
		{"past the last step", func() *servingv1alpha1.ModelDeployment {
			md := canaryMD()
			md.Status.Candidate.Step, md.Status.Candidate.Weight = 2, 100
			return md
		}, "phase Paused, candidate 2.6.0 at 100%, stable 2.4.0, rolled back 2.5.0"},
	} {
		g.Expect(where(tt.md())).To(Equal(tt.want), tt.name)
	}

	blocked := blockedMD()
	g.Expect(waiting(blocked)).To(HavePrefix("checklist items block it: pdb:"), "a stall explains the wait first")
	blocked.Status.Conditions[1].Status = metav1.ConditionFalse
	g.Expect(waiting(blocked)).To(Equal("Version 1.0.0 is blocked by pdb"))
}
