// Package stamps says whether the identities modelgate's mutating webhook
// stamps (a ModelApproval's spec.approver, the window-override-by and
// <control>-by annotations) can be believed: only while the cluster sends
// every create of a ModelApproval and every write of a ModelDeployment
// through that webhook. Without it (make run, --enable-webhooks=false, the
// webhook manifests left out) anyone who may edit a ModelDeployment could
// write those fields by hand.
package stamps

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The paths of the two stamping webhooks, as config/webhook/manifests.yaml
// declares them (the configuration's own name varies with the kustomize
// prefix, the paths do not).
const (
	ApprovalStamperPath   = "/mutate-serving-modelgate-dev-v1alpha1-modelapproval"
	DeploymentStamperPath = "/mutate-serving-modelgate-dev-v1alpha1-modeldeployment"
)

// need is one stamping webhook the cluster must call.
type need struct {
	path, resource string
	operations     []admissionregistrationv1.OperationType
}

var needs = []need{
	{ApprovalStamperPath, "modelapprovals", []admissionregistrationv1.OperationType{admissionregistrationv1.Create}},
	{DeploymentStamperPath, "modeldeployments", []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}},
}

// Judge says why the stamps cannot be believed given the cluster's
// MutatingWebhookConfigurations, or "" when they can: each stamping webhook
// must be configured at its path, for its resource and operations, failing
// closed and selecting every namespace and object.
func Judge(configs []admissionregistrationv1.MutatingWebhookConfiguration) string {
	for _, n := range needs {
		if !configured(configs, n) {
			return fmt.Sprintf("no MutatingWebhookConfiguration sends every %s of %s through modelgate's webhook at %s (failurePolicy Fail, no selector), so the identities it stamps could be written by hand",
				opsText(n.operations), n.resource, n.path)
		}
	}
	return ""
}

func configured(configs []admissionregistrationv1.MutatingWebhookConfiguration, n need) bool {
	for _, c := range configs {
		for _, w := range c.Webhooks {
			if pathOf(w.ClientConfig) != n.path || !failsClosed(w) || !everything(w.NamespaceSelector) || !everything(w.ObjectSelector) {
				continue
			}
			if covers(w.Rules, n) {
				return true
			}
		}
	}
	return false
}

func pathOf(cc admissionregistrationv1.WebhookClientConfig) string {
	if cc.Service != nil {
		if cc.Service.Path == nil {
			return ""
		}
		return path.Clean(*cc.Service.Path)
	}
	if cc.URL == nil {
		return ""
	}
	u, err := url.Parse(*cc.URL)
	if err != nil {
		return ""
	}
	return path.Clean(u.Path) // envtest writes https://host:port//path
}

// failsClosed: an unset policy defaults to Fail in admissionregistration/v1.
func failsClosed(w admissionregistrationv1.MutatingWebhook) bool {
	return w.FailurePolicy == nil || *w.FailurePolicy == admissionregistrationv1.Fail
}

func everything(s *metav1.LabelSelector) bool {
	return s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0)
}

func covers(rules []admissionregistrationv1.RuleWithOperations, n need) bool {
	for _, op := range n.operations {
		ok := false
		for _, r := range rules {
			if anyOf(r.APIGroups, "serving.modelgate.dev") && anyOf(r.APIVersions, "v1alpha1") && anyOf(r.Resources, n.resource) &&
				(slices.Contains(r.Operations, op) || slices.Contains(r.Operations, admissionregistrationv1.OperationAll)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func anyOf(list []string, want string) bool {
	return slices.Contains(list, want) || slices.Contains(list, "*")
}

func opsText(ops []admissionregistrationv1.OperationType) string {
	if len(ops) == 1 {
		return string(ops[0])
	}
	return fmt.Sprintf("%s and %s", ops[0], ops[1])
}

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations,verbs=get;list;watch

// Checker reads the cluster's MutatingWebhookConfigurations (from the
// manager's cache: there are few, and a change is seen at once).
type Checker struct {
	Reader client.Reader
}

// Untrusted says why the stamps cannot be believed now, or "".
func (c Checker) Untrusted(ctx context.Context) (string, error) {
	var list admissionregistrationv1.MutatingWebhookConfigurationList
	if err := c.Reader.List(ctx, &list); err != nil {
		return "", fmt.Errorf("listing the MutatingWebhookConfigurations: %w", err)
	}
	return Judge(list.Items), nil
}
