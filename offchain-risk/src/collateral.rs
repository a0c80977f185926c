//! Collateral weights (haircuts), weighted collateral value and account health.
//!
//! What flows through: a governed [`CollateralConfig`] (JSON below) gives each listed asset a
//! [`CollateralWeight`]: a static weight in basis points, or a dynamic rule for LP tokens
//! ([`LpTokenRule`]) and staking / interest-bearing derivatives ([`StakingRule`]) that turns the
//! asset's volatility, liquidation horizon, depth and withdrawal delay into a weight. Balances ×
//! prices × weights give the [`WeightedCollateral`] value; with the portfolio's mark-to-market
//! and margins (from the margin models) it gives the [`AccountHealth`]. Separately,
//! [`historical_covering_weight`] derives the static weight that a k-day 99% historical move
//! leaves covered, the evidence behind the default weights in `docs/COLLATERAL_WEIGHTS.md`.
//!
//! ```json
//! {"assets": {
//!   "USDC": {"kind": "static", "weight_bps": 9800},
//!   "ETH":  {"kind": "static", "weight_bps": 9000},
//!   "UNI":  {"kind": "static", "weight_bps": 5000},
//!   "ETH-USDC-LP": {"kind": "lp_token", "cap_bps": 8000, "basket_weight_bps": 9400,
//!                   "relative_volatility_annual": 0.75, "liquidation_horizon_days": 1.0,
//!                   "confidence": 0.99, "liquidation_depth_usd": 20000000.0},
//!   "stETH": {"kind": "staking_derivative", "cap_bps": 8500,
//!             "underlying_volatility_annual": 0.75, "unbonding_days": 5.0,
//!             "liquidation_horizon_days": 1.0, "confidence": 0.99,
//!             "depeg_cost_bps": 100, "yield_apr": 0.035}}}
//! ```
//!
//! # Rounding
//!
//! The engine computes Σ floor(floor(balance·price/10^decimals)·weightBps/10_000) in 18-decimal
//! fixed point, and keepers report margins the engine takes as given: rounding always goes
//! toward the protocol (values down, requirements up). Off-chain values are f64, so this module
//! mirrors the convention where it is exact: every weight is an integer number of basis points
//! floored from the model's real-valued weight (so off-chain and on-chain multiply by the same
//! integer), and a keeper converting to the chain's units uses [`usd_to_wad_down`] for values
//! and [`usd_to_wad_up`] for requirements. What remains is f64 rounding (relative ~1e-16,
//! i.e. below 1e-9 USD for accounts under 10⁷ USD), far inside any liquidation buffer; the
//! engine's own computation is authoritative.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::history::stats::{empirical_quantile, normal_quantile, DAYS_PER_YEAR};
use crate::history::{DataDir, Date, GapPolicy, PriceSeries, ReturnPoint, Sampling};

/// 100% in basis points.
pub const BPS_SCALE: u16 = 10_000;

/// Granularity of derived static weights: [`historical_covering_weight`] rounds down to it.
pub const WEIGHT_STEP_BPS: u16 = 50;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> DataError {
    DataError::Invalid { field: field.into(), reason: reason.into() }
}

fn check_bps(value: u16, field: &str) -> Result<(), DataError> {
    if value <= BPS_SCALE {
        Ok(())
    } else {
        Err(invalid(field, format!("{value} bps exceeds {BPS_SCALE} (100%)")))
    }
}

fn check_non_negative(value: f64, field: &str) -> Result<(), DataError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("{value} must be finite and >= 0")))
    }
}

fn check_positive(value: f64, field: &str) -> Result<(), DataError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("{value} must be finite and > 0")))
    }
}

fn check_confidence(value: f64, field: &str) -> Result<(), DataError> {
    if value > 0.0 && value < 1.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("{value} must lie strictly between 0 and 1")))
    }
}

/// A real-valued weight to whole basis points, rounded down (toward the protocol), in [0, cap].
fn to_bps_floor(weight: f64, cap_bps: u16) -> u16 {
    let bps = (weight * f64::from(BPS_SCALE)).floor().clamp(0.0, f64::from(cap_bps));
    // In [0, cap_bps] after the clamp, so the cast is exact.
    bps as u16
}

/// Impermanent loss of a 50/50 constant-product LP position when the pool's relative price moves
/// by the factor `price_ratio` (> 0): 2√r/(1 + r) − 1, the LP value over the value of simply
/// holding the initial tokens, minus one. Never positive; symmetric under r ↔ 1/r.
pub fn impermanent_loss(price_ratio: f64) -> f64 {
    2.0 * price_ratio.sqrt() / (1.0 + price_ratio) - 1.0
}

/// Cost, as a fraction of the position, of selling a position worth `size` into a
/// constant-product market holding `depth` of the asset received (same unit): the sale fills at
/// depth/(depth + size) of the pre-trade price on average, so the cost is size/(depth + size)
/// (≈ size/depth for small sales, and never above 100%).
pub fn liquidation_slippage(size: f64, depth: f64) -> f64 {
    if size <= 0.0 {
        0.0
    } else {
        size / (depth + size)
    }
}

/// Dynamic weight of a two-asset constant-product LP token.
///
/// Model: the pool's relative price moves over the liquidation horizon by a lognormal factor of
/// annual volatility σ (the volatility of ln(P_x/P_y), i.e. √(σx² + σy² − 2ρσxσy)); IL depends
/// on |ln r| only, so the stress ratio at confidence c is r* = exp(z σ √(h/365)) with
/// z = Φ⁻¹((1 + c)/2) (two-sided: P(IL worse than IL(r*)) = 1 − c). The weight is
///
/// `basket_weight × (1 + IL(r*)) − size/(depth + size)`, floored at 0 and capped at `cap_bps`,
///
/// i.e. the weight the pool's two tokens would get if held directly (their mean weight; 100%
/// gives the plain `1 − |IL| − slippage`), reduced by the impermanent loss at the stress move and
/// by the cost of selling the whole position within the horizon into a market of that depth.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LpTokenRule {
    /// Governed ceiling on the dynamic weight.
    pub cap_bps: u16,
    /// Weight of the underlying 50/50 basket held directly, bps (default 10_000).
    #[serde(default = "full_weight")]
    pub basket_weight_bps: u16,
    /// Annual volatility of the pool's relative price ln(P_x/P_y), a fraction.
    pub relative_volatility_annual: f64,
    /// Days the liquidator needs to unwind the position.
    pub liquidation_horizon_days: f64,
    /// Confidence that the impermanent loss stays within the haircut, e.g. 0.99.
    pub confidence: f64,
    /// USD depth the position is sold into within the horizon (see [`liquidation_slippage`]).
    pub liquidation_depth_usd: f64,
}

fn full_weight() -> u16 {
    BPS_SCALE
}

impl LpTokenRule {
    /// Check every field's domain.
    pub fn validate(&self) -> Result<(), DataError> {
        check_bps(self.cap_bps, "cap_bps")?;
        check_bps(self.basket_weight_bps, "basket_weight_bps")?;
        check_non_negative(self.relative_volatility_annual, "relative_volatility_annual")?;
        check_positive(self.liquidation_horizon_days, "liquidation_horizon_days")?;
        check_confidence(self.confidence, "confidence")?;
        check_positive(self.liquidation_depth_usd, "liquidation_depth_usd")
    }

    /// The stress relative-price ratio r* ≥ 1 (its inverse gives the same loss).
    pub fn stress_price_ratio(&self) -> Result<f64, DataError> {
        self.validate()?;
        let z = normal_quantile(0.5 * (1.0 + self.confidence))?;
        let horizon_vol = self.relative_volatility_annual
            * (self.liquidation_horizon_days / DAYS_PER_YEAR).sqrt();
        Ok((z * horizon_vol).exp())
    }

    /// The weight before the cap and the floor at 0, for a position worth `position_usd`.
    pub fn raw_weight(&self, position_usd: f64) -> Result<f64, DataError> {
        check_non_negative(position_usd, "position_usd")?;
        let basket = f64::from(self.basket_weight_bps) / f64::from(BPS_SCALE);
        let il = impermanent_loss(self.stress_price_ratio()?);
        Ok(basket * (1.0 + il) - liquidation_slippage(position_usd, self.liquidation_depth_usd))
    }

    /// The weight in bps, rounded down, in [0, cap_bps].
    pub fn weight_bps(&self, position_usd: f64) -> Result<u16, DataError> {
        Ok(to_bps_floor(self.raw_weight(position_usd)?, self.cap_bps))
    }
}

/// Dynamic weight of a staking or interest-bearing derivative (stETH, a lending receipt, …).
///
/// Model: the liquidator force-unbonds (or queues the withdrawal) and only then sells the
/// underlying, so the haircut adds
/// - the underlying's price risk over `unbonding_days + liquidation_horizon_days` at the
///   confidence, 1 − exp(−z σ √(T/365)) with z = Φ⁻¹(c) (a one-sided fall of a long holding);
/// - the depeg / early-withdrawal cost, `depeg_cost_bps` (what exiting early costs, or the
///   discount the derivative trades at against its underlying under stress);
/// - the yield forgone while unbonding, `yield_apr × unbonding_days / 365`;
///
/// and the weight is 1 − haircut, floored at 0 and capped at `cap_bps`. A derivative with a deep
/// secondary market is modelled with `unbonding_days = 0` and the market discount in
/// `depeg_cost_bps`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakingRule {
    /// Governed ceiling on the dynamic weight.
    pub cap_bps: u16,
    /// Annual volatility of the underlying (e.g. ETH for stETH), a fraction.
    pub underlying_volatility_annual: f64,
    /// Days from the unbonding / withdrawal request to receiving the underlying.
    pub unbonding_days: f64,
    /// Days the liquidator then needs to sell the underlying.
    pub liquidation_horizon_days: f64,
    /// Confidence that the price move stays within the haircut, e.g. 0.99.
    pub confidence: f64,
    /// Depeg or early-withdrawal cost, bps.
    pub depeg_cost_bps: u16,
    /// The derivative's yield, a fraction per year (forgone while unbonding).
    pub yield_apr: f64,
}

impl StakingRule {
    /// Check every field's domain.
    pub fn validate(&self) -> Result<(), DataError> {
        check_bps(self.cap_bps, "cap_bps")?;
        check_non_negative(self.underlying_volatility_annual, "underlying_volatility_annual")?;
        check_non_negative(self.unbonding_days, "unbonding_days")?;
        check_positive(self.liquidation_horizon_days, "liquidation_horizon_days")?;
        check_confidence(self.confidence, "confidence")?;
        check_bps(self.depeg_cost_bps, "depeg_cost_bps")?;
        check_non_negative(self.yield_apr, "yield_apr")
    }

    /// The haircut (price risk + depeg cost + forgone yield), a fraction; may exceed 1.
    pub fn haircut(&self) -> Result<f64, DataError> {
        self.validate()?;
        let z = normal_quantile(self.confidence)?;
        let days = self.unbonding_days + self.liquidation_horizon_days;
        let price_risk =
            -(-z * self.underlying_volatility_annual * (days / DAYS_PER_YEAR).sqrt()).exp_m1();
        let depeg = f64::from(self.depeg_cost_bps) / f64::from(BPS_SCALE);
        let forgone_yield = self.yield_apr * self.unbonding_days / DAYS_PER_YEAR;
        Ok(price_risk + depeg + forgone_yield)
    }

    /// The weight in bps, rounded down, in [0, cap_bps].
    pub fn weight_bps(&self) -> Result<u16, DataError> {
        Ok(to_bps_floor(1.0 - self.haircut()?, self.cap_bps))
    }
}

/// How one asset's weight is set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CollateralWeight {
    /// A governed constant weight.
    Static {
        /// Weight in bps, 0..=10_000.
        weight_bps: u16,
    },
    /// See [`LpTokenRule`].
    LpToken(LpTokenRule),
    /// See [`StakingRule`].
    StakingDerivative(StakingRule),
}

impl CollateralWeight {
    /// Check the weight's parameters.
    pub fn validate(&self) -> Result<(), DataError> {
        match self {
            CollateralWeight::Static { weight_bps } => check_bps(*weight_bps, "weight_bps"),
            CollateralWeight::LpToken(rule) => rule.validate(),
            CollateralWeight::StakingDerivative(rule) => rule.validate(),
        }
    }

    /// The weight in bps for a holding worth `position_usd` (only LP weights depend on size).
    pub fn weight_bps(&self, position_usd: f64) -> Result<u16, DataError> {
        match self {
            CollateralWeight::Static { weight_bps } => {
                check_bps(*weight_bps, "weight_bps")?;
                Ok(*weight_bps)
            }
            CollateralWeight::LpToken(rule) => rule.weight_bps(position_usd),
            CollateralWeight::StakingDerivative(rule) => rule.weight_bps(),
        }
    }
}

/// The governed weights of every listed collateral asset.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollateralConfig {
    /// Asset symbol to weight.
    pub assets: BTreeMap<String, CollateralWeight>,
}

impl CollateralConfig {
    /// Parse and validate the JSON form (module docs); `source` names the document in errors.
    pub fn from_json(text: &str, source: &str) -> Result<Self, DataError> {
        let config: CollateralConfig = serde_json::from_str(text).map_err(|e| DataError::Json {
            path: source.to_string(),
            what: "collateral config",
            source: e,
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Check every asset's parameters; errors name the asset (`assets.<symbol>.<field>`).
    pub fn validate(&self) -> Result<(), DataError> {
        for (symbol, weight) in &self.assets {
            weight.validate().map_err(|e| match e {
                DataError::Invalid { field, reason } => {
                    invalid(format!("assets.{symbol}.{field}"), reason)
                }
                other => other,
            })?;
        }
        Ok(())
    }

    /// The weight of `asset` for a holding worth `position_usd`.
    pub fn weight_bps(&self, asset: &str, position_usd: f64) -> Result<u16, DataError> {
        self.assets
            .get(asset)
            .ok_or_else(|| {
                invalid(format!("assets.{asset}"), "the asset is not listed as collateral")
            })?
            .weight_bps(position_usd)
    }
}

/// A holding of one collateral asset, in whole tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollateralBalance {
    /// Asset symbol (a key of [`CollateralConfig::assets`]).
    pub asset: String,
    /// Whole tokens held (≥ 0).
    pub amount: f64,
}

/// One asset's contribution to the weighted collateral value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedCollateralLine {
    /// Asset symbol.
    pub asset: String,
    /// Whole tokens held.
    pub amount: f64,
    /// USD per token.
    pub price: f64,
    /// amount × price.
    pub market_value: f64,
    /// The weight applied, bps.
    pub weight_bps: u16,
    /// market_value × weight_bps / 10_000.
    pub weighted_value: f64,
}

/// Weighted collateral value of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightedCollateral {
    /// Per-asset lines, in balance order.
    pub lines: Vec<WeightedCollateralLine>,
    /// Σ weighted_value.
    pub total: f64,
}

/// Σ amount × price × weight over the balances. Every asset must be listed and priced (a
/// missing price is an error, not a zero, so a stale feed cannot silently shrink or hide
/// collateral); amounts must be ≥ 0 and prices > 0.
pub fn weighted_collateral_value(
    config: &CollateralConfig,
    balances: &[CollateralBalance],
    prices_usd: &BTreeMap<String, f64>,
) -> Result<WeightedCollateral, DataError> {
    let mut lines = Vec::with_capacity(balances.len());
    for (i, balance) in balances.iter().enumerate() {
        check_non_negative(balance.amount, &format!("balances[{i}].amount"))?;
        let price = *prices_usd.get(&balance.asset).ok_or_else(|| {
            invalid(format!("prices.{}", balance.asset), "no price for a held asset")
        })?;
        check_positive(price, &format!("prices.{}", balance.asset))?;
        let market_value = balance.amount * price;
        let weight_bps = config.weight_bps(&balance.asset, market_value)?;
        lines.push(WeightedCollateralLine {
            asset: balance.asset.clone(),
            amount: balance.amount,
            price,
            market_value,
            weight_bps,
            weighted_value: market_value * f64::from(weight_bps) / f64::from(BPS_SCALE),
        });
    }
    let total = lines.iter().map(|l| l.weighted_value).sum();
    Ok(WeightedCollateral { lines, total })
}

/// What an account's health is computed from (USD).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HealthInputs {
    /// [`WeightedCollateral::total`].
    pub weighted_collateral_value: f64,
    /// Signed settlement cash from trades, liquidations and penalties.
    pub cash: f64,
    /// Portfolio mark-to-market (signed).
    pub portfolio_value: f64,
    /// Requirement to add risk or withdraw; ≥ maintenance.
    pub initial_margin: f64,
    /// Requirement to stay unliquidated.
    pub maintenance_margin: f64,
    /// Liquidatable when equity < maintenance × threshold / 10_000; 10_000 (the default) is the
    /// plain equity < maintenance. Governed in [10_000, 20_000] on-chain.
    #[serde(default = "full_weight")]
    pub liquidation_threshold_bps: u16,
}

/// An account's health, as the engine's `AccountHealth` defines it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AccountHealth {
    /// weighted collateral value + cash + portfolio value.
    pub equity: f64,
    /// As given.
    pub initial_margin: f64,
    /// As given.
    pub maintenance_margin: f64,
    /// equity / maintenance margin; 0 if equity ≤ 0, +∞ if the maintenance margin is 0.
    pub margin_ratio: f64,
    /// equity × 10_000 < maintenance margin × liquidation threshold bps.
    pub liquidatable: bool,
    /// max(0, equity − initial margin): weighted value that can leave the account.
    pub free_collateral: f64,
}

impl AccountHealth {
    /// Assess an account. Margins must be finite, ≥ 0 and initial ≥ maintenance.
    pub fn assess(inputs: &HealthInputs) -> Result<Self, DataError> {
        check_non_negative(inputs.weighted_collateral_value, "weighted_collateral_value")?;
        check_non_negative(inputs.maintenance_margin, "maintenance_margin")?;
        check_non_negative(inputs.initial_margin, "initial_margin")?;
        for (value, field) in [(inputs.cash, "cash"), (inputs.portfolio_value, "portfolio_value")] {
            if !value.is_finite() {
                return Err(invalid(field, format!("{value} is not finite")));
            }
        }
        if inputs.initial_margin < inputs.maintenance_margin {
            return Err(invalid(
                "initial_margin",
                format!(
                    "{} is below the maintenance margin {}",
                    inputs.initial_margin, inputs.maintenance_margin
                ),
            ));
        }
        if !(BPS_SCALE..=2 * BPS_SCALE).contains(&inputs.liquidation_threshold_bps) {
            return Err(invalid(
                "liquidation_threshold_bps",
                format!("{} must lie in [10000, 20000]", inputs.liquidation_threshold_bps),
            ));
        }
        let equity = inputs.weighted_collateral_value + inputs.cash + inputs.portfolio_value;
        let margin_ratio = if equity <= 0.0 {
            0.0
        } else if inputs.maintenance_margin == 0.0 {
            f64::INFINITY
        } else {
            equity / inputs.maintenance_margin
        };
        let threshold = f64::from(inputs.liquidation_threshold_bps) / f64::from(BPS_SCALE);
        Ok(AccountHealth {
            equity,
            initial_margin: inputs.initial_margin,
            maintenance_margin: inputs.maintenance_margin,
            margin_ratio,
            liquidatable: equity < inputs.maintenance_margin * threshold,
            free_collateral: (equity - inputs.initial_margin).max(0.0),
        })
    }

    /// Whether removing collateral worth `weighted_value_removed` (its weighted value: amount ×
    /// price × weight) keeps equity ≥ initial margin, the engine's withdrawal rule.
    pub fn can_withdraw(&self, weighted_value_removed: f64) -> bool {
        weighted_value_removed >= 0.0 && self.equity - weighted_value_removed >= self.initial_margin
    }
}

/// Largest exact integer below 2¹²⁷ / 10¹⁸ handled by the wad conversions (≈ 1.7e20 USD).
const WAD_LIMIT_USD: f64 = 1.7e20;

fn wad(usd: f64, round_up: bool) -> Result<i128, DataError> {
    if !usd.is_finite() || usd.abs() >= WAD_LIMIT_USD {
        return Err(invalid(
            "usd",
            format!("{usd} is not representable in 18-decimal fixed point"),
        ));
    }
    // 1e18 = 2^18·5^18 is exact in f64, and the fused multiply-add gives the product's rounding
    // error exactly, so usd·10^18 = product + error holds exactly.
    let product = usd * 1e18;
    let error = usd.mul_add(1e18, -product);
    let round = |x: f64| if round_up { x.ceil() } else { x.floor() };
    // |product| < 1.7e38 < 2^127 after the range check, so the casts do not saturate.
    if product.fract() == 0.0 {
        // An integer float (always so above 2^53) may be several integers from the exact value;
        // the error, below half an ulp, says how many and on which side.
        Ok(product as i128 + round(error) as i128)
    } else {
        // A non-integer float shares its floor and ceiling with the exact value: an integer in
        // between would have been the nearer float.
        Ok(round(product) as i128)
    }
}

/// A USD value to 18-decimal fixed point, rounded down (use for values credited to an account):
/// the exact floor of `usd`·10¹⁸ for the f64 given.
pub fn usd_to_wad_down(usd: f64) -> Result<i128, DataError> {
    wad(usd, false)
}

/// A USD requirement to 18-decimal fixed point, rounded up (use for margins): the exact ceiling
/// of `usd`·10¹⁸ for the f64 given.
pub fn usd_to_wad_up(usd: f64) -> Result<i128, DataError> {
    wad(usd, true)
}

/// The static weight that a historical k-day move at a confidence leaves covered.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoricalWeight {
    /// Asset.
    pub symbol: String,
    /// k, calendar days.
    pub horizon_days: u32,
    /// Confidence, e.g. 0.99.
    pub confidence: f64,
    /// First and last day of the history used.
    pub history: (Date, Date),
    /// Overlapping k-day windows used (windows over a missing day are skipped).
    pub windows: usize,
    /// The (1 − confidence) empirical quantile of the k-day simple returns.
    pub quantile_return: f64,
    /// 1 − |quantile| (1 if the quantile is a gain), rounded down to [`WEIGHT_STEP_BPS`].
    pub weight_bps: u16,
    /// The window with the worst k-day return.
    pub worst: ReturnPoint,
}

/// Derive the static weight at which a k-day move at `confidence` of `series` stays covered:
/// with q the (1 − confidence) quantile ([`empirical_quantile`], type 7) of the overlapping
/// k-day simple returns (exactly k days: windows over a missing day are skipped), a holding
/// credited at weight w = 1 − |q| still covers its credit after a move of q. The weight is
/// rounded down to [`WEIGHT_STEP_BPS`]; the worst window is reported to show what it does not
/// cover.
pub fn historical_covering_weight(
    series: &PriceSeries,
    horizon_days: u32,
    confidence: f64,
) -> Result<HistoricalWeight, DataError> {
    check_confidence(confidence, "confidence")?;
    let returns = series.log_returns(horizon_days, Sampling::Overlapping, GapPolicy::Skip)?;
    let worst =
        *returns.points.iter().min_by(|a, b| a.log_return.total_cmp(&b.log_return)).ok_or_else(
            || invalid(format!("{}.days", series.symbol), format!("no {horizon_days}-day window")),
        )?;
    let quantile_return = empirical_quantile(&returns.simple_returns(), 1.0 - confidence)?;
    let weight = 1.0 - (-quantile_return).max(0.0);
    let step = f64::from(WEIGHT_STEP_BPS);
    let steps =
        (weight * f64::from(BPS_SCALE) / step).floor().clamp(0.0, f64::from(BPS_SCALE) / step);
    // A whole number of steps in [0, 10_000 / 50], so the cast is exact.
    let weight_bps = (steps as u16) * WEIGHT_STEP_BPS;
    // `span` exists: a series with a window has days.
    let history = series.span().unwrap_or((worst.start, worst.end));
    Ok(HistoricalWeight {
        symbol: series.symbol.clone(),
        horizon_days,
        confidence,
        history,
        windows: returns.points.len(),
        quantile_return,
        weight_bps,
        worst,
    })
}

fn percent(fraction: f64) -> String {
    format!("{:.2}%", 100.0 * fraction)
}

/// Markdown table of [`historical_covering_weight`] for each of `symbols` (loaded from `data`,
/// restricted to days ≥ `from` when given) at each of `horizons_days`: one row per asset with,
/// per horizon, the quantile move, the covering weight and the worst window. This is the table
/// `docs/COLLATERAL_WEIGHTS.md` embeds; `cargo run -p offchain-risk --example collateral_weights`
/// prints it and the `collateral` test checks the doc against it.
pub fn historical_weights_table(
    data: &DataDir,
    symbols: &[&str],
    horizons_days: &[u32],
    confidence: f64,
    from: Option<Date>,
) -> Result<String, DataError> {
    let q = format!("q{}%", ((1.0 - confidence) * 100.0 * 100.0).round() / 100.0);
    let mut header = String::from("| asset | history | windows (1st horizon) |");
    let mut rule = String::from("|---|---|---:|");
    for h in horizons_days {
        header.push_str(&format!(" {h}d {q} | {h}d weight | {h}d worst (window end) |"));
        rule.push_str("---:|---:|---:|");
    }
    let mut out = format!("{header}\n{rule}\n");
    for symbol in symbols {
        let series = data.prices(symbol)?.between(from, None);
        let mut row = String::new();
        for (k, h) in horizons_days.iter().enumerate() {
            let w = historical_covering_weight(&series, *h, confidence)?;
            if k == 0 {
                row = format!("| {symbol} | {} to {} | {} |", w.history.0, w.history.1, w.windows);
            }
            row.push_str(&format!(
                " {} | {} | {} ({}) |",
                percent(w.quantile_return),
                percent(f64::from(w.weight_bps) / 1e4),
                percent(w.worst.simple_return()),
                w.worst.end
            ));
        }
        out.push_str(&row);
        out.push('\n');
    }
    Ok(out)
}

/// Assets of the default-weights study in `docs/COLLATERAL_WEIGHTS.md`.
pub const DOC_SYMBOLS: [&str; 7] = ["BTC", "ETH", "SOL", "BNB", "LINK", "XRP", "UNI"];
/// Horizons of the study, days: one day and the candidate margin periods of risk.
pub const DOC_HORIZONS_DAYS: [u32; 3] = [1, 2, 5];
/// Confidence of the study.
pub const DOC_CONFIDENCE: f64 = 0.99;

/// The generated part of `docs/COLLATERAL_WEIGHTS.md`, exactly: the covering-weight tables over
/// each asset's full history and over the window common to all (from UNI's first day,
/// 2020-10-01), then the calibration table ([`crate::history::stats::calibration_table`]).
/// Printed by `cargo run -p offchain-risk --example collateral_weights`; the `collateral` test
/// fails if the doc differs.
pub fn weights_doc_section(data: &DataDir) -> Result<String, DataError> {
    // A valid literal day; `from_ymd` only fails on impossible dates.
    let common_from = Date::from_ymd(2020, 10, 1).unwrap_or(Date::EPOCH);
    let full =
        historical_weights_table(data, &DOC_SYMBOLS, &DOC_HORIZONS_DAYS, DOC_CONFIDENCE, None)?;
    let common = historical_weights_table(
        data,
        &DOC_SYMBOLS,
        &DOC_HORIZONS_DAYS,
        DOC_CONFIDENCE,
        Some(common_from),
    )?;
    let calibration =
        crate::history::stats::calibration_table(data, &DOC_SYMBOLS, DOC_CONFIDENCE, None)?;
    Ok(format!(
        "<!-- BEGIN GENERATED (cargo run -p offchain-risk --example collateral_weights) -->\n\
         ### Full history of each asset\n\n{full}\n\
         ### Common window from {common_from} (all seven assets)\n\n{common}\n\
         ### Calibration inputs and the EWMA-normal baseline (1 day, 99%, full history)\n\n{calibration}\
         <!-- END GENERATED -->\n"
    ))
}
