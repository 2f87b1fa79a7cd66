// Package configrollout makes the ConfigMaps and Secrets a pod template
// references part of a revision's identity: each revision reads immutable
// copies named by a hash of their data, so a change of the data is a new
// revision that rolls out like a new image, and a rollback reads the old data.
package configrollout

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// Kinds of the objects a template references.
const (
	KindConfigMap = "ConfigMap"
	KindSecret    = "Secret"
)

// Labels and annotations of a copy.
const (
	// LabelCopy marks a copy modelgate made, so a ModelDeployment's copies
	// are listed by label.
	LabelCopy = "serving.modelgate.dev/config-copy"
	// AnnotationCopyOf names the object a copy was made from.
	AnnotationCopyOf = "serving.modelgate.dev/copy-of"
)

// Enabled reports whether spec.configRollout asks for copies.
func Enabled(md *servingv1alpha1.ModelDeployment) bool {
	return md.Spec.ConfigRollout != servingv1alpha1.ConfigRolloutOff
}

// Ref names a ConfigMap or a Secret of the ModelDeployment's namespace.
type Ref struct {
	Kind, Name string
}

func (r Ref) String() string { return r.Kind + " " + r.Name }

// Reference is an object the template references; Optional when every
// reference to it is marked optional.
type Reference struct {
	Ref
	Optional bool
}

// References lists the ConfigMaps and Secrets the pod spec references, in
// its volumes (projected sources too) and in the env and envFrom of every
// container and init container, sorted. imagePullSecrets are the kubelet's,
// not the server's, and are left out.
func References(spec *corev1.PodSpec) []Reference {
	required := map[Ref]bool{}
	add := func(kind, name string, optional *bool) {
		if name == "" {
			return
		}
		r := Ref{kind, name}
		required[r] = required[r] || !ptr.Deref(optional, false)
	}
	eachRef(spec, func(kind string, name *string, optional *bool) { add(kind, *name, optional) })
	out := make([]Reference, 0, len(required))
	for r, req := range required {
		out = append(out, Reference{Ref: r, Optional: !req})
	}
	slices.SortFunc(out, func(a, b Reference) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name)) })
	return out
}

// eachRef calls f with every place of the pod spec that names a ConfigMap or
// a Secret, so References and Rewrite read and write the same places.
func eachRef(spec *corev1.PodSpec, f func(kind string, name *string, optional *bool)) {
	containers := func(cs []corev1.Container) {
		for i := range cs {
			c := &cs[i]
			for j := range c.EnvFrom {
				if r := c.EnvFrom[j].ConfigMapRef; r != nil {
					f(KindConfigMap, &r.Name, r.Optional)
				}
				if r := c.EnvFrom[j].SecretRef; r != nil {
					f(KindSecret, &r.Name, r.Optional)
				}
			}
			for j := range c.Env {
				vf := c.Env[j].ValueFrom
				if vf == nil {
					continue
				}
				if r := vf.ConfigMapKeyRef; r != nil {
					f(KindConfigMap, &r.Name, r.Optional)
				}
				if r := vf.SecretKeyRef; r != nil {
					f(KindSecret, &r.Name, r.Optional)
				}
			}
		}
	}
	containers(spec.InitContainers)
	containers(spec.Containers)
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		if c := v.ConfigMap; c != nil {
			f(KindConfigMap, &c.Name, c.Optional)
		}
		if s := v.Secret; s != nil {
			f(KindSecret, &s.SecretName, s.Optional)
		}
		if p := v.Projected; p != nil {
			for j := range p.Sources {
				if c := p.Sources[j].ConfigMap; c != nil {
					f(KindConfigMap, &c.Name, c.Optional)
				}
				if s := p.Sources[j].Secret; s != nil {
					f(KindSecret, &s.Name, s.Optional)
				}
			}
		}
	}
}

// Source is what the controller found of one referenced object.
type Source struct {
	Reference
	// Found is false for an object that does not exist.
	Found bool
	// Hash of its data (ConfigMapHash, SecretHash) when Found and tracked.
	Hash string
	// Untracked says why config rollout does not cover the object, which the
	// pods then read live; "" when it does.
	Untracked string
}

// Copy is an immutable copy a revision reads instead of the live object.
type Copy struct {
	Ref
	// Name of the copy.
	Name string
	// Hash of the data it holds: the live object's, or EmptyHash for a
	// missing optional object.
	Hash string
	// Empty is set for the copy of a missing optional object: pods read
	// nothing from it, as they would from the missing object.
	Empty bool
}

// Names are the names of the copies, sorted: what an approval's digest
// binds to (approval.Digest).
func Names(copies []Copy) []string {
	out := make([]string, 0, len(copies))
	for _, c := range copies {
		out = append(out, c.Kind+"/"+c.Name)
	}
	slices.Sort(out)
	return out
}

// EmptyHash is the hash of the copy of a missing optional object.
const EmptyHash = "empty"

// Plan names the copies a revision reads. A tracked object gets a copy of its
// data; a missing optional one an empty copy (a pod reads nothing from either,
// and the object's creation is then a change); a missing required one and an
// untracked one are read live, as without config rollout.
func Plan(md *servingv1alpha1.ModelDeployment, sources []Source) []Copy {
	out := make([]Copy, 0, len(sources))
	for _, s := range sources {
		var hash string
		switch {
		case s.Untracked != "":
			continue
		case s.Found:
			hash = s.Hash
		case s.Optional:
			hash = EmptyHash
		default:
			continue
		}
		out = append(out, Copy{Ref: s.Ref, Name: CopyName(md, s.Ref, hash), Hash: hash, Empty: !s.Found})
	}
	return out
}

// CopyName is "<name>-<16 hex>", the hex a hash of the owner, the object and
// its data: equal data shares one copy within a ModelDeployment, and two
// ModelDeployments never share one. A name too long for the suffix is cut.
// The name is the data's identity (in the template hash, the approvals, a
// copy made again), so it has 64 bits: 32 would let whoever edits the
// object find other data of the same name in minutes.
func CopyName(md *servingv1alpha1.ModelDeployment, r Ref, hash string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{md.Name, r.Kind, r.Name, hash}, "\x00")))
	suffix := "-" + hex.EncodeToString(sum[:8])
	name := r.Name
	if limit := validation.DNS1123SubdomainMaxLength - len(suffix); len(name) > limit {
		name = strings.TrimRight(name[:limit], ".-")
	}
	return name + suffix
}

// ConfigMapHash identifies a ConfigMap's data.
func ConfigMapHash(cm *corev1.ConfigMap) string {
	return digest(struct {
		Data       map[string]string `json:"data,omitempty"`
		BinaryData map[string][]byte `json:"binaryData,omitempty"`
	}{cm.Data, cm.BinaryData})
}

// SecretHash identifies a Secret's type and data. It is keyed by the
// Secret's UID, so the hash in a copy's name, which anyone who may read
// Deployments sees, does not let one guess a short value offline.
func SecretHash(s *corev1.Secret) string {
	return digest(struct {
		UID  string            `json:"uid"`
		Type corev1.SecretType `json:"type,omitempty"`
		Data map[string][]byte `json:"data,omitempty"`
	}{string(s.UID), s.Type, s.Data})
}

func digest(v any) string {
	b, _ := json.Marshal(v) // maps of strings and bytes always marshal
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Untracked says why config rollout does not cover a Secret, from its
// metadata, or "" when it does: the manager copies only the Secrets that
// opted in to being read, and never a service account's token.
func Untracked(labels map[string]string, secretType corev1.SecretType) string {
	switch {
	case secretType == corev1.SecretTypeServiceAccountToken:
		return "a service account token is not copied"
	case labels[servingv1alpha1.LabelManagerReadable] != "true":
		return fmt.Sprintf("not labelled %s=true, so modelgate does not read it", servingv1alpha1.LabelManagerReadable)
	}
	return ""
}

// Rewrite is the template with every reference to an object that has a copy
// naming the copy instead. The template given is not changed.
func Rewrite(tpl corev1.PodTemplateSpec, copies []Copy) corev1.PodTemplateSpec {
	if len(copies) == 0 {
		return tpl
	}
	names := make(map[Ref]string, len(copies))
	for _, c := range copies {
		names[c.Ref] = c.Name
	}
	out := *tpl.DeepCopy()
	eachRef(&out.Spec, func(kind string, name *string, _ *bool) {
		if n, ok := names[Ref{kind, *name}]; ok {
			*name = n
		}
	})
	return out
}

// Metadata is the metadata of a copy: owned by the ModelDeployment (the
// caller sets the owner reference), labelled as its copy, naming its source.
func Metadata(md *servingv1alpha1.ModelDeployment, c Copy, selectorLabels map[string]string) metav1.ObjectMeta {
	labels := make(map[string]string, len(selectorLabels)+1)
	for k, v := range selectorLabels {
		labels[k] = v
	}
	labels[LabelCopy] = "true"
	return metav1.ObjectMeta{Name: c.Name, Namespace: md.Namespace, Labels: labels,
		Annotations: map[string]string{AnnotationCopyOf: c.Ref.Name}}
}

// ConfigMapCopy is the immutable copy of src (nil for a missing optional one).
func ConfigMapCopy(meta metav1.ObjectMeta, src *corev1.ConfigMap) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{ObjectMeta: meta, Immutable: ptr.To(true)}
	if src != nil {
		cm.Data, cm.BinaryData = src.Data, src.BinaryData
	}
	return cm
}

// SecretCopy is the immutable copy of src (nil for a missing optional one).
func SecretCopy(meta metav1.ObjectMeta, src *corev1.Secret) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: meta, Immutable: ptr.To(true), Type: corev1.SecretTypeOpaque}
	if src != nil {
		s.Type, s.Data = src.Type, src.Data
	}
	return s
}

// InUse adds to used the copies a pod spec reads (any reference to an object
// named like one of ours counts; the caller intersects with its copies).
func InUse(spec *corev1.PodSpec, used map[Ref]bool) {
	eachRef(spec, func(kind string, name *string, _ *bool) { used[Ref{kind, *name}] = true })
}

// Prune names the copies no revision reads any more, sorted.
func Prune(copies []Ref, used map[Ref]bool) []Ref {
	var out []Ref
	for _, c := range copies {
		if !used[c] {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Ref) int { return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name)) })
	return out
}

// Holds reports whether have, an object found under a copy's name, is the
// copy want (ConfigMapCopy, SecretCopy): immutable and holding want's data.
// Anyone who may create in the namespace can plant an object there, owner
// reference and all, before the copy is made or after it is deleted; only
// the data tells a planted one from ours.
func Holds(want, have client.Object) bool {
	switch w := want.(type) {
	case *corev1.ConfigMap:
		h, ok := have.(*corev1.ConfigMap)
		return ok && ptr.Deref(h.Immutable, false) && ConfigMapHash(w) == ConfigMapHash(h)
	case *corev1.Secret:
		h, ok := have.(*corev1.Secret)
		// The hash without the UIDs: a copy's UID is never its source's.
		return ok && ptr.Deref(h.Immutable, false) &&
			SecretHash(&corev1.Secret{Type: w.Type, Data: w.Data}) == SecretHash(&corev1.Secret{Type: h.Type, Data: h.Data})
	}
	return false
}

// Record is what a revision keeps of one copy it reads, so that the copies
// of every revision in use, not only the spec's, can be checked and made
// again. A Secret's values are never kept: only a keyed hash of them.
type Record struct {
	Kind string `json:"kind"`
	// Name of the copy, and Of the object it was made from.
	Name string `json:"name"`
	Of   string `json:"of"`
	// Hash of the copy's content (CopyHash, keyed by the ModelDeployment's UID).
	Hash string `json:"hash"`
	// Empty is the copy of a missing optional object.
	Empty bool `json:"empty,omitempty"`
	// Data and BinaryData of a ConfigMap's copy, to make it again.
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
}

// NewRecord is the record of copy c, made as obj (ConfigMapCopy, SecretCopy).
func NewRecord(c Copy, obj client.Object, key types.UID) Record {
	rec := Record{Kind: c.Kind, Name: c.Name, Of: c.Ref.Name, Hash: CopyHash(obj, key), Empty: c.Empty}
	if cm, ok := obj.(*corev1.ConfigMap); ok {
		rec.Data, rec.BinaryData = cm.Data, cm.BinaryData
	}
	return rec
}

// CopyHash identifies the content of an object under a copy's name. A
// Secret's is keyed, as SecretHash is, here by the ModelDeployment's UID
// (a copy's own UID changes when it is made again), so the hash kept in a
// ControllerRevision does not let its readers guess a short value offline.
func CopyHash(obj client.Object, key types.UID) string {
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		return ConfigMapHash(o)
	case *corev1.Secret:
		return SecretHash(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{UID: key}, Type: o.Type, Data: o.Data})
	}
	return ""
}

// Want is the copy rec records, to make it again, or nil when its data is
// not known: a Secret's values are not kept, so a lost Secret copy of a
// revision other than the spec's cannot be made again.
func (rec Record) Want(meta metav1.ObjectMeta) client.Object {
	switch {
	case rec.Kind == KindConfigMap:
		return ConfigMapCopy(meta, &corev1.ConfigMap{Data: rec.Data, BinaryData: rec.BinaryData})
	case rec.Empty:
		return SecretCopy(meta, nil)
	}
	return nil
}

// Verdict is what to do with the object under a recorded copy's name.
type Verdict int

const (
	// Intact: the object is the copy.
	Intact Verdict = iota
	// Missing: there is none; it is made again when its data is known.
	Missing
	// Planted: the object is not the copy (not the ModelDeployment's, not
	// immutable, or holding other content); it is removed and made again
	// when its data is known.
	Planted
)

// Check judges have, the object found under rec's name (nil if none):
// only an immutable object the ModelDeployment controls, holding the
// recorded content, is the copy. haveHash is CopyHash of have, "" when it
// was not read (an object the ModelDeployment does not control is not).
func Check(rec Record, have client.Object, controlled bool, haveHash string) Verdict {
	switch {
	case have == nil:
		return Missing
	case !controlled || haveHash != rec.Hash:
		return Planted
	}
	immutable := false
	switch o := have.(type) {
	case *corev1.ConfigMap:
		immutable = ptr.Deref(o.Immutable, false)
	case *corev1.Secret:
		immutable = ptr.Deref(o.Immutable, false)
	}
	if !immutable {
		return Planted
	}
	return Intact
}
