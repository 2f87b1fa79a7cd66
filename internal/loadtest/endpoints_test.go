package loadtest

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func pod(name, ip string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: name},
		Status: corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
}

type endpoint struct {
	addr, kind, name string
	ready            bool
}

func slice(managedBy string, port string, eps ...endpoint) discoveryv1.EndpointSlice {
	sl := discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "fraud-candidate-x", Labels: map[string]string{
			discoveryv1.LabelServiceName: "fraud-candidate"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(port), Port: ptr.To(int32(8080))}},
	}
	if managedBy != "" {
		sl.Labels[discoveryv1.LabelManagedBy] = managedBy
	}
	for _, e := range eps {
		ep := discoveryv1.Endpoint{Addresses: []string{e.addr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.ready)}}
		if e.kind != "" {
			ep.TargetRef = &corev1.ObjectReference{Kind: e.kind, Namespace: "ml", Name: e.name}
		}
		sl.Endpoints = append(sl.Endpoints, ep)
	}
	return sl
}

func TestTargets(t *testing.T) {
	const ctrl = EndpointSliceControllerName
	pods := []corev1.Pod{pod("fraud-2-abc", "10.0.0.12"), pod("fraud-2-def", "10.0.0.13")}
	gone := pod("fraud-2-old", "10.0.0.14")
	gone.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
	pods = append(pods, gone)
	tests := []struct {
		name   string
		slices []discoveryv1.EndpointSlice
		want   []string
	}{
		{"the candidate's ready pods", []discoveryv1.EndpointSlice{slice(ctrl, "http",
			endpoint{"10.0.0.12", "Pod", "fraud-2-abc", true}, endpoint{"10.0.0.13", "Pod", "fraud-2-def", true})},
			[]string{"http://10.0.0.12:8080", "http://10.0.0.13:8080"}},
		{"a pod not ready", []discoveryv1.EndpointSlice{slice(ctrl, "http",
			endpoint{"10.0.0.12", "Pod", "fraud-2-abc", false}, endpoint{"10.0.0.13", "Pod", "fraud-2-def", true})},
			[]string{"http://10.0.0.13:8080"}},
		{"a slice made by hand, without the controller's label", []discoveryv1.EndpointSlice{slice("",
			"http", endpoint{"169.254.169.254", "Pod", "fraud-2-abc", true})}, nil},
		{"a slice made by hand, labelled as the controller's, at another address", []discoveryv1.EndpointSlice{slice(ctrl,
			"http", endpoint{"169.254.169.254", "Pod", "fraud-2-abc", true}, endpoint{"10.0.0.99", "Pod", "fraud-2-def", true})}, nil},
		{"another controller's slice", []discoveryv1.EndpointSlice{slice("mesh.example/controller",
			"http", endpoint{"10.0.0.12", "Pod", "fraud-2-abc", true})}, nil},
		{"no targetRef", []discoveryv1.EndpointSlice{slice(ctrl, "http", endpoint{"10.0.0.12", "", "", true})}, nil},
		{"a targetRef to another kind", []discoveryv1.EndpointSlice{slice(ctrl, "http", endpoint{"10.0.0.12", "Node", "fraud-2-abc", true})}, nil},
		{"a pod not the candidate's", []discoveryv1.EndpointSlice{slice(ctrl, "http", endpoint{"10.0.0.20", "Pod", "other-1", true})}, nil},
		{"a pod being deleted", []discoveryv1.EndpointSlice{slice(ctrl, "http", endpoint{"10.0.0.14", "Pod", "fraud-2-old", true})}, nil},
		{"no http port", []discoveryv1.EndpointSlice{slice(ctrl, "grpc", endpoint{"10.0.0.12", "Pod", "fraud-2-abc", true})}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(Targets(tt.slices, pods, "http")).To(Equal(tt.want))
		})
	}
}
