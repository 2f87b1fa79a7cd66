package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/manifestcheck"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with what the commands print")

// now is the time of every fixture's clock.
var now = time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(d)); return &t }

// goldenFile compares got with testdata/<name>, or rewrites it with -update.
func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run 'go test ./internal/cli/ -update' to write it", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the command printed; if the change is intended, run 'go test ./internal/cli/ -update' and review the diff.\n--- got:\n%s", path, got)
	}
}

// result is what one run of the plugin printed and returned.
type result struct {
	out, err string
	code     int
}

// run runs the plugin against the fake cluster c with a fixed clock and no
// colour, as a pipe would see it.
func run(t *testing.T, c client.WithWatch, stdin string, args ...string) result {
	t.Helper()
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-kubeconfig"))
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, Options{
		Streams:     genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
		ConfigFlags: genericclioptions.NewConfigFlags(true),
		NewClient:   func() (client.WithWatch, error) { return c, nil },
		Clock:       clocktesting.NewFakePassiveClock(now),
		Color:       ptr.To(false),
		Version:     "v0.0.0-test",
	})
	return result{out.String(), errOut.String(), code}
}

// fakeCluster holds the objects, with status as a subresource like the API server.
func fakeCluster(objs ...client.Object) client.WithWatch {
	return fake.NewClientBuilder().WithScheme(manifestcheck.Scheme()).
		WithObjects(objs...).WithStatusSubresource(&servingv1alpha1.ModelDeployment{}).Build()
}

// canaryMD is fraud-scorer in namespace ml half-way through a canary of
// 2.6.0 over 2.4.0, after 2.5.0 was aborted: every part of status is filled.
func canaryMD() *servingv1alpha1.ModelDeployment {
	md := &servingv1alpha1.ModelDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer", Namespace: "ml", Generation: 7},
		Spec: servingv1alpha1.ModelDeploymentSpec{
			Model: servingv1alpha1.ModelSpec{
				Name: "fraud-scorer", Version: "2.6.0", URI: "oci://registry.example/models/fraud-scorer:2.6.0",
				Registry: &servingv1alpha1.ModelRegistryRef{URL: "http://mlflow.ml:5000", Version: "14"},
			},
			Replicas:      ptr.To[int32](3),
			Documentation: &servingv1alpha1.DocumentationSpec{Runbook: "https://wiki.example/ml/fraud-scorer/runbook", RollbackProcedure: "https://wiki.example/ml/fraud-scorer/rollback"},
			Checklist: servingv1alpha1.ChecklistSpec{Profile: servingv1alpha1.ProfileProduction, Overrides: []servingv1alpha1.ChecklistOverride{
				{ID: "network-policy", Severity: servingv1alpha1.SeverityWarn, Reason: "the mesh enforces ingress"},
			}},
			Strategy: servingv1alpha1.StrategySpec{Type: servingv1alpha1.StrategyCanary, Canary: &servingv1alpha1.CanaryStrategy{Steps: []servingv1alpha1.CanaryStep{
				{Weight: 34, Pause: &servingv1alpha1.Pause{}},
				{Weight: 67, Pause: &servingv1alpha1.Pause{Duration: &metav1.Duration{Duration: 5 * time.Minute}}},
			}}},
			Analysis: &servingv1alpha1.AnalysisSpec{
				Triggers: &servingv1alpha1.TriggersSpec{
					ErrorRate:    &servingv1alpha1.ErrorRateTrigger{MaxPercent: "5"},
					LatencyP95:   &servingv1alpha1.LatencyTrigger{MaxMilliseconds: 300},
					AccuracyDrop: &servingv1alpha1.AccuracyDropTrigger{MaxPercent: "2"},
				},
				LoadTest: &servingv1alpha1.LoadTestSpec{RPS: 50, P95Milliseconds: ptr.To[int32](250)},
			},
			Approvals:         &servingv1alpha1.ApprovalsSpec{Required: []servingv1alpha1.RequiredApproval{{Role: "security", Groups: []string{"security-team"}}}},
			DeploymentWindows: []servingv1alpha1.DeploymentWindow{{Days: []servingv1alpha1.Weekday{"Mon", "Tue", "Wed"}, Start: "09:00", End: "16:00", TimeZone: "Europe/Berlin"}},
			Template:          corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "server", Image: "registry.example/ml/server:1.4.2"}}}},
		},
	}
	md.Status = servingv1alpha1.ModelDeploymentStatus{
		ObservedGeneration: 7,
		Phase:              servingv1alpha1.PhasePaused,
		Replicas:           4, AvailableReplicas: 4,
		Stable: &servingv1alpha1.VersionStatus{Version: "2.4.0", Deployment: "fraud-scorer-v2-4-0", Since: at(-72 * time.Hour)},
		Candidate: &servingv1alpha1.CandidateStatus{
			VersionStatus: servingv1alpha1.VersionStatus{Version: "2.6.0", Deployment: "fraud-scorer-v2-6-0"},
			Weight:        34, Step: 0, StartedAt: at(-10 * time.Minute), StepStartedAt: ptr.To(metav1.NewMicroTime(now.Add(-8 * time.Minute))),
		},
		Rejected: &servingv1alpha1.VersionStatus{Version: "2.5.0", Deployment: "fraud-scorer-v2-5-0", Since: at(-26 * time.Hour)},
		Requests: servingv1alpha1.HandledRequests{Abort: "spike in errors (requested 2026-06-30T08:00:00Z)"},
		Conditions: []metav1.Condition{
			{Type: "Ready", Status: metav1.ConditionFalse, Reason: "Progressing", Message: "Version 2.6.0 is rolling out; 2.4.0 serves the rest", LastTransitionTime: *at(-10 * time.Minute)},
			{Type: "Reconciling", Status: metav1.ConditionTrue, Reason: "WaitingForPromote", Message: "Canary of version 2.6.0 at step 1/2 (weight 34%, 1 of 3 pods): waiting for a promote (annotate serving.modelgate.dev/promote)", LastTransitionTime: *at(-8 * time.Minute)},
			{Type: "ChecklistPassed", Status: metav1.ConditionTrue, Reason: "ChecklistPassed", Message: "Version 2.6.0 passes every enforced checklist item (4/5 passed)", LastTransitionTime: *at(-10 * time.Minute)},
		},
		Checklist: &servingv1alpha1.ChecklistStatus{
			Version: "2.6.0", Summary: "4/5", Passed: 4, Warnings: 1, Skipped: 2,
			Capacity: &servingv1alpha1.CapacityStatus{
				Steady: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("300m"), corev1.ResourceMemory: resource.MustParse("384Mi")},
				Peak:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("600m"), corev1.ResourceMemory: resource.MustParse("768Mi")},
			},
			Items: []servingv1alpha1.ChecklistItemStatus{
				{ID: "model-version-semver", Section: "Model Readiness", Result: "Pass", Severity: "Enforce", Message: "Version 2.6.0 is a semantic version above the stable version 2.4.0"},
				{ID: "model-artifact", Section: "Model Readiness", Result: "Pass", Severity: "Enforce", Message: "The OCI manifest of registry.example/models/fraud-scorer:2.6.0 exists"},
				{ID: "model-registry", Section: "Model Readiness", Result: "Skipped", Severity: "Enforce", Message: "Network checks were not run"},
				{ID: "probes", Section: "Application Monitoring", Result: "Pass", Severity: "Enforce", Message: "The serving container has readiness and liveness probes"},
				{ID: "network-policy", Section: "Security Checks", Result: "Warn", Severity: "Warn", OverrideReason: "the mesh enforces ingress",
					Message: "No NetworkPolicy selects the pods", Remediation: "Create a NetworkPolicy with an ingress rule."},
				{ID: "pdb", Section: "Business Continuity", Result: "Pass", Severity: "Enforce", Message: "PodDisruptionBudget fraud-scorer allows 1 eviction"},
				{ID: "security-scan", Section: "Vulnerability Assessment", Result: "Skipped", Severity: "Enforce", Message: "Waits for an attestation by role security"},
			},
		},
		Analysis: &servingv1alpha1.AnalysisStatus{Breaches: 1, Measurements: []servingv1alpha1.Measurement{
			{Metric: "errorRate", Version: "2.6.0", Verdict: servingv1alpha1.VerdictPass, Value: "0.4", Bound: "5", Time: *at(-time.Minute)},
			{Metric: "latencyP95", Version: "2.6.0", Verdict: servingv1alpha1.VerdictBreach, Value: "320", Bound: "300", Time: *at(-time.Minute)},
			{Metric: "accuracy", Version: "2.6.0", Verdict: servingv1alpha1.VerdictNoData, Message: "fewer than 100 requests in the window", Time: *at(-time.Minute)},
		}},
		LoadTest: &servingv1alpha1.LoadTestStatus{
			Version: "2.6.0", TargetRPS: 50, AchievedRPS: "49.6", Requests: 2976, ErrorPercent: "0.1",
			P50Ms: "12", P95Ms: "40", P99Ms: "71", Verdict: servingv1alpha1.VerdictPass, Time: *at(-9 * time.Minute),
		},
		History: []servingv1alpha1.HistoryEntry{
			{Version: "2.5.0", Previous: "2.4.0", Outcome: servingv1alpha1.OutcomeRolledBack, Reason: "Aborted",
				Message:  `Version 2.5.0 was rolled back by request (serving.modelgate.dev/abort: "spike in errors (requested 2026-06-30T08:00:00Z)")`,
				Strategy: servingv1alpha1.StrategyCanary, StartedAt: at(-27 * time.Hour), FinishedAt: at(-26 * time.Hour), Checklist: "17/18"},
			{Version: "2.4.0", Previous: "2.3.0", Outcome: servingv1alpha1.OutcomePromoted, Reason: "Promoted", Message: "Version 2.4.0 promoted, replacing 2.3.0",
				Strategy: servingv1alpha1.StrategyCanary, StartedAt: at(-73 * time.Hour), FinishedAt: at(-72 * time.Hour), Checklist: "18/18", Approvers: []string{"security=alice"}},
		},
	}
	return md
}

// promotedMD is canaryMD once 2.6.0 was promoted and serves all traffic.
func promotedMD() *servingv1alpha1.ModelDeployment {
	md := canaryMD()
	md.Status.Phase = servingv1alpha1.PhaseSucceeded
	md.Status.Candidate, md.Status.Rejected, md.Status.Analysis = nil, nil, nil
	md.Status.Stable = &servingv1alpha1.VersionStatus{Version: "2.6.0", Deployment: "fraud-scorer-v2-6-0", Since: at(-time.Minute)}
	md.Status.Conditions = []metav1.Condition{
		{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Succeeded", Message: "Version 2.6.0 serves all traffic with 3/3 pods available", LastTransitionTime: *at(-time.Minute)},
	}
	md.Status.History = append([]servingv1alpha1.HistoryEntry{{
		Version: "2.6.0", Previous: "2.4.0", Outcome: servingv1alpha1.OutcomePromoted, Reason: "Promoted", Message: "Version 2.6.0 promoted, replacing 2.4.0",
		Strategy: servingv1alpha1.StrategyCanary, StartedAt: at(-10 * time.Minute), FinishedAt: at(-time.Minute), Checklist: "4/5", Approvers: []string{"security=bob"},
	}}, md.Status.History...)
	return md
}

// blockedMD is a first deploy held in Verifying by its checklist.
func blockedMD() *servingv1alpha1.ModelDeployment {
	return &servingv1alpha1.ModelDeployment{
		ObjectMeta: metav1.ObjectMeta{Name: "ranker", Namespace: "ml", Generation: 2},
		Spec: servingv1alpha1.ModelDeploymentSpec{
			Model:    servingv1alpha1.ModelSpec{Name: "ranker", Version: "1.0.0", URI: "pvc://models/ranker/1.0.0"},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "server", Image: "registry.example/ml/ranker:latest"}}}},
		},
		Status: servingv1alpha1.ModelDeploymentStatus{
			ObservedGeneration: 1, Phase: servingv1alpha1.PhaseVerifying,
			Conditions: []metav1.Condition{
				{Type: "Ready", Status: metav1.ConditionFalse, Reason: "ChecklistFailed", Message: "Version 1.0.0 is blocked by pdb", LastTransitionTime: *at(-2 * time.Hour)},
				{Type: "Stalled", Status: metav1.ConditionTrue, Reason: "ChecklistFailed", Message: "checklist items block it: pdb: No PodDisruptionBudget in namespace ml selects the pods of ranker", LastTransitionTime: *at(-2 * time.Hour)},
			},
			Checklist: &servingv1alpha1.ChecklistStatus{
				Version: "1.0.0", Summary: "1/3", Passed: 1, Failed: 1, Skipped: 1,
				Items: []servingv1alpha1.ChecklistItemStatus{
					{ID: "model-version-semver", Section: "Model Readiness", Result: "Pass", Severity: "Enforce", Message: "Version 1.0.0 is a semantic version; no version is stable yet"},
					{ID: "pdb", Section: "Business Continuity", Result: "Fail", Severity: "Enforce",
						Message:     "No PodDisruptionBudget in namespace ml selects the pods of ranker",
						Remediation: "Create a policy/v1 PodDisruptionBudget in namespace ml with spec.maxUnavailable: 1."},
					{ID: "capacity", Section: "Capacity Planning", Result: "Unknown", Severity: "Enforce",
						Message: "ResourceQuotas in namespace ml could not be read: forbidden", Remediation: "Let modelgate's service account list resourcequotas."},
				},
			},
		},
	}
}

// policyMD is blockedMD as the operator shows it once a ModelDeploymentPolicy
// selects it: the pdb item's floor set by the policy over the team's override,
// and the violation in status.policy.
func policyMD() *servingv1alpha1.ModelDeployment {
	md := blockedMD()
	md.Spec.Checklist.Overrides = []servingv1alpha1.ChecklistOverride{{ID: "pdb", Severity: "Off", Reason: "no time"}}
	for i := range md.Status.Checklist.Items {
		it := &md.Status.Checklist.Items[i]
		it.SeveritySource = "spec"
		if it.ID == "pdb" {
			it.SeveritySource, it.OverrideReason = "policy/production", "no time"
		}
	}
	md.Status.Policy = &servingv1alpha1.PolicyStatus{Policies: []string{"production"}, Violations: []servingv1alpha1.PolicyViolation{{
		Policy: "production", Field: "spec.checklist.overrides[id=pdb].severity",
		Message: "item pdb may not be lowered below Enforce, and Off is asked; remove the override or raise it to Enforce"}}}
	return md
}
