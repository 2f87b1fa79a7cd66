#!/usr/bin/env bash
# The demo behind `make demo` and `make demo-down`: a local cluster (see
# hack/local-cluster.sh), the CRDs, the operator running as a local process, and
# the samples in config/samples/, shown as a user would watch them.
#
#   hack/demo.sh up     start (or refresh) the demo and leave it running
#   hack/demo.sh down   stop the operator and remove the cluster
#
# The Makefile sets the tool paths (KUBECTL, KWOKCTL, ...) and MANAGER.
set -euo pipefail

cd "$(dirname "$0")/.."
cluster=${DEMO_CLUSTER:-modelgate-demo}
export KWOK_WORKDIR=${KWOK_WORKDIR:-$PWD/tmp/kwok}
state=$KWOK_WORKDIR/$cluster-operator
namespace=modelgate-demo
: "${KUBECTL:?run the demo with 'make demo'}"

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }

stop_operator() {
	if [[ -f $state.pid ]]; then
		local pid
		pid=$(cat "$state.pid")
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid"
			for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -9 "$pid" 2>/dev/null || true
		fi
		rm -f "$state.pid"
	fi
}

case ${1:-up} in
down)
	stop_operator
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

: "${MANAGER:?run the demo with 'make demo'}"
bold "1. A local cluster: kube-apiserver, etcd, controller-manager and scheduler as processes, kwok for 3 fake nodes"
kubeconfig=$(hack/local-cluster.sh up "$cluster")
k() { "$KUBECTL" --kubeconfig "$kubeconfig" "$@"; }
k get nodes

bold "2. The ModelDeployment and ModelApproval CRDs"
k apply --server-side --force-conflicts -f config/crd/bases
for crd in modeldeployments modelapprovals; do
	until [[ $(k get crd $crd.serving.modelgate.dev -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' 2>/dev/null) == True ]]; do sleep 0.2; done
done

bold "3. The operator, running as a local process (log: $state.log), serving its admission webhooks with a CA made for the demo"
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
k -n "$namespace" apply -k config/samples

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

bold "7. Its conditions"
k -n "$namespace" get md fraud-scorer -o 'jsonpath={range .status.conditions[*]}{.type}={.status} ({.reason}): {.message}{"\n"}{end}'

bold "8. Its readiness checklist (docs/checklist.md lists the items)"
checklist

bold "9. What the operator created: one Deployment per version, three Services"
k -n "$namespace" get deployments,services,pods -o wide

bold "10. Events"
k -n "$namespace" get events --field-selector involvedObject.kind=ModelDeployment

bold "11. A new version by canary: 2.4.0 takes one pod of three, then two for 5 s, then all, and 2.3.0 goes"
k -n "$namespace" patch md fraud-scorer --type=merge -p '{"spec":{"model":{"version":"2.4.0"}}}'
watch_until '{.status.stable.version}' 2.4.0
k -n "$namespace" get md fraud-scorer -o 'jsonpath={range .status.history[*]}{.outcome}{"\t"}{.version}{"\t"}{.message}{"\n"}{end}'

cat <<EOF

The demo cluster is up. To use it:
  export KUBECONFIG=$kubeconfig
  $KUBECTL -n $namespace get md
  $KUBECTL -n $namespace patch md fraud-scorer --type=merge -p '{"spec":{"model":{"version":"2.5.0"}}}'
  $KUBECTL -n $namespace annotate md fraud-scorer serving.modelgate.dev/abort="looks wrong" --overwrite
  $KUBECTL -n $namespace get md -w
Remove it with: make demo-down
EOF
