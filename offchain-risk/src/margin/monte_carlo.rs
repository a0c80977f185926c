//! Monte Carlo VaR and Expected Shortfall over the margin period of risk.
//!
//! Flow: a seed derived from the inputs → paths of correlated, fat-tailed spot returns with a
//! negatively correlated vol-level move per underlying, and (books holding perpetuals or futures)
//! the basis factors of [`crate::margin::basis`]: a perpetual's unexpected return over spot (its
//! premium change net of the funding surprise) and a change of the futures' carry, each a
//! Student-t scaled so its one-sided 99% quantile over one day is the calibrated shock, growing
//! with √days, correlated with spot, per underlying with its own factors, plus the funding the
//! perpetuals expect to pay or receive (the current rate, with its sign) →
//! every position revalued in full under
//! the shifted, skewed surface after the horizon's time decay → the portfolio P&L vector →
//! VaR and ES at the confidence level, with ES's standard error.
//!
//! Determinism: paths come in fixed chunks, each from its own ChaCha20 stream (seed, chunk
//! index; the basis factors from a second stream per chunk, so books without them draw exactly
//! what they drew before basis risk existed), and the loss vector is assembled in chunk order before any reduction, so two keepers
//! get bit-identical numbers whatever their thread count.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::margin::basis::{
    unit_variance_scale, BasisRisk, FUNDING_PRINTS_PER_DAY, SHOCK_CONFIDENCE,
};
use crate::margin::batch::HorizonBook;
use crate::margin::factors::{ShockVector, VolTermScaling};
use crate::margin::revalue::{at_horizon, BasisExposure, Exposure, PreparedBook};
use crate::margin::{MarginResult, PositionMargin};

/// Paths per RNG stream: the unit of parallel work and of determinism.
const CHUNK_PATHS: usize = 256;

/// High bit of the basis factors' stream number (chunk streams count up from 0 below it).
const BASIS_STREAM: u64 = 1 << 63;

/// Tail model of the joint spot returns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TailModel {
    /// Multivariate normal.
    Normal,
    /// Multivariate Student-t with `degrees_of_freedom` (> 2), scaled to unit variance.
    StudentT {
        /// Degrees of freedom.
        degrees_of_freedom: f64,
    },
}

/// The margin period of risk: how long a liquidation takes to complete.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarginPeriod {
    /// Blocks a liquidation needs (one step per block, several steps).
    pub liquidation_blocks: u64,
    /// Seconds per block (Arbitrum: 0.25).
    pub block_time_seconds: f64,
    /// Keeper latency: detection, quorum and submission, in seconds.
    pub keeper_latency_seconds: f64,
}

impl Default for MarginPeriod {
    /// One day: 345,000 blocks of 0.25 s plus 150 s of keeper latency (86,400 s), matching the
    /// daily data the model is calibrated and backtested on.
    fn default() -> Self {
        Self {
            liquidation_blocks: 345_000,
            block_time_seconds: 0.25,
            keeper_latency_seconds: 150.0,
        }
    }
}

impl MarginPeriod {
    /// The horizon in years.
    pub fn years(&self) -> f64 {
        (self.liquidation_blocks as f64 * self.block_time_seconds + self.keeper_latency_seconds)
            / (365.0 * 86_400.0)
    }
}

/// Monte Carlo configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonteCarloConfig {
    /// Number of paths.
    pub paths: usize,
    /// Confidence level of VaR and ES (0.99).
    pub confidence: f64,
    /// Horizon.
    pub margin_period: MarginPeriod,
    /// Annualised spot volatility per underlying; an underlying not listed uses its surface's
    /// 30-day at-the-money vol.
    #[serde(default)]
    pub spot_vols: BTreeMap<String, f64>,
    /// Correlation of spot returns per pair `"A/B"`; pairs not listed use `default_correlation`.
    #[serde(default)]
    pub correlations: BTreeMap<String, f64>,
    /// Correlation of unlisted pairs.
    pub default_correlation: f64,
    /// Tails of the spot returns.
    pub tails: TailModel,
    /// Correlation of the vol-level move with the spot return (negative: vol rises as price falls).
    pub spot_vol_correlation: f64,
    /// Annualised volatility of the log vol level.
    pub vol_of_vol: f64,
    /// Term scaling of vol-level moves.
    pub vol_term: VolTermScaling,
    /// Initial margin = maintenance × this.
    pub initial_factor: f64,
    /// Extra entropy mixed into the input-derived seed (e.g. the block number).
    pub seed_salt: u64,
    /// Basis and funding factors of perpetuals and futures against spot.
    #[serde(default)]
    pub basis: BasisRisk,
}

impl Default for MonteCarloConfig {
    fn default() -> Self {
        Self {
            paths: 10_000,
            confidence: 0.99,
            margin_period: MarginPeriod::default(),
            spot_vols: BTreeMap::new(),
            correlations: BTreeMap::new(),
            default_correlation: 0.75,
            tails: TailModel::StudentT { degrees_of_freedom: 4.0 },
            spot_vol_correlation: -0.5,
            vol_of_vol: 1.2,
            vol_term: VolTermScaling::default(),
            initial_factor: 1.25,
            seed_salt: 0,
            basis: BasisRisk::calibrated(),
        }
    }
}

/// The risk measures of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonteCarloSummary {
    /// Value at risk (a loss, ≥ 0 unless the book gains in the tail).
    pub value_at_risk: f64,
    /// Expected shortfall beyond VaR.
    pub expected_shortfall: f64,
    /// Standard error of the ES estimate.
    pub expected_shortfall_standard_error: f64,
    /// Paths simulated.
    pub paths: usize,
    /// Horizon in years.
    pub horizon_years: f64,
    /// The seed used.
    pub seed: u64,
}

/// FNV-1a, 64-bit: a stable hash of the inputs (std's hasher may change between releases).
pub fn stable_seed(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        // Separate the parts so ("ab", "c") and ("a", "bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Lower Cholesky factor of a symmetric positive-definite matrix, or `None`.
fn cholesky(matrix: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = matrix.len();
    let mut lower = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| lower[i][k] * lower[j][k]).sum();
            if i == j {
                let pivot = matrix[i][i] - sum;
                if pivot <= 0.0 {
                    return None;
                }
                lower[i][i] = pivot.sqrt();
            } else {
                lower[i][j] = (matrix[i][j] - sum) / lower[j][j];
            }
        }
    }
    Some(lower)
}

struct PathModel {
    horizon_years: f64,
    spot_vols: Vec<f64>,
    cholesky: Vec<Vec<f64>>,
    tails: TailModel,
    spot_vol_correlation: f64,
    vol_of_vol: f64,
    /// `None` when the book holds no perpetual or future, or the basis risk is zero.
    basis: Option<BasisPaths>,
}

/// How the basis factors are drawn over the horizon, per underlying (each with its own
/// [`crate::margin::basis::BasisFactors`]).
struct BasisPaths {
    /// Standard deviations over the horizon of the perpetual factor and the carry change.
    perpetual_sd: Vec<f64>,
    carry_sd: Vec<f64>,
    /// Funding a long expects to pay over the horizon (the current 8-hour rate at every print,
    /// with its sign: negative when longs receive), per underlying.
    expected_funding: Vec<f64>,
    degrees_of_freedom: Vec<f64>,
    spot_correlation: Vec<f64>,
}

impl BasisPaths {
    fn new(book: &PreparedBook<'_>, risk: &BasisRisk, horizon_years: f64) -> Result<Option<Self>> {
        risk.validate("basis")?;
        let n = book.underlyings.len();
        let mut rates = vec![0.0; n];
        let mut any = false;
        for position in &book.positions {
            if let Exposure::DeltaOne { basis, .. } = &position.exposure {
                match basis {
                    BasisExposure::Spot => {}
                    BasisExposure::Future { .. } => any = true,
                    BasisExposure::Perpetual { funding_rate_8h } => {
                        any = true;
                        rates[position.underlying] = *funding_rate_8h;
                    }
                }
            }
        }
        if !any || risk.is_zero() {
            return Ok(None);
        }
        let horizon_days = horizon_years * 365.0;
        let root_days = horizon_days.sqrt();
        let factors: Vec<_> = book.underlyings.iter().map(|u| risk.factors(u)).collect();
        let per_day = |shock, nu| unit_variance_scale(shock, nu, SHOCK_CONFIDENCE);
        Ok(Some(Self {
            perpetual_sd: factors
                .iter()
                .map(|f| per_day(f.perpetual_basis_shock, f.degrees_of_freedom) * root_days)
                .collect(),
            carry_sd: factors
                .iter()
                .map(|f| per_day(f.carry_rate_shock, f.degrees_of_freedom) * root_days)
                .collect(),
            // The known current rate is the best forecast of the period's prints: a 99% model
            // centres the P&L there, crediting what a short receives as it charges what a long
            // pays (the fixed-shock add-on, `basis::basis_add_on`, never credits it).
            expected_funding: rates
                .iter()
                .map(|rate| rate * FUNDING_PRINTS_PER_DAY * horizon_days)
                .collect(),
            degrees_of_freedom: factors.iter().map(|f| f.degrees_of_freedom).collect(),
            spot_correlation: factors.iter().map(|f| f.spot_correlation).collect(),
        }))
    }

    /// Draws the basis factors of every underlying into `shock`, given the spot's standard
    /// normal drivers `spot_z`.
    fn draw(&self, rng: &mut ChaCha20Rng, shock: &mut ShockVector, spot_z: &[f64]) {
        for (i, z) in spot_z.iter().enumerate() {
            let nu = self.degrees_of_freedom[i];
            // nu > 2 was validated, so the distribution exists.
            let chi: f64 = ChiSquared::new(nu).map(|d| d.sample(rng)).unwrap_or(nu);
            let tail_scale = ((nu - 2.0) / chi).sqrt();
            let rho = self.spot_correlation[i];
            let own = (1.0 - rho * rho).sqrt();
            let mut factor = || {
                let noise: f64 = rng.sample(StandardNormal);
                tail_scale * (rho * z + own * noise)
            };
            // The perpetual factor is the premium change net of the funding surprise; the
            // expected funding is paid (or received) on top.
            shock.perpetual_premium[i] = self.perpetual_sd[i] * factor();
            shock.carry_rate[i] = self.carry_sd[i] * factor();
            shock.funding_accrual[i] = self.expected_funding[i];
        }
    }
}

impl PathModel {
    fn new(book: &PreparedBook<'_>, config: &MonteCarloConfig) -> Result<Self> {
        let n = book.underlyings.len();
        let mut spot_vols = Vec::with_capacity(n);
        for symbol in &book.underlyings {
            let vol = match config.spot_vols.get(symbol) {
                Some(vol) => *vol,
                None => atm_vol(book, symbol)?,
            };
            if !(vol.is_finite() && vol > 0.0) {
                return Err(invalid(
                    format!("spot_vols.{symbol}"),
                    "must be a positive annual volatility",
                ));
            }
            spot_vols.push(vol);
        }
        let pair_correlation = |a: &str, b: &str| {
            config
                .correlations
                .get(&format!("{a}/{b}"))
                .or_else(|| config.correlations.get(&format!("{b}/{a}")))
                .copied()
                .unwrap_or(config.default_correlation)
        };
        let names = &book.underlyings;
        let correlation: Vec<Vec<f64>> = names
            .iter()
            .map(|a| {
                names.iter().map(|b| if a == b { 1.0 } else { pair_correlation(a, b) }).collect()
            })
            .collect();
        let cholesky = cholesky(&correlation).ok_or_else(|| {
            invalid("correlations".to_owned(), "the correlation matrix is not positive definite")
        })?;
        if let TailModel::StudentT { degrees_of_freedom } = config.tails {
            if !(degrees_of_freedom > 2.0 && degrees_of_freedom.is_finite()) {
                return Err(invalid(
                    "tails.degrees_of_freedom".to_owned(),
                    "must be finite and above 2",
                ));
            }
        }
        if config.spot_vol_correlation.is_nan() || config.spot_vol_correlation.abs() > 1.0 {
            return Err(invalid("spot_vol_correlation".to_owned(), "must lie in [-1, 1]"));
        }
        let horizon_years = config.margin_period.years();
        Ok(Self {
            basis: BasisPaths::new(book, &config.basis, horizon_years)?,
            horizon_years,
            spot_vols,
            cholesky,
            tails: config.tails,
            spot_vol_correlation: config.spot_vol_correlation,
            vol_of_vol: config.vol_of_vol,
        })
    }

    /// Draws one path's factor shocks into `shock`; the spot's correlated standard normals are
    /// left in `spot_z` (the basis factors correlate with them).
    fn draw(
        &self,
        rng: &mut ChaCha20Rng,
        shock: &mut ShockVector,
        normals: &mut [f64],
        spot_z: &mut [f64],
    ) {
        let n = self.spot_vols.len();
        for z in normals.iter_mut() {
            *z = rng.sample(StandardNormal);
        }
        // One chi-square draw per path makes the t joint (tail dependence), scaled to unit variance.
        let tail_scale = match self.tails {
            TailModel::Normal => 1.0,
            TailModel::StudentT { degrees_of_freedom: nu } => {
                // nu > 2 was checked, so the distribution exists.
                let chi: f64 = ChiSquared::new(nu).map(|d| d.sample(rng)).unwrap_or(nu);
                ((nu - 2.0) / chi).sqrt()
            }
        };
        let root_horizon = self.horizon_years.sqrt();
        for i in 0..n {
            let correlated: f64 = (0..=i).map(|k| self.cholesky[i][k] * normals[k]).sum();
            spot_z[i] = correlated;
            let sigma = self.spot_vols[i] * root_horizon;
            let log_return = sigma * tail_scale * correlated - 0.5 * sigma * sigma;
            shock.spot_return[i] = log_return.exp() - 1.0;
            let vol_noise = normals[n + i];
            let vol_z = self.spot_vol_correlation * correlated
                + (1.0 - self.spot_vol_correlation * self.spot_vol_correlation).sqrt() * vol_noise;
            let vol_sigma = self.vol_of_vol * root_horizon;
            shock.vol_level[i] = (vol_sigma * vol_z - 0.5 * vol_sigma * vol_sigma).exp() - 1.0;
        }
    }
}

fn invalid(field: String, reason: &str) -> crate::RiskError {
    DataError::Invalid { field, reason: reason.to_owned() }.into()
}

/// The surface's 30-day at-the-money vol of `symbol`, or an error saying to configure one.
fn atm_vol(book: &PreparedBook<'_>, symbol: &str) -> Result<f64> {
    let surface =
        book.underlyings.iter().position(|u| u == symbol).and_then(|index| book.surfaces[index]);
    match surface {
        Some(surface) => Ok(surface.vol(0.0, 30.0 / 365.0)?),
        None => Err(invalid(
            format!("spot_vols.{symbol}"),
            "the market has no volatility surface for this underlying; set its annual spot vol in the config",
        )),
    }
}

/// Monte Carlo margin of a prepared book; `seed` should come from the inputs (see
/// [`stable_seed`]).
pub(crate) fn monte_carlo_margin(
    book: &PreparedBook<'_>,
    config: &MonteCarloConfig,
    seed: u64,
) -> Result<(MarginResult, MonteCarloSummary)> {
    if config.paths < 100 || !(config.confidence > 0.5 && config.confidence < 1.0) {
        return Err(invalid(
            "paths/confidence".to_owned(),
            "need at least 100 paths and a confidence level in (0.5, 1)",
        ));
    }
    let model = PathModel::new(book, config)?;
    let horizon = HorizonBook::new(at_horizon(book, model.horizon_years, &config.vol_term)?);
    let underlyings = book.underlyings.len();
    let chunks = config.paths.div_ceil(CHUNK_PATHS);
    let shock_len = ShockVector::zero(underlyings).len_flat();
    // Each chunk: its paths' portfolio losses and their shocks (one buffer per chunk, see
    // `ShockVector::append_to`), kept to allocate the tail.
    let results: Vec<Result<(Vec<f64>, Vec<f64>)>> = (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            rng.set_stream(chunk as u64);
            let mut basis_rng = ChaCha20Rng::seed_from_u64(seed);
            basis_rng.set_stream(BASIS_STREAM | chunk as u64);
            let count = CHUNK_PATHS.min(config.paths - chunk * CHUNK_PATHS);
            let mut normals = vec![0.0; 2 * underlyings];
            let mut spot_z = vec![0.0; underlyings];
            let mut losses = Vec::with_capacity(count);
            let mut shocks = Vec::with_capacity(count * shock_len);
            let mut scratch = horizon.scratch();
            let mut shock = ShockVector::zero(underlyings);
            for _ in 0..count {
                // One shock serves the chunk, cleared so no path sees an earlier path's factor.
                shock.clear();
                model.draw(&mut rng, &mut shock, &mut normals, &mut spot_z);
                if let Some(basis) = &model.basis {
                    basis.draw(&mut basis_rng, &mut shock, &spot_z);
                }
                horizon.revalue_into(&shock, &mut scratch)?;
                // Summed in book order, from +0.
                let pnl = scratch.pnl.iter().fold(0.0, |sum, pnl| sum + pnl);
                losses.push(-pnl);
                shock.append_to(&mut shocks);
            }
            Ok((losses, shocks))
        })
        .collect();
    let mut losses = Vec::with_capacity(config.paths);
    let mut shocks = Vec::with_capacity(config.paths);
    for chunk in results {
        let (chunk_losses, chunk_shocks) = chunk?;
        losses.extend(chunk_losses);
        shocks.extend(chunk_shocks);
    }

    // Tail: the worst ceil((1 - α) N) paths, ordered by loss then path index (a total order, so
    // ties cannot make keepers disagree).
    let tail_count = (((1.0 - config.confidence) * config.paths as f64).ceil() as usize).max(1);
    let mut order: Vec<usize> = (0..losses.len()).collect();
    order.sort_by(|&a, &b| losses[b].total_cmp(&losses[a]).then(a.cmp(&b)));
    let tail = &order[..tail_count];
    let value_at_risk = losses[tail[tail_count - 1]];
    let expected_shortfall = tail.iter().map(|&i| losses[i]).sum::<f64>() / tail_count as f64;
    // Asymptotic variance of the ES estimator: [Var(L | tail) + α (ES − VaR)²] / (N (1 − α)).
    let tail_variance = tail.iter().map(|&i| (losses[i] - expected_shortfall).powi(2)).sum::<f64>()
        / (tail_count.max(2) - 1) as f64;
    let alpha = config.confidence;
    let expected_shortfall_standard_error = ((tail_variance
        + alpha * (expected_shortfall - value_at_risk).powi(2))
        / (config.paths as f64 * (1.0 - alpha)))
        .sqrt();

    // Euler allocation: each position's average loss over the tail paths.
    let mut positions: Vec<PositionMargin> = book
        .positions
        .iter()
        .map(|p| PositionMargin { mark_to_market: p.valuation.value, margin: 0.0 })
        .collect();
    let mut scratch = horizon.scratch();
    let mut shock = ShockVector::zero(underlyings);
    for &path in tail {
        shock.copy_from_flat(&shocks[path * shock_len..(path + 1) * shock_len]);
        horizon.revalue_into(&shock, &mut scratch)?;
        for (allocation, pnl) in positions.iter_mut().zip(&scratch.pnl) {
            allocation.margin -= pnl / tail_count as f64;
        }
    }
    let maintenance_margin = expected_shortfall.max(0.0);
    Ok((
        MarginResult {
            mark_to_market: book.mark_to_market(),
            maintenance_margin,
            initial_margin: maintenance_margin * config.initial_factor,
            positions,
        },
        MonteCarloSummary {
            value_at_risk,
            expected_shortfall,
            expected_shortfall_standard_error,
            paths: config.paths,
            horizon_years: model.horizon_years,
            seed,
        },
    ))
}
