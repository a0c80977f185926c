//! Liquidation gating: the global notional liquidated per block, against its cap. (The
//! per-account one-step-per-block gate lives in the ledger's account slot.)

use alloc::vec::Vec;
use margin_types::abi::IMarginEngineErrors as E;
use stylus_sdk::alloy_primitives::aliases::{U128, U48};
use stylus_sdk::alloy_primitives::U256;
use stylus_sdk::prelude::*;
use stylus_sdk::storage::{StorageU128, StorageUint};

use crate::errors::{overflow, EngineResult};

/// The notional liquidated in `block` (one slot; it never exceeds the cap, at most 1e30).
#[storage]
pub struct LiquidationGate {
    block: StorageUint<48, 1>,
    used: StorageU128,
}

impl LiquidationGate {
    /// The notional counted in `block` (0 if the last step was in another block).
    pub fn used_in(&self, block: U48) -> U256 {
        if self.block.get() == block {
            U256::from(self.used.get())
        } else {
            U256::ZERO
        }
    }

    /// LiquidationCapExceeded unless `used + notional <= cap`; returns the new total.
    pub fn check(&self, block: U48, notional: U256, cap: U256) -> EngineResult<U256> {
        let used = self.used_in(block);
        let total = used.checked_add(notional).ok_or_else(overflow)?;
        if total > cap {
            return Err(E::LiquidationCapExceeded { usedThisBlock: used, notional, cap }.into());
        }
        Ok(total)
    }

    /// Records the block's new total (at most the cap, so it fits 128 bits).
    pub fn record(&mut self, block: U48, total: U256) {
        self.block.set(block);
        self.used.set(U128::from(total));
    }
}
