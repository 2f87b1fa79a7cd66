// Package window decides whether a rollout may move traffic now, from
// spec.deploymentWindows and an injected time, and when the next window opens.
package window
