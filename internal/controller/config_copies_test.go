package controller

import (
	"context"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/configrollout"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// The copies of a revision other than the spec's, as its record keeps them:
// what is found under a copy's name is kept, made again, or removed.
func TestCheckCopy(t *testing.T) {
	const name = "thresholds-0123456789abcdef"
	for _, tc := range []struct {
		name string
		kind string
		// found is what is under the copy's name before, nil for nothing.
		found func(md *servingv1alpha1.ModelDeployment, ours metav1.ObjectMeta) client.Object
		// empty records the copy of a missing optional object.
		empty       bool
		wantData    map[string]string // the ConfigMap left, nil for none
		wantSecret  bool              // a Secret is left
		wantProblem string
		wantEvent   string
	}{
		{name: "our ConfigMap copy is kept", kind: configrollout.KindConfigMap,
			found: func(_ *servingv1alpha1.ModelDeployment, m metav1.ObjectMeta) client.Object {
				return configrollout.ConfigMapCopy(m, &corev1.ConfigMap{Data: map[string]string{"t": "0.5"}})
			},
			wantData: map[string]string{"t": "0.5"}},
		{name: "a deleted ConfigMap copy is made again", kind: configrollout.KindConfigMap,
			wantData: map[string]string{"t": "0.5"}, wantEvent: ReasonConfigCopyRestored},
		{name: "a ConfigMap of other data, owner reference and all, is replaced", kind: configrollout.KindConfigMap,
			found: func(_ *servingv1alpha1.ModelDeployment, m metav1.ObjectMeta) client.Object {
				return configrollout.ConfigMapCopy(m, &corev1.ConfigMap{Data: map[string]string{"t": "0.0"}})
			},
			wantData: map[string]string{"t": "0.5"}, wantEvent: ReasonConfigCopyReplaced,
			wantProblem: "ConfigMap " + name + ", the copy of ConfigMap thresholds that revision stable reads, did not hold the content recorded for it (planted?); removed and made again from the revision"},
		{name: "a ConfigMap not the ModelDeployment's is replaced, whatever it holds", kind: configrollout.KindConfigMap,
			found: func(_ *servingv1alpha1.ModelDeployment, m metav1.ObjectMeta) client.Object {
				m.OwnerReferences = nil
				return configrollout.ConfigMapCopy(m, &corev1.ConfigMap{Data: map[string]string{"t": "0.5"}})
			},
			wantData: map[string]string{"t": "0.5"}, wantEvent: ReasonConfigCopyReplaced, wantProblem: "removed and made again"},
		{name: "our Secret copy is kept", kind: configrollout.KindSecret,
			found: func(_ *servingv1alpha1.ModelDeployment, m metav1.ObjectMeta) client.Object {
				return configrollout.SecretCopy(m, &corev1.Secret{Data: map[string][]byte{"token": []byte("hunter2")}})
			},
			wantSecret: true},
		{name: "a deleted Secret copy is reported, not invented", kind: configrollout.KindSecret,
			wantProblem: "Secret " + name + ", the copy of Secret thresholds that revision stable reads, is missing, and modelgate keeps no Secret values to make it again"},
		{name: "a Secret of other data is removed and reported", kind: configrollout.KindSecret,
			found: func(_ *servingv1alpha1.ModelDeployment, m metav1.ObjectMeta) client.Object {
				return configrollout.SecretCopy(m, &corev1.Secret{Data: map[string][]byte{"token": []byte("planted")}})
			},
			wantEvent: ReasonConfigCopyReplaced, wantProblem: "removed, and modelgate keeps no Secret values"},
		{name: "the empty copy of a missing optional Secret is made again", kind: configrollout.KindSecret, empty: true,
			wantSecret: true, wantEvent: ReasonConfigCopyRestored},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ctx := context.Background()
			h := newHarness(t, newMD(), nil)
			recorder := events.NewFakeRecorder(10)
			h.r.Recorder = recorder
			md := h.md()
			c := configrollout.Copy{Ref: configrollout.Ref{Kind: tc.kind, Name: "thresholds"}, Name: name, Empty: tc.empty}
			meta := configrollout.Metadata(md, c, desiredstate.SelectorLabels(md))
			meta.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(md, servingv1alpha1.GroupVersion.WithKind("ModelDeployment"))}
			var made client.Object
			switch {
			case tc.kind == configrollout.KindConfigMap:
				made = configrollout.ConfigMapCopy(meta, &corev1.ConfigMap{Data: map[string]string{"t": "0.5"}})
			case tc.empty:
				made = configrollout.SecretCopy(meta, nil)
			default:
				made = configrollout.SecretCopy(meta, &corev1.Secret{Data: map[string][]byte{"token": []byte("hunter2")}})
			}
			rec := configrollout.NewRecord(c, made, md.UID)
			if tc.found != nil {
				g.Expect(h.c.Create(ctx, tc.found(md, meta))).To(Succeed())
			}

			problem, err := h.r.checkCopy(ctx, md, "stable", rec)
			g.Expect(err).NotTo(HaveOccurred())
			if tc.wantProblem == "" {
				g.Expect(problem).To(BeEmpty())
			} else {
				g.Expect(problem).To(ContainSubstring(tc.wantProblem))
			}
			g.Expect(problem).NotTo(Or(ContainSubstring("hunter2"), ContainSubstring("0.0")), "no value in status")
			key := client.ObjectKey{Namespace: md.Namespace, Name: name}
			cm, secret := &corev1.ConfigMap{}, &corev1.Secret{}
			if tc.wantData != nil {
				g.Expect(h.c.Get(ctx, key, cm)).To(Succeed())
				g.Expect(cm.Data).To(Equal(tc.wantData))
				g.Expect(cm.Immutable).To(HaveValue(BeTrue()))
				g.Expect(metav1.IsControlledBy(cm, md)).To(BeTrue())
			} else {
				g.Expect(apierrors.IsNotFound(h.c.Get(ctx, key, cm))).To(BeTrue())
			}
			if tc.wantSecret {
				g.Expect(h.c.Get(ctx, key, secret)).To(Succeed())
				g.Expect(configrollout.CopyHash(secret, md.UID)).To(Equal(rec.Hash))
			} else {
				g.Expect(apierrors.IsNotFound(h.c.Get(ctx, key, secret))).To(BeTrue())
			}
			var got []string
			for len(recorder.Events) > 0 {
				e := <-recorder.Events
				g.Expect(e).NotTo(ContainSubstring("hunter2"))
				got = append(got, e)
			}
			if tc.wantEvent == "" {
				g.Expect(got).To(BeEmpty())
			} else {
				g.Expect(got).To(ConsistOf(And(HavePrefix("Warning "+tc.wantEvent+" "), ContainSubstring(name))))
			}
		})
	}
}

// Each revision kept records the copies it reads, with a ConfigMap's data
// and only a keyed hash of a Secret's.
func TestRevisionRecordsItsCopies(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t, newMD(readsConfig), nil)
	ctx := context.Background()
	for _, o := range []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "thresholds"}, Data: map[string]string{"t": "0.5"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "creds", Labels: map[string]string{servingv1alpha1.LabelManagerReadable: "true"}},
			Data: map[string][]byte{"token": []byte("hunter2")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "closed"}, Data: map[string][]byte{"k": []byte("v")}},
	} {
		g.Expect(h.c.Create(ctx, o)).To(Succeed())
	}
	h.until(phase(servingv1alpha1.PhaseSucceeded))
	stable := h.md().Status.Stable.Deployment
	var list []string
	cr := &appsv1.ControllerRevision{}
	g.Expect(h.c.Get(ctx, client.ObjectKey{Namespace: "risk", Name: stable}, cr)).To(Succeed())
	{
		g.Expect(strings.Contains(string(cr.Data.Raw), "hunter2")).To(BeFalse(), "a Secret's value in a ControllerRevision")
		data, err := desiredstate.ReadRevision(cr)
		g.Expect(err).NotTo(HaveOccurred())
		for _, rec := range data.Copies {
			list = append(list, rec.Kind+"/"+rec.Of)
			if rec.Kind == configrollout.KindConfigMap {
				g.Expect(rec.Data).To(Equal(map[string]string{"t": "0.5"}))
			} else {
				g.Expect(rec.Data).To(BeNil())
				g.Expect(rec.Hash).NotTo(BeEmpty())
			}
		}
	}
	g.Expect(list).To(ConsistOf("ConfigMap/thresholds", "Secret/creds"))
}

// An object planted under the name of a copy the spec's revision reads, once
// that revision records it (the stable one, serving), is removed and the
// copy made again, owner reference or not; status and an event name it.
func TestPlantedUnderTheSpecsCopy(t *testing.T) {
	for _, owned := range []bool{true, false} {
		t.Run(map[bool]string{true: "with an owner reference", false: "without one"}[owned], func(t *testing.T) {
			g := NewWithT(t)
			h := newHarness(t, newMD(func(md *servingv1alpha1.ModelDeployment) {
				md.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{
					{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "thresholds"}}}}
			}), nil)
			recorder := events.NewFakeRecorder(100)
			h.r.Recorder = recorder
			ctx := context.Background()
			g.Expect(h.c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "thresholds"},
				Data: map[string]string{"t": "0.5"}})).To(Succeed())
			h.until(phase(servingv1alpha1.PhaseSucceeded))
			md := h.md()
			dep := &appsv1.Deployment{}
			g.Expect(h.c.Get(ctx, client.ObjectKey{Namespace: "risk", Name: md.Status.Stable.Deployment}, dep)).To(Succeed())
			name := dep.Spec.Template.Spec.Containers[0].EnvFrom[0].ConfigMapRef.Name
			g.Expect(name).To(HavePrefix("thresholds-"))

			copied := &corev1.ConfigMap{}
			g.Expect(h.c.Get(ctx, client.ObjectKey{Namespace: "risk", Name: name}, copied)).To(Succeed())
			g.Expect(h.c.Delete(ctx, copied)).To(Succeed())
			planted := configrollout.ConfigMapCopy(metav1.ObjectMeta{Namespace: "risk", Name: name,
				Labels: map[string]string{configrollout.LabelCopy: "true"}}, &corev1.ConfigMap{Data: map[string]string{"t": "0.0"}})
			planted.UID = "planted" // the fake client sets no UID; the API server gives each object its own
			if owned {
				planted.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(md, servingv1alpha1.GroupVersion.WithKind("ModelDeployment"))}
			}
			g.Expect(h.c.Create(ctx, planted)).To(Succeed())
			for len(recorder.Events) > 0 {
				<-recorder.Events
			}

			_, err := h.reconcile()
			g.Expect(err).To(MatchError(ContainSubstring("ConfigMap " + name + ", the copy of ConfigMap thresholds that revision " +
				md.Status.Stable.Deployment + " reads, did not hold the content recorded for it (planted?); removed and made again")))
			again := &corev1.ConfigMap{}
			g.Expect(h.c.Get(ctx, client.ObjectKey{Namespace: "risk", Name: name}, again)).To(Succeed())
			g.Expect(again.Data).To(Equal(map[string]string{"t": "0.5"}))
			g.Expect(metav1.IsControlledBy(again, md)).To(BeTrue())
			g.Expect(recorder.Events).To(Receive(And(HavePrefix("Warning "+ReasonConfigCopyReplaced), ContainSubstring(name))))
			h.mustReconcile()
		})
	}
}
