package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

// target is a ModelDeployment the command works on, and the client to reach it.
type target struct {
	c         client.WithWatch
	namespace string
	name      string
}

// connect resolves the namespace and connects.
func (o *Options) connect(name string) (*target, error) {
	ns, err := o.namespace()
	if err != nil {
		return nil, err
	}
	c, err := o.client()
	if err != nil {
		return nil, err
	}
	return &target{c: c, namespace: ns, name: name}, nil
}

// get reads the ModelDeployment.
func (t *target) get(ctx context.Context) (*servingv1alpha1.ModelDeployment, error) {
	md := &servingv1alpha1.ModelDeployment{}
	if err := t.c.Get(ctx, client.ObjectKey{Namespace: t.namespace, Name: t.name}, md); err != nil {
		return nil, t.explain(err, "read")
	}
	return md, nil
}

// explain turns an API error into one that says what to do.
func (t *target) explain(err error, verb string) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("ModelDeployment %q not found in namespace %q: list them with 'kubectl get modeldeployments -n %s', or pass the right --namespace",
			t.name, t.namespace, t.namespace)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("not allowed to %s ModelDeployment %s/%s: %w\nAsk for a Role that grants it (modelgate ships modeldeployment-viewer and modeldeployment-editor ClusterRoles)",
			verb, t.namespace, t.name, err)
	case meta.IsNoMatchError(err):
		return fmt.Errorf("the cluster does not serve %s ModelDeployments: install modelgate's CRD (make install), or check --context: %w",
			servingv1alpha1.GroupVersion, err)
	case errors.As(err, new(*url.Error)):
		return fmt.Errorf("cannot reach the API server: %w\nCheck that the cluster is up and that --kubeconfig and --context name it", err)
	case apierrors.IsConflict(err):
		return fmt.Errorf("ModelDeployment %s/%s changed while it was being updated: run the command again: %w", t.namespace, t.name, err)
	}
	return fmt.Errorf("cannot %s ModelDeployment %s/%s: %w", verb, t.namespace, t.name, err)
}

// listNames lists the ModelDeployments of the namespace, for completion.
func listNames(ctx context.Context, opts *Options) ([]string, error) {
	ns, err := opts.namespace()
	if err != nil {
		return nil, err
	}
	c, err := opts.client()
	if err != nil {
		return nil, err
	}
	var list servingv1alpha1.ModelDeploymentList
	if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	names := make([]string, len(list.Items))
	for i := range list.Items {
		names[i] = list.Items[i].Name
	}
	return names, nil
}
