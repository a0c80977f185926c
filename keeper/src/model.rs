//! What the keeper asks of the risk engine, behind a trait so the daemon's plumbing does not
//! depend on a particular model. Implementations must be deterministic: the same book and the
//! same block give bit-identical numbers on every keeper, or cosigners will refuse.

use alloy_primitives::{Address, B256};

use crate::{
    batch::{LiquidationStepJson, PriceReportJson},
    error::Result,
    index::{AccountView, EngineBook},
};

/// Margin numbers for one account, in the engine's fixed point (USD, 18 decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarginNumbers {
    /// Mark-to-market of the positions (rounded toward negative infinity).
    pub portfolio_value: i128,
    /// Initial margin (rounded up).
    pub initial_margin: u128,
    /// Maintenance margin (rounded up).
    pub maintenance_margin: u128,
}

/// On-chain facts the liquidation planner needs about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnchainHealth {
    /// Weighted collateral value plus cash, USD 18 decimals (what equity is besides positions).
    pub collateral_and_cash: i128,
}

/// The risk engine as the keeper sees it.
pub trait RiskModel: Send + Sync {
    /// Collateral prices at `block`.
    fn collateral_prices(&self, block: u64) -> Result<Vec<PriceReportJson>>;

    /// Margin of `account`'s positions at `block`.
    fn margin(&self, account: &AccountView, book: &EngineBook, block: u64)
        -> Result<MarginNumbers>;

    /// Liquidation legs for an account below maintenance, sized for one step per block.
    fn plan_liquidation(
        &self,
        account: Address,
        view: &AccountView,
        book: &EngineBook,
        health: OnchainHealth,
        block: u64,
    ) -> Result<Vec<LiquidationStepJson>>;

    /// The instrument ids the model can price (others make an account unpriceable).
    fn priced_instruments(&self, book: &EngineBook) -> Vec<B256>;
}
