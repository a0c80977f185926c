//! Margin views: equity, margin ratio, freshness, and the margin checks that gate withdrawals,
//! risk-adding trades and liquidations.

use margin_types::abi::IMarginEngineErrors as E;
use stylus_sdk::alloy_primitives::{Address, I256, U256};

use crate::abi::{AccountHealth, StoredMarginReport};
use crate::errors::EngineResult;
use crate::math::{add, mul, mul_div, signed, wide, BPS};
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
        let (_, cash, _) = self.ledger().account(account);
        let equity = add(add(signed(valuation.weighted)?, cash)?, wide(report.portfolioValue))?;
        Ok(FreshEquity { equity, report })
    }

    /// NoFreshReport, StalePrice, BelowInitialMargin.
    pub(crate) fn _require_initial(
        &self,
        account: Address,
        override_balance: Option<(Address, U256)>,
    ) -> EngineResult<()> {
        let fresh = self._fresh_equity(account, override_balance)?;
        let initial = U256::from(fresh.report.initialMargin);
        if fresh.equity < signed(initial)? {
            return Err(E::BelowInitialMargin {
                account,
                equity: fresh.equity,
                initialMargin: initial,
            }
            .into());
        }
        Ok(())
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
        let (_, cash, _) = self.ledger().account(account);
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
        let liquidatable = report_fresh
            && prices_fresh
            && self._below_threshold(equity, report.maintenanceMargin)?;
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
