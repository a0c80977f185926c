//! The Stylus gas estimate on programs small enough to price by hand from Nitro's tables
//! (`stylus_artifact::ink`): the basic-block meter, hostio ink, storage and entry gas.
#![allow(missing_docs)]

use alloy_primitives::{address, Address, U256};
use stylus_artifact::ink::{self, hostio};
use stylus_host::Host;

const PROGRAM: Address = address!("00000000000000000000000000000000000000aa");

fn run(text: &str, calldata: &[u8]) -> (stylus_host::Outcome, Vec<u8>) {
    let wasm = wat::parse_str(text).expect("assembles");
    let mut host = Host::new();
    host.deploy(PROGRAM, &wasm).expect("deploys");
    let outcome = host.transact(Address::repeat_byte(7), PROGRAM, calldata, U256::ZERO).unwrap();
    (outcome, wasm)
}

#[test]
fn one_basic_block_costs_its_opcodes_and_one_header() {
    // Body `i32.const 0, end`: one block of 1 + 1 ink, plus the 2,450-ink header.
    let (outcome, wasm) = run(
        r#"(module (global (mut i32) (i32.const 0)) (memory (export "memory") 1)
             (func (export "user_entrypoint") (param i32) (result i32) i32.const 0))"#,
        &[0, 1],
    );
    assert_eq!(outcome.result, Ok(Vec::new()));
    let gas = outcome.gas;
    assert_eq!(gas.opcode_ink, 1 + 1 + 2_450);
    assert_eq!(gas.hostio_ink, 0);
    assert_eq!(gas.evm_gas, 0);
    assert_eq!(gas.intrinsic_gas, 21_000 + 4 + 16);
    let entry = ink::entry_cost(&wasm).unwrap();
    assert_eq!(gas.entry_gas, entry.init_gas + entry.cached_gas, "1 page: within the free 2");
    assert_eq!(gas.total(), gas.intrinsic_gas + gas.entry_gas + 1);
}

#[test]
fn a_fresh_storage_word_costs_a_cold_set() {
    // storage_cache_bytes32(key 0, value at 32 = 1), then storage_flush_cache(0).
    let (outcome, _) = run(
        r#"(module
             (import "vm_hooks" "storage_cache_bytes32" (func $cache (param i32 i32)))
             (import "vm_hooks" "storage_flush_cache" (func $flush (param i32)))
             (global (mut i32) (i32.const 0))
             (memory (export "memory") 1)
             (func (export "user_entrypoint") (param i32) (result i32)
               (i32.store8 (i32.const 63) (i32.const 1))
               (call $cache (i32.const 0) (i32.const 32))
               (call $flush (i32.const 0))
               i32.const 0))"#,
        &[],
    );
    assert_eq!(outcome.result, Ok(Vec::new()));
    let gas = outcome.gas;
    assert_eq!(gas.evm_gas, 2_100 + 20_000, "cold slot, zero to non-zero");
    assert_eq!(gas.hostio_ink, hostio::TWO_PTRS + hostio::WITH_EVM_API);
    // Blocks: [i32.const, i32.const, i32.store8, i32.const, i32.const, call] then
    // [i32.const, call] then [i32.const, end].
    let block1 = 1 + 1 + 825 + 1 + 1 + 3_800;
    let block2 = 1 + 3_800;
    let block3 = 1 + 1;
    assert_eq!(gas.opcode_ink, block1 + block2 + block3 + 3 * 2_450);
}

#[test]
fn a_call_chain_deeper_than_nitros_stack_limit_traps() {
    // `f(n)` recurses n times, each frame 6 words as depth.rs counts them (2 values live at once,
    // no declared locals, plus 4). 2,000 calls fit in MaxStackDepth (22,000 words); 4,000 trap
    // at Nitro's limit (the host lets wasmi go deeper, so the trap is the depth checker's).
    let text = r#"(module (global (mut i32) (i32.const 0)) (memory (export "memory") 1)
        (func $f (param i32)
          (if (local.get 0) (then (call $f (i32.sub (local.get 0) (i32.const 1))))))
        (func (export "user_entrypoint") (param i32) (result i32)
          (call $f (local.get 0)) i32.const 0))"#;
    let wasm = wat::parse_str(text).unwrap();
    let mut host = Host::new();
    host.deploy(PROGRAM, &wasm).unwrap();
    let mut call = |depth: usize| {
        // user_entrypoint receives the calldata length: recurse that many times.
        host.transact(Address::repeat_byte(7), PROGRAM, &vec![1; depth], U256::ZERO).unwrap()
    };
    let limit = stylus_artifact::nitro::MAX_STACK_DEPTH;
    let fits = call(2_000);
    assert_eq!(fits.result, Ok(Vec::new()));
    assert!(fits.stack_peak > 2_000 * 6 && fits.stack_peak < limit, "{}", fits.stack_peak);
    let deep = call(4_000);
    assert_eq!(deep.result, Err(Vec::new()), "trapped");
    assert!(deep.stack_peak > limit - 10 && deep.stack_peak < limit, "{}", deep.stack_peak);
}
