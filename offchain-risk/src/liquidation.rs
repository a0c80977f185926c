//! Liquidation planner: which legs of an account below maintenance to close, how much, in which
//! order, so that maintenance plus a buffer is restored at least cost without ever raising the
//! account's loss in any scenario of the grid.
//!
//! What flows through: a [`Portfolio`], a [`MarketSnapshot`], a margin model with its
//! [`MarginConfig`] and the account's weighted collateral value (what equity is besides the
//! positions) go into [`plan_liquidation`] with a [`LiquidationConfig`] (buffer, per-instrument
//! cost model, on-chain step caps, penalty). Out comes a [`LiquidationPlan`]: an ordered list of
//! [`LiquidationStep`]s, each a short list of [`Leg`]s (position, signed reducing size, mark,
//! notional, estimated cost), with the maintenance margin and equity after the step. A keeper
//! turns each step into the engine's EIP-712 `LiquidationStep` leaves, one step per block.
//!
//! # What the engine accepts
//!
//! `solidity-interfaces/IMarginEngine.sol` defines
//! `LiquidationStep(account, positionsNonce, riskEpoch, observedBlock, instrumentId, int128 size,
//! uint128 markPrice)`: **one leg per step**, at most one step per account per block, `size` of
//! the opposite sign to the position with `|size| ≤ |position|`, and the block's liquidated
//! notional `Σ |size| × markPrice` within the governed `liquidationNotionalCapPerBlock`; the
//! liquidator gets `penalty = notional × liquidationPenaltyBps / 10_000` from the account. Hence
//! the defaults: [`LiquidationConfig::max_legs_per_step`] = 1 and each step's notional (as the
//! engine counts it, [`Leg::notional_usd`]) within [`LiquidationConfig::max_step_notional_usd`].
//! With one leg per step a delta-hedged option book cannot be unwound without raising some
//! scenario loss in between (closing the option alone leaves the hedge naked on the other side),
//! so with the default the planner refuses such legs and reports `restored = false`; a
//! multi-leg step (`max_legs_per_step ≥ 2`) closes the option and its hedge proportionally.
//!
//! # The choice rule
//!
//! Each step takes the candidate with the highest **margin relief per dollar of cost**,
//! `(M_before − M_after) / (cost + penalty + step overhead)`, where `M_after` is the model's
//! maintenance margin recomputed on the whole portfolio with the candidate applied (full
//! revaluation, so netting, short-option minimums and basis add-ons are all seen). The three
//! preferences of the brief are the factors of this ratio:
//! `relief / cost = (relief / notional) × (notional / cost)`, i.e. **capital intensity**
//! (margin freed per notional closed) × **liquidity** (notional closed per dollar of cost);
//! **riskiness** (the position's contribution in the margin breakdown) is what the relief
//! estimates to first order, and it breaks ties (equal ratios within 1e-12 relative: the larger
//! contribution closed first, then the lower position index, for determinism). The ratio, not
//! a weighted sum, because the task is a covering problem: close the deficit
//! `M (1 + buffer) − equity` at least total cost; for separable relief and cost the ratio-greedy
//! is optimal (fractional knapsack), and re-margining after every step keeps the cross-position
//! interactions exact where a static ranking would not. A candidate must shrink the deficit
//! (`(1 + buffer) × relief > cost + penalty`, since equity pays both).
//!
//! Candidates: for each open position, closing `k/n` of its original size (`n` =
//! [`LiquidationConfig::size_increments`]), clipped to what remains (never flipping, never
//! opening) and to the step notional cap; with `max_legs_per_step ≥ 2`, also the same fraction of
//! every open position of one underlying at once (a proportional unwind, which scales every
//! scenario P&L of that underlying down and so is always admissible). Pieces are fractions of the
//! original size, not of what remains: with impact the smallest piece always has the best ratio,
//! and fractions of what remains would shrink geometrically into ever more blocks. Once the best
//! candidate would over-restore, it is shrunk by bisection to the smallest size that still
//! restores (least cost), but not below [`LiquidationConfig::min_step_notional_usd`].
//!
//! # The invariant
//!
//! For every row of the margin config's grid and every underlying of the book, the positions'
//! scenario loss `max(0, −P&L)` after a step is at most the loss before it (to rounding; a gain
//! that shrinks is not a risk). Closing at the mark, equity moves by exactly `−cost − penalty`,
//! so the account's loss in every scenario rises by at most the step's cost (the brief's
//! invariant; the positions-only check is the stricter form of it). Scenario P&L is
//! linear in size, so the planner revalues a one-unit book once ([`scenario_pnl`]) and scales.

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::instrument::{Instrument, Portfolio, Position, Settlement};
use crate::margin::factors::{RiskFactor, Scenario};
use crate::margin::{margin, scenario_pnl, MarginConfig, MarginModel, MarginResult};
use crate::market::MarketSnapshot;
use crate::valuation::value_position;

/// Cost of closing a leg: half the bid-ask spread plus a linear price impact, both in basis
/// points of the leg's cost notional `N` (delta-one: the traded notional; options: the underlying
/// notional `|size| × spot`, since option spreads and the liquidator's hedge scale with the
/// underlying, not with the premium). Cost = `N × (half_spread_bps + impact_bps_per_million_usd ×
/// N / 10⁶) / 10⁴`: the average fill is worse by the impact, which grows with the size closed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegCostModel {
    /// Half the bid-ask spread, bps of the cost notional.
    pub half_spread_bps: f64,
    /// Extra bps per million USD of cost notional closed in one step.
    pub impact_bps_per_million_usd: f64,
}

impl LegCostModel {
    /// Estimated cost (USD) of closing a leg of cost notional `notional_usd`.
    pub fn cost(&self, notional_usd: f64) -> f64 {
        let notional = notional_usd.abs();
        notional * (self.half_spread_bps + self.impact_bps_per_million_usd * notional / 1e6) / 1e4
    }

    fn validate(&self, path: &str) -> Result<(), DataError> {
        check_non_negative(self.half_spread_bps, &format!("{path}.half_spread_bps"))?;
        check_non_negative(
            self.impact_bps_per_million_usd,
            &format!("{path}.impact_bps_per_million_usd"),
        )
    }
}

/// Cost models by instrument type. Defaults (liquid BTC/ETH markets, roughly Deribit's top of
/// book): spot 2 bps + 1 bps/M$, futures 2 bps + 1 bps/M$, perpetuals 1 bps + 0.5 bps/M$
/// (the deepest), options 5 bps of underlying notional + 5 bps/M$.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostTable {
    /// Spot.
    pub spot: LegCostModel,
    /// Dated futures.
    pub future: LegCostModel,
    /// Perpetual swaps.
    pub perpetual: LegCostModel,
    /// Options.
    pub option: LegCostModel,
}

impl Default for CostTable {
    fn default() -> Self {
        let model = |half_spread_bps, impact_bps_per_million_usd| LegCostModel {
            half_spread_bps,
            impact_bps_per_million_usd,
        };
        Self {
            spot: model(2.0, 1.0),
            future: model(2.0, 1.0),
            perpetual: model(1.0, 0.5),
            option: model(5.0, 5.0),
        }
    }
}

impl CostTable {
    /// The cost model of `instrument`'s type.
    pub fn for_instrument(&self, instrument: &Instrument) -> LegCostModel {
        match instrument {
            Instrument::Spot { .. } => self.spot,
            Instrument::Future { .. } => self.future,
            Instrument::Perpetual { .. } => self.perpetual,
            Instrument::Option { .. } => self.option,
        }
    }
}

/// Planner configuration (JSON; every field may be omitted):
///
/// ```json
/// {"buffer_bps": 1000, "penalty_bps": 100, "max_step_notional_usd": 1000000,
///  "max_legs_per_step": 1, "min_step_notional_usd": 10, "size_increments": 4,
///  "max_steps": 1000, "step_overhead_usd": 5,
///  "costs": {"option": {"half_spread_bps": 5, "impact_bps_per_million_usd": 5}}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiquidationConfig {
    /// Target: equity ≥ maintenance × (1 + buffer_bps / 10⁴). Default 1000 (10%), so the
    /// account is not liquidatable again after the next small move.
    pub buffer_bps: f64,
    /// Liquidation penalty paid from the account to the liquidator, bps of the engine's notional
    /// (the governed `liquidationPenaltyBps`, bounded to [0, 1500] on-chain). Default 100.
    pub penalty_bps: f64,
    /// Largest notional (USD, `Σ |size| × mark` as the engine counts it) of one step: the
    /// engine's `liquidationNotionalCapPerBlock`, or less if other accounts share the block.
    /// Default 1,000,000.
    pub max_step_notional_usd: f64,
    /// Legs per step: 1 matches the engine's one-instrument `LiquidationStep` (the default).
    pub max_legs_per_step: usize,
    /// Smallest step notional (USD) worth a block, except a step that closes what remains of a
    /// position. Default 10.
    pub min_step_notional_usd: f64,
    /// Candidate pieces are `k / size_increments` of a position's original size. Default 4.
    pub size_increments: usize,
    /// Give up (restored = false) after this many steps. Default 1000.
    pub max_steps: usize,
    /// A fixed charge per step (USD) used only to rank candidates, not debited from equity: each
    /// step costs the liquidator a transaction and the account a block of exposure, so a tiny
    /// leg that is marginally cheaper per dollar should not take a block. Default 5.
    pub step_overhead_usd: f64,
    /// Cost of closing, by instrument type.
    pub costs: CostTable,
}

impl Default for LiquidationConfig {
    fn default() -> Self {
        Self {
            buffer_bps: 1000.0,
            penalty_bps: 100.0,
            max_step_notional_usd: 1_000_000.0,
            max_legs_per_step: 1,
            min_step_notional_usd: 10.0,
            size_increments: 4,
            max_steps: 1000,
            step_overhead_usd: 5.0,
            costs: CostTable::default(),
        }
    }
}

impl LiquidationConfig {
    /// Checks every field's domain; errors name the field (`liquidation.<field>`).
    pub fn validate(&self) -> Result<(), DataError> {
        check_non_negative(self.buffer_bps, "liquidation.buffer_bps")?;
        check_non_negative(self.penalty_bps, "liquidation.penalty_bps")?;
        if !(self.max_step_notional_usd.is_finite() && self.max_step_notional_usd > 0.0) {
            return Err(invalid(
                "liquidation.max_step_notional_usd",
                format!(
                    "{} must be finite and > 0 (the engine's per-block cap)",
                    self.max_step_notional_usd
                ),
            ));
        }
        check_non_negative(self.min_step_notional_usd, "liquidation.min_step_notional_usd")?;
        check_non_negative(self.step_overhead_usd, "liquidation.step_overhead_usd")?;
        if self.min_step_notional_usd > self.max_step_notional_usd {
            return Err(invalid(
                "liquidation.min_step_notional_usd",
                format!(
                    "{} exceeds max_step_notional_usd {}",
                    self.min_step_notional_usd, self.max_step_notional_usd
                ),
            ));
        }
        for (value, field) in [
            (self.max_legs_per_step, "liquidation.max_legs_per_step"),
            (self.size_increments, "liquidation.size_increments"),
            (self.max_steps, "liquidation.max_steps"),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be at least 1"));
            }
        }
        self.costs.spot.validate("liquidation.costs.spot")?;
        self.costs.future.validate("liquidation.costs.future")?;
        self.costs.perpetual.validate("liquidation.costs.perpetual")?;
        self.costs.option.validate("liquidation.costs.option")
    }
}

/// One position reduced in a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    /// Index of the position in the input portfolio.
    pub position_index: usize,
    /// The instrument (the keeper maps it to the engine's `instrumentId`).
    pub instrument: Instrument,
    /// Signed size added to the position: opposite sign to it, `|size| ≤ |position|` (the
    /// engine's `LiquidationStep.size`).
    pub size_to_close: f64,
    /// Mark price (USD per unit of size; futures and perpetuals: their mark, options: premium).
    pub mark_price: f64,
    /// The mark moved against the account by the estimated cost per unit
    /// (`mark + cost / size_to_close`): the price to sign if the engine is to debit the cost.
    pub execution_price: f64,
    /// Notional as the engine counts it against the cap: `|size| × mark` (inverse futures and
    /// perpetuals, sized in USD face value: `|size|`).
    pub notional_usd: f64,
    /// Spread and impact (USD), from the [`CostTable`].
    pub estimated_cost_usd: f64,
    /// Liquidation penalty (USD): `notional × penalty_bps / 10⁴`.
    pub penalty_usd: f64,
}

/// One step: submitted in one block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiquidationStep {
    /// The legs (one, with the default config).
    pub legs: Vec<Leg>,
    /// Σ leg notional (≤ the step cap).
    pub notional_usd: f64,
    /// Σ cost + penalty of the legs (USD): what equity loses.
    pub cost_usd: f64,
    /// Maintenance margin freed by the step (USD).
    pub margin_relief: f64,
    /// Maintenance margin after the step.
    pub margin_after: f64,
    /// Equity after the step (weighted collateral + mark-to-market − costs so far).
    pub equity_after: f64,
    /// Worst scenario loss of the positions over the grid after the step.
    pub worst_loss_after: f64,
}

/// Why the planner stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Equity ≥ maintenance × (1 + buffer).
    Restored,
    /// Every position is closed and equity is still short (the account is bankrupt: the
    /// shortfall is bad debt).
    NothingLeft,
    /// Positions remain but none can be reduced without raising some scenario loss or without
    /// costing more than it frees (typically offsetting legs that only a multi-leg step could
    /// unwind together).
    NoAdmissibleLeg,
    /// [`LiquidationConfig::max_steps`] reached.
    MaxSteps,
}

/// The plan for one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiquidationPlan {
    /// Steps in order, one per block.
    pub steps: Vec<LiquidationStep>,
    /// Whether equity ≥ maintenance × (1 + buffer) after the last step (true with no steps when
    /// the account already was).
    pub restored: bool,
    /// Why the planner stopped.
    pub stop_reason: StopReason,
    /// Equity before the plan: weighted collateral + mark-to-market.
    pub initial_equity: f64,
    /// Maintenance margin before the plan.
    pub initial_margin: f64,
    /// Equity after the plan.
    pub final_equity: f64,
    /// Maintenance margin after the plan.
    pub final_margin: f64,
    /// Σ estimated cost + penalty (USD).
    pub total_cost: f64,
    /// Σ penalty alone (USD).
    pub total_penalty: f64,
    /// final equity / final maintenance (0 if equity ≤ 0, +∞ if maintenance is 0, as in
    /// [`crate::collateral::AccountHealth`]).
    pub final_margin_ratio: f64,
}

/// `portfolio` with `step`'s legs applied (closed positions stay, at size 0, so indices hold).
pub fn apply_step(portfolio: &Portfolio, step: &LiquidationStep) -> Portfolio {
    let mut after = portfolio.clone();
    for leg in &step.legs {
        if let Some(position) = after.positions.get_mut(leg.position_index) {
            position.size = reduced(position.size, leg.size_to_close);
        }
    }
    after
}

/// Plans the liquidation of an account holding `portfolio` and weighted collateral worth
/// `weighted_collateral_value` (USD), margined by `model` under `margin_config`.
pub fn plan_liquidation(
    portfolio: &Portfolio,
    market: &MarketSnapshot,
    model: MarginModel,
    margin_config: &MarginConfig,
    weighted_collateral_value: f64,
    config: &LiquidationConfig,
) -> Result<LiquidationPlan> {
    config.validate()?;
    check_non_negative(weighted_collateral_value, "weighted_collateral_value")?;
    let planner = Planner::new(portfolio, market, model, margin_config, config)?;
    planner.plan(weighted_collateral_value)
}

fn invalid(field: &str, reason: impl Into<String>) -> DataError {
    DataError::Invalid { field: field.to_owned(), reason: reason.into() }
}

fn check_non_negative(value: f64, field: &str) -> Result<(), DataError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("{value} must be finite and >= 0")))
    }
}

/// `size` after adding `close`; exactly zero when the leg closes it all (no dust from rounding).
fn reduced(size: f64, close: f64) -> f64 {
    let after = size + close;
    if after.abs() <= 1e-12 * size.abs() || after * size <= 0.0 {
        0.0
    } else {
        after
    }
}

/// Relative tolerance of comparisons that only rounding should separate.
const ROUNDING: f64 = 1e-9;

/// Everything that does not change from step to step.
struct Planner<'a> {
    portfolio: &'a Portfolio,
    market: &'a MarketSnapshot,
    model: MarginModel,
    margin_config: &'a MarginConfig,
    config: &'a LiquidationConfig,
    /// `unit_pnl[s][p]`: P&L of one unit of position `p` in invariant scenario `s`.
    unit_pnl: Vec<Vec<f64>>,
    /// Per position: mark (USD per unit).
    mark: Vec<f64>,
    /// Per position: engine notional per unit of size.
    unit_notional: Vec<f64>,
    /// Per position: cost notional per unit of size.
    unit_cost_notional: Vec<f64>,
    /// Per position: underlying index (for proportional bundles).
    underlying: Vec<usize>,
}

/// A set of size changes, evaluated.
#[derive(Debug, Clone)]
struct Candidate {
    /// (position index, signed size to close).
    changes: Vec<(usize, f64)>,
    margin: MarginResult,
    relief: f64,
    /// Estimated cost + penalty.
    cost: f64,
    /// Σ breakdown contribution × fraction closed: the tie-break.
    riskiness: f64,
}

struct State {
    sizes: Vec<f64>,
    equity: f64,
    margin: MarginResult,
    losses: Vec<f64>,
}

impl<'a> Planner<'a> {
    fn new(
        portfolio: &'a Portfolio,
        market: &'a MarketSnapshot,
        model: MarginModel,
        margin_config: &'a MarginConfig,
        config: &'a LiquidationConfig,
    ) -> Result<Self> {
        portfolio.validate()?;
        let mut underlyings: Vec<&str> = Vec::new();
        let mut underlying = Vec::with_capacity(portfolio.positions.len());
        let mut mark = Vec::with_capacity(portfolio.positions.len());
        let mut unit_notional = Vec::with_capacity(portfolio.positions.len());
        let mut unit_cost_notional = Vec::with_capacity(portfolio.positions.len());
        for position in &portfolio.positions {
            let symbol = position.instrument.underlying();
            underlying.push(match underlyings.iter().position(|u| *u == symbol) {
                Some(index) => index,
                None => {
                    underlyings.push(symbol);
                    underlyings.len() - 1
                }
            });
            let unit = Position { size: 1.0, ..position.clone() };
            let valuation = value_position(&unit, market, &margin_config.pricing)?;
            let spot = market.underlying(symbol)?.spot;
            let price = match position.instrument {
                Instrument::Future { .. } | Instrument::Perpetual { .. } => valuation.unit.forward,
                Instrument::Spot { .. } | Instrument::Option { .. } => valuation.unit.value,
            };
            let inverse_delta_one = matches!(
                position.instrument,
                Instrument::Future { settlement: Settlement::Inverse, .. }
                    | Instrument::Perpetual { settlement: Settlement::Inverse, .. }
            );
            let notional = if inverse_delta_one { 1.0 } else { price.abs() };
            mark.push(price);
            unit_notional.push(notional);
            unit_cost_notional.push(match position.instrument {
                Instrument::Option { .. } => spot,
                _ => notional,
            });
        }

        // Each grid row applied to one underlying at a time, as the grid margins them.
        let mut scenarios = Vec::new();
        for row in &margin_config.grid.scenarios {
            for symbol in &underlyings {
                let name = (*symbol).to_owned();
                scenarios.push(Scenario {
                    label: format!("{symbol} spot {:+} vol {:+}", row.spot_return, row.vol_level),
                    shocks: [
                        (RiskFactor::Spot(name.clone()), row.spot_return),
                        (RiskFactor::VolLevel(name.clone()), row.vol_level),
                        (RiskFactor::Skew(name), row.skew_rotation),
                    ]
                    .into_iter()
                    .collect(),
                    loss_weight: row.loss_weight,
                });
            }
        }
        let unit_book = Portfolio {
            account: None,
            positions: portfolio
                .positions
                .iter()
                .map(|p| Position { size: 1.0, ..p.clone() })
                .collect(),
        };
        let unit_pnl = scenario_pnl(
            &unit_book,
            market,
            &scenarios,
            &margin_config.pricing,
            &margin_config.grid.vol_term,
        )?;
        Ok(Self {
            portfolio,
            market,
            model,
            margin_config,
            config,
            unit_pnl,
            mark,
            unit_notional,
            unit_cost_notional,
            underlying,
        })
    }

    fn book(&self, sizes: &[f64]) -> Portfolio {
        Portfolio {
            account: self.portfolio.account.clone(),
            positions: self
                .portfolio
                .positions
                .iter()
                .zip(sizes)
                .map(|(p, size)| Position { size: *size, ..p.clone() })
                .collect(),
        }
    }

    fn margin_of(&self, sizes: &[f64]) -> Result<MarginResult> {
        Ok(margin(&self.book(sizes), self.market, self.model, self.margin_config)?.result)
    }

    /// Scenario losses `max(0, −P&L)` of the positions, per invariant scenario.
    fn losses(&self, sizes: &[f64]) -> Vec<f64> {
        self.unit_pnl
            .iter()
            .map(|row| {
                let pnl: f64 = row.iter().zip(sizes).map(|(unit, size)| unit * size).sum();
                (-pnl).max(0.0)
            })
            .collect()
    }

    fn target(&self, maintenance: f64) -> f64 {
        maintenance * (1.0 + self.config.buffer_bps / 1e4)
    }

    fn leg_cost(&self, index: usize, size: f64) -> (f64, f64, f64) {
        let notional = size.abs() * self.unit_notional[index];
        let cost = self
            .config
            .costs
            .for_instrument(&self.portfolio.positions[index].instrument)
            .cost(size.abs() * self.unit_cost_notional[index]);
        (notional, cost, notional * self.config.penalty_bps / 1e4)
    }

    fn notional(&self, changes: &[(usize, f64)]) -> f64 {
        changes.iter().map(|(i, size)| size.abs() * self.unit_notional[*i]).sum()
    }

    /// Evaluates `changes` from `state`; `None` if they raise a scenario loss.
    fn evaluate(&self, state: &State, changes: Vec<(usize, f64)>) -> Result<Option<Candidate>> {
        let mut sizes = state.sizes.clone();
        for (index, close) in &changes {
            sizes[*index] = reduced(sizes[*index], *close);
        }
        let after = self.losses(&sizes);
        let scale = 1.0 + state.losses.iter().fold(0.0_f64, |m, l| m.max(*l));
        if after.iter().zip(&state.losses).any(|(post, pre)| *post > pre + ROUNDING * scale) {
            return Ok(None);
        }
        let margin = self.margin_of(&sizes)?;
        let cost = changes
            .iter()
            .map(|(i, size)| {
                let (_, cost, penalty) = self.leg_cost(*i, *size);
                cost + penalty
            })
            .sum();
        let riskiness = changes
            .iter()
            .map(|(i, size)| {
                state.margin.positions[*i].margin * (size.abs() / state.sizes[*i].abs())
            })
            .sum();
        Ok(Some(Candidate {
            relief: state.margin.maintenance_margin - margin.maintenance_margin,
            margin,
            cost,
            riskiness,
            changes,
        }))
    }

    /// Whether `candidate` lowers the deficit `target − equity`.
    fn helps(&self, candidate: &Candidate) -> bool {
        (1.0 + self.config.buffer_bps / 1e4) * candidate.relief > candidate.cost
    }

    fn restores(&self, state: &State, candidate: &Candidate) -> bool {
        state.equity - candidate.cost >= self.target(candidate.margin.maintenance_margin)
    }

    /// The candidate size changes from `sizes`, in a fixed order.
    fn candidates(&self, sizes: &[f64]) -> Vec<Vec<(usize, f64)>> {
        let original: Vec<f64> = self.portfolio.positions.iter().map(|p| p.size.abs()).collect();
        let mut out = Vec::new();
        for (index, size) in sizes.iter().enumerate() {
            if *size == 0.0 {
                continue;
            }
            let unit = self.unit_notional[index];
            for fraction in self.pieces(size.abs(), original[index], unit) {
                out.push(vec![(index, close(*size, fraction))]);
            }
        }
        if self.config.max_legs_per_step >= 2 {
            let underlyings = self.underlying.iter().max().map_or(0, |u| u + 1);
            for u in 0..underlyings {
                let open: Vec<usize> = (0..sizes.len())
                    .filter(|i| self.underlying[*i] == u && sizes[*i] != 0.0)
                    .collect();
                if open.len() < 2 || open.len() > self.config.max_legs_per_step {
                    continue;
                }
                // Measured in notional, the bundle's remaining size is 1 unit of `remaining`.
                let remaining: f64 =
                    open.iter().map(|i| sizes[*i].abs() * self.unit_notional[*i]).sum();
                let at_start: f64 =
                    open.iter().map(|i| original[*i] * self.unit_notional[*i]).sum();
                let relative = if remaining > 0.0 { at_start / remaining } else { 1.0 };
                for fraction in self.pieces(1.0, relative, remaining) {
                    out.push(open.iter().map(|i| (*i, close(sizes[*i], fraction))).collect());
                }
            }
        }
        out
    }

    /// Fractions of `remaining` (in some size measure; `original` in the same measure, worth
    /// `unit_notional` each) to close: `k/n` of the original size, so a position goes in at most
    /// `n` equal pieces rather than ever smaller ones; clipped to what remains and to the step
    /// cap; pieces below the minimum step dropped unless they close the rest.
    fn pieces(&self, remaining: f64, original: f64, unit_notional: f64) -> Vec<f64> {
        let increments = self.config.size_increments;
        let mut fractions: Vec<f64> = Vec::with_capacity(increments);
        for k in 1..=increments {
            let mut fraction = (k as f64 / increments as f64 * original / remaining).min(1.0);
            let notional = fraction * remaining * unit_notional;
            if notional > self.config.max_step_notional_usd {
                fraction = self.config.max_step_notional_usd / (remaining * unit_notional);
            }
            let notional = fraction * remaining * unit_notional;
            if fraction < 1.0 && notional < self.config.min_step_notional_usd {
                continue;
            }
            if fractions.last().is_none_or(|last| fraction > *last) {
                fractions.push(fraction);
            }
        }
        fractions
    }

    fn plan(&self, weighted_collateral_value: f64) -> Result<LiquidationPlan> {
        let sizes: Vec<f64> = self.portfolio.positions.iter().map(|p| p.size).collect();
        let margin = self.margin_of(&sizes)?;
        let equity = weighted_collateral_value + margin.mark_to_market;
        let initial_equity = equity;
        let initial_margin = margin.maintenance_margin;
        let mut state = State { losses: self.losses(&sizes), sizes, equity, margin };
        let mut steps = Vec::new();
        let mut total_penalty = 0.0;
        let mut restored = state.equity >= self.target(state.margin.maintenance_margin);
        while !restored && steps.len() < self.config.max_steps {
            let Some(best) = self.best_candidate(&state)? else { break };
            let best = self.shrink_to_restore(&state, best)?;
            let legs: Vec<Leg> = best
                .changes
                .iter()
                .map(|(index, size)| {
                    let (notional, cost, penalty) = self.leg_cost(*index, *size);
                    Leg {
                        position_index: *index,
                        instrument: self.portfolio.positions[*index].instrument.clone(),
                        size_to_close: *size,
                        mark_price: self.mark[*index],
                        execution_price: self.mark[*index] + cost / size,
                        notional_usd: notional,
                        estimated_cost_usd: cost,
                        penalty_usd: penalty,
                    }
                })
                .collect();
            total_penalty += legs.iter().map(|l| l.penalty_usd).sum::<f64>();
            for (index, size) in &best.changes {
                state.sizes[*index] = reduced(state.sizes[*index], *size);
            }
            state.equity -= best.cost;
            state.losses = self.losses(&state.sizes);
            state.margin = best.margin;
            restored = state.equity >= self.target(state.margin.maintenance_margin);
            steps.push(LiquidationStep {
                notional_usd: self.notional(&best.changes),
                legs,
                cost_usd: best.cost,
                margin_relief: best.relief,
                margin_after: state.margin.maintenance_margin,
                equity_after: state.equity,
                worst_loss_after: state.losses.iter().fold(0.0, |m: f64, l| m.max(*l)),
            });
        }
        let stop_reason = if restored {
            StopReason::Restored
        } else if state.sizes.iter().all(|size| *size == 0.0) {
            StopReason::NothingLeft
        } else if steps.len() >= self.config.max_steps {
            StopReason::MaxSteps
        } else {
            StopReason::NoAdmissibleLeg
        };
        let final_margin = state.margin.maintenance_margin;
        let final_margin_ratio = if state.equity <= 0.0 {
            0.0
        } else if final_margin == 0.0 {
            f64::INFINITY
        } else {
            state.equity / final_margin
        };
        Ok(LiquidationPlan {
            total_cost: steps.iter().fold(0.0, |total, s| total + s.cost_usd),
            steps,
            restored,
            stop_reason,
            initial_equity,
            initial_margin,
            final_equity: state.equity,
            final_margin,
            total_penalty,
            final_margin_ratio,
        })
    }

    /// The admissible candidate with the best relief per cost (see the module doc).
    fn best_candidate(&self, state: &State) -> Result<Option<Candidate>> {
        let mut best: Option<Candidate> = None;
        for changes in self.candidates(&state.sizes) {
            let Some(candidate) = self.evaluate(state, changes)? else { continue };
            if !self.helps(&candidate) {
                continue;
            }
            let better = match &best {
                None => true,
                Some(current) => {
                    let score = ratio(&candidate, self.config.step_overhead_usd);
                    let incumbent = ratio(current, self.config.step_overhead_usd);
                    let tie = (score - incumbent).abs() <= 1e-12 * score.abs().max(incumbent.abs());
                    if tie {
                        candidate.riskiness > current.riskiness
                    } else {
                        score > incumbent
                    }
                }
            };
            if better {
                best = Some(candidate);
            }
        }
        Ok(best)
    }

    /// If `best` over-restores, the smallest scaling of it that still restores (least cost),
    /// found by bisection; scenario losses are convex in the scaling, so it stays admissible.
    fn shrink_to_restore(&self, state: &State, best: Candidate) -> Result<Candidate> {
        if !self.restores(state, &best) {
            return Ok(best);
        }
        let scaled = |t: f64| -> Vec<(usize, f64)> {
            best.changes.iter().map(|(i, size)| (*i, size * t)).collect()
        };
        let notional = self.notional(&best.changes);
        let mut low = if notional > 0.0 {
            (self.config.min_step_notional_usd / notional).min(1.0)
        } else {
            0.0
        };
        let mut high = 1.0;
        let mut found = best.clone();
        if let Some(candidate) = self.evaluate(state, scaled(low))? {
            if self.helps(&candidate) && self.restores(state, &candidate) {
                return Ok(candidate);
            }
        }
        for _ in 0..40 {
            let mid = 0.5 * (low + high);
            match self.evaluate(state, scaled(mid))? {
                Some(candidate) if self.helps(&candidate) && self.restores(state, &candidate) => {
                    high = mid;
                    found = candidate;
                }
                _ => low = mid,
            }
            if high - low < 1e-6 {
                break;
            }
        }
        Ok(found)
    }
}

/// Signed size that closes `fraction` of `size` (exactly `-size` for the whole).
fn close(size: f64, fraction: f64) -> f64 {
    if fraction >= 1.0 {
        -size
    } else {
        -size * fraction
    }
}

/// Margin relief per dollar of cost (with the step overhead); a free step counts as costing a
/// micro-dollar.
fn ratio(candidate: &Candidate, step_overhead_usd: f64) -> f64 {
    candidate.relief / (candidate.cost + step_overhead_usd).max(1e-6)
}
