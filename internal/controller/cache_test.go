package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestKeepNodeAllocatable(t *testing.T) {
	alloc := corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110")}
	for _, tc := range []struct {
		name string
		in   any
		want any
	}{
		{
			name: "a node keeps its name, labels and allocatable resources only",
			in: &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n1", ResourceVersion: "7", Labels: map[string]string{"zone": "a"}, Annotations: map[string]string{"big": "x"}},
				Spec:       corev1.NodeSpec{PodCIDR: "10.0.0.0/24"},
				Status: corev1.NodeStatus{Allocatable: alloc, Capacity: alloc,
					Images:     []corev1.ContainerImage{{Names: []string{"registry.example/huge:1"}}},
					Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
			},
			want: &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n1", ResourceVersion: "7", Labels: map[string]string{"zone": "a"}},
				Status:     corev1.NodeStatus{Allocatable: alloc},
			},
		},
		{name: "anything else passes unchanged", in: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}, want: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := keepNodeAllocatable(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCacheOptionsHoldOnlyModelgatesObjects(t *testing.T) {
	opts := CacheOptions()
	ours := labels.Set{"app.kubernetes.io/name": "scorer", "app.kubernetes.io/managed-by": "modelgate"}
	theirs := labels.Set{"app.kubernetes.io/name": "web"}
	selected := 0
	for obj, by := range opts.ByObject {
		switch obj.(type) {
		case *appsv1.Deployment, *corev1.Service, *appsv1.ControllerRevision, *discoveryv1.EndpointSlice:
			selected++
			if by.Label == nil || !by.Label.Matches(ours) || by.Label.Matches(theirs) {
				t.Errorf("%T: cached with selector %v, want only modelgate's", obj, by.Label)
			}
		}
	}
	if selected != 4 {
		t.Errorf("%d of Deployments, Services, ControllerRevisions and EndpointSlices have a selector, want all 4", selected)
	}
}

func TestStripForCache(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "card",
		Annotations:   map[string]string{corev1.LastAppliedConfigAnnotation: `{"big":"copy"}`, "team": "risk"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}}}
	got, err := stripForCache(cm)
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "card", Annotations: map[string]string{"team": "risk"}}}
	if !equality.Semantic.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
