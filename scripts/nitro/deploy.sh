#!/usr/bin/env bash
# Deploys the Stylus margin engine to a local Nitro devnode and runs a smoke call.
# See README.md beside this file: what it needs, and what has and has not been run.
#
#   scripts/nitro/deploy.sh                 # devnode on http://localhost:8547
#   RPC=http://host:8547 scripts/nitro/deploy.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

RPC="${RPC:-http://localhost:8547}"
CHAIN_ID=412346
# nitro-devnode's well-known prefunded dev account (public test key: never use it elsewhere).
PRIVATE_KEY="${PRIVATE_KEY:-0xb6b15c8cb491557369f3c7d2c287b053eb229daa9c22138887752191c9520659}"
DEV_ADDRESS=0x3f1Eae7D46d88F08fc2F8ed27FCb2AB183EB2d0E
CARGO_STYLUS_VERSION=0.10.10

command -v cast >/dev/null || export PATH="$PWD/node_modules/@foundry-rs/cast-linux-amd64/bin:$PATH"
if ! cargo stylus --version 2>/dev/null | grep -q "$CARGO_STYLUS_VERSION"; then
  cargo install --locked cargo-stylus --version "$CARGO_STYLUS_VERSION"
fi

got_chain=$(cast chain-id --rpc-url "$RPC")
[ "$got_chain" = "$CHAIN_ID" ] || { echo "error: $RPC is chain $got_chain, expected $CHAIN_ID"; exit 1; }

# 1. Build the artifacts with scripts/build-wasm.sh: already in the form cargo-stylus uploads for
#    --wasm-file (its processing leaves them unchanged, so what is deployed is what was tested),
#    checked as Nitro's activation checks them, each within 24,576 bytes of code. Then deploy and
#    activate the three modules (no constructor: they only ever run by delegatecall from the
#    engine, on the engine's storage).
scripts/build-wasm.sh
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
deploy_module() {
  local wasm="$TARGET_DIR/stylus/$1.wasm" out address
  cargo stylus check --endpoint "$RPC" --wasm-file "$wasm" >&2
  out=$(cargo stylus deploy --no-verify --endpoint "$RPC" --private-key "$PRIVATE_KEY" \
    --wasm-file "$wasm" 2>&1 | tee /dev/stderr)
  address=$(echo "$out" | grep -oiE 'deployed code at address:? *0x[0-9a-f]{40}' | grep -oiE '0x[0-9a-f]{40}' | tail -1)
  [ -n "$address" ] || { echo "error: no $1 module address in cargo stylus output" >&2; exit 1; }
  echo "$address"
}
VERIFIER=$(deploy_module verifier)
ADMIN_MODULE=$(deploy_module admin)
SETTLEMENT=$(deploy_module settlement)
echo "verifier module: $VERIFIER"
echo "admin module: $ADMIN_MODULE"
echo "settlement module: $SETTLEMENT"
# The engine fixes its modules' addresses at build time: rebuild it with them (and re-measure).
export MARGIN_ENGINE_VERIFIER_MODULE=$VERIFIER MARGIN_ENGINE_ADMIN_MODULE=$ADMIN_MODULE \
  MARGIN_ENGINE_SETTLEMENT_MODULE=$SETTLEMENT
scripts/build-wasm.sh
WASM="$TARGET_DIR/stylus/engine.wasm"

# 2. Initial roles, keepers, parameters, collateral and venues. All test-only values: the dev
#    account is admin, council and guardian; three keepers (addresses of public test keys from
#    tests/vectors/quorum-batches.json), quorum 2; one listed collateral (a placeholder USDC
#    address, 6 decimals, weight 98%); no venue yet.
ADMIN=$DEV_ADDRESS
KEEPERS="[0x180631b7c616b6d04a8dc79ca9e489638f6e863e,0x4f433b85f9634acab5c70fccd9e5e33db2562d2c,0x2ef95031745907d922b396f6678bf71c59f2d3fc]"
QUORUM=2
# (liquidationThresholdBps, liquidationPenaltyBps, maxReportAgeBlocks, maxPriceAgeBlocks,
#  timelockDelay seconds, liquidationNotionalCapPerBlock USD 1e18)
PARAMS="(10000,500,100,100,3600,1000000000000000000000000)"
ASSETS="[0x000000000000000000000000000000000000a0b8]"
DECIMALS="[6]"
WEIGHTS="[9800]"
VENUES="[]"
SIGNATURE="constructor(address,address,address,address[],uint8,(uint16,uint16,uint32,uint32,uint32,uint128),address[],uint8[],uint16[],address[])"

# 3. Check activation, then deploy the engine through the StylusDeployer (the constructor runs in
#    the same tx: the engine delegates it to the admin module).
cargo stylus check --endpoint "$RPC" --wasm-file "$WASM"
out=$(cargo stylus deploy --no-verify --endpoint "$RPC" --private-key "$PRIVATE_KEY" \
  --wasm-file "$WASM" --constructor-signature "$SIGNATURE" \
  --constructor-args "$ADMIN" "$ADMIN" "$ADMIN" "$KEEPERS" "$QUORUM" "$PARAMS" \
  "$ASSETS" "$DECIMALS" "$WEIGHTS" "$VENUES" 2>&1 | tee /dev/stderr)
ENGINE=$(echo "$out" | grep -oiE 'deployed code at address:? *0x[0-9a-f]{40}' | grep -oiE '0x[0-9a-f]{40}' | tail -1)
[ -n "$ENGINE" ] || { echo "error: no contract address in cargo stylus output"; exit 1; }
echo "engine: $ENGINE"

# 4. Smoke: the constructor's state reads back (so the admin module ran it on the engine's
#    storage), and a role check reverts with its custom error (through the admin module).
cast call --rpc-url "$RPC" "$ENGINE" "quorum()(uint8)"
cast call --rpc-url "$RPC" "$ENGINE" "keepers()(address[])"
cast call --rpc-url "$RPC" "$ENGINE" "riskEpoch()(uint32)"
cast call --rpc-url "$RPC" "$ENGINE" "domainSeparator()(bytes32)"
cast call --rpc-url "$RPC" "$ENGINE" \
  "riskParams()((uint16,uint16,uint32,uint32,uint32,uint128))"
# unpause() from a non-admin: NotAdmin(address) = 0x... revert data expected.
if cast call --rpc-url "$RPC" --from 0x000000000000000000000000000000000000dEaD "$ENGINE" "unpause()" 2>/tmp/unpause.err; then
  echo "error: unpause() from a stranger succeeded"; exit 1
fi
grep -qi "$(cast sig 'NotAdmin(address)' | cut -c3-)" /tmp/unpause.err && echo "NotAdmin revert: ok"
echo "smoke test passed"
