#!/usr/bin/env bash
# The demo behind `make demo` and `make demo-down`: a local cluster (see
# hack/local-cluster.sh), the CRDs, the local data plane with Prometheus (a
# real model-server process behind each sample pod, docs/local-data-plane.md),
# the operator running as a local process, and the samples in config/samples/,
# shown as a user would watch them.
#
#   hack/demo.sh up     start (or refresh) the demo and leave it running
#   hack/demo.sh down   stop the operator and remove the cluster
#
# The Makefile sets the tool paths (KUBECTL, KWOKCTL, ...), MANAGER, DATA_PLANE
# (bin/dataplane, next to bin/model-server) and PROMETHEUS.
set -euo pipefail

cd "$(dirname "$0")/.."
cluster=${DEMO_CLUSTER:-modelgate-demo}
export KWOK_WORKDIR=${KWOK_WORKDIR:-$PWD/tmp/kwok}
state=$KWOK_WORKDIR/$cluster-operator
dp=$KWOK_WORKDIR/$cluster-dataplane
namespace=modelgate-demo
: "${KUBECTL:?run the demo with 'make demo'}"

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }

# stop_pid stops the process whose pid is in file $1, if it runs, and removes the file.
stop_pid() {
	if [[ -f $1 ]]; then
		local pid
		pid=$(cat "$1")
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid"
			for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$1"
	fi
}
stop_operator() { stop_pid "$state.pid"; }
# The data plane stops its model-server processes and its Prometheus itself.
stop_data_plane() { stop_pid "$dp.pid"; }

case ${1:-up} in
down)
	stop_operator
	stop_data_plane
	hack/local-cluster.sh down "$cluster"
	echo "The demo is down."
	exit 0
	;;
up) ;;
*)
	echo "usage: $0 up|down" >&2
	exit 2
	;;
esac

: "${MANAGER:?run the demo with 'make demo'}" "${DATA_PLANE:?run the demo with 'make demo'}" "${PROMETHEUS:?run the demo with 'make demo'}"
# The demo talks to the model and to Prometheus as a user would, with curl
# and jq; Debian ships both.
for tool in curl jq; do
	command -v "$tool" >/dev/null || { echo "make demo needs $tool: install it (apt-get install $tool) and run it again" >&2; exit 1; }
done
bold "1. A local cluster: kube-apiserver, etcd, controller-manager and scheduler as processes, kwok for 3 fake nodes"
kubeconfig=$(hack/local-cluster.sh up "$cluster")
k() { "$KUBECTL" --kubeconfig "$kubeconfig" "$@"; }
k get nodes

bold "2. The ModelDeployment and ModelApproval CRDs"
k apply --server-side --force-conflicts -f config/crd/bases
for crd in modeldeployments modelapprovals modeldeploymentpolicies; do
	until [[ $(k get crd $crd.serving.modelgate.dev -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' 2>/dev/null) == True ]]; do sleep 0.2; done
done

bold "3. The data plane: a real model-server process for each model-server pod, Prometheus scraping them, 10 payments a second (logs: $dp/)"
stop_data_plane # a second `make demo` runs the freshly built one
rm -f "$dp.env"
# It also sends 10 synthetic payments a second to the fraud-scorer Service, each
# one's true label to the pod that answered: live errors, latency and accuracy.
nohup "$DATA_PLANE" --kubeconfig "$kubeconfig" --log-dir "$dp" --prometheus "$PROMETHEUS" \
	--traffic "http://fraud-scorer.$namespace.svc:8080" --traffic-rps 10 \
	--env-file "$dp.env" >"$dp.log" 2>&1 &
echo $! >"$dp.pid"
for _ in $(seq 100); do [[ -s $dp.env ]] && break; sleep 0.1; done
if [[ ! -s $dp.env ]]; then
	echo "The data plane did not start; its log:" >&2
	tail -n 20 "$dp.log" >&2
	exit 1
fi
# DATA_PLANE_PROXY: pod IPs and Services through it; PROMETHEUS_URL.
source "$dp.env"
echo "data plane pid $(cat "$dp.pid"), proxy $DATA_PLANE_PROXY, Prometheus $PROMETHEUS_URL"

bold "3b. The operator, running as a local process (log: $state.log), serving its admission webhooks with a CA made for the demo"
stop_operator # a second `make demo` runs the freshly built operator
mkdir -p "$KWOK_WORKDIR"
: "${LOCAL_WEBHOOKS:?run the demo with 'make demo'}"
webhook_port=${DEMO_WEBHOOK_PORT:-19443}
"$LOCAL_WEBHOOKS" -cert-dir "$state-certs" -port "$webhook_port" >"$state-webhooks.yaml"
KUBECONFIG=$kubeconfig nohup "$MANAGER" --metrics-bind-address=0 --health-probe-bind-address=127.0.0.1:0 \
	--webhook-host=127.0.0.1 --webhook-port="$webhook_port" --webhook-cert-dir="$state-certs" >"$state.log" 2>&1 &
echo $! >"$state.pid"
echo "operator pid $(cat "$state.pid")"
k apply -f "$state-webhooks.yaml"
# The webhooks fail closed: wait until the operator answers them.
until k apply --dry-run=server -f config/samples/serving_v1alpha1_modeldeployment.yaml -n default >/dev/null 2>&1; do sleep 0.2; done

bold "4. The samples (config/samples/): a production ModelDeployment, its model card, HPA and NetworkPolicy"
k create namespace "$namespace" --dry-run=client -o yaml | k apply -f - >/dev/null
# A second run starts the story again: a new ModelDeployment, no PodDisruptionBudget.
# Foreground deletion returns once the garbage collector removed what it owned.
k -n "$namespace" delete md fraud-scorer --ignore-not-found --cascade=foreground --timeout=120s
k -n "$namespace" delete -f config/samples/fraud-scorer-pdb.yaml --ignore-not-found
# Strict, as kubectl's default is: a field the API would drop is an error.
k -n "$namespace" apply --validate=strict -k config/samples

# watch_until prints `kubectl get md` whenever it changes, until the jsonpath
# $1 of fraud-scorer reads $2.
watch_until() {
	local deadline=$((SECONDS + 120)) last="" now
	while :; do
		now=$(k -n "$namespace" get md 2>/dev/null || true)
		if [[ $now != "$last" ]]; then
			echo "$now"
			last=$now
		fi
		[[ $(k -n "$namespace" get md fraud-scorer -o "jsonpath=$1" 2>/dev/null || true) == "$2" ]] && return 0
		if ((SECONDS > deadline)); then
			echo "fraud-scorer did not reach $1 == $2 in 120 s; the operator's log:" >&2
			tail -n 30 "$state.log" >&2
			exit 1
		fi
		sleep 0.2
	done
}
checklist() {
	k -n "$namespace" get md fraud-scorer -o 'jsonpath={range .status.checklist.items[*]}{.result}{"\t"}{.id}{"\t"}{.message}{"\n"}{end}' |
		awk -F'\t' '{printf "  %-8s %-21s %s\n", $1, $2, substr($3, 1, 110)}'
}

bold "5. The checklist holds the version: no PodDisruptionBudget protects its pods"
watch_until '{.status.phase}' Verifying
k -n "$namespace" get md fraud-scorer -o 'jsonpath={.status.conditions[?(@.type=="ChecklistPassed")].message}{"\n"}'
echo "Its Deployment has $(k -n "$namespace" get deployment -l app.kubernetes.io/name=fraud-scorer -o 'jsonpath={.items[0].spec.replicas}') pods: no traffic can reach it."

bold "6. Applying the PodDisruptionBudget (config/samples/fraud-scorer-pdb.yaml); the operator moves on by itself"
k -n "$namespace" apply -f config/samples/fraud-scorer-pdb.yaml
watch_until '{.status.conditions[?(@.type=="Ready")].status}' True

bold "6b. Real answers: a payment scored through the fraud-scorer Service (there is no pod network; the data plane's proxy routes it)"
payment='{"features": {"amount": 912.5, "hour": 3, "merchant_risk": 0.7, "distance_km": 420, "transactions_24h": 11, "card_present": 0, "foreign": 1, "account_age_days": 25}}'
headers=$(mktemp)
answer=$(curl -s -D "$headers" -x "$DATA_PLANE_PROXY" "http://fraud-scorer.$namespace.svc:8080/predict" -d "$payment")
# The proxy names the pod that answered: its feedback goes there, where the prediction is remembered.
endpoint=$(awk -F': ' 'tolower($1) == "x-data-plane-endpoint" {print $2}' "$headers" | tr -d '\r')
rm -f "$headers"
echo "POST /predict $payment"
echo "  -> $answer (answered by pod $endpoint)"
echo "POST /feedback to $endpoint: the payment was fraud -> $(curl -s -x "$DATA_PLANE_PROXY" "http://$endpoint/feedback" -d "{\"id\": $(jq .id <<<"$answer"), \"label\": \"fraud\"}")"

bold "7. Its conditions"
k -n "$namespace" get md fraud-scorer -o 'jsonpath={range .status.conditions[*]}{.type}={.status} ({.reason}): {.message}{"\n"}{end}'

bold "8. Its readiness checklist (docs/checklist.md lists the items)"
checklist

bold "9. What the operator created: one Deployment per version, three Services"
k -n "$namespace" get deployments,services,pods -o wide
echo "The pods carry the template's own labels and annotations beside modelgate's:"
k -n "$namespace" get pods -l app.kubernetes.io/name=fraud-scorer \
	-o 'jsonpath={range .items[*]}  {.metadata.name}: team={.metadata.labels.team} prometheus.io/scrape={.metadata.annotations.prometheus\.io/scrape} version={.metadata.labels.serving\.modelgate\.dev/version}{"\n"}{end}'

bold "10. Events"
k -n "$namespace" get events --field-selector involvedObject.kind=ModelDeployment

bold "11. Live analysis: the sample's rollback triggers are measured on the demo's Prometheus every 5 s"
k -n "$namespace" patch md fraud-scorer --type=merge -p "{\"spec\":{\"analysis\":{\"interval\":\"5s\",\"minSampleSize\":10,\"prometheus\":{\"address\":\"$PROMETHEUS_URL\"}}}}"
k -n "$namespace" get md fraud-scorer -o 'jsonpath={.spec.analysis}{"\n"}'

bold "11b. A good version by canary: 2.4.0 takes one pod of three, then two, each step moving on only once a round of live measurements passed"
k -n "$namespace" patch md fraud-scorer --type=merge -p '{"spec":{"model":{"version":"2.4.0"}}}'
watch_until '{.status.stable.version}' 2.4.0
k -n "$namespace" get md fraud-scorer -o 'jsonpath={range .status.history[*]}{.outcome}{"\t"}{.version}{"\t"}{.message}{"\n"}{end}'
echo "Its last measurements:"
k -n "$namespace" get md fraud-scorer -o 'jsonpath={range .status.analysis.measurements[*]}  {.metric} of {.version}: {.verdict} {.value} (bound {.bound}){"\n"}{end}' | awk 'NR <= 4' # awk reads it all: head would cut kubectl's pipe

bold "12. What Prometheus measured of the live traffic, by version, over the last 10 s (once the new pods have served that long)"
promql() {
	curl -s "$PROMETHEUS_URL/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[] | "  version=\(.metric.version)  \(.value[1] | tonumber * 1000 | round / 1000)"'
}
sel="namespace=\"$namespace\", modeldeployment=\"fraud-scorer\""
# A rate over a window is only whole once the series cover it: wait for 8 of the 10 a second.
for _ in $(seq 60); do
	rps=$(promql "sum by (version) (rate(model_requests_total{$sel, version=\"2.4.0\"}[10s]))" | awk '{print $2}')
	[[ -n $rps ]] && awk -v r="$rps" 'BEGIN {exit !(r >= 8)}' && break
	sleep 0.5
done
echo "requests a second:"
promql "sum by (version) (rate(model_requests_total{$sel}[10s]))"
echo "error ratio:"
promql "sum by (version) (rate(model_requests_total{$sel, code=~\"5..\"}[10s])) / sum by (version) (rate(model_requests_total{$sel}[10s]))"
echo "latency P95 (s):"
promql "histogram_quantile(0.95, sum by (version, le) (rate(model_request_duration_seconds_bucket{$sel}[10s])))"
echo "accuracy from feedback:"
promql "sum by (version) (increase(model_feedback_total{$sel, outcome=\"correct\"}[10s])) / sum by (version) (increase(model_feedback_total{$sel}[10s]))"

bold "13. A bad version: 2.5.0 answers 30% of its requests with errors; the analysis rolls it back by itself"
k -n "$namespace" patch md fraud-scorer --type=json -p '[{"op":"replace","path":"/spec/model/version","value":"2.5.0"},{"op":"add","path":"/spec/template/spec/containers/0/args","value":["--error-ratio=0.3"]}]'
watch_until '{.status.phase}' RolledBack
k -n "$namespace" get md fraud-scorer -o 'jsonpath={.status.conditions[?(@.type=="RolledBack")].reason}: {.status.conditions[?(@.type=="RolledBack")].message}{"\n"}'
k -n "$namespace" get md fraud-scorer -o 'jsonpath={range .status.history[*]}{.outcome}{"\t"}{.version}{"\t"}{.reason}{"\n"}{end}'

cat <<EOF

The demo cluster is up. To use it:
  export KUBECONFIG=$kubeconfig
  $KUBECTL -n $namespace get md
  $KUBECTL -n $namespace patch md fraud-scorer --type=json -p '[{"op":"replace","path":"/spec/model/version","value":"2.6.0"},{"op":"remove","path":"/spec/template/spec/containers/0/args"}]'
  $KUBECTL -n $namespace annotate md fraud-scorer serving.modelgate.dev/abort="looks wrong" --overwrite
  $KUBECTL -n $namespace get md -w
Score a payment through the Service, or a pod IP, by the data plane's proxy:
  curl -x $DATA_PLANE_PROXY http://fraud-scorer.$namespace.svc:8080/predict -d '$payment'
Prometheus: $PROMETHEUS_URL (for example /api/v1/query?query=model_requests_total)
Remove it with: make demo-down
EOF
