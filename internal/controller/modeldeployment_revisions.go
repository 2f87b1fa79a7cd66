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
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// ReasonDeploymentRestored is the event of a Deployment written again from
// its revision after it was deleted by hand.
const ReasonDeploymentRestored = "DeploymentRestored"

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

// applyRevisions keeps the spec's revision, marks the stable one as
// promoted, and removes the idle ones beyond spec.revisionHistoryLimit.
func (r *ModelDeploymentReconciler) applyRevisions(ctx context.Context, s *scope) error {
	md, name := s.md, s.decision.SpecDeployment
	data := desiredstate.NewRevisionData(md, s.template, s.templateHash)
	if cr, ok := s.revisions[name]; !ok || cr.Annotations[desiredstate.AnnotationTemplateHash] != s.templateHash {
		var number int64
		for _, cr := range s.revisions {
			number = max(number, cr.Revision)
		}
		want, err := desiredstate.ControllerRevision(md, name, number+1, data)
		if err != nil {
			return err
		}
		if old, ok := s.revisions[name]; ok {
			// A revision's data cannot change: one whose Deployment had its
			// template rolled in place (before modelgate made that a
			// candidate) is kept again under a new number.
			if err := r.Delete(ctx, old); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("replacing revision %s: %w", name, err)
			}
		}
		cr := want
		if err := controllerutil.SetControllerReference(md, cr, r.Scheme); err != nil {
			return err
		}
		if err := r.Create(ctx, cr); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("keeping revision %s: %w", name, err)
		}
		s.revisions[name] = cr
	}
	if err := r.markPromoted(ctx, s); err != nil {
		return err
	}
	inUse := map[string]bool{name: true}
	for _, t := range s.decision.Run {
		inUse[deploymentOf(md, t)] = true
	}
	for _, v := range []*servingv1alpha1.VersionStatus{s.decision.Stable, s.decision.Rejected, s.decision.Previous} {
		if v != nil {
			inUse[v.Deployment] = true
		}
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
	if err := controllerutil.SetControllerReference(s.md, dep, r.Scheme); err != nil {
		return err
	}
	if err := r.Create(ctx, dep); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil // our cache had not seen it yet
		}
		return fmt.Errorf("restoring Deployment %s: %w", name, err)
	}
	logf.FromContext(ctx).Info("Restored a Deployment deleted by hand", "deployment", klog.KObj(dep), "version", version)
	if r.Recorder != nil {
		r.Recorder.Eventf(s.md, nil, corev1.EventTypeWarning, ReasonDeploymentRestored, "Reconcile",
			"Deployment %s of version %s was deleted by hand; written again from its revision at %d pods", name, version, replicas)
	}
	return nil
}
