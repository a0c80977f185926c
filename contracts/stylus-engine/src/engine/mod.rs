//! The engine's operations, each combining the modules under the interface's order of checks.

mod batches;
mod governance;
mod health;
mod liquidate;
mod settle;
mod trading;

use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{Address, B256, I256, U256};
use stylus_sdk::prelude::*;

use crate::errors::{overflow, EngineResult};
use crate::math::{add, narrow, signed, wide};
use crate::MarginEngine;

impl MarginEngine {
    /// `account`'s cash: its positive-cash shares at the current rate (nothing if they are of an
    /// earlier cash epoch), or its debt as stored.
    pub(crate) fn _cash(&self, account: Address) -> EngineResult<I256> {
        let (stored, epoch) = self.ledger().stored_cash(account);
        if stored > 0 {
            if epoch != self.settlement().epoch() {
                return Ok(I256::ZERO);
            }
            // Positive: shares (stored > 0, so the cast is exact).
            return signed(self.settlement().cash_of_shares(U256::from(stored as u128))?);
        }
        Ok(wide(stored))
    }

    /// Sets `account`'s cash (a positive one as floor(cash * 1e18 / rate) shares), keeping the
    /// total of shares; ArithmeticOverflow beyond int128.
    pub(crate) fn _set_cash(&mut self, account: Address, cash: I256) -> EngineResult<()> {
        let (old, old_epoch) = self.ledger().stored_cash(account);
        let epoch = self.settlement().epoch();
        let mut shares = self.settlement().shares();
        if old > 0 && old_epoch == epoch {
            // Σ shares includes this account's (old > 0, so the cast is exact).
            shares = shares.checked_sub(U256::from(old as u128)).ok_or_else(overflow)?;
        }
        let stored = if cash.is_positive() {
            let own = self.settlement().shares_of_cash(cash.unsigned_abs())?;
            shares = shares.checked_add(own).ok_or_else(overflow)?;
            narrow(signed(own)?)?
        } else {
            narrow(cash)?
        };
        self.settlement().set_shares(shares);
        self.ledger().set_stored_cash(account, stored, epoch);
        Ok(())
    }

    /// Adds `delta` to `account`'s cash; returns the new cash.
    pub(crate) fn _add_cash(&mut self, account: Address, delta: I256) -> EngineResult<I256> {
        let cash = add(self._cash(account)?, delta)?;
        self._set_cash(account, cash)?;
        Ok(cash)
    }

    /// `block.number` as the interface's uint48 (block numbers stay far below 2^48; saturating
    /// keeps this total).
    pub(crate) fn _block48(&self) -> U48 {
        U48::saturating_from(self.vm().block_number())
    }

    /// The EIP-712 domain separator for this chain and this engine.
    pub(crate) fn _domain_separator(&self) -> B256 {
        margin_types::eip712::domain_separator(
            U256::from(self.vm().chain_id()),
            self.vm().contract_address(),
        )
    }
}
