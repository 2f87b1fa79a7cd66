package integration

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/desiredstate"
)

// FNV-1a, 32 bits, as desiredstate.TemplateHash computes it.
const (
	fnvOffset uint32 = 2166136261
	fnvPrime  uint32 = 16777619
)

// fnvPad finds six alphanumeric characters that, written between prefix and
// suffix, give the FNV-1a hash target: a meet in the middle, three
// characters from each side, which takes a user editing a ModelDeployment
// well under a second.
func fnvPad(prefix, suffix []byte, target uint32) (string, bool) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	inverse := fnvPrime // the prime's inverse modulo 2^32, by Newton's method
	for range 5 {
		inverse *= 2 - fnvPrime*inverse
	}
	h := fnvOffset
	for _, b := range prefix {
		h = (h ^ uint32(b)) * fnvPrime
	}
	forward := map[uint32][3]byte{}
	for _, a := range []byte(alphabet) {
		for _, b := range []byte(alphabet) {
			for _, c := range []byte(alphabet) {
				forward[(((((h^uint32(a))*fnvPrime)^uint32(b))*fnvPrime)^uint32(c))*fnvPrime] = [3]byte{a, b, c}
			}
		}
	}
	need := target // the state before suffix that ends at target
	for i := len(suffix) - 1; i >= 0; i-- {
		need = (need * inverse) ^ uint32(suffix[i])
	}
	for _, a := range []byte(alphabet) {
		for _, b := range []byte(alphabet) {
			for _, c := range []byte(alphabet) {
				s := (((((need * inverse) ^ uint32(c)) * inverse) ^ uint32(b)) * inverse) ^ uint32(a)
				if f, ok := forward[s]; ok {
					return string(f[:]) + string([]byte{a, b, c}), true
				}
			}
		}
	}
	return "", false
}

var _ = Describe("Deployment restore", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("never writes a changed spec into the running Deployment in place, even when its template hashes like the stable one", func() {
		md := newModelDeployment(ns, "1.0.0", 2)
		Expect(k8sClient.Create(ctx, md)).To(Succeed())
		key := objectKey(md)
		stable := deploymentOf(ns, md.Name, "1.0.0")
		Eventually(replicasOf(stable)).Should(BeEquivalentTo(2))
		playDeploymentController(stable)
		Eventually(func() servingv1alpha1.Phase { return getMD(key).Status.Phase }).Should(Equal(servingv1alpha1.PhaseSucceeded))
		before := getDeployment(stable)
		image := before.Spec.Template.Spec.Containers[0].Image

		By("changing the image with a template annotation chosen so the template hashes like the stable one")
		const placeholder = "@@@@@@"
		cur := getMD(key)
		cur.Spec.Template.Spec.Containers[0].Image = "registry.example/ml/server:unreviewed"
		if cur.Spec.Template.Annotations == nil {
			cur.Spec.Template.Annotations = map[string]string{}
		}
		cur.Spec.Template.Annotations["pad"] = placeholder
		tpl, err := desiredstate.PodTemplate(cur, "1.0.0")
		Expect(err).NotTo(HaveOccurred())
		raw, err := json.Marshal(&tpl)
		Expect(err).NotTo(HaveOccurred())
		prefix, suffix, found := bytes.Cut(raw, []byte(placeholder))
		Expect(found).To(BeTrue())
		target, err := strconv.ParseUint(before.Annotations[desiredstate.AnnotationTemplateHash], 16, 32)
		Expect(err).NotTo(HaveOccurred())
		pad, ok := fnvPad(prefix, suffix, uint32(target))
		Expect(ok).To(BeTrue())
		tpl.Annotations["pad"] = pad
		Expect(desiredstate.TemplateHash(&tpl)).To(Equal(before.Annotations[desiredstate.AnnotationTemplateHash]))
		updateMD(key, func(m *servingv1alpha1.ModelDeployment) {
			m.Spec.Template.Spec.Containers[0].Image = "registry.example/ml/server:unreviewed"
			if m.Spec.Template.Annotations == nil {
				m.Spec.Template.Annotations = map[string]string{}
			}
			m.Spec.Template.Annotations["pad"] = pad
		})
		Eventually(func() int64 { return getMD(key).Status.ObservedGeneration }).Should(Equal(getMD(key).Generation))

		By("the running Deployment keeps its pods: no strategy, no analysis has seen the new image")
		Consistently(func() []corev1.Container { return getDeployment(stable).Spec.Template.Spec.Containers }, 3*time.Second).
			Should(ContainElement(HaveField("Image", image)))
		Expect(eventReasons(ns, md.Name)).NotTo(ContainElement("DeploymentTemplateRestored"))
	})
})
