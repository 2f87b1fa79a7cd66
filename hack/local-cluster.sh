#!/usr/bin/env bash
# Starts or removes a local Kubernetes cluster for the demo and the e2e tests:
# kube-apiserver, etcd, kube-controller-manager and kube-scheduler run as local
# processes (kwokctl's binary runtime), and kwok simulates the nodes and pods.
# Its Service range is a /16: hundreds of ModelDeployments own three Services each.
# Every binary comes from bin/, built by the Makefile; nothing is downloaded.
#
# The fake nodes take their pod ranges from POD_CIDR and the ranges after it
# (10.1.1.0/24, 10.1.2.0/24, ...). The local data plane (test/dataplane,
# docs/local-data-plane.md) runs each model-server pod as a process on the
# loopback twin of its IP (127.1.1.5 for 10.1.1.5): all of 127.0.0.0/8 is local
# on Linux, while the API server refuses loopback addresses in EndpointSlices.
# kwok's Stages come from hack/kwok/stages.yaml: its defaults, except that
# model-server pods become Ready only when the data plane says so.
#
#   hack/local-cluster.sh up   NAME   start NAME (or keep it if it is running)
#   hack/local-cluster.sh down NAME   remove NAME and its processes
#
# Environment (set by the Makefile): KWOKCTL, KWOK, KUBE_APISERVER,
# KUBE_CONTROLLER_MANAGER, KUBE_SCHEDULER, ETCD, KUBECTL; KWOK_WORKDIR is where
# clusters live (default: ./tmp/kwok); NODES is the number of fake nodes (default 3);
# POD_CIDR is the first node's pod range (default 10.1.1.0/24): give two
# clusters running at once different second octets, such as 10.2.1.0/24;
# MAX_PODS is how many pods each node takes (default kwok's 110);
# CREATE_ARGS are more arguments of `kwokctl create cluster`, split at spaces
# (make bench-scale raises the controller-manager's limits with them). kwokctl
# v0.8.0 panics when --extra-args names a component again after another one:
# give each component's first argument before any repeat.
set -euo pipefail

cmd=${1:?usage: $0 up|down NAME}
name=${2:?usage: $0 up|down NAME}
: "${KWOKCTL:?set KWOKCTL}" "${KUBECTL:?set KUBECTL}"
export KWOK_WORKDIR=${KWOK_WORKDIR:-$PWD/tmp/kwok}
nodes=${NODES:-3}
pod_cidr=${POD_CIDR:-10.1.1.0/24}
max_pods=${MAX_PODS:-110}
read -r -a create_args <<<"${CREATE_ARGS:-}"
stages=$(cd "$(dirname "$0")" && pwd)/kwok/stages.yaml
kubeconfig=$KWOK_WORKDIR/clusters/$name/kubeconfig

case $cmd in
up)
	if [[ -f $kubeconfig ]] && "$KUBECTL" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null 2>&1; then
		echo "Cluster $name is already running." >&2
	else
		# A cluster left behind by a crash or a reboot: remove its remains first.
		"$KWOKCTL" delete cluster --name "$name" >/dev/null 2>&1 || true
		"$KWOKCTL" create cluster --name "$name" --runtime binary --config "$stages" \
			--kube-apiserver-binary "${KUBE_APISERVER:?}" \
			--kube-controller-manager-binary "${KUBE_CONTROLLER_MANAGER:?}" \
			--kube-scheduler-binary "${KUBE_SCHEDULER:?}" \
			--etcd-binary "${ETCD:?}" \
			--kwok-controller-binary "${KWOK:?}" \
			--kubeconfig "$kubeconfig" \
			--extra-args kube-apiserver=service-cluster-ip-range=10.96.0.0/16 \
			"${create_args[@]}" \
			--wait 120s >&2
	fi
	# kwokctl's node template adds the node's index to the range: node 0 gets
	# POD_CIDR, node 1 the next /24, and so on. IPv4 only: the Services are.
	"$KWOKCTL" scale node --name "$name" --replicas "$nodes" --param ".podCIDRs=[\"$pod_cidr\"]" --param ".allocatable.pods=$max_pods" >/dev/null
	"$KUBECTL" --kubeconfig "$kubeconfig" wait --for=condition=Ready nodes --all --timeout=60s >/dev/null
	echo "$kubeconfig"
	;;
down)
	"$KWOKCTL" delete cluster --name "$name" >&2 || true
	rm -f "$kubeconfig"
	;;
*)
	echo "usage: $0 up|down NAME" >&2
	exit 2
	;;
esac
