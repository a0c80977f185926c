//! A change's impact, printed before anything is signed: which accounts would be below initial
//! margin, below maintenance margin or liquidatable after it, and the weighted collateral value
//! it removes.
//!
//! Accounts come from the engine's events (rebuilt with [`crate::index::EngineBook`]); every number
//! comes from the engine's views at the head: `accountHealth` (equity, initial and maintenance
//! margin of the stored report), `collateralBalance` and `collateralInfo` (price, decimals,
//! weight). A weight change recomputes each account's weighted collateral exactly as the engine
//! does (Σ floor(floor(balance × price / 10^decimals) × weight / 10,000)) with the new weight; a
//! liquidation-threshold change compares equity with maintenance × the new threshold.

use alloy_primitives::{Address, I256, U256};
use alloy_sol_types::SolEventInterface;
use margin_types::abi::{IMarginEngine, IMarginEngineEvents::IMarginEngineEventsEvents as Event};

use crate::{
    chain::Chain,
    error::Result,
    govern::change::{view, Change, EngineState, RiskParam},
    index::{active_accounts, EngineBook},
};

/// Blocks per `eth_getLogs` request.
const LOG_CHUNK: u64 = 10_000;

/// The accounts holding collateral or positions, from the engine's events in
/// `[from_block, head]`.
pub async fn accounts_from_events(chain: &Chain, from_block: u64) -> Result<Vec<Address>> {
    let head = chain.head().await?;
    let mut book = EngineBook::default();
    let mut from = from_block;
    while from <= head {
        let to = (from + LOG_CHUNK - 1).min(head);
        for log in chain.engine_logs(from, to).await? {
            if let Ok(event) = Event::decode_log(&log.inner) {
                book.apply(&event.data, log.block_number.unwrap_or_default());
            }
        }
        from = to + 1;
    }
    Ok(active_accounts(&book))
}

/// `floor(floor(balance × price / 10^decimals) × weight / 10,000)`, the engine's rounding.
pub fn weighted_value(balance: U256, price: u128, decimals: u8, weight_bps: u64) -> U256 {
    let value = balance * U256::from(price) / U256::from(10u64).pow(U256::from(decimals));
    value * U256::from(weight_bps) / U256::from(10_000u64)
}

/// One account before and after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountImpact {
    /// The account.
    pub account: Address,
    /// Equity now (weighted collateral + cash + stored portfolio value), USD 18 decimals.
    pub equity_before: I256,
    /// Equity after the change.
    pub equity_after: I256,
    /// Initial margin of the stored report.
    pub initial: U256,
    /// Maintenance margin of the stored report.
    pub maintenance: U256,
    /// Weighted collateral value the change removes (negative: adds).
    pub removed: I256,
    /// Liquidation threshold before and after, bps.
    pub threshold_bps: (u64, u64),
}

impl AccountImpact {
    fn below_initial(&self, after: bool) -> bool {
        let equity = if after { self.equity_after } else { self.equity_before };
        !self.initial.is_zero() && equity < signed(self.initial)
    }

    fn below_maintenance(&self, after: bool) -> bool {
        let equity = if after { self.equity_after } else { self.equity_before };
        !self.maintenance.is_zero() && equity < signed(self.maintenance)
    }

    fn liquidatable(&self, after: bool) -> bool {
        let (equity, threshold) = if after {
            (self.equity_after, self.threshold_bps.1)
        } else {
            (self.equity_before, self.threshold_bps.0)
        };
        !self.maintenance.is_zero()
            && equity.saturating_mul(signed(U256::from(10_000u64)))
                < signed(self.maintenance).saturating_mul(signed(U256::from(threshold)))
    }
}

/// The whole impact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Impact {
    /// Every account examined.
    pub accounts: Vec<AccountImpact>,
    /// Σ removed over the accounts, USD 18 decimals (negative: the change adds value).
    pub total_removed: I256,
    /// What the numbers cannot show (epoch bumps, missing prices).
    pub notes: Vec<String>,
}

fn signed(x: U256) -> I256 {
    I256::try_from(x).unwrap_or(I256::MAX)
}

/// USD with 2 decimals from 18-decimal fixed point.
pub fn usd(x: I256) -> String {
    let negative = x.is_negative();
    let abs = x.unsigned_abs();
    let e16 = U256::from(10u64).pow(U256::from(16u64));
    let cents = abs / e16;
    let (whole, frac) = (cents / U256::from(100u64), (cents % U256::from(100u64)).to::<u64>());
    format!("{}{whole}.{frac:02}", if negative { "-" } else { "" })
}

/// Computes the impact of `change` on `accounts`.
pub async fn impact(
    chain: &Chain,
    change: &Change,
    state: &EngineState,
    accounts: &[Address],
) -> Result<Impact> {
    let threshold = u64::from(state.params.liquidationThresholdBps);
    let new_threshold = match change {
        Change::RiskParam { param: RiskParam::LiquidationThresholdBps, value } => {
            value.saturating_to::<u64>()
        }
        _ => threshold,
    };
    let mut out = Impact::default();
    if let Change::Weight { asset, .. } = change {
        if state.asset(*asset).is_some_and(|i| i.price == 0) {
            out.notes.push(format!(
                "{asset} has no on-chain price yet: its collateral counts as 0 before and after"
            ));
        }
    }
    if change.bumps_epoch(state) {
        out.notes.push(
            "bumps the risk epoch: every stored margin report and root is void until the keepers \
             post new ones (until then accounts with positions cannot add risk or withdraw, and \
             nobody can be liquidated)"
                .into(),
        );
    }
    for account in accounts {
        let health = view(chain, IMarginEngine::accountHealthCall { account: *account }).await?;
        let removed = match change {
            Change::Weight { asset, weight_bps } => {
                let (mut before, mut after) = (U256::ZERO, U256::ZERO);
                for (a, info) in &state.assets {
                    let balance = view(
                        chain,
                        IMarginEngine::collateralBalanceCall { account: *account, asset: *a },
                    )
                    .await?;
                    let weight = u64::from(info.weightBps);
                    let new_weight = if a == asset { *weight_bps } else { weight };
                    before += weighted_value(balance, info.price, info.decimals, weight);
                    after += weighted_value(balance, info.price, info.decimals, new_weight);
                }
                signed(before) - signed(after)
            }
            _ => I256::ZERO,
        };
        out.total_removed += removed;
        out.accounts.push(AccountImpact {
            account: *account,
            equity_before: health.equity,
            equity_after: health.equity - removed,
            initial: health.initialMargin,
            maintenance: health.maintenanceMargin,
            removed,
            threshold_bps: (threshold, new_threshold),
        });
    }
    Ok(out)
}

impl Impact {
    /// Accounts below initial margin after the change.
    pub fn below_initial(&self) -> Vec<Address> {
        self.accounts.iter().filter(|a| a.below_initial(true)).map(|a| a.account).collect()
    }

    /// Accounts below maintenance margin after the change.
    pub fn below_maintenance(&self) -> Vec<Address> {
        self.accounts.iter().filter(|a| a.below_maintenance(true)).map(|a| a.account).collect()
    }

    /// Accounts liquidatable after the change (equity below maintenance × threshold).
    pub fn liquidatable(&self) -> Vec<Address> {
        self.accounts.iter().filter(|a| a.liquidatable(true)).map(|a| a.account).collect()
    }

    /// The printed report, one line per item.
    pub fn render(&self) -> Vec<String> {
        let mut lines = Vec::new();
        lines.push(format!(
            "impact over {} accounts (engine views at the head):",
            self.accounts.len()
        ));
        if self.total_removed.is_negative() {
            lines.push(format!("  collateral value added: {} USD", usd(-self.total_removed)));
        } else {
            lines.push(format!("  collateral value removed: {} USD", usd(self.total_removed)));
        }
        type Test = fn(&AccountImpact, bool) -> bool;
        let sections: [(&str, Test); 3] = [
            ("below initial", AccountImpact::below_initial),
            ("below maintenance", AccountImpact::below_maintenance),
            ("liquidatable", AccountImpact::liquidatable),
        ];
        for (name, test) in sections {
            let hit: Vec<&AccountImpact> = self.accounts.iter().filter(|a| test(a, true)).collect();
            lines.push(format!("  accounts {name} after the change: {}", hit.len()));
            for a in hit {
                lines.push(format!(
                    "    {name}: {} equity {} -> {} USD, initial {}, maintenance {} (x {:.2}){}",
                    a.account,
                    usd(a.equity_before),
                    usd(a.equity_after),
                    usd(signed(a.initial)),
                    usd(signed(a.maintenance)),
                    a.threshold_bps.1 as f64 / 10_000.0,
                    if test(a, false) { "" } else { " NEW" }
                ));
            }
        }
        for a in self.accounts.iter().filter(|a| !a.removed.is_zero()) {
            lines.push(format!(
                "  {} weighted collateral {} {} USD",
                a.account,
                if a.removed.is_negative() { "+" } else { "-" },
                usd(a.removed.abs())
            ));
        }
        for note in &self.notes {
            lines.push(format!("  note: {note}"));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_the_engines_and_usd_prints_cents() {
        // 1.5 WETH at 2,500.123456789 USD, 90%: floor at each division.
        let v = weighted_value(
            U256::from(15u64) * U256::from(10u64).pow(U256::from(17u64)),
            2_500_123_456_789_000_000_000,
            18,
            9_000,
        );
        assert_eq!(v, U256::from(3_375_166_666_665_150_000_000u128));
        assert_eq!(usd(I256::try_from(-1_234_567_000_000_000_000_000i128).unwrap()), "-1234.56");
    }

    #[test]
    fn statuses_compare_with_the_right_requirement() {
        let e = |x: i64| I256::try_from(x).unwrap();
        let a = AccountImpact {
            account: Address::ZERO,
            equity_before: e(120),
            equity_after: e(90),
            initial: U256::from(110),
            maintenance: U256::from(80),
            removed: e(30),
            threshold_bps: (10_000, 12_000),
        };
        assert!(!a.below_initial(false) && a.below_initial(true));
        assert!(!a.below_maintenance(true));
        // 90 < 80 x 1.2 = 96: liquidatable under the new threshold only.
        assert!(!a.liquidatable(false) && a.liquidatable(true));
    }
}
