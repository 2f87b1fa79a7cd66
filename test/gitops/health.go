// Package gitops runs the health checks modelgate ships for GitOps tools
// (config/gitops: Argo CD's Lua, Flux's CEL healthCheckExprs) the way those
// tools run them, so that tests can hold them against kstatus on statuses the
// real reconciler wrote.
package gitops

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/cel-go/cel"
	lua "github.com/yuin/gopher-lua"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/yaml"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Dir is config/gitops of this repository.
func Dir() string {
	_, file, _, _ := runtime.Caller(0) // test/gitops/health.go
	return filepath.Join(filepath.Dir(file), "..", "..", "config", "gitops")
}

// Argo CD's health statuses.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Degraded    = "Degraded"
	Suspended   = "Suspended"
)

// ArgoHealth runs config/gitops/argocd-health.lua as Argo CD does: the
// object as the global obj, the returned table's status and message.
func ArgoHealth(obj map[string]any) (status, message string, err error) {
	script, err := os.ReadFile(filepath.Join(Dir(), "argocd-health.lua"))
	if err != nil {
		return "", "", err
	}
	L := lua.NewState(lua.Options{SkipOpenLibs: false})
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(string(script)); err != nil {
		return "", "", err
	}
	hs, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("the script returned %s, not a table", L.Get(-1).Type())
	}
	return lua.LVAsString(hs.RawGetString("status")), lua.LVAsString(hs.RawGetString("message")), nil
}

// toLua converts decoded JSON the way Argo CD's Lua VM sees objects:
// objects as tables, arrays as 1-based sequences, numbers as numbers.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range v {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case nil:
		return lua.LNil
	default:
		return lua.LString(fmt.Sprint(v))
	}
}

// FluxHealth evaluates the healthCheckExprs of
// config/gitops/flux-kustomization.yaml as kustomize-controller does: the
// object's top-level fields as variables; inProgress, then failed, then
// current; none true is InProgress.
func FluxHealth(obj map[string]any) (kstatus.Status, error) {
	b, err := os.ReadFile(filepath.Join(Dir(), "flux-kustomization.yaml"))
	if err != nil {
		return "", err
	}
	var k struct {
		Spec struct {
			HealthCheckExprs []struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				InProgress string `json:"inProgress"`
				Failed     string `json:"failed"`
				Current    string `json:"current"`
			} `json:"healthCheckExprs"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &k); err != nil {
		return "", err
	}
	if len(k.Spec.HealthCheckExprs) != 1 || k.Spec.HealthCheckExprs[0].Kind != "ModelDeployment" {
		return "", fmt.Errorf("want one healthCheckExprs entry, for ModelDeployment")
	}
	e := k.Spec.HealthCheckExprs[0]
	vars := map[string]any{}
	var opts []cel.EnvOption
	for _, name := range []string{"apiVersion", "kind", "metadata", "spec", "status"} {
		opts = append(opts, cel.Variable(name, cel.DynType))
		vars[name] = obj[name]
		if vars[name] == nil {
			vars[name] = map[string]any{}
		}
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return "", err
	}
	for _, c := range []struct {
		expr   string
		status kstatus.Status
	}{{e.InProgress, kstatus.InProgressStatus}, {e.Failed, kstatus.FailedStatus}, {e.Current, kstatus.CurrentStatus}} {
		ast, iss := env.Compile(c.expr)
		if iss.Err() != nil {
			return "", fmt.Errorf("%s: %w", c.expr, iss.Err())
		}
		prg, err := env.Program(ast)
		if err != nil {
			return "", err
		}
		out, _, err := prg.Eval(vars)
		if err != nil {
			return "", fmt.Errorf("%s: %w", c.expr, err)
		}
		if out.Value() == true {
			return c.status, nil
		}
	}
	return kstatus.InProgressStatus, nil
}

// Kstatus is what kstatus (kubectl wait, Flux's default, cli-utils) reads.
func Kstatus(obj map[string]any) (kstatus.Status, error) {
	res, err := kstatus.Compute(&unstructured.Unstructured{Object: obj})
	if err != nil {
		return "", err
	}
	return res.Status, nil
}

// ArgoAsKstatus is the kstatus status each Argo CD health status stands for:
// a suspended rollout waits for a person, which kstatus reads as in
// progress.
var ArgoAsKstatus = map[string]kstatus.Status{
	Healthy:     kstatus.CurrentStatus,
	Progressing: kstatus.InProgressStatus,
	Suspended:   kstatus.InProgressStatus,
	Degraded:    kstatus.FailedStatus,
}
