//! The Monte Carlo model's parameters for each backtest day, estimated from history known at that
//! day's close: [`MarketHistory`] and a day in, a [`MonteCarloConfig`] (and what went into it)
//! out.
//!
//! Information set: the margin for the window from the close of `d` to the close of `d + h` is
//! set at the close of `d`, so it may use every close up to and including `d` (the snapshot's
//! spot is that close) and nothing after. Per parameter:
//! - **spot vols**: the RiskMetrics EWMA (λ = `ewma_lambda`) of daily log returns ending on or
//!   before `d`, annualised with 365 days;
//! - **correlations**: Pearson over the daily returns ending in the trailing
//!   `correlation_window_days` up to `d`;
//! - **tails**: one Student-t ν for the book, the smallest over its assets of the maximum-
//!   likelihood ν of *EWMA-standardised* returns `r_t / σ_{t−1}` (the t then describes the
//!   shocks the EWMA vol does not explain, which is what the MC scales by that vol); fitted once a
//!   month on the `tail_window_days` before the month's first day (so strictly before `d`),
//!   clamped to [`DF_FLOOR`, `DF_CAP`];
//! - **vol of vol and spot–vol correlation** (option books): annualised standard deviation of
//!   daily changes of ln DVOL, and their correlation with BTC's return, over the trailing
//!   `correlation_window_days`; the [`MonteCarloConfig`] defaults where DVOL has fewer than
//!   [`MIN_OBSERVATIONS`] pairs.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::market::MarketHistory;
use crate::history::stats::{fit_student_t, DAYS_PER_YEAR};
use crate::history::Date;
use crate::margin::monte_carlo::{MarginPeriod, MonteCarloConfig, TailModel};

/// Fewest observations an estimate needs (else the asset or day is skipped / defaults apply).
pub const MIN_OBSERVATIONS: usize = 60;
/// Lowest ν used. BTC's EWMA-standardised returns fit ν ≈ 2.5 (one 10σ day in 2019 among
/// others); the MC needs ν > 2, and below 3 the common χ² mixing draw occasionally scales a path
/// by 100× or more, which through `exp` turns a short leg's loss into many times its notional:
/// with ν = 2.5 one day of the BTC/ETH pair was margined at 1,947× notional by 20 tail paths of
/// 2,000. At ν = 3 the t still has infinite kurtosis.
pub const DF_FLOOR: f64 = 3.0;
/// Highest ν used (beyond it the t is normal for a 99% ES).
pub const DF_CAP: f64 = 30.0;

/// The estimates behind one day's Monte Carlo configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayCalibration {
    /// The day (close) the margin is set.
    pub date: Date,
    /// Annualised EWMA vol per asset.
    pub spot_vols: BTreeMap<String, f64>,
    /// Correlation per pair `"A/B"`.
    pub correlations: BTreeMap<String, f64>,
    /// Student-t ν used for the book (after the clamp).
    pub degrees_of_freedom: f64,
    /// Vol of vol from DVOL, if estimated.
    pub vol_of_vol: Option<f64>,
    /// Spot–vol correlation from DVOL, if estimated.
    pub spot_vol_correlation: Option<f64>,
}

/// Per-asset monthly Student-t fits and the history, ready to calibrate any day.
#[derive(Debug, Clone)]
pub struct Calibrator<'h> {
    history: &'h MarketHistory,
    /// (asset, first day of month) → fitted ν (unclamped), computed up front.
    tail_fits: BTreeMap<(String, Date), f64>,
}

/// First day of `date`'s month.
pub fn month_start(date: Date) -> Date {
    let (y, m, _) = date.ymd();
    // Day 1 of an existing month is always a valid date.
    Date::from_ymd(y, m, 1).unwrap_or(date)
}

impl<'h> Calibrator<'h> {
    /// Fits the tails of `symbols` for every month touching `[from, to]` (in parallel).
    pub fn new(history: &'h MarketHistory, symbols: &[&str], from: Date, to: Date) -> Self {
        let mut months = Vec::new();
        let mut month = month_start(from);
        while month <= to {
            months.push(month);
            let (y, m, _) = month.ymd();
            let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            // Day 1 of an existing month is always a valid date.
            month = Date::from_ymd(next.0, next.1, 1).unwrap_or(to.add_days(1));
        }
        let jobs: Vec<(String, Date)> = symbols
            .iter()
            .flat_map(|s| months.iter().map(move |m| ((*s).to_owned(), *m)))
            .collect();
        let window = history.settings.tail_window_days;
        let tail_fits = jobs
            .into_par_iter()
            .filter_map(|(symbol, month)| {
                let z = standardised_returns(history, &symbol, month.add_days(-window), month)?;
                let fit = fit_student_t(&z).ok()?;
                Some(((symbol, month), fit.df))
            })
            .collect();
        Self { history, tail_fits }
    }

    /// The fitted (unclamped) ν of `symbol` for `date`'s month, if there was enough history.
    pub fn tail_df(&self, symbol: &str, date: Date) -> Option<f64> {
        self.tail_fits.get(&(symbol.to_owned(), month_start(date))).copied()
    }

    /// The calibration of a book on `symbols` at the close of `date`; `None` when an asset has
    /// too little history (EWMA past its seed, a correlation and a tail fit are all required).
    pub fn calibrate(&self, symbols: &[&str], date: Date) -> Option<DayCalibration> {
        let settings = &self.history.settings;
        let mut spot_vols = BTreeMap::new();
        let mut df = f64::INFINITY;
        for symbol in symbols {
            spot_vols.insert((*symbol).to_owned(), self.history.ewma_annual(symbol, date)?);
            df = df.min(self.tail_df(symbol, date)?);
        }
        let mut correlations = BTreeMap::new();
        let from = date.add_days(-settings.correlation_window_days);
        for (i, a) in symbols.iter().enumerate() {
            for b in &symbols[..i] {
                let pairs = self.return_pairs(a, b, from, date);
                if pairs.len() < MIN_OBSERVATIONS {
                    return None;
                }
                correlations.insert(format!("{a}/{b}"), pearson(&pairs)?);
            }
        }
        let (vol_of_vol, spot_vol_correlation) = if symbols.contains(&"BTC") {
            self.dvol_dynamics(from, date).map_or((None, None), |(v, r)| (Some(v), Some(r)))
        } else {
            (None, None)
        };
        Some(DayCalibration {
            date,
            spot_vols,
            correlations,
            degrees_of_freedom: df.clamp(DF_FLOOR, DF_CAP),
            vol_of_vol,
            spot_vol_correlation,
        })
    }

    /// (return of `a`, return of `b`) over the days in `(from, to]` both have.
    fn return_pairs(&self, a: &str, b: &str, from: Date, to: Date) -> Vec<(f64, f64)> {
        let (Some(ra), Some(rb)) = (self.history.returns.get(a), self.history.returns.get(b))
        else {
            return Vec::new();
        };
        let start = ra.points.partition_point(|p| p.end <= from);
        ra.points[start..]
            .iter()
            .take_while(|p| p.end <= to)
            .filter_map(|p| {
                let j = rb.points.binary_search_by_key(&p.end, |q| q.end).ok()?;
                Some((p.log_return, rb.points[j].log_return))
            })
            .collect()
    }

    /// Annualised vol of daily Δ ln DVOL and its correlation with BTC's same-day return, over
    /// the days in `(from, to]` with DVOL on the day and the day before.
    fn dvol_dynamics(&self, from: Date, to: Date) -> Option<(f64, f64)> {
        let btc = self.history.returns.get("BTC")?;
        let dvol = &self.history.dvol;
        let start = dvol.days.partition_point(|d| d.0 <= from);
        let mut pairs = Vec::new();
        for window in dvol.days[start.saturating_sub(1)..].windows(2) {
            let ((d0, v0), (d1, v1)) = (window[0], window[1]);
            if d1 > to {
                break;
            }
            if d1 <= from || d1.days_since(d0) != 1 {
                continue;
            }
            if let Ok(j) = btc.points.binary_search_by_key(&d1, |p| p.end) {
                pairs.push((btc.points[j].log_return, (v1 / v0).ln()));
            }
        }
        if pairs.len() < MIN_OBSERVATIONS {
            return None;
        }
        let changes: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let vol = crate::history::stats::sample_volatility(&changes).ok()? * DAYS_PER_YEAR.sqrt();
        Some((vol, pearson(&pairs)?))
    }

    /// The day's Monte Carlo configuration: `base` with the calibrated vols, correlations and
    /// tails, `paths` paths and a margin period of `horizon_days` days.
    pub fn monte_carlo_config(
        calibration: &DayCalibration,
        base: &MonteCarloConfig,
        horizon_days: u32,
    ) -> MonteCarloConfig {
        let default_period = MarginPeriod::default();
        let margin_period = if horizon_days == 1 {
            default_period
        } else {
            // h days of blocks at the default block time, keeper latency included in the days.
            MarginPeriod {
                liquidation_blocks: (f64::from(horizon_days) * 86_400.0
                    / default_period.block_time_seconds) as u64,
                block_time_seconds: default_period.block_time_seconds,
                keeper_latency_seconds: 0.0,
            }
        };
        MonteCarloConfig {
            margin_period,
            spot_vols: calibration.spot_vols.clone(),
            correlations: calibration.correlations.clone(),
            tails: TailModel::StudentT { degrees_of_freedom: calibration.degrees_of_freedom },
            vol_of_vol: calibration.vol_of_vol.unwrap_or(base.vol_of_vol),
            spot_vol_correlation: calibration
                .spot_vol_correlation
                .unwrap_or(base.spot_vol_correlation),
            ..base.clone()
        }
    }
}

/// EWMA-standardised daily returns `r_t / σ_{t−1}` of `symbol` ending in `[from, before)`.
pub fn standardised_returns(
    history: &MarketHistory,
    symbol: &str,
    from: Date,
    before: Date,
) -> Option<Vec<f64>> {
    let asset = history.returns.get(symbol)?;
    let z: Vec<f64> = asset
        .points
        .iter()
        .enumerate()
        .skip(super::market::EWMA_SEED_RETURNS + 1)
        .filter(|(_, p)| p.end >= from && p.end < before)
        .map(|(i, p)| p.log_return / asset.ewma[i - 1])
        .collect();
    (z.len() >= MIN_OBSERVATIONS).then_some(z)
}

/// Pearson correlation of pairs; `None` if either side is constant.
pub fn pearson(pairs: &[(f64, f64)]) -> Option<f64> {
    let n = pairs.len() as f64;
    let (ma, mb) = pairs.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0 / n, b + p.1 / n));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (a, b) in pairs {
        sab += (a - ma) * (b - mb);
        saa += (a - ma) * (a - ma);
        sbb += (b - mb) * (b - mb);
    }
    let denominator = (saa * sbb).sqrt();
    (denominator > 0.0).then(|| (sab / denominator).clamp(-0.999, 0.999))
}
