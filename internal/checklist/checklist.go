// Package checklist turns the model deployment checklist into checks the
// cluster can answer: each check is a pure function from gathered Inputs to a
// Finding, and Evaluate applies the profile's severities and the spec's
// overrides. Nothing here calls an API server or the network, so the same
// checks serve the operator and an offline command.
package checklist

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// Inputs is everything the checks judge, gathered beforehand. A nil slice or
// map means "none found"; where the gatherer could not look (no RBAC, an
// optional API not installed) it says so in Unavailable, and the checks that
// need that input report Unknown rather than Fail.
type Inputs struct {
	// MD is the ModelDeployment, with the version under check in
	// MD.Spec.Model.Version.
	MD *servingv1alpha1.ModelDeployment
	// StableVersion is the version serving traffic, if any.
	StableVersion string
	// PromotedVersions are the versions that served as stable before, as the
	// ModelDeployment's revisions (ControllerRevisions) record them: going
	// back to one is a rollback.
	PromotedVersions []string
	// Deployment is the Deployment the revision under check runs in: the
	// version's, or a later revision's named with its template hash
	// (desiredstate.RevisionDeploymentName). Empty reads as the version's.
	Deployment string
	// Template is the pod template the version's Deployment runs, with
	// modelgate's labels and environment added.
	Template corev1.PodTemplateSpec
	// ServingContainer indexes the model server in Template.Spec.Containers.
	ServingContainer int
	// Replicas is the number of pods the spec asks for (or an HPA through the
	// scale subresource).
	Replicas int32

	// Objects in the ModelDeployment's namespace that may concern it.
	HPAs            []autoscalingv2.HorizontalPodAutoscaler
	PDBs            []policyv1.PodDisruptionBudget
	NetworkPolicies []networkingv1.NetworkPolicy
	// Secrets by name, with the names of their keys only; values are never read.
	Secrets map[string]SecretKeys
	// ManagerReadable names the Secrets labelled
	// serving.modelgate.dev/manager-readable=true: only those may be named
	// where the manager reads a value (a Prometheus token, a receiver's URL).
	ManagerReadable map[string]bool
	// ConfigNotCovered names the Secrets the pod template reads that config
	// rollout does not cover, with why: a change of one reaches every pod
	// at once, which the secrets item says.
	ConfigNotCovered map[string]string
	// ConfigMaps by name (the model card's).
	ConfigMaps map[string]*corev1.ConfigMap
	Services   []corev1.Service
	Ingresses  []networkingv1.Ingress
	HTTPRoutes []gatewayv1.HTTPRoute
	Gateways   []gatewayv1.Gateway
	// SharedGateways are the Gateways in other namespaces that the model's
	// HTTPRoutes attach to, by "namespace/name". A Gateway looked up and not
	// found maps to nil; one not looked up at all (the offline check) is
	// absent, and leaves tls Unknown.
	SharedGateways map[string]*gatewayv1.Gateway
	// ReferenceGrants of the namespaces holding the certificates that
	// Gateways name across namespaces.
	ReferenceGrants []gatewayv1.ReferenceGrant
	ResourceQuotas  []corev1.ResourceQuota
	Deployments     []appsv1.Deployment
	NodeAllocatable []corev1.ResourceList

	// Remote holds what the network-backed probes found (artifact, registry,
	// model card URL), judged by the checks like any other input.
	Remote RemoteResults

	// Attested are the attested items (spec.checklist.attestations) ticked by
	// a ModelApproval that counts, by item id.
	Attested map[string]Attestation

	// Unavailable names inputs the gatherer could not read, with the reason,
	// keyed by kind such as "HorizontalPodAutoscaler" or "HTTPRoute".
	Unavailable map[string]string

	// Policy is what the ModelDeploymentPolicies that select MD make of its
	// severities; nil when none does.
	Policy *PolicySeverities
}

// Attestation is who ticked an attested item, and when.
type Attestation struct {
	By string
	At metav1.Time
}

// Kinds of the inputs, as the gatherer names them in Inputs.Unavailable when
// it could not read them.
const (
	KindHPA           = "HorizontalPodAutoscaler"
	KindPDB           = "PodDisruptionBudget"
	KindNetworkPolicy = "NetworkPolicy"
	KindSecret        = "Secret"
	KindConfigMap     = "ConfigMap"
	KindIngress       = "Ingress"
	KindHTTPRoute     = "HTTPRoute"
	KindGateway       = "Gateway"
	// KindReferenceGrant is read in the namespaces of cross-namespace certificates.
	KindReferenceGrant = "ReferenceGrant"
	KindQuota          = "ResourceQuota"
	KindDeployment     = "Deployment"
	KindNode           = "Node"
	KindApproval       = "ModelApproval"
)

// SecretKeys is the set of keys a Secret holds.
type SecretKeys map[string]struct{}

// RemoteResults are the findings of the network-backed probes. A probe that
// did not run (nothing to probe) leaves its field nil.
type RemoteResults struct {
	Artifact  *Finding
	Registry  *Finding
	ModelCard *ModelCardDocument
}

// ModelCardDocument is a model card fetched from a URL.
type ModelCardDocument struct {
	// Body is the card's text (Markdown), when it could be fetched.
	Body string
	// Err says why it could not be fetched; the check reports Unknown,
	// unless NotFound.
	Err string
	// NotFound is set when the server answered that the card is not there
	// (404 or 410): the card is missing, a failure rather than an unknown.
	NotFound bool
}

// Finding is what one check found.
type Finding struct {
	Result      servingv1alpha1.CheckResult
	Message     string
	Remediation string
}

// Pass, Fail, Unknown and Skip build Findings.
func Pass(format string, args ...any) Finding {
	return Finding{Result: servingv1alpha1.CheckPass, Message: fmt.Sprintf(format, args...)}
}

// Fail is a Finding of a failed check with its remediation.
func Fail(remediation, format string, args ...any) Finding {
	return Finding{Result: servingv1alpha1.CheckFail, Message: fmt.Sprintf(format, args...), Remediation: remediation}
}

// Unknown is a Finding of a check that could not be judged; it never passes.
func Unknown(remediation, format string, args ...any) Finding {
	return Finding{Result: servingv1alpha1.CheckUnknown, Message: fmt.Sprintf(format, args...), Remediation: remediation}
}

// Warn is a Finding of a check that passes with a recommendation; it never blocks.
func Warn(remediation, format string, args ...any) Finding {
	return Finding{Result: servingv1alpha1.CheckWarn, Message: fmt.Sprintf(format, args...), Remediation: remediation}
}

// Skip is a Finding of a check that does not apply.
func Skip(format string, args ...any) Finding {
	return Finding{Result: servingv1alpha1.CheckSkipped, Message: fmt.Sprintf(format, args...)}
}

// Check is one item of the catalogue.
type Check struct {
	// ID is stable and used in overrides, conditions and metrics.
	ID string
	// Section of the seed checklist the item answers.
	Section string
	// Title says what is verified, in the words of the checklist.
	Title string
	// Severity by profile.
	Severity map[servingv1alpha1.ChecklistProfile]servingv1alpha1.Severity
	// Network is true for checks that need the network-backed probes.
	Network bool
	// Run judges the inputs.
	Run func(in *Inputs) Finding
}

// severities is a shorthand for a per-profile severity table.
func severities(production, staging, development servingv1alpha1.Severity) map[servingv1alpha1.ChecklistProfile]servingv1alpha1.Severity {
	return map[servingv1alpha1.ChecklistProfile]servingv1alpha1.Severity{
		servingv1alpha1.ProfileProduction:  production,
		servingv1alpha1.ProfileStaging:     staging,
		servingv1alpha1.ProfileDevelopment: development,
	}
}

// Result of evaluating the whole checklist.
type Result struct {
	Status servingv1alpha1.ChecklistStatus
	// Blocking lists the ids of Enforce items that failed or could not be judged.
	Blocking []string
}

// Passed reports whether no enforced item blocks the version.
func (r Result) Passed() bool { return len(r.Blocking) == 0 }

// Evaluate runs every check of the catalogue against the inputs, applying the
// profile's severity and the spec's overrides (and, when in.Policy is set, the
// platform's floors under them), and summarises the result.
//
// An Enforce item blocks on Fail and on Unknown: a check that could not be
// judged never lets a version through. A Warn item that fails is reported as
// Warn; a check's own Warn (a recommendation) never blocks. An Off item is
// not run.
func Evaluate(catalogue []Check, in *Inputs) Result {
	spec := in.MD.Spec.Checklist
	profile := profileOf(in)
	overrides := make(map[string]servingv1alpha1.ChecklistOverride, len(spec.Overrides))
	for _, o := range spec.Overrides {
		overrides[o.ID] = o
	}

	var res Result
	st := &res.Status
	st.Version = in.MD.Spec.Model.Version
	st.Items = make([]servingv1alpha1.ChecklistItemStatus, 0, len(catalogue))
	var judged int32
	for i := range catalogue {
		c := &catalogue[i]
		item := servingv1alpha1.ChecklistItemStatus{ID: c.ID, Section: c.Section, Severity: c.Severity[profile]}
		o, overridden := overrides[c.ID]
		if overridden {
			item.Severity, item.OverrideReason = o.Severity, o.Reason
		}
		in.Policy.applyPolicy(&item, !overridden)
		if item.Severity == servingv1alpha1.SeverityOff {
			item.Result, item.Message = servingv1alpha1.CheckSkipped, "Turned off by the "+string(profile)+" profile"
			if item.OverrideReason != "" {
				item.Message = "Turned off by an override: " + item.OverrideReason
			}
			st.Skipped++
			st.Items = append(st.Items, item)
			continue
		}
		f := c.Run(in)
		item.Result, item.Message, item.Remediation = f.Result, f.Message, f.Remediation
		enforce := item.Severity == servingv1alpha1.SeverityEnforce
		switch f.Result {
		case servingv1alpha1.CheckPass:
			st.Passed++
		case servingv1alpha1.CheckSkipped:
			st.Skipped++
		case servingv1alpha1.CheckUnknown:
			st.Skipped++
			if enforce {
				res.Blocking = append(res.Blocking, c.ID)
			}
		case servingv1alpha1.CheckWarn: // passes, with a recommendation
			st.Warnings++
		case servingv1alpha1.CheckFail:
			if enforce {
				item.Result = servingv1alpha1.CheckFail
				st.Failed++
				res.Blocking = append(res.Blocking, c.ID)
			} else {
				item.Result = servingv1alpha1.CheckWarn
				st.Warnings++
			}
		}
		if item.Result != servingv1alpha1.CheckSkipped {
			judged++
		}
		st.Items = append(st.Items, item)
	}
	judged += addAttestations(&res, in, overrides)
	sort.Strings(res.Blocking)
	if steady, peak := Footprint(in); steady != nil || peak != nil {
		st.Capacity = &servingv1alpha1.CapacityStatus{Steady: steady, Peak: peak}
	}
	st.Summary = fmt.Sprintf("%d/%d", st.Passed, judged)
	return res
}

// addAttestations judges the attested items into res, after the catalogue's,
// and returns how many were judged.
func addAttestations(res *Result, in *Inputs, overrides map[string]servingv1alpha1.ChecklistOverride) int32 {
	st := &res.Status
	var judged int32
	for _, at := range in.MD.Spec.Checklist.Attestations {
		item := judgeAttestation(in, at, overrides)
		switch {
		case item.Result == servingv1alpha1.CheckSkipped:
			st.Skipped++
		case item.Result == servingv1alpha1.CheckPass:
			st.Passed++
			judged++
		case item.Severity == servingv1alpha1.SeverityEnforce:
			res.Blocking = append(res.Blocking, at.ID)
			if item.Result == servingv1alpha1.CheckFail {
				st.Failed++
				judged++
			} else {
				st.Skipped++
			}
		default:
			item.Result = servingv1alpha1.CheckWarn
			st.Warnings++
			judged++
		}
		st.Items = append(st.Items, item)
	}
	return judged
}

// judgeAttestation is the item of something only a person can vouch for (a
// code review, a security scan, a legal review): ticked by a ModelApproval of
// the version from the item's role, enforced unless an override says otherwise.
func judgeAttestation(in *Inputs, at servingv1alpha1.Attestation, overrides map[string]servingv1alpha1.ChecklistOverride) servingv1alpha1.ChecklistItemStatus {
	section := at.Section
	if section == "" {
		section = "Attestations"
	}
	item := servingv1alpha1.ChecklistItemStatus{ID: at.ID, Section: section, Severity: servingv1alpha1.SeverityEnforce}
	o, overridden := overrides[at.ID]
	if overridden {
		item.Severity, item.OverrideReason = o.Severity, o.Reason
	}
	in.Policy.applyPolicy(&item, false)
	version := in.MD.Spec.Model.Version
	got, ticked := in.Attested[at.ID]
	switch {
	case item.Severity == servingv1alpha1.SeverityOff:
		item.Result, item.Message = servingv1alpha1.CheckSkipped, "Turned off by an override: "+item.OverrideReason
	case ticked:
		item.Result = servingv1alpha1.CheckPass
		item.Message = fmt.Sprintf("Attested by %s for version %s", got.By, version)
		item.AttestedBy, item.AttestedAt = got.By, got.At.DeepCopy()
	case in.Unavailable[KindApproval] != "":
		item.Result = servingv1alpha1.CheckUnknown
		item.Message = "Attested in the cluster by a ModelApproval, which cannot be read here: " + in.Unavailable[KindApproval]
	default:
		item.Result = servingv1alpha1.CheckFail
		item.Message = fmt.Sprintf("Not attested yet for version %s", version)
		item.Remediation = fmt.Sprintf("Someone with role %s creates a ModelApproval for version %s with item %s (kubectl modelgate approve %s --role %s --item %s)",
			at.Role, version, at.ID, in.MD.Name, at.Role, at.ID)
		if at.Evidence != "" {
			item.Remediation += "; evidence: " + string(at.Evidence)
		}
	}
	return item
}

// BlockingMessage says which items block a version, for the condition message.
func (r Result) BlockingMessage() string {
	if r.Passed() {
		return ""
	}
	byID := map[string]servingv1alpha1.ChecklistItemStatus{}
	for _, it := range r.Status.Items {
		byID[it.ID] = it
	}
	parts := make([]string, 0, len(r.Blocking))
	for _, id := range r.Blocking {
		parts = append(parts, fmt.Sprintf("%s: %s", id, byID[id].Message))
	}
	return strings.Join(parts, "; ")
}
