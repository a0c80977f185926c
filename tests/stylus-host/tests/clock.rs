//! Arbitrum's two block numbers in the host: the `block_number` hostio answers Nitro's L1
//! estimate, ArbSys (0x64) `arbBlockNumber()` the L2 number; the engine's clock is the latter.
#![allow(missing_docs)]

use alloy_primitives::{address, Address, U256};
use alloy_sol_types::SolCall;
use margin_types::abi::IMarginEngine as I;
use stylus_host::scenario::{constructor_args, engine, tokens, DEPLOYER};
use stylus_host::world::{L1_BEHIND_L2, L2_BLOCKS_PER_L1_BLOCK};
use stylus_host::{Block, Host, StylusEngine};

/// A program that returns the `block_number` hostio as 8 little-endian bytes.
fn block_number_program() -> Vec<u8> {
    wat::parse_str(
        r#"(module
             (import "vm_hooks" "write_result" (func $write (param i32 i32)))
             (import "vm_hooks" "block_number" (func $block (result i64)))
             (global (mut i32) (i32.const 0))
             (memory (export "memory") 1)
             (func (export "user_entrypoint") (param i32) (result i32)
               (i64.store (i32.const 0) (call $block))
               (call $write (i32.const 0) (i32.const 8))
               i32.const 0))"#,
    )
    .expect("assembles")
}

const PROGRAM: Address = address!("00000000000000000000000000000000000b10c1");

#[test]
fn block_number_hostio_is_the_l1_estimate_not_the_l2_block() {
    let mut host = Host::new();
    host.deploy(PROGRAM, &block_number_program()).unwrap();
    let block = Block { chain_id: 42161, number: 250_000_000, l1_number: 21_000_000, timestamp: 1 };
    host.set_block(block);
    let out = host.view(Address::ZERO, PROGRAM, &[]).unwrap();
    let bytes: [u8; 8] = out.result.unwrap().try_into().unwrap();
    assert_eq!(u64::from_le_bytes(bytes), 21_000_000);

    // The default block and `Block::at` keep the two apart: many L2 blocks share one L1 number.
    for l2 in [1, 1_000, 100_000_000, 100_000_047] {
        let b = Block::at(31337, l2, 1);
        assert_ne!(b.l1_number, b.number, "L2 block {l2}");
        host.set_block(b);
        let out = host.view(Address::ZERO, PROGRAM, &[]).unwrap().result.unwrap();
        assert_eq!(u64::from_le_bytes(out.try_into().unwrap()), b.l1_number);
    }
    let first = L1_BEHIND_L2 + 416_667 * L2_BLOCKS_PER_L1_BLOCK;
    let last = first + L2_BLOCKS_PER_L1_BLOCK - 1;
    assert_eq!(Block::at(1, first, 1).l1_number, Block::at(1, last, 1).l1_number);
    assert_eq!(Block::at(1, last + 1, 1).l1_number, Block::at(1, last, 1).l1_number + 1);
}

#[test]
fn the_engine_clock_is_arbsys_l2_block() {
    let block = Block { chain_id: 31337, number: 100_000_500, l1_number: 20_000_010, timestamp: 1 };
    let mut chain =
        StylusEngine::deploy(engine(), block, DEPLOYER, &constructor_args(), &tokens()).unwrap();
    let clock = |chain: &mut StylusEngine| {
        let out = chain.view(&I::clockBlockCall {}.abi_encode()).result.unwrap();
        I::clockBlockCall::abi_decode_returns(&out).unwrap()
    };
    assert_eq!(clock(&mut chain), U256::from(100_000_500));
    // Another L2 block in the same L1 block: the clock moves, the hostio does not.
    chain.host.set_block(Block { number: 100_000_501, ..block });
    assert_eq!(clock(&mut chain), U256::from(100_000_501));
    assert_eq!(
        chain.view(&I::liquidatedNotionalThisBlockCall {}.abi_encode()).result,
        Ok(U256::ZERO.to_be_bytes::<32>().to_vec())
    );
}
