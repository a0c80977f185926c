//! Settlement: positive cash withdrawn in the settlement asset S (margin-gated, paid from the
//! cash reserve above the insurance fund), debt repaid from the account's own S, collateral
//! seized in the planner's order to collect a liquidatable account's debt, and bad debt written
//! off against the insurance fund, then socialised over positive cash (docs/SETTLEMENT.md).

use margin_types::abi::{IMarginEngineErrors as E, IMarginEngineEvents as Ev};
use stylus_sdk::alloy_primitives::{Address, I256, U256};
use stylus_sdk::prelude::*;

use crate::errors::{overflow, EngineResult};
use crate::governance::kind;
use crate::math::{add, mul_div, pow10, signed, sub, BPS, E18};
use crate::settlement::MIN_RATE;
use crate::vault::{call_token, transfer_calldata, transfer_from_calldata, CollateralVault};
use crate::MarginEngine;

impl MarginEngine {
    /// `amount` token units of S in cash units (`amount * scale`).
    fn _cash_amount(&self, amount: U256) -> EngineResult<U256> {
        amount.checked_mul(self.settlement().scale()).ok_or_else(overflow)
    }

    /// RepayExceedsDebt unless `cash_amount` is within `account`'s debt `debt`.
    fn _within_debt(account: Address, debt: U256, cash_amount: U256) -> EngineResult<()> {
        if cash_amount > debt {
            return Err(E::RepayExceedsDebt { account, debt, amount: cash_amount }.into());
        }
        Ok(())
    }

    /// NoDebt unless `account`'s cash is negative; returns the cash.
    fn _debt_of(&self, account: Address) -> EngineResult<I256> {
        let cash = self._cash(account)?;
        if !cash.is_negative() {
            return Err(E::NoDebt { account }.into());
        }
        Ok(cash)
    }

    pub(crate) fn _withdraw_cash(&mut self, amount: U256) -> EngineResult<()> {
        self.governance().when_not_paused()?;
        if amount.is_zero() {
            return Err(E::ZeroAmount {}.into());
        }
        let account = self.vm().msg_sender();
        let cash_amount = self._cash_amount(amount)?;
        let cash = self._cash(account)?;
        let debit = signed(cash_amount)?;
        if cash < debit {
            return Err(E::InsufficientCash { account, cash, amount: cash_amount }.into());
        }
        // The fund's claim stays backed: payouts come from the reserve above it.
        let available = self.settlement().reserve().saturating_sub(self.settlement().fund());
        if cash_amount > available {
            return Err(E::InsufficientCashReserve { available, amount: cash_amount }.into());
        }
        if !self.ledger().nonce(account).is_zero() {
            self._require_initial(account, None, debit)?;
        }
        self._set_cash(account, sub(cash, debit)?)?;
        self.settlement().sub_reserve(cash_amount)?;
        let asset = self.settlement().asset();
        let vm = self.vm().clone();
        call_token(&vm, Call::new_mutating(self), asset, &transfer_calldata(account, amount))?;
        crate::words::emit(
            self.vm(),
            Ev::CashWithdrawn { account, cashAmount: cash_amount, tokenAmount: amount },
        );
        Ok(())
    }

    pub(crate) fn _repay_debt(&mut self, amount: U256) -> EngineResult<()> {
        if amount.is_zero() {
            return Err(E::ZeroAmount {}.into());
        }
        let account = self.vm().msg_sender();
        let cash = self._debt_of(account)?;
        let asset = self.settlement().asset();
        let balance = self.vault().balance(account, asset);
        if amount > balance {
            return Err(E::InsufficientCollateral { account, asset, balance, amount }.into());
        }
        let cash_amount = self._cash_amount(amount)?;
        Self::_within_debt(account, cash.unsigned_abs(), cash_amount)?;
        self.vault().set_balance(account, asset, balance - amount); // amount <= balance
        self._set_cash(account, add(cash, signed(cash_amount)?)?)?;
        self.settlement().add_reserve(cash_amount)?;
        crate::words::emit(self.vm(), Ev::DebtRepaid { account, cashAmount: cash_amount });
        Ok(())
    }

    /// The asset the planner seizes next from `account`: its own S, else the held asset with a
    /// fresh price and the highest weight (earliest listed on a tie); zero if none.
    fn _next_seizure(&self, account: Address, settlement: Address) -> Address {
        if !self.vault().balance(account, settlement).is_zero() {
            return settlement;
        }
        let block = self._clock();
        let max_age = self.governance().params().maxPriceAgeBlocks;
        let (mut best, mut best_weight) = (Address::ZERO, None);
        for i in 0..self.vault().len() {
            let asset = self.vault().at(i);
            if asset == settlement || self.vault().balance(account, asset).is_zero() {
                continue;
            }
            let info = self.vault().info(asset);
            if CollateralVault::fresh(&info, block, max_age)
                && best_weight.is_none_or(|w| info.weightBps > w)
            {
                (best, best_weight) = (asset, Some(info.weightBps));
            }
        }
        best
    }

    pub(crate) fn _seize_collateral(
        &mut self,
        account: Address,
        asset: Address,
        amount: U256,
    ) -> EngineResult<()> {
        self.governance().when_not_paused()?;
        let liquidator = self.vm().msg_sender();
        if liquidator == account {
            return Err(E::SelfLiquidation { account }.into());
        }
        if amount.is_zero() {
            return Err(E::ZeroAmount {}.into());
        }
        self.vault().only_listed(asset)?;
        self._require_liquidatable(account)?;
        let cash = self._debt_of(account)?;
        let settlement = self.settlement().asset();
        let expected = self._next_seizure(account, settlement);
        if asset != expected {
            return Err(E::SeizureOutOfOrder { asset, expected }.into());
        }
        let cash_amount = self._cash_amount(amount)?;
        let debt = cash.unsigned_abs();
        let balance = self.vault().balance(account, asset);
        let seized = if asset == settlement {
            // The account's own S repays its debt at par: no gate, nothing paid.
            if amount > balance {
                return Err(E::InsufficientCollateral { account, asset, balance, amount }.into());
            }
            Self::_within_debt(account, debt, cash_amount)?;
            amount
        } else {
            let (_, last_block) = self.ledger().account(account);
            let block = self._block48();
            if last_block == block {
                return Err(E::LiquidationAlreadyThisBlock { account }.into());
            }
            Self::_within_debt(account, debt, cash_amount)?;
            let cap = U256::from(self.governance().params().liquidationNotionalCapPerBlock);
            let total = self.liquidations().check(block, cash_amount, cap)?;
            // The discount never exceeds the asset's haircut: the account's equity never falls.
            let info = self.vault().info(asset);
            let haircut = BPS - U256::from(info.weightBps); // weightBps <= 10_000
            let discount = self.settlement().param(kind::SEIZURE_DISCOUNT).min(haircut);
            let units = pow10(info.decimals).checked_mul(BPS).ok_or_else(overflow)?;
            let per_unit =
                U256::from(info.price).checked_mul(BPS - discount).ok_or_else(overflow)?;
            // At most the whole balance (a little more for it leaves no dust behind).
            let seized = mul_div(cash_amount, units, per_unit)?.min(balance);
            self.liquidations().record(block, total);
            self.ledger().set_last_liquidation(account, block);
            seized
        };
        self.vault().set_balance(account, asset, balance - seized); // seized <= balance
        self._set_cash(account, add(cash, signed(cash_amount)?)?)?;
        self.settlement().add_reserve(cash_amount)?;
        if asset != settlement {
            // The liquidator pays S into the reserve and receives the seized collateral.
            let this = self.vm().contract_address();
            let vm = self.vm().clone();
            call_token(
                &vm,
                Call::new_mutating(self),
                settlement,
                &transfer_from_calldata(liquidator, this, amount),
            )?;
            call_token(
                &vm,
                Call::new_mutating(self),
                asset,
                &transfer_calldata(liquidator, seized),
            )?;
        }
        crate::words::emit(
            self.vm(),
            Ev::CollateralSeized { account, liquidator, asset, seized, debtRepaid: cash_amount },
        );
        Ok(())
    }

    pub(crate) fn _resolve_bad_debt(&mut self, account: Address) -> EngineResult<()> {
        self.governance().when_not_paused()?;
        let cash = self._debt_of(account)?;
        // Bad debt only once nothing of value is left: no position, no weighted collateral.
        let mut holds_value = self.ledger().open_positions(account) > 0;
        for i in 0..self.vault().len() {
            let asset = self.vault().at(i);
            holds_value |= self.vault().info(asset).weightBps > 0
                && !self.vault().balance(account, asset).is_zero();
        }
        if holds_value {
            return Err(E::NotBadDebt { account }.into());
        }
        let debt = cash.unsigned_abs();
        let fund = self.settlement().fund();
        let covered = debt.min(fund);
        let socialised = debt - covered; // covered <= debt
        self.settlement().set_fund(fund - covered); // covered <= fund
        self._set_cash(account, I256::ZERO)?;
        let shares = self.settlement().shares();
        let mut rate = self.settlement().rate();
        if !socialised.is_zero() && !shares.is_zero() {
            // ceil(socialised * 1e18 / shares): the loss is never under-spread.
            let exact = socialised.checked_mul(E18).ok_or_else(overflow)?;
            let mut cut = mul_div(socialised, E18, shares)?;
            if cut.checked_mul(shares).ok_or_else(overflow)? < exact {
                cut += U256::from(1); // cut <= exact / shares < 2^256
            }
            if cut.checked_add(MIN_RATE).is_some_and(|floor| rate >= floor) {
                rate -= cut; // rate >= cut + MIN_RATE
                self.settlement().set_rate(rate);
            } else {
                // The loss takes (all but dust of) every positive cash: a new epoch wipes them.
                self.settlement().wipe()?;
                rate = E18;
            }
        }
        let total = self.settlement().socialised().checked_add(socialised).ok_or_else(overflow)?;
        self.settlement().set_socialised(total);
        crate::words::emit(
            self.vm(),
            Ev::BadDebtResolved {
                account,
                debt,
                coveredByFund: covered,
                socialised,
                positiveCashRate: rate,
            },
        );
        Ok(())
    }
}
