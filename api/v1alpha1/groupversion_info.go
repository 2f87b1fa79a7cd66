// Package v1alpha1 holds the serving.modelgate.dev/v1alpha1 API: the
// ModelDeployment kind, its spec, and the status contract tools read, the
// ModelApproval kind of sign-offs, and the cluster-scoped
// ModelDeploymentPolicy kind of platform rules.
//
// +kubebuilder:object:generate=true
// +groupName=serving.modelgate.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "serving.modelgate.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the kinds of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, &ModelDeployment{}, &ModelDeploymentList{}, &ModelApproval{}, &ModelApprovalList{},
		&ModelDeploymentPolicy{}, &ModelDeploymentPolicyList{})
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
