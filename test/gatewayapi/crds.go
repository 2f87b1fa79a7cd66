// Package gatewayapi finds the Gateway API CRDs the test clusters install:
// they come from the module cache, at the version go.mod pins, so no download
// is needed and the CRDs always match the Go types modelgate uses.
package gatewayapi

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is the Gateway API's Go module.
const Module = "sigs.k8s.io/gateway-api"

// kinds are the CRDs a test cluster needs: routes, their parents, and what
// cross-namespace references need.
var kinds = []string{"gatewayclasses", "gateways", "httproutes", "referencegrants"}

// CRDPaths are the files of the standard channel's CRDs that modelgate uses.
func CRDPaths() ([]string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", Module).Output()
	if err != nil {
		return nil, fmt.Errorf("finding module %s (run 'go mod download'): %w", Module, err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")
	paths := make([]string, 0, len(kinds))
	for _, k := range kinds {
		paths = append(paths, filepath.Join(dir, "gateway.networking.k8s.io_"+k+".yaml"))
	}
	return paths, nil
}
