package notify

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Results of a notification in modelgate_notifications_total.
const (
	ResultDelivered = "delivered"
	ResultFailed    = "failed"
	ResultDropped   = "dropped"
)

// notifications counts notifications by outcome, on the manager's metrics
// endpoint. Alert on a rising rate of failed or dropped.
var notifications = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "modelgate_notifications_total",
	Help: "Notifications of a ModelDeployment's rollout by receiver and result: delivered, failed (every attempt failed) or dropped (the queue was full, or the manager stopped).",
}, []string{"namespace", "modeldeployment", "receiver", "result"})

func init() {
	ctrlmetrics.Registry.MustRegister(notifications)
}

func count(k key, result string) {
	notifications.WithLabelValues(k.namespace, k.name, k.receiver, result).Inc()
}
