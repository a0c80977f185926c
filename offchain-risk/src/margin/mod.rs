//! Margin models on whole portfolios, as a staged pipeline:
//! scenario set ([`factors`]) → revalue every position under each scenario ([`revalue`], full
//! Black-76 repricing under the skewed surface; the grid and Monte Carlo run it batched, `batch`)
//! → P&L vector → risk measure.
//!
//! Four models, each giving mark-to-market, maintenance and initial margin and a per-position
//! breakdown ([`margin`]):
//! - [`MarginModel::Isolated`]: each position margined alone by the scenario grid, no netting;
//! - [`MarginModel::DeltaNetted`]: net delta per underlying × a shock, crude gamma/vega add-ons
//!   ([`delta`] documents what it is blind to);
//! - [`MarginModel::ScenarioGrid`]: a scenario grid with full revaluation ([`grid`]), configured
//!   by name ([`presets`]: the project's default, Derive's PMRM_2 and PMRM v1, CME SPAN);
//! - [`MarginModel::MonteCarlo`]: ES over the margin period of risk ([`monte_carlo`]).
//!
//! Every model carries the basis and funding risk of perpetuals and futures against spot
//! ([`basis`]): an add-on in the isolated, delta-netted and grid models, simulated factors in
//! Monte Carlo.

pub mod basis;
pub(crate) mod batch;
pub mod delta;
pub mod factors;
pub mod grid;
pub mod monte_carlo;
pub mod presets;
pub(crate) mod revalue;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::instrument::Portfolio;
use crate::market::MarketSnapshot;
use crate::valuation::PricingModel;
use delta::DeltaConfig;
use grid::{GridConfig, UnderlyingGridMargin};
use monte_carlo::{MonteCarloConfig, MonteCarloSummary};
use revalue::PreparedBook;

/// Which margin model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarginModel {
    /// Each position alone (the baseline).
    Isolated,
    /// Delta-netted cross margin.
    DeltaNetted,
    /// Scenario grid with full revaluation.
    ScenarioGrid,
    /// Monte Carlo expected shortfall.
    MonteCarlo,
}

impl MarginModel {
    /// All four, in the order tables show them.
    pub const ALL: [MarginModel; 4] =
        [Self::Isolated, Self::DeltaNetted, Self::ScenarioGrid, Self::MonteCarlo];

    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Isolated => "isolated",
            Self::DeltaNetted => "delta-netted",
            Self::ScenarioGrid => "scenario grid",
            Self::MonteCarlo => "Monte Carlo ES",
        }
    }
}

/// Every model's configuration (JSON with documented defaults; any part may be omitted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MarginConfig {
    /// Skew and delta conventions of the base valuation.
    pub pricing: PricingModel,
    /// Scenario grid (also used by the isolated model).
    pub grid: GridConfig,
    /// Delta netting.
    pub delta: DeltaConfig,
    /// Monte Carlo.
    pub monte_carlo: MonteCarloConfig,
}

/// One position's part of a margin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PositionMargin {
    /// The position's mark-to-market (USD).
    pub mark_to_market: f64,
    /// Its contribution to maintenance margin (USD; negative where it offsets others).
    pub margin: f64,
}

/// The margin of a portfolio under one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarginResult {
    /// Mark-to-market of the positions (USD).
    pub mark_to_market: f64,
    /// Maintenance margin (USD, ≥ 0).
    pub maintenance_margin: f64,
    /// Initial margin (USD, ≥ maintenance).
    pub initial_margin: f64,
    /// Per-position breakdown, in portfolio order.
    pub positions: Vec<PositionMargin>,
}

/// Model-specific detail beside the common result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum MarginDetail {
    /// Isolated: nothing beyond the per-position breakdown.
    Isolated,
    /// Delta netting: nothing beyond the breakdown.
    DeltaNetted,
    /// The grid's per-underlying worst scenario, minimums and add-ons.
    ScenarioGrid {
        /// Per underlying.
        underlyings: Vec<UnderlyingGridMargin>,
    },
    /// VaR, ES, standard error, seed.
    MonteCarlo(MonteCarloSummary),
}

/// A margin with its model and detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMargin {
    /// The model.
    pub model: MarginModel,
    /// Common numbers.
    #[serde(flatten)]
    pub result: MarginResult,
    /// Model-specific numbers.
    pub detail: MarginDetail,
}

/// Margins `portfolio` against `market` under `model`.
pub fn margin(
    portfolio: &Portfolio,
    market: &MarketSnapshot,
    model: MarginModel,
    config: &MarginConfig,
) -> Result<ModelMargin> {
    let book = PreparedBook::prepare(portfolio, market, &config.pricing)?;
    let (result, detail) = match model {
        MarginModel::Isolated => (isolated_margin(&book, &config.grid)?, MarginDetail::Isolated),
        MarginModel::DeltaNetted => {
            (delta::delta_margin(&book, &config.delta), MarginDetail::DeltaNetted)
        }
        MarginModel::ScenarioGrid => {
            let (result, underlyings) = grid::grid_margin(&book, &config.grid)?;
            (result, MarginDetail::ScenarioGrid { underlyings })
        }
        MarginModel::MonteCarlo => {
            let seed = input_seed(portfolio, market, &config.monte_carlo);
            let (result, summary) =
                monte_carlo::monte_carlo_margin(&book, &config.monte_carlo, seed)?;
            (result, MarginDetail::MonteCarlo(summary))
        }
    };
    Ok(ModelMargin { model, result, detail })
}

/// The pipeline's middle stage on its own: the P&L of every position under every scenario
/// (`pnl[s][p]`, USD), instantaneous (no time decay), with vol shocks scaled by `vol_term`.
pub fn scenario_pnl(
    portfolio: &Portfolio,
    market: &MarketSnapshot,
    scenarios: &[factors::Scenario],
    pricing: &PricingModel,
    vol_term: &factors::VolTermScaling,
) -> Result<Vec<Vec<f64>>> {
    let book = PreparedBook::prepare(portfolio, market, pricing)?;
    let horizon = revalue::at_horizon(&book, 0.0, vol_term)?;
    scenarios
        .iter()
        .map(|scenario| {
            let shock = factors::ShockVector::compile(scenario, &book.underlyings);
            horizon.iter().map(|p| p.pnl(&shock)).collect()
        })
        .collect()
}

/// The Monte Carlo seed: a stable hash of everything the result depends on, except the basis
/// risk parameters (so that margins with and without basis risk share their paths: books
/// without perpetuals or futures get bit-identical margins, and the basis factors' effect is
/// measured without sampling noise).
fn input_seed(portfolio: &Portfolio, market: &MarketSnapshot, config: &MonteCarloConfig) -> u64 {
    // Plain data structs of numbers and strings: JSON serialisation cannot fail.
    let portfolio = serde_json::to_vec(portfolio).unwrap_or_default();
    let market = serde_json::to_vec(market).unwrap_or_default();
    let config = MonteCarloConfig { basis: basis::BasisRisk::ZERO, ..config.clone() };
    let config_bytes = serde_json::to_vec(&config).unwrap_or_default();
    monte_carlo::stable_seed(&[&portfolio, &market, &config_bytes])
}

/// Isolated margin: the grid applied to each position on its own, summed.
fn isolated_margin(book: &PreparedBook<'_>, config: &GridConfig) -> Result<MarginResult> {
    let mut positions = Vec::with_capacity(book.positions.len());
    let mut initial_margin = 0.0;
    for position in &book.positions {
        let alone = PreparedBook {
            underlyings: book.underlyings.clone(),
            spots: book.spots.clone(),
            surfaces: book.surfaces.clone(),
            positions: vec![position.clone()],
        };
        let (result, _) = grid::grid_margin(&alone, config)?;
        initial_margin += result.initial_margin;
        positions.push(PositionMargin {
            mark_to_market: position.valuation.value,
            margin: result.maintenance_margin,
        });
    }
    let maintenance_margin: f64 = positions.iter().map(|p| p.margin).sum();
    Ok(MarginResult {
        mark_to_market: book.mark_to_market(),
        maintenance_margin,
        initial_margin,
        positions,
    })
}
