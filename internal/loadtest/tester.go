package loadtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"

	"k8s.io/utils/clock"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/jobs"
)

// Defaults of a Tester's bounds.
const (
	// DefaultMaxJobs is how many jobs a Tester runs at once, over every
	// namespace.
	DefaultMaxJobs = 8
	// DefaultMaxJobsPerNamespace is how many of them one namespace may run:
	// a team whose candidates hang holds at most these slots, and the other
	// namespaces' jobs run in the rest.
	DefaultMaxJobsPerNamespace = 2
)

// Key names a job: the ModelDeployment, the version under test and a hash of
// the test specs (SpecHash). A ModelDeployment has at most one job; a key
// with another version or hash replaces it.
type Key struct {
	Namespace string
	Name      string
	Version   string
	SpecHash  string
}

// Owner is the ModelDeployment's namespace and name: it has one job at most.
func (k Key) Owner() (namespace, name string) { return k.Namespace, k.Name }

// String is namespace/name@version.
func (k Key) String() string { return k.Namespace + "/" + k.Name + "@" + k.Version }

// Outcome is what a job found.
type Outcome struct {
	// Smoke is the smoke test's result; nil when none ran.
	Smoke *SmokeResult
	// Load is the load test's status; nil when none ran (none declared, or
	// the smoke test failed first).
	Load *servingv1alpha1.LoadTestStatus
	// Err is set when the job itself failed: it panicked.
	Err error
}

// Panicked records that the job panicked.
func (o *Outcome) Panicked(v any) { *o = Outcome{Err: fmt.Errorf("the test panicked: %v", v)} }

// Passed is true when the job ran and every test it ran passed.
func (o Outcome) Passed() bool {
	return o.Err == nil && (o.Smoke == nil || o.Smoke.Passed) &&
		(o.Load == nil || o.Load.Verdict == servingv1alpha1.VerdictPass)
}

// Message says why the outcome did not pass, or "" when it did.
func (o Outcome) Message() string {
	switch {
	case o.Err != nil:
		return o.Err.Error()
	case o.Smoke != nil && !o.Smoke.Passed:
		return "smoke test failed: " + o.Smoke.Message
	case o.Load != nil && o.Load.Verdict != servingv1alpha1.VerdictPass:
		return fmt.Sprintf("load test %s: %s", o.Load.Verdict, o.Load.Message)
	}
	return ""
}

// Run is the job the controller gives a Tester: the smoke test when one is
// declared, then the load test when one is declared and the smoke test
// passed, both against targets only.
func Run(ctx context.Context, client *http.Client, targets []string, smoke *servingv1alpha1.SmokeTestSpec,
	load *servingv1alpha1.LoadTestSpec, version string, clk clock.PassiveClock, lim Limits) Outcome {
	var o Outcome
	if smoke != nil {
		r := Smoke(ctx, client, targets, *smoke)
		o.Smoke = &r
		if !r.Passed {
			return o
		}
	}
	if load != nil {
		o.Load = Load(ctx, client, targets, *load, version, clk, lim)
	}
	return o
}

// SpecHash hashes the test specs for Key.SpecHash: a changed spec gives
// another hash.
func SpecHash(smoke *servingv1alpha1.SmokeTestSpec, load *servingv1alpha1.LoadTestSpec) string {
	b, err := json.Marshal(struct {
		Smoke *servingv1alpha1.SmokeTestSpec `json:"smoke"`
		Load  *servingv1alpha1.LoadTestSpec  `json:"load"`
	}{smoke, load})
	if err != nil { // plain structs of strings and numbers: never
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Tester runs the tests off the reconcile loop (see jobs.Runner): a
// reconcile asks with Ensure and requeues until the tests are done. The
// manager bounds it with DefaultMaxJobs and DefaultMaxJobsPerNamespace, so a
// team whose candidates hang holds at most its namespace's slots.
type Tester = jobs.Runner[Key, Outcome]
