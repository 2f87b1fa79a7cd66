package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/checklist"
)

// mlflowVersion is the answer of MLflow's model-versions/get, or its error.
type mlflowVersion struct {
	ModelVersion *struct {
		Status string `json:"status"`
	} `json:"model_version"`
	ErrorCode string `json:"error_code"`
}

// Registry looks the model version up in an MLflow-compatible registry:
// GET <url>/api/2.0/mlflow/model-versions/get?name=<name>&version=<version>,
// where name is ref.Name or else modelName. It returns nil when ref has no URL.
func (p *Prober) Registry(ctx context.Context, ref servingv1alpha1.ModelRegistryRef, modelName string) *checklist.Finding {
	base := string(ref.URL)
	if base == "" {
		return nil
	}
	name := ref.Name
	if name == "" {
		name = modelName
	}
	shown := checklist.RedactURL(base)
	u, err := url.Parse(base)
	switch {
	case err != nil:
		f := checklist.Fail("set spec.model.registry.url to the registry's REST API, such as http://mlflow.ml:5000",
			"spec.model.registry.url %s is not a valid URL: %s", shown, parseErr(err))
		return &f
	case !isHTTPURL(u):
		f := checklist.Fail("set spec.model.registry.url to the registry's REST API, such as http://mlflow.ml:5000",
			"spec.model.registry.url %s is not an http:// or https:// URL", shown)
		return &f
	case name == "" || ref.Version == "":
		f := checklist.Fail("set spec.model.registry.version, and spec.model.registry.name or spec.model.name",
			"The registry lookup needs a model name and version; got name %q and version %q", name, ref.Version)
		return &f
	}
	api := u.JoinPath("api/2.0/mlflow/model-versions/get")
	api.RawQuery = url.Values{"name": {name}, "version": {ref.Version}}.Encode()
	api.Fragment, api.RawFragment = "", ""

	key := strings.Join([]string{"registry", base, name, ref.Version}, "\x00")
	what := fmt.Sprintf("model %s version %s in the registry at %s", name, ref.Version, shown)
	return p.finding(ctx, key, what, func(ctx context.Context) outcome {
		return p.mlflow(ctx, api.String(), shown, u.Host, name, ref.Version)
	})
}

func (p *Prober) mlflow(ctx context.Context, api, shown, host, name, version string) outcome {
	status, body, _, err := p.get(ctx, api, "application/json")
	if err != nil {
		return unreachable(host, "The registry at %s could not be reached to look up model %s version %s: %s", shown, name, version, p.describe(err))
	}
	// What the registry said in words (message, status_message) is never
	// shown: the answer at an address a spec names is not read back into
	// status. Only the status code and MLflow's known codes are.
	var v mlflowVersion
	jsonErr := json.Unmarshal(body, &v)
	notRegistered := fmt.Sprintf("register model %s version %s in the registry at %s, or correct spec.model.registry (name, version, url)", name, version, shown)

	switch {
	case jsonErr == nil && v.ErrorCode == "RESOURCE_DOES_NOT_EXIST":
		return settled(checklist.Fail(notRegistered,
			"Model version %s of %s is not in the registry at %s (RESOURCE_DOES_NOT_EXIST)", version, name, shown))
	case status == http.StatusNotFound:
		return settled(checklist.Fail(notRegistered+"; the answer was not an MLflow error, so check too that the url is the MLflow server's",
			"Model version %s of %s is not in the registry at %s (%s)", version, name, shown, httpStatus(status)))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return settled(checklist.Fail("modelgate asks the registry without credentials: allow anonymous reads of the model versions, "+
			"or give the item model-registry the severity warn in spec.checklist.overrides with the reason",
			"The registry at %s refused the lookup of model %s version %s (%s)", shown, name, version, httpStatus(status)))
	case status >= 400 && status < 500:
		return settled(checklist.Fail("correct spec.model.registry (name, version, url): the registry rejected the lookup",
			"The registry at %s rejected the lookup of model %s version %s (%s)", shown, name, version, httpStatus(status)))
	case status < 200 || status >= 300:
		return unreachable(host, "The registry at %s answered %s to the lookup of model %s version %s", shown, httpStatus(status), name, version)
	case jsonErr != nil:
		return unreachable(host, "The registry at %s answered the lookup of model %s version %s with invalid JSON", shown, name, version)
	case v.ModelVersion == nil:
		return unreachable(host, "The registry at %s answered the lookup of model %s version %s without a model_version; is it an MLflow-compatible registry?", shown, name, version)
	}
	return judgeModelVersion(v.ModelVersion.Status, shown, host, name, version)
}

// judgeModelVersion maps the status of a model version in MLflow to a Finding.
func judgeModelVersion(status, shown, host, name, version string) outcome {
	switch status {
	case "READY":
		return settled(checklist.Pass("Model %s version %s is registered and READY in the registry at %s", name, version, shown))
	case "PENDING_REGISTRATION":
		// Registration is under way: ask again soon rather than after the TTL.
		return transient(checklist.Fail("wait for the registration to finish; modelgate asks the registry again after a backoff of 1s, doubling to at most 1m",
			"Model %s version %s is not ready yet: PENDING_REGISTRATION", name, version))
	case "FAILED_REGISTRATION":
		return settled(checklist.Fail(fmt.Sprintf("register model %s version %s again (its registration failed; the registry's status_message says why), or point spec.model.registry.version at a version that is READY", name, version),
			"The registration of model %s version %s failed: FAILED_REGISTRATION", name, version))
	}
	return unreachable(host, "Model %s version %s has a status in the registry at %s that modelgate does not know; it waits for READY", name, version, shown)
}
