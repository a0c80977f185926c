//! Hand-packed storage: fixed slots and keccak-keyed map entries, each a 32-byte word whose
//! fields sit at fixed big-endian byte ranges.
//!
//! Why by hand: the SDK's nested `#[storage]` accessors generate a constructor per struct and a
//! getter/setter per field width (about 10 KB of WASM here); a word read, a few byte copies and a
//! word write do the same job. Reads and writes go through the host's storage cache exactly as
//! the SDK's types do (flushed before external calls and at the end of the call).
//!
//! Layout (every module's, in one place so that cooperating contracts can share it):
//!
//! | slot | content |
//! | --- | --- |
//! | 0, 1, 2 | admin, risk council, pause guardian |
//! | 3 | paused `[31]`, riskEpoch `[27..31]` |
//! | 4 | RiskParams: threshold `[0..2]`, penalty `[2..4]`, maxReportAge `[4..8]`, maxPriceAge `[8..12]`, timelockDelay `[12..16]`, cap `[16..32]` |
//! | 5 | liquidation gate: used `[0..16]`, block `[26..32]` |
//! | 6 | keeper count `[31]`, quorum `[30]` |
//! | 7 | collateral asset count `[31]` |
//! | 8-13 | settlement: S and its parameters, cash reserve, insurance fund, socialised loss, positive-cash shares and rate (`settlement.rs`) |
//! | `0x1000 + i` | keeper `i` (registration order) |
//! | `0x2000 + i` | collateral asset `i` (listing order) |
//! | map [`tag`] | see each module |

use stylus_sdk::alloy_primitives::{keccak256, Address, B256, U256};
use stylus_sdk::host::VM;
use stylus_sdk::stylus_core::StorageAccess;

/// Map tags: the last byte of a map entry's preimage (one tag per map).
pub mod tag {
    #![allow(missing_docs)]
    pub const KEEPER: u8 = 1;
    pub const ASSET: u8 = 2;
    pub const BALANCE: u8 = 3;
    pub const ACCOUNT: u8 = 4;
    pub const POSITION: u8 = 5;
    pub const INSTRUMENT: u8 = 6;
    pub const VENUE: u8 = 7;
    pub const REPORT: u8 = 8;
    pub const ROOT: u8 = 9;
    pub const QUEUE: u8 = 10;
    pub const ASSET_TOTAL: u8 = 11;
}

/// A 32-byte storage word.
pub type Word = [u8; 32];

/// A fixed slot.
pub fn slot(n: u64) -> U256 {
    U256::from(n)
}

/// The slot of a map entry: `keccak256(a ‖ b ‖ tag)` (`b` zero for single-key maps).
pub fn map_slot(tag: u8, a: &Word, b: &Word) -> U256 {
    let mut buf = [0u8; 65];
    buf[..32].copy_from_slice(a);
    buf[32..64].copy_from_slice(b);
    buf[64] = tag;
    U256::from_be_bytes(keccak256(buf).0)
}

/// Reads a word (through the host's cache).
pub fn load(vm: &VM, slot: U256) -> Word {
    vm.storage_load_bytes32(slot).0
}

/// Writes a word to the host's cache (flushed before external calls and at the end).
pub fn save(vm: &VM, slot: U256, word: Word) {
    // The SDK's storage types write the same way; the engine owns all of its storage.
    #[allow(unsafe_code)]
    unsafe {
        vm.storage_cache_bytes32(slot, B256::from(word))
    }
}

/// The `len`-byte (at most 16) unsigned field at byte `at` of `word`.
pub fn get(word: &Word, at: usize, len: usize) -> u128 {
    let mut v = 0u128;
    for &b in word.iter().skip(at).take(len) {
        v = v << 8 | u128::from(b);
    }
    v
}

/// Writes the low `len` bytes of `v` at byte `at` of `word`.
pub fn put(word: &mut Word, at: usize, len: usize, v: u128) {
    for (i, b) in word.iter_mut().skip(at).take(len).rev().enumerate() {
        *b = (v >> (8 * i)) as u8; // byte i of v (i < 16)
    }
}

/// Reads a field of a stored word.
pub fn field(vm: &VM, slot: U256, at: usize, len: usize) -> u128 {
    get(&load(vm, slot), at, len)
}

/// Rewrites one field of a stored word.
pub fn set_field(vm: &VM, slot: U256, at: usize, len: usize, v: u128) {
    let mut word = load(vm, slot);
    put(&mut word, at, len, v);
    save(vm, slot, word);
}

/// The address in the low 20 bytes of a word.
pub fn address(word: &Word) -> Address {
    Address::from_slice(&word[12..])
}

/// An address as a word (left-padded).
pub fn address_word(address: Address) -> Word {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(address.as_slice());
    w
}
