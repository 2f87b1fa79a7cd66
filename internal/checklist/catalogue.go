package checklist

import (
	"fmt"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
)

const (
	enforce = servingv1alpha1.SeverityEnforce
	warn    = servingv1alpha1.SeverityWarn
	off     = servingv1alpha1.SeverityOff
)

// Sections of the seed checklist the items answer.
const (
	sectionModelReadiness = "Model Readiness"
	sectionDocumentation  = "Documentation"
	sectionSecurity       = "Security Checks"
)

// item is one row of the catalogue table; its Run function lives beside the
// other checks of its kind and is joined by id in Catalogue.
type item struct {
	id, section, title       string
	production, staging, dev servingv1alpha1.Severity
	network                  bool
}

// table is the catalogue: id, the seed checklist's section, what is verified,
// and the severity in the production, staging and development profiles.
var table = []item{
	{"model-version-semver", sectionModelReadiness, "Model versioned using semantic versioning, not below the stable version", enforce, enforce, warn, false},
	{"model-artifact", sectionModelReadiness, "Model artifacts stored in an artifact repository that answers", enforce, warn, off, true},
	{"model-registry", sectionModelReadiness, "Model registered in the model registry and ready", enforce, warn, off, true},
	{"model-performance", sectionModelReadiness, "Model performance meets or exceeds requirements", enforce, warn, off, false},
	{"model-card", sectionDocumentation, "Model card created and complete", enforce, warn, off, true},
	{"runbook", sectionDocumentation, "Runbook created for the operations team", enforce, warn, off, false},
	{"rollback-procedure", sectionDocumentation, "Rollback procedures documented", enforce, warn, off, false},
	{"probes", "Application Monitoring", "Readiness and liveness probes configured", enforce, enforce, warn, false},
	{"resources", "Infrastructure", "Resource requirements set (CPU, memory, GPU)", enforce, enforce, warn, false},
	{"hpa", "Infrastructure", "Horizontal scaling configured", enforce, warn, off, false},
	{"pdb", "Business Continuity", "Disruption budget protects the pods and allows a disruption", enforce, warn, off, false},
	{"network-policy", sectionSecurity, "Network security rules configured", enforce, warn, off, false},
	{"secrets", sectionSecurity, "Secrets exist and no credentials are hardcoded", enforce, enforce, enforce, false},
	{"tls", sectionSecurity, "Encryption in transit (TLS) enabled where the model is exposed", enforce, warn, off, false},
	{"security-context", sectionSecurity, "Containers run non-root, unprivileged, with a read-only root filesystem", enforce, warn, off, false},
	{"image-pinned", "Vulnerability Assessment", "Container images pinned by digest or from an allowed registry", enforce, warn, off, false},
	{"redundancy", "High Availability", "Redundancy implemented: at least 2 instances spread across nodes or zones", enforce, warn, off, false},
	{"capacity", "Capacity Planning", "The rollout's peak footprint fits the namespace quota and the nodes' GPUs", enforce, enforce, warn, false},
	{"monitoring", "Model Monitoring", "Rollback triggers defined and metrics exposed", enforce, warn, off, false},
}

// runners join the table by id; each file of checks contributes its own.
func runners() map[string]func(*Inputs) Finding {
	out := map[string]func(*Inputs) Finding{}
	for _, group := range []map[string]func(*Inputs) Finding{modelRunners, podRunners, clusterRunners} {
		for id, run := range group {
			out[id] = run
		}
	}
	return out
}

// Catalogue returns every check, in table order.
func Catalogue() []Check {
	run := runners()
	out := make([]Check, 0, len(table))
	for _, it := range table {
		r, ok := run[it.id]
		if !ok {
			panic(fmt.Sprintf("checklist: no check function for catalogue item %q", it.id))
		}
		out = append(out, Check{
			ID: it.id, Section: it.section, Title: it.title, Network: it.network,
			Severity: severities(it.production, it.staging, it.dev), Run: r,
		})
	}
	return out
}
