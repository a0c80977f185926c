//! Collateral in and out, and venue trades.

use margin_types::abi::{IMarginEngineErrors as E, IMarginEngineEvents as Ev};
use stylus_sdk::alloy_primitives::{Address, I256, U256};
use stylus_sdk::prelude::*;

use crate::abi::TradeLeg;
use crate::errors::EngineResult;
use crate::math::{add, wide};
use crate::vault::{call_token, transfer_calldata, transfer_from_calldata};
use crate::MarginEngine;

/// Whether moving a position from `before` to `after` adds risk: its sign flips or its
/// absolute size grows.
pub(crate) fn adds_risk(before: I256, after: I256) -> bool {
    let flips = (before.is_negative() && after.is_positive())
        || (before.is_positive() && after.is_negative());
    flips || after.unsigned_abs() > before.unsigned_abs()
}

impl MarginEngine {
    pub(crate) fn _deposit(&mut self, asset: Address, amount: U256) -> EngineResult<()> {
        if amount.is_zero() {
            return Err(E::ZeroAmount {}.into());
        }
        self.vault().only_listed(asset)?;
        if self.vault().winding_down(asset) {
            return Err(E::AssetDelisted { asset }.into());
        }
        let account = self.vm().msg_sender();
        self.vault().credit(account, asset, amount)?;
        let this = self.vm().contract_address();
        let vm = self.vm().clone();
        call_token(
            &vm,
            Call::new_mutating(self),
            asset,
            &transfer_from_calldata(account, this, amount),
        )?;
        crate::words::emit(self.vm(), Ev::CollateralDeposited { account, asset, amount });
        Ok(())
    }

    pub(crate) fn _withdraw(&mut self, asset: Address, amount: U256) -> EngineResult<()> {
        self.governance().when_not_paused()?;
        if amount.is_zero() {
            return Err(E::ZeroAmount {}.into());
        }
        self.vault().only_listed(asset)?;
        let account = self.vm().msg_sender();
        let balance = self.vault().balance(account, asset);
        if amount > balance {
            return Err(E::InsufficientCollateral { account, asset, balance, amount }.into());
        }
        let after = balance - amount; // amount <= balance: no underflow
        if !self.ledger().nonce(account).is_zero() {
            self._require_initial(account, Some((asset, after)), I256::ZERO)?;
        }
        self.vault().set_balance(account, asset, after);
        let vm = self.vm().clone();
        call_token(&vm, Call::new_mutating(self), asset, &transfer_calldata(account, amount))?;
        crate::words::emit(self.vm(), Ev::CollateralWithdrawn { account, asset, amount });
        Ok(())
    }

    pub(crate) fn _settle_trade(&mut self, legs: &[TradeLeg]) -> EngineResult<()> {
        let venue = self.vm().msg_sender();
        self.ledger().only_venue(venue)?;
        self.governance().when_not_paused()?;
        if legs.is_empty() {
            return Err(E::EmptyTrade {}.into());
        }
        // Sorting, listing and conservation, leg by leg.
        let mut group_size = I256::ZERO;
        let mut cash = I256::ZERO;
        for (i, leg) in legs.iter().enumerate() {
            if i > 0 {
                let prev = &legs[i - 1];
                if (leg.instrumentId, leg.account) <= (prev.instrumentId, prev.account) {
                    return Err(E::LegsNotSorted { index: U256::from(i) }.into());
                }
            }
            if !self.ledger().is_listed(leg.instrumentId) {
                return Err(E::InstrumentNotListed { instrumentId: leg.instrumentId }.into());
            }
            group_size = add(group_size, wide(leg.sizeDelta))?;
            cash = add(cash, wide(leg.cashDelta))?;
            let group_ends =
                legs.get(i + 1).is_none_or(|next| next.instrumentId != leg.instrumentId);
            if group_ends {
                if !group_size.is_zero() {
                    return Err(E::SizeNotConserved {
                        instrumentId: leg.instrumentId,
                        imbalance: group_size,
                    }
                    .into());
                }
                group_size = I256::ZERO;
            }
        }
        if !cash.is_zero() {
            return Err(E::CashNotConserved { imbalance: cash }.into());
        }
        // Pre-trade, in leg order: a risk-adding leg needs a fresh report and equity >= initial
        // margin; a reducing leg of a liquidatable account is refused (a dust trade would bump
        // its nonce and void pending steps); a cash-only leg always applies.
        for leg in legs {
            let before = self.ledger().position(leg.account, leg.instrumentId);
            let after = add(before, wide(leg.sizeDelta))?;
            if adds_risk(before, after) {
                self._require_initial(leg.account, None, I256::ZERO)?;
            } else if leg.sizeDelta != 0 && self._liquidatable(leg.account)? {
                return Err(E::AccountLiquidatable { account: leg.account }.into());
            }
        }
        // Apply, in leg order.
        for leg in legs {
            let size_delta = wide(leg.sizeDelta);
            let cash_delta = wide(leg.cashDelta);
            let (new_size, positions_nonce) =
                self.ledger().apply(leg.account, leg.instrumentId, size_delta)?;
            self._add_cash(leg.account, cash_delta)?;
            crate::words::emit(
                self.vm(),
                Ev::PositionChanged {
                    account: leg.account,
                    instrumentId: leg.instrumentId,
                    sizeDelta: size_delta,
                    cashDelta: cash_delta,
                    newSize: new_size,
                    positionsNonce: positions_nonce,
                },
            );
        }
        crate::words::emit(self.vm(), Ev::TradeSettled { venue, legs: U256::from(legs.len()) });
        Ok(())
    }
}
