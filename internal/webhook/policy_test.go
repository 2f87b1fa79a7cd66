package webhook

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(servingv1alpha1.AddToScheme(s))
	return s
}

func asUser(user string, groups ...string) context.Context {
	return admission.NewContextWithRequest(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UserInfo: authenticationv1.UserInfo{Username: user, Groups: groups}}})
}

func TestValidatePolicies(t *testing.T) {
	prodNS := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "risk", Labels: map[string]string{"env": "prod"}}}
	prod := &servingv1alpha1.ModelDeploymentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "prod"}, Spec: servingv1alpha1.ModelDeploymentPolicySpec{
		NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
		Checklist:         &servingv1alpha1.PolicyChecklist{MinimumProfile: servingv1alpha1.ProfileProduction},
		Windows:           &servingv1alpha1.PolicyWindows{OverrideGroups: []string{"sre"}},
	}}
	md := func(profile servingv1alpha1.ChecklistProfile, override string) *servingv1alpha1.ModelDeployment {
		m := &servingv1alpha1.ModelDeployment{ObjectMeta: metav1.ObjectMeta{Name: "fraud-scorer", Namespace: "risk"}}
		m.Spec.Checklist.Profile = profile
		if override != "" {
			m.Annotations = map[string]string{servingv1alpha1.AnnotationWindowOverride: override}
		}
		return m
	}
	tests := []struct {
		name      string
		objects   []client.Object
		apiReader bool // the namespace only in the API, not yet in the cache
		ctx       context.Context
		old, new  *servingv1alpha1.ModelDeployment
		want      []string
	}{
		{name: "no policy in the cluster: nothing asked, not even the request", ctx: context.Background(),
			new: md(servingv1alpha1.ProfileDevelopment, "")},
		{name: "a create below the minimum profile", objects: []client.Object{prodNS, prod}, ctx: asUser("tom"),
			new:  md(servingv1alpha1.ProfileDevelopment, ""),
			want: []string{"spec.checklist.profile: Forbidden: profile development is below the minimum profile production; set spec.checklist.profile to production (ModelDeploymentPolicy prod)"}},
		{name: "an update keeping the violation it had", objects: []client.Object{prodNS, prod}, ctx: asUser("tom"),
			old: md(servingv1alpha1.ProfileDevelopment, ""), new: md(servingv1alpha1.ProfileDevelopment, "")},
		{name: "an update that makes it worse", objects: []client.Object{prodNS, prod}, ctx: asUser("tom"),
			old: md(servingv1alpha1.ProfileStaging, ""), new: md(servingv1alpha1.ProfileDevelopment, ""),
			want: []string{"spec.checklist.profile: Forbidden: profile development is below the minimum profile production; set spec.checklist.profile to production (ModelDeploymentPolicy prod)"}},
		{name: "a window override from outside the groups", objects: []client.Object{prodNS, prod}, ctx: asUser("tom", "risk-team"),
			old: md(servingv1alpha1.ProfileProduction, ""), new: md(servingv1alpha1.ProfileProduction, "INC-1"),
			want: []string{"metadata.annotations[serving.modelgate.dev/window-override]: Forbidden: only members of sre may override a deployment window (ModelDeploymentPolicy prod); tom is in none of them"}},
		{name: "a window override from inside the groups", objects: []client.Object{prodNS, prod}, ctx: asUser("carol", "sre"),
			old: md(servingv1alpha1.ProfileProduction, ""), new: md(servingv1alpha1.ProfileProduction, "INC-1")},
		{name: "an unchanged window override, edited by someone outside the groups", objects: []client.Object{prodNS, prod}, ctx: asUser("tom"),
			old: md(servingv1alpha1.ProfileProduction, "INC-1"), new: md(servingv1alpha1.ProfileProduction, "INC-1")},
		{name: "a namespace the cache has not seen yet is read from the API", objects: []client.Object{prod}, apiReader: true, ctx: asUser("tom"),
			new:  md(servingv1alpha1.ProfileDevelopment, ""),
			want: []string{"spec.checklist.profile: Forbidden: profile development is below the minimum profile production; set spec.checklist.profile to production (ModelDeploymentPolicy prod)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			v := DeploymentValidator{Reader: fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(tt.objects...).Build()}
			if tt.apiReader {
				v.APIReader = fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(prodNS).Build()
			}
			errs, err := v.validatePolicies(tt.ctx, tt.old, tt.new)
			g.Expect(err).NotTo(HaveOccurred())
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestValidatePolicy(t *testing.T) {
	g := NewWithT(t)
	p := &servingv1alpha1.ModelDeploymentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	g.Expect(validatePolicy(p)).To(Succeed(), "{} selects every namespace")
	p.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn}}}
	g.Expect(validatePolicy(p)).To(MatchError(ContainSubstring("spec.selector: Invalid value")))
}
