package desiredstate

import (
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestControllerRevisionRoundTrip(t *testing.T) {
	g := NewWithT(t)
	md := newMD()
	tpl, err := PodTemplate(md, md.Spec.Model.Version)
	g.Expect(err).NotTo(HaveOccurred())
	data := NewRevisionData(md, tpl, TemplateHash(&tpl))
	cr, err := ControllerRevision(md, DeploymentName(md, "2.3.0"), 3, data)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cr.Revision).To(BeEquivalentTo(3))
	g.Expect(cr.Annotations).To(HaveKeyWithValue(AnnotationModelVersion, "2.3.0"))
	back, err := ReadRevision(cr)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(back).To(Equal(data))
	g.Expect(TemplateHash(&back.Template)).To(Equal(data.TemplateHash), "the Deployment written again runs the same template")
}

func TestPruneRevisions(t *testing.T) {
	cr := func(name string, n int64, version string, promoted bool) appsv1.ControllerRevision {
		c := appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{AnnotationModelVersion: version}}, Revision: n}
		if promoted {
			c.Annotations[AnnotationPromoted] = "true"
		}
		return c
	}
	all := []appsv1.ControllerRevision{cr("a", 1, "1.0.0", true), cr("b", 2, "1.1.0", true), cr("c", 3, "1.2.0", false), cr("d", 4, "1.3.0", true)}
	tests := []struct {
		name  string
		inUse map[string]bool
		limit int
		want  []string
	}{
		{name: "within the limit nothing goes", limit: 10},
		{name: "the oldest idle ones go first", limit: 1, inUse: map[string]bool{"d": true}, want: []string{"a", "b"}},
		{name: "a revision in use is kept whatever its age", limit: 0, inUse: map[string]bool{"a": true}, want: []string{"b", "c", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(PruneRevisions(all, tt.inUse, tt.limit)).To(Equal(tt.want))
		})
	}
	NewWithT(t).Expect(PromotedVersions(all)).To(Equal([]string{"1.0.0", "1.1.0", "1.3.0"}))
}

func TestRevisionDataOf(t *testing.T) {
	g := NewWithT(t)
	md := newMD(withServingContainer("server"))
	tpl := mustTemplate(t, md, "2.3.0")
	dep := served(newDeployment(md, "2.3.0", tpl, 3))

	data := RevisionDataOf(dep, md.Spec.ServingContainer)

	g.Expect(data.Version).To(Equal("2.3.0"))
	g.Expect(data.URI).To(Equal("oci://registry.example/models/fraud-scorer:2.3.0"))
	g.Expect(data.TemplateHash).To(Equal(TemplateHash(&tpl)), "the hash the Deployment was written with, not that of its defaulted template")
	g.Expect(data.Template).To(Equal(dep.Spec.Template))
	g.Expect(TemplateDrift(&data.Template, &dep.Spec.Template)).To(BeEmpty())
}
