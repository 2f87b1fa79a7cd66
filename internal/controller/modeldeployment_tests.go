package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/internal/loadtest"
	"github.com/modelgate/modelgate/internal/rollout"
)

// testsPollInterval is how often a reconcile looks whether running smoke and
// load tests are done.
const testsPollInterval = 2 * time.Second

// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=list
// +kubebuilder:rbac:groups="",resources=pods,verbs=list

// gatherTests runs the declared smoke and load tests against the candidate's
// ready endpoints (of <name>-candidate, which selects the candidate alone),
// in the background: the reconcile only looks whether they are done, and the
// decision keeps the candidate out of user traffic until they passed.
func (r *ModelDeploymentReconciler) gatherTests(ctx context.Context, s *scope) error {
	md := s.md
	spec := md.Spec.Analysis
	if spec == nil || (spec.SmokeTest == nil && spec.LoadTest == nil) || r.Tester == nil {
		return nil
	}
	cand := md.Status.Candidate
	if cand == nil || cand.Version != md.Spec.Model.Version || cand.TemplateHash != s.templateHash {
		return nil
	}
	s.tests = &rollout.TestsState{}
	// A later revision of the same version (a changed template or URI) is
	// tested again: its template hash is part of the key.
	key := loadtest.Key{Namespace: md.Namespace, Name: md.Name, Version: cand.Version,
		SpecHash: loadtest.SpecHash(spec.SmokeTest, spec.LoadTest) + "/" + cand.TemplateHash}
	if s.observed[cand.Deployment].AvailableReplicas == 0 {
		return nil // the tests start once the candidate has a pod up
	}
	// The targets are read past the cache, and only to start the tests:
	// once started, the reconciles that look whether they are done read
	// nothing.
	var targets []string
	if !r.Tester.Holds(key) {
		var err error
		if targets, err = r.candidateEndpoints(ctx, s); err != nil {
			return err
		}
		if len(targets) == 0 {
			s.testsDue = testsPollInterval
			return nil
		}
	}
	smoke, load, version, clk := spec.SmokeTest, spec.LoadTest, cand.Version, r.Clock
	outcome, done := r.Tester.Ensure(key, func(ctx context.Context) loadtest.Outcome {
		return loadtest.Run(ctx, r.TestClient, targets, smoke, load, version, clk, loadtest.Limits{})
	})
	if !done {
		s.testsDue = testsPollInterval
		return nil
	}
	s.tests = &rollout.TestsState{Done: true, Passed: outcome.Passed(), Message: outcome.Message(), Reason: rollout.ReasonLoadTestFailed}
	if outcome.Smoke != nil && !outcome.Smoke.Passed {
		s.tests.Reason = rollout.ReasonSmokeTestFailed
	}
	s.loadTest = outcome.Load
	return nil
}

// candidateEndpoints are the base URLs of the candidate's ready endpoints, on
// the Services' http port: only addresses of the candidate's own pods, in
// slices the EndpointSlice controller wrote (loadtest.Targets), so that a
// slice made by hand cannot aim the tests elsewhere. Slices and pods are
// listed past the cache, which holds neither: they are read only until the
// tests start, and a cache of every modelgate Service's slices would decode
// each of their updates (several per pod started) for nothing.
func (r *ModelDeploymentReconciler) candidateEndpoints(ctx context.Context, s *scope) ([]string, error) {
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	svc := desiredstate.CandidateServiceName(s.md)
	var slices discoveryv1.EndpointSliceList
	if err := reader.List(ctx, &slices, client.InNamespace(s.md.Namespace), client.MatchingLabels{
		discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: loadtest.EndpointSliceControllerName}); err != nil {
		return nil, fmt.Errorf("listing the endpoints of %s: %w", svc, err)
	}
	if len(slices.Items) == 0 {
		return nil, nil
	}
	var pods corev1.PodList
	if err := reader.List(ctx, &pods, client.InNamespace(s.md.Namespace),
		client.MatchingLabels(desiredstate.VersionLabels(s.md, s.md.Status.Candidate.Version))); err != nil {
		return nil, fmt.Errorf("listing the pods of candidate %s: %w", s.md.Status.Candidate.Version, err)
	}
	return loadtest.Targets(slices.Items, pods.Items, "http"), nil
}
