package controller

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
	"github.com/modelgate/modelgate/internal/configrollout"
)

// The manager caches Secrets and ConfigMaps by their metadata only (names,
// labels, resourceVersion), never their contents: it reads the few that
// ModelDeployments name, past the cache, and only again when their
// resourceVersion moved. A Secret's values are dropped as soon as its key
// names (and, for one that opted in, the hash config rollout needs) are
// taken; a ConfigMap is kept only while a model card names it, and of one a
// pod template references only the hash of its data.

// labelTrue is the value of a label or annotation that says yes.
const labelTrue = "true"

// secretMeta is what the checklist keeps of a Secret: its key names and
// whether it opted in to the manager reading its values; and what config
// rollout keeps: why it does not cover the Secret, or the hash of its data.
type secretMeta struct {
	resourceVersion string
	keys            checklist.SecretKeys
	readable        bool
	untracked       string
	hash            string
}

// configMapHash is the hash of a ConfigMap's data at a resourceVersion.
type configMapHash struct {
	resourceVersion, hash string
}

// referencedObjects remembers what was read of the referenced objects, by
// resourceVersion, so an unchanged one is never read twice.
type referencedObjects struct {
	mu         sync.Mutex
	secrets    map[types.NamespacedName]secretMeta
	configMaps map[types.NamespacedName]*corev1.ConfigMap
	// configHashes are the hashes of the ConfigMaps pod templates reference,
	// without their data.
	configHashes map[types.NamespacedName]configMapHash
	// copies are the config copies found to hold their data, by kind and
	// name, at a UID and resourceVersion.
	copies map[copyKey]string
}

type copyKey struct {
	kind string
	types.NamespacedName
}

// copyVerified reports whether the copy m names was found to hold its data
// as it is now.
func (o *referencedObjects) copyVerified(kind string, m client.Object) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.copies[copyKey{kind, client.ObjectKeyFromObject(m)}] == string(m.GetUID())+"/"+m.GetResourceVersion()
}

func (o *referencedObjects) rememberCopy(kind string, m client.Object) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.copies[copyKey{kind, client.ObjectKeyFromObject(m)}] = string(m.GetUID()) + "/" + m.GetResourceVersion()
}

func (r *ModelDeploymentReconciler) referenced() *referencedObjects {
	r.referencedOnce.Do(func() {
		r.referencedObjs = &referencedObjects{
			secrets:      map[types.NamespacedName]secretMeta{},
			configMaps:   map[types.NamespacedName]*corev1.ConfigMap{},
			configHashes: map[types.NamespacedName]configMapHash{},
			copies:       map[copyKey]string{},
		}
	})
	return r.referencedObjs
}

// metadataOf reads an object's metadata from the metadata-only cache; nil
// when it does not exist.
func (r *ModelDeploymentReconciler) metadataOf(ctx context.Context, kind string, key types.NamespacedName) (*metav1.PartialObjectMetadata, error) {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	if err := r.Get(ctx, key, m); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return m, nil
}

// secretKeys reads the key names of a Secret the checks need, and whether it
// opted in to the manager reading it; ok is false when it does not exist.
func (r *ModelDeploymentReconciler) secretKeys(ctx context.Context, key types.NamespacedName) (secretMeta, bool, error) {
	m, err := r.metadataOf(ctx, "Secret", key)
	if err != nil || m == nil {
		r.referenced().forgetSecret(key)
		return secretMeta{}, false, err
	}
	ref := r.referenced()
	ref.mu.Lock()
	known, seen := ref.secrets[key]
	ref.mu.Unlock()
	if seen && known.resourceVersion == m.ResourceVersion {
		return known, true, nil
	}
	if r.APIReader == nil {
		return secretMeta{}, false, errNoAPIReader
	}
	secret := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, key, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return secretMeta{}, false, nil
		}
		return secretMeta{}, false, err
	}
	got := secretMeta{resourceVersion: secret.ResourceVersion, keys: checklist.SecretKeys{},
		readable:  secret.Labels[servingv1alpha1.LabelManagerReadable] == labelTrue,
		untracked: configrollout.Untracked(secret.Labels, secret.Type)}
	for k := range secret.Data {
		got.keys[k] = struct{}{}
	}
	if got.untracked == "" {
		// Only a Secret that opted in is hashed, and only the hash is kept.
		got.hash = configrollout.SecretHash(secret)
	}
	ref.mu.Lock()
	ref.secrets[key] = got
	ref.mu.Unlock()
	return got, true, nil
}

func (o *referencedObjects) forgetSecret(key types.NamespacedName) {
	o.mu.Lock()
	delete(o.secrets, key)
	o.mu.Unlock()
}

// configMap reads a ConfigMap a model card names; nil when it does not exist.
func (r *ModelDeploymentReconciler) configMap(ctx context.Context, key types.NamespacedName) (*corev1.ConfigMap, error) {
	ref := r.referenced()
	m, err := r.metadataOf(ctx, "ConfigMap", key)
	if err != nil || m == nil {
		ref.mu.Lock()
		delete(ref.configMaps, key)
		ref.mu.Unlock()
		return nil, err
	}
	ref.mu.Lock()
	known := ref.configMaps[key]
	ref.mu.Unlock()
	if known != nil && known.ResourceVersion == m.ResourceVersion {
		return known, nil
	}
	if r.APIReader == nil {
		return nil, fmt.Errorf("cannot read ConfigMap %s: the reconciler has no APIReader", key)
	}
	cm := &corev1.ConfigMap{}
	if err := r.APIReader.Get(ctx, key, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	cm.ManagedFields = nil
	ref.mu.Lock()
	ref.configMaps[key] = cm
	ref.mu.Unlock()
	return cm, nil
}

// forget drops what was read for a ModelDeployment that is gone. Objects
// another ModelDeployment names are read again on its next reconcile.
func (o *referencedObjects) forgetNamespace(namespace string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for k := range o.secrets {
		if k.Namespace == namespace {
			delete(o.secrets, k)
		}
	}
	for k := range o.configMaps {
		if k.Namespace == namespace {
			delete(o.configMaps, k)
		}
	}
	for k := range o.configHashes {
		if k.Namespace == namespace {
			delete(o.configHashes, k)
		}
	}
	for k := range o.copies {
		if k.Namespace == namespace {
			delete(o.copies, k)
		}
	}
}

// configMapDataHash is the hash of the data of a ConfigMap a pod template
// references; found is false when it does not exist. The data is read past
// the cache only when the resourceVersion moved, and is not kept.
func (r *ModelDeploymentReconciler) configMapDataHash(ctx context.Context, key types.NamespacedName) (hash string, found bool, err error) {
	ref := r.referenced()
	m, err := r.metadataOf(ctx, "ConfigMap", key)
	if err != nil || m == nil {
		ref.mu.Lock()
		delete(ref.configHashes, key)
		ref.mu.Unlock()
		return "", false, err
	}
	ref.mu.Lock()
	known, seen := ref.configHashes[key]
	ref.mu.Unlock()
	if seen && known.resourceVersion == m.ResourceVersion {
		return known.hash, true, nil
	}
	if r.APIReader == nil {
		return "", false, fmt.Errorf("cannot read ConfigMap %s: the reconciler has no APIReader", key)
	}
	cm := &corev1.ConfigMap{}
	if err := r.APIReader.Get(ctx, key, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return "", false, nil
		}
		return "", false, err
	}
	hash = configrollout.ConfigMapHash(cm)
	ref.mu.Lock()
	ref.configHashes[key] = configMapHash{resourceVersion: cm.ResourceVersion, hash: hash}
	ref.mu.Unlock()
	return hash, true, nil
}

// secretRef names a Secret in a ModelDeployment's namespace.
func secretRef(md *servingv1alpha1.ModelDeployment, name string) types.NamespacedName {
	return client.ObjectKey{Namespace: md.Namespace, Name: name}
}
