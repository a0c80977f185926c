//! Batched revaluation of a book at one horizon: what the scenario grid and Monte Carlo run once
//! per scenario or path.
//!
//! Flow: the book's [`HorizonPosition`]s → options revalued under sticky moneyness (the default
//! dynamics) and delta-one positions are collected once with what their revaluation reads, the
//! rest stays on [`HorizonPosition::revalue`] →
//! per shock, a spot stage per option (`x = ln(F'/K) = ln(F/K) + ln(1 + r)` with one `ln_1p` per
//! underlying instead of one `ln` per option, the shocked forward, the smile's total volatility
//! at `k = −x`), kept while the spot returns repeat (the grid's vol rows of one spot move share
//! it) → a price stage per option (vol-level and skew shocks, one Black-76 price) → each
//! position's P&L and shocked value, in book order.
//!
//! The hot loops cannot fail: each option's smile was checked once to have positive total
//! variance at every k ([`HorizonPosition::sticky_moneyness_option`]), and a shock whose spot
//! return leaves `ln(1 + r)` non-finite sends the whole book to the checked path, which reports
//! the error it always did. Values equal [`HorizonPosition::revalue`]'s up to rounding (tested:
//! within 1e-12 of the notional).

use crate::error::Result;
use crate::margin::factors::{ShockVector, VolTermScaling};
use crate::margin::revalue::{delta_one_pnl, HorizonBasis, HorizonPosition, StickyMoneynessOption};
use crate::pricing::black76::{self, log_moneyness};

/// A book at one horizon, ready for batched revaluation.
#[derive(Debug, Clone)]
pub(crate) struct HorizonBook {
    /// Every position, in book order.
    pub positions: Vec<HorizonPosition>,
    options: Vec<BatchOption>,
    delta_one: Vec<BatchDeltaOne>,
    /// Positions revalued one at a time: options under other vol dynamics, flat vol, expired.
    others: Vec<usize>,
}

/// A delta-one position: its P&L is [`delta_one_pnl`], as on the one-position path.
#[derive(Debug, Clone, Copy)]
struct BatchDeltaOne {
    position: usize,
    underlying: usize,
    pnl_per_return: f64,
    basis: HorizonBasis,
}

/// One batched option: its [`StickyMoneynessOption`] and what the spot stage derives from it
/// once.
#[derive(Debug, Clone, Copy)]
struct BatchOption {
    /// Index in [`HorizonBook::positions`].
    position: usize,
    option: StickyMoneynessOption,
    /// F/K and ln(F/K) in the base market.
    forward_over_strike: f64,
    log_forward_over_strike: f64,
}

/// One option after a spot move (the spot stage's output).
#[derive(Debug, Clone, Copy, Default)]
struct SpotMoved {
    /// ln(F'/K) (k = −x).
    log_forward_over_strike: f64,
    forward: f64,
    forward_over_strike: f64,
    /// The smile's total volatility σ√T at k, before vol-level and skew shocks.
    total_vol: f64,
}

/// Scratch space of [`HorizonBook::revalue_into`], one per thread; its outputs are `pnl` and
/// `value`.
#[derive(Debug, Clone)]
pub(crate) struct RevalueScratch {
    /// P&L of each position (USD), in book order.
    pub pnl: Vec<f64>,
    /// Shocked value of each position (USD; 0 for delta-one), in book order.
    pub value: Vec<f64>,
    /// Whether `moved` holds the spot stage of `spot_key`'s returns (bit patterns).
    moved_valid: bool,
    spot_key: Vec<u64>,
    log_return: Vec<f64>,
    moved: Vec<SpotMoved>,
}

impl HorizonBook {
    /// Sorts the positions into batched options and the rest.
    pub fn new(positions: Vec<HorizonPosition>) -> Self {
        let mut options = Vec::with_capacity(positions.len());
        let mut delta_one = Vec::new();
        let mut others = Vec::new();
        for (index, position) in positions.iter().enumerate() {
            if let Some((pnl_per_return, basis)) = position.delta_one() {
                delta_one.push(BatchDeltaOne {
                    position: index,
                    underlying: position.underlying,
                    pnl_per_return,
                    basis,
                });
                continue;
            }
            match position.sticky_moneyness_option() {
                Some(option) => options.push(BatchOption {
                    position: index,
                    forward_over_strike: option.forward / option.strike,
                    log_forward_over_strike: log_moneyness(option.forward, option.strike),
                    option,
                }),
                None => others.push(index),
            }
        }
        // Options whose smile uses one slice first, so the spot stage's test of it changes
        // once per pass (stable: book order within each group).
        options.sort_by_key(|batch| !batch.option.smile.uses_one_slice());
        Self { positions, options, delta_one, others }
    }

    /// Scratch space sized for this book.
    pub fn scratch(&self) -> RevalueScratch {
        RevalueScratch {
            pnl: vec![0.0; self.positions.len()],
            value: vec![0.0; self.positions.len()],
            moved_valid: false,
            spot_key: Vec::new(),
            log_return: Vec::new(),
            moved: vec![SpotMoved::default(); self.options.len()],
        }
    }

    /// Every position's P&L and shocked value under `shock`, into `scratch.pnl` and
    /// `scratch.value` (as [`HorizonPosition::revalue`] gives them, up to rounding).
    pub fn revalue_into(&self, shock: &ShockVector, scratch: &mut RevalueScratch) -> Result<()> {
        if !self.move_spot(shock, scratch) {
            // ln(1 + r) is not finite: the checked path reports the error.
            for (i, position) in self.positions.iter().enumerate() {
                (scratch.pnl[i], scratch.value[i]) = position.revalue(shock)?;
            }
            return Ok(());
        }
        self.price_options(shock, scratch);
        for d in &self.delta_one {
            scratch.pnl[d.position] =
                delta_one_pnl(d.pnl_per_return, &d.basis, d.underlying, shock);
            scratch.value[d.position] = 0.0;
        }
        for &i in &self.others {
            (scratch.pnl[i], scratch.value[i]) = self.positions[i].revalue(shock)?;
        }
        Ok(())
    }

    /// The spot stage, skipped when the spot returns are those of the last call; false if some
    /// ln(1 + r) is not finite.
    fn move_spot(&self, shock: &ShockVector, scratch: &mut RevalueScratch) -> bool {
        let returns = &shock.spot_return;
        if scratch.moved_valid
            && scratch.spot_key.len() == returns.len()
            && scratch.spot_key.iter().zip(returns).all(|(k, r)| *k == r.to_bits())
        {
            return true;
        }
        scratch.moved_valid = false;
        scratch.log_return.clear();
        scratch.log_return.extend(returns.iter().map(|r| r.ln_1p()));
        if !scratch.log_return.iter().all(|l| l.is_finite()) {
            return false;
        }
        for (batch, moved) in self.options.iter().zip(&mut scratch.moved) {
            let option = &batch.option;
            let growth = 1.0 + returns[option.underlying];
            // ln(F'/K) = ln(F/K) + ln(1 + r): both terms accurate, no `ln` per option.
            let x = batch.log_forward_over_strike + scratch.log_return[option.underlying];
            let variance = if option.smile.uses_one_slice() {
                option.smile.one_slice_total_variance_unchecked(-x)
            } else {
                option.smile.total_variance_unchecked(-x)
            };
            *moved = SpotMoved {
                log_forward_over_strike: x,
                forward: option.forward * growth,
                forward_over_strike: batch.forward_over_strike * growth,
                total_vol: variance.sqrt() * option.total_vol_scale,
            };
        }
        scratch.spot_key.clear();
        scratch.spot_key.extend(returns.iter().map(|r| r.to_bits()));
        scratch.moved_valid = true;
        true
    }

    /// The price stage: vol-level and skew shocks, then one Black-76 price per option.
    fn price_options(&self, shock: &ShockVector, scratch: &mut RevalueScratch) {
        for (batch, moved) in self.options.iter().zip(&scratch.moved) {
            let option = &batch.option;
            let vol_level = shock.vol_level[option.underlying];
            let skew = shock.skew_rotation[option.underlying];
            let x = moved.log_forward_over_strike;
            let total_vol_now = moved.total_vol;
            // As in `HorizonPosition::revalue`, with k = −x.
            let level = VolTermScaling::multiplier_from_scale(vol_level, option.vol_term_scale);
            let mut total_vol =
                (total_vol_now * level * (1.0 + skew * x)).max(0.01 * total_vol_now);
            if vol_level > 0.0 {
                total_vol = total_vol.max(option.vol_up_floor);
            }
            let price = black76::price_at_moneyness(
                option.kind,
                moved.forward,
                option.strike,
                moved.forward_over_strike,
                x,
                total_vol,
                option.discount_factor,
            );
            scratch.pnl[batch.position] = option.size * (price - option.base_price);
            scratch.value[batch.position] = option.size * price;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::instrument::{Instrument, Portfolio, Position, Settlement};
    use crate::margin::factors::VolDynamics;
    use crate::margin::revalue::{at_horizon_with, PreparedBook, VolRules};
    use crate::market::MarketSnapshot;
    use crate::pricing::OptionKind;
    use crate::valuation::PricingModel;

    const NEAR: i64 = 1_707_884_000_000;
    const FAR: i64 = 1_731_536_000_000;

    fn market() -> MarketSnapshot {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/market.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Calls and puts across strikes from deep in to deep out of the money on both expiries,
    /// linear and inverse, with delta-one positions between them.
    fn book() -> Portfolio {
        let mut positions = Vec::new();
        for (i, strike) in (0..41).map(|i| 10_000.0 + 2_500.0 * f64::from(i)).enumerate() {
            for (expiry_ms, kind, settlement) in [
                (NEAR, OptionKind::Call, Settlement::Linear),
                (FAR, OptionKind::Put, Settlement::Linear),
                (NEAR, OptionKind::Put, Settlement::Inverse),
                (FAR, OptionKind::Call, Settlement::Inverse),
            ] {
                let size = if i % 2 == 0 { 1.5 } else { -2.0 };
                positions.push(Position {
                    instrument: Instrument::Option {
                        underlying: "BTC".into(),
                        expiry_ms,
                        strike,
                        kind,
                        settlement,
                    },
                    size,
                    entry_price: None,
                });
            }
            if i % 10 == 0 {
                positions.push(Position {
                    instrument: Instrument::Perpetual {
                        underlying: "BTC".into(),
                        settlement: Settlement::Inverse,
                    },
                    size: 1.0,
                    entry_price: Some(45_000.0),
                });
            }
        }
        Portfolio { account: None, positions }
    }

    fn shock(spot_return: f64, vol_level: f64, skew: f64) -> ShockVector {
        let mut shock = ShockVector::zero(1);
        shock.spot_return[0] = spot_return;
        shock.vol_level[0] = vol_level;
        shock.skew_rotation[0] = skew;
        shock.perpetual_premium[0] = 0.001;
        shock
    }

    /// The batch agrees with the checked one-position path within 1e-12 of each position's
    /// notional (|size| × shocked forward), over spot moves of ±60%, vol levels from −60% to
    /// +150% and skew rotations either way, at an instant and a day ahead, also when
    /// consecutive shocks share their spot return (the cached spot stage).
    #[test]
    fn batched_revaluation_matches_the_checked_path_within_1e_12_of_notional() {
        let market = market();
        let book = PreparedBook::prepare(&book(), &market, &PricingModel::default()).unwrap();
        let mut compared = 0;
        for horizon_years in [0.0, 1.0 / 365.0] {
            for min_vol_up in [0.0, 0.6] {
                let rules = VolRules {
                    term: VolTermScaling::default(),
                    dynamics: VolDynamics::StickyMoneyness,
                    min_vol_up,
                };
                let horizon =
                    HorizonBook::new(at_horizon_with(&book, horizon_years, &rules).unwrap());
                assert!(horizon.options.len() >= 160, "every option is batched");
                let mut scratch = horizon.scratch();
                for spot_return in [-0.6, -0.36, -0.135, -0.045, 0.0, 1e-9, 0.09, 0.18, 0.6] {
                    for vol_level in [0.5, 0.0, -0.3, -0.6, 1.5] {
                        for skew in [0.0, 0.5, -0.5] {
                            let shock = shock(spot_return, vol_level, skew);
                            horizon.revalue_into(&shock, &mut scratch).unwrap();
                            for (i, position) in horizon.positions.iter().enumerate() {
                                let (pnl, value) = position.revalue(&shock).unwrap();
                                let size = book.positions[i].size.abs();
                                let notional = size * book.spots[0] * (1.0 + spot_return);
                                let tolerance = 1e-12 * notional;
                                assert!(
                                    (scratch.pnl[i] - pnl).abs() <= tolerance
                                        && (scratch.value[i] - value).abs() <= tolerance,
                                    "position {i} under {shock:?}: batch ({}, {}) vs ({pnl}, {value})",
                                    scratch.pnl[i],
                                    scratch.value[i]
                                );
                                compared += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(compared > 20_000);
    }

    /// A spot return of −100% (ln(1 + r) = −∞) gets the checked path's error, and the batch
    /// recovers on the next shock.
    #[test]
    fn a_shock_outside_the_domain_reports_the_checked_error() {
        let market = market();
        let book = PreparedBook::prepare(&book(), &market, &PricingModel::default()).unwrap();
        let positions =
            at_horizon_with(&book, 0.0, &VolRules::from_term(&VolTermScaling::default())).unwrap();
        let expected = positions
            .iter()
            .map(|p| p.revalue(&shock(-1.0, 0.0, 0.0)))
            .find_map(|r| r.err())
            .expect("the checked path fails at −100%");
        let horizon = HorizonBook::new(positions);
        let mut scratch = horizon.scratch();
        let error = horizon.revalue_into(&shock(-1.0, 0.0, 0.0), &mut scratch).unwrap_err();
        assert_eq!(error.to_string(), expected.to_string());
        horizon.revalue_into(&shock(-0.1, 0.5, 0.0), &mut scratch).unwrap();
        let (pnl, _) = horizon.positions[0].revalue(&shock(-0.1, 0.5, 0.0)).unwrap();
        assert!((scratch.pnl[0] - pnl).abs() <= 1e-12 * book.spots[0]);
    }
}
