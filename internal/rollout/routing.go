package rollout

import (
	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// RoutePlan is what the HTTPRoute named in spec.strategy.trafficRouting must
// say about the ModelDeployment's traffic.
type RoutePlan struct {
	// HTTPRoute is the route's name, in the ModelDeployment's namespace.
	HTTPRoute string
	// CandidateWeight is the percent of the traffic sent to <name>-candidate;
	// the rest goes to <name>-stable.
	CandidateWeight int32
	// MirrorPercent of the requests is copied to <name>-candidate, whose
	// answers are dropped; 0 copies none.
	MirrorPercent int32
	// Cohort, when set, sends the requests it matches to <name>-candidate.
	Cohort *Cohort
}

// Cohort is an A/B test's candidate cohort: requests carrying every header and
// cookie listed.
type Cohort struct {
	Headers []servingv1alpha1.Match
	Cookies []servingv1alpha1.Match
}

// Routed reports whether a router splits the ModelDeployment's traffic.
func Routed(md *servingv1alpha1.ModelDeployment) bool {
	tr := md.Spec.Strategy.TrafficRouting
	return tr != nil && tr.GatewayAPI != nil
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
