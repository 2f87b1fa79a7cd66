package controller

import (
	"context"
	"fmt"

	"github.com/modelgate/modelgate/internal/rollout"
	"github.com/modelgate/modelgate/internal/traffic"
)

// gatherRoute asks the router of spec.strategy.trafficRouting whether its
// route can carry a rollout, and says why it cannot when it cannot: a
// rollout then holds its candidate rather than move traffic it cannot steer.
func (r *ModelDeploymentReconciler) gatherRoute(ctx context.Context, s *scope) error {
	kind := rollout.RouterKind(s.md)
	if kind == "" {
		return nil
	}
	router, ok := r.routers()[kind]
	if !ok {
		s.routeProblem = fmt.Sprintf("no traffic router of kind %s is registered with modelgate", kind)
		return nil
	}
	problem, err := router.Check(ctx, s.md)
	if err != nil {
		return err
	}
	s.routeProblem = problem
	if problem == "" {
		s.router = router
	}
	return nil
}

// applyRoute puts the decision's weights, mirror and cohort on the route.
func (r *ModelDeploymentReconciler) applyRoute(ctx context.Context, s *scope) error {
	if s.decision.Route == nil || s.router == nil {
		return nil
	}
	return s.router.Apply(ctx, s.md, *s.decision.Route)
}

// routers are the traffic routers by kind (rollout.RouterKind): Routers, or
// the Gateway API's.
func (r *ModelDeploymentReconciler) routers() map[string]traffic.Router {
	if r.Routers != nil {
		return r.Routers
	}
	return map[string]traffic.Router{rollout.RouterGatewayAPI: traffic.GatewayAPI{Client: r.Client, Served: r.GatewayAPI}}
}
