//! The collateral vault: listed ERC-20 assets with governed weights and keeper-signed prices,
//! per-account balances, the weighted collateral value, and the token transfers themselves
//! (tokens that return no boolean are accepted; `false` or a revert is TokenTransferFailed).

use alloc::vec::Vec;

use margin_types::abi::IMarginEngineErrors as E;
use stylus_sdk::alloy_primitives::aliases::{U16, U48, U8};
use stylus_sdk::alloy_primitives::{Address, U256};
use stylus_sdk::call::call;
use stylus_sdk::prelude::*;
use stylus_sdk::storage::{
    StorageAddress, StorageBool, StorageMap, StorageU128, StorageU16, StorageU256, StorageU8,
    StorageUint, StorageVec,
};

use crate::abi::CollateralInfo;
use crate::errors::{overflow, EngineResult};
use crate::math::{mul_div, pow10, BPS};

/// Most collateral assets the engine lists.
pub const MAX_COLLATERAL_ASSETS: usize = 16;

/// One listed asset, in one slot.
#[storage]
pub struct AssetSlot {
    listed: StorageBool,
    decimals: StorageU8,
    weight_bps: StorageU16,
    price: StorageU128,
    price_block: StorageUint<48, 1>,
}

/// Listed assets and balances.
#[storage]
pub struct CollateralVault {
    assets: StorageVec<StorageAddress>,
    info: StorageMap<Address, AssetSlot>,
    balances: StorageMap<Address, StorageMap<Address, StorageU256>>,
}

/// An account's weighted collateral value and the first held asset without a fresh price.
pub struct Valuation {
    /// Σ floor(floor(balance * price / 10**decimals) * weightBps / 10_000).
    pub weighted: U256,
    /// The first held asset (listing order) whose price is older than maxPriceAgeBlocks.
    pub stale: Option<(Address, U48)>,
}

impl CollateralVault {
    /// Listed assets in listing order.
    pub fn assets(&self) -> Vec<Address> {
        (0..self.assets.len()).filter_map(|i| self.assets.get(i)).collect()
    }

    /// Listing, weight and last price of `asset`.
    pub fn info(&self, asset: Address) -> CollateralInfo {
        let slot = self.info.getter(asset);
        CollateralInfo {
            listed: slot.listed.get(),
            decimals: slot.decimals.get().to(),
            weightBps: slot.weight_bps.get().to(),
            price: slot.price.get().to(),
            priceBlock: slot.price_block.get(),
        }
    }

    /// AssetNotListed unless `asset` is listed.
    pub fn only_listed(&self, asset: Address) -> EngineResult<()> {
        if !self.info.getter(asset).listed.get() {
            return Err(E::AssetNotListed { asset }.into());
        }
        Ok(())
    }

    /// Rules of listing `asset`: AssetAlreadyListed, TooManyCollateralAssets.
    pub fn check_list(&self, asset: Address) -> EngineResult<()> {
        if self.info.getter(asset).listed.get() {
            return Err(E::AssetAlreadyListed { asset }.into());
        }
        if self.assets.len() >= MAX_COLLATERAL_ASSETS {
            return Err(
                E::TooManyCollateralAssets { max: U256::from(MAX_COLLATERAL_ASSETS) }.into()
            );
        }
        Ok(())
    }

    /// Lists `asset` with `decimals` and `weight_bps` (rules checked by the caller).
    pub fn list(&mut self, asset: Address, decimals: u8, weight_bps: u16) {
        self.assets.push(asset);
        let mut slot = self.info.setter(asset);
        slot.listed.set(true);
        slot.decimals.set(U8::from(decimals));
        slot.weight_bps.set(U16::from(weight_bps));
    }

    /// Sets the weight of a listed asset.
    pub fn set_weight(&mut self, asset: Address, weight_bps: u16) {
        self.info.setter(asset).weight_bps.set(U16::from(weight_bps));
    }

    /// Stores a price observed at `block`.
    pub fn set_price(&mut self, asset: Address, price: u128, block: U48) {
        let mut slot = self.info.setter(asset);
        slot.price.set(alloy_primitives::aliases::U128::from(price));
        slot.price_block.set(block);
    }

    /// `account`'s balance of `asset`.
    pub fn balance(&self, account: Address, asset: Address) -> U256 {
        self.balances.getter(account).get(asset)
    }

    /// Credits `amount` (ArithmeticOverflow past 2^256).
    pub fn credit(&mut self, account: Address, asset: Address, amount: U256) -> EngineResult<()> {
        let balance = self.balance(account, asset).checked_add(amount).ok_or_else(overflow)?;
        self.balances.setter(account).insert(asset, balance);
        Ok(())
    }

    /// Sets a balance (the caller checked it covers a debit).
    pub fn set_balance(&mut self, account: Address, asset: Address, balance: U256) {
        self.balances.setter(account).insert(asset, balance);
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
        let mut stale = None;
        let holdings = self.balances.getter(account);
        for i in 0..self.assets.len() {
            let asset = self.assets.get(i).unwrap_or_default();
            let balance = match override_balance {
                Some((a, b)) if a == asset => b,
                _ => holdings.get(asset),
            };
            if balance.is_zero() {
                continue;
            }
            let slot = self.info.getter(asset);
            let price_block = slot.price_block.get();
            let pb = price_block.to::<u64>();
            if stale.is_none() && (pb == 0 || pb > block || block - pb > u64::from(max_price_age)) {
                stale = Some((asset, price_block));
            }
            let price = U256::from(slot.price.get());
            let value = mul_div(balance, price, pow10(slot.decimals.get().to()))?;
            let weight = U256::from(slot.weight_bps.get());
            weighted = weighted.checked_add(mul_div(value, weight, BPS)?).ok_or_else(overflow)?;
        }
        Ok(Valuation { weighted, stale })
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
