// Package traffic puts a rollout's RoutePlan on the router a ModelDeployment
// names: the seam a traffic router plugs into. The Gateway API's HTTPRoute is
// the first router; another is a type implementing Router in a file of its
// own, registered under the kind of spec.strategy.trafficRouting that selects
// it (rollout.RouterKind).
package traffic

import (
	"context"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// Router moves a ModelDeployment's traffic between its Services
// <name>-stable and <name>-candidate.
type Router interface {
	// Check says why the route cannot carry a rollout now (missing, or
	// sending nothing to the ModelDeployment's Services), "" when it can. An
	// error is a failure to look, and is retried.
	Check(ctx context.Context, md *servingv1alpha1.ModelDeployment) (problem string, err error)
	// Apply makes the route say what plan says. Applying the same plan twice
	// changes nothing.
	Apply(ctx context.Context, md *servingv1alpha1.ModelDeployment, plan desiredstate.RoutePlan) error
}
