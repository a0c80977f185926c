//! `msg_reentrant` as Nitro reports it: a delegatecall frame is not a reentrant frame (Nitro's
//! `TxProcessor.PushContract` does not count delegatecalls), a call back into an address that
//! already has an open frame is. Two copies of a small probe program call each other.
#![allow(missing_docs)]

use alloy_primitives::{address, Address, U256};
use stylus_host::Host;

/// A probe program. Calldata `[0]`: returns `[msg_reentrant]`. `[1] ++ to ++ data`: delegatecalls
/// `to` with `data`; `[2] ++ to ++ data`: calls it; either way returns what the callee returned.
const PROBE: &str = r#"(module
  (import "vm_hooks" "read_args" (func $read_args (param i32)))
  (import "vm_hooks" "write_result" (func $write_result (param i32 i32)))
  (import "vm_hooks" "msg_reentrant" (func $msg_reentrant (result i32)))
  (import "vm_hooks" "call_contract"
    (func $call (param i32 i32 i32 i32 i64 i32) (result i32)))
  (import "vm_hooks" "delegate_call_contract"
    (func $delegate (param i32 i32 i32 i64 i32) (result i32)))
  (import "vm_hooks" "read_return_data" (func $read_return_data (param i32 i32 i32) (result i32)))
  (global (mut i32) (i32.const 0)) ;; as rustc's stack pointer (the host's ink meter needs one)
  (memory (export "memory") 1)
  (func (export "user_entrypoint") (param $len i32) (result i32)
    (call $read_args (i32.const 0))
    (if (i32.eqz (i32.load8_u (i32.const 0)))
      (then
        (i32.store8 (i32.const 1024) (call $msg_reentrant))
        (call $write_result (i32.const 1024) (i32.const 1))
        (return (i32.const 0))))
    (if (i32.eq (i32.load8_u (i32.const 0)) (i32.const 1))
      (then (drop (call $delegate (i32.const 1) (i32.const 21)
        (i32.sub (local.get $len) (i32.const 21)) (i64.const 1000000) (i32.const 3000))))
      (else (drop (call $call (i32.const 1) (i32.const 21)
        (i32.sub (local.get $len) (i32.const 21)) (i32.const 2048) (i64.const 1000000)
        (i32.const 3000)))))
    (call $write_result (i32.const 1024)
      (call $read_return_data (i32.const 1024) (i32.const 0) (i32.const 32)))
    (i32.const 0)))"#;

const A: Address = address!("00000000000000000000000000000000000000aa");
const B: Address = address!("00000000000000000000000000000000000000bb");

fn chain() -> Host {
    let probe = wat::parse_str(PROBE).expect("the probe assembles");
    let mut host = Host::new();
    host.deploy(A, &probe).expect("A deploys");
    host.deploy(B, &probe).expect("B deploys");
    host
}

/// `[mode] ++ to ++ data`.
fn forward(mode: u8, to: Address, data: &[u8]) -> Vec<u8> {
    [&[mode][..], to.as_slice(), data].concat()
}

fn reentrant(host: &mut Host, calldata: &[u8]) -> bool {
    let outcome = host.transact(Address::repeat_byte(7), A, calldata, U256::ZERO).unwrap();
    match outcome.result.expect("the probe succeeds").as_slice() {
        [flag] => *flag == 1,
        other => panic!("unexpected return data {other:?}"),
    }
}

#[test]
fn a_first_frame_is_not_reentrant() {
    assert!(!reentrant(&mut chain(), &[0]));
}

#[test]
fn a_delegatecall_frame_is_not_reentrant() {
    // A delegatecalls B's code, which runs in A's context (A's address and storage): Nitro does
    // not count the delegate frame, so A has one counted frame open and the flag is clear.
    assert!(!reentrant(&mut chain(), &forward(1, B, &[0])));
}

#[test]
fn a_call_back_into_an_open_frame_is_reentrant() {
    // A calls B, which calls A again: two frames of A are open.
    assert!(reentrant(&mut chain(), &forward(2, B, &forward(2, A, &[0]))));
    // The same re-entry started from inside a delegatecall frame.
    assert!(reentrant(&mut chain(), &forward(1, B, &forward(2, A, &[0]))));
}

#[test]
fn a_call_to_another_address_is_not_reentrant() {
    // A calls B: B's first frame.
    let mut host = chain();
    let outcome =
        host.transact(Address::repeat_byte(7), A, &forward(2, B, &[0]), U256::ZERO).unwrap();
    assert_eq!(outcome.result, Ok(vec![0]));
}
