# modelgate. `make demo` shows the operator at work on a local cluster;
# `make test` runs every test. Both build what they need into bin/ first, from
# the Go module proxy only, at the versions pinned below and in hack/tools/.

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec
GO ?= go
# The Go release everything is built and tested with: the go command fetches
# it from the module proxy the first time. go1.26.8's standard library has
# known vulnerabilities (make vuln).
export GOTOOLCHAIN = go1.27.3
# Its bin/ goes first on the PATH: tools that ask `go` for its version with
# GO111MODULE=off (go/packages does, for govulncheck and golangci-lint) would
# otherwise be answered by the machine's own Go, which ignores GOTOOLCHAIN then.
export PATH := $(shell GOTOOLCHAIN=$(GOTOOLCHAIN) $(GO) env GOROOT)/bin:$(PATH)
# Tools that type-check Go source (controller-gen, golangci-lint, govulncheck)
# cannot read a standard library newer than the Go they were built with: their
# paths carry that Go's version, so a new one builds them anew.
GO_VERSION := $(shell GOTOOLCHAIN=$(GOTOOLCHAIN) $(GO) env GOVERSION)

##@ Versions (the control plane's are read from the pinning modules in hack/tools/)

K8S_VERSION := $(shell awk '/^require k8s.io\/kubernetes v/{print $$NF}' hack/tools/kubernetes/go.mod)
ETCD_VERSION := $(shell awk '/^require go.etcd.io\/etcd\/server\/v3 v/{print $$NF}' hack/tools/etcd/go.mod)
KWOK_VERSION := $(shell awk '/^require sigs.k8s.io\/kwok v/{print $$NF}' hack/tools/kwok/go.mod)
HELM_VERSION := $(shell awk '/^require helm.sh\/helm\/v4 v/{print $$NF}' hack/tools/helm/go.mod)
# Prometheus comes from Debian's package (seconds; its Go module takes minutes
# to build), pinned to the exact package version.
PROMETHEUS_DEB_VERSION ?= 2.42.0+ds-5+b6
PROMETHEUS_VERSION := $(firstword $(subst +, ,$(PROMETHEUS_DEB_VERSION)))
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
GOVULNCHECK_VERSION ?= v1.10.0
# The Go vulnerability database, as the golang.org/x/vulndb module: its
# data/osv holds the OSV reports, which its cmd/indexdb turns into the layout
# govulncheck reads with -db file://. Raise it to take newer reports.
VULNDB_VERSION ?= v0.0.0-20261105234957-e22db6528018
# The Argo Rollouts controller make bench-scale-argo measures beside the manager.
ARGO_ROLLOUTS_VERSION ?= v1.10.2

##@ Tool locations

LOCALBIN ?= $(CURDIR)/bin
K8S_BIN := $(LOCALBIN)/k8s-$(K8S_VERSION)
KUBE_APISERVER := $(K8S_BIN)/kube-apiserver
KUBE_CONTROLLER_MANAGER := $(K8S_BIN)/kube-controller-manager
KUBE_SCHEDULER := $(K8S_BIN)/kube-scheduler
KUBECTL := $(K8S_BIN)/kubectl
ETCD := $(LOCALBIN)/etcd-$(ETCD_VERSION)/etcd
KWOK := $(LOCALBIN)/kwok-$(KWOK_VERSION)/kwok
KWOKCTL := $(LOCALBIN)/kwok-$(KWOK_VERSION)/kwokctl
# envtest wants etcd and kube-apiserver side by side in one folder.
ENVTEST_ASSETS := $(LOCALBIN)/envtest-$(K8S_VERSION)-etcd-$(ETCD_VERSION)
CONTROLLER_GEN := $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)-$(GO_VERSION)
GOLANGCI_LINT := $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)-$(GO_VERSION)
GOVULNCHECK := $(LOCALBIN)/govulncheck-$(GOVULNCHECK_VERSION)-$(GO_VERSION)
INDEXDB := $(LOCALBIN)/vulndb-indexdb-$(VULNDB_VERSION)
VULNDB := $(LOCALBIN)/vulndb-$(VULNDB_VERSION)
MANAGER := $(LOCALBIN)/manager
# The kubectl plugin: with bin/ on the PATH, `kubectl modelgate` runs it.
PLUGIN := $(LOCALBIN)/kubectl-modelgate
# The e2e tests' plugin, built with coverage, alone in its folder so that the
# tests put only it on the PATH.
E2E_PLUGIN := $(LOCALBIN)/e2e-plugin/kubectl-modelgate
PROMETHEUS := $(LOCALBIN)/prometheus-$(PROMETHEUS_VERSION)/prometheus
# Debian's package carries promtool beside prometheus; $(PROMETHEUS) installs both.
PROMTOOL := $(dir $(PROMETHEUS))promtool
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)/helm
# Built from this repository on every use, like the manager.
MODEL_SERVER := $(LOCALBIN)/model-server
DATA_PLANE := $(LOCALBIN)/dataplane
# Its module source is copied beside it (src/, with manifests/crds/).
ARGO_ROLLOUTS_DIR := $(LOCALBIN)/argo-rollouts-$(ARGO_ROLLOUTS_VERSION)
ARGO_ROLLOUTS := $(ARGO_ROLLOUTS_DIR)/rollouts-controller

# Version strings Kubernetes' own build stamps into its binaries; without them
# they report v0.0.0-master and kubectl warns about the skew.
K8S_VERSION_PKG := k8s.io/component-base/version
K8S_LDFLAGS := -s -w \
	-X $(K8S_VERSION_PKG).gitVersion=$(K8S_VERSION) \
	-X $(K8S_VERSION_PKG).gitMajor=$(word 1,$(subst ., ,$(patsubst v%,%,$(K8S_VERSION)))) \
	-X $(K8S_VERSION_PKG).gitMinor=$(word 2,$(subst ., ,$(K8S_VERSION))) \
	-X $(K8S_VERSION_PKG).gitTreeState=clean \
	-X $(K8S_VERSION_PKG).buildDate=1970-01-01T00:00:00Z

# What the tests and the demo are told about the tools.
TOOL_ENV := KUBE_APISERVER=$(KUBE_APISERVER) KUBE_CONTROLLER_MANAGER=$(KUBE_CONTROLLER_MANAGER) \
	KUBE_SCHEDULER=$(KUBE_SCHEDULER) KUBECTL=$(KUBECTL) ETCD=$(ETCD) KWOK=$(KWOK) KWOKCTL=$(KWOKCTL) \
	KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS) PROMETHEUS=$(PROMETHEUS) PROMTOOL=$(PROMTOOL) HELM=$(HELM)

##@ Tests

COVER_DIR := $(CURDIR)/cover
# Coverage counts the product's code, whichever layer exercised it.
# One counter mode for every layer: the race detector needs atomic, and
# `go tool covdata` refuses to merge layers written in different modes.
COVER_FLAGS = -cover -covermode=atomic -coverpkg=$(COVER_PKGS)
COVER_PKGS := github.com/modelgate/modelgate/api/...,github.com/modelgate/modelgate/internal/...,github.com/modelgate/modelgate/cmd/...
UNIT_PKGS = $(shell $(GO) list ./... | grep -v '/test/')
TEST_FLAGS ?=

.PHONY: all
all: build

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

.PHONY: test
test: test-unit test-integration test-e2e bench ## Run every test layer and the benchmarks, then print the total coverage.
	@echo "CRD sizes in bytes (a client-side apply needs each under 204800; hack/crdcompact's test fails past it):"
	@wc -c config/crd/bases/*.yaml | sed 's/^/  /'
	@$(MAKE) --no-print-directory coverage

BENCH_TIME ?= 200x
# `kubectl modelgate check` on 1,000 manifests takes a tenth of a second: a few
# runs tell as much as 200.
CHECK_BENCH := BenchmarkCheck1000Manifests
CHECK_BENCH_TIME ?= 10x
.PHONY: bench
bench: ## Run the benchmarks (among them `kubectl modelgate check` on 1,000 manifests) and keep their figures in bars/bench.txt (compare runs with benchstat).
	@mkdir -p bars
	$(GO) test -run '^$$' -bench . -skip '^$(CHECK_BENCH)$$' -benchmem -benchtime $(BENCH_TIME) -count 3 ./internal/... | tee bars/bench.txt
	$(GO) test -run '^$$' -bench '^$(CHECK_BENCH)$$' -benchmem -benchtime $(CHECK_BENCH_TIME) -count 3 ./internal/cli/ | tee -a bars/bench.txt

# make bench-scale: N ModelDeployments on a local kwok cluster of 24 fake
# nodes, the manager as its own process (issue #19). Not part of make test: it
# takes 15 to 20 minutes at the default N. PROFILE_DIR= keeps CPU profiles of
# the manager while 200 are created and 50 updated.
N ?= 1000
PROFILE_DIR ?=
.PHONY: bench-scale
bench-scale: cluster-tools manifests ## Measure the manager with N (default 1,000) ModelDeployments on a local cluster: times to Ready, memory, requests per object (the manager's and the kube-controller-manager's), steady-state requests, CPU; figures in bars/scale.txt (compare runs with benchstat).
	$(GO) build -o $(LOCALBIN)/manager-scale ./cmd
	$(TOOL_ENV) MANAGER=$(LOCALBIN)/manager-scale $(GO) run ./test/scale -n $(N) -out bars/scale.txt -profile-dir '$(PROFILE_DIR)'

# make bench-scale-argo: the same phases with the Argo Rollouts controller,
# built from its source, in place of the manager: a Rollout per object, the
# same pod template and one-step 50% canary without traffic routing.
.PHONY: bench-scale-argo
bench-scale-argo: cluster-tools $(ARGO_ROLLOUTS) ## Measure the Argo Rollouts controller as make bench-scale measures the manager (same figures, suffixed /controller=argo); figures in bars/scale-argo.txt.
	$(TOOL_ENV) ARGO_ROLLOUTS=$(ARGO_ROLLOUTS) ARGO_ROLLOUTS_CRDS=$(ARGO_ROLLOUTS_DIR)/src/manifests/crds \
		$(GO) run ./test/scale -controller=argo -n $(N) -out bars/scale-argo.txt

# The unit and integration layers run under the race detector (CI too); it
# costs about 2x on the unit tests and 3.5x on the envtest suite here.
# RACE= runs them without it.
RACE ?= -race
.PHONY: test-unit
test-unit: ## Unit tests: table tests of the pure packages, with the race detector.
	@rm -rf $(COVER_DIR)/unit && mkdir -p $(COVER_DIR)/unit
	$(GO) test $(RACE) $(TEST_FLAGS) $(COVER_FLAGS) $(UNIT_PKGS) -args -test.gocoverdir=$(COVER_DIR)/unit

FUZZ_TIME ?= 30s
.PHONY: fuzz
fuzz: ## Run each fuzz target (func Fuzz* in internal/ and cmd/) for FUZZ_TIME, default 30s; make test-unit runs their seed corpora.
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' internal cmd | xargs -n1 dirname | sort -u); do \
		for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | cut -d' ' -f2); do \
			echo "Fuzzing $$target in ./$$dir for $(FUZZ_TIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZ_TIME) ./$$dir; \
		done; \
	done

.PHONY: test-integration
test-integration: $(ENVTEST_ASSETS) model-server $(PROMETHEUS) $(HELM) $(KUBECTL) ## Integration tests: envtest (a real kube-apiserver and etcd) user stories; the data plane and Prometheus helpers with the real binaries; the generated alerts and the dashboards on promtool and Prometheus; the Helm chart against config/.
	@rm -rf $(COVER_DIR)/integration && mkdir -p $(COVER_DIR)/integration
	$(TOOL_ENV) MODEL_SERVER=$(MODEL_SERVER) $(GO) test $(RACE) $(TEST_FLAGS) $(COVER_FLAGS) \
		./test/integration/... ./test/dataplane/... ./test/promserver/... ./test/monitoring/... ./test/install/... ./test/gitops/... -args -test.gocoverdir=$(COVER_DIR)/integration

.PHONY: test-e2e
test-e2e: cluster-tools manifests model-server $(PROMETHEUS) $(HELM) ## End-to-end tests: a local kwok cluster with the operator running as its own process, and the real data plane.
	@rm -rf $(COVER_DIR)/e2e && mkdir -p $(COVER_DIR)/e2e
	$(GO) build $(COVER_FLAGS) -o $(LOCALBIN)/manager-e2e ./cmd
	$(GO) build $(COVER_FLAGS) -o $(E2E_PLUGIN) ./cmd/kubectl-modelgate
	$(TOOL_ENV) MANAGER=$(LOCALBIN)/manager-e2e PLUGIN=$(E2E_PLUGIN) MODEL_SERVER=$(MODEL_SERVER) GOCOVERDIR=$(COVER_DIR)/e2e \
		$(GO) test $(TEST_FLAGS) -count=1 -timeout 35m ./test/e2e/... -v -ginkgo.v

.PHONY: coverage
coverage: ## Print the coverage of the product's code over every layer that ran.
	@dirs=$$(ls -d $(COVER_DIR)/*/ 2>/dev/null | tr '\n' ',' | sed 's/,$$//'); \
	[ -n "$$dirs" ] || { echo "no coverage data: run a test layer first"; exit 1; }; \
	$(GO) tool covdata textfmt -i="$$dirs" -o $(COVER_DIR)/total.out; \
	$(GO) tool covdata percent -i="$$dirs" | sed 's/^/  /'; \
	echo "total coverage ($$(basename -a $$(echo $$dirs | tr ',' ' ') | tr '\n' ' ')): $$($(GO) tool cover -func=$(COVER_DIR)/total.out | awk '/^total:/{print $$NF}')"

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

.PHONY: vuln
vuln: $(GOVULNCHECK) $(VULNDB) ## Run govulncheck, offline, against the pinned vulnerability database: fails on any vulnerability the code reaches.
	@echo "govulncheck $(GOVULNCHECK_VERSION), $$($(GO) version | cut -d' ' -f3), database golang.org/x/vulndb@$(VULNDB_VERSION)"
	$(GOVULNCHECK) -db file://$(VULNDB) ./...

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

##@ Sample model server and local data plane

.PHONY: model-server
model-server: ## Build the sample model server into bin/model-server.
	$(GO) build -o $(MODEL_SERVER) ./cmd/model-server

.PHONY: dataplane
dataplane: model-server ## Build the local data plane runner into bin/dataplane.
	$(GO) build -o $(DATA_PLANE) ./test/dataplane/cmd/dataplane

.PHONY: model-weights
model-weights: ## Train the sample model on its seeded synthetic data and write internal/model/weights.json.
	$(GO) run ./hack/train-model --out internal/model/weights.json

.PHONY: prometheus
prometheus: $(PROMETHEUS) ## Get the pinned Prometheus into bin/.

##@ Generated code

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRD and RBAC from the markers in the code.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd:generateEmbeddedObjectMeta=true webhook paths="./api/...;./internal/...;./cmd/..." output:crd:artifacts:config=config/crd/bases output:webhook:artifacts:config=config/webhook
	@# The embedded pod template's upstream docs would make the CRD too large for a client-side apply.
	$(GO) run ./hack/crdcompact -embedded modeldeployments.serving.modelgate.dev=spec.template config/crd/bases/*.yaml

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate the DeepCopy methods of the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: chart
chart: manifests $(KUBECTL) ## Generate the Helm chart in charts/modelgate from config/ (hack/chartgen).
	$(GO) run ./hack/chartgen -kubectl $(KUBECTL) -out charts/modelgate

.PHONY: verify-generated
verify-generated: manifests generate chart ## Fail when the committed generated files are stale.
	@if [ -n "$$(git status --porcelain -- api config charts)" ]; then \
		echo "Generated files are stale; run 'make manifests generate chart' and commit:"; \
		git status --porcelain -- api config charts; git --no-pager diff --stat -- api config charts; exit 1; \
	fi

##@ Build

.PHONY: build
build: manifests generate plugin ## Build the manager into bin/manager and the kubectl plugin into bin/kubectl-modelgate.
	$(GO) build -o $(MANAGER) ./cmd

.PHONY: plugin
plugin: ## Build the kubectl plugin into bin/kubectl-modelgate (put bin/ on the PATH for `kubectl modelgate`).
	$(GO) build -o $(PLUGIN) ./cmd/kubectl-modelgate

.PHONY: run
run: manifests generate ## Run the manager against the cluster of $KUBECONFIG, without its admission webhooks (the demo shows them served locally).
	$(GO) run ./cmd --metrics-bind-address=0 --health-probe-bind-address=127.0.0.1:0 --enable-webhooks=false

# The image goes to bin/image of this checkout whatever LOCALBIN says: it is
# a build output, not a tool.
IMAGE_DIR ?= $(CURDIR)/bin/image
# Add linux/arm64 for a multi-arch index (one more cross-compile).
IMAGE_PLATFORMS ?= linux/amd64
.PHONY: image
image: ## Build the manager and the kubectl plugin into an OCI image layout in bin/image/oci (no container engine needed), with an SPDX SBOM beside it; its size goes to bars/image.txt.
	$(GO) run ./hack/image -out $(IMAGE_DIR) -platforms $(IMAGE_PLATFORMS)

.PHONY: install
install: manifests $(KUBECTL) ## Install the CRDs into the cluster of $KUBECONFIG.
	$(KUBECTL) apply --server-side -f config/crd/bases

.PHONY: deploy
deploy: manifests $(KUBECTL) ## Deploy the operator (image $IMG) into the cluster of $KUBECONFIG.
	$(KUBECTL) kustomize config/default | sed "s|controller:latest|$${IMG:-modelgate:latest}|" | $(KUBECTL) apply --server-side -f -

##@ Demo

DEMO_CLUSTER ?= modelgate-demo

.PHONY: demo
demo: cluster-tools manifests dataplane $(PROMETHEUS) ## Start a local cluster with the real data plane and Prometheus, run the operator, apply the samples and show them become Ready.
	$(GO) build -o $(MANAGER) ./cmd
	$(GO) build -o $(LOCALBIN)/local-webhooks ./hack/local-webhooks
	$(TOOL_ENV) MANAGER=$(MANAGER) LOCAL_WEBHOOKS=$(LOCALBIN)/local-webhooks DATA_PLANE=$(DATA_PLANE) DEMO_CLUSTER=$(DEMO_CLUSTER) hack/demo.sh up

.PHONY: demo-down
demo-down: $(KWOKCTL) $(KUBECTL) ## Stop the demo's operator and remove its cluster.
	$(TOOL_ENV) DEMO_CLUSTER=$(DEMO_CLUSTER) hack/demo.sh down

##@ Tools (built once into bin/, reused after)

.PHONY: tools
tools: cluster-tools $(CONTROLLER_GEN) $(GOLANGCI_LINT) $(PROMETHEUS) $(HELM) $(GOVULNCHECK) $(VULNDB) ## Build every tool.

.PHONY: cluster-tools
cluster-tools: $(KUBE_APISERVER) $(KUBE_CONTROLLER_MANAGER) $(KUBE_SCHEDULER) $(KUBECTL) $(ETCD) $(KWOK) $(KWOKCTL) $(ENVTEST_ASSETS)

# One go build for the four commands: they share most packages.
$(KUBE_APISERVER) $(KUBE_CONTROLLER_MANAGER) $(KUBE_SCHEDULER) $(KUBECTL) &:
	@echo "Building Kubernetes $(K8S_VERSION) commands (a few minutes on a cold cache)"
	cd hack/tools/kubernetes && $(GO) build -ldflags "$(K8S_LDFLAGS)" -o $(K8S_BIN)/ \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl

$(ETCD):
	@echo "Building etcd $(ETCD_VERSION)"
	cd hack/tools/etcd && $(GO) build -ldflags "-s -w" -o $@ go.etcd.io/etcd/server/v3

$(KWOK) $(KWOKCTL) &:
	@echo "Building kwok $(KWOK_VERSION)"
	cd hack/tools/kwok && $(GO) build -ldflags "-s -w" -o $(dir $(KWOK)) sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl

$(ENVTEST_ASSETS): $(ETCD) $(KUBE_APISERVER)
	mkdir -p $@
	ln -sf $(ETCD) $@/etcd
	ln -sf $(KUBE_APISERVER) $@/kube-apiserver

# apt-get download needs no root and starts nothing; only the two binaries are kept.
$(PROMETHEUS):
	@echo "Fetching Prometheus $(PROMETHEUS_DEB_VERSION) (Debian's package)"
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; cd "$$tmp"; \
	apt-get download -q prometheus=$(PROMETHEUS_DEB_VERSION) >/dev/null 2>&1 || { \
		echo "apt-get download prometheus=$(PROMETHEUS_DEB_VERSION) failed: run 'apt-get update', or set PROMETHEUS_DEB_VERSION to a version 'apt-cache policy prometheus' lists"; exit 1; }; \
	dpkg-deb -x prometheus_*.deb root; \
	mkdir -p $(dir $@); install -m 0755 root/usr/bin/prometheus root/usr/bin/promtool $(dir $@)
	@$@ --version | head -1

$(HELM):
	@echo "Building Helm $(HELM_VERSION)"
	cd hack/tools/helm && $(GO) build -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$(HELM_VERSION)" -o $@ helm.sh/helm/v4/cmd/helm

.PHONY: helm
helm: $(HELM) ## Build the pinned Helm CLI into bin/.

# Its go.mod replaces modules, which go install refuses: the module's source,
# from the module proxy, is copied and built in place.
.PHONY: argo-rollouts
argo-rollouts: $(ARGO_ROLLOUTS) ## Build the pinned Argo Rollouts controller into bin/ (for make bench-scale-argo only).

$(ARGO_ROLLOUTS):
	@echo "Building the Argo Rollouts controller $(ARGO_ROLLOUTS_VERSION) from its module source (minutes on a cold cache)"
	@set -e; dir=$$($(GO) mod download -json github.com/argoproj/argo-rollouts@$(ARGO_ROLLOUTS_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$$/\1/p'); \
	[ -d "$$dir/cmd/rollouts-controller" ] || { echo "github.com/argoproj/argo-rollouts@$(ARGO_ROLLOUTS_VERSION) has no cmd/rollouts-controller"; exit 1; }; \
	rm -rf $(ARGO_ROLLOUTS_DIR)/src; mkdir -p $(ARGO_ROLLOUTS_DIR); cp -R "$$dir" $(ARGO_ROLLOUTS_DIR)/src; chmod -R u+w $(ARGO_ROLLOUTS_DIR)/src; \
	cd $(ARGO_ROLLOUTS_DIR)/src && CGO_ENABLED=0 GOFLAGS=-mod=mod $(GO) build \
		-ldflags "-s -w -X github.com/argoproj/argo-rollouts/utils/version.version=$(patsubst v%,%,$(ARGO_ROLLOUTS_VERSION))" \
		-o $@.tmp ./cmd/rollouts-controller; \
	mv $@.tmp $@

$(CONTROLLER_GEN):
	$(call go-install-tool,$@,sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

$(GOLANGCI_LINT):
	$(call go-install-tool,$@,github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

$(GOVULNCHECK):
	$(call go-install-tool,$@,golang.org/x/vuln/cmd/govulncheck,$(GOVULNCHECK_VERSION))

$(INDEXDB):
	$(call go-install-tool,$@,golang.org/x/vulndb/cmd/indexdb,$(VULNDB_VERSION))

# The database is built from the module's files, offline once the module is
# in the module cache; a partial build is never left behind.
$(VULNDB): $(INDEXDB)
	@set -e; dir=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$$/\1/p'); \
	[ -d "$$dir/data/osv" ] || { echo "golang.org/x/vulndb@$(VULNDB_VERSION) has no data/osv"; exit 1; }; \
	echo "Indexing $$(ls "$$dir/data/osv" | wc -l) OSV reports of golang.org/x/vulndb@$(VULNDB_VERSION)"; \
	rm -rf $@.tmp; $(INDEXDB) -vulns "$$dir/data/osv" -out $@.tmp; mv $@.tmp $@

# go-install-tool installs package $2 at version $3 into the versioned path $1.
define go-install-tool
@set -e; tmp=$$(mktemp -d); echo "Installing $(2)@$(3)"; \
GOBIN=$$tmp $(GO) install $(2)@$(3); mkdir -p $(dir $(1)); mv $$tmp/$$(basename $(2)) $(1); rm -rf $$tmp
endef
