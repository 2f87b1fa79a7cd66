package desiredstate

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// RoutePlan is what the router named in spec.strategy.trafficRouting must
// do with a ModelDeployment's traffic; which route carries it is the
// router's to know.
type RoutePlan struct {
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

// IsModelService reports whether a Service name is one of the three a
// ModelDeployment owns.
func IsModelService(md *servingv1alpha1.ModelDeployment, name string) bool {
	return name == ServiceName(md) || name == StableServiceName(md) || name == CandidateServiceName(md)
}

// ServesModel reports whether a backend of a route in routeNamespace is one of
// the ModelDeployment's Services (a core Service of its namespace).
func ServesModel(md *servingv1alpha1.ModelDeployment, routeNamespace string, ref gatewayv1.BackendObjectReference) bool {
	if g := ptr.Deref(ref.Group, ""); g != "" && g != "core" {
		return false
	}
	if ptr.Deref(ref.Kind, "Service") != "Service" {
		return false
	}
	ns := routeNamespace
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	return ns == md.Namespace && IsModelService(md, string(ref.Name))
}

func servesModel(md *servingv1alpha1.ModelDeployment, route *gatewayv1.HTTPRoute, ref gatewayv1.BackendObjectReference) bool {
	return ServesModel(md, route.Namespace, ref)
}

// cohortRulePrefix names the rules modelgate adds to a route for an A/B
// cohort, so it can find and remove them; users' rules never carry it.
func cohortRulePrefix(md *servingv1alpha1.ModelDeployment) string {
	return "modelgate-" + md.Name + "-cohort"
}

// RouteRules counts the rules of a route that send traffic to the
// ModelDeployment's Services, leaving out the cohort rules modelgate added.
func RouteRules(md *servingv1alpha1.ModelDeployment, route *gatewayv1.HTTPRoute) int {
	n := 0
	for i := range route.Spec.Rules {
		if managedRule(md, route, &route.Spec.Rules[i]) {
			n++
		}
	}
	return n
}

func managedRule(md *servingv1alpha1.ModelDeployment, route *gatewayv1.HTTPRoute, rule *gatewayv1.HTTPRouteRule) bool {
	if isCohortRule(md, rule) {
		return false
	}
	for _, b := range rule.BackendRefs {
		if servesModel(md, route, b.BackendObjectReference) {
			return true
		}
	}
	return false
}

func isCohortRule(md *servingv1alpha1.ModelDeployment, rule *gatewayv1.HTTPRouteRule) bool {
	return rule.Name != nil && strings.HasPrefix(string(*rule.Name), cohortRulePrefix(md))
}

// MutateHTTPRoute writes a plan into a user's HTTPRoute. In every rule that
// sends traffic to the ModelDeployment's Services, those backends become
// <name>-stable and <name>-candidate with the plan's weights (other backends
// are left alone), modelgate's mirror filter is set or removed, and a cohort
// rule, matching what the rule matches plus the cohort's headers and cookies,
// is put before it or removed. Everything else in the route is the user's and
// is kept. Applying the same plan twice changes nothing.
func MutateHTTPRoute(route *gatewayv1.HTTPRoute, md *servingv1alpha1.ModelDeployment, plan RoutePlan) {
	stableWeight, candWeight := 100-plan.CandidateWeight, plan.CandidateWeight
	rules := make([]gatewayv1.HTTPRouteRule, 0, len(route.Spec.Rules)+1)
	cohorts := 0
	for _, rule := range route.Spec.Rules {
		if isCohortRule(md, &rule) {
			continue
		}
		if !managedRule(md, route, &rule) {
			rules = append(rules, rule)
			continue
		}
		port := modelPort(md, route, rule.BackendRefs)
		var backends []gatewayv1.HTTPBackendRef
		for _, b := range rule.BackendRefs {
			if !servesModel(md, route, b.BackendObjectReference) {
				backends = append(backends, b)
			}
		}
		rule.BackendRefs = append(backends, serviceBackend(StableServiceName(md), port, stableWeight), serviceBackend(CandidateServiceName(md), port, candWeight))

		rule.Filters = slices.DeleteFunc(slices.Clone(rule.Filters), func(f gatewayv1.HTTPRouteFilter) bool { return isOurMirror(md, f) })
		if plan.MirrorPercent > 0 {
			rule.Filters = append(rule.Filters, gatewayv1.HTTPRouteFilter{
				Type: gatewayv1.HTTPRouteFilterRequestMirror,
				RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{
					BackendRef: serviceBackend(CandidateServiceName(md), port, 0).BackendObjectReference,
					Percent:    ptr.To(plan.MirrorPercent),
				},
			})
		}
		if len(rule.Filters) == 0 {
			rule.Filters = nil
		}
		if plan.Cohort != nil {
			rules = append(rules, cohortRule(md, rule, plan.Cohort, port, cohorts))
			cohorts++
		}
		rules = append(rules, rule)
	}
	route.Spec.Rules = rules
}

// cohortRule sends the requests of rule that also match the cohort to the
// candidate. Gateway API prefers the rule with more header matches, so it wins
// over rule wherever both match.
func cohortRule(md *servingv1alpha1.ModelDeployment, rule gatewayv1.HTTPRouteRule, c *Cohort, port *gatewayv1.PortNumber, i int) gatewayv1.HTTPRouteRule {
	matches := rule.Matches
	if len(matches) == 0 {
		matches = []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To("/")}}}
	}
	extra := make([]gatewayv1.HTTPHeaderMatch, 0, len(c.Headers)+len(c.Cookies))
	for _, h := range c.Headers {
		extra = append(extra, gatewayv1.HTTPHeaderMatch{Type: ptr.To(gatewayv1.HeaderMatchExact), Name: gatewayv1.HTTPHeaderName(h.Name), Value: h.Value})
	}
	for _, k := range c.Cookies {
		extra = append(extra, gatewayv1.HTTPHeaderMatch{
			Type: ptr.To(gatewayv1.HeaderMatchRegularExpression), Name: "Cookie",
			Value: fmt.Sprintf(`(^|;\s*)%s=%s(;|$)`, regexp.QuoteMeta(k.Name), regexp.QuoteMeta(k.Value)),
		})
	}
	out := gatewayv1.HTTPRouteRule{
		Name:        ptr.To(gatewayv1.SectionName(fmt.Sprintf("%s-%d", cohortRulePrefix(md), i))),
		BackendRefs: []gatewayv1.HTTPBackendRef{serviceBackend(CandidateServiceName(md), port, 1)},
		Timeouts:    rule.Timeouts,
	}
	for _, m := range matches {
		m = *m.DeepCopy()
		// The cohort's headers replace any match on the same header.
		m.Headers = slices.DeleteFunc(m.Headers, func(h gatewayv1.HTTPHeaderMatch) bool {
			return slices.ContainsFunc(extra, func(e gatewayv1.HTTPHeaderMatch) bool { return strings.EqualFold(string(e.Name), string(h.Name)) })
		})
		m.Headers = append(m.Headers, extra...)
		out.Matches = append(out.Matches, m)
	}
	for _, f := range rule.Filters {
		if f.Type != gatewayv1.HTTPRouteFilterRequestMirror {
			out.Filters = append(out.Filters, f)
		}
	}
	return out
}

func isOurMirror(md *servingv1alpha1.ModelDeployment, f gatewayv1.HTTPRouteFilter) bool {
	return f.Type == gatewayv1.HTTPRouteFilterRequestMirror && f.RequestMirror != nil &&
		string(f.RequestMirror.BackendRef.Name) == CandidateServiceName(md) &&
		ptr.Deref(f.RequestMirror.BackendRef.Kind, "Service") == "Service"
}

// modelPort is the port the route used for the ModelDeployment's Services, or
// the Services' own port.
func modelPort(md *servingv1alpha1.ModelDeployment, route *gatewayv1.HTTPRoute, refs []gatewayv1.HTTPBackendRef) *gatewayv1.PortNumber {
	for _, b := range refs {
		if servesModel(md, route, b.BackendObjectReference) && b.Port != nil {
			return b.Port
		}
	}
	return ptr.To(ServicePorts(md)[0].Port)
}

func serviceBackend(name string, port *gatewayv1.PortNumber, weight int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{
			Group: ptr.To(gatewayv1.Group("")), Kind: ptr.To(gatewayv1.Kind("Service")),
			Name: gatewayv1.ObjectName(name), Port: port,
		},
		Weight: ptr.To(weight),
	}}
}
