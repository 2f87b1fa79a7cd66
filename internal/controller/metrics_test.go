package controller

import (
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelgate/modelgate/internal/rollout"
)

// The help of modelgate_rollbacks_total, which an SRE reads when it alerts,
// names every reason a rollback is counted under.
func TestRollbacksHelpNamesEveryReason(t *testing.T) {
	g := NewWithT(t)
	ch := make(chan *prometheus.Desc, 1)
	rollbacks.Describe(ch)
	help := (<-ch).String()
	for _, reason := range rollout.RollbackReasons {
		g.Expect(help).To(ContainSubstring(reason))
	}
}
