//! Margin views: equity, margin ratio, freshness, and the margin checks that gate withdrawals,
//! risk-adding trades and liquidations.

use margin_types::abi::IMarginEngineErrors as E;
use stylus_sdk::alloy_primitives::{Address, I256, U256};

use crate::abi::{AccountHealth, StoredMarginReport};
use crate::errors::EngineResult;
use crate::math::{add, mul, mul_div, signed, sub, wide, BPS};
use crate::reports::is_fresh;
use crate::MarginEngine;

/// An account's equity on a fresh report and fresh prices.
pub(crate) struct FreshEquity {
    pub equity: I256,
    pub report: StoredMarginReport,
}

impl MarginEngine {
    /// Whether `account`'s stored report is fresh now.
    fn _report_fresh(&self, account: Address, report: &StoredMarginReport) -> bool {
        is_fresh(
            report,
            self.ledger().nonce(account),
            self.governance().risk_epoch(),
            self._clock(),
            self.governance().params().maxReportAgeBlocks,
        )
    }

    /// NoFreshReport, StalePrice; then the equity (with `asset`'s balance replaced by the given
    /// one if any: a withdrawal's after-state).
    pub(crate) fn _fresh_equity(
        &self,
        account: Address,
        override_balance: Option<(Address, U256)>,
    ) -> EngineResult<FreshEquity> {
        let report = self.reports().report(account);
        if !self._report_fresh(account, &report) {
            return Err(E::NoFreshReport { account }.into());
        }
        let valuation = self.vault().valuation(
            account,
            override_balance,
            self._clock(),
            self.governance().params().maxPriceAgeBlocks,
        )?;
        if let Some((asset, price_block)) = valuation.stale {
            return Err(E::StalePrice { asset, priceBlock: price_block }.into());
        }
        let cash = self._cash(account)?;
        let equity = add(add(signed(valuation.weighted)?, cash)?, wide(report.portfolioValue))?;
        Ok(FreshEquity { equity, report })
    }

    /// The equity liquidation sees: every asset with a stale or missing price at zero (an
    /// unpriced asset cannot block a liquidation).
    fn _liquidation_equity(
        &self,
        account: Address,
        report: &StoredMarginReport,
    ) -> EngineResult<I256> {
        let valuation = self.vault().valuation(
            account,
            None,
            self._clock(),
            self.governance().params().maxPriceAgeBlocks,
        )?;
        let cash = self._cash(account)?;
        add(add(signed(valuation.weighted_fresh)?, cash)?, wide(report.portfolioValue))
    }

    /// NoFreshReport, NotLiquidatable (liquidation equity, stale prices at zero); returns the
    /// liquidation equity and the report.
    pub(crate) fn _require_liquidatable(&self, account: Address) -> EngineResult<FreshEquity> {
        let report = self.reports().report(account);
        if !self._report_fresh(account, &report) {
            return Err(E::NoFreshReport { account }.into());
        }
        let equity = self._liquidation_equity(account, &report)?;
        if !self._below_threshold(equity, report.maintenanceMargin)? {
            let threshold = U256::from(self.governance().params().liquidationThresholdBps);
            let requirement = mul_div(U256::from(report.maintenanceMargin), threshold, BPS)?;
            return Err(E::NotLiquidatable {
                account,
                equity,
                maintenanceRequirement: requirement,
            }
            .into());
        }
        Ok(FreshEquity { equity, report })
    }

    /// Whether `account`'s report is fresh and shows it liquidatable (stale prices at zero).
    pub(crate) fn _liquidatable(&self, account: Address) -> EngineResult<bool> {
        let report = self.reports().report(account);
        Ok(self._report_fresh(account, &report)
            && self._below_threshold(
                self._liquidation_equity(account, &report)?,
                report.maintenanceMargin,
            )?)
    }

    /// NoFreshReport, StalePrice, BelowInitialMargin (equity less `debit`, a cash withdrawal's
    /// after-state); returns the equity (before the debit) and the report.
    pub(crate) fn _require_initial(
        &self,
        account: Address,
        override_balance: Option<(Address, U256)>,
        debit: I256,
    ) -> EngineResult<FreshEquity> {
        let fresh = self._fresh_equity(account, override_balance)?;
        let initial = U256::from(fresh.report.initialMargin);
        let equity = sub(fresh.equity, debit)?;
        if equity < signed(initial)? {
            return Err(E::BelowInitialMargin { account, equity, initialMargin: initial }.into());
        }
        Ok(fresh)
    }

    /// `equity * 10_000 < maintenanceMargin * liquidationThresholdBps`.
    pub(crate) fn _below_threshold(&self, equity: I256, maintenance: u128) -> EngineResult<bool> {
        let threshold = U256::from(self.governance().params().liquidationThresholdBps);
        let requirement = signed(
            U256::from(maintenance).checked_mul(threshold).ok_or_else(crate::errors::overflow)?,
        )?;
        Ok(mul(equity, signed(BPS)?)? < requirement)
    }

    /// `account`'s health now; never reverts for staleness (only on arithmetic overflow).
    pub(crate) fn _account_health(&self, account: Address) -> EngineResult<AccountHealth> {
        let report = self.reports().report(account);
        let report_fresh = self._report_fresh(account, &report);
        let valuation = self.vault().valuation(
            account,
            None,
            self._clock(),
            self.governance().params().maxPriceAgeBlocks,
        )?;
        let cash = self._cash(account)?;
        let portfolio = wide(report.portfolioValue);
        let equity = add(add(signed(valuation.weighted)?, cash)?, portfolio)?;
        let maintenance = U256::from(report.maintenanceMargin);
        let ratio = if !equity.is_positive() {
            U256::ZERO
        } else if maintenance.is_zero() {
            U256::MAX
        } else {
            mul_div(equity.unsigned_abs(), BPS, maintenance)?
        };
        let prices_fresh = valuation.stale.is_none();
        let liquidation_equity = add(add(signed(valuation.weighted_fresh)?, cash)?, portfolio)?;
        let liquidatable =
            report_fresh && self._below_threshold(liquidation_equity, report.maintenanceMargin)?;
        Ok(AccountHealth {
            weightedCollateralValue: valuation.weighted,
            cash,
            portfolioValue: portfolio,
            equity,
            initialMargin: U256::from(report.initialMargin),
            maintenanceMargin: maintenance,
            marginRatioBps: ratio,
            reportFresh: report_fresh,
            pricesFresh: prices_fresh,
            liquidatable,
        })
    }
}
