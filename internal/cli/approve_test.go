package cli

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func TestApprove(t *testing.T) {
	g := NewWithT(t)
	c := fakeCluster(canaryMD())

	r := run(t, c, "", "approve", "fraud-scorer", "-n", "ml", "--role", "security", "--comment", "pen test passed")
	g.Expect(r.code).To(Equal(0), r.err)
	g.Expect(r.out).To(Equal("Approved version 2.6.0 of fraud-scorer as security: ModelApproval fraud-scorer-2-6-0-security, stamped with you.\n"))
	ap := &servingv1alpha1.ModelApproval{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: "ml", Name: "fraud-scorer-2-6-0-security"}, ap)).To(Succeed())
	g.Expect(ap.Spec).To(Equal(servingv1alpha1.ModelApprovalSpec{ModelDeployment: "fraud-scorer", Version: "2.6.0", Role: "security", Comment: "pen test passed"}),
		"the candidate's version; the approver is left for the webhook to stamp")

	r = run(t, c, "", "approve", "fraud-scorer", "-n", "ml", "--role", "security")
	g.Expect(r.code).To(Equal(ExitFailed))
	g.Expect(r.err).To(ContainSubstring("ModelApproval fraud-scorer-2-6-0-security already exists: version 2.6.0 was already approved as security"))

	r = run(t, c, "", "approve", "fraud-scorer", "-n", "ml", "--role", "security", "--item", "security-scan")
	g.Expect(r.code).To(Equal(0), r.err)
	g.Expect(r.out).To(HavePrefix("Approved item security-scan of version 2.6.0 of fraud-scorer as security"))

	r = run(t, c, "", "approve", "fraud-scorer", "-n", "ml")
	g.Expect(r.code).To(Equal(ExitUsage))
	g.Expect(r.err).To(ContainSubstring("--role is required"))
}
