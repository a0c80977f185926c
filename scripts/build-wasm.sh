#!/usr/bin/env bash
# Builds the Stylus engine's release WASM, prints its brotli-compressed size (what Nitro's limit
# counts), and fails above the hard limit of 24,576 bytes. `make wasm` runs this.
#
#   scripts/build-wasm.sh            # build, measure, check
#   CARGO_TARGET_DIR=... scripts/build-wasm.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

LIMIT=24576
BUDGET=16384
PACKAGE=margin-engine-stylus
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

# Flags (stack size, target features) come from .cargo/config.toml; the profile from Cargo.toml,
# with opt-level "z" for the whole build (as `cargo stylus build` does with its z option):
# measured smaller than 3 and "s" (docs/BENCHMARKS.md). A per-package override does not work
# here: with fat LTO the dependencies' opt-level decides most of the size.
cargo build --locked --release --lib -p "$PACKAGE" --target wasm32-unknown-unknown \
  --config 'profile.release.opt-level="z"'
WASM="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/margin_engine_stylus.wasm"

# Brotli quality 11, window 22, as cargo-stylus compresses for deployment; also scans the module
# for instructions and features Stylus rejects.
cargo run --locked -q -p "$PACKAGE" --example wasm_size -- "$WASM" "$LIMIT" "$BUDGET"
