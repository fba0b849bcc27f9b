# HealthBlock: the two commands of the README contract.
#   make demo  - install what is missing, start the local three-hospital devnet, deploy the chaincode, run the main flow
#   make test  - install what is missing and run every test (unit, end-to-end on a network it starts and stops itself)
# Everything else here is a building block of those two.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
HB := target/debug/healthblock
export HEALTHBLOCK_HOME ?= $(CURDIR)/.healthblock

.PHONY: demo test deps build node-deps fmt lint bench down clean

## Install what a fresh machine lacks (toolchains are preinstalled; packages come from the registries).
deps: node-deps caliper-deps
	@scripts/check-toolchain.sh
	@scripts/install-fabric-ca.sh

node-deps: tests/node/node_modules/.package-lock.json

tests/node/node_modules/.package-lock.json: tests/node/package.json tests/node/package-lock.json
	@echo "==> installing the official Fabric Gateway SDK for the interop test (npm ci in tests/node)"
	@cd tests/node && npm ci --no-audit --no-fund --loglevel=error

caliper-deps: caliper/node_modules/.package-lock.json

caliper/node_modules/.package-lock.json: caliper/package.json caliper/package-lock.json
	@echo "==> installing Hyperledger Caliper 0.6.0 with the Fabric Gateway connector (npm ci in caliper)"
	@cd caliper && npm ci --no-audit --no-fund --loglevel=error

## Build every binary (CLI, devnet, chaincode servers).
build:
	@echo "==> building the workspace (first build takes several minutes on 2 cores)"
	@$(CARGO) build --workspace --bins

demo: deps build
	@scripts/demo.sh

test: deps build
	@scripts/test.sh

fmt:
	@$(CARGO) fmt --all

lint:
	@$(CARGO) fmt --all -- --check
	@$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: deps
	@$(CARGO) build --release --workspace --bins
	@scripts/bench.sh

## The ordering-service study: batch settings x endorsement policy x payload on every backend, plus the
## tuner comparison (results/study/report.md and plots). STUDY_GRID=full for the whole grid (hours).
.PHONY: study
study: deps
	@$(CARGO) build --release --workspace --bins
	@python3 bench/study/run.py

## The EHR benchmark: clinical CLI latencies on a fresh devnet (results/ehr/report.md).
.PHONY: bench-ehr
bench-ehr: deps build
	@python3 bench/ehr/run.py

down:
	@$(HB) network down

clean: down
	@$(HB) network down --purge

## Hyperledger Caliper against the running network (make demo or healthblock network up first):
## Caliper's report and our p50/p95/p99 summary in results/caliper/<time>-<backend>/.
.PHONY: caliper caliper-deps
caliper: deps build
	@scripts/caliper.sh
