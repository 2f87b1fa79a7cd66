package controller

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/internal/loadtest"
	"github.com/modelgate/modelgate/internal/rollout"
)

// testsPollInterval is how often a reconcile looks whether running smoke and
// load tests are done.
const testsPollInterval = 2 * time.Second

// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch

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
	targets, err := r.candidateEndpoints(ctx, s)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		s.testsDue = testsPollInterval
		return nil
	}
	smoke, load, version, clk := spec.SmokeTest, spec.LoadTest, cand.Version, r.Clock
	outcome, done := r.Tester.Ensure(key, func(ctx context.Context) loadtest.Outcome {
		return loadtest.Run(ctx, nil, targets, smoke, load, version, clk, loadtest.Limits{})
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
// the Services' http port: nothing but the candidate is ever tested.
func (r *ModelDeploymentReconciler) candidateEndpoints(ctx context.Context, s *scope) ([]string, error) {
	var slices discoveryv1.EndpointSliceList
	if err := r.List(ctx, &slices, client.InNamespace(s.md.Namespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: desiredstate.CandidateServiceName(s.md)}); err != nil {
		return nil, fmt.Errorf("listing the endpoints of %s: %w", desiredstate.CandidateServiceName(s.md), err)
	}
	var out []string
	for _, sl := range slices.Items {
		port := int32(0)
		for _, p := range sl.Ports {
			if ptr.Deref(p.Name, "") == "http" && p.Port != nil {
				port = *p.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range sl.Endpoints {
			if !ptr.Deref(ep.Conditions.Ready, false) {
				continue
			}
			for _, a := range ep.Addresses {
				out = append(out, "http://"+net.JoinHostPort(a, strconv.Itoa(int(port))))
			}
		}
	}
	return out, nil
}
