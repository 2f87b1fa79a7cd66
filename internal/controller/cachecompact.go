package controller

import (
	"context"
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"
	"weak"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	k8swatch "k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// compactModelDeployment is the cache transform of ModelDeployments, the
// largest objects the manager holds (a status of some twenty checklist items,
// conditions and history). Most of their strings are alike across a fleet:
// item ids, sections, results, severities, "Turned off by the development
// profile", condition types and reasons, and every message naming only a
// version. The JSON decoder gives each copy its own; here equal strings share
// one, and the slices it grew by doubling are cut to their length. At 1,000
// ModelDeployments that is a few MiB of a live heap of some 30.
func compactModelDeployment(o any) (any, error) {
	o, err := stripForCache(o)
	md, ok := o.(*servingv1alpha1.ModelDeployment)
	if err != nil || !ok {
		return o, err
	}
	md.Namespace = intern(md.Namespace)
	st := &md.Status
	st.Conditions = exact(st.Conditions)
	for i := range st.Conditions {
		c := &st.Conditions[i]
		c.Type, c.Status, c.Reason, c.Message = intern(c.Type), metav1.ConditionStatus(intern(string(c.Status))), intern(c.Reason), intern(c.Message)
	}
	if v := st.Stable; v != nil {
		v.Version, v.Deployment, v.TemplateHash = intern(v.Version), intern(v.Deployment), intern(v.TemplateHash)
	}
	if cl := st.Checklist; cl != nil {
		cl.Version, cl.Summary = intern(cl.Version), intern(cl.Summary)
		cl.Items = exact(cl.Items)
		for i := range cl.Items {
			it := &cl.Items[i]
			it.ID, it.Section, it.Message, it.Remediation = intern(it.ID), intern(it.Section), intern(it.Message), intern(it.Remediation)
			it.Result = servingv1alpha1.CheckResult(intern(string(it.Result)))
			it.Severity = servingv1alpha1.Severity(intern(string(it.Severity)))
			it.OverrideReason, it.SeveritySource = intern(it.OverrideReason), intern(it.SeveritySource)
		}
		cl.Items = shareItems(cl.Items)
	}
	st.History = exact(st.History)
	for i := range st.History {
		h := &st.History[i]
		h.Version, h.Previous, h.Reason, h.Message, h.Checklist = intern(h.Version), intern(h.Previous), intern(h.Reason), intern(h.Message), intern(h.Checklist)
		h.Outcome = servingv1alpha1.Outcome(intern(string(h.Outcome)))
		h.Strategy = servingv1alpha1.StrategyType(intern(string(h.Strategy)))
	}
	return md, nil
}

// compactMeta makes the metadata strings a fleet's objects have alike share
// one copy: label and annotation keys, label values and short annotation
// values (a version, a template hash the Deployment and its revision both
// carry, modelgate's label values), the namespace and the owner references
// (every object of a ModelDeployment names it). At 1,000
// ModelDeployments the manager caches some 4,000 such objects, whose
// metadata was some 4 MiB of a live heap of 26. Names and UIDs of the objects
// themselves are their own and are left alone.
func compactMeta(obj metav1.Object) {
	obj.SetNamespace(metaStrings.intern(obj.GetNamespace()))
	if l := obj.GetLabels(); len(l) > 0 {
		obj.SetLabels(internMap(l, validation.LabelValueMaxLength))
	}
	if a := obj.GetAnnotations(); len(a) > 0 {
		// A long annotation value is likely its object's own.
		obj.SetAnnotations(internMap(a, internedValueMax))
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		// The pod template carries the object's labels again.
		o.Spec.Template.Labels = internMap(o.Spec.Template.Labels, validation.LabelValueMaxLength)
		o.Spec.Template.Annotations = internMap(o.Spec.Template.Annotations, internedValueMax)
		if sel := o.Spec.Selector; sel != nil {
			sel.MatchLabels = internMap(sel.MatchLabels, validation.LabelValueMaxLength)
		}
	case *corev1.Service:
		o.Spec.Selector = internMap(o.Spec.Selector, validation.LabelValueMaxLength)
	}
	if refs := obj.GetOwnerReferences(); len(refs) > 0 {
		for i := range refs {
			r := &refs[i]
			// The owner's UID is left alone: one per owner, it would fill
			// the table for a few bytes each.
			r.APIVersion, r.Kind, r.Name = metaStrings.intern(r.APIVersion), metaStrings.intern(r.Kind), metaStrings.intern(r.Name)
		}
	}
}

// internedValueMax is the longest annotation value interned.
const internedValueMax = 64

// internMap is m with its keys interned, and its values up to maxValue
// bytes long, in a map of its own size.
func internMap(m map[string]string, maxValue int) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if len(v) <= maxValue {
			v = metaStrings.intern(v)
		}
		out[metaStrings.intern(k)] = v
	}
	return out
}

// stringTable holds the shared copies of the strings interned. Package
// unique alone would not do: it forgets a string at the first garbage
// collection after its last Handle is dropped, even while cached objects
// still hold the copy, and every object decoded later would get a copy of
// its own. The table is emptied when it outgrows max; objects cached before
// keep their copies.
type stringTable struct {
	mu     sync.Mutex
	copies map[string]string
	max    int
}

// statusStrings are the strings of ModelDeployments' status: the few hundred
// a fleet's checklists and conditions share, with room for per-version
// messages (messages that carry measurements are many).
var statusStrings = &stringTable{max: 8192}

// metaStrings are the metadata strings of every cached object, in a table
// of their own: a cluster's many namespaces and label values, filling it,
// must not empty statusStrings.
var metaStrings = &stringTable{max: 8192}

// intern returns the one copy of s shared by every cached ModelDeployment
// status holding it.
func intern(s string) string { return statusStrings.intern(s) }

func (t *stringTable) intern(s string) string {
	if s == "" {
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.copies[s]; ok {
		return c
	}
	if t.copies == nil || len(t.copies) >= t.max {
		t.copies = make(map[string]string, 256)
	}
	// A copy of its own, in case s is part of a larger buffer it would keep.
	c := strings.Clone(s)
	t.copies[c] = c
	return c
}

// sharedItems are the checklist item lists shared by cached ModelDeployments
// whose checklists read alike, item for item: those made from one template
// and judged at the same version, most of a fleet, hold one list between
// them instead of some 3 KiB each. Readers never write to a cached object
// (the cache hands out deep copies, or reads in place without writing), so
// sharing is safe. The table holds its lists weakly: a list no cached object
// holds any more (its ModelDeployment updated or deleted, or one of a kind)
// is collected, not kept for sharing. Emptied when it outgrows
// sharedItemsMax.
var sharedItems struct {
	sync.Mutex
	lists map[uint64]sharedList
}

// sharedList is a list held weakly: its first item, and its length.
type sharedList struct {
	first weak.Pointer[servingv1alpha1.ChecklistItemStatus]
	n     int
}

const sharedItemsMax = 4096

var sharedItemsSeed = maphash.MakeSeed()

// shareItems returns the shared list equal to items, or keeps items as the
// one shared from now on.
func shareItems(items []servingv1alpha1.ChecklistItemStatus) []servingv1alpha1.ChecklistItemStatus {
	if len(items) == 0 {
		return items
	}
	var h maphash.Hash
	h.SetSeed(sharedItemsSeed)
	for i := range items {
		it := &items[i]
		for _, f := range []string{it.ID, it.Section, string(it.Result), string(it.Severity), it.Message, it.Remediation, it.OverrideReason, it.SeveritySource, it.AttestedBy} {
			_, _ = h.WriteString(f) // a maphash.Hash never fails to write
			_ = h.WriteByte(0)
		}
	}
	key := h.Sum64()
	sharedItems.Lock()
	defer sharedItems.Unlock()
	if held, ok := sharedItems.lists[key]; ok && held.n == len(items) {
		if first := held.first.Value(); first != nil {
			// The whole array is alive while its first item is, and it
			// holds held.n items: the list weak.Make was given.
			if shared := unsafe.Slice(first, held.n); sameItems(shared, items) { //nolint:gosec // see above
				return shared
			}
		}
	}
	if sharedItems.lists == nil || len(sharedItems.lists) >= sharedItemsMax {
		sharedItems.lists = make(map[uint64]sharedList, 64)
	}
	sharedItems.lists[key] = sharedList{first: weak.Make(&items[0]), n: len(items)}
	return items
}

func sameItems(a, b []servingv1alpha1.ChecklistItemStatus) bool {
	return slices.EqualFunc(a, b, func(x, y servingv1alpha1.ChecklistItemStatus) bool {
		attested := x.AttestedAt == y.AttestedAt || (x.AttestedAt != nil && y.AttestedAt != nil && x.AttestedAt.Equal(y.AttestedAt))
		x.AttestedAt, y.AttestedAt = nil, nil
		return attested && x == y
	})
}

// exact is s in an array of its own length: the decoder's doubling leaves up
// to half of each array unused, for as long as the object is cached.
func exact[T any](s []T) []T {
	if len(s) == cap(s) {
		return s
	}
	return append(make([]T, 0, len(s)), s...)
}

// watchTimeout is the shortest a cache's watch lasts before it is renewed.
// client-go's reflectors ask for 5 to 10 minutes, so a manager with some
// fifteen informers renews about two watches a minute with nothing changing;
// the API server's own choice for a watch that names no timeout
// (--min-request-timeout) is 30 to 60 minutes, which is what these ask for.
// Bookmarks keep a quiet watch's resourceVersion fresh meanwhile, and
// client-go's HTTP/2 health checks find a dead connection long before.
const watchTimeout = 30 * time.Minute

// newInformer is client-go's shared informer whose watches last
// watchTimeout to twice that.
func newInformer(lw toolscache.ListerWatcher, obj runtime.Object, resync time.Duration, indexers toolscache.Indexers) toolscache.SharedIndexInformer {
	if l, ok := lw.(*toolscache.ListWatch); ok && l.WatchFuncWithContext != nil {
		watch := l.WatchFuncWithContext
		l.WatchFuncWithContext = func(ctx context.Context, opts metav1.ListOptions) (k8swatch.Interface, error) {
			opts.TimeoutSeconds = ptr.To(longWatch(opts.TimeoutSeconds))
			return watch(ctx, opts)
		}
	}
	return toolscache.NewSharedIndexInformer(lw, obj, resync, indexers)
}

// longWatch is the timeout of a renewed watch: client-go's, moved from
// [5, 10) minutes to [watchTimeout, 2*watchTimeout) keeping its spread, so
// that the informers started together do not all renew at once.
func longWatch(asked *int64) int64 {
	const clientGoMin = 5 * 60
	minimum := int64(watchTimeout / time.Second)
	if asked == nil || *asked < clientGoMin {
		return minimum + rand.Int64N(minimum) //nolint:gosec // a spread of renewals, not a secret
	}
	return minimum + (*asked-clientGoMin)*minimum/clientGoMin
}
