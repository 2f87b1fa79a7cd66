package loadtest

import (
	"net"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"
)

// EndpointSliceControllerName is the endpointslice.kubernetes.io/managed-by
// value of the slices Kubernetes' own EndpointSlice controller writes.
const EndpointSliceControllerName = "endpointslice-controller.k8s.io"

// Targets are the base URLs the tests may be sent to: the ready endpoints of
// slices managed by the EndpointSlice controller, on the port named port,
// whose targetRef is one of pods (the candidate's) and whose address is that
// pod's own. Anyone who may create an EndpointSlice may label it with the
// candidate's Service name and the controller's name; only the pods' own
// addresses make it a test target, so the tests never reach another address.
func Targets(endpointSlices []discoveryv1.EndpointSlice, pods []corev1.Pod, port string) []string {
	podIPs := make(map[string][]string, len(pods))
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		ips := []string{p.Status.PodIP}
		for _, ip := range p.Status.PodIPs {
			ips = append(ips, ip.IP)
		}
		podIPs[p.Name] = ips
	}
	var out []string
	for _, sl := range endpointSlices {
		if sl.Labels[discoveryv1.LabelManagedBy] != EndpointSliceControllerName {
			continue
		}
		var number int32
		for _, p := range sl.Ports {
			if ptr.Deref(p.Name, "") == port && p.Port != nil {
				number = *p.Port
			}
		}
		if number <= 0 {
			continue
		}
		for _, ep := range sl.Endpoints {
			ref := ep.TargetRef
			if !ptr.Deref(ep.Conditions.Ready, false) || ref == nil || ref.Kind != "Pod" ||
				(ref.Namespace != "" && ref.Namespace != sl.Namespace) {
				continue
			}
			own, ok := podIPs[ref.Name]
			if !ok {
				continue
			}
			for _, a := range ep.Addresses {
				if a != "" && slices.Contains(own, a) {
					out = append(out, "http://"+net.JoinHostPort(a, strconv.Itoa(int(number))))
				}
			}
		}
	}
	return out
}
