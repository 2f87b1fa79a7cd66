//go:build tools

// Package tools pins the Helm CLI, which lints and renders the chart in
// charts/modelgate.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
