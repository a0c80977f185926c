//! Scenario-grid margin with full revaluation (SPAN / PMRM).
//!
//! Flow: the grid's scenarios are applied to one underlying at a time (products are margined
//! per underlying, as in PMRM and SPAN; cross-underlying offsets are left to the Monte Carlo
//! model, which knows correlations) → every position on it is revalued (vols moved as
//! [`VolDynamics`] says) → options are summed per expiry, where a static discount may scale the
//! shocked expiry value and skew rows take each expiry's worst side → the P&L vector per
//! scenario → the worst weighted loss. A per-expiry basis contingency (the loss of each expiry on
//! its own under a small spot move, summed without netting across expiries) floors the worst
//! loss. A basis and funding add-on ([`crate::margin::basis`], per perpetual and per futures
//! expiry, never netted) comes on top. Per underlying:
//!
//! - maintenance = `maintenance_factor · max(worst loss, basis contingency, short-option
//!   minimum) + basis add-on + maintenance add-ons`;
//! - initial = maintenance × `initial_factor`, or (PMRM_2) `initial_factor · max(…)` + basis
//!   add-on + maintenance and initial add-ons ([`InitialMarginRule`]).
//!
//! The named configurations are in [`crate::margin::presets`]: the project's default
//! ([`GridConfig::pmrm`]), Derive's PMRM_2 and PMRM v1 as deployed, and CME SPAN's 16 rows
//! ([`GridConfig::span`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::instrument::Instrument;
use crate::margin::basis::{basis_add_on, BasisRisk};
use crate::margin::batch::HorizonBook;
use crate::margin::factors::{ShockVector, VolDynamics, VolTermScaling};
use crate::margin::revalue::{at_horizon_with, Exposure, HorizonPosition, PreparedBook, VolRules};
use crate::margin::{MarginResult, PositionMargin};

/// A skew scenario of Derive's PMRM_2: the smile's wings are lifted (or the call wing lifted and
/// the put wing lowered) about the forward, at unchanged spot; each expiry counts its loss or,
/// if it gains, the negated gain (standing in for the opposite rotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WingShock {
    /// `VolShockDirection.Linear`: the multiplier rises with `k = ln(K/F)`.
    Linear,
    /// `VolShockDirection.Abs`: the multiplier rises with `|k|`.
    Abs,
}

/// One row of the grid, applied to each underlying in turn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GridScenario {
    /// Spot return.
    pub spot_return: f64,
    /// Vol-level shock at the reference expiry (scaled by [`VolTermScaling`]).
    pub vol_level: f64,
    /// Skew rotation.
    pub skew_rotation: f64,
    /// Fraction of the loss that counts (dampened extreme moves below 1; Derive's
    /// `dampeningFactor`).
    pub loss_weight: f64,
    /// A Derive skew row instead of a spot/vol move (spot, vol level and rotation are then 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wing_shock: Option<WingShock>,
}

impl GridScenario {
    /// A spot/vol/rotation row.
    pub const fn new(
        spot_return: f64,
        vol_level: f64,
        skew_rotation: f64,
        loss_weight: f64,
    ) -> Self {
        Self { spot_return, vol_level, skew_rotation, loss_weight, wing_shock: None }
    }

    /// A Derive skew row at unchanged spot and vol level.
    pub const fn wing(shape: WingShock) -> Self {
        Self {
            spot_return: 0.0,
            vol_level: 0.0,
            skew_rotation: 0.0,
            loss_weight: 1.0,
            wing_shock: Some(shape),
        }
    }
}

/// Parameters of [`WingShock`] rows (Derive's `SkewShockParameters`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WingShockParameters {
    /// Cap on the linear multiplier's move at `T = 0`.
    pub linear_base_cap: f64,
    /// Cap on the abs multiplier's move at `T = 0`.
    pub abs_base_cap: f64,
    /// Change of the linear cap per √year.
    pub linear_c_base: f64,
    /// Change of the abs cap per √year.
    pub abs_c_base: f64,
    /// Floor on `k*`, the log-moneyness where the multiplier reaches its cap.
    pub min_k_star: f64,
    /// `k* = √T · width_scale · vol_param`.
    pub width_scale: f64,
    /// `vol_param = vol_param_static + √T · vol_param_scale`.
    pub vol_param_static: f64,
    /// See `vol_param_static`.
    pub vol_param_scale: f64,
}

/// Derive's static discount on each expiry's shocked option value `V`: `V ≥ 0` is multiplied by
/// `long_base · exp(−T·(r·long_rate_mult + long_rate_add))`, `V < 0` by
/// `short_base / exp(−T·(r·short_rate_mult + short_rate_add))`, the latter capped at `1/df` when
/// `cap_short_at_inverse_discount` (PMRM_2). It applies in every scenario, the unshocked one too,
/// so it is a haircut on long option value (and, with a base above 1, a credit).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StaticDiscount {
    /// Base factor on a positive expiry value.
    pub long_base: f64,
    /// Multiple of the rate in a positive value's discount rate.
    pub long_rate_mult: f64,
    /// Added to a positive value's discount rate.
    pub long_rate_add: f64,
    /// Base factor on a negative expiry value.
    pub short_base: f64,
    /// Multiple of the rate in a negative value's discount rate.
    pub short_rate_mult: f64,
    /// Added to a negative value's discount rate.
    pub short_rate_add: f64,
    /// Cap the negative-value factor at `exp(r·T)`.
    pub cap_short_at_inverse_discount: bool,
}

impl StaticDiscount {
    /// The factors on a positive and a negative value of an expiry `expiry_years` away at `rate`.
    pub fn factors(&self, expiry_years: f64, rate: f64) -> (f64, f64) {
        let long = self.long_base
            * (-expiry_years * (rate * self.long_rate_mult + self.long_rate_add)).exp();
        let mut short = self.short_base
            / (-expiry_years * (rate * self.short_rate_mult + self.short_rate_add)).exp();
        if self.cap_short_at_inverse_discount {
            short = short.min((rate * expiry_years).exp());
        }
        (long, short)
    }
}

/// Derive's basis contingency: each expiry is revalued at spot × `spot_up` and × `spot_down`
/// (vol unchanged, no discount); its loss in the worse of the two (0 if both gain) times
/// `add_factor + mult_factor · T` is summed over expiries without netting, and the sum floors
/// the worst scenario loss. Dated futures join their expiry (Derive lists none).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BasisContingency {
    /// Spot factor of the up move (e.g. 1.045).
    pub spot_up: f64,
    /// Spot factor of the down move (e.g. 0.955).
    pub spot_down: f64,
    /// Constant part of the scale.
    pub add_factor: f64,
    /// Part of the scale per year to expiry.
    pub mult_factor: f64,
}

/// Flat add-ons on notional (Derive's contingencies), as fractions of USD notional:
/// perpetuals on `|net perpetual delta notional|`, dated futures on each expiry's
/// `|net delta notional|` (Derive lists none; they are charged as perpetuals), spot on
/// `|net spot notional|`, options on naked shorts per expiry and strike (shorts not covered by a
/// long of the same strike, call or put) × spot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FlatAddOns {
    /// Maintenance add-on on perpetual (and future) notional.
    pub perpetual: f64,
    /// Maintenance add-on on spot notional.
    pub spot: f64,
    /// Maintenance add-on on naked short option notional.
    pub naked_short_option: f64,
    /// Initial-only add-on on perpetual (and future) notional (on top of maintenance's).
    pub initial_perpetual: f64,
    /// Initial-only add-on on spot notional.
    pub initial_spot: f64,
    /// Initial-only add-on on naked short option notional.
    pub initial_naked_short_option: f64,
}

/// How initial margin is built from maintenance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialMarginRule {
    /// Initial = maintenance × `initial_factor` (the project, SPAN, PMRM v1).
    #[default]
    ScaledMaintenance,
    /// Initial = `initial_factor` × the floored worst loss + basis add-on + maintenance and
    /// initial add-ons (PMRM_2: `imFactor` replaces `mmFactor`, the contingencies add).
    ScaledLossPlusAddOns,
}

/// Scenario-grid configuration. Fields after `basis` default to "off" so
/// that older JSON configurations keep their meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridConfig {
    /// Scenario rows.
    pub scenarios: Vec<GridScenario>,
    /// Term scaling of vol shocks.
    pub vol_term: VolTermScaling,
    /// Initial margin factor (see [`InitialMarginRule`]).
    pub initial_factor: f64,
    /// Short-option minimum per unit of underlying, as a fraction of spot.
    pub short_option_minimum: f64,
    /// Basis and funding risk of perpetuals and futures against spot, charged per bucket (the
    /// perpetual, each futures expiry) on top of the grid's worst loss; the project's default is
    /// the calibrated [`BasisRisk::calibrated`] (per underlying).
    #[serde(default)]
    pub basis: BasisRisk,
    /// What implied vols do under a spot move.
    #[serde(default)]
    pub vol_dynamics: VolDynamics,
    /// Floor on an option's vol in vol-up rows (Derive PMRM_2's `minVolUpShock`; 0: none).
    #[serde(default)]
    pub min_vol_up: f64,
    /// Parameters of [`WingShock`] rows (used only if a row has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wing_shock: Option<WingShockParameters>,
    /// Maintenance = this × the floored worst loss + add-ons (Derive PMRM_2's `mmFactor`).
    #[serde(default = "one")]
    pub maintenance_factor: f64,
    /// How initial margin is built.
    #[serde(default)]
    pub initial_margin: InitialMarginRule,
    /// Static discount on shocked expiry option value (none: values count in full).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_discount: Option<StaticDiscount>,
    /// Per-expiry basis contingency (none: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis_contingency: Option<BasisContingency>,
    /// Flat add-ons on notional.
    #[serde(default)]
    pub add_ons: FlatAddOns,
}

fn one() -> f64 {
    1.0
}

impl Default for GridConfig {
    fn default() -> Self {
        Self::pmrm()
    }
}

const VOL_UP: f64 = 0.5;
const VOL_DOWN: f64 = -0.3;

impl GridConfig {
    /// The project's default grid (preset `project-default`): Derive PMRM_2's 23 core spot × vol
    /// rows (spot ±4.5%, ±9%, ±13.5% and 0 with vol up 50% / unchanged / down 30%; ±18% with vol
    /// up) and vol-term scaling; our own tails (±36% with vol up at 35% cover, SPAN's extreme-move
    /// rule) and skew rotations (a crash with a steepening put skew, and pure rotations either
    /// way); sticky moneyness; maintenance = `max(worst loss, 1% of spot per net short option)`
    /// plus a basis add-on on perpetual and future delta notional; initial = maintenance × 1.25.
    /// No static discount, basis contingency or flat add-ons (see `docs/CAPITAL_EFFICIENCY.md`
    /// for how it compares with Derive's presets).
    pub fn pmrm() -> Self {
        let mut scenarios = Vec::new();
        for spot_return in [-0.135, -0.09, -0.045, 0.0, 0.045, 0.09, 0.135] {
            for vol_level in [VOL_UP, 0.0, VOL_DOWN] {
                scenarios.push(GridScenario::new(spot_return, vol_level, 0.0, 1.0));
            }
        }
        scenarios.push(GridScenario::new(-0.18, VOL_UP, 0.0, 1.0));
        scenarios.push(GridScenario::new(0.18, VOL_UP, 0.0, 1.0));
        scenarios.push(GridScenario::new(-0.36, VOL_UP, 0.0, 0.35));
        scenarios.push(GridScenario::new(0.36, VOL_UP, 0.0, 0.35));
        scenarios.push(GridScenario::new(-0.09, VOL_UP, 0.5, 1.0));
        scenarios.push(GridScenario::new(0.0, 0.0, 0.5, 1.0));
        scenarios.push(GridScenario::new(0.0, 0.0, -0.5, 1.0));
        Self {
            scenarios,
            vol_term: VolTermScaling::default(),
            initial_factor: 1.25,
            short_option_minimum: 0.01,
            basis: BasisRisk::calibrated(),
            vol_dynamics: VolDynamics::StickyMoneyness,
            min_vol_up: 0.0,
            wing_shock: None,
            maintenance_factor: 1.0,
            initial_margin: InitialMarginRule::ScaledMaintenance,
            static_discount: None,
            basis_contingency: None,
            add_ons: FlatAddOns::default(),
        }
    }

    /// CME SPAN's 16 scenarios for a price scan range `price_range` and a vol scan range
    /// `vol_range`: unchanged price, ±1/3, ±2/3, ±3/3 of the range, each with vol up and down,
    /// and two extreme moves of twice the range at 35% cover. Minimums, add-ons and the initial
    /// factor are the project default's.
    pub fn span(price_range: f64, vol_range: f64) -> Self {
        let mut scenarios = Vec::with_capacity(16);
        for fraction in [0.0, 1.0 / 3.0, -1.0 / 3.0, 2.0 / 3.0, -2.0 / 3.0, 1.0, -1.0] {
            scenarios.push(GridScenario::new(fraction * price_range, vol_range, 0.0, 1.0));
            scenarios.push(GridScenario::new(fraction * price_range, -vol_range, 0.0, 1.0));
        }
        scenarios.push(GridScenario::new(2.0 * price_range, 0.0, 0.0, 0.35));
        scenarios.push(GridScenario::new(-2.0 * price_range, 0.0, 0.0, 0.35));
        Self { scenarios, ..Self::pmrm() }
    }

    /// This configuration with `dynamics` instead of its own vol dynamics.
    pub fn with_vol_dynamics(mut self, dynamics: VolDynamics) -> Self {
        self.vol_dynamics = dynamics;
        self
    }

    fn vol_rules(&self) -> VolRules {
        VolRules { term: self.vol_term, dynamics: self.vol_dynamics, min_vol_up: self.min_vol_up }
    }
}

/// Per-underlying outcome of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnderlyingGridMargin {
    /// Underlying symbol.
    pub underlying: String,
    /// Worst weighted scenario loss (≥ 0).
    pub worst_loss: f64,
    /// Index of the worst scenario in the config.
    pub worst_scenario: usize,
    /// Per-expiry basis contingency, summed without netting (0 when off).
    pub basis_contingency: f64,
    /// Short-option minimum charge.
    pub short_option_minimum: f64,
    /// Basis and funding add-on ([`crate::margin::basis::BasisAddOn::total`]).
    pub basis_add_on: f64,
    /// Flat maintenance add-ons on perpetual, spot and naked short option notional.
    pub maintenance_add_ons: f64,
    /// Flat initial-only add-ons.
    pub initial_add_ons: f64,
    /// `maintenance_factor · max(worst_loss, basis_contingency, short_option_minimum) +
    /// basis_add_on + maintenance_add_ons`.
    pub maintenance_margin: f64,
    /// Initial margin (see [`InitialMarginRule`]).
    pub initial_margin: f64,
}

/// The options (and futures) of one underlying and expiry.
struct ExpiryBucket {
    underlying: usize,
    expiry_years: f64,
    /// Static discount factors on a positive and a negative shocked option value.
    discount_long: f64,
    discount_short: f64,
}

/// Grid margin of a prepared book.
pub(crate) fn grid_margin(
    book: &PreparedBook<'_>,
    config: &GridConfig,
) -> Result<(MarginResult, Vec<UnderlyingGridMargin>)> {
    let underlyings = book.underlyings.len();
    let horizon = HorizonBook::new(at_horizon_with(book, 0.0, &config.vol_rules())?);

    // Expiry buckets of options and futures, and each position's bucket (none for spot and
    // perpetuals).
    let mut bucket_keys: Vec<(usize, i64)> = Vec::new();
    let mut buckets: Vec<ExpiryBucket> = Vec::new();
    let mut bucket_of: Vec<Option<usize>> = Vec::with_capacity(book.positions.len());
    for position in &book.positions {
        let expiry_ms = match &position.valuation.position.instrument {
            Instrument::Option { expiry_ms, .. } | Instrument::Future { expiry_ms, .. } => {
                *expiry_ms
            }
            _ => {
                bucket_of.push(None);
                continue;
            }
        };
        let key = (position.underlying, expiry_ms);
        let index = match bucket_keys.iter().position(|k| *k == key) {
            Some(index) => index,
            None => {
                let (expiry_years, rate) = match &position.exposure {
                    Exposure::Option { expiry_years, rate, .. } => (*expiry_years, *rate),
                    Exposure::DeltaOne { .. } => {
                        (position.valuation.unit.expiry_years.unwrap_or(0.0), 0.0)
                    }
                };
                let (discount_long, discount_short) = match &config.static_discount {
                    Some(discount) => discount.factors(expiry_years, rate),
                    None => (1.0, 1.0),
                };
                bucket_keys.push(key);
                buckets.push(ExpiryBucket {
                    underlying: position.underlying,
                    expiry_years,
                    discount_long,
                    discount_short,
                });
                buckets.len() - 1
            }
        };
        // A later option of a bucket opened by a future supplies the rate the future lacked.
        if let (Exposure::Option { expiry_years, rate, .. }, Some(discount)) =
            (&position.exposure, &config.static_discount)
        {
            let (long, short) = discount.factors(*expiry_years, *rate);
            buckets[index].discount_long = long;
            buckets[index].discount_short = short;
        }
        bucket_of.push(Some(index));
    }

    // scenario_pnl[u][s]: P&L of underlying u's positions in scenario s. Scratch space is
    // allocated once; the scenario loop only fills it.
    let mut scenario_pnl = vec![vec![0.0; config.scenarios.len()]; underlyings];
    // Per scenario, sums by sink: buckets first, then underlyings (the positions outside any
    // bucket); each position's sink is fixed once.
    let nb = buckets.len();
    let sink_of: Vec<usize> = horizon
        .positions
        .iter()
        .zip(&bucket_of)
        .map(|(position, bucket)| bucket.unwrap_or(nb + position.underlying))
        .collect();
    let mut sink_pnl = vec![0.0; nb + underlyings];
    let mut sink_value = vec![0.0; nb + underlyings];
    let mut shock = ShockVector::zero(underlyings);
    let wing_params = config.wing_shock.unwrap_or(WingShockParameters::derive_pmrm2());
    let mut scratch = horizon.scratch();
    // Each position's P&L in each scenario (scenario-major), for the breakdown.
    let n = horizon.positions.len();
    let mut position_pnl = vec![0.0; config.scenarios.len() * n];
    for (s, scenario) in config.scenarios.iter().enumerate() {
        // Every underlying takes the same row at once; positions read only their own factor, so
        // this equals applying the row to one underlying at a time.
        shock.spot_return.fill(scenario.spot_return);
        shock.vol_level.fill(scenario.vol_level);
        shock.skew_rotation.fill(scenario.skew_rotation);
        sink_pnl.fill(0.0);
        sink_value.fill(0.0);
        match scenario.wing_shock {
            Some(shape) => {
                for (i, position) in horizon.positions.iter().enumerate() {
                    (scratch.pnl[i], scratch.value[i]) = position.wing_shocked(shape, &wing_params);
                }
            }
            None => horizon.revalue_into(&shock, &mut scratch)?,
        }
        position_pnl[s * n..(s + 1) * n].copy_from_slice(&scratch.pnl);
        for ((pnl, value), sink) in scratch.pnl.iter().zip(&scratch.value).zip(&sink_of) {
            sink_pnl[*sink] += pnl;
            // Delta-one values are 0: their sinks' values are never read.
            sink_value[*sink] += value;
        }
        let (bucket_pnl, underlying_pnl) = sink_pnl.split_at_mut(nb);
        let bucket_value = &sink_value[..nb];
        for (b, bucket) in buckets.iter().enumerate() {
            let value = bucket_value[b];
            let discount = if value >= 0.0 { bucket.discount_long } else { bucket.discount_short };
            let mut pnl = bucket_pnl[b] + (discount - 1.0) * value;
            if scenario.wing_shock.is_some() {
                pnl = -pnl.abs();
            }
            underlying_pnl[bucket.underlying] += pnl;
        }
        for (u, pnl) in underlying_pnl.iter().enumerate() {
            scenario_pnl[u][s] = *pnl;
        }
    }

    let basis_contingency =
        basis_contingencies(config, underlyings, &horizon.positions, &bucket_of, &buckets)?;

    let mut per_underlying = Vec::with_capacity(underlyings);
    for (u, pnl) in scenario_pnl.iter().enumerate() {
        let (worst_scenario, worst_loss) = pnl
            .iter()
            .zip(&config.scenarios)
            .map(|(pnl, scenario)| -pnl * scenario.loss_weight)
            .enumerate()
            .fold((0, 0.0), |best, (s, loss)| if loss > best.1 { (s, loss) } else { best });
        let charges = notional_charges(book, u, config);
        let floored = worst_loss.max(basis_contingency[u]).max(charges.short_option_minimum);
        let maintenance_margin = config.maintenance_factor * floored
            + charges.basis_add_on
            + charges.maintenance_add_ons;
        let initial_margin = match config.initial_margin {
            InitialMarginRule::ScaledMaintenance => maintenance_margin * config.initial_factor,
            InitialMarginRule::ScaledLossPlusAddOns => {
                config.initial_factor * floored
                    + charges.basis_add_on
                    + charges.maintenance_add_ons
                    + charges.initial_add_ons
            }
        };
        per_underlying.push(UnderlyingGridMargin {
            underlying: book.underlyings[u].clone(),
            worst_loss,
            worst_scenario,
            basis_contingency: basis_contingency[u],
            short_option_minimum: charges.short_option_minimum,
            basis_add_on: charges.basis_add_on,
            maintenance_add_ons: charges.maintenance_add_ons,
            initial_add_ons: charges.initial_add_ons,
            maintenance_margin,
            initial_margin,
        });
    }

    // Breakdown: each position's P&L in its underlying's worst scenario (a loss is positive).
    let mut positions = Vec::with_capacity(book.positions.len());
    for (i, position) in book.positions.iter().enumerate() {
        let worst = per_underlying[position.underlying].worst_scenario;
        let row = &config.scenarios[worst];
        let pnl = position_pnl[worst * n + i];
        positions.push(PositionMargin {
            mark_to_market: position.valuation.value,
            margin: -pnl * row.loss_weight,
        });
    }
    let maintenance_margin: f64 = per_underlying.iter().map(|u| u.maintenance_margin).sum();
    let initial_margin: f64 = per_underlying.iter().map(|u| u.initial_margin).sum();
    Ok((
        MarginResult {
            mark_to_market: book.mark_to_market(),
            maintenance_margin,
            initial_margin,
            positions,
        },
        per_underlying,
    ))
}

/// Per underlying, the basis contingency of [`BasisContingency`] (0 when off).
fn basis_contingencies(
    config: &GridConfig,
    underlyings: usize,
    horizon: &[HorizonPosition],
    bucket_of: &[Option<usize>],
    buckets: &[ExpiryBucket],
) -> Result<Vec<f64>> {
    let mut per_underlying = vec![0.0; underlyings];
    let Some(basis) = &config.basis_contingency else {
        return Ok(per_underlying);
    };
    let mut up = vec![0.0; buckets.len()];
    let mut down = vec![0.0; buckets.len()];
    let mut shock = ShockVector::zero(underlyings);
    for (spot_factor, pnl) in [(basis.spot_up, &mut up), (basis.spot_down, &mut down)] {
        shock.spot_return.fill(spot_factor - 1.0);
        for (position, bucket) in horizon.iter().zip(bucket_of) {
            if let Some(b) = bucket {
                pnl[*b] += position.pnl(&shock)?;
            }
        }
    }
    for (b, bucket) in buckets.iter().enumerate() {
        let loss = -up[b].min(down[b]).min(0.0);
        per_underlying[bucket.underlying] +=
            loss * (basis.add_factor + basis.mult_factor * bucket.expiry_years);
    }
    Ok(per_underlying)
}

/// The charges on one underlying that depend on notional rather than on scenarios.
struct NotionalCharges {
    short_option_minimum: f64,
    basis_add_on: f64,
    maintenance_add_ons: f64,
    initial_add_ons: f64,
}

fn notional_charges(book: &PreparedBook<'_>, u: usize, config: &GridConfig) -> NotionalCharges {
    let spot = book.spots[u];
    // Net size per option contract: a short offset by a long of the same contract is closed.
    let mut option_net: BTreeMap<(i64, u64, bool), f64> = BTreeMap::new();
    // Net size per expiry and strike, calls and puts together (Derive's naked-short count).
    let mut strike_net: BTreeMap<(i64, u64), f64> = BTreeMap::new();
    let mut future_net: BTreeMap<i64, f64> = BTreeMap::new();
    let mut perpetual_net = 0.0;
    let mut spot_net = 0.0;
    for position in book.positions.iter().filter(|p| p.underlying == u) {
        match (&position.exposure, &position.valuation.position.instrument) {
            (Exposure::Option { .. }, Instrument::Option { expiry_ms, strike, kind, .. }) => {
                let is_call = *kind == crate::pricing::OptionKind::Call;
                *option_net.entry((*expiry_ms, strike.to_bits(), is_call)).or_insert(0.0) +=
                    position.size;
                *strike_net.entry((*expiry_ms, strike.to_bits())).or_insert(0.0) += position.size;
            }
            (Exposure::DeltaOne { pnl_per_return, .. }, Instrument::Perpetual { .. }) => {
                perpetual_net += pnl_per_return;
            }
            (Exposure::DeltaOne { pnl_per_return, .. }, Instrument::Future { expiry_ms, .. }) => {
                *future_net.entry(*expiry_ms).or_insert(0.0) += pnl_per_return;
            }
            (Exposure::DeltaOne { pnl_per_return, .. }, Instrument::Spot { .. }) => {
                spot_net += pnl_per_return;
            }
            _ => {}
        }
    }
    let short_option_minimum: f64 =
        option_net.values().map(|net| config.short_option_minimum * (-net).max(0.0) * spot).sum();
    let naked_short_notional: f64 = strike_net.values().map(|net| (-net).max(0.0) * spot).sum();
    let delta_one_notional =
        perpetual_net.abs() + future_net.values().map(|n| n.abs()).sum::<f64>();
    let add_ons = &config.add_ons;
    NotionalCharges {
        short_option_minimum,
        basis_add_on: basis_add_on(
            book.positions.iter().filter(|p| p.underlying == u),
            &config.basis,
        )
        .total(),
        maintenance_add_ons: add_ons.perpetual * delta_one_notional
            + add_ons.spot * spot_net.abs()
            + add_ons.naked_short_option * naked_short_notional,
        initial_add_ons: add_ons.initial_perpetual * delta_one_notional
            + add_ons.initial_spot * spot_net.abs()
            + add_ons.initial_naked_short_option * naked_short_notional,
    }
}
