//go:build tools

// Package tools pins the Kubernetes control-plane commands that hack/tools.mk
// builds into bin/ for envtest, the local kwok cluster and the demo.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
