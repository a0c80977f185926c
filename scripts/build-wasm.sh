#!/usr/bin/env bash
# Builds the Stylus engine's release WASM artifacts: the exact bytes `cargo stylus deploy
# --wasm-file` uploads (canonicalised as cargo-stylus does: a text round trip that rewrites the
# padded call_indirect table indices Nitro's validator refuses, custom sections stripped, a zero
# `project_hash` section), checked as Nitro's activation checks them, with their compressed
# sizes; fails if a check fails or any is above the code-size limit of 24,576 bytes.
# `make wasm` runs this. Everything downstream (size and feature tests, the Stylus host, the
# deploy script and the keeper's CHAIN=nitro deploy) reads these files.
#
# The engine is deployed as four cooperating contracts (docs/stylus.md): the engine, which
# users call, and three modules it reaches by delegatecall on its own storage. All four come from
# the crate `margin-engine-stylus`: no feature builds the engine, `verifier-module`,
# `admin-module` and `settlement-module` build the modules. Artifacts land in
# $CARGO_TARGET_DIR/stylus/.
#
#   scripts/build-wasm.sh            # build, measure, check
#   CARGO_TARGET_DIR=... scripts/build-wasm.sh
#   MARGIN_ENGINE_VERIFIER_MODULE=0x.. MARGIN_ENGINE_ADMIN_MODULE=0x.. \
#   MARGIN_ENGINE_SETTLEMENT_MODULE=0x.. scripts/build-wasm.sh
#                                    # the engine with its modules' addresses (deployment)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUDGET=16384
PACKAGE=margin-engine-stylus
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
OUT="$CARGO_TARGET_DIR/stylus"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
mkdir -p "$OUT"

# Flags (stack size, target features) come from .cargo/config.toml; the profile from Cargo.toml,
# with opt-level "z" for the whole build (as `cargo stylus build` does with its z option):
# measured smaller than 3 and "s" (docs/BENCHMARKS.md). A per-package override does not work
# here: with fat LTO the dependencies' opt-level decides most of the size.
# The canonicaliser and checker (tests/stylus-artifact), built once.
cargo build --locked -q -p stylus-artifact --bin stylus-artifact
STYLUS_ARTIFACT="$CARGO_TARGET_DIR/debug/stylus-artifact"
COMPILED="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/margin_engine_stylus.wasm"
status=0
for artifact in engine verifier admin settlement; do
  features=()
  [ "$artifact" = engine ] || features=(--features "$artifact-module")
  cargo build --locked --release --lib -p "$PACKAGE" --target wasm32-unknown-unknown \
    --config 'profile.release.opt-level="z"' "${features[@]}"
  # Canonical bytes, Nitro's checks (tests/stylus-artifact), brotli quality 11 as deployed.
  echo -n "$artifact: "
  "$STYLUS_ARTIFACT" "$COMPILED" "$OUT/$artifact.wasm" "$BUDGET" || status=1
done
# A fifth, TEST-ONLY artifact: the engine linked to the fixed addresses at which the Stylus host
# (tests/stylus-host) deploys the three modules, so the host runs the delegatecalls for real without
# a second build of every dependency. Never deploy it: scripts/nitro/deploy.sh rebuilds the engine
# with the modules' real addresses. Skipped when the caller sets real addresses.
if [ -z "${MARGIN_ENGINE_VERIFIER_MODULE:-}${MARGIN_ENGINE_ADMIN_MODULE:-}${MARGIN_ENGINE_SETTLEMENT_MODULE:-}" ]; then
  MARGIN_ENGINE_VERIFIER_MODULE=0x5757000000000000000000000000000000000001 \
  MARGIN_ENGINE_ADMIN_MODULE=0x5757000000000000000000000000000000000002 \
  MARGIN_ENGINE_SETTLEMENT_MODULE=0x5757000000000000000000000000000000000003 \
    cargo build --locked --release --lib -p "$PACKAGE" --target wasm32-unknown-unknown \
      --config 'profile.release.opt-level="z"'
  echo -n "engine-host-test (test-only, modules at 0x5757..01 / ..02 / ..03): "
  "$STYLUS_ARTIFACT" "$COMPILED" "$OUT/engine-host-test.wasm" "$BUDGET" || status=1
fi
exit "$status"
