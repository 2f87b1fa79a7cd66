package webhook

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/configrollout"
)

// TestConfigCopies: an approval binds to the copies the reconciler plans:
// a ConfigMap's data, an opted-in Secret's, an empty copy of a missing
// optional object; a Secret that did not opt in and a missing required
// object are read live and bind nothing.
func TestConfigCopies(t *testing.T) {
	g := NewWithT(t)
	scheme := runtime.NewScheme()
	g.Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "thresholds"}, Data: map[string]string{"t": "0.5"}}
	opted := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "creds", UID: "u1",
		Labels: map[string]string{servingv1alpha1.LabelManagerReadable: "true"}}, Data: map[string][]byte{"k": []byte("v")}}
	closed := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "closed"}, Data: map[string][]byte{"k": []byte("v")}}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cm, opted, closed).Build()

	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "scorer"}}
	env := func(kind, name string, optional bool) corev1.EnvFromSource {
		if kind == configrollout.KindSecret {
			return corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: ptr.To(optional)}}
		}
		return corev1.EnvFromSource{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: ptr.To(optional)}}
	}
	md.Spec.Template.Spec.Containers = []corev1.Container{{Name: "s", EnvFrom: []corev1.EnvFromSource{
		env(configrollout.KindConfigMap, "thresholds", false), env(configrollout.KindSecret, "creds", false),
		env(configrollout.KindSecret, "closed", false), env(configrollout.KindConfigMap, "absent", true),
		env(configrollout.KindConfigMap, "required", false),
	}}}
	got, err := configCopies(context.Background(), reader, md)
	g.Expect(err).NotTo(HaveOccurred())
	name := func(kind, n, hash string) string {
		return kind + "/" + configrollout.CopyName(md, configrollout.Ref{Kind: kind, Name: n}, hash)
	}
	g.Expect(got).To(ConsistOf(
		name(configrollout.KindConfigMap, "thresholds", configrollout.ConfigMapHash(cm)),
		name(configrollout.KindSecret, "creds", configrollout.SecretHash(opted)),
		name(configrollout.KindConfigMap, "absent", configrollout.EmptyHash),
	))

	md.Spec.ConfigRollout = servingv1alpha1.ConfigRolloutOff
	got, err = configCopies(context.Background(), reader, md)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(BeEmpty())
}

// TestConfigCopiesSecretGoneMidway: a Secret deleted between the read of its
// metadata and that of its data is missing, as the reconciler will find it;
// the other copies are still bound.
func TestConfigCopiesSecretGoneMidway(t *testing.T) {
	g := NewWithT(t)
	scheme := runtime.NewScheme()
	g.Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "thresholds"}, Data: map[string]string{"t": "0.5"}}
	opted := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "creds", UID: "u1",
		Labels: map[string]string{servingv1alpha1.LabelManagerReadable: "true"}}, Data: map[string][]byte{"k": []byte("v")}}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cm, opted).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if _, data := obj.(*corev1.Secret); data {
				return apierrors.NewNotFound(corev1.Resource("secrets"), key.Name)
			}
			return c.Get(ctx, key, obj, opts...)
		}}).Build()
	md := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "scorer"}}
	md.Spec.Template.Spec.Containers = []corev1.Container{{Name: "s", EnvFrom: []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "thresholds"}}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Optional: ptr.To(true)}},
	}}}
	got, err := configCopies(context.Background(), reader, md)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(ConsistOf(
		configrollout.KindConfigMap+"/"+configrollout.CopyName(md, configrollout.Ref{Kind: configrollout.KindConfigMap, Name: "thresholds"}, configrollout.ConfigMapHash(cm)),
		configrollout.KindSecret+"/"+configrollout.CopyName(md, configrollout.Ref{Kind: configrollout.KindSecret, Name: "creds"}, configrollout.EmptyHash),
	))
}
