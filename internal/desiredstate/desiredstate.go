// Package desiredstate computes the objects modelgate creates for a
// ModelDeployment (one Deployment per version and three Services) as pure
// functions of the spec, so they can be tested without an API server.
package desiredstate

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// Labels and annotations modelgate puts on what it creates.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelVersion   = "serving.modelgate.dev/version"
	ManagedByValue = "modelgate"

	// AnnotationTemplateHash records the hash of the pod template a Deployment
	// was written from, so an unchanged template is never patched again.
	AnnotationTemplateHash = "serving.modelgate.dev/template-hash"
	// AnnotationModelVersion records the exact model version of a Deployment;
	// the version label cannot hold a "+" of build metadata.
	AnnotationModelVersion = "serving.modelgate.dev/model-version"

	// Environment variables injected into the serving container.
	EnvModelName    = "MODEL_NAME"
	EnvModelVersion = "MODEL_VERSION"
	EnvModelURI     = "MODEL_URI"
	// EnvModelRevision is set on a later revision's serving container only,
	// from its pods' version label (RevisionLabel), so its metrics can say
	// which revision of the version they are of.
	EnvModelRevision = "MODEL_REVISION"
)

// Service names of a ModelDeployment.
func ServiceName(md *servingv1alpha1.ModelDeployment) string { return md.Name }

// StableServiceName is the Service that always points at the stable version.
func StableServiceName(md *servingv1alpha1.ModelDeployment) string { return md.Name + "-stable" }

// CandidateServiceName is the Service that points at the candidate, or at the
// stable version when no rollout is in progress.
func CandidateServiceName(md *servingv1alpha1.ModelDeployment) string {
	return md.Name + "-candidate"
}

// VersionLabelValue turns a semantic version into a label value: label values
// may not hold the "+" of build metadata.
func VersionLabelValue(version string) string {
	return strings.ReplaceAll(version, "+", "_")
}

// DeploymentName is the readable per-version Deployment name, such as
// fraud-scorer-v2-3-0 for version 2.3.0. Pre-release and build parts lose
// their case and punctuation in a name (2.3.0-rc.1 and 2.3.0-RC-1 would both
// read v2-3-0-rc-1), so a version with either also gets a short hash of itself.
func DeploymentName(md *servingv1alpha1.ModelDeployment, version string) string {
	v := strings.ToLower(version)
	v = strings.NewReplacer(".", "-", "+", "-", "_", "-").Replace(v)
	name := md.Name + "-v" + v
	if strings.ContainsAny(version, "-+") {
		h := fnv.New32a()
		_, _ = h.Write([]byte(version))
		name += fmt.Sprintf("-%06x", h.Sum32()&0xffffff)
	}
	return name
}

// RevisionDeploymentName is the Deployment of a later revision of a version:
// a change of its template or URI under the same version number runs beside
// the revision that serves, as a candidate, so it gets the version's name and
// the short hash of its pod template. The first revision of a version keeps
// the plain name, so upgrading modelgate renames nothing that runs.
func RevisionDeploymentName(md *servingv1alpha1.ModelDeployment, version, templateHash string) string {
	return DeploymentName(md, version) + "-" + templateHash
}

// RevisionOf is the template hash a Deployment's name carries after its
// version's (see RevisionDeploymentName), or "" for a first revision.
func RevisionOf(md *servingv1alpha1.ModelDeployment, version, deployment string) string {
	rest, ok := strings.CutPrefix(deployment, DeploymentName(md, version)+"-")
	if !ok || len(rest) != 8 || strings.Trim(rest, "0123456789abcdef") != "" {
		return ""
	}
	return rest
}

// RevisionLabels select the pods of one revision of a version: those of a
// first revision are VersionLabels; a later revision's version label also
// carries its template hash, after "_." (which no semantic version holds), so
// the Services of the stable and the candidate revision of one version select
// only their own pods.
func RevisionLabels(md *servingv1alpha1.ModelDeployment, version, revision string) map[string]string {
	l := VersionLabels(md, version)
	if revision != "" {
		l[LabelVersion] = RevisionLabel(version, revision)
	}
	return l
}

// RevisionLabel is the version label of a later revision's pods,
// <version>_.<template hash>, which its model server reports as its
// revision (EnvModelRevision); "" for a first revision (revision ""), whose
// pods carry the plain version and report no revision.
func RevisionLabel(version, revision string) string {
	if revision == "" {
		return ""
	}
	return VersionLabelValue(version) + "_." + revision
}

// SelectorLabels select the pods of every version of a ModelDeployment.
func SelectorLabels(md *servingv1alpha1.ModelDeployment) map[string]string {
	return map[string]string{LabelName: md.Name, LabelManagedBy: ManagedByValue}
}

// Selector is SelectorLabels as a string, for the scale subresource.
func Selector(md *servingv1alpha1.ModelDeployment) string {
	return labels.SelectorFromSet(SelectorLabels(md)).String()
}

// VersionLabels select the pods of one version.
func VersionLabels(md *servingv1alpha1.ModelDeployment, version string) map[string]string {
	l := SelectorLabels(md)
	l[LabelVersion] = VersionLabelValue(version)
	return l
}

// Replicas is the number of pods the spec asks for.
func Replicas(md *servingv1alpha1.ModelDeployment) int32 {
	return ptr.Deref(md.Spec.Replicas, 1)
}

// ServingContainerIndex finds the container that serves the model: the one
// named by spec.servingContainer, or the first. It returns -1 when the named
// container does not exist.
func ServingContainerIndex(spec *corev1.PodSpec, name string) int {
	if name == "" {
		if len(spec.Containers) == 0 {
			return -1
		}
		return 0
	}
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return i
		}
	}
	return -1
}

// PodTemplate is the spec's template with modelgate's labels and the model's
// environment added to the serving container: the template's own labels and
// annotations are kept, and modelgate's labels win over any of the same key
// (which admission refuses anyway). The spec's template is not changed.
func PodTemplate(md *servingv1alpha1.ModelDeployment, version string) (corev1.PodTemplateSpec, error) {
	tpl := *md.Spec.Template.DeepCopy()
	tpl.Labels = mergeLabels(tpl.Labels, VersionLabels(md, version))
	i := ServingContainerIndex(&tpl.Spec, md.Spec.ServingContainer)
	if i < 0 {
		if md.Spec.ServingContainer == "" {
			return tpl, fmt.Errorf("spec.template.spec.containers is empty: declare the model server container")
		}
		return tpl, fmt.Errorf("spec.servingContainer %q names no container in spec.template.spec.containers", md.Spec.ServingContainer)
	}
	c := &tpl.Spec.Containers[i]
	c.Env = setEnv(c.Env,
		corev1.EnvVar{Name: EnvModelName, Value: md.Spec.Model.Name},
		corev1.EnvVar{Name: EnvModelVersion, Value: version},
		corev1.EnvVar{Name: EnvModelURI, Value: md.Spec.Model.URI},
	)
	return tpl, nil
}

// TemplateHash identifies a pod template; equal templates hash equal.
func TemplateHash(tpl *corev1.PodTemplateSpec) string {
	b, _ := json.Marshal(tpl) // a PodTemplateSpec always marshals
	h := fnv.New32a()
	_, _ = h.Write(b)
	return fmt.Sprintf("%08x", h.Sum32())
}

// MutateDeployment writes the desired state into an existing or new
// Deployment. The pod template is written only when its hash changed, so the
// API server's defaults in an unchanged template are left alone and an
// unchanged Deployment is never patched (a template edited by hand is put
// back by the reconciler, which sees it with TemplateDrift).
//
// revision is "" for the first revision of a version, otherwise the template
// hash of a later one (RevisionOf): its pods get RevisionLabels, while the
// hash annotation stays the hash of tpl, the revision's identity.
func MutateDeployment(d *appsv1.Deployment, md *servingv1alpha1.ModelDeployment, version, revision string, tpl corev1.PodTemplateSpec, replicas int32) {
	hash := TemplateHash(&tpl)
	tpl = DeploymentTemplate(md, version, revision, tpl)
	// The template's own labels (team, cost centre) go on the Deployment too,
	// for the tools that select Deployments by them; modelgate's win.
	d.Labels = mergeLabels(mergeLabels(d.Labels, tpl.Labels), RevisionLabels(md, version, revision))
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[AnnotationModelVersion] = version
	d.Spec.Replicas = ptr.To(replicas)
	if d.Spec.Selector == nil { // immutable once created
		d.Spec.Selector = &metav1.LabelSelector{MatchLabels: RevisionLabels(md, version, revision)}
	}
	if d.Annotations[AnnotationTemplateHash] != hash {
		d.Annotations[AnnotationTemplateHash] = hash
		d.Spec.Template = tpl
	}
	// The Deployment counts whole seconds, at least one; without a deadline in
	// the spec it gets the API's default back (600 s, the CRD's default too).
	deadline := 600.0
	if pd := md.Spec.Strategy.ProgressDeadline; pd != nil {
		deadline = min(max(pd.Seconds(), 1), math.MaxInt32)
	}
	d.Spec.ProgressDeadlineSeconds = ptr.To(int32(deadline))
	d.Spec.RevisionHistoryLimit = ptr.To[int32](2)
	// What the spec leaves out gets the API server's default, so removing a
	// setting restores the default and a defaulted Deployment is not patched.
	ru := &appsv1.RollingUpdateDeployment{MaxSurge: ptr.To(defaultRollingPercent), MaxUnavailable: ptr.To(defaultRollingPercent)}
	if r := md.Spec.Strategy.Rolling; r != nil {
		if r.MaxSurge != nil {
			ru.MaxSurge = r.MaxSurge
		}
		if r.MaxUnavailable != nil {
			ru.MaxUnavailable = r.MaxUnavailable
		}
	}
	d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: ru}
}

// DeploymentTemplate is the pod template the Deployment of a revision runs:
// tpl, whose pods a later revision (revision not "") labels as its own
// (RevisionLabels).
func DeploymentTemplate(md *servingv1alpha1.ModelDeployment, version, revision string, tpl corev1.PodTemplateSpec) corev1.PodTemplateSpec {
	if revision == "" {
		return tpl
	}
	tpl = *tpl.DeepCopy()
	tpl.Labels = mergeLabels(tpl.Labels, RevisionLabels(md, version, revision))
	// Added after the hash, as the labels are: a first revision's pods, and
	// those running before modelgate reported revisions, stay as they were.
	if i := ServingContainerIndex(&tpl.Spec, md.Spec.ServingContainer); i >= 0 {
		c := &tpl.Spec.Containers[i]
		c.Env = setEnv(c.Env, corev1.EnvVar{Name: EnvModelRevision, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['" + LabelVersion + "']"},
		}})
	}
	return tpl
}

// defaultRollingPercent is the API server's default maxSurge and maxUnavailable.
var defaultRollingPercent = intstr.FromString("25%")

// ServiceSelectors say which pods each of the three Services selects.
type ServiceSelectors struct {
	// Apex selects the pods users reach through the <name> Service.
	Apex map[string]string
	// Stable selects the stable version's pods.
	Stable map[string]string
	// Candidate selects the candidate's pods, or the stable's without a rollout.
	Candidate map[string]string
}

// VersionServices reports whether a ModelDeployment's strategy sends
// traffic to <name>-stable and <name>-candidate by name: a router's backends,
// a blue-green's preview, the smoke and load tests that find the candidate's
// pods through <name>-candidate. Without any of them <name> serves alone, and
// the two would cost the cluster two Services, their EndpointSlices and their
// updates at every step, for nothing.
func VersionServices(md *servingv1alpha1.ModelDeployment) bool {
	if md.Spec.Strategy.TrafficRouting != nil || md.Spec.Strategy.Type == servingv1alpha1.StrategyBlueGreen {
		return true
	}
	a := md.Spec.Analysis
	return a != nil && (a.SmokeTest != nil || a.LoadTest != nil)
}

// Services are the three Services of a ModelDeployment with the given selectors.
func Services(md *servingv1alpha1.ModelDeployment, sel ServiceSelectors) []*corev1.Service {
	out := make([]*corev1.Service, 0, 3)
	for _, s := range []struct {
		name     string
		selector map[string]string
	}{
		{ServiceName(md), sel.Apex},
		{StableServiceName(md), sel.Stable},
		{CandidateServiceName(md), sel.Candidate},
	} {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: md.Namespace}}
		MutateService(svc, md, s.selector)
		out = append(out, svc)
	}
	return out
}

// MutateService writes the desired state into an existing or new Service.
func MutateService(svc *corev1.Service, md *servingv1alpha1.ModelDeployment, selector map[string]string) {
	svc.Labels = mergeLabels(svc.Labels, SelectorLabels(md))
	svc.Spec.Selector = selector
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	svc.Spec.Ports = ServicePorts(md)
}

// ServicePorts are the ports of every Service: the model's, and the metrics
// port when one is declared.
func ServicePorts(md *servingv1alpha1.ModelDeployment) []corev1.ServicePort {
	port := md.Spec.Service.Port
	if port == 0 {
		port = 8080
	}
	target := intstr.FromInt32(port)
	if md.Spec.Service.TargetPort != nil {
		target = *md.Spec.Service.TargetPort
	}
	ports := []corev1.ServicePort{{Name: "http", Port: port, TargetPort: target, Protocol: corev1.ProtocolTCP}}
	if mp := md.Spec.Service.MetricsPort; mp != nil && *mp != port {
		ports = append(ports, corev1.ServicePort{Name: "metrics", Port: *mp, TargetPort: intstr.FromInt32(*mp), Protocol: corev1.ProtocolTCP})
	}
	return ports
}

// mergeLabels returns base with overrides applied; modelgate's labels win over
// the user's so selectors keep working.
func mergeLabels(base, overrides map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(overrides))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range overrides {
		out[k] = v
	}
	return out
}

// setEnv sets each variable, replacing one of the same name, keeping the rest in order.
func setEnv(env []corev1.EnvVar, vars ...corev1.EnvVar) []corev1.EnvVar {
	for _, v := range vars {
		replaced := false
		for i := range env {
			if env[i].Name == v.Name {
				env[i] = v
				replaced = true
				break
			}
		}
		if !replaced {
			env = append(env, v)
		}
	}
	return env
}
