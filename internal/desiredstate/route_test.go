package desiredstate

import (
	"regexp"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func backend(name string, port, weight int32) gatewayv1.HTTPBackendRef {
	return serviceBackend(name, ptr.To(port), weight)
}

func pathRule(path string, backends ...gatewayv1.HTTPBackendRef) gatewayv1.HTTPRouteRule {
	return gatewayv1.HTTPRouteRule{
		Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To(path)}}},
		BackendRefs: backends,
	}
}

func userRoute(rules ...gatewayv1.HTTPRouteRule) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "fraud", Namespace: "risk"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "public"}}},
			Hostnames:       []gatewayv1.Hostname{"fraud.example.com"},
			Rules:           rules,
		},
	}
}

func TestMutateHTTPRoute(t *testing.T) {
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer", Namespace: "risk"}}
	docs := pathRule("/docs", backend("docs", 80, 1))
	split := func(stable, cand int32) []gatewayv1.HTTPBackendRef {
		return []gatewayv1.HTTPBackendRef{backend("fraud-scorer-stable", 9000, stable), backend("fraud-scorer-candidate", 9000, cand)}
	}
	mirror := func(percent int32) gatewayv1.HTTPRouteFilter {
		return gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestMirror, RequestMirror: &gatewayv1.HTTPRequestMirrorFilter{
			BackendRef: backend("fraud-scorer-candidate", 9000, 0).BackendObjectReference, Percent: ptr.To(percent),
		}}
	}
	headerFilter := gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
		RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Set: []gatewayv1.HTTPHeader{{Name: "x-team", Value: "risk"}}}}

	tests := []struct {
		name  string
		route *gatewayv1.HTTPRoute
		plan  RoutePlan
		want  []gatewayv1.HTTPRouteRule
	}{
		{
			name:  "the user's rule to <name> is split between stable and candidate, other rules untouched",
			route: userRoute(docs, pathRule("/", backend("fraud-scorer", 9000, 1))),
			plan:  RoutePlan{CandidateWeight: 30},
			want:  []gatewayv1.HTTPRouteRule{docs, {Matches: pathRule("/").Matches, BackendRefs: split(70, 30)}},
		},
		{
			name:  "weights already set: rewritten to the plan",
			route: userRoute(pathRule("/", split(70, 30)...)),
			plan:  RoutePlan{},
			want:  []gatewayv1.HTTPRouteRule{{Matches: pathRule("/").Matches, BackendRefs: split(100, 0)}},
		},
		{
			name:  "a backend that is not the model's keeps its place and weight",
			route: userRoute(pathRule("/", backend("legacy-scorer", 80, 5), backend("fraud-scorer", 9000, 95))),
			plan:  RoutePlan{CandidateWeight: 50},
			want: []gatewayv1.HTTPRouteRule{{Matches: pathRule("/").Matches,
				BackendRefs: append([]gatewayv1.HTTPBackendRef{backend("legacy-scorer", 80, 5)}, split(50, 50)...)}},
		},
		{
			name:  "a Service of the same name in another namespace is not the model's",
			route: userRoute(pathRule("/", gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "fraud-scorer", Namespace: ptr.To(gatewayv1.Namespace("other"))}}})),
			plan:  RoutePlan{CandidateWeight: 50},
			want:  []gatewayv1.HTTPRouteRule{pathRule("/", gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: "fraud-scorer", Namespace: ptr.To(gatewayv1.Namespace("other"))}}})},
		},
		{
			name:  "a shadow adds the mirror filter beside the user's filters",
			route: userRoute(gatewayv1.HTTPRouteRule{Matches: pathRule("/").Matches, Filters: []gatewayv1.HTTPRouteFilter{headerFilter}, BackendRefs: split(100, 0)}),
			plan:  RoutePlan{MirrorPercent: 20},
			want:  []gatewayv1.HTTPRouteRule{{Matches: pathRule("/").Matches, Filters: []gatewayv1.HTTPRouteFilter{headerFilter, mirror(20)}, BackendRefs: split(100, 0)}},
		},
		{
			name:  "the shadow over: the mirror filter goes, the user's stays",
			route: userRoute(gatewayv1.HTTPRouteRule{Matches: pathRule("/").Matches, Filters: []gatewayv1.HTTPRouteFilter{headerFilter, mirror(20)}, BackendRefs: split(100, 0)}),
			plan:  RoutePlan{},
			want:  []gatewayv1.HTTPRouteRule{{Matches: pathRule("/").Matches, Filters: []gatewayv1.HTTPRouteFilter{headerFilter}, BackendRefs: split(100, 0)}},
		},
		{
			name:  "the last mirror gone leaves no empty filter list",
			route: userRoute(gatewayv1.HTTPRouteRule{Matches: pathRule("/").Matches, Filters: []gatewayv1.HTTPRouteFilter{mirror(100)}, BackendRefs: split(100, 0)}),
			plan:  RoutePlan{},
			want:  []gatewayv1.HTTPRouteRule{{Matches: pathRule("/").Matches, BackendRefs: split(100, 0)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			route := tt.route.DeepCopy()
			MutateHTTPRoute(route, md, tt.plan)
			g.Expect(route.Spec.Rules).To(Equal(tt.want))
			g.Expect(route.Spec.Hostnames).To(Equal(tt.route.Spec.Hostnames), "the rest of the route is the user's")
			g.Expect(route.Spec.ParentRefs).To(Equal(tt.route.Spec.ParentRefs))

			again := route.DeepCopy()
			MutateHTTPRoute(again, md, tt.plan)
			g.Expect(again).To(Equal(route), "applying the same plan twice changes nothing")
		})
	}
}

func TestMutateHTTPRouteCohort(t *testing.T) {
	g := NewWithT(t)
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer", Namespace: "risk"}}
	predict := pathRule("/predict", backend("fraud-scorer", 9000, 1))
	predict.Matches[0].Headers = []gatewayv1.HTTPHeaderMatch{{Name: "X-Model-Variant", Value: "a"}, {Name: "x-tenant", Value: "eu"}}
	route := userRoute(predict, pathRule("/docs", backend("docs", 80, 1)))
	cohort := &Cohort{
		Headers: []servingv1alpha1.Match{{Name: "x-model-variant", Value: "b"}},
		Cookies: []servingv1alpha1.Match{{Name: "variant", Value: "b.1"}},
	}

	MutateHTTPRoute(route, md, RoutePlan{Cohort: cohort})
	g.Expect(RouteRules(md, route)).To(Equal(1), "the cohort rule is not counted as the user's")
	g.Expect(route.Spec.Rules).To(HaveLen(3))
	added := route.Spec.Rules[0]
	g.Expect(added.Name).To(Equal(ptr.To(gatewayv1.SectionName("modelgate-fraud-scorer-cohort-0"))))
	g.Expect(added.BackendRefs).To(Equal([]gatewayv1.HTTPBackendRef{backend("fraud-scorer-candidate", 9000, 1)}))
	g.Expect(added.Matches).To(HaveLen(1))
	g.Expect(added.Matches[0].Path).To(Equal(predict.Matches[0].Path), "the cohort is taken from the rule's own traffic")
	headers := added.Matches[0].Headers
	g.Expect(headers).To(HaveLen(3), "the user's x-tenant kept, their X-Model-Variant replaced by the cohort's")
	g.Expect(headers[0]).To(Equal(gatewayv1.HTTPHeaderMatch{Name: "x-tenant", Value: "eu"}))
	g.Expect(headers[1]).To(Equal(gatewayv1.HTTPHeaderMatch{Type: ptr.To(gatewayv1.HeaderMatchExact), Name: "x-model-variant", Value: "b"}))
	g.Expect(headers[2].Name).To(BeEquivalentTo("Cookie"))
	cookie := regexp.MustCompile(headers[2].Value)
	for header, match := range map[string]bool{
		"variant=b.1": true, "session=42; variant=b.1": true, "variant=b.1; session=42": true,
		"variant=bx1": false, "myvariant=b.1": false, "variant=b.10": false,
	} {
		g.Expect(cookie.MatchString(header)).To(Equal(match), header)
	}
	g.Expect(route.Spec.Rules[1].BackendRefs).To(HaveLen(2), "the user's rule keeps the rest of the traffic")
	g.Expect(route.Spec.Rules[1].Matches[0].Headers).To(Equal(predict.Matches[0].Headers), "the user's rule itself is not changed")

	again := route.DeepCopy()
	MutateHTTPRoute(again, md, RoutePlan{Cohort: cohort})
	g.Expect(again).To(Equal(route), "applying the same plan twice changes nothing")

	MutateHTTPRoute(route, md, RoutePlan{})
	g.Expect(route.Spec.Rules).To(HaveLen(2), "the cohort rule is removed once the test is over")
	g.Expect(route.Spec.Rules[0].Name).To(BeNil())
}

func TestRouteRules(t *testing.T) {
	g := NewWithT(t)
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer", Namespace: "risk"}}
	g.Expect(RouteRules(md, userRoute(pathRule("/", backend("docs", 80, 1))))).To(BeZero())
	g.Expect(RouteRules(md, userRoute(pathRule("/", backend("fraud-scorer-stable", 80, 1)), pathRule("/v2", backend("fraud-scorer-candidate", 80, 1))))).To(Equal(2))
	notAService := pathRule("/", backend("fraud-scorer", 80, 1))
	notAService.BackendRefs[0].Kind = ptr.To(gatewayv1.Kind("InferencePool"))
	notAService.BackendRefs[0].Group = ptr.To(gatewayv1.Group("inference.networking.k8s.io"))
	g.Expect(RouteRules(md, userRoute(notAService))).To(BeZero())
}
