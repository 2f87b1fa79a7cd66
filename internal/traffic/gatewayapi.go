package traffic

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// GatewayAPI routes with the user's HTTPRoute named in
// spec.strategy.trafficRouting.gatewayAPI: modelgate rewrites only the
// backends of the rules that send traffic to the ModelDeployment's Services,
// and its own mirror filter and cohort rules (desiredstate.MutateHTTPRoute).
type GatewayAPI struct {
	Client client.Client
	// Served is whether the cluster serves the Gateway API.
	Served bool
}

// Check reads the HTTPRoute and says why it cannot carry a rollout.
func (g GatewayAPI) Check(ctx context.Context, md *servingv1alpha1.ModelDeployment) (string, error) {
	name := routeName(md)
	if !g.Served {
		return fmt.Sprintf("spec.strategy.trafficRouting.gatewayAPI names HTTPRoute %q, but the cluster does not serve the Gateway API; install its CRDs and restart modelgate", name), nil
	}
	route, err := g.get(ctx, md)
	if apierrors.IsNotFound(err) {
		return fmt.Sprintf("HTTPRoute %q named in spec.strategy.trafficRouting.gatewayAPI is not found in namespace %s", name, md.Namespace), nil
	}
	if err != nil {
		return "", err
	}
	if desiredstate.RouteRules(md, route) == 0 {
		return fmt.Sprintf("HTTPRoute %q sends no traffic to Service %s, %s or %s: give a rule a backendRef to one of them",
			name, desiredstate.ServiceName(md), desiredstate.StableServiceName(md), desiredstate.CandidateServiceName(md)), nil
	}
	return "", nil
}

// Apply writes the plan's weights, mirror and cohort into the HTTPRoute. The
// route is the user's: the patch carries an optimistic lock so a concurrent
// edit is read again rather than overwritten.
func (g GatewayAPI) Apply(ctx context.Context, md *servingv1alpha1.ModelDeployment, plan desiredstate.RoutePlan) error {
	route, err := g.get(ctx, md)
	if err != nil {
		return err
	}
	base := route.DeepCopy()
	desiredstate.MutateHTTPRoute(route, md, plan)
	if equality.Semantic.DeepEqual(base.Spec, route.Spec) {
		return nil
	}
	if err := g.Client.Patch(ctx, route, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("setting the weights of HTTPRoute %s: %w", route.Name, err)
	}
	logf.FromContext(ctx).Info("Routed traffic", "httpRoute", klog.KObj(route), "candidateWeight", plan.CandidateWeight,
		"mirrorPercent", plan.MirrorPercent, "cohort", plan.Cohort != nil)
	return nil
}

func (g GatewayAPI) get(ctx context.Context, md *servingv1alpha1.ModelDeployment) (*gatewayv1.HTTPRoute, error) {
	route := &gatewayv1.HTTPRoute{}
	err := g.Client.Get(ctx, client.ObjectKey{Namespace: md.Namespace, Name: routeName(md)}, route)
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading HTTPRoute %s: %w", routeName(md), err)
	}
	return route, err
}

func routeName(md *servingv1alpha1.ModelDeployment) string {
	return md.Spec.Strategy.TrafficRouting.GatewayAPI.HTTPRoute
}
