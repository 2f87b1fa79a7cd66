// Package modelserver is the HTTP side of the sample model server
// (cmd/model-server): /predict, /feedback, health, Prometheus metrics and the
// faults tests inject. names.go holds the metric names the analysis queries.
package modelserver
