#!/usr/bin/env bash
# Builds the Stylus engine's release WASM artifacts, prints each one's brotli-compressed size
# (what Nitro's limit counts), and fails if any is above the hard limit of 24,576 bytes.
# `make wasm` runs this.
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

LIMIT=24576
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
status=0
for artifact in engine verifier admin settlement; do
  features=()
  [ "$artifact" = engine ] || features=(--features "$artifact-module")
  cargo build --locked --release --lib -p "$PACKAGE" --target wasm32-unknown-unknown \
    --config 'profile.release.opt-level="z"' "${features[@]}"
  cp "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/margin_engine_stylus.wasm" \
    "$OUT/$artifact.wasm"
  # Brotli quality 11, window 22, as cargo-stylus compresses for deployment; also scans the
  # module for instructions and features Stylus rejects.
  echo -n "$artifact: "
  cargo run --locked -q -p "$PACKAGE" --example wasm_size -- "$OUT/$artifact.wasm" "$LIMIT" \
    "$BUDGET" || status=1
done
# A fourth, TEST-ONLY artifact: the engine linked to the fixed addresses at which the Stylus host
# (tests/stylus-host) deploys the two modules, so the host runs the delegatecalls for real without
# a second build of every dependency. Never deploy it: scripts/nitro/deploy.sh rebuilds the engine
# with the modules' real addresses. Skipped when the caller sets real addresses.
if [ -z "${MARGIN_ENGINE_VERIFIER_MODULE:-}${MARGIN_ENGINE_ADMIN_MODULE:-}${MARGIN_ENGINE_SETTLEMENT_MODULE:-}" ]; then
  MARGIN_ENGINE_VERIFIER_MODULE=0x5757000000000000000000000000000000000001 \
  MARGIN_ENGINE_ADMIN_MODULE=0x5757000000000000000000000000000000000002 \
  MARGIN_ENGINE_SETTLEMENT_MODULE=0x5757000000000000000000000000000000000003 \
    cargo build --locked --release --lib -p "$PACKAGE" --target wasm32-unknown-unknown \
      --config 'profile.release.opt-level="z"'
  cp "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/margin_engine_stylus.wasm" \
    "$OUT/engine-host-test.wasm"
  echo "engine-host-test: built (test-only, modules at 0x5757..01 / ..02 / ..03)"
fi
exit "$status"
