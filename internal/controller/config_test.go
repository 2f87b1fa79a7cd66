package controller

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/configrollout"
)

// readsConfig has the server read ConfigMap thresholds, an opted-in Secret
// and one that did not opt in.
func readsConfig(md *servingv1alpha1.ModelDeployment) {
	ref := func(name string) corev1.LocalObjectReference { return corev1.LocalObjectReference{Name: name} }
	md.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: ref("thresholds")}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: ref("creds")}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: ref("closed")}},
	}
}

func TestConfigRollout(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t, newMD(readsConfig), nil)
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "thresholds"}, Data: map[string]string{"t": "0.5"}}
	for _, o := range []client.Object{cm,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "creds", Labels: map[string]string{servingv1alpha1.LabelManagerReadable: "true"}},
			Data: map[string][]byte{"token": []byte("hunter2")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "closed"}, Data: map[string][]byte{"k": []byte("v")}},
	} {
		g.Expect(h.c.Create(ctx, o)).To(Succeed())
	}
	h.until(phase(servingv1alpha1.PhaseSucceeded))

	envFrom := func(name string) []string {
		dep := &appsv1.Deployment{}
		g.Expect(h.c.Get(ctx, client.ObjectKey{Namespace: "risk", Name: name}, dep)).To(Succeed())
		var out []string
		for _, e := range dep.Spec.Template.Spec.Containers[0].EnvFrom {
			if e.ConfigMapRef != nil {
				out = append(out, e.ConfigMapRef.Name)
			} else {
				out = append(out, e.SecretRef.Name)
			}
		}
		return out
	}
	stable := h.md().Status.Stable.Deployment
	first := envFrom(stable)
	g.Expect(first).To(HaveLen(3))
	g.Expect(first[0]).To(HavePrefix("thresholds-"))
	g.Expect(first[1]).To(HavePrefix("creds-"))
	g.Expect(first[2]).To(Equal("closed"), "read live: not opted in")
	secretCopy := &corev1.Secret{}
	g.Expect(h.c.Get(ctx, client.ObjectKey{Namespace: "risk", Name: first[1]}, secretCopy)).To(Succeed())
	g.Expect(secretCopy.Immutable).To(HaveValue(BeTrue()))
	g.Expect(metav1.IsControlledBy(secretCopy, h.md())).To(BeTrue())
	item := h.md().Status.Checklist.Items
	var secrets string
	for _, it := range item {
		if it.ID == "secrets" {
			secrets = it.Message
		}
	}
	g.Expect(secrets).To(ContainSubstring("config rollout does not cover Secrets closed (not labelled serving.modelgate.dev/manager-readable=true, so modelgate does not read it): a change of them reaches every pod at once"))

	// A change of the ConfigMap is a candidate of the same version reading a new copy")
	cm.Data["t"] = "0.9"
	g.Expect(h.c.Update(ctx, cm)).To(Succeed())
	h.mustReconcile()
	cand := h.md().Status.Candidate
	g.Expect(cand).NotTo(BeNil())
	g.Expect(cand.Version).To(Equal("1.0.0"))
	g.Expect(cand.Deployment).NotTo(Equal(stable))
	h.until(phase(servingv1alpha1.PhaseSucceeded))
	second := envFrom(h.md().Status.Stable.Deployment)
	g.Expect(second[0]).To(HavePrefix("thresholds-"))
	g.Expect(second[0]).NotTo(Equal(first[0]))
	g.Expect(second[1:]).To(Equal(first[1:]), "the unchanged Secret's copy is shared")

	// Off: the live objects, one candidate, and the copies go with the revisions.
	h.update(func(md *servingv1alpha1.ModelDeployment) {
		md.Spec.ConfigRollout = servingv1alpha1.ConfigRolloutOff
		md.Spec.RevisionHistoryLimit = new(int32)
	})
	h.until(func(md *servingv1alpha1.ModelDeployment) bool {
		return md.Status.Phase == servingv1alpha1.PhaseSucceeded && md.Status.ObservedGeneration == md.Generation
	})
	g.Expect(envFrom(h.md().Status.Stable.Deployment)).To(Equal([]string{"thresholds", "creds", "closed"}))
	h.until(func(*servingv1alpha1.ModelDeployment) bool {
		var cms corev1.ConfigMapList
		var secrets corev1.SecretList
		sel := client.MatchingLabels{configrollout.LabelCopy: "true"}
		g.Expect(h.c.List(ctx, &cms, sel)).To(Succeed())
		g.Expect(h.c.List(ctx, &secrets, sel)).To(Succeed())
		return len(cms.Items)+len(secrets.Items) == 0
	})
}

// A ConfigMap or Secret the manager may not read is read live by the pods,
// and the reconcile goes on: the checklist reports what it cannot see.
func TestConfigRolloutOfWhatCannotBeRead(t *testing.T) {
	g := NewWithT(t)
	forbidden := &interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if key.Name == "forbidden" {
			return apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, key.Name, nil)
		}
		return c.Get(ctx, key, obj, opts...)
	}}
	md := newMD(func(md *servingv1alpha1.ModelDeployment) {
		md.Spec.Template.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "forbidden"}}}}
	})
	h := newHarness(t, md, forbidden)
	s := &scope{md: md}
	tpl, err := h.r.gatherConfig(context.Background(), s, md.Spec.Template)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(tpl.Spec.Containers[0].EnvFrom[0].SecretRef.Name).To(Equal("forbidden"))
	g.Expect(s.configCopies).To(BeEmpty())
	g.Expect(configNotCovered(s)).To(Equal(map[string]string{"forbidden": "modelgate may not read it"}))
}

// No Secret value reaches the manager's log, at any verbosity, while a
// Secret is copied for a revision and a change of it rolls out.
func TestConfigRolloutLogsNoSecretValue(t *testing.T) {
	g := NewWithT(t)
	const value = "log-canary-5e1f0a"
	var logged strings.Builder
	ctx := logf.IntoContext(context.Background(), funcr.New(func(prefix, args string) {
		logged.WriteString(prefix + " " + args + "\n")
	}, funcr.Options{Verbosity: 10}))
	h := newHarness(t, newMD(readsConfig), nil)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "creds", Labels: map[string]string{servingv1alpha1.LabelManagerReadable: "true"}},
		Data: map[string][]byte{"token": []byte(value)}}
	for _, o := range []client.Object{secret,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "thresholds"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "closed"}, Data: map[string][]byte{"k": []byte(value)}},
	} {
		g.Expect(h.c.Create(ctx, o)).To(Succeed())
	}
	reconcile := func() {
		t.Helper()
		_, err := h.r.Reconcile(ctx, ctrl.Request{NamespacedName: h.key})
		g.Expect(err).NotTo(HaveOccurred())
		h.playDeployments()
	}
	for range 3 {
		reconcile()
	}
	secret.Data["token"] = []byte(value + "-2")
	g.Expect(h.c.Update(ctx, secret)).To(Succeed())
	for range 3 {
		reconcile()
	}
	g.Expect(h.md().Status.Candidate).NotTo(BeNil(), "the Secret's change is a candidate")
	g.Expect(logged.String()).To(ContainSubstring("Copying config for a revision"))
	g.Expect(logged.String()).NotTo(ContainSubstring(value))
	g.Expect(logged.String()).NotTo(ContainSubstring(base64.StdEncoding.EncodeToString([]byte(value))))
}
