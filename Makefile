# One entry point for every task. `make tools` installs the pinned toolchain into the project
# (idempotent, quick when done); every other target runs it first.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
FOUNDRY_BIN := $(ROOT)/node_modules/@foundry-rs/forge-linux-amd64/bin:$(ROOT)/node_modules/@foundry-rs/anvil-linux-amd64/bin:$(ROOT)/node_modules/@foundry-rs/cast-linux-amd64/bin
export PATH := $(FOUNDRY_BIN):$(PATH)
# One Cargo target dir for every crate and task, so nothing is built twice.
export CARGO_TARGET_DIR ?= $(ROOT)/target
export FOUNDRY_DISABLE_NIGHTLY_WARNING := 1

TOOLS_STAMP := node_modules/.tools-stamp

.PHONY: help tools contracts demo test test-rust test-forge fmt-check lint bench vectors vectors-check wasm fuzz clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

tools: $(TOOLS_STAMP) ## Install pinned forge/anvil/cast 1.7.1, solc-js, forge-std, OpenZeppelin, Safe; the wasm32 target
	@command -v rustup >/dev/null || { echo "error: rustup not found; install it from your package manager, then rerun 'make tools'"; exit 1; }
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@forge --version >/dev/null 2>&1 || { echo "error: forge did not run from node_modules; rerun 'rm -rf node_modules && make tools'"; exit 1; }

$(TOOLS_STAMP): package.json package-lock.json
	@command -v node >/dev/null || { echo "error: node not found; install Node.js >= 18 (e.g. 'apt-get install nodejs npm'), then rerun 'make tools'"; exit 1; }
	@command -v npm >/dev/null || { echo "error: npm not found; install npm (e.g. 'apt-get install npm'), then rerun 'make tools'"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# demo: CHAIN, RPC and DEPLOYER_KEY reach the binary from the environment or the make command line
# (`make demo RPC=http://... CHAIN=nitro`); with none set it starts its own anvil.
demo: tools contracts ## Scripted story on anvil (or RPC=url [CHAIN=evm|nitro]): 3 keepers, Safe governance, a shock, step-by-step liquidation (docs/DEMO.md)
	cargo build -q -p margin-keeper --bin demo
	$(CARGO_TARGET_DIR)/debug/demo

# lint (clippy) runs first, with the format checks, so that a warning fails fast. Its cost: 3m13s
# on the shared 2-core machine (load ~4.5) with a cold clippy cache once the build scripts and proc
# macros exist; from an empty target dir 8m42s, of which test-rust then reuses the host builds.
test: tools fmt-check lint vectors-check test-rust test-forge ## Every check: fmt, clippy, Rust workspace, forge (unit, fuzz, invariants, vectors, cross-checks)
	@echo "make test: all green"

contracts: tools ## Compile the Solidity contracts into out/ (the keeper's anvil tests and the demo deploy them)
	forge build

test-rust: tools wasm contracts
	STYLUS_WASM_DIR=$(CARGO_TARGET_DIR)/stylus cargo test --workspace --features margin-types/signer
	cargo build -p margin-types --target wasm32-unknown-unknown --no-default-features

test-forge: tools
	forge test

fmt-check: tools ## Formatting checks (cargo fmt, forge fmt)
	cargo fmt --all -- --check
	forge fmt --check

lint: tools fmt-check ## clippy with warnings denied
	cargo clippy --workspace --all-targets --features margin-types/signer -- -D warnings

bench: tools ## Criterion benches and gas snapshots (numbers go to docs/BENCHMARKS.md)
	cargo bench --workspace
	forge snapshot

vectors: ## Regenerate tests/vectors/*.json (deterministic)
	cargo run -q -p margin-types --features signer --example gen_vectors

vectors-check: tools ## Fail if the committed vectors differ from what the code generates
	cargo run -q -p margin-types --features signer --example gen_vectors
	@git diff --quiet -- tests/vectors || { echo "error: tests/vectors is stale; run 'make vectors' and commit"; git diff --stat -- tests/vectors; exit 1; }

wasm: tools ## Build the Stylus WASM artifacts once, as cargo-stylus deploys them; Nitro's activation checks; fail above 24,576 bytes
	scripts/build-wasm.sh

fuzz: tools wasm ## Deeper fuzz and invariant runs
	FOUNDRY_PROFILE=deep forge test
	STYLUS_HOST_FUZZ_CASES=200 STYLUS_WASM_DIR=$(CARGO_TARGET_DIR)/stylus cargo test -p stylus-host --test fuzz

clean: ## Remove build outputs (keeps node_modules)
	cargo clean
	rm -rf out cache
