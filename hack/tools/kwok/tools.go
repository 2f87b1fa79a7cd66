//go:build tools

// Package tools pins kwok and kwokctl, which run the local cluster's fake nodes.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
	_ "sigs.k8s.io/kwok/cmd/kwokctl"
)
