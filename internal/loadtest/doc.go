// Package loadtest sends the built-in smoke and open-loop load tests at a
// candidate's endpoints, and runs them off the reconcile loop, one job per
// ModelDeployment and version, bounded in number, time and requests.
package loadtest
