//! Scenario-grid margin with full revaluation (SPAN-like).
//!
//! Flow: the grid's scenarios are applied to one underlying at a time (products are margined
//! per underlying, as in PMRM and SPAN; cross-underlying offsets are left to the Monte Carlo
//! model, which knows correlations) → every position on it is revalued → the P&L vector per
//! scenario → the worst weighted loss. Maintenance per underlying is
//! `max(worst loss, short-option minimum) + basis add-on` (the add-on from
//! [`crate::margin::basis`], per perpetual and per futures expiry, never netted); initial is
//! maintenance × a factor.
//!
//! Two configurations ship: [`GridConfig::pmrm`] (the default; Derive's PMRM grid) and
//! [`GridConfig::span`] (CME SPAN's 16 scenarios).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::instrument::Instrument;
use crate::margin::basis::{basis_add_on, BasisRisk};
use crate::margin::factors::{ShockVector, VolTermScaling};
use crate::margin::revalue::{at_horizon, Exposure, PreparedBook};
use crate::margin::{MarginResult, PositionMargin};
use crate::pricing::OptionKind;

/// One row of the grid, applied to each underlying in turn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GridScenario {
    /// Spot return.
    pub spot_return: f64,
    /// Vol-level shock at the reference expiry (scaled by [`VolTermScaling`]).
    pub vol_level: f64,
    /// Skew rotation.
    pub skew_rotation: f64,
    /// Fraction of the loss that counts (dampened extreme moves below 1).
    pub loss_weight: f64,
}

/// Scenario-grid configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GridConfig {
    /// Scenario rows.
    pub scenarios: Vec<GridScenario>,
    /// Term scaling of vol shocks.
    pub vol_term: VolTermScaling,
    /// Initial margin = maintenance × this.
    pub initial_factor: f64,
    /// Short-option minimum per unit of underlying, as a fraction of spot.
    pub short_option_minimum: f64,
    /// Basis and funding risk of perpetuals and futures against spot, charged per bucket (the
    /// perpetual, each futures expiry) on top of the grid's worst loss; the project's default is
    /// the calibrated [`BasisRisk::CALIBRATED`].
    #[serde(default)]
    pub basis: BasisRisk,
}

impl Default for GridConfig {
    fn default() -> Self {
        Self::pmrm()
    }
}

const VOL_UP: f64 = 0.5;
const VOL_DOWN: f64 = -0.3;

impl GridConfig {
    /// Derive's PMRM-style grid: spot ±4.5%, ±9%, ±13.5% (and 0) with vol up / unchanged / down;
    /// ±18% with vol up; dampened extreme moves of ±36% with vol up at 35% cover; and skew
    /// rotations (a crash with a steepening put skew, and pure rotations either way).
    pub fn pmrm() -> Self {
        let mut scenarios = Vec::new();
        let row = |spot_return, vol_level, skew_rotation, loss_weight| GridScenario {
            spot_return,
            vol_level,
            skew_rotation,
            loss_weight,
        };
        for spot_return in [-0.135, -0.09, -0.045, 0.0, 0.045, 0.09, 0.135] {
            for vol_level in [VOL_UP, 0.0, VOL_DOWN] {
                scenarios.push(row(spot_return, vol_level, 0.0, 1.0));
            }
        }
        scenarios.push(row(-0.18, VOL_UP, 0.0, 1.0));
        scenarios.push(row(0.18, VOL_UP, 0.0, 1.0));
        scenarios.push(row(-0.36, VOL_UP, 0.0, 0.35));
        scenarios.push(row(0.36, VOL_UP, 0.0, 0.35));
        scenarios.push(row(-0.09, VOL_UP, 0.5, 1.0));
        scenarios.push(row(0.0, 0.0, 0.5, 1.0));
        scenarios.push(row(0.0, 0.0, -0.5, 1.0));
        Self {
            scenarios,
            vol_term: VolTermScaling::default(),
            initial_factor: 1.25,
            short_option_minimum: 0.01,
            basis: BasisRisk::CALIBRATED,
        }
    }

    /// CME SPAN's 16 scenarios for a price scan range `price_range` and a vol scan range
    /// `vol_range`: unchanged price, ±1/3, ±2/3, ±3/3 of the range, each with vol up and down,
    /// and two extreme moves of twice the range at 35% cover.
    pub fn span(price_range: f64, vol_range: f64) -> Self {
        let mut scenarios = Vec::with_capacity(16);
        let row = |spot_return, vol_level, loss_weight| GridScenario {
            spot_return,
            vol_level,
            skew_rotation: 0.0,
            loss_weight,
        };
        for fraction in [0.0, 1.0 / 3.0, -1.0 / 3.0, 2.0 / 3.0, -2.0 / 3.0, 1.0, -1.0] {
            scenarios.push(row(fraction * price_range, vol_range, 1.0));
            scenarios.push(row(fraction * price_range, -vol_range, 1.0));
        }
        scenarios.push(row(2.0 * price_range, 0.0, 0.35));
        scenarios.push(row(-2.0 * price_range, 0.0, 0.35));
        Self { scenarios, ..Self::pmrm() }
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
    /// Short-option minimum charge.
    pub short_option_minimum: f64,
    /// Basis and funding add-on ([`crate::margin::basis::BasisAddOn::total`]).
    pub basis_add_on: f64,
    /// `max(worst_loss, short_option_minimum) + basis_add_on`.
    pub maintenance_margin: f64,
}

/// Grid margin of a prepared book.
pub(crate) fn grid_margin(
    book: &PreparedBook<'_>,
    config: &GridConfig,
) -> Result<(MarginResult, Vec<UnderlyingGridMargin>)> {
    let underlyings = book.underlyings.len();
    // scenario_pnl[u][s]: P&L of underlying u's positions in scenario s.
    let mut scenario_pnl = vec![vec![0.0; config.scenarios.len()]; underlyings];
    let mut shock = ShockVector::zero(underlyings);
    let horizon = at_horizon(book, 0.0, &config.vol_term)?;
    for (s, scenario) in config.scenarios.iter().enumerate() {
        // Every underlying takes the same row at once; positions read only their own factor, so
        // this equals applying the row to one underlying at a time.
        shock.spot_return.fill(scenario.spot_return);
        shock.vol_level.fill(scenario.vol_level);
        shock.skew_rotation.fill(scenario.skew_rotation);
        for position in &horizon {
            scenario_pnl[position.underlying][s] += position.pnl(&shock)?;
        }
    }

    let mut per_underlying = Vec::with_capacity(underlyings);
    for (u, pnl) in scenario_pnl.iter().enumerate() {
        let (worst_scenario, worst_loss) = pnl
            .iter()
            .zip(&config.scenarios)
            .map(|(pnl, scenario)| -pnl * scenario.loss_weight)
            .enumerate()
            .fold((0, 0.0), |best, (s, loss)| if loss > best.1 { (s, loss) } else { best });
        let spot = book.spots[u];
        // Net size per option contract: a short offset by a long of the same contract is closed.
        let mut option_net: BTreeMap<(i64, u64, bool), f64> = BTreeMap::new();
        for position in book.positions.iter().filter(|p| p.underlying == u) {
            if let (Exposure::Option { .. }, Instrument::Option { expiry_ms, strike, kind, .. }) =
                (&position.exposure, &position.valuation.position.instrument)
            {
                let contract = (*expiry_ms, strike.to_bits(), *kind == OptionKind::Call);
                *option_net.entry(contract).or_insert(0.0) += position.size;
            }
        }
        let short_option_minimum: f64 = option_net
            .values()
            .map(|net| config.short_option_minimum * (-net).max(0.0) * spot)
            .sum();
        let basis_add_on =
            basis_add_on(book.positions.iter().filter(|p| p.underlying == u), &config.basis)
                .total();
        per_underlying.push(UnderlyingGridMargin {
            underlying: book.underlyings[u].clone(),
            worst_loss,
            worst_scenario,
            short_option_minimum,
            basis_add_on,
            maintenance_margin: worst_loss.max(short_option_minimum) + basis_add_on,
        });
    }

    // Breakdown: each position's P&L in its underlying's worst scenario (a loss is positive).
    let mut positions = Vec::with_capacity(book.positions.len());
    for (position, repriced) in book.positions.iter().zip(&horizon) {
        let row = &config.scenarios[per_underlying[position.underlying].worst_scenario];
        shock.spot_return.fill(row.spot_return);
        shock.vol_level.fill(row.vol_level);
        shock.skew_rotation.fill(row.skew_rotation);
        let loss = -repriced.pnl(&shock)? * row.loss_weight;
        positions.push(PositionMargin { mark_to_market: position.valuation.value, margin: loss });
    }
    let maintenance_margin: f64 = per_underlying.iter().map(|u| u.maintenance_margin).sum();
    Ok((
        MarginResult {
            mark_to_market: book.mark_to_market(),
            maintenance_margin,
            initial_margin: maintenance_margin * config.initial_factor,
            positions,
        },
        per_underlying,
    ))
}
