# SmartOps Operator — every developer and CI entry point.
# `make dev` runs the whole loop locally; `make test` runs everything CI runs.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ROOT       := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
TOOLS      := $(ROOT)/.tools
CACHE      ?= $(or $(SMARTOPS_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/smartops)
export SMARTOPS_CACHE := $(CACHE)

# Node 22 is required. When the machine's node is older, take Node 22 from the
# npm registry (the node-linux-<arch> package ships the official binary).
NODE_VERSION    := 22.23.3
NODE_ARCH       := $(subst x86_64,x64,$(subst aarch64,arm64,$(shell uname -m)))
SYS_NODE_MAJOR  := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell [ "$(SYS_NODE_MAJOR)" -ge 22 ] && echo yes),yes)
NODE_STAMP :=
else
NODE_HOME  := $(TOOLS)/node-$(NODE_VERSION)
NODE_STAMP := $(NODE_HOME)/bin/node
export PATH := $(NODE_HOME)/bin:$(PATH)
endif

# Keyed by content, not mtime: a fresh checkout or another worktree sharing
# node_modules must not trigger a reinstall (npm ci wipes node_modules first).
NPM_STAMP := node_modules/.smartops-deps-$(shell cat package.json package-lock.json | sha256sum | cut -c1-16)

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  %-14s %s\n", $$1, $$2}'

$(TOOLS)/node-$(NODE_VERSION)/bin/node:
	@echo "node $$(node --version 2>/dev/null || echo none) is older than 22: installing Node $(NODE_VERSION) into $(TOOLS)"
	@mkdir -p $(TOOLS)/tmp && cd $(TOOLS)/tmp && npm pack --silent node-linux-$(NODE_ARCH)@$(NODE_VERSION) >/dev/null
	@mkdir -p $(NODE_HOME) && tar -xzf $(TOOLS)/tmp/node-linux-$(NODE_ARCH)-$(NODE_VERSION).tgz -C $(NODE_HOME) --strip-components=1
	@rm -rf $(TOOLS)/tmp && $@ --version

$(NPM_STAMP): $(NODE_STAMP)
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: $(NPM_STAMP) ## install Node 22 (if needed) and the npm dependencies

NODE_RUN := node
CLUSTER  := $(NODE_RUN) e2e/controlplane/cli.ts
# kubectl at the control plane's version (built with it); falls back to the one on PATH.
KUBECTL   = $(shell d=$$(e2e/controlplane/build.sh 2>/dev/null) && echo $$d/kubectl || command -v kubectl)

.PHONY: generate
generate: deps ## regenerate crds/, docs/api.md and the chart's CRD, RBAC and admission templates
	npm run --silent generate

.PHONY: verify-generated
verify-generated: deps ## fail when crds/ or docs/api.md differ from what the schemas generate
	$(NODE_RUN) operator/src/cmd/generate-crds.ts --check

.PHONY: helm
helm: ## build helm into the cache from tools/helm/go.mod (no-op when up to date)
	@tools/helm/build.sh >/dev/null

.PHONY: prometheus
prometheus: ## build prometheus and promtool into the cache from tools/prometheus/go.mod (no-op when up to date)
	@tools/prometheus/build.sh >/dev/null

.PHONY: alertmanager
alertmanager: ## build alertmanager into the cache from tools/alertmanager/go.mod (no-op when up to date)
	@tools/alertmanager/build.sh >/dev/null

.PHONY: chart-lint
chart-lint: helm ## helm lint and helm template of charts/smartops-operator, in each install shape
	tools/helm/lint.sh

.PHONY: image
image: deps ## build the container image without Docker: OCI layout and `docker load` tarball in build/image (no-op when up to date)
	@tools/image/build.sh >/dev/null

.PHONY: controlplane
controlplane: ## build the local control plane into the cache (no-op when up to date)
	@e2e/controlplane/build.sh >/dev/null

.PHONY: cluster-up
cluster-up: deps ## start the local control plane; prints `export KUBECONFIG=…`
	@$(CLUSTER) up

.PHONY: cluster-down
cluster-down: deps ## stop the local control plane (and the operator and shim make dev started against it)
	@$(CLUSTER) down

.PHONY: cluster-status
cluster-status: deps ## show the local control plane's endpoint, kubeconfig and PIDs
	@$(CLUSTER) status

.PHONY: install
install: ## install the CRDs into the cluster of $$KUBECONFIG
	@[ -n "$${KUBECONFIG:-}" ] || { echo "KUBECONFIG is not set (run: eval \$$(make cluster-up))"; exit 1; }
	$(KUBECTL) apply --server-side -f crds/
	$(KUBECTL) wait --for=condition=Established crd -l app.kubernetes.io/part-of=smartops --timeout=60s

.PHONY: dev
dev: deps ## local control plane (or $$KUBECONFIG), operator + shim in the background, demo workload and policy; posts the seed scenarios C1-C5 to the shim
	@$(NODE_RUN) e2e/dev/walkthrough.ts

.PHONY: dev-down
dev-down: deps ## stop the operator and shim `make dev` left running (make cluster-down also stops them)
	@$(NODE_RUN) e2e/dev/down.ts

.PHONY: run
run: deps ## run the operator from source against $$KUBECONFIG (foreground, your credentials)
	@[ -n "$${KUBECONFIG:-}" ] || { echo "KUBECONFIG is not set (run: eval \$$(make cluster-up))"; exit 1; }
	@printf 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n' "$${SMARTOPS_OPERATOR_NAMESPACE:-smartops-system}" | $(KUBECTL) apply --server-side -f - >/dev/null
	$(NODE_RUN) operator/src/cmd/operator.ts

.PHONY: shim
shim: deps ## run the HTTP shim (seed API) from source against $$KUBECONFIG (foreground; see docs/shim.md)
	$(NODE_RUN) operator/src/cmd/shim.ts

PREFIX ?= $(HOME)/.local

.PHONY: install-plugin
install-plugin: deps ## install the kubectl plugin (`kubectl smartops`) into PREFIX/bin (default ~/.local/bin)
	@mkdir -p "$(PREFIX)/bin" && ln -sfn "$(ROOT)/bin/kubectl-smartops" "$(PREFIX)/bin/kubectl-smartops"
	@echo "installed $(PREFIX)/bin/kubectl-smartops (a link to $(ROOT)/bin/kubectl-smartops, which runs on Node 22 from $(TOOLS) or PATH)"
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "$(PREFIX)/bin is not on PATH: export PATH=\"$(PREFIX)/bin:\$$PATH\"";; esac

.PHONY: lint
lint: deps ## eslint
	npx eslint .

.PHONY: typecheck
typecheck: deps ## tsc --noEmit over everything
	npx tsc -p tsconfig.json --noEmit

.PHONY: test-unit
test-unit: deps ## unit tests (vitest)
	npx vitest run --project unit

.PHONY: test-e2e
test-e2e: deps controlplane helm image prometheus alertmanager ## e2e tests on a real local control plane (or SMARTOPS_E2E_KUBECONFIG)
	npx vitest run --project e2e

.PHONY: test
test: lint chart-lint typecheck verify-generated test-unit test-e2e ## everything CI runs

.PHONY: bench
bench: bench-controlplane bench-loop bench-shim ## every benchmark under bench/ (~30 min; figures go to docs/performance.md)

.PHONY: bench-controlplane bench-loop bench-shim bench-soak
bench-controlplane: deps controlplane ## control plane start time, memory, disk
	$(NODE_RUN) bench/controlplane.bench.ts

bench-loop: deps controlplane ## signal → mutation latency at 20/s, a 1000-signal burst, RSS with 10k objects cached
	$(NODE_RUN) bench/loop.bench.ts

bench-shim: deps controlplane ## shim POST → CR latency at 200 requests/s, sustained requests/s, /v1/k8s/scale answered with its outcome
	$(NODE_RUN) bench/shim.bench.ts

MINUTES ?= 60
bench-soak: deps controlplane ## soak: 200 Deployments, 20 signals/s through the shim for MINUTES (60); CSV + PNG into docs/soak/, pass criteria printed (not part of `bench`)
	$(NODE_RUN) bench/soak.bench.ts --minutes $(MINUTES)

.PHONY: clean
clean: ## remove build output and local tools (not the control plane cache)
	rm -rf dist build node_modules .tools
