// Package probe performs the network-backed checklist probes, with timeouts and
// a bounded cache, and never reports Pass because the far end was unreachable.
package probe
