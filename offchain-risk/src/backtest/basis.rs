//! Calibration of the basis and funding factors ([`BasisRisk`]) on history: Binance 8-hourly
//! funding prints and daily spot closes in, per-asset 99% shocks over the margin period (each
//! asset on its own history) and the pooled fallback out. `xmargin basis` prints it;
//! [`BasisRisk::calibrated`] is its output. The backtest instead re-estimates the Monte Carlo's
//! factors every day from the prints known at that day's close ([`walk_forward_factors`]).
//!
//! The data hold no perpetual or futures prices, only funding, so the basis is read off funding
//! (Binance sets funding to the perpetual's 8-hour average premium over its index, plus a clamped
//! interest term), as stated per factor:
//! - **perpetual premium** at the close of day `d`: the last funding print at or before it
//!   ([`premium_proxy`]), `b(d)`;
//! - **funding surprise**: the funding printed after the close of `d` up to the close of `d + h`
//!   minus `3h · b(d)` (what a model that lets funding persist expects), `e`;
//! - **perpetual factor**: `u = b(d + h) − b(d) − e`, a perpetual's return over spot beyond the
//!   expected funding (a long gains the premium change and pays the funding);
//! - **carry**: the annualised mean of the prints of the trailing [`CARRY_WINDOW_DAYS`] days
//!   ([`carry_proxy`]): a dated future prices the funding expected over its life, and the
//!   trailing month is the proxy the data allow; its change over `h` days is the carry factor.
//!
//! Each shock is the larger of the one-sided 99% quantiles of the factor and of its negative
//! (so a long and a short are each covered at 99%), over every day both ends of the window are
//! covered (windows overlap for `h` > 1). The tail ν is the maximum-likelihood Student-t fit of
//! `u`, floored at 3 like the spot tails (funding sits at the clamp's 0.01% on ~40% of prints, so
//! `u` is exactly zero on many days and the fit runs to ν ≈ 1); the spot correlation is the
//! Pearson correlation of `u` with the spot log return over the same window.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::calibration::pearson;
use super::market::{close_ms, FUNDING_CLOCK_OFFSET_SECONDS};
use crate::error::{DataError, Result};
use crate::history::stats::{empirical_quantile, fit_student_t};
use crate::history::{DataDir, Date, FundingSeries, PriceSeries};
use crate::margin::basis::{
    student_t_quantile, BasisFactors, BasisRisk, FUNDING_PRINTS_PER_DAY, SHOCK_CONFIDENCE,
};

/// Trailing days of funding whose mean is the futures' carry proxy.
pub const CARRY_WINDOW_DAYS: i64 = 30;

/// Lowest ν used (as the spot tails' floor, [`super::calibration::DF_FLOOR`]).
pub const BASIS_DF_FLOOR: f64 = 3.0;

/// The funding-history underlyings and their Binance OHLCV pair.
pub const BASIS_ASSETS: [(&str, &str, &str); 2] =
    [("BTC", "BTC-USDT", "BTCUSDT"), ("ETH", "ETH-USDT", "ETHUSDT")];

/// Funding prints on the UTC clock: (seconds since the epoch, rate per 8 hours).
pub fn funding_prints_utc(series: &FundingSeries) -> Vec<(i64, f64)> {
    series
        .points
        .iter()
        .map(|p| {
            let seconds = i64::from(p.date.days_since_epoch()) * 86_400
                + i64::from(p.second_of_day)
                - FUNDING_CLOCK_OFFSET_SECONDS;
            (seconds, p.rate)
        })
        .collect()
}

/// The perpetual premium proxy at the close of `date`: the last print at or before it, if at
/// most a day old.
pub fn premium_proxy(prints: &[(i64, f64)], date: Date) -> Option<f64> {
    let close = close_ms(date) / 1_000;
    let index = prints.partition_point(|p| p.0 <= close).checked_sub(1)?;
    let (time, rate) = prints[index];
    (close - time <= 86_400).then_some(rate)
}

/// The funding printed after the close of `from` up to the close of `to`, if the prints cover
/// the window (at least one print per 8 hours, allowing one missing).
pub fn funding_accrued(prints: &[(i64, f64)], from: Date, to: Date) -> Option<f64> {
    let (start, end) = (close_ms(from) / 1_000, close_ms(to) / 1_000);
    let lo = prints.partition_point(|p| p.0 <= start);
    let hi = prints.partition_point(|p| p.0 <= end);
    let expected = FUNDING_PRINTS_PER_DAY as usize * to.days_since(from).max(0) as usize;
    (hi - lo + 1 >= expected && expected > 0).then(|| prints[lo..hi].iter().map(|p| p.1).sum())
}

/// The futures' annualised carry proxy at the close of `date`: the mean print over the trailing
/// [`CARRY_WINDOW_DAYS`] × 3 prints per year, if at least 90% of those prints exist.
pub fn carry_proxy(prints: &[(i64, f64)], date: Date) -> Option<f64> {
    let end = close_ms(date) / 1_000;
    let start = end - CARRY_WINDOW_DAYS * 86_400;
    let lo = prints.partition_point(|p| p.0 <= start);
    let hi = prints.partition_point(|p| p.0 <= end);
    let full = (CARRY_WINDOW_DAYS as f64 * FUNDING_PRINTS_PER_DAY) as usize;
    if (hi - lo) * 10 < full * 9 {
        return None;
    }
    let mean = prints[lo..hi].iter().map(|p| p.1).sum::<f64>() / (hi - lo) as f64;
    Some(mean * FUNDING_PRINTS_PER_DAY * 365.0)
}

/// One asset's basis factors over the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetBasisFit {
    /// The underlying.
    pub asset: String,
    /// First and last day a window starts.
    pub from: Date,
    /// Last window start.
    pub to: Date,
    /// Windows used.
    pub windows: usize,
    /// Perpetual factor `u` (premium change net of the funding surprise): 1% and 99% quantiles.
    pub perpetual_quantiles: (f64, f64),
    /// Premium change alone: 1% and 99% quantiles.
    pub premium_quantiles: (f64, f64),
    /// Funding surprise alone: 1% and 99% quantiles.
    pub funding_quantiles: (f64, f64),
    /// Correlation of the premium change with the funding surprise (why they are one factor).
    pub premium_funding_correlation: f64,
    /// Carry change: 1% and 99% quantiles.
    pub carry_quantiles: (f64, f64),
    /// Student-t ν fitted to the perpetual factor (unfloored).
    pub fitted_df: f64,
    /// Correlation of the perpetual factor with the spot log return.
    pub spot_correlation: f64,
}

impl AssetBasisFit {
    fn shock((low, high): (f64, f64)) -> f64 {
        high.max(-low).max(0.0)
    }

    /// The asset's factors (unrounded).
    pub fn factors(&self) -> BasisFactors {
        BasisFactors {
            perpetual_basis_shock: Self::shock(self.perpetual_quantiles),
            carry_rate_shock: Self::shock(self.carry_quantiles),
            degrees_of_freedom: self.fitted_df.max(BASIS_DF_FLOOR),
            spot_correlation: self.spot_correlation,
        }
    }
}

/// The calibration of every asset and the pooled factors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasisCalibration {
    /// Margin period of risk in days.
    pub horizon_days: u32,
    /// Per asset.
    pub assets: Vec<AssetBasisFit>,
    /// Pooled: the largest shock of any asset, the smallest ν, the mean correlation (unrounded):
    /// the fallback for underlyings without history.
    pub pooled: BasisFactors,
    /// Every asset's factors and the pooled fallback, shocks rounded up to two significant
    /// digits, ν down to 0.5 and the correlation to 0.05: what [`BasisRisk::calibrated`] holds
    /// for a one-day period.
    pub rounded: BasisRisk,
}

/// Rounds `x` > 0 up to two significant digits.
pub fn round_up_two_digits(x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let unit = 10f64.powf(x.log10().floor() - 1.0);
    // Guard the representation error of x / unit landing a hair above an integer.
    ((x / unit - 1e-9).ceil() * unit * 1e12).round() / 1e12
}

/// One window of the basis factors: from the close of `start` to the close of `start + h`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BasisWindow {
    /// The day the window starts (its close).
    pub start: Date,
    /// Premium change `b(d + h) − b(d)`.
    pub premium_change: f64,
    /// Funding surprise `e`.
    pub funding_surprise: f64,
    /// Perpetual factor `u` = premium change − funding surprise.
    pub perpetual: f64,
    /// Carry change (a year).
    pub carry_change: f64,
    /// Spot log return over the window, where both closes exist.
    pub spot_log_return: Option<f64>,
}

/// Every `horizon_days` window (one starting each day) whose ends the prints cover.
pub fn basis_windows(
    prints: &[(i64, f64)],
    closes: &BTreeMap<Date, f64>,
    horizon_days: u32,
) -> Vec<BasisWindow> {
    let h = horizon_days as i32;
    let (Some(first), Some(last)) = (prints.first(), prints.last()) else {
        return Vec::new();
    };
    let first_day = Date::from_days_since_epoch((first.0 / 86_400) as i32);
    let last_day = Date::from_days_since_epoch((last.0 / 86_400) as i32);
    let mut windows = Vec::new();
    let mut date = first_day;
    while date.add_days(h) <= last_day {
        let end = date.add_days(h);
        let window = (
            premium_proxy(prints, date),
            premium_proxy(prints, end),
            funding_accrued(prints, date, end),
            carry_proxy(prints, date),
            carry_proxy(prints, end),
        );
        if let (Some(b0), Some(b1), Some(accrued), Some(c0), Some(c1)) = window {
            let surprise = accrued - FUNDING_PRINTS_PER_DAY * f64::from(h) * b0;
            windows.push(BasisWindow {
                start: date,
                premium_change: b1 - b0,
                funding_surprise: surprise,
                perpetual: b1 - b0 - surprise,
                carry_change: c1 - c0,
                spot_log_return: match (closes.get(&date), closes.get(&end)) {
                    (Some(s0), Some(s1)) => Some((s1 / s0).ln()),
                    _ => None,
                },
            });
        }
        date = date.add_days(1);
    }
    windows
}

/// Fits one asset's factors from its UTC funding prints and daily closes over `horizon_days`.
pub fn fit_asset(
    asset: &str,
    prints: &[(i64, f64)],
    closes: &PriceSeries,
    horizon_days: u32,
) -> Result<AssetBasisFit> {
    let invalid = |reason: String| DataError::Invalid { field: format!("{asset} funding"), reason };
    if prints.is_empty() {
        return Err(invalid("no funding prints".to_owned()).into());
    }
    let closes: BTreeMap<Date, f64> = closes.days.iter().copied().collect();
    let windows = basis_windows(prints, &closes, horizon_days);
    let (Some(from), Some(to)) = (windows.first(), windows.last()) else {
        return Err(invalid("no window with funding at both ends".to_owned()).into());
    };
    let series = |f: fn(&BasisWindow) -> f64| windows.iter().map(f).collect::<Vec<f64>>();
    let (premium, funding, perpetual, carry) = (
        series(|w| w.premium_change),
        series(|w| w.funding_surprise),
        series(|w| w.perpetual),
        series(|w| w.carry_change),
    );
    let pairs: Vec<(f64, f64)> =
        windows.iter().filter_map(|w| Some((w.spot_log_return?, w.perpetual))).collect();
    let tails = |values: &[f64]| -> Result<(f64, f64)> {
        Ok((
            empirical_quantile(values, 1.0 - SHOCK_CONFIDENCE)?,
            empirical_quantile(values, SHOCK_CONFIDENCE)?,
        ))
    };
    Ok(AssetBasisFit {
        asset: asset.to_owned(),
        from: from.start,
        to: to.start,
        windows: windows.len(),
        perpetual_quantiles: tails(&perpetual)?,
        premium_quantiles: tails(&premium)?,
        funding_quantiles: tails(&funding)?,
        premium_funding_correlation: pearson(
            &premium.iter().copied().zip(funding.iter().copied()).collect::<Vec<_>>(),
        )
        .unwrap_or(0.0),
        carry_quantiles: tails(&carry)?,
        fitted_df: fit_student_t(&perpetual)?.df,
        spot_correlation: pearson(&pairs).unwrap_or(0.0),
    })
}

/// One-day windows the walk-forward EWMA needs before its first estimate.
pub const WALK_FORWARD_WARM_UP: usize = 30;

/// Walk-forward one-day basis factors of one asset: for each day `d`, the factors known at its
/// close, from the one-day windows ending at or before it. Each factor's scale is the
/// RiskMetrics EWMA (decay `lambda`) of its squared one-day changes, started from the mean
/// square of the first [`WALK_FORWARD_WARM_UP`] windows (days before have none); the shock is
/// that scale's [`SHOCK_CONFIDENCE`] quantile of a unit-variance Student-t with ν
/// [`BASIS_DF_FLOOR`] (what the spot model does with its EWMA vol: a conditional scale, a fixed
/// shape; the factors fit ν ≈ 1, floored). The spot correlation is `spot_correlation` (a
/// constant: it barely moves a hedged book's P&L, whose spot legs net).
pub fn walk_forward_factors(
    prints: &[(i64, f64)],
    lambda: f64,
    spot_correlation: f64,
) -> BTreeMap<Date, BasisFactors> {
    let windows = basis_windows(prints, &BTreeMap::new(), 1);
    let nu = BASIS_DF_FLOOR;
    let quantile = student_t_quantile(SHOCK_CONFIDENCE, nu) * ((nu - 2.0) / nu).sqrt();
    let mut out = BTreeMap::new();
    if windows.len() < WALK_FORWARD_WARM_UP {
        return out;
    }
    let mean_square = |f: fn(&BasisWindow) -> f64| {
        windows[..WALK_FORWARD_WARM_UP].iter().map(|w| f(w).powi(2)).sum::<f64>()
            / WALK_FORWARD_WARM_UP as f64
    };
    let (mut perpetual, mut carry) =
        (mean_square(|w| w.perpetual), mean_square(|w| w.carry_change));
    for (i, window) in windows.iter().enumerate() {
        if i >= WALK_FORWARD_WARM_UP {
            perpetual = lambda * perpetual + (1.0 - lambda) * window.perpetual.powi(2);
            carry = lambda * carry + (1.0 - lambda) * window.carry_change.powi(2);
        }
        if i + 1 >= WALK_FORWARD_WARM_UP {
            // Known at the close of the window's end.
            out.insert(
                window.start.add_days(1),
                BasisFactors {
                    perpetual_basis_shock: quantile * perpetual.sqrt(),
                    carry_rate_shock: quantile * carry.sqrt(),
                    degrees_of_freedom: nu,
                    spot_correlation,
                },
            );
        }
    }
    out
}

/// Calibrates the basis factors on the shared data set: BTC and ETH funding with their Binance
/// OHLCV closes, over `horizon_days`.
pub fn calibrate_basis(data: &DataDir, horizon_days: u32) -> Result<BasisCalibration> {
    if horizon_days == 0 {
        return Err(DataError::Invalid {
            field: "horizon_days".to_owned(),
            reason: "must be at least 1".to_owned(),
        }
        .into());
    }
    let mut assets = Vec::new();
    for (asset, funding_pair, ohlcv_pair) in BASIS_ASSETS {
        let prints = funding_prints_utc(&data.funding(funding_pair)?);
        let closes = data.ohlcv(ohlcv_pair)?.closes();
        assets.push(fit_asset(asset, &prints, &closes, horizon_days)?);
    }
    Ok(pool(horizon_days, assets))
}

/// Rounds a calibration for the constants: shocks up to two significant digits, ν down to 0.5,
/// the correlation to 0.05.
pub fn round_factors(factors: &BasisFactors) -> BasisFactors {
    BasisFactors {
        perpetual_basis_shock: round_up_two_digits(factors.perpetual_basis_shock),
        carry_rate_shock: round_up_two_digits(factors.carry_rate_shock),
        degrees_of_freedom: (factors.degrees_of_freedom * 2.0).floor() / 2.0,
        spot_correlation: (factors.spot_correlation * 20.0).round() / 20.0,
    }
}

/// Pools per-asset fits: largest shocks, smallest ν, mean correlation; and rounds each asset's
/// own factors and the pooled fallback.
pub fn pool(horizon_days: u32, assets: Vec<AssetBasisFit>) -> BasisCalibration {
    let factors: Vec<BasisFactors> = assets.iter().map(AssetBasisFit::factors).collect();
    let max = |f: fn(&BasisFactors) -> f64| factors.iter().map(f).fold(0.0, f64::max);
    let pooled = BasisFactors {
        perpetual_basis_shock: max(|r| r.perpetual_basis_shock),
        carry_rate_shock: max(|r| r.carry_rate_shock),
        degrees_of_freedom: factors
            .iter()
            .map(|r| r.degrees_of_freedom)
            .fold(f64::INFINITY, f64::min)
            .min(30.0),
        spot_correlation: factors.iter().map(|r| r.spot_correlation).sum::<f64>()
            / factors.len().max(1) as f64,
    };
    let fallback = round_factors(&pooled);
    let mut rounded = BasisRisk::from(fallback);
    for (asset, factors) in assets.iter().zip(&factors) {
        let mut own = round_factors(factors);
        own.degrees_of_freedom = own.degrees_of_freedom.min(30.0);
        rounded.underlyings.insert(asset.asset.clone(), own);
    }
    BasisCalibration { horizon_days, assets, pooled, rounded }
}

/// The calibration as a Markdown table (the `xmargin basis` output and BACKTEST.md's block).
pub fn basis_table(calibration: &BasisCalibration) -> String {
    let bp = |x: f64| format!("{:.2} bp", 1e4 * x);
    let pair = |(lo, hi): (f64, f64)| format!("{} / {}", bp(lo), bp(hi));
    let percent = |(lo, hi): (f64, f64)| format!("{:.2}% / {:.2}%", 100.0 * lo, 100.0 * hi);
    let mut out = format!(
        "| asset | {}-day windows (first..last start) | perpetual factor u 1% / 99% | premium change 1% / 99% | funding surprise 1% / 99% | ρ(premium, surprise) | carry change 1% / 99% (a year) | ν fitted to u | ρ(u, spot) |\n\
         |---|---|---|---|---|---:|---|---:|---:|\n",
        calibration.horizon_days
    );
    for a in &calibration.assets {
        out.push_str(&format!(
            "| {} | {} ({}..{}) | {} | {} | {} | {:.2} | {} | {:.2} | {:.3} |\n",
            a.asset,
            a.windows,
            a.from,
            a.to,
            pair(a.perpetual_quantiles),
            pair(a.premium_quantiles),
            pair(a.funding_quantiles),
            a.premium_funding_correlation,
            percent(a.carry_quantiles),
            a.fitted_df,
            a.spot_correlation
        ));
    }
    let r = &calibration.rounded;
    let line = |f: &BasisFactors| {
        format!(
            "perpetual basis shock {}, carry shock {:.2}% a year (a future `T` years out: × `T`), \
             ν {}, spot correlation {:.2}",
            bp(f.perpetual_basis_shock),
            100.0 * f.carry_rate_shock,
            f.degrees_of_freedom,
            f.spot_correlation
        )
    };
    out.push_str(
        "\nRounded up (`BasisRisk::calibrated()` for a one-day period), each asset its own:\n\n",
    );
    for (asset, factors) in &r.underlyings {
        out.push_str(&format!("- {asset} (`BasisFactors::{asset}`): {}\n", line(factors)));
    }
    out.push_str(&format!(
        "- any other underlying, pooled (`BasisRisk::CALIBRATED`, the larger shocks): {}\n",
        line(&r.fallback())
    ));
    out
}
