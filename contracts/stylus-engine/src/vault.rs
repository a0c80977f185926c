//! The collateral vault: listed ERC-20 assets with governed weights and keeper-signed prices,
//! per-account balances, the weighted collateral value, and the token transfers themselves
//! (tokens that return no boolean are accepted; `false` or a revert is TokenTransferFailed).

use alloc::vec::Vec;

use margin_types::abi::IMarginEngineErrors as E;
use stylus_sdk::alloy_primitives::aliases::U48;
use stylus_sdk::alloy_primitives::{Address, U256};
use stylus_sdk::call::call;
use stylus_sdk::host::VM;
use stylus_sdk::prelude::*;

use crate::abi::CollateralInfo;
use crate::errors::{overflow, EngineResult};
use crate::math::{mul_div, pow10, BPS};
use crate::reports::{u48, u48_value};
use crate::store::{self, slot, tag};

/// Most collateral assets the engine lists.
pub const MAX_COLLATERAL_ASSETS: usize = 16;

/// Listed assets (slots `0x2000 + i`, count in slot 7 `[31]`), each asset's listing (map
/// [`tag::ASSET`]: windingDown `[5]`, priceBlock `[6..12]`, price `[12..28]`, weightBps
/// `[28..30]`, decimals `[30]`, listed `[31]`), balances (map [`tag::BALANCE`] by account and
/// asset) and each asset's Σ balances (map [`tag::ASSET_TOTAL`]).
pub struct CollateralVault<'a>(pub &'a VM);

const COUNT: u64 = 7;
const LIST: u64 = 0x2000;

fn info_slot(asset: Address) -> U256 {
    store::map_slot(tag::ASSET, &store::address_word(asset), &[0; 32])
}

fn balance_slot(account: Address, asset: Address) -> U256 {
    store::map_slot(tag::BALANCE, &store::address_word(account), &store::address_word(asset))
}

fn total_slot(asset: Address) -> U256 {
    store::map_slot(tag::ASSET_TOTAL, &store::address_word(asset), &[0; 32])
}

/// An account's weighted collateral value and the first held asset without a fresh price.
pub struct Valuation {
    /// Σ floor(floor(balance * price / 10**decimals) * weightBps / 10_000).
    pub weighted: U256,
    /// The same sum over the assets with a fresh price only (stale ones at zero): what
    /// liquidation sees.
    pub weighted_fresh: U256,
    /// The first held asset (listing order) whose price is older than maxPriceAgeBlocks.
    pub stale: Option<(Address, U48)>,
}

impl CollateralVault<'_> {
    pub(crate) fn len(&self) -> usize {
        store::field(self.0, slot(COUNT), 31, 1) as usize // a 1-byte field
    }

    pub(crate) fn at(&self, i: usize) -> Address {
        store::address(&store::load(self.0, slot(LIST + i as u64)))
    }

    /// Listed assets in listing order.
    pub fn assets(&self) -> Vec<Address> {
        (0..self.len()).map(|i| self.at(i)).collect()
    }

    /// Listing, weight and last price of `asset`.
    pub fn info(&self, asset: Address) -> CollateralInfo {
        let w = store::load(self.0, info_slot(asset));
        // Each field is read with its own width: the casts are exact.
        CollateralInfo {
            listed: store::get(&w, 31, 1) != 0,
            decimals: store::get(&w, 30, 1) as u8,
            weightBps: store::get(&w, 28, 2) as u16,
            price: store::get(&w, 12, 16),
            priceBlock: u48(store::get(&w, 6, 6)),
        }
    }

    fn listed(&self, asset: Address) -> bool {
        store::field(self.0, info_slot(asset), 31, 1) != 0
    }

    /// AssetNotListed unless `asset` is listed.
    pub fn only_listed(&self, asset: Address) -> EngineResult<()> {
        if !self.listed(asset) {
            return Err(E::AssetNotListed { asset }.into());
        }
        Ok(())
    }

    /// Rules of listing `asset`: AssetAlreadyListed, TooManyCollateralAssets.
    pub fn check_list(&self, asset: Address) -> EngineResult<()> {
        if self.listed(asset) {
            return Err(E::AssetAlreadyListed { asset }.into());
        }
        if self.len() >= MAX_COLLATERAL_ASSETS {
            return Err(
                E::TooManyCollateralAssets { max: U256::from(MAX_COLLATERAL_ASSETS) }.into()
            );
        }
        Ok(())
    }

    /// Lists `asset` with `decimals` and `weight_bps` (rules checked by the caller: fewer than
    /// 16 assets).
    pub fn list(&mut self, asset: Address, decimals: u8, weight_bps: u16) {
        let len = self.len();
        store::save(self.0, slot(LIST + len as u64), store::address_word(asset));
        store::set_field(self.0, slot(COUNT), 31, 1, len as u128 + 1);
        let s = info_slot(asset);
        let mut w = store::load(self.0, s);
        store::put(&mut w, 31, 1, 1);
        store::put(&mut w, 30, 1, u128::from(decimals));
        store::put(&mut w, 28, 2, u128::from(weight_bps));
        store::save(self.0, s, w);
    }

    /// Sets the weight of a listed asset.
    pub fn set_weight(&mut self, asset: Address, weight_bps: u16) {
        store::set_field(self.0, info_slot(asset), 28, 2, u128::from(weight_bps));
    }

    /// Stores a price observed at `block`.
    pub fn set_price(&mut self, asset: Address, price: u128, block: U48) {
        let s = info_slot(asset);
        let mut w = store::load(self.0, s);
        store::put(&mut w, 12, 16, price);
        store::put(&mut w, 6, 6, u128::from(u48_value(block)));
        store::save(self.0, s, w);
    }

    /// `account`'s balance of `asset`.
    pub fn balance(&self, account: Address, asset: Address) -> U256 {
        U256::from_be_bytes(store::load(self.0, balance_slot(account, asset)))
    }

    /// Credits `amount` (ArithmeticOverflow past 2^256).
    pub fn credit(&mut self, account: Address, asset: Address, amount: U256) -> EngineResult<()> {
        let balance = self.balance(account, asset).checked_add(amount).ok_or_else(overflow)?;
        self.set_balance(account, asset, balance);
        Ok(())
    }

    /// Sets a balance (the caller checked it covers a debit), keeping the asset's Σ balances
    /// (bounded by the tokens the engine holds, so it cannot overflow when the balance did not).
    pub fn set_balance(&mut self, account: Address, asset: Address, balance: U256) {
        let old = self.balance(account, asset);
        let total = self.total(asset).wrapping_sub(old).wrapping_add(balance);
        store::save(self.0, total_slot(asset), total.to_be_bytes::<32>());
        store::save(self.0, balance_slot(account, asset), balance.to_be_bytes::<32>());
    }

    /// Σ balances of `asset` over every account.
    pub fn total(&self, asset: Address) -> U256 {
        U256::from_be_bytes(store::load(self.0, total_slot(asset)))
    }

    /// Whether `asset` is winding down after a delisting.
    pub fn winding_down(&self, asset: Address) -> bool {
        store::field(self.0, info_slot(asset), 5, 1) != 0
    }

    /// Delists `asset` (listed, checked by the caller): it winds down, and leaves the list at once
    /// if the engine holds none of it (the others keep their order; its listing is cleared).
    pub fn delist(&mut self, asset: Address) {
        if !self.total(asset).is_zero() {
            store::set_field(self.0, info_slot(asset), 5, 1, 1);
            return;
        }
        let len = self.len();
        let mut found = false;
        for i in 0..len {
            if found {
                let next = store::load(self.0, slot(LIST + i as u64));
                store::save(self.0, slot(LIST + i as u64 - 1), next);
            } else if self.at(i) == asset {
                found = true;
            }
        }
        store::save(self.0, slot(LIST + len as u64 - 1), [0; 32]); // listed: len >= 1
        store::set_field(self.0, slot(COUNT), 31, 1, len as u128 - 1);
        store::save(self.0, info_slot(asset), [0; 32]);
    }

    /// Whether `info`'s price is fresh at `block` (observed, not in the future, within
    /// `max_price_age` blocks).
    pub fn fresh(info: &CollateralInfo, block: u64, max_price_age: u32) -> bool {
        let pb = u48_value(info.priceBlock);
        !(pb == 0 || pb > block || block - pb > u64::from(max_price_age))
    }

    /// The weighted collateral value of `account`, with `asset`'s balance replaced by
    /// `override_balance` if given (a withdrawal's after-state). Prices count whatever their
    /// age; the first held asset with a price older than `max_price_age` blocks is reported.
    pub fn valuation(
        &self,
        account: Address,
        override_balance: Option<(Address, U256)>,
        block: u64,
        max_price_age: u32,
    ) -> EngineResult<Valuation> {
        let mut weighted = U256::ZERO;
        let mut weighted_fresh = U256::ZERO;
        let mut stale = None;
        for i in 0..self.len() {
            let asset = self.at(i);
            let balance = match override_balance {
                Some((a, b)) if a == asset => b,
                _ => self.balance(account, asset),
            };
            if balance.is_zero() {
                continue;
            }
            let info = self.info(asset);
            let fresh = Self::fresh(&info, block, max_price_age);
            if stale.is_none() && !fresh {
                stale = Some((asset, info.priceBlock));
            }
            let value = mul_div(balance, U256::from(info.price), pow10(info.decimals))?;
            let weight = U256::from(info.weightBps);
            let term = mul_div(value, weight, BPS)?;
            weighted = weighted.checked_add(term).ok_or_else(overflow)?;
            if fresh {
                weighted_fresh = weighted_fresh.checked_add(term).ok_or_else(overflow)?;
            }
        }
        Ok(Valuation { weighted, weighted_fresh, stale })
    }
}

/// ERC-20 `transferFrom(from, to, amount)` calldata.
pub fn transfer_from_calldata(from: Address, to: Address, amount: U256) -> Vec<u8> {
    let mut data = Vec::with_capacity(100);
    data.extend_from_slice(&[0x23, 0xb8, 0x72, 0xdd]);
    data.extend_from_slice(&[0u8; 12]);
    data.extend_from_slice(from.as_slice());
    data.extend_from_slice(&[0u8; 12]);
    data.extend_from_slice(to.as_slice());
    data.extend_from_slice(&amount.to_be_bytes::<32>());
    data
}

/// ERC-20 `transfer(to, amount)` calldata.
pub fn transfer_calldata(to: Address, amount: U256) -> Vec<u8> {
    let mut data = Vec::with_capacity(68);
    data.extend_from_slice(&[0xa9, 0x05, 0x9c, 0xbb]);
    data.extend_from_slice(&[0u8; 12]);
    data.extend_from_slice(to.as_slice());
    data.extend_from_slice(&amount.to_be_bytes::<32>());
    data
}

/// Whether a token call's outcome is a success: it did not revert, and returned either
/// nothing from a contract (tokens without a boolean) or a word equal to 1. A `false` word,
/// a short return, or no code at `token` is a failure (OpenZeppelin SafeERC20 semantics).
pub fn token_call_succeeded(result: Option<&[u8]>, token_has_code: bool) -> bool {
    match result {
        None => false,
        Some([]) => token_has_code,
        Some(data) => match data.get(..32) {
            Some(word) => word[..31].iter().all(|&b| b == 0) && word[31] == 1,
            None => false,
        },
    }
}

/// Calls `token` with `data` (a transfer), TokenTransferFailed unless it succeeded.
pub fn call_token<H: Host + ?Sized>(
    host: &H,
    context: Call<true, false>,
    token: Address,
    data: &[u8],
) -> EngineResult<()> {
    let result = call(host, context, token, data);
    let ok = match &result {
        Ok(returned) => token_call_succeeded(Some(returned), host.code_size(token) > 0),
        Err(_) => false,
    };
    if !ok {
        return Err(E::TokenTransferFailed { token }.into());
    }
    Ok(())
}
