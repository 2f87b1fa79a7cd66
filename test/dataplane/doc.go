// Package dataplane makes the simulated pods of the local kwok cluster real:
// for every Running pod of a ModelDeployment whose container image is named
// model-server, it runs one cmd/model-server process with the pod's env on the
// pod's IP, marks the pod Ready when the process answers its readiness probe,
// and stops the process when the pod goes. docs/local-data-plane.md tells how.
package dataplane
