//! Delta-netted cross margin: per underlying, the net dollar delta times a spot shock, plus crude
//! gamma and vega add-ons, plus the basis add-on ([`crate::margin::basis`]): a perpetual or a
//! future hedged with spot nets its delta to zero but still carries basis and funding risk.
//!
//! Its blindness is the point of measuring it: the add-ons see only *net* gamma and *net* vega
//! per underlying, so books whose Greeks cancel at the current spot but not after a move (a risk
//! reversal, a calendar spread, a delta-hedged short strangle's wings) are charged little or
//! nothing; it knows no skew, no term structure of vol moves, and nothing beyond second order.
//! The scenario grid and Monte Carlo revalue in full and catch what this misses.

use serde::{Deserialize, Serialize};

use crate::margin::basis::{basis_add_on, BasisRisk};
use crate::margin::revalue::PreparedBook;
use crate::margin::{MarginResult, PositionMargin};

/// Delta-netting configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeltaConfig {
    /// Spot shock applied to the net delta (default the grid's largest ordinary move, 18%).
    pub spot_shock: f64,
    /// Absolute vol shock applied to the net vega (default 10 vol points).
    pub vol_shock: f64,
    /// Initial margin = maintenance × this.
    pub initial_factor: f64,
    /// Basis and funding risk of perpetuals and futures against spot.
    #[serde(default)]
    pub basis: BasisRisk,
}

impl Default for DeltaConfig {
    fn default() -> Self {
        Self {
            spot_shock: 0.18,
            vol_shock: 0.10,
            initial_factor: 1.25,
            basis: BasisRisk::calibrated(),
        }
    }
}

/// Delta-netted margin of a prepared book.
pub(crate) fn delta_margin(book: &PreparedBook<'_>, config: &DeltaConfig) -> MarginResult {
    let underlyings = book.underlyings.len();
    let mut net_delta = vec![0.0; underlyings];
    let mut net_gamma = vec![0.0; underlyings];
    let mut net_vega = vec![0.0; underlyings];
    for position in &book.positions {
        net_delta[position.underlying] += position.valuation.delta;
        net_gamma[position.underlying] += position.valuation.gamma;
        net_vega[position.underlying] += position.valuation.vega;
    }
    let mut maintenance_margin = 0.0;
    for u in 0..underlyings {
        let move_usd = book.spots[u] * config.spot_shock;
        let delta_charge = net_delta[u].abs() * move_usd;
        // Only net short gamma loses on a move; long gamma earns no credit.
        let gamma_charge = 0.5 * (-net_gamma[u]).max(0.0) * move_usd * move_usd;
        let vega_charge = net_vega[u].abs() * config.vol_shock;
        let basis_charge =
            basis_add_on(book.positions.iter().filter(|p| p.underlying == u), &config.basis)
                .total();
        maintenance_margin += delta_charge + gamma_charge + vega_charge + basis_charge;
    }
    // Breakdown: each position's share of its underlying's delta charge (signed against the net).
    let positions = book
        .positions
        .iter()
        .map(|position| {
            let u = position.underlying;
            let direction = if net_delta[u] >= 0.0 { 1.0 } else { -1.0 };
            PositionMargin {
                mark_to_market: position.valuation.value,
                margin: direction * position.valuation.delta * book.spots[u] * config.spot_shock,
            }
        })
        .collect();
    MarginResult {
        mark_to_market: book.mark_to_market(),
        maintenance_margin,
        initial_margin: maintenance_margin * config.initial_factor,
        positions,
    }
}
