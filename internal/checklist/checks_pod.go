package checklist

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// podRunners judge the pod template: probes, resources, secrets, security
// context, images, redundancy and monitoring.
var podRunners = map[string]func(*Inputs) Finding{
	"probes":           checkPodProbes,
	"resources":        checkPodResources,
	"secrets":          checkPodSecrets,
	"security-context": checkPodSecurityContext,
	"image-pinned":     checkPodImagePinned,
	"redundancy":       checkPodRedundancy,
	"monitoring":       checkPodMonitoring,
}

const (
	// podSlowStartAnnotation on the pod template says the model takes long to load.
	podSlowStartAnnotation = "serving.modelgate.dev/slow-start"
	// podHostnameKey and podZoneKey are the topology keys that spread replicas.
	podHostnameKey = "kubernetes.io/hostname"
	podZoneKey     = "topology.kubernetes.io/zone"
)

// podSlowStartMemory is the memory request above which a model server is
// expected to load slowly.
var podSlowStartMemory = resource.MustParse("8Gi")

// podContainer is a container of the template with its place in the spec.
type podContainer struct {
	c    *corev1.Container
	init bool
	// path is the container's field path, such as spec.template.spec.containers[0].
	path string
}

// label names the container for messages: "server", or "init container loader".
func (pc podContainer) label() string {
	if pc.init {
		return fmt.Sprintf("init container %q", pc.c.Name)
	}
	return fmt.Sprintf("container %q", pc.c.Name)
}

// podAllContainers lists the init containers, then the containers.
func podAllContainers(spec *corev1.PodSpec) []podContainer {
	out := make([]podContainer, 0, len(spec.InitContainers)+len(spec.Containers))
	for i := range spec.InitContainers {
		out = append(out, podContainer{c: &spec.InitContainers[i], init: true, path: fmt.Sprintf("spec.template.spec.initContainers[%d]", i)})
	}
	for i := range spec.Containers {
		out = append(out, podContainer{c: &spec.Containers[i], path: fmt.Sprintf("spec.template.spec.containers[%d]", i)})
	}
	return out
}

// podServing returns the serving container, or a Finding saying why there is none.
func podServing(in *Inputs) (podContainer, *Finding) {
	cs := in.Template.Spec.Containers
	if len(cs) == 0 {
		f := Fail("Add the model server to spec.template.spec.containers.", "The pod template has no containers")
		return podContainer{}, &f
	}
	i := in.ServingContainer
	if i < 0 || i >= len(cs) {
		names := make([]string, 0, len(cs))
		for _, c := range cs {
			names = append(names, c.Name)
		}
		f := Fail(fmt.Sprintf("Set spec.servingContainer to one of %s, or leave it empty for the first container.", strings.Join(names, ", ")),
			"spec.servingContainer %q names no container of the pod template (containers: %s)", in.MD.Spec.ServingContainer, strings.Join(names, ", "))
		return podContainer{}, &f
	}
	return podContainer{c: &cs[i], path: fmt.Sprintf("spec.template.spec.containers[%d]", i)}, nil
}

// checkPodProbes: readiness and liveness on the serving container, and a
// startup probe recommended where the model loads slowly.
func checkPodProbes(in *Inputs) Finding {
	pc, bad := podServing(in)
	if bad != nil {
		return *bad
	}
	c := pc.c
	var missing []string
	if c.ReadinessProbe == nil {
		missing = append(missing, "readinessProbe")
	}
	if c.LivenessProbe == nil {
		missing = append(missing, "livenessProbe")
	}
	if len(missing) > 0 {
		return Fail(fmt.Sprintf("Add %s to %s (the serving container %q), for example an httpGet on the server's health endpoint.",
			strings.Join(missing, " and "), pc.path, c.Name),
			"The serving container %q has no %s", c.Name, strings.Join(missing, " and no "))
	}
	if c.StartupProbe != nil {
		return Pass("The serving container %q has readiness, liveness and startup probes", c.Name)
	}
	if reasons := podSlowStartReasons(in, c); len(reasons) > 0 {
		return Warn(fmt.Sprintf("Add a startupProbe to %s whose failureThreshold × periodSeconds covers the model's load time, so the liveness probe does not restart the server while it loads.", pc.path),
			"The serving container %q has readiness and liveness probes but no startup probe, and it is likely to start slowly: %s",
			c.Name, strings.Join(reasons, ", "))
	}
	return Pass("The serving container %q has readiness and liveness probes (no startup probe needed: no slow-start annotation, at most %s of memory, no GPU)",
		c.Name, podSlowStartMemory.String())
}

// podSlowStartReasons says why the serving container may load slowly.
func podSlowStartReasons(in *Inputs, c *corev1.Container) []string {
	var reasons []string
	if in.Template.Annotations[podSlowStartAnnotation] == "true" {
		reasons = append(reasons, fmt.Sprintf("the pod template has the annotation %s: \"true\"", podSlowStartAnnotation))
	}
	// A memory limit without a request is also the request.
	mem, ok := c.Resources.Requests[corev1.ResourceMemory]
	if !ok {
		mem, ok = c.Resources.Limits[corev1.ResourceMemory]
	}
	if ok && mem.Cmp(podSlowStartMemory) > 0 {
		reasons = append(reasons, fmt.Sprintf("it requests %s of memory, more than %s", mem.String(), podSlowStartMemory.String()))
	}
	// GPUs are set in limits (and may be repeated in requests).
	gpus := map[corev1.ResourceName]resource.Quantity{}
	for _, rl := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
		for name, q := range rl {
			if endsInGPU(name) && !q.IsZero() {
				gpus[name] = q
			}
		}
	}
	for _, name := range modelSortedKeys(podResourceNames(gpus)) {
		q := gpus[corev1.ResourceName(name)]
		reasons = append(reasons, fmt.Sprintf("it requests %s %s", q.String(), name))
	}
	return reasons
}

func podResourceNames(m map[corev1.ResourceName]resource.Quantity) map[string]struct{} {
	out := make(map[string]struct{}, len(m))
	for k := range m {
		out[string(k)] = struct{}{}
	}
	return out
}

// checkPodResources: cpu and memory requests and limits on every container,
// and GPUs in limits.
func checkPodResources(in *Inputs) Finding {
	spec := &in.Template.Spec
	containers := podAllContainers(spec)
	if len(containers) == 0 {
		return Fail("Add the model server to spec.template.spec.containers.", "The pod template has no containers")
	}
	var pod corev1.ResourceRequirements
	if spec.Resources != nil {
		pod = *spec.Resources
	}
	var missing, gpu []string
	podLevel := false
	for _, pc := range containers {
		r := pc.c.Resources
		for _, kind := range []struct {
			name     string
			own, pod corev1.ResourceList
		}{{"requests", r.Requests, pod.Requests}, {"limits", r.Limits, pod.Limits}} {
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := kind.own[res]; ok {
					continue
				}
				if _, ok := kind.pod[res]; ok {
					podLevel = true
					continue
				}
				missing = append(missing, fmt.Sprintf("%s/%s/%s", pc.c.Name, kind.name, res))
			}
		}
		for _, name := range modelSortedKeys(podResourceNames(r.Requests)) {
			res := corev1.ResourceName(name)
			if !endsInGPU(res) {
				continue
			}
			req := r.Requests[res]
			lim, ok := r.Limits[res]
			switch {
			case !ok:
				gpu = append(gpu, fmt.Sprintf("%s requests %s %s without a limit", pc.label(), req.String(), res))
			case req.Cmp(lim) != 0:
				gpu = append(gpu, fmt.Sprintf("%s requests %s %s but limits it to %s", pc.label(), req.String(), res, lim.String()))
			}
		}
	}
	if len(missing)+len(gpu) == 0 {
		msg := fmt.Sprintf("All %d containers set cpu and memory requests and limits", len(containers))
		if podLevel {
			msg += " (some through spec.template.spec.resources)"
		}
		return Pass("%s", msg)
	}
	var parts, fixes []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+strings.Join(missing, ", "))
		fixes = append(fixes, "Set resources.requests and resources.limits for cpu and memory on every container in spec.template.spec.containers and spec.template.spec.initContainers.")
	}
	if len(gpu) > 0 {
		parts = append(parts, strings.Join(gpu, "; "))
		fixes = append(fixes, "Put each GPU in resources.limits (for example nvidia.com/gpu: 1): Kubernetes refuses GPU requests without an equal limit, and a limit alone implies the request.")
	}
	return Fail(strings.Join(fixes, " "), "Resource requirements are incomplete: %s", strings.Join(parts, "; "))
}

// podCredentialSuffixes and podCredentialNames mark environment variables that
// hold credentials.
var (
	podCredentialSuffixes = []string{"_PASSWORD", "_PASSWD", "_TOKEN", "_API_KEY", "_APIKEY", "_SECRET", "_SECRET_KEY", "_ACCESS_KEY"}
	podCredentialNames    = []string{"PASSWORD", "PASSWD", "TOKEN", "API_KEY", "APIKEY", "SECRET"}
)

func podIsCredentialName(name string) bool {
	n := strings.ToUpper(name)
	for _, s := range podCredentialNames {
		if n == s {
			return true
		}
	}
	for _, s := range podCredentialSuffixes {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// podSecretRef is one reference of the pod template to a Secret, or to a key of it.
type podSecretRef struct {
	secret, key string
	optional    bool
	// managerReads is set where the manager reads the value, which the
	// Secret must opt in to (LabelManagerReadable).
	managerReads bool
	// from says where the reference is, such as `env DB_PASSWORD of container "server"`.
	from string
}

// secretRefProblem says what is wrong with one reference to a Secret, or "".
func secretRefProblem(in *Inputs, r podSecretRef) string {
	keys, found := in.Secrets[r.secret]
	switch {
	case r.secret == "":
		return fmt.Sprintf("%s names no Secret", r.from)
	case !found:
		return fmt.Sprintf("Secret %q referenced by %s was not found", r.secret, r.from)
	case r.key != "":
		if _, ok := keys[r.key]; !ok {
			return fmt.Sprintf("Secret %q has no key %q referenced by %s", r.secret, r.key, r.from)
		}
	}
	if r.managerReads && !in.ManagerReadable[r.secret] {
		return fmt.Sprintf("Secret %q referenced by %s is not labelled %s=true, so modelgate will not read it", r.secret, r.from, servingv1alpha1.LabelManagerReadable)
	}
	return ""
}

// ReferencedSecrets names the Secrets of the ModelDeployment's namespace the
// checks look at: those the pod template and the spec reference, and the
// certificates of the Ingresses and Gateways of the namespace (gathered
// first). The operator reads these alone, past its metadata-only cache.
func ReferencedSecrets(in *Inputs) []string {
	var names []string
	for _, r := range append(podSecretRefs(&in.Template.Spec), specSecretRefs(in.MD)...) {
		names = append(names, r.secret)
	}
	for i := range in.Ingresses {
		for _, t := range in.Ingresses[i].Spec.TLS {
			names = append(names, t.SecretName)
		}
	}
	for i := range in.Gateways {
		for _, l := range in.Gateways[i].Spec.Listeners {
			if l.TLS == nil {
				continue
			}
			for _, c := range l.TLS.CertificateRefs {
				if c.Namespace == nil || string(*c.Namespace) == in.MD.Namespace {
					names = append(names, string(c.Name))
				}
			}
		}
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == "" })
	slices.Sort(names)
	return slices.Compact(names)
}

// specSecretRefs lists the Secrets the manager itself reads for a
// ModelDeployment: the Prometheus bearer token and the notification
// receivers' URLs. A missing one would show only later, as an analysis in
// Error or notifications that never arrive.
func specSecretRefs(md *servingv1alpha1.ModelDeployment) []podSecretRef {
	var refs []podSecretRef
	if a := md.Spec.Analysis; a != nil && a.Prometheus != nil && a.Prometheus.BearerTokenSecretRef != nil {
		r := a.Prometheus.BearerTokenSecretRef
		refs = append(refs, podSecretRef{secret: r.Name, key: r.Key, managerReads: true, from: "spec.analysis.prometheus.bearerTokenSecretRef"})
	}
	for i, n := range md.Spec.Notifications {
		for _, rcv := range []struct {
			kind string
			r    *servingv1alpha1.WebhookReceiver
		}{{"webhook", n.Webhook}, {"slack", n.Slack}} {
			if rcv.r != nil {
				refs = append(refs, podSecretRef{secret: rcv.r.URLSecretRef.Name, key: rcv.r.URLSecretRef.Key, managerReads: true,
					from: fmt.Sprintf("spec.notifications[%d].%s.urlSecretRef (receiver %s)", i, rcv.kind, n.Name)})
			}
		}
	}
	return refs
}

// podSecretRefs lists every reference of the pod spec to a Secret.
func podSecretRefs(spec *corev1.PodSpec) []podSecretRef {
	var refs []podSecretRef
	opt := func(b *bool) bool { return b != nil && *b }
	for _, pc := range podAllContainers(spec) {
		for _, e := range pc.c.EnvFrom {
			if e.SecretRef != nil {
				refs = append(refs, podSecretRef{secret: e.SecretRef.Name, optional: opt(e.SecretRef.Optional), from: "envFrom of " + pc.label()})
			}
		}
		for _, e := range pc.c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				r := e.ValueFrom.SecretKeyRef
				refs = append(refs, podSecretRef{secret: r.Name, key: r.Key, optional: opt(r.Optional), from: fmt.Sprintf("env %s of %s", e.Name, pc.label())})
			}
		}
	}
	for _, v := range spec.Volumes {
		if s := v.Secret; s != nil {
			from := fmt.Sprintf("volume %q", v.Name)
			refs = append(refs, podSecretRef{secret: s.SecretName, optional: opt(s.Optional), from: from})
			for _, it := range s.Items {
				refs = append(refs, podSecretRef{secret: s.SecretName, key: it.Key, optional: opt(s.Optional), from: from})
			}
		}
		if p := v.Projected; p != nil {
			from := fmt.Sprintf("projected volume %q", v.Name)
			for _, src := range p.Sources {
				s := src.Secret
				if s == nil {
					continue
				}
				refs = append(refs, podSecretRef{secret: s.Name, optional: opt(s.Optional), from: from})
				for _, it := range s.Items {
					refs = append(refs, podSecretRef{secret: s.Name, key: it.Key, optional: opt(s.Optional), from: from})
				}
			}
		}
	}
	for _, s := range spec.ImagePullSecrets {
		refs = append(refs, podSecretRef{secret: s.Name, from: "imagePullSecrets"})
	}
	return refs
}

// checkPodSecrets: every Secret and key the pod template references exists,
// and no credential is written into the environment as a literal.
func checkPodSecrets(in *Inputs) Finding {
	spec := &in.Template.Spec
	ns := in.MD.Namespace

	var literal []string
	for _, pc := range podAllContainers(spec) {
		for _, e := range pc.c.Env {
			if e.Value != "" && podIsCredentialName(e.Name) {
				literal = append(literal, fmt.Sprintf("env %s of %s is set as a literal value", e.Name, pc.label()))
			}
		}
	}
	sort.Strings(literal)
	literalFix := "Move each literal credential into a Secret and reference it with env[].valueFrom.secretKeyRef (name and key)."

	reason, unavailable := in.Unavailable[KindSecret]
	if unavailable {
		access := fmt.Sprintf("Let the operator list Secrets in namespace %s (it reads only their key names).", ns)
		if len(literal) > 0 {
			return Fail(literalFix+" "+access,
				"Credentials are written into the pod template: %s (the Secrets it references could not be read: %s)", strings.Join(literal, "; "), reason)
		}
		return Unknown(access, "The Secrets the pod template references could not be read: %s", reason)
	}

	refs := append(podSecretRefs(spec), specSecretRefs(in.MD)...)
	seen := map[string]bool{}
	var problems []string
	names := map[string]struct{}{}
	for _, r := range refs {
		names[r.secret] = struct{}{}
		if r.optional {
			continue
		}
		if p := secretRefProblem(in, r); p != "" && !seen[p] {
			seen[p] = true
			problems = append(problems, p)
		}
	}
	sort.Strings(problems)

	if len(problems)+len(literal) == 0 {
		if len(names) == 0 {
			return Pass("The pod template references no Secret and writes no credential into its environment")
		}
		return Pass("All %d Secrets the pod template and the spec reference exist with the referenced keys (%s), and no credential is written into its environment%s",
			len(names), strings.Join(modelSortedKeys(names), ", "), configNotCoveredNote(in))
	}
	var fixes []string
	if len(problems) > 0 {
		fixes = append(fixes, fmt.Sprintf("Create the missing Secrets and keys in namespace %s, correct the names in the pod template, or mark a reference optional: true if the server runs without it; label a Secret the manager reads (a Prometheus token, a receiver's URL) %s=true.", ns, servingv1alpha1.LabelManagerReadable))
	}
	if len(literal) > 0 {
		fixes = append(fixes, literalFix)
	}
	return Fail(strings.Join(fixes, " "), "%s%s", strings.Join(append(problems, literal...), "; "), configNotCoveredNote(in))
}

// configNotCoveredNote says which Secrets config rollout leaves out, so a
// change of one, which reaches every pod at once, is not a surprise.
func configNotCoveredNote(in *Inputs) string {
	if len(in.ConfigNotCovered) == 0 {
		return ""
	}
	parts := make([]string, 0, len(in.ConfigNotCovered))
	for _, name := range slices.Sorted(maps.Keys(in.ConfigNotCovered)) {
		parts = append(parts, fmt.Sprintf("%s (%s)", name, in.ConfigNotCovered[name]))
	}
	return "; config rollout does not cover Secrets " + strings.Join(parts, ", ") + ": a change of them reaches every pod at once"
}

// checkPodSecurityContext: every container runs as non-root, without
// privilege escalation, with a read-only root filesystem, unprivileged.
func checkPodSecurityContext(in *Inputs) Finding {
	spec := &in.Template.Spec
	containers := podAllContainers(spec)
	if len(containers) == 0 {
		return Fail("Add the model server to spec.template.spec.containers.", "The pod template has no containers")
	}
	podSC := spec.SecurityContext
	if podSC == nil {
		podSC = &corev1.PodSecurityContext{}
	}
	var problems []string
	for _, pc := range containers {
		sc := pc.c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		runAsUser, runAsNonRoot := podSC.RunAsUser, podSC.RunAsNonRoot
		if sc.RunAsUser != nil {
			runAsUser = sc.RunAsUser
		}
		if sc.RunAsNonRoot != nil {
			runAsNonRoot = sc.RunAsNonRoot
		}
		var miss []string
		switch {
		case runAsUser != nil && *runAsUser == 0:
			miss = append(miss, "runs as root (runAsUser 0)")
		case runAsUser != nil && *runAsUser > 0, runAsNonRoot != nil && *runAsNonRoot:
		default:
			miss = append(miss, "may run as root (no runAsNonRoot: true or runAsUser above 0)")
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			miss = append(miss, "allowPrivilegeEscalation is not false")
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			miss = append(miss, "readOnlyRootFilesystem is not true")
		}
		if sc.Privileged != nil && *sc.Privileged {
			miss = append(miss, "privileged is true")
		}
		if len(miss) > 0 {
			problems = append(problems, fmt.Sprintf("%s: %s", pc.label(), strings.Join(miss, ", ")))
		}
	}
	if len(problems) == 0 {
		return Pass("All %d containers run as non-root, unprivileged, without privilege escalation and with a read-only root filesystem", len(containers))
	}
	return Fail("Set securityContext on every container: runAsNonRoot: true (or a runAsUser above 0; either may also go in spec.template.spec.securityContext), allowPrivilegeEscalation: false, readOnlyRootFilesystem: true (mount an emptyDir where the server writes) and no privileged: true.",
		"Containers are not hardened: %s", strings.Join(problems, "; "))
}

var podDigestRE = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)

// podAllowedRegistry reports whether the image starts with one of the allowed
// registry prefixes. A prefix that does not end in "/" must be followed in the
// image by "/", ":" or "@", so that registry.example does not allow
// registry.example.attacker.io.
func podAllowedRegistry(image string, allowed []string) (string, bool) {
	for _, p := range allowed {
		if p == "" || !strings.HasPrefix(image, p) {
			continue
		}
		if strings.HasSuffix(p, "/") || len(image) == len(p) || strings.ContainsRune("/:@", rune(image[len(p)])) {
			return p, true
		}
	}
	return "", false
}

// checkPodImagePinned: every image is pinned by digest or comes from an
// allowed registry.
func checkPodImagePinned(in *Inputs) Finding {
	containers := podAllContainers(&in.Template.Spec)
	if len(containers) == 0 {
		return Fail("Add the model server to spec.template.spec.containers.", "The pod template has no containers")
	}
	allowed := in.MD.Spec.Checklist.AllowedRegistries
	var unpinned []string
	var digests, fromAllowed int
	for _, pc := range containers {
		img := pc.c.Image
		switch {
		case podDigestRE.MatchString(img):
			digests++
		case img == "":
			unpinned = append(unpinned, fmt.Sprintf("%s has no image", pc.label()))
		default:
			if _, ok := podAllowedRegistry(img, allowed); ok {
				fromAllowed++
				continue
			}
			unpinned = append(unpinned, fmt.Sprintf("%s (%s)", img, pc.label()))
		}
	}
	if len(unpinned) == 0 {
		return Pass("All %d images are pinned: %d by digest, %d from an allowed registry", len(containers), digests, fromAllowed)
	}
	fix := "Pin each image by digest (image: repository@sha256:<64 hex digits>), or add its registry prefix (such as registry.example/ml/) to spec.checklist.allowedRegistries."
	if len(allowed) > 0 {
		fix = "Pin each image by digest (image: repository@sha256:<64 hex digits>), or use a registry listed in spec.checklist.allowedRegistries (" + strings.Join(allowed, ", ") + ")."
	}
	return Fail(fix, "Images not pinned by digest nor from an allowed registry: %s", strings.Join(unpinned, ", "))
}

// checkPodRedundancy: at least 2 replicas, spread across nodes or zones.
func checkPodRedundancy(in *Inputs) Finding {
	spec := &in.Template.Spec
	podLabels := labels.Set(in.Template.Labels)
	keys := map[string]bool{podHostnameKey: true, podZoneKey: true}

	var spread []string    // what spreads the pods
	var unmatched []string // spread rules with a good key whose selector misses the pods
	consider := func(what, key string, sel *metav1.LabelSelector) {
		if !keys[key] {
			return
		}
		if selectorSelects(sel, podLabels) {
			spread = append(spread, fmt.Sprintf("%s on %s", what, key))
		} else {
			unmatched = append(unmatched, fmt.Sprintf("%s on %s", what, key))
		}
	}
	for i, c := range spec.TopologySpreadConstraints {
		consider(fmt.Sprintf("topologySpreadConstraints[%d]", i), c.TopologyKey, c.LabelSelector)
	}
	if a := spec.Affinity; a != nil && a.PodAntiAffinity != nil {
		for i, t := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			consider(fmt.Sprintf("required pod anti-affinity[%d]", i), t.TopologyKey, t.LabelSelector)
		}
		for i, t := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			consider(fmt.Sprintf("preferred pod anti-affinity[%d]", i), t.PodAffinityTerm.TopologyKey, t.PodAffinityTerm.LabelSelector)
		}
	}

	var problems, fixes []string
	if in.Replicas < 2 {
		n := fmt.Sprintf("%d replicas", in.Replicas)
		if in.Replicas == 1 {
			n = "1 replica"
		}
		problems = append(problems, fmt.Sprintf("only %s (at least 2 are needed)", n))
		fixes = append(fixes, "Set spec.replicas to 2 or more (or minReplicas of the HorizontalPodAutoscaler).")
	}
	if len(spread) == 0 {
		p := fmt.Sprintf("no topologySpreadConstraint or pod anti-affinity on %s or %s selects the pods", podHostnameKey, podZoneKey)
		if len(unmatched) > 0 {
			p += fmt.Sprintf(" (%s: the labelSelector does not match the pod labels %s)", strings.Join(unmatched, ", "), podLabels.String())
		}
		problems = append(problems, p)
		fixes = append(fixes, fmt.Sprintf("Add to spec.template.spec.topologySpreadConstraints {maxSkew: 1, topologyKey: %s, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app.kubernetes.io/name: %s}}} (or %s), or a pod anti-affinity on one of these keys.",
			podZoneKey, in.MD.Name, podHostnameKey))
	}
	if len(problems) > 0 {
		return Fail(strings.Join(fixes, " "), "Redundancy is missing: %s", strings.Join(problems, "; "))
	}
	return Pass("%d replicas spread by %s", in.Replicas, strings.Join(spread, ", "))
}

// checkPodMonitoring: rollback triggers are declared and the server exposes metrics.
func checkPodMonitoring(in *Inputs) Finding {
	var triggers []string
	if a := in.MD.Spec.Analysis; a != nil && a.Triggers != nil {
		t := a.Triggers
		if t.ErrorRate != nil {
			triggers = append(triggers, "errorRate")
		}
		if t.LatencyP95 != nil {
			triggers = append(triggers, "latencyP95")
		}
		if t.AccuracyDrop != nil {
			triggers = append(triggers, "accuracyDrop")
		}
	}

	var exposed string
	switch {
	case in.MD.Spec.Service.MetricsPort != nil:
		exposed = fmt.Sprintf("spec.service.metricsPort %d", *in.MD.Spec.Service.MetricsPort)
	case in.Template.Annotations["prometheus.io/scrape"] == "true":
		exposed = `the pod template annotation prometheus.io/scrape: "true"`
	default:
		for _, c := range in.Template.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == "metrics" {
					exposed = fmt.Sprintf("port %q (%d) of container %q", p.Name, p.ContainerPort, c.Name)
				}
			}
			if exposed != "" {
				break
			}
		}
	}

	var problems, fixes []string
	if len(triggers) == 0 {
		problems = append(problems, "no rollback trigger is declared in spec.analysis.triggers")
		fixes = append(fixes, `Declare spec.analysis.triggers, for example errorRate: {maxPercent: "5"}, latencyP95: {maxMilliseconds: 300}, accuracyDrop: {maxPercent: "2"}.`)
	}
	if exposed == "" {
		problems = append(problems, "no metrics endpoint is declared")
		fixes = append(fixes, `Set spec.service.metricsPort to the container port serving Prometheus metrics, name that container port "metrics", or annotate the pod template with prometheus.io/scrape: "true".`)
	}
	if len(problems) > 0 {
		return Fail(strings.Join(fixes, " "), "Model monitoring is incomplete: %s", strings.Join(problems, "; "))
	}
	if a := in.MD.Spec.Analysis; a.Prometheus == nil {
		// Declared but never measured: nothing would roll back by itself.
		return Warn("Set spec.analysis.prometheus.address to the Prometheus that scrapes the model server, so the triggers are measured and a breach rolls back by itself.",
			"Rollback triggers declared (%s) and metrics exposed by %s, but not measured: spec.analysis.prometheus is not set", strings.Join(triggers, ", "), exposed)
	}
	return Pass("Rollback triggers declared (%s), measured on %s, and metrics exposed by %s",
		strings.Join(triggers, ", "), RedactURL(string(in.MD.Spec.Analysis.Prometheus.Address)), exposed)
}
