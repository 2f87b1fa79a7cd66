package controller

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// ownWrites remembers, per ModelDeployment, what the manager's own writes
// made stale in its cache until the cache catches up: the resourceVersions
// its status writes replaced, the Deployments it patched and deleted, the
// objects it created. A reconcile that reads such a copy would compute from
// the past and send a write the API server refuses (a conflict), a POST it answers
// with 409, a patch that changes nothing or a DELETE it answers with 404; the
// watch event of the write queues the ModelDeployment again once the cache
// holds it, so nothing is lost by waiting for it.
type ownWrites struct {
	mu sync.Mutex
	// replaced are the resourceVersions of the ModelDeployment that its
	// status writes replaced.
	replaced map[types.NamespacedName]map[string]struct{}
	// deleted are the UIDs of the Deployments deleted.
	deleted map[types.NamespacedName]map[types.UID]struct{}
	// patched are the resourceVersions that patches of owned objects (a
	// revision marked promoted, a Deployment resized) replaced, by the
	// object's UID.
	patched map[types.UID]string
	// created are the objects created that the cache did not hold yet,
	// with when.
	created map[types.NamespacedName]map[ownObject]time.Time
	// applied is the generation whose decision a reconcile applied without
	// writing observedGeneration: the next reconcile's status write, which
	// that reconcile's own writes queue, carries it. By UID: a
	// ModelDeployment deleted and created again under its name before a
	// reconcile saw it gone starts its generations anew.
	applied map[types.NamespacedName]appliedGeneration
}

// appliedGeneration is a generation of the object of one UID.
type appliedGeneration struct {
	uid        types.UID
	generation int64
}

// createdWait is how long an object the manager created is waited for in
// its cache. Past it, the reconcile goes on without it: one deleted before
// the cache ever saw it must not hold the ModelDeployment for good.
const createdWait = 30 * time.Second

// ownObject names an object a ModelDeployment owns: its kind (kindDeployment,
// kindService, kindControllerRevision) and name.
type ownObject struct{ kind, name string }

// objectCreated records that an owned object of key was created at now.
func (w *ownWrites) objectCreated(key types.NamespacedName, obj ownObject, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.created == nil {
		w.created = map[types.NamespacedName]map[ownObject]time.Time{}
	}
	if w.created[key] == nil {
		w.created[key] = map[ownObject]time.Time{}
	}
	w.created[key][obj] = now
}

// createdOf returns the objects of key created and not seen in the cache yet,
// and how long to wait at most for them; it forgets those waited for long
// enough.
func (w *ownWrites) createdOf(key types.NamespacedName, now time.Time) ([]ownObject, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var (
		out  []ownObject
		wait time.Duration
	)
	for obj, at := range w.created[key] {
		left := at.Add(createdWait).Sub(now)
		if left <= 0 {
			delete(w.created[key], obj)
			continue
		}
		out = append(out, obj)
		wait = max(wait, left)
	}
	if len(out) == 0 {
		delete(w.created, key)
	}
	return out, wait
}

// createdSeen forgets a created object the cache now holds.
func (w *ownWrites) createdSeen(key types.NamespacedName, obj ownObject) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.created[key], obj)
	if len(w.created[key]) == 0 {
		delete(w.created, key)
	}
}

// generationApplied records that the decision of generation gen of key,
// whose UID is uid, was applied, and observedGeneration left to the next
// status write.
func (w *ownWrites) generationApplied(key types.NamespacedName, uid types.UID, gen int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.applied == nil {
		w.applied = map[types.NamespacedName]appliedGeneration{}
	}
	w.applied[key] = appliedGeneration{uid, gen}
}

// appliedGeneration is the generation of key last recorded as applied, or 0
// if none was of the object whose UID is uid.
func (w *ownWrites) appliedGeneration(key types.NamespacedName, uid types.UID) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if a, ok := w.applied[key]; ok && a.uid == uid {
		return a.generation
	}
	return 0
}

// objectPatched records that a patch of an owned object replaced
// resourceVersion from.
func (w *ownWrites) objectPatched(uid types.UID, from string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.patched == nil {
		w.patched = map[types.UID]string{}
	}
	w.patched[uid] = from
}

// staleObject reports whether a cached copy of an owned object is one the
// manager's own patch replaced; a copy that is not ends the wait.
func (w *ownWrites) staleObject(uid types.UID, rv string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if from, ok := w.patched[uid]; ok && from == rv {
		return true
	}
	delete(w.patched, uid)
	return false
}

// statusWritten records that a status write replaced resourceVersion from.
func (w *ownWrites) statusWritten(key types.NamespacedName, from string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.replaced == nil {
		w.replaced = map[types.NamespacedName]map[string]struct{}{}
	}
	if w.replaced[key] == nil {
		w.replaced[key] = map[string]struct{}{}
	}
	w.replaced[key][from] = struct{}{}
}

// staleStatus reports whether a copy at resourceVersion rv is one the
// manager's own writes already replaced. A copy that is not means the cache
// caught up (or someone else wrote): what was remembered is forgotten.
func (w *ownWrites) staleStatus(key types.NamespacedName, rv string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.replaced[key][rv]; ok {
		return true
	}
	delete(w.replaced, key)
	return false
}

// deploymentDeleted records the deletion of a Deployment of key.
func (w *ownWrites) deploymentDeleted(key types.NamespacedName, uid types.UID) {
	if uid == "" {
		return // not one the API server made: nothing to tell it apart by
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.deleted == nil {
		w.deleted = map[types.NamespacedName]map[types.UID]struct{}{}
	}
	if w.deleted[key] == nil {
		w.deleted[key] = map[types.UID]struct{}{}
	}
	w.deleted[key][uid] = struct{}{}
}

// deletedOf returns which of the Deployments the cache still lists for key
// were deleted already, and forgets those it no longer lists.
func (w *ownWrites) deletedOf(key types.NamespacedName, listed []types.UID) map[types.UID]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	gone := map[types.UID]bool{}
	for _, uid := range listed {
		if _, ok := w.deleted[key][uid]; ok {
			gone[uid] = true
		}
	}
	if len(gone) == 0 {
		delete(w.deleted, key)
	} else {
		w.deleted[key] = make(map[types.UID]struct{}, len(gone))
		for uid := range gone {
			w.deleted[key][uid] = struct{}{}
		}
	}
	return gone
}

// forget drops all that is remembered of a ModelDeployment that is gone.
func (w *ownWrites) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.replaced, key)
	delete(w.deleted, key)
	delete(w.created, key)
	delete(w.applied, key)
}
