//! The settlement book: the settlement asset S, the cash reserve (S held for cash), the insurance
//! fund, socialised losses, the positive-cash share rate and the settlement parameters.
//!
//! Cash is a claim on S at par (1e18 cash = 10**decimals(S) units). A positive cash is stored as
//! shares of `positiveCashRate` (cash = floor(shares * rate / 1e18)) so that a socialised loss
//! lowers every positive cash at once by lowering the rate; a negative cash (debt) is stored as is.

use stylus_sdk::alloy_primitives::{Address, U256};
use stylus_sdk::host::VM;

use crate::errors::{overflow, EngineResult};
use crate::math::{mul_div, pow10, E18};
use crate::store::{self, slot};

/// Settlement slots: 8 = S `[12..32]`, decimals(S) `[11]`, seizureDiscountBps `[0..2]`,
/// insuranceShareBps `[2..4]`, liquidatorMarginBps `[4..6]`; 9 cash reserve; 10 insurance fund;
/// 11 socialised loss; 12 total positive-cash shares; 13 positive-cash rate (whole words); 14
/// cash epoch `[30..32]` (bumped when a socialised loss wipes every positive cash).
pub struct SettlementBook<'a>(pub &'a VM);

const CONFIG: u64 = 8;
const RESERVE: u64 = 9;
const FUND: u64 = 10;
const SOCIALISED: u64 = 11;
const SHARES: u64 = 12;
const RATE: u64 = 13;
const EPOCH: u64 = 14;

/// The lowest positive-cash rate a socialised loss may leave (below it, every positive cash is
/// wiped instead: a new cash epoch).
pub const MIN_RATE: U256 = U256::from_limbs([1_000_000_000, 0, 0, 0]);

/// Byte range `(at, len)` of settlement parameter `kind` (17..=19) in slot 8.
fn param_field(kind: u8) -> (usize, usize) {
    match kind {
        crate::governance::kind::SEIZURE_DISCOUNT => (0, 2),
        crate::governance::kind::INSURANCE_SHARE => (2, 2),
        _ => (4, 2),
    }
}

impl SettlementBook<'_> {
    fn word(&self, n: u64) -> U256 {
        U256::from_be_bytes(store::load(self.0, slot(n)))
    }

    fn set_word(&self, n: u64, v: U256) {
        store::save(self.0, slot(n), v.to_be_bytes::<32>());
    }

    /// The settlement asset S.
    pub fn asset(&self) -> Address {
        store::address(&store::load(self.0, slot(CONFIG)))
    }

    /// `10**(18 - decimals(S))`: token units to cash units.
    pub fn scale(&self) -> U256 {
        let decimals = store::field(self.0, slot(CONFIG), 11, 1) as u8; // a 1-byte field
        pow10(18u8.saturating_sub(decimals))
    }

    /// Constructor: S, its decimals (<= 18, checked by the caller), the starting parameters and
    /// rate.
    pub fn init(&mut self, asset: Address, decimals: u8) {
        let mut w = store::address_word(asset);
        store::put(&mut w, 11, 1, u128::from(decimals));
        store::put(&mut w, 0, 2, 500);
        store::put(&mut w, 2, 2, 5_000);
        store::put(&mut w, 4, 2, 1_000);
        store::save(self.0, slot(CONFIG), w);
        self.set_word(RATE, E18);
    }

    /// Settlement parameter `kind` (17..=19), in bps.
    pub fn param(&self, kind: u8) -> U256 {
        let (at, len) = param_field(kind);
        U256::from(store::field(self.0, slot(CONFIG), at, len))
    }

    /// Sets settlement parameter `kind` (17..=19; bounds checked by the caller: fits 16 bits).
    pub fn set_param(&mut self, kind: u8, value: U256) {
        let (at, len) = param_field(kind);
        store::set_field(self.0, slot(CONFIG), at, len, u128::from(value.as_limbs()[0]));
    }

    /// S held for cash, in cash units.
    pub fn reserve(&self) -> U256 {
        self.word(RESERVE)
    }

    /// Adds `delta` (collected debt) to the reserve.
    pub fn add_reserve(&mut self, delta: U256) -> EngineResult<()> {
        let v = self.reserve().checked_add(delta).ok_or_else(overflow)?;
        self.set_word(RESERVE, v);
        Ok(())
    }

    /// Takes `delta` (withdrawn cash) out of the reserve (the caller checked it is there).
    pub fn sub_reserve(&mut self, delta: U256) -> EngineResult<()> {
        let v = self.reserve().checked_sub(delta).ok_or_else(overflow)?;
        self.set_word(RESERVE, v);
        Ok(())
    }

    /// The insurance fund's cash claim.
    pub fn fund(&self) -> U256 {
        self.word(FUND)
    }

    /// Sets the insurance fund.
    pub fn set_fund(&mut self, v: U256) {
        self.set_word(FUND, v);
    }

    /// Cumulative socialised loss.
    pub fn socialised(&self) -> U256 {
        self.word(SOCIALISED)
    }

    /// Sets the cumulative socialised loss.
    pub fn set_socialised(&mut self, v: U256) {
        self.set_word(SOCIALISED, v);
    }

    /// Σ positive-cash shares.
    pub fn shares(&self) -> U256 {
        self.word(SHARES)
    }

    /// Sets Σ positive-cash shares.
    pub fn set_shares(&mut self, v: U256) {
        self.set_word(SHARES, v);
    }

    /// Cash per share, 18 decimals.
    pub fn rate(&self) -> U256 {
        self.word(RATE)
    }

    /// Sets the positive-cash rate.
    pub fn set_rate(&mut self, v: U256) {
        self.set_word(RATE, v);
    }

    /// The cash epoch: positive shares of an earlier epoch are worth nothing.
    pub fn epoch(&self) -> u16 {
        store::field(self.0, slot(EPOCH), 30, 2) as u16 // a 2-byte field
    }

    /// A loss that takes (all but dust of) every positive cash: a new epoch at rate 1e18 with no
    /// shares (ArithmeticOverflow past 65,535 epochs).
    pub fn wipe(&mut self) -> EngineResult<()> {
        let next = self.epoch().checked_add(1).ok_or_else(overflow)?;
        store::set_field(self.0, slot(EPOCH), 30, 2, u128::from(next));
        self.set_rate(E18);
        self.set_shares(U256::ZERO);
        Ok(())
    }

    /// `floor(shares * rate / 1e18)`.
    pub fn cash_of_shares(&self, shares: U256) -> EngineResult<U256> {
        mul_div(shares, self.rate(), E18)
    }

    /// `floor(cash * 1e18 / rate)`.
    pub fn shares_of_cash(&self, cash: U256) -> EngineResult<U256> {
        mul_div(cash, E18, self.rate())
    }
}
