package controller

import (
	"bytes"
	"context"
	"os"
	"testing"

	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/approval"
	"github.com/modelgate/modelgate/internal/stamps"
)

// With the webhooks absent, a hand-written approver is not believed, and the
// Approved condition says why; once the cluster sends writes through the
// stamping webhook, the same approval counts.
func TestStampsBelievedOnlyWithTheWebhook(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t, newMD(func(md *servingv1alpha1.ModelDeployment) {
		md.UID = "4f0c1b2e-uid"
		md.Spec.Approvals = &servingv1alpha1.ApprovalsSpec{Required: []servingv1alpha1.RequiredApproval{{Role: "risk", Groups: []string{"risk-approvers"}}}}
	}), nil)
	h.r.Stamps = stamps.Checker{Reader: h.c}
	// What the webhook would stamp (approver, UID and digest), written by hand.
	md := h.md()
	forged := &servingv1alpha1.ModelApproval{
		ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "by-hand"},
		Spec: servingv1alpha1.ModelApprovalSpec{ModelDeployment: "fraud-scorer", Version: "1.0.0", Role: "risk",
			ModelDeploymentUID: string(md.UID), Digest: approval.Digest(md),
			Approver: &servingv1alpha1.Approver{Username: "mallory", Groups: []string{"risk-approvers"}, ApprovedAt: metav1.Now()}},
	}
	g.Expect(h.c.Create(context.Background(), forged)).To(Succeed())

	h.mustReconcile()
	md = h.md()
	approved := meta.FindStatusCondition(md.Status.Conditions, servingv1alpha1.ConditionApproved)
	g.Expect(approved).NotTo(BeNil())
	g.Expect(approved.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(approved.Message).To(ContainSubstring("no ModelApproval counts: no MutatingWebhookConfiguration sends every CREATE of modelapprovals"))
	g.Expect(md.Status.Phase).To(Equal(servingv1alpha1.PhaseAwaitingApproval))

	raw, err := os.ReadFile("../../config/webhook/manifests.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	g.Expect(yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096).Decode(mwc)).To(Succeed())
	g.Expect(mwc.Kind).To(Equal("MutatingWebhookConfiguration"))
	g.Expect(h.c.Create(context.Background(), mwc)).To(Succeed())

	h.mustReconcile()
	approved = meta.FindStatusCondition(h.md().Status.Conditions, servingv1alpha1.ConditionApproved)
	g.Expect(approved.Status).To(Equal(metav1.ConditionTrue), approved.Message)
}

// A window override written by hand is not believed without the webhook.
func TestWindowOverrideNotBelievedWithoutTheWebhook(t *testing.T) {
	g := NewWithT(t)
	md := newMD(func(md *servingv1alpha1.ModelDeployment) {
		md.Annotations = map[string]string{servingv1alpha1.AnnotationWindowOverride: "incident 42", servingv1alpha1.AnnotationWindowOverrideBy: "mallory"}
	})
	s := &scope{md: md, untrusted: "no MutatingWebhookConfiguration"}
	g.Expect(windowOverride(s)).To(BeEmpty())
	g.Expect(requester(s)(servingv1alpha1.AnnotationAbort)).To(BeEmpty())
	s.untrusted = ""
	g.Expect(windowOverride(s)).To(Equal("incident 42 (set by mallory)"))
}
