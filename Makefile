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

NPM_STAMP := node_modules/.package-lock.json

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  %-14s %s\n", $$1, $$2}'

$(TOOLS)/node-$(NODE_VERSION)/bin/node:
	@echo "node $$(node --version 2>/dev/null || echo none) is older than 22: installing Node $(NODE_VERSION) into $(TOOLS)"
	@mkdir -p $(TOOLS)/tmp && cd $(TOOLS)/tmp && npm pack --silent node-linux-$(NODE_ARCH)@$(NODE_VERSION) >/dev/null
	@mkdir -p $(NODE_HOME) && tar -xzf $(TOOLS)/tmp/node-linux-$(NODE_ARCH)-$(NODE_VERSION).tgz -C $(NODE_HOME) --strip-components=1
	@rm -rf $(TOOLS)/tmp && $@ --version

$(NPM_STAMP): package.json package-lock.json $(NODE_STAMP)
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: $(NPM_STAMP) ## install Node 22 (if needed) and the npm dependencies
