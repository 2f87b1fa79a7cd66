package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/internal/rollout"
)

// gatherRoute reads the HTTPRoute a rollout moves traffic on, and says why it
// cannot when it cannot: a rollout then holds its candidate rather than move
// traffic it cannot steer.
func (r *ModelDeploymentReconciler) gatherRoute(ctx context.Context, s *scope) error {
	if !rollout.Routed(s.md) {
		return nil
	}
	name := s.md.Spec.Strategy.TrafficRouting.GatewayAPI.HTTPRoute
	if !r.GatewayAPI {
		s.routeProblem = fmt.Sprintf("spec.strategy.trafficRouting.gatewayAPI names HTTPRoute %q, but the cluster does not serve the Gateway API; install its CRDs and restart modelgate", name)
		return nil
	}
	route := &gatewayv1.HTTPRoute{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: s.md.Namespace, Name: name}, route); err != nil {
		if apierrors.IsNotFound(err) {
			s.routeProblem = fmt.Sprintf("HTTPRoute %q named in spec.strategy.trafficRouting.gatewayAPI is not found in namespace %s", name, s.md.Namespace)
			return nil
		}
		return fmt.Errorf("reading HTTPRoute %s: %w", name, err)
	}
	if desiredstate.RouteRules(s.md, route) == 0 {
		s.routeProblem = fmt.Sprintf("HTTPRoute %q sends no traffic to Service %s, %s or %s: give a rule a backendRef to one of them",
			name, desiredstate.ServiceName(s.md), desiredstate.StableServiceName(s.md), desiredstate.CandidateServiceName(s.md))
		return nil
	}
	s.route = route
	return nil
}

// applyRoute writes the decision's weights, mirror and cohort into the
// HTTPRoute. The route is the user's: the patch carries an optimistic lock so
// a concurrent edit is read again rather than overwritten.
func (r *ModelDeploymentReconciler) applyRoute(ctx context.Context, s *scope) error {
	plan := s.decision.Route
	if plan == nil || s.route == nil {
		return nil
	}
	route := s.route
	base := route.DeepCopy()
	desiredstate.MutateHTTPRoute(route, s.md, *plan)
	if equality.Semantic.DeepEqual(base.Spec, route.Spec) {
		return nil
	}
	if err := r.Patch(ctx, route, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("setting the weights of HTTPRoute %s: %w", route.Name, err)
	}
	logf.FromContext(ctx).Info("Routed traffic", "httpRoute", klog.KObj(route), "candidateWeight", plan.CandidateWeight,
		"mirrorPercent", plan.MirrorPercent, "cohort", plan.Cohort != nil)
	return nil
}
