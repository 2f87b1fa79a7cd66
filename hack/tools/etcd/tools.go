//go:build tools

// Package tools pins the etcd server that envtest and the local cluster run.
package tools

import _ "go.etcd.io/etcd/server/v3"
