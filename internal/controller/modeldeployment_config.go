package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/configrollout"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// ReasonConfigCopied is the event of an immutable copy made of a ConfigMap or
// Secret whose data a revision reads.
const ReasonConfigCopied = "ConfigCopied"

// Config rollouts make and remove the immutable copies each revision reads;
// a copy never changes, so it is created and deleted, never patched.
// +kubebuilder:rbac:groups="",resources=configmaps;secrets,verbs=create;delete

// gatherConfig reads the ConfigMaps and Secrets the spec's template
// references and returns the template reading the copies of their data
// (configrollout.Plan), whose hash is then the revision's identity. With
// spec.configRollout Off the template is returned as it is.
func (r *ModelDeploymentReconciler) gatherConfig(ctx context.Context, s *scope, tpl corev1.PodTemplateSpec) (corev1.PodTemplateSpec, error) {
	s.configSources, s.configCopies = nil, nil
	if !configrollout.Enabled(s.md) {
		return tpl, nil
	}
	for _, ref := range configrollout.References(&tpl.Spec) {
		src := configrollout.Source{Reference: ref}
		key := types.NamespacedName{Namespace: s.md.Namespace, Name: ref.Name}
		var err error
		switch ref.Kind {
		case configrollout.KindConfigMap:
			src.Hash, src.Found, err = r.configMapDataHash(ctx, key)
		case configrollout.KindSecret:
			var got secretMeta
			got, src.Found, err = r.secretKeys(ctx, key)
			src.Hash, src.Untracked = got.hash, got.untracked
		}
		switch {
		case apierrors.IsForbidden(err):
			// A cluster that does not let the manager read it: the pods read
			// it live, as without config rollout, and the secrets item says so.
			src.Found, src.Hash, src.Untracked = false, "", "modelgate may not read it"
		case err != nil:
			return tpl, fmt.Errorf("reading %s for config rollout: %w", ref, err)
		}
		s.configSources = append(s.configSources, src)
	}
	s.configCopies = configrollout.Plan(s.md, s.configSources)
	return configrollout.Rewrite(tpl, s.configCopies), nil
}

// configNotCovered names the referenced Secrets config rollout does not
// cover, with why, for the secrets item to say so.
func configNotCovered(s *scope) map[string]string {
	var out map[string]string
	for _, src := range s.configSources {
		if src.Untracked != "" && src.Kind == configrollout.KindSecret {
			if out == nil {
				out = map[string]string{}
			}
			out[src.Name] = src.Untracked
		}
	}
	return out
}

// applyConfigCopies makes the copies the spec's revision reads, before its
// Deployment is written, so its pods never wait for them. A copy is made
// from the live object only while its data still has the hash the decision
// was made with; otherwise the next reconcile decides again.
func (r *ModelDeploymentReconciler) applyConfigCopies(ctx context.Context, s *scope) error {
	recorded := specRecords(s)
	for _, c := range s.configCopies {
		m, err := r.metadataOf(ctx, c.Kind, types.NamespacedName{Namespace: s.md.Namespace, Name: c.Name})
		if err != nil {
			return fmt.Errorf("reading copy %s of %s: %w", c.Name, c.Ref, err)
		}
		if m != nil && !metav1.IsControlledBy(m, s.md) {
			taken := fmt.Errorf("the copy of %s would be named %s, which is taken by a %s modelgate does not own for %s: rename or remove it", c.Ref, c.Name, c.Kind, s.md.Name)
			if err := r.removePlanted(ctx, s, c, m, recorded[c.Name], taken); err != nil {
				return err
			}
			m = nil
		}
		if m != nil && r.referenced().copyVerified(c.Kind, m) {
			continue
		}
		obj, err := r.configCopy(ctx, s.md, c)
		if err != nil {
			return err
		}
		if m != nil {
			// An owner reference proves nothing: anyone who may create in the
			// namespace can plant one, before the copy is made or after it
			// is deleted. The data must be the object's.
			holds, err := r.verifyCopy(ctx, c, obj)
			switch {
			case err != nil:
				return err
			case holds:
				continue
			}
			other := fmt.Errorf("the copy of %s is named %s, but the %s of that name holds other data than %s (made by someone else with an owner reference to %s?): remove it",
				c.Ref, c.Name, c.Kind, c.Ref, s.md.Name)
			if err := r.removePlanted(ctx, s, c, m, recorded[c.Name], other); err != nil {
				return err
			}
		}
		if err := controllerutil.SetControllerReference(s.md, obj, r.Scheme); err != nil {
			return err
		}
		logf.FromContext(ctx).Info("Copying config for a revision", "copy", klog.KObj(obj), "of", c.String())
		if err := r.Create(ctx, obj); err != nil {
			if apierrors.IsAlreadyExists(err) {
				continue // our cache had not seen it yet
			}
			return fmt.Errorf("creating copy %s of %s: %w", c.Name, c.Ref, err)
		}
		r.referenced().rememberCopy(c.Kind, obj)
		if r.Recorder != nil {
			what := "its data"
			if c.Empty {
				what = "nothing (it does not exist and is optional)"
			}
			r.Recorder.Eventf(s.md, nil, corev1.EventTypeNormal, ReasonConfigCopied, "Reconcile",
				"Version %s reads %s as the immutable copy %s, holding %s", s.md.Spec.Model.Version, c.Ref, c.Name, what)
		}
	}
	return nil
}

// verifyCopy reports whether the object found under a copy's name holds
// want's data, past the cache, and remembers it by UID and resourceVersion
// so an unchanged copy is read once.
func (r *ModelDeploymentReconciler) verifyCopy(ctx context.Context, c configrollout.Copy, want client.Object) (bool, error) {
	if r.APIReader == nil {
		return false, errNoAPIReader
	}
	have := want.DeepCopyObject().(client.Object)
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(want), have); err != nil {
		return false, fmt.Errorf("reading copy %s of %s: %w", c.Name, c.Ref, err)
	}
	if !configrollout.Holds(want, have) {
		return false, nil
	}
	r.referenced().rememberCopy(c.Kind, have)
	return true, nil
}

// specRecords names the copies the spec's revision records, when it is kept.
func specRecords(s *scope) map[string]bool {
	cr, ok := s.revisions[s.decision.SpecDeployment]
	if !ok || cr.Annotations[desiredstate.AnnotationTemplateHash] != s.templateHash {
		return nil
	}
	data, err := desiredstate.ReadRevision(cr)
	if err != nil {
		return nil // an unreadable record records nothing: objects in the way hold the revision
	}
	out := map[string]bool{}
	for _, rec := range data.Copies {
		out[rec.Name] = true
	}
	return out
}

// removePlanted removes m, found under the name of a copy the spec's
// revision records, that is not that copy, with a warning, for the copy to
// be made again. A copy the revision does not record yet holds the revision
// instead (why), as before it was ever made: modelgate cannot tell then.
func (r *ModelDeploymentReconciler) removePlanted(ctx context.Context, s *scope, c configrollout.Copy, m client.Object, recorded bool, why error) error {
	if !recorded {
		return why
	}
	logf.FromContext(ctx).Info("Removing an object planted under a config copy's name", "copy", klog.KObj(m), "kind", c.Kind, "revision", s.decision.SpecDeployment)
	if err := r.Delete(ctx, m, client.Preconditions{UID: ptr.To(m.GetUID())}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("removing %s planted under the name of a copy: %w", c.Name, err)
	}
	problem := fmt.Sprintf("%s %s, the copy of %s that revision %s reads, did not hold the content recorded for it (planted?); removed and made again",
		c.Kind, c.Name, c.Ref, s.decision.SpecDeployment)
	s.copyProblems = append(s.copyProblems, problem)
	if r.Recorder != nil {
		r.Recorder.Eventf(s.md, nil, corev1.EventTypeWarning, ReasonConfigCopyReplaced, "Reconcile", "%s", problem)
	}
	return nil
}

// errConfigChanged says a referenced object changed between the decision
// and its copy; the watch on it brings the next decision.
type errConfigChanged struct{ ref configrollout.Ref }

func (e errConfigChanged) Error() string {
	return fmt.Sprintf("%s changed while its copy was being made; deciding again", e.ref)
}

// configCopy is the copy c names, made from the live object past the cache.
func (r *ModelDeploymentReconciler) configCopy(ctx context.Context, md *servingv1alpha1.ModelDeployment, c configrollout.Copy) (client.Object, error) {
	meta := configrollout.Metadata(md, c, desiredstate.SelectorLabels(md))
	if r.APIReader == nil {
		return nil, errNoAPIReader
	}
	key := types.NamespacedName{Namespace: md.Namespace, Name: c.Ref.Name}
	switch c.Kind {
	case configrollout.KindConfigMap:
		if c.Empty {
			return configrollout.ConfigMapCopy(meta, nil), nil
		}
		cm := &corev1.ConfigMap{}
		if err := r.APIReader.Get(ctx, key, cm); err != nil {
			return nil, fmt.Errorf("reading %s to copy it: %w", c.Ref, err)
		}
		if configrollout.ConfigMapHash(cm) != c.Hash {
			return nil, errConfigChanged{c.Ref}
		}
		return configrollout.ConfigMapCopy(meta, cm), nil
	default:
		if c.Empty {
			return configrollout.SecretCopy(meta, nil), nil
		}
		secret := &corev1.Secret{}
		if err := r.APIReader.Get(ctx, key, secret); err != nil {
			return nil, fmt.Errorf("reading %s to copy it: %w", c.Ref, err)
		}
		if configrollout.Untracked(secret.Labels, secret.Type) != "" || configrollout.SecretHash(secret) != c.Hash {
			return nil, errConfigChanged{c.Ref}
		}
		return configrollout.SecretCopy(meta, secret), nil
	}
}

// pruneConfigCopies removes the copies no revision reads any more: not the
// spec's, not a Deployment's, not one kept in a ControllerRevision. The
// revisions are read only when some copy is not in use by the first two.
func (r *ModelDeploymentReconciler) pruneConfigCopies(ctx context.Context, s *scope) error {
	md := s.md
	selector := desiredstate.SelectorLabels(md)
	selector[configrollout.LabelCopy] = labelTrue
	var copies []configrollout.Ref
	for _, kind := range []string{configrollout.KindConfigMap, configrollout.KindSecret} {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind + "List"))
		if err := r.List(ctx, list, client.InNamespace(md.Namespace), client.MatchingLabels(selector)); err != nil {
			return fmt.Errorf("listing the %s copies of %s: %w", kind, md.Name, err)
		}
		for i := range list.Items {
			if metav1.IsControlledBy(&list.Items[i], md) {
				copies = append(copies, configrollout.Ref{Kind: kind, Name: list.Items[i].Name})
			}
		}
	}
	if len(copies) == 0 {
		return nil
	}
	used := map[configrollout.Ref]bool{}
	configrollout.InUse(&s.template.Spec, used)
	for _, dep := range s.deployments {
		configrollout.InUse(&dep.Spec.Template.Spec, used)
	}
	if len(configrollout.Prune(copies, used)) == 0 {
		return nil
	}
	for _, cr := range s.revisions {
		data, err := desiredstate.ReadRevision(cr)
		if err != nil {
			return err
		}
		configrollout.InUse(&data.Template.Spec, used)
	}
	for _, c := range configrollout.Prune(copies, used) {
		var obj client.Object = &corev1.ConfigMap{}
		if c.Kind == configrollout.KindSecret {
			obj = &corev1.Secret{}
		}
		obj.SetNamespace(md.Namespace)
		obj.SetName(c.Name)
		logf.FromContext(ctx).Info("Removing a config copy no revision reads", "copy", klog.KObj(obj), "kind", c.Kind)
		if err := r.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("removing copy %s: %w", c, err)
		}
	}
	return nil
}

// ReasonConfigCopyReplaced is the Warning event of an object found under the
// name of a copy a revision in use reads that was not that copy: it is
// removed, and made again from the revision when its data is kept there.
const ReasonConfigCopyReplaced = "ConfigCopyReplaced"

// ReasonConfigCopyRestored is the Warning event of a copy a revision other
// than the spec's reads, deleted by hand and made again from the revision.
const ReasonConfigCopyRestored = "ConfigCopyRestored"

// copyRecords are the records the spec's revision keeps of its copies, made
// from the live objects past the cache while they hold the data decided on.
func (r *ModelDeploymentReconciler) copyRecords(ctx context.Context, s *scope) ([]configrollout.Record, error) {
	var out []configrollout.Record
	for _, c := range s.configCopies {
		obj, err := r.configCopy(ctx, s.md, c)
		if err != nil {
			return nil, err
		}
		out = append(out, configrollout.NewRecord(c, obj, s.md.UID))
	}
	return out, nil
}

// checkRevisionCopies checks the copies of every revision in use but the
// spec's (applyConfigCopies checks those), as their ControllerRevisions
// record them: pods of the stable revision mid-rollout, or of a rollback
// target, read them when they restart or scale up. It returns what it
// found wrong, naming the objects, for the condition.
func (r *ModelDeploymentReconciler) checkRevisionCopies(ctx context.Context, s *scope) error {
	problems := s.copyProblems
	seen := map[configrollout.Ref]bool{}
	for _, name := range slices.Sorted(maps.Keys(revisionsInUse(s))) {
		cr, ok := s.revisions[name]
		if !ok || name == s.decision.SpecDeployment {
			continue
		}
		data, err := desiredstate.ReadRevision(cr)
		if err != nil {
			return err
		}
		for _, rec := range data.Copies {
			if ref := (configrollout.Ref{Kind: rec.Kind, Name: rec.Name}); !seen[ref] {
				seen[ref] = true
				problem, err := r.checkCopy(ctx, s.md, name, rec)
				if err != nil {
					return err
				}
				if problem != "" {
					problems = append(problems, problem)
				}
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// checkCopy judges the object under a recorded copy's name (configrollout.Check)
// and acts: a planted one is removed, a missing one made again when the
// record keeps its data. It returns what status should say, if anything.
func (r *ModelDeploymentReconciler) checkCopy(ctx context.Context, md *servingv1alpha1.ModelDeployment, revision string, rec configrollout.Record) (string, error) {
	m, have, haveHash, err := r.underCopyName(ctx, md, rec)
	if err != nil {
		return "", err
	}
	controlled := m != nil && metav1.IsControlledBy(m, md)
	what := fmt.Sprintf("%s %s, the copy of %s %s that revision %s reads,", rec.Kind, rec.Name, rec.Kind, rec.Of, revision)
	verdict := configrollout.Intact
	if have != nil || m == nil {
		verdict = configrollout.Check(rec, have, controlled, haveHash)
	}
	switch verdict {
	case configrollout.Intact:
		if have != nil {
			r.referenced().rememberCopy(rec.Kind, have)
		}
		return "", nil
	case configrollout.Planted:
		logf.FromContext(ctx).Info("Removing an object planted under a config copy's name", "copy", klog.KObj(m), "kind", rec.Kind, "revision", revision)
		if err := r.Delete(ctx, m, client.Preconditions{UID: ptr.To(m.GetUID())}); client.IgnoreNotFound(err) != nil {
			return "", fmt.Errorf("removing %s planted under the name of a copy: %w", rec.Name, err)
		}
	}
	made, created, err := r.remakeCopy(ctx, md, revision, rec)
	if err != nil {
		return "", err
	}
	var problem, reason string
	switch {
	case verdict == configrollout.Missing && made && !created:
		return "", nil // there already: the cache had not seen it; checked next time
	case verdict == configrollout.Planted && made:
		problem, reason = what+" did not hold the content recorded for it (planted?); removed and made again from the revision", ReasonConfigCopyReplaced
	case verdict == configrollout.Planted:
		problem, reason = what+" did not hold the content recorded for it (planted?); removed, and modelgate keeps no Secret values to make it again: its pods cannot start until it is rolled out again", ReasonConfigCopyReplaced
	case made:
		// Made again as it was: nothing left to say in status.
		if r.Recorder != nil {
			r.Recorder.Eventf(md, nil, corev1.EventTypeWarning, ReasonConfigCopyRestored, "Reconcile", "%s was deleted by hand; made again from the revision", what)
		}
		return "", nil
	default:
		// Told in status on every reconcile, as an event only once (planted).
		return what + " is missing, and modelgate keeps no Secret values to make it again: its pods cannot start until it is rolled out again", nil
	}
	if r.Recorder != nil {
		r.Recorder.Eventf(md, nil, corev1.EventTypeWarning, reason, "Reconcile", "%s", problem)
	}
	return problem, nil
}

// underCopyName reads the object under a recorded copy's name: its metadata
// from the cache, and, when the ModelDeployment controls it and it was not
// verified as it is now, the object past the cache with its CopyHash. An
// object the ModelDeployment does not control is not read: whatever it
// holds, it is not the copy. have is nil for a verified copy.
func (r *ModelDeploymentReconciler) underCopyName(ctx context.Context, md *servingv1alpha1.ModelDeployment, rec configrollout.Record) (*metav1.PartialObjectMetadata, client.Object, string, error) {
	key := types.NamespacedName{Namespace: md.Namespace, Name: rec.Name}
	m, err := r.metadataOf(ctx, rec.Kind, key)
	switch {
	case err != nil:
		return nil, nil, "", fmt.Errorf("reading copy %s of %s %s: %w", rec.Name, rec.Kind, rec.Of, err)
	case m == nil:
		return nil, nil, "", nil
	case !metav1.IsControlledBy(m, md):
		return m, m, "", nil
	case r.referenced().copyVerified(rec.Kind, m):
		return m, nil, "", nil
	case r.APIReader == nil:
		return nil, nil, "", errNoAPIReader
	}
	full := newCopyObject(rec.Kind)
	if err := r.APIReader.Get(ctx, key, full); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil, "", nil // deleted since the cache saw it
		}
		return nil, nil, "", fmt.Errorf("reading copy %s of %s %s: %w", rec.Name, rec.Kind, rec.Of, err)
	}
	return m, full, configrollout.CopyHash(full, md.UID), nil
}

// remakeCopy makes a recorded copy again, when the record keeps its data;
// made is false when it does not (a Secret's values are not kept), created
// false when an object of its name was there already.
func (r *ModelDeploymentReconciler) remakeCopy(ctx context.Context, md *servingv1alpha1.ModelDeployment, revision string, rec configrollout.Record) (made, created bool, err error) {
	c := configrollout.Copy{Ref: configrollout.Ref{Kind: rec.Kind, Name: rec.Of}, Name: rec.Name, Hash: rec.Hash, Empty: rec.Empty}
	want := rec.Want(configrollout.Metadata(md, c, desiredstate.SelectorLabels(md)))
	if want == nil {
		return false, false, nil
	}
	if err := controllerutil.SetControllerReference(md, want, r.Scheme); err != nil {
		return false, false, err
	}
	logf.FromContext(ctx).Info("Making a config copy of a revision in use again", "copy", klog.KObj(want), "kind", rec.Kind, "revision", revision)
	if err := r.Create(ctx, want); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return true, false, nil
		}
		return true, false, fmt.Errorf("making copy %s of %s %s again: %w", rec.Name, rec.Kind, rec.Of, err)
	}
	return true, true, nil
}

// newCopyObject is an empty object of a copy's kind.
func newCopyObject(kind string) client.Object {
	if kind == configrollout.KindSecret {
		return &corev1.Secret{}
	}
	return &corev1.ConfigMap{}
}
