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
)

// The manager caches Secrets and ConfigMaps by their metadata only (names,
// labels, resourceVersion), never their contents: it reads the few that
// ModelDeployments name, past the cache, and only again when their
// resourceVersion moved. A Secret's values are dropped as soon as its key
// names are taken; a ConfigMap is kept only while a model card names it.

// labelTrue is the value of a label or annotation that says yes.
const labelTrue = "true"

// secretMeta is what the checklist keeps of a Secret: its key names and
// whether it opted in to the manager reading its values.
type secretMeta struct {
	resourceVersion string
	keys            checklist.SecretKeys
	readable        bool
}

// referencedObjects remembers what was read of the referenced objects, by
// resourceVersion, so an unchanged one is never read twice.
type referencedObjects struct {
	mu         sync.Mutex
	secrets    map[types.NamespacedName]secretMeta
	configMaps map[types.NamespacedName]*corev1.ConfigMap
}

func (r *ModelDeploymentReconciler) referenced() *referencedObjects {
	r.referencedOnce.Do(func() {
		r.referencedObjs = &referencedObjects{
			secrets:    map[types.NamespacedName]secretMeta{},
			configMaps: map[types.NamespacedName]*corev1.ConfigMap{},
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
		readable: secret.Labels[servingv1alpha1.LabelManagerReadable] == labelTrue}
	for k := range secret.Data {
		got.keys[k] = struct{}{}
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
}

// secretRef names a Secret in a ModelDeployment's namespace.
func secretRef(md *servingv1alpha1.ModelDeployment, name string) types.NamespacedName {
	return client.ObjectKey{Namespace: md.Namespace, Name: name}
}
