package checklist

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// clusterRunners judge the objects around the pods: HPA, PDB, NetworkPolicy,
// TLS on what exposes the model, and capacity.
var clusterRunners = map[string]func(*Inputs) Finding{
	"hpa":            checkHPA,
	"pdb":            checkPDB,
	"network-policy": checkNetworkPolicy,
	"tls":            checkTLS,
	"capacity":       checkCapacity,
}

// MinReplicas is the least number of replicas a profile asks an HPA to keep:
// 2 in production and staging, so one pod can go while the other serves, and
// 1 in development. An empty or unknown profile counts as production.
func MinReplicas(profile servingv1alpha1.ChecklistProfile) int32 {
	if profile == servingv1alpha1.ProfileDevelopment {
		return 1
	}
	return 2
}

// checkHPA passes when exactly one HorizontalPodAutoscaler scales the
// ModelDeployment (or one of its Deployments) and keeps at least the
// profile's minimum of replicas.
func checkHPA(in *Inputs) Finding {
	md := in.MD
	if why, ok := in.Unavailable[KindHPA]; ok {
		return Unknown(rbacRemediation("horizontalpodautoscalers.autoscaling", md.Namespace),
			"Could not read HorizontalPodAutoscalers in namespace %s: %s", md.Namespace, why)
	}
	profile := md.Spec.Checklist.Profile
	if profile == "" {
		profile = servingv1alpha1.ProfileProduction
	}
	least := MinReplicas(profile)
	hpas := hpasScaling(in)
	switch len(hpas) {
	case 0:
		return Fail(fmt.Sprintf("Create an autoscaling/v2 HorizontalPodAutoscaler in namespace %s with spec.scaleTargetRef {apiVersion: %s, kind: ModelDeployment, name: %s}, spec.minReplicas: %d, spec.maxReplicas above it and a target metric.",
			md.Namespace, servingv1alpha1.GroupVersion, md.Name, least),
			"No HorizontalPodAutoscaler in namespace %s targets ModelDeployment %s or its Deployment %s",
			md.Namespace, md.Name, ownDeployment(in))
	case 1:
	default:
		names := make([]string, len(hpas))
		for i, h := range hpas {
			names[i] = h.hpa.Name
		}
		return Fail(fmt.Sprintf("Keep one HorizontalPodAutoscaler for %s, preferably the one targeting the ModelDeployment, and delete the others.", md.Name),
			"HorizontalPodAutoscalers %s all scale %s; each would override the others' replica count",
			listNames(names), md.Name)
	}
	h := hpas[0]
	if h.kind == "Deployment" {
		// modelgate sizes its Deployments from the ModelDeployment: an HPA on a
		// Deployment would be overwritten at every reconcile, and lost with the
		// next version's new Deployment.
		return Fail(fmt.Sprintf("Set spec.scaleTargetRef of HorizontalPodAutoscaler %s to apiVersion %s, kind ModelDeployment, name %s; the ModelDeployment's scale subresource splits the replicas between versions.",
			h.hpa.Name, servingv1alpha1.GroupVersion.String(), in.MD.Name),
			"HorizontalPodAutoscaler %s targets Deployment %s, whose size modelgate sets from the ModelDeployment, so the two would fight",
			h.hpa.Name, h.hpa.Spec.ScaleTargetRef.Name)
	}
	minReplicas := ptr.Deref(h.hpa.Spec.MinReplicas, 1)
	if minReplicas < least {
		field := fmt.Sprintf("spec.minReplicas %d", minReplicas)
		if h.hpa.Spec.MinReplicas == nil {
			field = "no spec.minReplicas (defaults to 1)"
		}
		return Fail(fmt.Sprintf("Set spec.minReplicas of HorizontalPodAutoscaler %s to at least %d.", h.hpa.Name, least),
			"HorizontalPodAutoscaler %s (targeting %s %s) has %s, below the %d replicas the %s profile asks for",
			h.hpa.Name, h.kind, h.hpa.Spec.ScaleTargetRef.Name, field, least, profile)
	}
	msg := fmt.Sprintf("HorizontalPodAutoscaler %s targets %s %s with minReplicas %d and maxReplicas %d",
		h.hpa.Name, h.kind, h.hpa.Spec.ScaleTargetRef.Name, minReplicas, h.hpa.Spec.MaxReplicas)
	return Pass("%s", msg)
}

// scalingHPA is an HPA that scales the ModelDeployment, and the kind of its target.
type scalingHPA struct {
	hpa  *autoscalingv2.HorizontalPodAutoscaler
	kind string // ModelDeployment or Deployment
}

// hpasScaling returns the HPAs whose scaleTargetRef is the ModelDeployment
// (any version of its API group) or one of its Deployments: those in
// in.Deployments and the one the version under check runs in.
func hpasScaling(in *Inputs) []scalingHPA {
	md := in.MD
	own := ownDeployment(in)
	var out []scalingHPA
	for i := range in.HPAs {
		h := &in.HPAs[i]
		if !localTo(in, h.Namespace) {
			continue
		}
		ref := h.Spec.ScaleTargetRef
		group := apiGroupOf(ref.APIVersion)
		switch {
		case ref.Kind == "ModelDeployment" && group == servingv1alpha1.GroupVersion.Group && ref.Name == md.Name:
			out = append(out, scalingHPA{h, ref.Kind})
		case ref.Kind == "Deployment" && group == "apps" && (ref.Name == own || runsDeployment(in, ref.Name)):
			out = append(out, scalingHPA{h, ref.Kind})
		}
	}
	return out
}

// runsDeployment reports whether name is one of in.Deployments.
func runsDeployment(in *Inputs, name string) bool {
	for i := range in.Deployments {
		if in.Deployments[i].Name == name {
			return true
		}
	}
	return false
}

// apiGroupOf is the group of an apiVersion such as apps/v1; a bare name
// without a slash is taken as the group itself.
func apiGroupOf(apiVersion string) string {
	if group, _, ok := strings.Cut(apiVersion, "/"); ok {
		return group
	}
	return apiVersion
}

// checkPDB passes when exactly one PodDisruptionBudget selects the pods and,
// at the size the pods are expected to run at, still lets one be evicted.
func checkPDB(in *Inputs) Finding {
	md := in.MD
	if why, ok := in.Unavailable[KindPDB]; ok {
		return Unknown(rbacRemediation("poddisruptionbudgets.policy", md.Namespace),
			"Could not read PodDisruptionBudgets in namespace %s: %s", md.Namespace, why)
	}
	expected, from := pdbExpectedPods(in)
	if expected <= 0 {
		return Skip("%s is 0: no pods run, so there is nothing for a disruption budget to protect", from)
	}
	podLabels := labels.Set(in.Template.Labels)
	var selecting []*policyv1.PodDisruptionBudget
	for i := range in.PDBs {
		p := &in.PDBs[i]
		if localTo(in, p.Namespace) && selectorSelects(p.Spec.Selector, podLabels) {
			selecting = append(selecting, p)
		}
	}
	switch len(selecting) {
	case 0:
		return Fail(fmt.Sprintf("Create a policy/v1 PodDisruptionBudget in namespace %s with spec.selector.matchLabels {%s: %s, %s: %s} and spec.maxUnavailable: 1.",
			md.Namespace, desiredstate.LabelName, md.Name, desiredstate.LabelManagedBy, desiredstate.ManagedByValue),
			"No PodDisruptionBudget in namespace %s selects the pods of %s (labels %s)", md.Namespace, md.Name, podLabels)
	case 1:
	default:
		names := make([]string, len(selecting))
		for i, p := range selecting {
			names[i] = p.Name
		}
		return Fail("Keep one PodDisruptionBudget selecting these pods: delete the others or narrow their spec.selector.",
			"PodDisruptionBudgets %s all select the pods of %s; the eviction API refuses to evict a pod covered by more than one budget, so node drains stall",
			listNames(names), md.Name)
	}
	p := selecting[0]
	allowed, field, err := pdbAllowedEvictions(p, expected)
	switch {
	case err != nil:
		return Fail(fmt.Sprintf("Fix %s of PodDisruptionBudget %s: an integer or a percentage such as 25%%.", field, p.Name),
			"PodDisruptionBudget %s has %s, which cannot be read: %v", p.Name, field, err)
	case field == "":
		return Fail(fmt.Sprintf("Set spec.maxUnavailable: 1 on PodDisruptionBudget %s.", p.Name),
			"PodDisruptionBudget %s selects the pods but sets neither spec.minAvailable nor spec.maxUnavailable, so it protects none of them", p.Name)
	case allowed < 1:
		fix := fmt.Sprintf("Set spec.maxUnavailable: 1 on PodDisruptionBudget %s", p.Name)
		if p.Spec.MaxUnavailable == nil {
			fix += fmt.Sprintf(" instead of spec.minAvailable, or lower spec.minAvailable below %d", expected)
		}
		return Fail(fix+".",
			"PodDisruptionBudget %s allows no eviction of the %d pods expected (%s): %s, so node drains and upgrades block",
			p.Name, expected, from, field)
	}
	return Pass("PodDisruptionBudget %s selects the pods and allows %d of the %d expected (%s) to be evicted at a time: %s",
		p.Name, allowed, expected, from, field)
}

// pdbExpectedPods is the number of pods a budget is judged at, and where the
// number comes from: the lowest minReplicas of the HPAs that scale the
// ModelDeployment, or else the replicas the spec asks for.
func pdbExpectedPods(in *Inputs) (int32, string) {
	n, from := in.Replicas, fmt.Sprintf("the replicas of ModelDeployment %s", in.MD.Name)
	if _, ok := in.Unavailable[KindHPA]; ok {
		return n, from
	}
	for i, h := range hpasScaling(in) {
		m := ptr.Deref(h.hpa.Spec.MinReplicas, 1)
		if i == 0 || m < n {
			n, from = m, fmt.Sprintf("spec.minReplicas of HorizontalPodAutoscaler %s", h.hpa.Name)
		}
	}
	return n, from
}

// pdbAllowedEvictions is how many of expected pods the budget lets go at
// once, as the disruption controller computes it (maxUnavailable first,
// percentages rounded up), and the deciding field in words. The field is
// empty when the budget sets neither.
func pdbAllowedEvictions(p *policyv1.PodDisruptionBudget, expected int32) (int32, string, error) {
	describe := func(name string, v *intstr.IntOrString, scaled int) string {
		if v.Type == intstr.String {
			return fmt.Sprintf("%s %s (%d of %d pods)", name, v.StrVal, scaled, expected)
		}
		return fmt.Sprintf("%s %d", name, v.IntVal)
	}
	switch {
	case p.Spec.MaxUnavailable != nil:
		n, err := intstr.GetScaledValueFromIntOrPercent(p.Spec.MaxUnavailable, int(expected), true)
		if err != nil {
			return 0, "spec.maxUnavailable " + p.Spec.MaxUnavailable.String(), err
		}
		return clampInt32(min(n, int(expected))), describe("spec.maxUnavailable", p.Spec.MaxUnavailable, n), nil
	case p.Spec.MinAvailable != nil:
		n, err := intstr.GetScaledValueFromIntOrPercent(p.Spec.MinAvailable, int(expected), true)
		if err != nil {
			return 0, "spec.minAvailable " + p.Spec.MinAvailable.String(), err
		}
		return clampInt32(max(int(expected)-n, 0)), describe("spec.minAvailable", p.Spec.MinAvailable, n), nil
	}
	return 0, "", nil
}

// clampInt32 is n limited to the range of int32.
func clampInt32(n int) int32 {
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	if n < math.MinInt32 {
		return math.MinInt32
	}
	return int32(n)
}

// checkNetworkPolicy passes when a NetworkPolicy that governs ingress selects
// the pods and none of those opens ingress to everyone.
func checkNetworkPolicy(in *Inputs) Finding {
	md := in.MD
	if why, ok := in.Unavailable[KindNetworkPolicy]; ok {
		return Unknown(rbacRemediation("networkpolicies.networking.k8s.io", md.Namespace),
			"Could not read NetworkPolicies in namespace %s: %s", md.Namespace, why)
	}
	podLabels := labels.Set(in.Template.Labels)
	var ingress, egressOnly, open []string
	rules := 0
	for i := range in.NetworkPolicies {
		np := &in.NetworkPolicies[i]
		if !localTo(in, np.Namespace) || !selectorSelects(&np.Spec.PodSelector, podLabels) {
			continue
		}
		if !governsIngress(np) {
			egressOnly = append(egressOnly, np.Name)
			continue
		}
		ingress = append(ingress, np.Name)
		rules += len(np.Spec.Ingress)
		for j, r := range np.Spec.Ingress {
			if len(r.From) == 0 && len(r.Ports) == 0 {
				open = append(open, fmt.Sprintf("NetworkPolicy %s (spec.ingress[%d])", np.Name, j))
			}
		}
	}
	if len(open) > 0 {
		return Fail(fmt.Sprintf("Give the ingress rule of %s a from list (the podSelector or namespaceSelector of the clients, and the metrics scraper) and ports; NetworkPolicies allow the union of their rules, so one open rule opens the pods.", open[0]),
			"%s selects the pods of %s with an ingress rule that has neither from nor ports, which admits all traffic",
			strings.Join(open, ", "), md.Name)
	}
	if len(ingress) == 0 {
		msg := fmt.Sprintf("No NetworkPolicy in namespace %s restricts ingress to the pods of %s (labels %s)", md.Namespace, md.Name, podLabels)
		if len(egressOnly) > 0 {
			subject, s := networkPolicies(egressOnly)
			msg += fmt.Sprintf("; %s select%s them for egress only", subject, s)
		}
		return Fail(fmt.Sprintf("Create a networking.k8s.io/v1 NetworkPolicy in namespace %s with spec.podSelector.matchLabels {%s: %s}, spec.policyTypes [Ingress] and ingress rules that admit only the clients and the metrics scraper.",
			md.Namespace, desiredstate.LabelName, md.Name), "%s", msg)
	}
	subject, s := networkPolicies(ingress)
	if rules == 0 {
		return Pass("%s select%s the pods of %s with no ingress rules, so all ingress to them is denied", subject, s, md.Name)
	}
	return Pass("%s restrict%s ingress to the pods of %s (ingress rules: %d)", subject, s, md.Name, rules)
}

// networkPolicies names policies as the subject of a message, with the "s"
// its verb takes: "NetworkPolicy a", "s" or "NetworkPolicies a, b", "".
func networkPolicies(names []string) (subject, s string) {
	if len(names) == 1 {
		return "NetworkPolicy " + names[0], "s"
	}
	return "NetworkPolicies " + listNames(names), ""
}

// governsIngress reports whether a policy restricts ingress: policyTypes
// lists Ingress, or is empty, in which case Kubernetes implies Ingress
// whether or not ingress rules are present.
func governsIngress(np *networkingv1.NetworkPolicy) bool {
	return len(np.Spec.PolicyTypes) == 0 || slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
}

// selectorSelects reports whether a label selector selects pods with the
// given labels, with Kubernetes' meaning: a nil selector selects nothing, an
// empty one everything. The matchLabels, and the In and Exists expressions,
// are compared first, so most selectors of other workloads are ruled out
// without being converted; metav1.LabelSelectorAsSelector decides the rest.
// Selects reports whether a PodDisruptionBudget's or NetworkPolicy's
// selector selects pods with podLabels, as the checks judge it: a nil
// selector selects nothing, an empty one everything.
func Selects(sel *metav1.LabelSelector, podLabels map[string]string) bool {
	return selectorSelects(sel, podLabels)
}

func selectorSelects(sel *metav1.LabelSelector, podLabels labels.Set) bool {
	if sel == nil {
		return false
	}
	for k, v := range sel.MatchLabels {
		if got, ok := podLabels[k]; !ok || got != v {
			return false
		}
	}
	if len(sel.MatchExpressions) == 0 {
		return true
	}
	for _, e := range sel.MatchExpressions {
		v, ok := podLabels[e.Key]
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			if !ok || !slices.Contains(e.Values, v) {
				return false
			}
		case metav1.LabelSelectorOpExists:
			if !ok {
				return false
			}
		}
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil { // the API server rejects such selectors; one that got through selects nothing
		return false
	}
	return s.Matches(podLabels)
}

// checkTLS finds the Ingresses and HTTPRoutes that send traffic to the
// ModelDeployment's Services and passes when each terminates TLS with a
// certificate Secret that exists and holds tls.crt and tls.key.
func checkTLS(in *Inputs) Finding {
	md := in.MD
	var r tlsReport
	if why, ok := in.Unavailable[KindIngress]; ok {
		r.unknown(fmt.Sprintf("Ingresses in namespace %s could not be read: %s", md.Namespace, why),
			rbacRemediation("ingresses.networking.k8s.io", md.Namespace))
	} else {
		for i := range in.Ingresses {
			judgeIngressTLS(in, &in.Ingresses[i], &r)
		}
	}
	if why, ok := in.Unavailable[KindHTTPRoute]; ok {
		r.unknown(fmt.Sprintf("HTTPRoutes in namespace %s could not be read: %s", md.Namespace, why),
			rbacRemediation("httproutes.gateway.networking.k8s.io", md.Namespace))
	} else {
		for i := range in.HTTPRoutes {
			judgeRouteTLS(in, &in.HTTPRoutes[i], &r)
		}
	}
	return r.finding(in)
}

// tlsReport gathers what checkTLS found across Ingresses and HTTPRoutes.
type tlsReport struct {
	exposed  int      // Ingresses and HTTPRoutes that expose the model
	ok       []string // what terminates TLS, with its Secret
	problems []string
	unknowns []string
	warnings []string
	fixes    []string // remediations, one per problem, unknown or warning, in order
}

func (r *tlsReport) problem(msg, fix string) { r.problems = append(r.problems, msg); r.fix(fix) }
func (r *tlsReport) unknown(msg, fix string) { r.unknowns = append(r.unknowns, msg); r.fix(fix) }
func (r *tlsReport) warning(msg, fix string) { r.warnings = append(r.warnings, msg); r.fix(fix) }

func (r *tlsReport) fix(fix string) {
	if fix != "" && !slices.Contains(r.fixes, fix) {
		r.fixes = append(r.fixes, fix)
	}
}

// finding says the worst of what was found: a problem fails, an input that
// could not be read leaves it unknown, nothing exposing the model skips it.
func (r *tlsReport) finding(in *Inputs) Finding {
	fixes := strings.Join(r.fixes, " ")
	switch {
	case len(r.problems) > 0:
		msg := strings.Join(r.problems, "; ")
		if len(r.unknowns) > 0 {
			msg += "; also could not check: " + strings.Join(r.unknowns, "; ")
		}
		return Fail(fixes, "%s", msg)
	case len(r.unknowns) > 0:
		msg := strings.Join(r.unknowns, "; ")
		if len(r.ok) > 0 {
			msg += "; TLS is terminated by " + strings.Join(r.ok, ", ")
		}
		return Unknown(fixes, "%s", msg)
	case r.exposed == 0:
		md := in.MD
		return Skip("Not exposed outside the cluster: no Ingress or HTTPRoute in namespace %s sends traffic to Service %s, %s or %s",
			md.Namespace, desiredstate.ServiceName(md), desiredstate.StableServiceName(md), desiredstate.CandidateServiceName(md))
	case len(r.warnings) > 0:
		return Warn(fixes, "TLS is terminated by %s, but %s", strings.Join(r.ok, ", "), strings.Join(r.warnings, "; "))
	}
	return Pass("TLS is terminated by %s", strings.Join(r.ok, ", "))
}

// isModelService reports whether a Service name is one of the ModelDeployment's.
func isModelService(md *servingv1alpha1.ModelDeployment, name string) bool {
	return desiredstate.IsModelService(md, name)
}

// judgeIngressTLS judges one Ingress: every host whose paths reach one of the
// model's Services needs a spec.tls entry covering it (one without hosts
// covers all) whose Secret holds a certificate. A rule without a host, and
// spec.defaultBackend, serve any host and need an entry without hosts.
func judgeIngressTLS(in *Inputs, ing *networkingv1.Ingress, r *tlsReport) {
	md := in.MD
	if !localTo(in, ing.Namespace) {
		return
	}
	type exposure struct{ host, service string }
	var hosts []exposure
	if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil && isModelService(md, b.Service.Name) {
		hosts = append(hosts, exposure{"", b.Service.Name})
	}
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			if p.Backend.Service != nil && isModelService(md, p.Backend.Service.Name) {
				if !slices.ContainsFunc(hosts, func(e exposure) bool { return e.host == rule.Host }) {
					hosts = append(hosts, exposure{rule.Host, p.Backend.Service.Name})
				}
				break
			}
		}
	}
	if len(hosts) == 0 {
		return
	}
	r.exposed++
	bad := len(r.problems) + len(r.unknowns)
	var secrets []string
	for _, e := range hosts {
		i := ingressTLSEntry(ing, e.host)
		if i < 0 {
			if e.host == "" {
				r.problem(fmt.Sprintf("Ingress %s sends any host to Service %s without TLS: no spec.tls entry without hosts", ing.Name, e.service),
					fmt.Sprintf("Add to Ingress %s a spec.tls entry with the secretName of a kubernetes.io/tls Secret, or give its rules hosts covered by spec.tls.", ing.Name))
			} else {
				r.problem(fmt.Sprintf("Ingress %s sends host %s to Service %s without TLS: no spec.tls entry lists the host", ing.Name, e.host, e.service),
					fmt.Sprintf("Add to Ingress %s a spec.tls entry {hosts: [%s], secretName: <a kubernetes.io/tls Secret>}.", ing.Name, e.host))
			}
			continue
		}
		name := ing.Spec.TLS[i].SecretName
		if slices.Contains(secrets, name) {
			continue
		}
		secrets = append(secrets, name)
		where := fmt.Sprintf("Ingress %s spec.tls[%d]", ing.Name, i)
		if name == "" {
			r.problem(where+" has no secretName", fmt.Sprintf("Set secretName in spec.tls[%d] of Ingress %s to a kubernetes.io/tls Secret in namespace %s.", i, ing.Name, md.Namespace))
			continue
		}
		judgeTLSSecret(in, where, name, r)
	}
	if len(r.problems)+len(r.unknowns) == bad {
		r.ok = append(r.ok, fmt.Sprintf("Ingress %s (Secret %s)", ing.Name, strings.Join(secrets, ", ")))
	}
}

// ingressTLSEntry is the index of the spec.tls entry serving host: the first
// that lists it (exactly or by a *. wildcard), else the first without hosts;
// -1 when none does.
func ingressTLSEntry(ing *networkingv1.Ingress, host string) int {
	catchAll := -1
	for i, t := range ing.Spec.TLS {
		if len(t.Hosts) == 0 {
			if catchAll < 0 {
				catchAll = i
			}
			continue
		}
		if host == "" {
			continue
		}
		for _, h := range t.Hosts {
			if hostCovers(h, host) {
				return i
			}
		}
	}
	return catchAll
}

// hostCovers reports whether a certificate host pattern covers a host: the
// same name, or a *.example.com wildcard covering one label of it.
func hostCovers(pattern, host string) bool {
	if strings.EqualFold(pattern, host) {
		return true
	}
	suffix, ok := strings.CutPrefix(pattern, "*")
	if !ok || !strings.HasPrefix(suffix, ".") {
		return false
	}
	label, rest, ok := strings.Cut(host, ".")
	return ok && label != "" && label != "*" && strings.EqualFold("."+rest, suffix)
}

// judgeTLSSecret records a problem when the named Secret of the
// ModelDeployment's namespace is missing or lacks tls.crt or tls.key, and an
// unknown when Secrets could not be read. where names what refers to it.
func judgeTLSSecret(in *Inputs, where, name string, r *tlsReport) {
	md := in.MD
	if why, ok := in.Unavailable[KindSecret]; ok {
		r.unknown(fmt.Sprintf("%s names Secret %s, but Secrets in namespace %s could not be read: %s", where, name, md.Namespace, why),
			rbacRemediation("secrets", md.Namespace))
		return
	}
	keys, ok := in.Secrets[name]
	if !ok {
		r.problem(fmt.Sprintf("%s names Secret %s, which does not exist in namespace %s", where, name, md.Namespace),
			fmt.Sprintf("Create the kubernetes.io/tls Secret %s in namespace %s (kubectl create secret tls %s --cert=... --key=...), or let cert-manager issue it.", name, md.Namespace, name))
		return
	}
	var missing []string
	for _, k := range []string{corev1.TLSCertKey, corev1.TLSPrivateKeyKey} {
		if _, ok := keys[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		r.problem(fmt.Sprintf("%s names Secret %s, which lacks %s", where, name, strings.Join(missing, " and ")),
			fmt.Sprintf("Put the certificate in key tls.crt and its private key in key tls.key of Secret %s.", name))
	}
}

// judgeRouteTLS judges one HTTPRoute whose rules send traffic to one of the
// model's Services through a Gateway: each such Gateway must have a listener
// the route attaches to that terminates HTTPS or TLS with certificates in
// existing Secrets. A route attached only to Services (a mesh) does not
// expose the model and is left out.
func judgeRouteTLS(in *Inputs, route *gatewayv1.HTTPRoute, r *tlsReport) {
	if !localTo(in, route.Namespace) {
		return
	}
	service := routeModelService(in, route)
	if service == "" {
		return
	}
	exposed := false
	for i, p := range route.Spec.ParentRefs {
		if ptr.Deref(p.Group, gatewayv1.GroupName) != gatewayv1.GroupName || ptr.Deref(p.Kind, "Gateway") != "Gateway" {
			continue
		}
		if !exposed {
			exposed = true
			r.exposed++
		}
		judgeGatewayTLS(in, route, i, service, r)
	}
}

// routeModelService is the first of the model's Services a route's rules send
// traffic to, or "" when none does.
func routeModelService(in *Inputs, route *gatewayv1.HTTPRoute) string {
	for _, rule := range route.Spec.Rules {
		for _, b := range rule.BackendRefs {
			if desiredstate.ServesModel(in.MD, route.Namespace, b.BackendObjectReference) {
				return string(b.Name)
			}
		}
	}
	return ""
}

// judgeGatewayTLS judges the Gateway of route.spec.parentRefs[i].
func judgeGatewayTLS(in *Inputs, route *gatewayv1.HTTPRoute, i int, service string, r *tlsReport) {
	gw, attached, via := gatewayListeners(in, route, i, service, r)
	if gw == nil {
		return
	}
	var g gatewayJudgement
	for _, l := range attached {
		g.add(judgeListenerTLS(in, gw, l))
	}
	g.report(in, route, i, gw, via, r)
}

// gatewayListeners finds the Gateway of route.spec.parentRefs[i] and the
// listeners of it the route attaches to, and says how the route reaches it.
// It reports to r and returns a nil Gateway when there is nothing to judge:
// the Gateway is in another namespace, cannot be read, does not exist, or
// has no listener the parentRef matches.
func gatewayListeners(in *Inputs, route *gatewayv1.HTTPRoute, i int, service string, r *tlsReport) (*gatewayv1.Gateway, []*gatewayv1.Listener, string) {
	md := in.MD
	p := route.Spec.ParentRefs[i]
	ns := md.Namespace
	if p.Namespace != nil {
		ns = string(*p.Namespace)
	}
	shared := ns != md.Namespace
	gwName := string(p.Name)
	if shared {
		gwName = ns + "/" + gwName
	}
	via := fmt.Sprintf("HTTPRoute %s sends traffic to Service %s through Gateway %s", route.Name, service, gwName)
	if why, ok := in.Unavailable[KindGateway]; ok {
		r.unknown(fmt.Sprintf("%s, but Gateways in namespace %s could not be read: %s", via, ns, why),
			rbacRemediation("gateways.gateway.networking.k8s.io", ns))
		return nil, nil, via
	}
	var gw *gatewayv1.Gateway
	if shared {
		found, looked := in.SharedGateways[gwName]
		if !looked {
			r.unknown(fmt.Sprintf("%s in another namespace, which was not read", via),
				fmt.Sprintf("Check Gateway %s against a cluster, where modelgate reads it, or ask its owner to confirm an HTTPS listener with a valid certificate.", gwName))
			return nil, nil, via
		}
		gw = found
	} else {
		for j := range in.Gateways {
			if in.Gateways[j].Name == string(p.Name) && localTo(in, in.Gateways[j].Namespace) {
				gw = &in.Gateways[j]
				break
			}
		}
	}
	if gw == nil {
		r.problem(fmt.Sprintf("HTTPRoute %s names Gateway %s in spec.parentRefs[%d], which does not exist in namespace %s", route.Name, p.Name, i, ns),
			fmt.Sprintf("Fix spec.parentRefs[%d] of HTTPRoute %s to name an existing Gateway with an HTTPS listener.", i, route.Name))
		return nil, nil, via
	}
	if refused := routeRefusedBy(route, i, ns); refused != "" {
		r.problem(fmt.Sprintf("%s, which has not accepted the route: %s", via, refused),
			fmt.Sprintf("Make Gateway %s accept HTTPRoute %s (its listeners' allowedRoutes must admit namespace %s), or attach the route to a Gateway that does.", gwName, route.Name, route.Namespace))
		return nil, nil, via
	}
	var attached []*gatewayv1.Listener
	for j := range gw.Spec.Listeners {
		l := &gw.Spec.Listeners[j]
		if (p.SectionName == nil || *p.SectionName == l.Name) && (p.Port == nil || *p.Port == l.Port) {
			attached = append(attached, l)
		}
	}
	if len(attached) == 0 {
		r.problem(fmt.Sprintf("HTTPRoute %s spec.parentRefs[%d] matches no listener of Gateway %s (sectionName %s, port %s)",
			route.Name, i, gw.Name, ptr.Deref(p.SectionName, "any"), portText(p.Port)),
			fmt.Sprintf("Point spec.parentRefs[%d] of HTTPRoute %s at the HTTPS listener of Gateway %s by its name.", i, route.Name, gw.Name))
		return nil, nil, via
	}
	return gw, attached, via
}

// listenerJudgement is what judgeListenerTLS found on one listener. At most
// one of good and plain is set; faults and certFixes may accompany neither.
type listenerJudgement struct {
	good      string   // the listener terminates TLS with valid certificates
	plain     string   // the listener is plain text
	faults    []string // why the listener does not terminate TLS properly
	certFixes []string // remediations for certificate Secrets
	mayBeGood bool     // a TLS listener whose certificate modelgate cannot read
}

// judgeListenerTLS judges one listener of Gateway gw that a route attaches to.
func judgeListenerTLS(in *Inputs, gw *gatewayv1.Gateway, l *gatewayv1.Listener) listenerJudgement {
	switch {
	case l.Protocol != gatewayv1.HTTPSProtocolType && l.Protocol != gatewayv1.TLSProtocolType:
		return listenerJudgement{plain: fmt.Sprintf("%s (%s, port %d)", l.Name, l.Protocol, l.Port)}
	case l.TLS == nil:
		return listenerJudgement{faults: []string{fmt.Sprintf("listener %s has no tls", l.Name)}}
	case ptr.Deref(l.TLS.Mode, gatewayv1.TLSModeTerminate) != gatewayv1.TLSModeTerminate:
		return listenerJudgement{faults: []string{fmt.Sprintf("listener %s passes TLS through to the pods (tls.mode %s)", l.Name, *l.TLS.Mode)}}
	case len(l.TLS.CertificateRefs) == 0:
		return listenerJudgement{faults: []string{fmt.Sprintf("listener %s has no tls.certificateRefs", l.Name)}}
	}
	var lr tlsReport
	if status := listenerStatusFault(gw, l); status != "" {
		return listenerJudgement{faults: []string{status}}
	}
	evidence := judgeListenerCertificates(in, gw, l, &lr)
	switch {
	case len(lr.problems) > 0:
		return listenerJudgement{faults: lr.problems, certFixes: lr.fixes}
	case len(lr.unknowns) > 0:
		return listenerJudgement{faults: lr.unknowns, mayBeGood: true}
	}
	if resolved := listenerCondition(gw, l, string(gatewayv1.ListenerConditionResolvedRefs)); resolved != nil && resolved.Status == metav1.ConditionTrue {
		evidence = append(evidence, "ResolvedRefs=True")
	}
	return listenerJudgement{good: fmt.Sprintf("Gateway %s listener %s (%s)", gatewayName(in, gw), l.Name, strings.Join(evidence, ", "))}
}

// gatewayName is a Gateway's name, with its namespace when it is not the model's.
func gatewayName(in *Inputs, gw *gatewayv1.Gateway) string {
	if localTo(in, gw.Namespace) {
		return gw.Name
	}
	return gw.Namespace + "/" + gw.Name
}

// judgeListenerCertificates judges the tls.certificateRefs of a listener that
// terminates TLS into lr, and returns the evidence for them: the Secrets it
// checked and the ReferenceGrants that let the Gateway use them.
//
// A Secret in the model's namespace is read (key names only). One in another
// namespace (a shared Gateway's) is never read: that namespace is not the
// team's. Its evidence is what the Gateway API offers instead: a certificate
// outside the Gateway's namespace needs a ReferenceGrant there, and the
// Gateway's implementation reports unresolved certificates in the listener's
// ResolvedRefs condition (see listenerStatusFault).
func judgeListenerCertificates(in *Inputs, gw *gatewayv1.Gateway, l *gatewayv1.Listener, lr *tlsReport) []string {
	md := in.MD
	gwNS := gw.Namespace
	if gwNS == "" {
		gwNS = md.Namespace
	}
	var evidence []string
	for k, c := range l.TLS.CertificateRefs {
		where := fmt.Sprintf("listener %s tls.certificateRefs[%d]", l.Name, k)
		cns := gwNS
		if c.Namespace != nil {
			cns = string(*c.Namespace)
		}
		switch {
		case ptr.Deref(c.Group, "") != "" || ptr.Deref(c.Kind, "Secret") != "Secret":
			lr.unknown(fmt.Sprintf("%s is a %s %s, which modelgate cannot check", where, ptr.Deref(c.Kind, "Secret"), c.Name), "")
			continue
		case cns == md.Namespace:
			evidence = append(evidence, "Secret "+string(c.Name))
			judgeTLSSecret(in, where, string(c.Name), lr)
		default:
			evidence = append(evidence, fmt.Sprintf("Secret %s/%s, not read", cns, c.Name))
		}
		if cns == gwNS {
			continue
		}
		if why, ok := in.Unavailable[KindReferenceGrant]; ok {
			lr.unknown(fmt.Sprintf("%s names Secret %s/%s, but ReferenceGrants in namespace %s could not be read: %s", where, cns, c.Name, cns, why),
				rbacRemediation("referencegrants.gateway.networking.k8s.io", cns))
			continue
		}
		grant := grantFor(in.ReferenceGrants, gwNS, cns, string(c.Name))
		if grant == "" {
			lr.problem(fmt.Sprintf("%s names Secret %s/%s, and no ReferenceGrant in namespace %s lets Gateways of namespace %s use it", where, cns, c.Name, cns, gwNS),
				fmt.Sprintf("Create in namespace %s a ReferenceGrant with spec.from [{group: gateway.networking.k8s.io, kind: Gateway, namespace: %s}] and spec.to [{group: \"\", kind: Secret, name: %s}].", cns, gwNS, c.Name))
			continue
		}
		evidence = append(evidence, "ReferenceGrant "+cns+"/"+grant)
	}
	return evidence
}

// grantFor names the first ReferenceGrant (by name) in namespace ns that lets
// Gateways of namespace from use Secret secret, or "".
func grantFor(grants []gatewayv1.ReferenceGrant, from, ns, secret string) string {
	var names []string
	for i := range grants {
		g := &grants[i]
		if g.Namespace != ns {
			continue
		}
		fromOK := slices.ContainsFunc(g.Spec.From, func(f gatewayv1.ReferenceGrantFrom) bool {
			return f.Group == gatewayv1.GroupName && f.Kind == "Gateway" && string(f.Namespace) == from
		})
		toOK := slices.ContainsFunc(g.Spec.To, func(t gatewayv1.ReferenceGrantTo) bool {
			return t.Group == "" && t.Kind == "Secret" && (t.Name == nil || string(*t.Name) == secret)
		})
		if fromOK && toOK {
			names = append(names, g.Name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return slices.Min(names)
}

// listenerCondition is a condition the Gateway's implementation reports on a listener, or nil.
func listenerCondition(gw *gatewayv1.Gateway, l *gatewayv1.Listener, typ string) *metav1.Condition {
	for i := range gw.Status.Listeners {
		if gw.Status.Listeners[i].Name == l.Name {
			return meta.FindStatusCondition(gw.Status.Listeners[i].Conditions, typ)
		}
	}
	return nil
}

// listenerStatusFault is what the Gateway's implementation says is wrong with
// a listener (its certificates unresolved, or the listener not programmed),
// or "". A listener without status, as before any implementation saw it, is
// judged from its spec alone.
func listenerStatusFault(gw *gatewayv1.Gateway, l *gatewayv1.Listener) string {
	for _, typ := range []gatewayv1.ListenerConditionType{gatewayv1.ListenerConditionResolvedRefs, gatewayv1.ListenerConditionProgrammed} {
		if c := listenerCondition(gw, l, string(typ)); c != nil && c.Status == metav1.ConditionFalse {
			return fmt.Sprintf("listener %s reports %s=False (reason %s)", l.Name, typ, c.Reason)
		}
	}
	return ""
}

// routeRefusedBy says why the Gateway of route.spec.parentRefs[i] (in
// namespace ns) refused the route, from the route's status.parents, or "".
func routeRefusedBy(route *gatewayv1.HTTPRoute, i int, ns string) string {
	p := route.Spec.ParentRefs[i]
	for _, s := range route.Status.Parents {
		sp := s.ParentRef
		spNS := route.Namespace
		if sp.Namespace != nil {
			spNS = string(*sp.Namespace)
		}
		if sp.Name != p.Name || spNS != ns || ptr.Deref(sp.SectionName, "") != ptr.Deref(p.SectionName, "") {
			continue
		}
		if c := meta.FindStatusCondition(s.Conditions, string(gatewayv1.RouteConditionAccepted)); c != nil && c.Status == metav1.ConditionFalse {
			return fmt.Sprintf("Accepted=False (reason %s)", c.Reason)
		}
	}
	return ""
}

// gatewayJudgement gathers what judgeListenerTLS found on the listeners of
// one Gateway a route attaches to, in listener order.
type gatewayJudgement struct {
	good, plain, faults, certFixes []string
	mayBeGood                      bool // a TLS listener whose certificate modelgate cannot read
}

func (g *gatewayJudgement) add(l listenerJudgement) {
	if l.good != "" {
		g.good = append(g.good, l.good)
	}
	if l.plain != "" {
		g.plain = append(g.plain, l.plain)
	}
	g.faults = append(g.faults, l.faults...)
	g.certFixes = append(g.certFixes, l.certFixes...)
	g.mayBeGood = g.mayBeGood || l.mayBeGood
}

// report reports to r what was found on the listeners of Gateway gw that
// route.spec.parentRefs[i] attaches to; via says how the route reaches it.
func (g *gatewayJudgement) report(in *Inputs, route *gatewayv1.HTTPRoute, i int, gw *gatewayv1.Gateway, via string, r *tlsReport) {
	if len(g.good) > 0 {
		r.ok = append(r.ok, g.good...)
		if len(g.plain) > 0 {
			r.warning(fmt.Sprintf("HTTPRoute %s is also attached to the plain-text listener %s of Gateway %s", route.Name, strings.Join(g.plain, ", "), gw.Name),
				fmt.Sprintf("Set spec.parentRefs[%d].sectionName of HTTPRoute %s to the HTTPS listener, and redirect plain HTTP with a separate HTTPRoute.", i, route.Name))
		}
		return
	}
	faults := g.faults
	for _, l := range g.plain {
		faults = append(faults, "listener "+l+" is plain text")
	}
	msg := fmt.Sprintf("%s, which has no listener terminating TLS with a valid certificate: %s", via, strings.Join(faults, "; "))
	if g.mayBeGood {
		r.unknown(msg, fmt.Sprintf("Let modelgate read the certificate of Gateway %s, or check it yourself and override the tls item with the reason.", gw.Name))
		return
	}
	if len(g.certFixes) > 0 {
		r.problems = append(r.problems, msg)
		for _, f := range g.certFixes {
			r.fix(f)
		}
		return
	}
	if !localTo(in, gw.Namespace) {
		r.problem(msg, fmt.Sprintf("Ask the owner of Gateway %s for an HTTPS listener (tls.mode Terminate) with a valid certificate, and attach HTTPRoute %s to it by spec.parentRefs[%d].sectionName.", gatewayName(in, gw), route.Name, i))
		return
	}
	r.problem(msg, fmt.Sprintf("Give Gateway %s an HTTPS listener (tls.mode Terminate) whose tls.certificateRefs name a kubernetes.io/tls Secret in namespace %s with tls.crt and tls.key, and attach HTTPRoute %s to it.", gw.Name, in.MD.Namespace, route.Name))
}

// portText is a parentRef's port in words.
func portText(p *gatewayv1.PortNumber) string {
	if p == nil {
		return "any"
	}
	return strconv.Itoa(int(*p))
}

// checkCapacity passes when the rollout's peak footprint fits every
// ResourceQuota of the namespace that covers the pods and, when the version
// asks for GPUs, the GPUs the nodes offer. The message always states the
// steady and peak footprints.
//
// A quota's room for the rollout is hard - used + what this ModelDeployment's
// running Deployments already request: used counts them, and the rollout
// replaces them. The peak must fit in that room, for requests.cpu and cpu,
// requests.memory and memory, and requests.<vendor>/gpu. Quotas on limits
// and on pod counts are not judged. GPUs are compared with the sum of the
// nodes' allocatable, an upper bound that ignores what other workloads hold.
func checkCapacity(in *Inputs) Finding {
	md := in.MD
	plan := planCapacity(in)
	figures := plan.describe(in)
	if why, ok := in.Unavailable[KindDeployment]; ok {
		return Unknown(rbacRemediation("deployments.apps", md.Namespace),
			"Could not read the Deployments of %s, so the peak of a rollout is unknown: %s; steady %s", md.Name, why, plan.steady)
	}
	var problems, unknowns, fixes []string
	var fits []string
	if why, ok := in.Unavailable[KindQuota]; ok {
		unknowns = append(unknowns, fmt.Sprintf("ResourceQuotas in namespace %s could not be read: %s", md.Namespace, why))
		fixes = append(fixes, rbacRemediation("resourcequotas", md.Namespace))
	} else {
		for i := range in.ResourceQuotas {
			q := &in.ResourceQuotas[i]
			covers, short, raise := QuotaJudgement(in, q)
			if !covers {
				continue
			}
			if len(short) == 0 {
				fits = append(fits, "ResourceQuota "+q.Name)
				continue
			}
			problems = append(problems, fmt.Sprintf("ResourceQuota %s: %s", q.Name, strings.Join(short, "; ")))
			fix := fmt.Sprintf("Raise spec.hard of ResourceQuota %s (%s), or lower the requests or replicas of %s", q.Name, strings.Join(raise, ", "), md.Name)
			if plan.runsOtherVersions() {
				fix += ", or let the rollout finish and the other version's Deployment scale down first"
			}
			fixes = append(fixes, fix+".")
		}
	}
	if len(plan.perPod.gpus) > 0 {
		if why, ok := in.Unavailable[KindNode]; ok {
			unknowns = append(unknowns, fmt.Sprintf("the nodes' GPUs could not be read: %s", why))
			fixes = append(fixes, "Let modelgate list nodes (RBAC: get, list, watch on nodes, a cluster-scoped permission).")
		} else {
			for _, name := range sortedGPUNames(plan.perPod.gpus) {
				var total int64
				for _, alloc := range in.NodeAllocatable {
					if q, ok := alloc[name]; ok {
						total += q.Value()
					}
				}
				need := plan.peak.gpus[name]
				switch {
				case total == 0:
					problems = append(problems, fmt.Sprintf("no node offers %s, which the pods ask for", name))
					fixes = append(fixes, fmt.Sprintf("Add nodes with %s and its device plugin, or remove the %s limit from the template.", name, name))
				case need > total:
					problems = append(problems, fmt.Sprintf("the peak needs %d %s but the nodes offer %d in all", need, name, total))
					fixes = append(fixes, fmt.Sprintf("Add nodes with %s, lower the replicas, or roll out with fewer pods at once (a smaller canary step or maxSurge).", name))
				default:
					fits = append(fits, fmt.Sprintf("the nodes' %d %s", total, name))
				}
			}
		}
	}
	switch {
	case len(problems) > 0:
		msg := figures + "; " + strings.Join(problems, "; ")
		if len(unknowns) > 0 {
			msg += "; also could not check: " + strings.Join(unknowns, "; ")
		}
		return Fail(strings.Join(fixes, " "), "%s", msg)
	case len(unknowns) > 0:
		return Unknown(strings.Join(fixes, " "), "%s; %s", figures, strings.Join(unknowns, "; "))
	case len(fits) == 0:
		return Pass("%s; no ResourceQuota in namespace %s limits the pods", figures, md.Namespace)
	}
	return Pass("%s; fits %s", figures, strings.Join(fits, " and "))
}

// Footprint is the resource requests of the version at full size (steady) and
// of the rollout's peak, when both versions run at once.
//
// One pod requests what the scheduler reserves for it: the sum of its
// containers (and sidecars), or the largest init container if that is more,
// per resource, plus the pod overhead; a request left out defaults to the
// limit, as the API server does. GPUs (resource names ending in /gpu) come
// from the limits. Steady is one pod times in.Replicas; peak adds every
// other Deployment of in.Deployments at its spec.replicas. Peak is nil when
// the Deployments could not be read. GPU entries are left out when zero.
func Footprint(in *Inputs) (steady, peak corev1.ResourceList) {
	plan := planCapacity(in)
	steady = plan.steady.list()
	if _, ok := in.Unavailable[KindDeployment]; !ok {
		peak = plan.peak.list()
	}
	return steady, peak
}

// capacityPlan is the footprint of the version under check and of the
// ModelDeployment's running Deployments.
type capacityPlan struct {
	perPod, steady, peak resourceAmounts
	// running are in.Deployments, each at its spec.replicas.
	running []runningWorkload
}

// runningWorkload is one running Deployment's footprint.
type runningWorkload struct {
	name     string
	spec     *corev1.PodSpec
	replicas int64
	total    resourceAmounts
	// thisVersion is the Deployment of the version under check, which the
	// steady footprint replaces rather than adds to.
	thisVersion bool
}

// planCapacity works out the footprints from the template, in.Replicas and
// in.Deployments.
func planCapacity(in *Inputs) capacityPlan {
	var p capacityPlan
	p.perPod = capacityPodAmounts(&in.Template.Spec)
	p.steady = p.perPod.times(int64(in.Replicas))
	p.peak = p.steady.times(1)
	own := ownDeployment(in)
	for i := range in.Deployments {
		d := &in.Deployments[i]
		w := runningWorkload{
			name: d.Name, spec: &d.Spec.Template.Spec,
			replicas: int64(ptr.Deref(d.Spec.Replicas, 1)), thisVersion: d.Name == own,
		}
		w.total = capacityPodAmounts(w.spec).times(w.replicas)
		if !w.thisVersion {
			p.peak.add(w.total)
		}
		p.running = append(p.running, w)
	}
	return p
}

// runsOtherVersions reports whether pods of other versions run beside the version's.
func (p *capacityPlan) runsOtherVersions() bool {
	return slices.ContainsFunc(p.running, func(w runningWorkload) bool { return !w.thisVersion && w.replicas > 0 })
}

// describe states the steady and peak footprints, and what makes the peak.
func (p *capacityPlan) describe(in *Inputs) string {
	s := fmt.Sprintf("steady %s (%d pods of %s), peak %s", p.steady, in.Replicas, p.perPod, p.peak)
	var others []string
	for _, w := range p.running {
		if !w.thisVersion && w.replicas > 0 {
			others = append(others, fmt.Sprintf("Deployment %s (%d pods)", w.name, w.replicas))
		}
	}
	if len(others) > 0 {
		s += " with " + strings.Join(others, " and ")
	}
	return s
}

// quotaShortfalls says, per quota key, how far the peak of the pods the quota
// covers exceeds the room left for them, and by how much to raise each key;
// nil when it fits.
func (p *capacityPlan) quotaShortfalls(in *Inputs, q *corev1.ResourceQuota) (short, raise []string) {
	peak := p.steady.times(1) // the caller checked that the quota covers the version's pods
	var own resourceAmounts
	for _, w := range p.running {
		if !quotaCoversPod(q, w.spec) {
			continue
		}
		own.add(w.total)
		if !w.thisVersion {
			peak.add(w.total)
		}
	}
	judge := func(key corev1.ResourceName, res corev1.ResourceName, need, ours int64) {
		hardQ, ok := q.Spec.Hard[key]
		if !ok {
			return
		}
		usedQ := q.Status.Used[key]
		hard, used := amountOf(res, hardQ), amountOf(res, usedQ)
		room := hard - used + ours
		if need <= room {
			return
		}
		usage := fmt.Sprintf("hard %s, used %s", formatAmount(res, hard), formatAmount(res, used))
		if ours > 0 {
			usage += fmt.Sprintf(" of which %s is %s's own", formatAmount(res, ours), in.MD.Name)
		}
		short = append(short, fmt.Sprintf("%s: the peak needs %s but only %s is left for %s (%s)",
			key, formatAmount(res, need), formatAmount(res, max(room, 0)), in.MD.Name, usage))
		raise = append(raise, fmt.Sprintf("%s by %s to %s", key, formatAmount(res, need-room), formatAmount(res, hard+need-room)))
	}
	judge(corev1.ResourceRequestsCPU, corev1.ResourceCPU, peak.cpu, own.cpu)
	judge(corev1.ResourceCPU, corev1.ResourceCPU, peak.cpu, own.cpu)
	judge(corev1.ResourceRequestsMemory, corev1.ResourceMemory, peak.memory, own.memory)
	judge(corev1.ResourceMemory, corev1.ResourceMemory, peak.memory, own.memory)
	for _, name := range sortedGPUNames(peak.gpus) {
		judge(corev1.ResourceName(corev1.DefaultResourceRequestsPrefix+string(name)), name, peak.gpus[name], own.gpus[name])
	}
	return short, raise
}

// QuotaCoversPod reports whether the capacity item judges pods of the spec
// against the quota; the operator maps a quota's change back by it.
func QuotaCoversPod(q *corev1.ResourceQuota, spec *corev1.PodSpec) bool {
	return quotaCoversPod(q, spec)
}

// AsksForGPUs reports whether pods of the spec ask for GPUs, the only thing
// the capacity item reads nodes for.
func AsksForGPUs(spec *corev1.PodSpec) bool {
	return len(capacityPodAmounts(spec).gpus) > 0
}

// QuotaJudgement is what the capacity item says of one quota: whether it
// covers the version's pods, and each shortfall with its raise. The item's
// finding depends on a quota through this alone, so a change of the quota
// that leaves it equal leaves the finding as it was.
func QuotaJudgement(in *Inputs, q *corev1.ResourceQuota) (covers bool, short, raise []string) {
	if !localTo(in, q.Namespace) || !quotaCoversPod(q, &in.Template.Spec) {
		return false, nil, nil
	}
	plan := planCapacity(in)
	short, raise = plan.quotaShortfalls(in, q)
	return true, short, raise
}

// quotaCoversPod reports whether a quota's scopes and scope selector cover
// pods of the spec. Scopes that never cover pods (VolumeAttributesClass)
// leave them out; scopes unknown to this code count as covering.
func quotaCoversPod(q *corev1.ResourceQuota, spec *corev1.PodSpec) bool {
	for _, s := range q.Spec.Scopes {
		if !quotaScopeCovers(spec, s, corev1.ScopeSelectorOpExists, nil) {
			return false
		}
	}
	if q.Spec.ScopeSelector != nil {
		for _, e := range q.Spec.ScopeSelector.MatchExpressions {
			if !quotaScopeCovers(spec, e.ScopeName, e.Operator, e.Values) {
				return false
			}
		}
	}
	return true
}

// quotaScopeCovers reports whether pods of the spec fall in one quota scope.
func quotaScopeCovers(spec *corev1.PodSpec, scope corev1.ResourceQuotaScope, op corev1.ScopeSelectorOperator, values []string) bool {
	var covered bool
	switch scope {
	case corev1.ResourceQuotaScopeTerminating:
		covered = spec.ActiveDeadlineSeconds != nil
	case corev1.ResourceQuotaScopeNotTerminating:
		covered = spec.ActiveDeadlineSeconds == nil
	case corev1.ResourceQuotaScopeBestEffort:
		covered = quotaSeesBestEffort(spec)
	case corev1.ResourceQuotaScopeNotBestEffort:
		covered = !quotaSeesBestEffort(spec)
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		covered = quotaSeesCrossNamespaceAffinity(spec)
	case corev1.ResourceQuotaScopeVolumeAttributesClass:
		covered = false
	case corev1.ResourceQuotaScopePriorityClass:
		switch op {
		case corev1.ScopeSelectorOpIn:
			return slices.Contains(values, spec.PriorityClassName)
		case corev1.ScopeSelectorOpNotIn:
			return !slices.Contains(values, spec.PriorityClassName)
		}
		covered = spec.PriorityClassName != ""
	default:
		return true
	}
	if op == corev1.ScopeSelectorOpDoesNotExist {
		return !covered
	}
	return covered
}

// quotaSeesBestEffort reports whether no container asks for or limits cpu or memory.
func quotaSeesBestEffort(spec *corev1.PodSpec) bool {
	set := func(l corev1.ResourceList) bool {
		_, cpu := l[corev1.ResourceCPU]
		_, mem := l[corev1.ResourceMemory]
		return cpu || mem
	}
	if r := spec.Resources; r != nil && (set(r.Requests) || set(r.Limits)) {
		return false
	}
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for i := range cs {
			if set(cs[i].Resources.Requests) || set(cs[i].Resources.Limits) {
				return false
			}
		}
	}
	return true
}

// quotaSeesCrossNamespaceAffinity reports whether a pod (anti-)affinity term
// names namespaces or a namespace selector.
func quotaSeesCrossNamespaceAffinity(spec *corev1.PodSpec) bool {
	a := spec.Affinity
	if a == nil {
		return false
	}
	var terms []corev1.PodAffinityTerm
	if a.PodAffinity != nil {
		terms = append(terms, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	if a.PodAntiAffinity != nil {
		terms = append(terms, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	return slices.ContainsFunc(terms, func(t corev1.PodAffinityTerm) bool {
		return len(t.Namespaces) > 0 || t.NamespaceSelector != nil
	})
}

// resourceAmounts is a footprint in whole numbers: cpu in millicores, memory
// in bytes, GPUs in devices by resource name (nil when none).
type resourceAmounts struct {
	cpu, memory int64
	gpus        map[corev1.ResourceName]int64
}

// add adds b to a.
func (a *resourceAmounts) add(b resourceAmounts) {
	a.cpu += b.cpu
	a.memory += b.memory
	for name, n := range b.gpus {
		a.setGPU(name, a.gpus[name]+n)
	}
}

// atLeast raises each of a's amounts to b's where b's is larger.
func (a *resourceAmounts) atLeast(b resourceAmounts) {
	a.cpu = max(a.cpu, b.cpu)
	a.memory = max(a.memory, b.memory)
	for name, n := range b.gpus {
		if n > a.gpus[name] {
			a.setGPU(name, n)
		}
	}
}

func (a *resourceAmounts) setGPU(name corev1.ResourceName, n int64) {
	if a.gpus == nil {
		a.gpus = map[corev1.ResourceName]int64{}
	}
	a.gpus[name] = n
}

// times is a scaled by n, as a new value.
func (a resourceAmounts) times(n int64) resourceAmounts {
	out := resourceAmounts{cpu: a.cpu * n, memory: a.memory * n}
	for name, g := range a.gpus {
		out.setGPU(name, g*n)
	}
	return out
}

// list is a as a ResourceList of cpu, memory and the non-zero GPUs.
func (a resourceAmounts) list() corev1.ResourceList {
	l := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(a.cpu, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(a.memory, resource.BinarySI),
	}
	for name, n := range a.gpus {
		if n != 0 {
			l[name] = *resource.NewQuantity(n, resource.DecimalSI)
		}
	}
	return l
}

// String is a in words, such as "cpu 300m memory 384Mi nvidia.com/gpu 3".
func (a resourceAmounts) String() string {
	s := "cpu " + formatAmount(corev1.ResourceCPU, a.cpu) + " memory " + formatAmount(corev1.ResourceMemory, a.memory)
	for _, name := range sortedGPUNames(a.gpus) {
		if n := a.gpus[name]; n != 0 {
			s += fmt.Sprintf(" %s %d", name, n)
		}
	}
	return s
}

// capacityPodAmounts is what the scheduler reserves for one pod of the spec: per
// resource the larger of the sum of the containers (with sidecars) and the
// largest init container (with the sidecars started before it), plus the
// overhead. Pod-level requests, where set, replace the containers' cpu or
// memory.
func capacityPodAmounts(spec *corev1.PodSpec) resourceAmounts {
	var sum, sidecars, initPeak resourceAmounts
	for i := range spec.Containers {
		sum.add(capacityContainerAmounts(&spec.Containers[i]))
	}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if ptr.Deref(c.RestartPolicy, "") == corev1.ContainerRestartPolicyAlways {
			sidecars.add(capacityContainerAmounts(c))
			initPeak.atLeast(sidecars)
			continue
		}
		running := sidecars.times(1)
		running.add(capacityContainerAmounts(c))
		initPeak.atLeast(running)
	}
	sum.add(sidecars)
	sum.atLeast(initPeak)
	if r := spec.Resources; r != nil {
		if q, ok := requestOrLimit(r, corev1.ResourceCPU); ok {
			sum.cpu = q.MilliValue()
		}
		if q, ok := requestOrLimit(r, corev1.ResourceMemory); ok {
			sum.memory = q.Value()
		}
	}
	if q, ok := spec.Overhead[corev1.ResourceCPU]; ok {
		sum.cpu += q.MilliValue()
	}
	if q, ok := spec.Overhead[corev1.ResourceMemory]; ok {
		sum.memory += q.Value()
	}
	return sum
}

// capacityContainerAmounts is one container's cpu and memory requests (the limit
// when no request is set) and its GPU limits (the request when no limit is).
func capacityContainerAmounts(c *corev1.Container) resourceAmounts {
	var a resourceAmounts
	r := &c.Resources
	if q, ok := requestOrLimit(r, corev1.ResourceCPU); ok {
		a.cpu = q.MilliValue()
	}
	if q, ok := requestOrLimit(r, corev1.ResourceMemory); ok {
		a.memory = q.Value()
	}
	for name, q := range r.Limits {
		if endsInGPU(name) {
			a.setGPU(name, q.Value())
		}
	}
	for name, q := range r.Requests {
		if _, limited := r.Limits[name]; endsInGPU(name) && !limited {
			a.setGPU(name, q.Value())
		}
	}
	return a
}

func requestOrLimit(r *corev1.ResourceRequirements, name corev1.ResourceName) (resource.Quantity, bool) {
	if q, ok := r.Requests[name]; ok {
		return q, true
	}
	q, ok := r.Limits[name]
	return q, ok
}

// endsInGPU reports whether a resource name is a GPU, such as nvidia.com/gpu.
func endsInGPU(name corev1.ResourceName) bool {
	return strings.HasSuffix(string(name), "/gpu")
}

func sortedGPUNames(gpus map[corev1.ResourceName]int64) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(gpus))
	for name := range gpus {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// amountOf reads a quantity in the unit resourceAmounts keeps for res.
func amountOf(res corev1.ResourceName, q resource.Quantity) int64 {
	if res == corev1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// formatAmount writes an amount of res as Kubernetes does: 300m, 384Mi, 2.
func formatAmount(res corev1.ResourceName, n int64) string {
	switch res {
	case corev1.ResourceCPU:
		return resource.NewMilliQuantity(n, resource.DecimalSI).String()
	case corev1.ResourceMemory:
		return resource.NewQuantity(n, resource.BinarySI).String()
	}
	return strconv.FormatInt(n, 10)
}

// localTo reports whether an object of the given namespace is in the
// ModelDeployment's; an object without one (as tests and the offline command
// build them) counts as local.
func localTo(in *Inputs, namespace string) bool {
	return namespace == "" || namespace == in.MD.Namespace
}

// listNames joins names for a message, cut after five.
func listNames(names []string) string {
	if len(names) > 5 {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:5], ", "), len(names)-5)
	}
	return strings.Join(names, ", ")
}

// rbacRemediation says how to let modelgate read a resource in a namespace.
func rbacRemediation(what, namespace string) string {
	return fmt.Sprintf("Let modelgate's service account get, list and watch %s in namespace %s (or install the API if it is missing); the check runs again on the next reconcile.", what, namespace)
}
