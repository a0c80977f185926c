//! Liquidation gating: the global notional liquidated per block, against its cap. (The
//! per-account one-step-per-block gate lives in the ledger's account slot.)

use margin_types::abi::IMarginEngineErrors as E;
use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::U256;
use stylus_sdk::host::VM;

use crate::errors::{overflow, EngineResult};
use crate::reports::{u48, u48_value};
use crate::store::{self, slot};

/// The notional liquidated in one block (slot 5: used `[0..16]`, block `[26..32]`; it never
/// exceeds the cap, at most 1e30).
pub struct LiquidationGate<'a>(pub &'a VM);

const GATE: u64 = 5;

impl LiquidationGate<'_> {
    /// The notional counted in `block` (0 if the last step was in another block).
    pub fn used_in(&self, block: U48) -> U256 {
        let w = store::load(self.0, slot(GATE));
        if u48(store::get(&w, 26, 6)) == block {
            U256::from(store::get(&w, 0, 16))
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
        let l = total.as_limbs();
        let mut w = [0u8; 32];
        store::put(&mut w, 0, 16, u128::from(l[1]) << 64 | u128::from(l[0]));
        store::put(&mut w, 26, 6, u128::from(u48_value(block)));
        store::save(self.0, slot(GATE), w);
    }
}
