package controller

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestOwnWritesStatus(t *testing.T) {
	key := types.NamespacedName{Namespace: "ml", Name: "scorer"}
	other := types.NamespacedName{Namespace: "ml", Name: "ranker"}
	for _, tc := range []struct {
		name   string
		writes []string // resourceVersions replaced by our writes, in order
		read   string
		want   bool
	}{
		{name: "nothing written: any copy is current", read: "10", want: false},
		{name: "the copy our write replaced is stale", writes: []string{"10"}, read: "10", want: true},
		{name: "so is one replaced by an earlier write of the same reconcile", writes: []string{"10", "11"}, read: "10", want: true},
		{name: "the copy our write made is current", writes: []string{"10"}, read: "11", want: false},
		{name: "a copy someone else wrote is current", writes: []string{"10"}, read: "15", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w ownWrites
			for _, rv := range tc.writes {
				w.statusWritten(key, rv)
			}
			w.statusWritten(other, tc.read) // another ModelDeployment's writes do not count
			if got := w.staleStatus(key, tc.read); got != tc.want {
				t.Errorf("staleStatus = %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("a current copy forgets what was written, and a gone ModelDeployment everything", func(t *testing.T) {
		var w ownWrites
		w.statusWritten(key, "10")
		if w.staleStatus(key, "11") || w.staleStatus(key, "10") {
			t.Error("a copy seen current ends the wait for the writes before it")
		}
		w.statusWritten(key, "12")
		w.deploymentDeleted(key, "u1")
		w.forget(key)
		if len(w.replaced) != 0 || len(w.deleted) != 0 {
			t.Errorf("forget left %v and %v", w.replaced, w.deleted)
		}
	})
}

func TestOwnWritesDeleted(t *testing.T) {
	key := types.NamespacedName{Namespace: "ml", Name: "scorer"}
	var w ownWrites
	w.deploymentDeleted(key, "old")
	if got := w.deletedOf(key, []types.UID{"old", "new"}); !got["old"] || got["new"] {
		t.Errorf("while the cache lists it, the deleted Deployment is known deleted, and only it: %v", got)
	}
	if got := w.deletedOf(key, []types.UID{"new"}); len(got) != 0 {
		t.Errorf("once the cache no longer lists it, nothing is deleted: %v", got)
	}
	if len(w.deleted) != 0 {
		t.Errorf("a Deployment the cache saw go is forgotten: %v", w.deleted)
	}
}

func TestOwnWritesPatched(t *testing.T) {
	var w ownWrites
	w.objectPatched("rev", "20")
	if !w.staleObject("rev", "20") {
		t.Error("the copy our patch replaced is stale")
	}
	if w.staleObject("other", "20") {
		t.Error("another object's copy is not")
	}
	if w.staleObject("rev", "21") || w.staleObject("rev", "20") {
		t.Error("once the patched copy was seen, nothing is waited for")
	}
	if len(w.patched) != 0 {
		t.Errorf("left %v", w.patched)
	}
}

func TestOwnWritesCreated(t *testing.T) {
	key := types.NamespacedName{Namespace: "ml", Name: "scorer"}
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	dep, svc := ownObject{kindDeployment, "scorer-v1"}, ownObject{kindService, "scorer"}
	var w ownWrites
	w.objectCreated(key, dep, start)
	w.objectCreated(key, svc, start.Add(10*time.Second))
	got, wait := w.createdOf(key, start.Add(time.Second))
	if len(got) != 2 || wait != createdWait+9*time.Second {
		t.Errorf("both created objects are waited for, the later one longest: %v, %v", got, wait)
	}
	w.createdSeen(key, svc)
	if got, wait := w.createdOf(key, start.Add(time.Second)); len(got) != 1 || got[0] != dep || wait != createdWait-time.Second {
		t.Errorf("a created object seen in the cache is no longer waited for: %v, %v", got, wait)
	}
	if got, wait := w.createdOf(key, start.Add(createdWait)); len(got) != 0 || wait != 0 {
		t.Errorf("nor one waited for long enough: %v, %v", got, wait)
	}
	if len(w.created) != 0 {
		t.Errorf("left %v", w.created)
	}
}

func TestOwnWritesApplied(t *testing.T) {
	key := types.NamespacedName{Namespace: "ml", Name: "scorer"}
	var w ownWrites
	if got := w.appliedGeneration(key, "u1"); got != 0 {
		t.Errorf("nothing applied: %d", got)
	}
	w.generationApplied(key, "u1", 3)
	if got := w.appliedGeneration(key, "u1"); got != 3 {
		t.Errorf("applied generation = %d, want 3", got)
	}
	if got := w.appliedGeneration(key, "u2"); got != 0 {
		t.Errorf("an object created again under the name has none applied: %d", got)
	}
	w.forget(key)
	if got := w.appliedGeneration(key, "u1"); got != 0 {
		t.Errorf("a gone ModelDeployment's applied generation is forgotten: %d", got)
	}
}
