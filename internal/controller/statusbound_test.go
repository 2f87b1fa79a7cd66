package controller

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// A control annotation of 100 KB is echoed in status cut to its bound, and
// handled once: the next reconcile compares by the same cut and writes
// nothing.
func TestStatusStringsCut(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t, newMD(func(md *servingv1alpha1.ModelDeployment) {
		md.Annotations = map[string]string{servingv1alpha1.AnnotationAbort: strings.Repeat("why ", 25_000)}
	}), nil)
	h.until(phase(servingv1alpha1.PhaseSucceeded))
	h.mustReconcile() // observedGeneration
	md := h.md()
	g.Expect(md.Status.Requests.Abort).To(HaveLen(servingv1alpha1.MaxRequestValue))
	g.Expect(md.Status.Requests.Abort).To(HaveSuffix("…"))
	version := md.ResourceVersion
	h.mustReconcile()
	g.Expect(h.md().ResourceVersion).To(Equal(version), "the cut request is not handled again")
}
