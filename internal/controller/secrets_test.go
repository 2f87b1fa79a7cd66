package controller

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// The cache keeps Secrets without their values; a reconciler without an
// APIReader must say so rather than read "" from it.
func TestSecretValueNeedsTheAPIReader(t *testing.T) {
	g := NewWithT(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "prometheus-token",
		Labels: map[string]string{servingv1alpha1.LabelManagerReadable: "true"}},
		Data: map[string][]byte{"token": []byte("s3cret")}}
	stripped, err := stripSecretValues(secret.DeepCopy())
	g.Expect(err).NotTo(HaveOccurred())
	cache := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(stripped.(*corev1.Secret)).Build()
	api := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(secret).Build()
	ref := servingv1alpha1.SecretKeyReference{Name: "prometheus-token", Key: "token"}

	r := &ModelDeploymentReconciler{Client: cache}
	_, err = r.secretValue(context.Background(), "risk", ref)
	g.Expect(err).To(MatchError(errNoAPIReader))

	r.APIReader = api
	v, err := r.secretValue(context.Background(), "risk", ref)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(v).To(Equal("s3cret"))
}

// A Secret the namespace did not open to the manager is never read, even if
// a spec names it: a user who may not read Secrets could have its value sent
// to an address of their choosing.
func TestSecretValueOnlyOfSecretsThatOptIn(t *testing.T) {
	g := NewWithT(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "db-admin"},
		Data: map[string][]byte{"password": []byte("hunter2")}}
	api := fake.NewClientBuilder().WithScheme(testScheme(t)).WithObjects(secret).Build()
	r := &ModelDeploymentReconciler{APIReader: api}
	v, err := r.secretValue(context.Background(), "risk", servingv1alpha1.SecretKeyReference{Name: "db-admin", Key: "password"})
	g.Expect(err).To(MatchError(ContainSubstring("not labelled serving.modelgate.dev/manager-readable=true")))
	g.Expect(err.Error()).NotTo(ContainSubstring("hunter2"))
	g.Expect(v).To(BeEmpty())
}
