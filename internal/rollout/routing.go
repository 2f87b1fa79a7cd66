package rollout

import (
	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// RouterGatewayAPI is the router kind of spec.strategy.trafficRouting.gatewayAPI.
const RouterGatewayAPI = "GatewayAPI"

// RouterKind is the kind of traffic router a ModelDeployment names, or ""
// when none splits its traffic (the mix of pods behind <name> does).
func RouterKind(md *servingv1alpha1.ModelDeployment) string {
	if tr := md.Spec.Strategy.TrafficRouting; tr != nil && tr.GatewayAPI != nil {
		return RouterGatewayAPI
	}
	return ""
}

// Routed reports whether a router splits the ModelDeployment's traffic.
func Routed(md *servingv1alpha1.ModelDeployment) bool {
	return RouterKind(md) != ""
}

// SizeForTraffic sizes each version for the share of traffic a router sends
// it: each side gets the pods its share needs, rounded up, and a side with any
// traffic at all has at least one pod. The total may exceed total by one.
func SizeForTraffic(total, weight int32) (candidate, stable int32) {
	if total <= 0 {
		return 0, 0
	}
	weight = min(max(weight, 0), 100)
	candidate = (total*weight + 99) / 100
	stable = (total*(100-weight) + 99) / 100
	return candidate, stable
}

// shareOf is the number of pods that serve percent of the traffic of total,
// rounded up, never below one.
func shareOf(total, percent int32) int32 {
	return max((total*percent+99)/100, 1)
}
