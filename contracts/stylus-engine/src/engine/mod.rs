//! The engine's operations, each combining the modules under the interface's order of checks.

mod batches;
mod governance;
mod health;
mod liquidate;
mod settle;
mod trading;

use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{address, Address, B256, I256, U256};
use stylus_sdk::prelude::*;

use crate::errors::{overflow, EngineResult};
use crate::math::{add, narrow, signed, wide};
use crate::MarginEngine;

/// Arbitrum's ArbSys precompile.
pub const ARB_SYS: Address = address!("0000000000000000000000000000000000000064");
/// `arbBlockNumber()`: the L2 block number.
pub const ARB_BLOCK_NUMBER: [u8; 4] = [0xa3, 0xb1, 0xb3, 0x1d];

impl MarginEngine {
    /// The engine's block clock (`clockBlock()`): the L2 block number from ArbSys. Stylus runs
    /// only on Arbitrum, where the `block_number` hostio is an estimate of the L1 block number
    /// (Nitro `arbos/programs/programs.go`), shared by many L2 blocks: every freshness window and
    /// per-block gate reads this instead. The one place the engine reads a block number.
    ///
    /// Native builds (the crate's own tests) read the TestVM's block number instead: the SDK's
    /// TestVM answers every mocked call with the data of the last mock installed, so an ArbSys
    /// mock beside a token mock cannot be modelled there. The WASM always reads ArbSys; the host
    /// tests (`tests/stylus-host`) run it with the `block_number` hostio at a different number.
    pub(crate) fn _clock(&self) -> u64 {
        #[cfg(target_arch = "wasm32")]
        return arb_block_number(self.vm());
        #[cfg(not(target_arch = "wasm32"))]
        return self.vm().block_number();
    }

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

    /// The clock as the interface's uint48 (block numbers stay far below 2^48; saturating keeps
    /// this total).
    pub(crate) fn _block48(&self) -> U48 {
        U48::saturating_from(self._clock())
    }

    /// The EIP-712 domain separator for this chain and this engine.
    pub(crate) fn _domain_separator(&self) -> B256 {
        margin_types::eip712::domain_separator(
            U256::from(self.vm().chain_id()),
            self.vm().contract_address(),
        )
    }
}

/// `ArbSys.arbBlockNumber()` by static call.
#[cfg(target_arch = "wasm32")]
fn arb_block_number(host: &stylus_sdk::host::VM) -> u64 {
    use stylus_sdk::call::static_call;
    match static_call(host, Call::new(), ARB_SYS, &ARB_BLOCK_NUMBER) {
        Ok(out) if out.len() == 32 && out[..24].iter().all(|&b| b == 0) => {
            let mut low = [0u8; 8];
            low.copy_from_slice(&out[24..]);
            u64::from_be_bytes(low)
        }
        _ => clock_unavailable(),
    }
}

/// ArbSys did not answer: nothing block-dependent can be decided, so the call reverts with empty
/// data (a trap), as the twin does.
#[cfg(target_arch = "wasm32")]
#[cold]
fn clock_unavailable() -> ! {
    core::arch::wasm32::unreachable()
}
