//! The positions ledger: per-account positions nonce, last liquidation block and signed cash (one
//! slot), positions per instrument, listed instruments and authorized venues.

use alloc::vec::Vec;
use margin_types::abi::IMarginEngineErrors as E;
use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{Address, B256, I256};
use stylus_sdk::prelude::*;
use stylus_sdk::storage::{StorageBool, StorageI128, StorageI256, StorageMap, StorageUint};

use crate::errors::{overflow, EngineResult};
use crate::math::{add, bits_to_i128, i128_to_bits, narrow, wide};

/// One account's scalars, in one slot.
#[storage]
pub struct AccountSlot {
    positions_nonce: StorageUint<48, 1>,
    last_liquidation_block: StorageUint<48, 1>,
    cash: StorageI128,
}

/// Positions, account scalars, instruments and venues.
#[storage]
pub struct PositionsLedger {
    accounts: StorageMap<Address, AccountSlot>,
    positions: StorageMap<Address, StorageMap<B256, StorageI256>>,
    instruments: StorageMap<B256, StorageBool>,
    venues: StorageMap<Address, StorageBool>,
}

impl PositionsLedger {
    /// (positionsNonce, cash, lastLiquidationBlock).
    pub fn account(&self, account: Address) -> (U48, I256, U48) {
        let slot = self.accounts.getter(account);
        (
            slot.positions_nonce.get(),
            wide(bits_to_i128(slot.cash.get())),
            slot.last_liquidation_block.get(),
        )
    }

    /// `account`'s positions nonce.
    pub fn nonce(&self, account: Address) -> U48 {
        self.accounts.getter(account).positions_nonce.get()
    }

    /// `account`'s signed position in `instrument`.
    pub fn position(&self, account: Address, instrument: B256) -> I256 {
        self.positions.getter(account).get(instrument)
    }

    /// Adds `size` to the position and `cash` to the cash, bumps the nonce; returns the new
    /// position and nonce (ArithmeticOverflow if any of them overflows).
    pub fn apply(
        &mut self,
        account: Address,
        instrument: B256,
        size: I256,
        cash: I256,
    ) -> EngineResult<(I256, U48)> {
        let position = add(self.position(account, instrument), size)?;
        let nonce = {
            let mut slot = self.accounts.setter(account);
            let new_cash = narrow(add(wide(bits_to_i128(slot.cash.get())), cash)?)?;
            let nonce = slot.positions_nonce.get();
            if nonce == U48::MAX {
                return Err(overflow());
            }
            let nonce = nonce + U48::from(1);
            slot.cash.set(i128_to_bits(new_cash));
            slot.positions_nonce.set(nonce);
            nonce
        };
        self.positions.setter(account).insert(instrument, position);
        Ok((position, nonce))
    }

    /// Records a liquidation step of `account` in `block`.
    pub fn set_last_liquidation(&mut self, account: Address, block: U48) {
        self.accounts.setter(account).last_liquidation_block.set(block);
    }

    /// Whether `instrument` is listed.
    pub fn is_listed(&self, instrument: B256) -> bool {
        self.instruments.get(instrument)
    }

    /// Lists `instrument` (InstrumentAlreadyListed if it is).
    pub fn list(&mut self, instrument: B256) -> EngineResult<()> {
        if self.is_listed(instrument) {
            return Err(E::InstrumentAlreadyListed { instrumentId: instrument }.into());
        }
        self.instruments.insert(instrument, true);
        Ok(())
    }

    /// Whether `venue` may settle trades.
    pub fn is_venue(&self, venue: Address) -> bool {
        self.venues.get(venue)
    }

    /// NotVenue unless `caller` is a venue.
    pub fn only_venue(&self, caller: Address) -> EngineResult<()> {
        if !self.is_venue(caller) {
            return Err(E::NotVenue { caller }.into());
        }
        Ok(())
    }

    /// Authorizes or removes `venue`.
    pub fn set_venue(&mut self, venue: Address, allowed: bool) {
        self.venues.insert(venue, allowed);
    }
}
