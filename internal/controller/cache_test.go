package controller

import (
	"context"
	"fmt"
	goruntime "runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
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
	opts := CacheOptions(nil)
	ours := labels.Set{"app.kubernetes.io/name": "scorer", "app.kubernetes.io/managed-by": "modelgate"}
	theirs := labels.Set{"app.kubernetes.io/name": "web"}
	selected := 0
	for obj, by := range opts.ByObject {
		switch obj.(type) {
		case *appsv1.Deployment, *corev1.Service, *appsv1.ControllerRevision:
			selected++
			if by.Label == nil || !by.Label.Matches(ours) || by.Label.Matches(theirs) {
				t.Errorf("%T: cached with selector %v, want only modelgate's", obj, by.Label)
			}
		}
	}
	if selected != 3 {
		t.Errorf("%d of Deployments, Services and ControllerRevisions have a selector, want all 3", selected)
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

func TestCompactModelDeploymentSharesEqualStrings(t *testing.T) {
	decode := func() *servingv1alpha1.ModelDeployment {
		md := &servingv1alpha1.ModelDeployment{}
		md.Namespace = "team-" + strings.Repeat("a", 3) // a string of its own, as the decoder makes
		items := make([]servingv1alpha1.ChecklistItemStatus, 0, 32)
		for _, id := range []string{"probes", "pdb", "hpa"} {
			items = append(items, servingv1alpha1.ChecklistItemStatus{ID: strings.Clone(id), Section: strings.Clone("Serving"),
				Result: "Skipped", Severity: "Off", Message: strings.Clone("Turned off by the development profile")})
		}
		md.Status.Checklist = &servingv1alpha1.ChecklistStatus{Version: "1.0.0", Items: items}
		md.Status.Conditions = append(make([]metav1.Condition, 0, 8), metav1.Condition{Type: strings.Clone("Ready"), Status: "True", Reason: "Succeeded", Message: strings.Clone("Version 1.0.0 serves all traffic")})
		md.Status.History = append(make([]servingv1alpha1.HistoryEntry, 0, 4), servingv1alpha1.HistoryEntry{Version: "1.0.0", Outcome: "Promoted"})
		md.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
		return md
	}
	a, b := decode(), decode()
	want := a.DeepCopy()
	want.ManagedFields = nil
	gotA, err := compactModelDeployment(a)
	if err != nil {
		t.Fatal(err)
	}
	gotB, _ := compactModelDeployment(b)
	ca, cb := gotA.(*servingv1alpha1.ModelDeployment), gotB.(*servingv1alpha1.ModelDeployment)
	if !equality.Semantic.DeepEqual(ca, want) {
		t.Errorf("compacting changed the object: got %+v, want %+v", ca, want)
	}
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	for _, pair := range [][2]string{
		{ca.Namespace, cb.Namespace},
		{ca.Status.Checklist.Items[0].Message, cb.Status.Checklist.Items[0].Message},
		{ca.Status.Checklist.Items[1].Section, cb.Status.Checklist.Items[2].Section},
		{ca.Status.Conditions[0].Message, cb.Status.Conditions[0].Message},
	} {
		if !same(pair[0], pair[1]) {
			t.Errorf("%q is held twice, want once", pair[0])
		}
	}
	if c := cap(ca.Status.Checklist.Items); c != 3 {
		t.Errorf("checklist items keep a capacity of %d, want their length 3", c)
	}
	if c := cap(ca.Status.Conditions); c != 1 {
		t.Errorf("conditions keep a capacity of %d, want 1", c)
	}
	if _, err := compactModelDeployment(&corev1.ConfigMap{}); err != nil {
		t.Errorf("another kind: %v", err)
	}
}

func TestLongWatchKeepsClientGosSpread(t *testing.T) {
	const minimum = int64(watchTimeout / time.Second)
	for _, tc := range []struct {
		asked int64
		want  int64
	}{
		{asked: 300, want: minimum},
		{asked: 450, want: minimum + minimum/2},
		{asked: 599, want: minimum + 299*minimum/300},
	} {
		if got := longWatch(&tc.asked); got != tc.want {
			t.Errorf("longWatch(%d) = %d, want %d", tc.asked, got, tc.want)
		}
	}
	for range 100 {
		if got := longWatch(nil); got < minimum || got >= 2*minimum {
			t.Fatalf("longWatch(nil) = %d, want within [%d, %d)", got, minimum, 2*minimum)
		}
	}
}

func TestNewInformerAsksForLongWatches(t *testing.T) {
	var asked *int64
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) { return &corev1.ConfigMapList{}, nil },
		WatchFuncWithContext: func(_ context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			asked = opts.TimeoutSeconds
			return watch.NewEmptyWatch(), nil
		},
	}
	_ = newInformer(lw, &corev1.ConfigMap{}, 0, toolscache.Indexers{})
	clientGos := int64(7 * 60)
	if _, err := lw.WatchFuncWithContext(context.Background(), metav1.ListOptions{TimeoutSeconds: &clientGos}); err != nil {
		t.Fatal(err)
	}
	if want := int64(watchTimeout/time.Second) * 14 / 10; asked == nil || *asked != want {
		t.Errorf("the informer's watch asked for %v seconds, want %d", asked, want)
	}
}

// Objects decoded far apart, as a fleet's status updates are, share their
// strings too: a garbage collection between them forgets nothing.
func TestCompactModelDeploymentSharesAcrossCollections(t *testing.T) {
	decode := func() *servingv1alpha1.ModelDeployment {
		md := &servingv1alpha1.ModelDeployment{}
		md.Status.Conditions = []metav1.Condition{{Type: strings.Clone("Ready"), Status: "True",
			Reason: strings.Clone("Succeeded"), Message: strings.Clone("Version 1.0.0 serves all traffic")}}
		return md
	}
	got, err := compactModelDeployment(decode())
	if err != nil {
		t.Fatal(err)
	}
	first := got.(*servingv1alpha1.ModelDeployment).Status.Conditions[0].Message
	goruntime.GC()
	goruntime.GC()
	got, _ = compactModelDeployment(decode())
	if later := got.(*servingv1alpha1.ModelDeployment).Status.Conditions[0].Message; unsafe.StringData(first) != unsafe.StringData(later) {
		t.Errorf("%q is held twice after a garbage collection, want once", later)
	}
}

func TestCompactModelDeploymentSharesEqualChecklists(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	decode := func(message string, attestedAt *metav1.Time) *servingv1alpha1.ModelDeployment {
		md := &servingv1alpha1.ModelDeployment{}
		md.Status.Checklist = &servingv1alpha1.ChecklistStatus{Items: []servingv1alpha1.ChecklistItemStatus{
			{ID: strings.Clone("model-card"), Result: "Skipped", Severity: "Off", Message: strings.Clone("Turned off by the development profile")},
			{ID: strings.Clone("probes"), Result: "Warn", Severity: "Warn", Message: strings.Clone(message), AttestedAt: attestedAt.DeepCopy()},
		}}
		return md
	}
	items := func(md *servingv1alpha1.ModelDeployment) []servingv1alpha1.ChecklistItemStatus {
		got, err := compactModelDeployment(md)
		if err != nil {
			t.Fatal(err)
		}
		return got.(*servingv1alpha1.ModelDeployment).Status.Checklist.Items
	}
	shared := func(a, b []servingv1alpha1.ChecklistItemStatus) bool { return &a[0] == &b[0] }

	first := items(decode("no readinessProbe", &at))
	want := decode("no readinessProbe", &at).Status.Checklist.Items
	if !equality.Semantic.DeepEqual(first, want) {
		t.Errorf("sharing changed the items: got %+v, want %+v", first, want)
	}
	if again := items(decode("no readinessProbe", &at)); !shared(first, again) {
		t.Error("two equal checklists are held twice, want once")
	}
	for name, other := range map[string]*servingv1alpha1.ModelDeployment{
		"another message":     decode("no livenessProbe", &at),
		"another attestation": decode("no readinessProbe", ptr.To(metav1.NewTime(at.Add(time.Hour)))),
		"no attestation":      decode("no readinessProbe", nil),
	} {
		if got := items(other); shared(first, got) {
			t.Errorf("%s: a checklist that differs shares the other's items", name)
		}
	}
}

func TestStripForCacheSharesAlikeMetadata(t *testing.T) {
	long := strings.Repeat("x", internedValueMax+1)
	decode := func() *appsv1.Deployment {
		c := strings.Clone
		ownLabels := map[string]string{c("app.kubernetes.io/managed-by"): c("modelgate"), c("serving.modelgate.dev/model"): c("scorer")}
		dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{
			Name: "scorer-v1-0-0", Namespace: c("risk"), Labels: ownLabels,
			Annotations: map[string]string{c("serving.modelgate.dev/version"): c("1.0.0"), c("note"): c(long)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: c("serving.modelgate.dev/v1alpha1"), Kind: c("ModelDeployment"),
				Name: c("scorer"), UID: types.UID(c("3f2a"))}},
		}}
		dep.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{c("serving.modelgate.dev/model"): c("scorer")}}
		dep.Spec.Template.Labels = map[string]string{c("serving.modelgate.dev/model"): c("scorer")}
		return dep
	}
	strip := func() *appsv1.Deployment {
		got, err := stripForCache(decode())
		if err != nil {
			t.Fatal(err)
		}
		return got.(*appsv1.Deployment)
	}
	a, b := strip(), strip()
	if !equality.Semantic.DeepEqual(a, decode()) {
		t.Errorf("compacting changed the object: got %+v, want %+v", a, decode())
	}
	key := func(m map[string]string, k string) string {
		for mk := range m {
			if mk == k {
				return mk
			}
		}
		return ""
	}
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	for what, pair := range map[string][2]string{
		"namespace":               {a.Namespace, b.Namespace},
		"label key":               {key(a.Labels, "app.kubernetes.io/managed-by"), key(b.Labels, "app.kubernetes.io/managed-by")},
		"label value":             {a.Labels["serving.modelgate.dev/model"], b.Labels["serving.modelgate.dev/model"]},
		"label value in selector": {a.Labels["serving.modelgate.dev/model"], b.Spec.Selector.MatchLabels["serving.modelgate.dev/model"]},
		"label value in template": {a.Labels["serving.modelgate.dev/model"], b.Spec.Template.Labels["serving.modelgate.dev/model"]},
		"short annotation value":  {a.Annotations["serving.modelgate.dev/version"], b.Annotations["serving.modelgate.dev/version"]},
		"owner's API version":     {a.OwnerReferences[0].APIVersion, b.OwnerReferences[0].APIVersion},
		"owner's name":            {a.OwnerReferences[0].Name, b.OwnerReferences[0].Name},
	} {
		if !same(pair[0], pair[1]) {
			t.Errorf("%s %q is held twice, want once", what, pair[0])
		}
	}
	if same(a.Annotations["note"], b.Annotations["note"]) {
		t.Error("a long annotation value is interned, want it left to its object")
	}
}

// A cluster's many namespaces and label values fill the metadata's table of
// shared strings; ModelDeployments' status strings keep being shared.
func TestMetadataLeavesStatusStringsShared(t *testing.T) {
	decode := func() *servingv1alpha1.ModelDeployment {
		md := &servingv1alpha1.ModelDeployment{}
		md.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: "True", Reason: "Succeeded",
			Message: strings.Clone("Version 3.1.4 serves all traffic")}}
		return md
	}
	message := func(o any, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		return o.(*servingv1alpha1.ModelDeployment).Status.Conditions[0].Message
	}
	first := message(compactModelDeployment(decode()))
	for i := range metaStrings.max + 1 {
		cm := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: fmt.Sprintf("team-%d", i),
			Labels: map[string]string{"owner": fmt.Sprintf("person-%d", i)}}}
		if _, err := stripForCache(cm); err != nil {
			t.Fatal(err)
		}
	}
	if later := message(compactModelDeployment(decode())); unsafe.StringData(first) != unsafe.StringData(later) {
		t.Errorf("%q is held twice after the metadata of many objects was cached, want once", later)
	}
}

// The table of shared checklists keeps no list alive: one that no cached
// object holds any more is collected; one that is held is shared across
// collections.
func TestSharedChecklistsAreHeldWeakly(t *testing.T) {
	decode := func(message string) *servingv1alpha1.ModelDeployment {
		md := &servingv1alpha1.ModelDeployment{}
		md.Status.Checklist = &servingv1alpha1.ChecklistStatus{Items: []servingv1alpha1.ChecklistItemStatus{
			{ID: "probes", Result: "Warn", Severity: "Warn", Message: strings.Clone(message)}}}
		return md
	}
	compact := func(md *servingv1alpha1.ModelDeployment) *servingv1alpha1.ModelDeployment {
		got, err := compactModelDeployment(md)
		if err != nil {
			t.Fatal(err)
		}
		return got.(*servingv1alpha1.ModelDeployment)
	}
	held := compact(decode("held by a cached object"))
	compact(decode("held by none")) // its object dropped at once
	goruntime.GC()
	goruntime.GC()
	if again := compact(decode("held by a cached object")); &again.Status.Checklist.Items[0] != &held.Status.Checklist.Items[0] {
		t.Error("a list still held is not shared after a collection")
	}
	alive := 0
	sharedItems.Lock()
	for _, l := range sharedItems.lists {
		if l.first.Value() != nil {
			alive++
		}
	}
	sharedItems.Unlock()
	if alive != 1 {
		t.Errorf("the table keeps %d lists alive, want only the one held (1)", alive)
	}
	goruntime.KeepAlive(held)
}
