package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
	"github.com/modelgate/modelgate/internal/rollout"
)

// ReasonDeploymentRestored is the event of a Deployment written again from
// its revision after it was deleted by hand.
const ReasonDeploymentRestored = "DeploymentRestored"

// ReasonTemplateRestored is the event of a Deployment's pod template written
// again from its revision after it was edited by hand.
const ReasonTemplateRestored = "DeploymentTemplateRestored"

// +kubebuilder:rbac:groups=apps,resources=controllerrevisions,verbs=get;list;watch;create;update;patch;delete

// gatherRevisions reads the ControllerRevisions the ModelDeployment owns:
// each keeps the pod template and model of one revision, so its Deployment
// can be written again after the spec moved on.
func (r *ModelDeploymentReconciler) gatherRevisions(ctx context.Context, s *scope) error {
	var list appsv1.ControllerRevisionList
	if err := r.List(ctx, &list, client.InNamespace(s.md.Namespace), client.MatchingFields{ownerIndex: s.md.Name}); err != nil {
		return fmt.Errorf("listing ControllerRevisions of %s: %w", s.md.Name, err)
	}
	s.revisions = map[string]*appsv1.ControllerRevision{}
	for i := range list.Items {
		if cr := &list.Items[i]; metav1.IsControlledBy(cr, s.md) {
			s.revisions[cr.Name] = cr
		}
	}
	return nil
}

// applyRevisions keeps the spec's revision and that of every Deployment in
// use that has none, marks the stable one as promoted, and removes the idle
// ones beyond spec.revisionHistoryLimit.
func (r *ModelDeploymentReconciler) applyRevisions(ctx context.Context, s *scope) error {
	md, name := s.md, s.decision.SpecDeployment
	inUse := revisionsInUse(s)
	if err := r.recordMissingRevisions(ctx, s, inUse); err != nil {
		return err
	}
	data := desiredstate.NewRevisionData(md, s.template, s.templateHash)
	var err error
	if cr, ok := s.revisions[name]; !ok || cr.Annotations[desiredstate.AnnotationTemplateHash] != s.templateHash {
		if old, ok := s.revisions[name]; ok {
			// A revision's data cannot change: one whose Deployment had its
			// template rolled in place (before modelgate made that a
			// candidate) is kept again under a new number.
			if err := r.Delete(ctx, old); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("replacing revision %s: %w", name, err)
			}
		}
		if data.Copies, err = r.copyRecords(ctx, s); err != nil {
			return err
		}
		if err := r.keepRevision(ctx, s, name, data); err != nil {
			return err
		}
	}
	if err := r.markPromoted(ctx, s); err != nil {
		return err
	}
	all := make([]appsv1.ControllerRevision, 0, len(s.revisions))
	for _, n := range slices.Sorted(maps.Keys(s.revisions)) {
		all = append(all, *s.revisions[n])
	}
	for _, n := range desiredstate.PruneRevisions(all, inUse, desiredstate.RevisionHistoryLimit(md)) {
		if err := r.Delete(ctx, s.revisions[n]); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("removing revision %s beyond the history limit: %w", n, err)
		}
		delete(s.revisions, n)
	}
	return nil
}

// revisionsInUse names the revisions that run, serve or are kept out as
// rejected: never removed.
func revisionsInUse(s *scope) map[string]bool {
	inUse := map[string]bool{s.decision.SpecDeployment: true}
	for _, t := range s.decision.Run {
		inUse[deploymentOf(s.md, t)] = true
	}
	for _, v := range []*servingv1alpha1.VersionStatus{s.decision.Stable, s.decision.Rejected, s.decision.Previous} {
		if v != nil {
			inUse[v.Deployment] = true
		}
	}
	return inUse
}

// recordMissingRevisions gives a Deployment in use written before modelgate
// kept revisions (an upgrade in the middle of a rollout) its revision, from
// what it runs, so it can be written again too.
func (r *ModelDeploymentReconciler) recordMissingRevisions(ctx context.Context, s *scope, inUse map[string]bool) error {
	for _, n := range slices.Sorted(maps.Keys(inUse)) {
		dep, ok := s.deployments[n]
		if _, kept := s.revisions[n]; kept || !ok || n == s.decision.SpecDeployment {
			continue
		}
		if err := r.keepRevision(ctx, s, n, desiredstate.RevisionDataOf(dep, s.md.Spec.ServingContainer)); err != nil {
			return err
		}
		logf.FromContext(ctx).Info("Recorded the revision of a Deployment that had none", "deployment", klog.KObj(dep))
	}
	return nil
}

// keepRevision creates the ControllerRevision of a Deployment, numbered
// after every revision kept.
func (r *ModelDeploymentReconciler) keepRevision(ctx context.Context, s *scope, name string, data desiredstate.RevisionData) error {
	var number int64
	for _, cr := range s.revisions {
		number = max(number, cr.Revision)
	}
	cr, err := desiredstate.ControllerRevision(s.md, name, number+1, data)
	if err != nil {
		return err
	}
	if err := controllerutil.SetControllerReference(s.md, cr, r.Scheme); err != nil {
		return err
	}
	switch err := r.Create(ctx, cr); {
	case err == nil:
		r.objectCreated(s, kindControllerRevision, cr.Name)
	case !apierrors.IsAlreadyExists(err):
		return fmt.Errorf("keeping revision %s: %w", name, err)
	}
	s.revisions[name] = cr
	return nil
}

// markPromoted marks the stable version's revision as promoted, once: a
// cached copy older than our own patch is not marked yet, but will be.
func (r *ModelDeploymentReconciler) markPromoted(ctx context.Context, s *scope) error {
	st := s.decision.Stable
	if st == nil {
		return nil
	}
	cr, ok := s.revisions[st.Deployment]
	if !ok || r.own.staleObject(cr.UID, cr.ResourceVersion) || cr.Annotations[desiredstate.AnnotationPromoted] == labelTrue {
		return nil
	}
	patch := client.MergeFrom(cr.DeepCopy())
	from := cr.ResourceVersion
	metav1.SetMetaDataAnnotation(&cr.ObjectMeta, desiredstate.AnnotationPromoted, "true")
	if err := r.Patch(ctx, cr, patch); err != nil {
		return fmt.Errorf("marking revision %s promoted: %w", cr.Name, err)
	}
	r.own.objectPatched(cr.UID, from)
	return nil
}

// restoreDeployment writes a Deployment deleted by hand again from its
// revision, at the size its step needs, and tells so.
func (r *ModelDeploymentReconciler) restoreDeployment(ctx context.Context, s *scope, name, version string, replicas int32) error {
	cr, ok := s.revisions[name]
	if !ok {
		return nil // no revision kept: nothing to write it from
	}
	data, err := desiredstate.ReadRevision(cr)
	if err != nil {
		return err
	}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.md.Namespace}}
	desiredstate.MutateDeployment(dep, s.md, version, desiredstate.RevisionOf(s.md, version, name), data.Template, replicas)
	// The revision's identity, also for one recorded from a Deployment whose
	// template the API server had defaulted.
	dep.Annotations[desiredstate.AnnotationTemplateHash] = data.TemplateHash
	if err := controllerutil.SetControllerReference(s.md, dep, r.Scheme); err != nil {
		return err
	}
	if err := r.Create(ctx, dep); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil // our cache had not seen it yet
		}
		return fmt.Errorf("restoring Deployment %s: %w", name, err)
	}
	r.deploymentWritten(s, dep, "")
	logf.FromContext(ctx).Info("Restored a Deployment deleted by hand", "deployment", klog.KObj(dep), "version", version)
	if r.Recorder != nil {
		r.Recorder.Eventf(s.md, nil, corev1.EventTypeWarning, ReasonDeploymentRestored, "Reconcile",
			"Deployment %s of version %s was deleted by hand; written again from its revision at %d pods", name, version, replicas)
	}
	return nil
}

// restoreTemplate writes the pod template of a Deployment edited by hand
// again, as its revision keeps it, with the size the step needs, and tells
// so. It reports whether it wrote. The write carries the resourceVersion it
// was judged against: an edit seen in a stale cache, already put back, is
// refused as a conflict rather than told twice.
//
// The spec's Deployment too is put back from its revision, when one is
// kept: the spec's template is only the revision's while their hashes
// agree, and the hash is short (FNV-32), so a spec changed to a template
// of the same hash would otherwise be written into the running Deployment
// in place, past the strategy and the analysis.
func (r *ModelDeploymentReconciler) restoreTemplate(ctx context.Context, s *scope, dep *appsv1.Deployment, t rollout.Target) (bool, error) {
	tpl, hash := s.template, s.templateHash
	cr, ok := s.revisions[dep.Name]
	switch {
	case !ok && dep.Name != s.decision.SpecDeployment:
		return false, nil // nothing to put it back from
	case ok:
		data, err := desiredstate.ReadRevision(cr)
		if err != nil {
			return false, err
		}
		tpl, hash = data.Template, data.TemplateHash
	}
	if dep.Annotations[desiredstate.AnnotationTemplateHash] != hash {
		return false, nil // not this revision's Deployment, or one the spec changes anyway
	}
	want := desiredstate.DeploymentTemplate(s.md, t.Version, desiredstate.RevisionOf(s.md, t.Version, dep.Name), tpl)
	edited := desiredstate.TemplateDrift(&want, &dep.Spec.Template)
	if edited == "" {
		return false, nil
	}
	if g, ok := r.kept.Load(dep.UID); ok && g == dep.Generation {
		return false, nil
	}
	log := logf.FromContext(ctx)
	log.Info("Restoring a pod template edited by hand", "deployment", klog.KObj(dep), "version", t.Version, "field", edited)
	patch := client.MergeFromWithOptions(dep.DeepCopy(), client.MergeFromWithOptimisticLock{})
	from := dep.ResourceVersion
	dep.Spec.Template = want
	dep.Spec.Replicas = ptr.To(t.Replicas)
	if err := r.Patch(ctx, dep, patch); err != nil {
		return false, fmt.Errorf("restoring the pod template of Deployment %s: %w", dep.Name, err)
	}
	r.deploymentWritten(s, dep, from)
	if still := desiredstate.TemplateDrift(&want, &dep.Spec.Template); still != "" {
		// Not a hand edit: the API server's admission changes the template
		// again on every write. Writing it back on every reconcile would
		// change nothing.
		r.kept.Store(dep.UID, dep.Generation)
		log.Info("The API server keeps a pod template different from the one written back (a mutating admission webhook?); leaving it",
			"deployment", klog.KObj(dep), "field", still)
		return true, nil
	}
	r.kept.Delete(dep.UID)
	if r.Recorder != nil {
		r.Recorder.Eventf(s.md, nil, corev1.EventTypeWarning, ReasonTemplateRestored, "Reconcile",
			"Pod template of Deployment %s (version %s) was edited by hand at %s; written again from its revision, at %d pods",
			dep.Name, t.Version, edited, t.Replicas)
	}
	return true, nil
}
