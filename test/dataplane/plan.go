package dataplane

import (
	"fmt"
	"net"
	"regexp"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/modelgate/modelgate/internal/modelserver"
)

// ImagePattern matches the images the data plane runs as cmd/model-server:
// any registry, path, tag or digest, as long as the image is named
// model-server. hack/kwok/stages.yaml uses the same expression to leave these
// pods not Ready until the data plane says otherwise; a test keeps them equal.
const ImagePattern = `(^|/)model-server(:[^/]*|@.*)?$`

var imageRE = regexp.MustCompile(ImagePattern)

// ManagedBySelector selects the pods modelgate manages.
const ManagedBySelector = "app.kubernetes.io/managed-by=modelgate"

const (
	// defaultPort is the model server's own default when a container declares none.
	defaultPort = 8080
	// httpPortName and metricsPortName name the container ports the data plane
	// serves the API and the metrics on.
	httpPortName    = "http"
	metricsPortName = "metrics"
)

// ServingContainer returns the index of the first container whose image is
// a model-server, or -1.
func ServingContainer(pod *corev1.Pod) int {
	for i := range pod.Spec.Containers {
		if imageRE.MatchString(pod.Spec.Containers[i].Image) {
			return i
		}
	}
	return -1
}

// spec is what one model-server process of a pod runs with.
type spec struct {
	UID       types.UID
	Pod       types.NamespacedName
	Container string
	// ModelDeployment is the pod's app.kubernetes.io/name label.
	ModelDeployment string
	// Args are the container's args followed by the addresses: the last of a
	// repeated flag wins, so the pod's IP always does.
	Args []string
	// Env holds the container's env (KEY=VALUE), and nothing of the runner's.
	Env     []string
	Version string
	// PodIP is the pod's address in the API; the process listens on its
	// loopback twin, LocalIP(PodIP), at the container's ports.
	PodIP          string
	Address        string
	MetricsAddress string
	// Probe is the readiness probe's URL; empty when the container declares
	// none, and then the pod is Ready as soon as its process runs, as with a kubelet.
	Probe            string
	FailureThreshold int32
	PeriodSeconds    int32
	// Skipped lists env entries the data plane cannot resolve, to be logged.
	Skipped []string
}

// LocalIP is where the data plane serves a pod IP: the same IPv4 address with
// its first octet made 127, such as 127.1.2.7 for 10.1.2.7. All of
// 127.0.0.0/8 is local on Linux, so a process can listen there without
// privileges; the pod keeps its 10.x address in the API because the API server
// refuses loopback addresses in EndpointSlices. Two clusters whose pod ranges
// differ only in the first octet would collide: give them different second octets.
func LocalIP(podIP string) (string, error) {
	ip := net.ParseIP(podIP).To4()
	if ip == nil {
		return "", fmt.Errorf("pod IP %q is not IPv4: the local data plane maps IPv4 pod ranges onto 127.0.0.0/8", podIP)
	}
	return net.IPv4(127, ip[1], ip[2], ip[3]).String(), nil
}

// runnable says whether a pod should have a process now: a model-server pod,
// Running with an IP, not being deleted.
func runnable(pod *corev1.Pod) bool {
	return pod.DeletionTimestamp == nil && pod.Status.Phase == corev1.PodRunning &&
		pod.Status.PodIP != "" && ServingContainer(pod) >= 0
}

// plan computes the process of a runnable pod.
func plan(pod *corev1.Pod) (spec, error) {
	i := ServingContainer(pod)
	if i < 0 || pod.Status.PodIP == "" {
		return spec{}, fmt.Errorf("pod %s/%s is not a model-server pod with an IP", pod.Namespace, pod.Name)
	}
	c := &pod.Spec.Containers[i]
	s := spec{
		UID: pod.UID, Pod: types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}, Container: c.Name,
		ModelDeployment:  pod.Labels["app.kubernetes.io/name"],
		FailureThreshold: 3, PeriodSeconds: 10,
	}
	ip, err := LocalIP(pod.Status.PodIP)
	if err != nil {
		return spec{}, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	s.PodIP = pod.Status.PodIP
	httpPort := containerPort(c, httpPortName)
	if httpPort == 0 {
		for _, p := range c.Ports {
			if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
				httpPort = p.ContainerPort
				break
			}
		}
	}
	if httpPort == 0 {
		httpPort = defaultPort
	}
	s.Address = net.JoinHostPort(ip, strconv.Itoa(int(httpPort)))
	s.Args = append(append([]string(nil), c.Args...), "--address="+s.Address)
	if mp := containerPort(c, metricsPortName); mp != 0 && mp != httpPort {
		s.MetricsAddress = net.JoinHostPort(ip, strconv.Itoa(int(mp)))
		s.Args = append(s.Args, "--metrics-address="+s.MetricsAddress)
	}
	s.Env, s.Version, s.Skipped = resolveEnv(pod, c)
	if p := c.ReadinessProbe; p != nil {
		if p.HTTPGet == nil {
			return spec{}, fmt.Errorf("container %s of pod %s/%s has a readiness probe that is not httpGet: the data plane only runs HTTP probes", c.Name, pod.Namespace, pod.Name)
		}
		port, err := probePort(c, p.HTTPGet.Port)
		if err != nil {
			return spec{}, fmt.Errorf("readiness probe of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		path := p.HTTPGet.Path
		if path == "" {
			path = "/"
		}
		s.Probe = "http://" + net.JoinHostPort(ip, strconv.Itoa(port)) + path
		if p.FailureThreshold > 0 {
			s.FailureThreshold = p.FailureThreshold
		}
		if p.PeriodSeconds > 0 {
			s.PeriodSeconds = p.PeriodSeconds
		}
	}
	return s, nil
}

func containerPort(c *corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func probePort(c *corev1.Container, port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	if p := containerPort(c, port.StrVal); p != 0 {
		return int(p), nil
	}
	return 0, fmt.Errorf("port %q is not a port of container %s", port.StrVal, c.Name)
}

// resolveEnv turns a container's env into KEY=VALUE: plain values, and the
// downward API fields a pod can know about itself. Secrets, ConfigMaps,
// resource fields and envFrom are not resolved; they are returned as skipped.
// $(VAR) references are passed as written.
func resolveEnv(pod *corev1.Pod, c *corev1.Container) (env []string, version string, skipped []string) {
	for _, e := range c.Env {
		v, ok := e.Value, true
		if e.ValueFrom != nil {
			v, ok = fieldValue(pod, e.ValueFrom)
		}
		if !ok {
			skipped = append(skipped, e.Name)
			continue
		}
		env = append(env, e.Name+"="+v)
		if e.Name == modelserver.EnvVersion {
			version = v
		}
	}
	for _, from := range c.EnvFrom {
		name := "envFrom"
		if from.ConfigMapRef != nil {
			name += " configMap " + from.ConfigMapRef.Name
		}
		if from.SecretRef != nil {
			name += " secret " + from.SecretRef.Name
		}
		skipped = append(skipped, name)
	}
	return env, version, skipped
}

func fieldValue(pod *corev1.Pod, from *corev1.EnvVarSource) (string, bool) {
	if from.FieldRef == nil {
		return "", false
	}
	switch path := from.FieldRef.FieldPath; path {
	case "metadata.name":
		return pod.Name, true
	case "metadata.namespace":
		return pod.Namespace, true
	case "metadata.uid":
		return string(pod.UID), true
	case "spec.nodeName":
		return pod.Spec.NodeName, true
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, true
	case "status.podIP":
		return pod.Status.PodIP, true
	case "status.hostIP":
		return pod.Status.HostIP, true
	default:
		var key string
		if n, _ := fmt.Sscanf(path, "metadata.labels['%s", &key); n == 1 {
			return pod.Labels[trimRef(key)], true
		}
		if n, _ := fmt.Sscanf(path, "metadata.annotations['%s", &key); n == 1 {
			return pod.Annotations[trimRef(key)], true
		}
		return "", false
	}
}

// trimRef drops the "']" that ends a labels['key'] reference.
func trimRef(s string) string {
	if len(s) >= 2 && s[len(s)-2:] == "']" {
		return s[:len(s)-2]
	}
	return s
}
