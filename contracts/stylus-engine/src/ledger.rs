//! The positions ledger: per-account positions nonce, last liquidation block, stored cash and
//! open-position count (one slot), positions per instrument, listed instruments and authorized
//! venues. The stored cash is a positive-cash share count or a debt (see [`crate::settlement`]);
//! the engine converts it (`_cash`, `_set_cash`).

use margin_types::abi::IMarginEngineErrors as E;
use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{Address, B256, I256, U256};
use stylus_sdk::host::VM;

use crate::errors::{overflow, EngineResult};
use crate::math::add;
use crate::reports::{u48, u48_value};
use crate::store::{self, tag};

/// Accounts (map [`tag::ACCOUNT`]: cash epoch `[0..2]`, open positions `[2..4]`, stored cash `[4..20]`,
/// lastLiquidationBlock `[20..26]`, positionsNonce `[26..32]`), positions (map [`tag::POSITION`] by account and instrument, an
/// int256 word), instruments and venues (maps [`tag::INSTRUMENT`], [`tag::VENUE`]: `[31]`).
pub struct PositionsLedger<'a>(pub &'a VM);

fn account_slot(account: Address) -> U256 {
    store::map_slot(tag::ACCOUNT, &store::address_word(account), &[0; 32])
}

fn position_slot(account: Address, instrument: B256) -> U256 {
    store::map_slot(tag::POSITION, &store::address_word(account), &instrument.0)
}

fn flag_slot(map: u8, key: &[u8; 32]) -> U256 {
    store::map_slot(map, key, &[0; 32])
}

impl PositionsLedger<'_> {
    /// (positionsNonce, lastLiquidationBlock).
    pub fn account(&self, account: Address) -> (U48, U48) {
        let w = store::load(self.0, account_slot(account));
        (u48(store::get(&w, 26, 6)), u48(store::get(&w, 20, 6)))
    }

    /// The stored cash (shares if positive, else the non-positive cash itself) and the cash
    /// epoch its shares belong to.
    pub fn stored_cash(&self, account: Address) -> (i128, u16) {
        let w = store::load(self.0, account_slot(account));
        // Two's complement bits; a 2-byte field.
        (store::get(&w, 4, 16) as i128, store::get(&w, 0, 2) as u16)
    }

    /// Sets the stored cash, of cash epoch `epoch`.
    pub fn set_stored_cash(&mut self, account: Address, stored: i128, epoch: u16) {
        let s = account_slot(account);
        let mut w = store::load(self.0, s);
        store::put(&mut w, 4, 16, stored as u128); // two's complement bits
        store::put(&mut w, 0, 2, u128::from(epoch));
        store::save(self.0, s, w);
    }

    /// How many instruments `account` holds a non-zero position in.
    pub fn open_positions(&self, account: Address) -> u32 {
        store::field(self.0, account_slot(account), 2, 2) as u32 // a 2-byte field
    }

    /// `account`'s positions nonce.
    pub fn nonce(&self, account: Address) -> U48 {
        u48(store::field(self.0, account_slot(account), 26, 6))
    }

    /// `account`'s signed position in `instrument`.
    pub fn position(&self, account: Address, instrument: B256) -> I256 {
        I256::from_raw(U256::from_be_bytes(store::load(self.0, position_slot(account, instrument))))
    }

    /// Adds `size` to the position, bumps the nonce and keeps the open-position count; returns
    /// the new position and nonce (ArithmeticOverflow if either overflows). Cash moves separately
    /// (`MarginEngine::_add_cash`).
    pub fn apply(
        &mut self,
        account: Address,
        instrument: B256,
        size: I256,
    ) -> EngineResult<(I256, U48)> {
        let before = self.position(account, instrument);
        let position = add(before, size)?;
        let s = account_slot(account);
        let mut w = store::load(self.0, s);
        let nonce = store::get(&w, 26, 6);
        if nonce == u128::from(u48_value(U48::MAX)) {
            return Err(overflow());
        }
        let open = store::get(&w, 2, 2);
        let open = match (before.is_zero(), position.is_zero()) {
            (true, false) if open == 0xffff => return Err(overflow()),
            (true, false) => open + 1,
            // A non-zero position was counted when it opened.
            (false, true) => open.saturating_sub(1),
            _ => open,
        };
        store::put(&mut w, 2, 2, open);
        store::put(&mut w, 26, 6, nonce + 1); // below 2^48 - 1: checked above
        store::save(self.0, s, w);
        store::save(
            self.0,
            position_slot(account, instrument),
            position.into_raw().to_be_bytes::<32>(),
        );
        Ok((position, u48(nonce + 1)))
    }

    /// Records a liquidation step of `account` in `block`.
    pub fn set_last_liquidation(&mut self, account: Address, block: U48) {
        store::set_field(self.0, account_slot(account), 20, 6, u128::from(u48_value(block)));
    }

    /// Whether `instrument` is listed.
    pub fn is_listed(&self, instrument: B256) -> bool {
        store::field(self.0, flag_slot(tag::INSTRUMENT, &instrument.0), 31, 1) != 0
    }

    /// Lists `instrument` (InstrumentAlreadyListed if it is).
    pub fn list(&mut self, instrument: B256) -> EngineResult<()> {
        if self.is_listed(instrument) {
            return Err(E::InstrumentAlreadyListed { instrumentId: instrument }.into());
        }
        store::set_field(self.0, flag_slot(tag::INSTRUMENT, &instrument.0), 31, 1, 1);
        Ok(())
    }

    /// Whether `venue` may settle trades.
    pub fn is_venue(&self, venue: Address) -> bool {
        store::field(self.0, flag_slot(tag::VENUE, &store::address_word(venue)), 31, 1) != 0
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
        let s = flag_slot(tag::VENUE, &store::address_word(venue));
        store::set_field(self.0, s, 31, 1, u128::from(allowed));
    }
}
