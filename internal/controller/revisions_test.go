package controller

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// pausedCanary is a canary of four pods held at 25% until a promote.
func pausedCanary(md *servingv1alpha1.ModelDeployment) {
	md.Spec.Replicas = ptr.To[int32](4)
	md.Spec.Strategy.Type = servingv1alpha1.StrategyCanary
	md.Spec.Strategy.Canary = &servingv1alpha1.CanaryStrategy{Steps: []servingv1alpha1.CanaryStep{{Weight: 25, Pause: &servingv1alpha1.Pause{}}}}
}

// toPausedCanary brings h's ModelDeployment from 1.0.0 to a canary of 1.1.0
// held at its first step.
func (h *harness) toPausedCanary() {
	h.t.Helper()
	h.until(phase(servingv1alpha1.PhaseSucceeded))
	h.update(func(md *servingv1alpha1.ModelDeployment) { md.Spec.Model.Version = "1.1.0" })
	h.until(phase(servingv1alpha1.PhasePaused))
}

func (h *harness) deployment(name string) *appsv1.Deployment {
	h.t.Helper()
	dep := &appsv1.Deployment{}
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: h.key.Namespace, Name: name}, dep); err != nil {
		h.t.Fatal(err)
	}
	return dep
}

// editDeployment changes a Deployment as kubectl would.
func (h *harness) editDeployment(name string, edit func(*appsv1.Deployment)) {
	h.t.Helper()
	dep := h.deployment(name)
	edit(dep)
	dep.Generation++
	if err := h.c.Update(context.Background(), dep); err != nil {
		h.t.Fatal(err)
	}
}

// A hand edit of the stable's or the candidate's pod template is put back
// from its revision at the size the step needs, traffic staying where the
// step put it, with an event; a Deployment left alone is not written.
func TestHandEditedTemplatesArePutBack(t *testing.T) {
	g := NewWithT(t)
	var deploymentWrites atomic.Int32
	h := newHarness(t, newMD(pausedCanary), &interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if _, ok := obj.(*appsv1.Deployment); ok {
				deploymentWrites.Add(1)
			}
			return c.Patch(ctx, obj, patch, opts...)
		},
	})
	recorder := events.NewFakeRecorder(100)
	h.r.Recorder = recorder
	h.toPausedCanary()
	md := h.md()
	stable, candidate := md.Status.Stable.Deployment, md.Status.Candidate.Deployment
	stableBefore, candidateBefore := h.deployment(stable), h.deployment(candidate)
	g.Expect(ptr.Deref(stableBefore.Spec.Replicas, 0)).To(BeEquivalentTo(3))

	deploymentWrites.Store(0)
	for range 3 {
		h.mustReconcile()
	}
	g.Expect(deploymentWrites.Load()).To(BeZero(), "Deployments left alone are not written")

	h.editDeployment(stable, func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Image = "registry.example/ml/server:hotfix" // kubectl set image
	})
	h.editDeployment(candidate, func(d *appsv1.Deployment) {
		c := &d.Spec.Template.Spec.Containers[0]
		c.Env = append(c.Env, corev1.EnvVar{Name: "DEBUG", Value: "1"}) // kubectl set env
	})
	h.mustReconcile()

	g.Expect(h.deployment(stable).Spec.Template).To(Equal(stableBefore.Spec.Template))
	g.Expect(h.deployment(candidate).Spec.Template).To(Equal(candidateBefore.Spec.Template))
	g.Expect(h.deployment(stable).Spec.Replicas).To(Equal(stableBefore.Spec.Replicas), "at the size the step needs")
	g.Expect(h.deployment(candidate).Spec.Replicas).To(Equal(candidateBefore.Spec.Replicas))
	after := h.md()
	g.Expect(after.Status.Phase).To(Equal(servingv1alpha1.PhasePaused))
	g.Expect(after.Status.Candidate.Weight).To(BeEquivalentTo(25), "traffic stays where the step put it")
	var restored []string
	for len(recorder.Events) > 0 {
		if e := <-recorder.Events; strings.Contains(e, ReasonTemplateRestored) {
			restored = append(restored, e)
		}
	}
	g.Expect(restored).To(ConsistOf(
		ContainSubstring("Deployment "+stable+" (version 1.0.0) was edited by hand at spec.containers[server].image"),
		ContainSubstring("Deployment "+candidate+" (version 1.1.0) was edited by hand at spec.containers[server].env"),
	))

	deploymentWrites.Store(0)
	h.playDeployments()
	for range 3 {
		h.mustReconcile()
	}
	g.Expect(deploymentWrites.Load()).To(BeZero(), "a template put back is not written again")
	g.Expect(recorder.Events).To(BeEmpty(), "one event per edit")
}

// A stable Deployment written before modelgate kept ControllerRevisions gets
// its revision when seen, from what it runs, so that it can be written again
// after it is deleted by hand.
func TestDeploymentWithoutRevisionGetsOne(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t, newMD(pausedCanary), nil)
	h.toPausedCanary()
	stable := h.md().Status.Stable.Deployment
	before := h.deployment(stable)

	// The stable revision taken away, as before the upgrade that brought revisions.
	cr := &appsv1.ControllerRevision{}
	g.Expect(h.c.Get(context.Background(), client.ObjectKey{Namespace: h.key.Namespace, Name: stable}, cr)).To(Succeed())
	g.Expect(h.c.Delete(context.Background(), cr)).To(Succeed())
	h.mustReconcile()

	g.Expect(h.c.Get(context.Background(), client.ObjectKey{Namespace: h.key.Namespace, Name: stable}, cr)).To(Succeed())
	data, err := desiredstate.ReadRevision(cr)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(data.Version).To(Equal("1.0.0"))
	g.Expect(data.URI).To(Equal("oci://registry.example/models/fraud-scorer:1.0.0"))
	g.Expect(data.TemplateHash).To(Equal(before.Annotations[desiredstate.AnnotationTemplateHash]))
	g.Expect(data.Template).To(Equal(before.Spec.Template))
	g.Expect(cr.OwnerReferences).To(ConsistOf(HaveField("Name", h.key.Name)))

	// Deleted by hand: written again from the revision recorded.
	g.Expect(h.c.Delete(context.Background(), before)).To(Succeed())
	h.mustReconcile()
	again := h.deployment(stable)
	g.Expect(again.Spec.Template).To(Equal(before.Spec.Template))
	g.Expect(again.Spec.Replicas).To(Equal(before.Spec.Replicas))
	g.Expect(again.Annotations).To(HaveKeyWithValue(desiredstate.AnnotationTemplateHash, before.Annotations[desiredstate.AnnotationTemplateHash]))
	g.Expect(h.md().Status.Candidate.Weight).To(BeEquivalentTo(25))
}

// A template that the API server changes again on every write (a mutating
// admission webhook) is written back once, then left alone until the
// Deployment changes again: no write, nor event, on every reconcile.
func TestTemplateTheAPIServerKeepsIsLeftAlone(t *testing.T) {
	g := NewWithT(t)
	var webhook atomic.Bool
	var writes atomic.Int32
	h := newHarness(t, newMD(pausedCanary), &interceptor.Funcs{
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			if err := c.Patch(ctx, obj, patch, opts...); err != nil {
				return err
			}
			dep, ok := obj.(*appsv1.Deployment)
			if !ok || !webhook.Load() {
				return nil
			}
			writes.Add(1)
			ct := &dep.Spec.Template.Spec.Containers[0]
			ct.Env = append(ct.Env, corev1.EnvVar{Name: "INJECTED", Value: "1"})
			return c.Update(ctx, dep)
		},
	})
	recorder := events.NewFakeRecorder(100)
	h.r.Recorder = recorder
	h.toPausedCanary()
	stable := h.md().Status.Stable.Deployment
	want := h.deployment(stable).Spec.Template.Spec.Containers[0].Image
	for len(recorder.Events) > 0 {
		<-recorder.Events
	}

	webhook.Store(true)
	h.editDeployment(stable, func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Image = "registry.example/ml/server:hotfix"
	})
	h.mustReconcile()
	g.Expect(writes.Load()).To(BeEquivalentTo(1))
	g.Expect(h.deployment(stable).Spec.Template.Spec.Containers[0].Image).To(Equal(want), "the hand edit is undone")
	for range 3 {
		h.mustReconcile()
	}
	g.Expect(writes.Load()).To(BeEquivalentTo(1), "what the API server keeps is not written again")
	g.Expect(recorder.Events).To(BeEmpty(), "nor told as a hand edit")

	h.editDeployment(stable, func(d *appsv1.Deployment) {
		d.Spec.Template.Spec.Containers[0].Image = "registry.example/ml/server:again"
	})
	h.mustReconcile()
	g.Expect(writes.Load()).To(BeEquivalentTo(2), "a new edit is undone again")
	g.Expect(h.deployment(stable).Spec.Template.Spec.Containers[0].Image).To(Equal(want))
}
