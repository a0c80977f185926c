//! The Stylus gas estimate of a transaction: what Nitro would charge, from its published prices
//! (`stylus_artifact::ink`, read from OffchainLabs/nitro 6dce8d13), summed while the host runs.
//!
//! Flows in from the host: every program frame's opcode ink (Nitro's basic-block meter, compiled
//! into the module the host runs), each hostio's ink, the EVM-side gas hostios pay (storage with
//! EIP-2929 warm/cold and EIP-2200 SSTORE pricing, logs, account access, the ecrecover
//! precompile), each program call's entry gas (memory pages, init or cached-init gas), and the
//! transaction's intrinsic gas.

use std::collections::{HashMap, HashSet};

use alloy_primitives::{Address, B256};
use stylus_artifact::ink::{self, INK_PRICE};

/// A transaction's estimated Stylus gas, by component.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GasEstimate {
    /// Ink of the executed WASM opcodes, all frames (Nitro's meter: opcode prices and a 2,450
    /// header per basic block, 100 per byte of memory.fill/copy).
    pub opcode_ink: u64,
    /// Ink of the hostio calls themselves (base, pointer and per-byte prices).
    pub hostio_ink: u64,
    /// Gas hostios pay on the EVM side: storage, logs, account access, precompiles.
    pub evm_gas: u64,
    /// Gas of entering programs: memory pages, init gas (first call of a program in the
    /// transaction) and cached-init gas.
    pub entry_gas: u64,
    /// 21,000 plus calldata (16 per non-zero byte, 4 per zero byte, as the twin's figures).
    pub intrinsic_gas: u64,
    /// Calls to in-host ERC-20 tokens, whose EVM gas is not in the estimate.
    pub token_calls: u32,
}

impl GasEstimate {
    /// The WASM execution's gas (opcodes and hostios, ink / 10,000).
    pub fn ink_gas(&self) -> u64 {
        (self.opcode_ink + self.hostio_ink).div_ceil(INK_PRICE)
    }

    /// The whole transaction's estimate.
    pub fn total(&self) -> u64 {
        self.intrinsic_gas + self.entry_gas + self.evm_gas + self.ink_gas()
    }
}

/// The intrinsic gas of a transaction with `calldata`.
pub fn intrinsic(calldata: &[u8]) -> u64 {
    21_000 + calldata.iter().map(|&b| if b == 0 { 4 } else { 16 }).sum::<u64>()
}

/// Per-transaction pricing state: access lists, original storage values, open memory pages.
#[derive(Debug, Default)]
pub struct TxMeter {
    /// The estimate so far.
    pub estimate: GasEstimate,
    warm_accounts: HashSet<Address>,
    warm_slots: HashSet<(Address, B256)>,
    /// Storage values at the start of the transaction (for SSTORE pricing).
    original: HashMap<(Address, B256), B256>,
    entered: HashSet<Address>,
    pages_open: u16,
    pages_ever: u16,
    /// The most stack words (Nitro's depth count) any program call of the transaction used.
    pub stack_peak: u32,
}

/// EIP-2929 costs.
const COLD_ACCOUNT: u64 = 2_600;
const COLD_SLOAD: u64 = 2_100;
const WARM_READ: u64 = 100;
/// ecrecover's fixed gas.
pub const ECRECOVER_GAS: u64 = 3_000;

impl TxMeter {
    /// A fresh transaction from `origin` to `to` (both warm, as are the precompiles, ArbSys at
    /// 0x64 among them: Nitro lists ArbOS precompiles as active, so EIP-2929 warms them).
    pub fn start(origin: Address, to: Address, calldata: &[u8]) -> Self {
        let mut meter = Self::default();
        meter.warm_accounts.extend([origin, to, crate::precompile::ARB_SYS]);
        meter.warm_accounts.extend((1u8..=10).map(Address::with_last_byte));
        meter.estimate.intrinsic_gas = intrinsic(calldata);
        meter
    }

    /// Account access (calls, code and balance queries): cold the first time.
    pub fn access_account(&mut self, account: Address) {
        let gas = if self.warm_accounts.insert(account) { COLD_ACCOUNT } else { WARM_READ };
        self.estimate.evm_gas += gas;
    }

    /// A storage read that missed the program's cache (`WasmStateLoadCost` plus the 5 gas of
    /// the EVM API request, `ink_to_gas(EVM_API_INK)`).
    pub fn sload(&mut self, contract: Address, key: B256, committed: B256) {
        self.original.entry((contract, key)).or_insert(committed);
        let gas = if self.warm_slots.insert((contract, key)) { COLD_SLOAD } else { WARM_READ };
        self.estimate.evm_gas += gas + ink::hostio::EVM_API / INK_PRICE;
    }

    /// A dirty word flushed: EIP-2929 + EIP-2200 SSTORE (`WasmStateStoreCost`); refunds are not
    /// modelled.
    pub fn sstore(&mut self, contract: Address, key: B256, current: B256, new: B256) {
        let original = *self.original.entry((contract, key)).or_insert(current);
        let mut gas = 0;
        if self.warm_slots.insert((contract, key)) {
            gas += COLD_SLOAD;
        }
        gas += if current == new {
            WARM_READ
        } else if original == current {
            if original.is_zero() {
                20_000
            } else {
                5_000 - COLD_SLOAD
            }
        } else {
            WARM_READ
        };
        self.estimate.evm_gas += gas;
    }

    /// Entering program `code` with `entry`'s costs; returns the pages open before (to restore
    /// when the call returns).
    pub fn enter(&mut self, code: Address, entry: ink::EntryCost) -> u16 {
        let open = self.pages_open;
        let mut gas = ink::memory_gas(entry.pages, open, self.pages_ever) + entry.cached_gas;
        if self.entered.insert(code) {
            gas += entry.init_gas; // not in the recent-programs cache yet
        }
        self.estimate.entry_gas += gas;
        self.pages_open = open.saturating_add(entry.pages);
        self.pages_ever = self.pages_ever.max(self.pages_open);
        open
    }

    /// A program call returned: its pages close.
    pub fn leave(&mut self, open_before: u16) {
        self.pages_open = open_before;
    }

    /// `pay_for_memory_grow(pages)` with pages > 0.
    pub fn grow(&mut self, pages: u16) {
        self.estimate.evm_gas += ink::memory_gas(pages, self.pages_open, self.pages_ever);
        self.pages_open = self.pages_open.saturating_add(pages);
        self.pages_ever = self.pages_ever.max(self.pages_open);
    }

    /// A log with `topics` and `data` bytes.
    pub fn log(&mut self, topics: u64, data: u64) {
        self.estimate.evm_gas += 375 * (1 + topics) + 8 * data;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sstore_follows_eip_2200_and_2929() {
        let (a, k) = (Address::repeat_byte(1), B256::repeat_byte(2));
        let (zero, one, two) = (B256::ZERO, B256::with_last_byte(1), B256::with_last_byte(2));
        let mut m = TxMeter::default();
        m.sstore(a, k, zero, one); // cold, fresh slot
        assert_eq!(m.estimate.evm_gas, 2_100 + 20_000);
        m.sstore(a, k, one, two); // warm, already dirty
        assert_eq!(m.estimate.evm_gas, 2_100 + 20_000 + 100);
        let mut m = TxMeter::default();
        m.sload(a, k, one); // cold read of a set slot, then a reset
        m.sstore(a, k, one, two);
        assert_eq!(m.estimate.evm_gas, 2_100 + 5 + 2_900);
    }

    #[test]
    fn intrinsic_gas_prices_calldata_bytes() {
        assert_eq!(intrinsic(&[0, 1, 0, 255]), 21_000 + 4 + 16 + 4 + 16);
    }
}
