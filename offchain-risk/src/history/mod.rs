//! Real daily price history and the return statistics the margin and collateral models calibrate
//! on.
//!
//! What flows through: CSV files of the shared data set ([`DataDir`], readers in [`load`]) become
//! [`PriceSeries`] (one close per calendar day, days may be missing); [`align`] restricts several
//! series to their common days; [`PriceSeries::log_returns`] turns a series into h-day
//! [`Returns`], each point carrying its own start and end day so a gap is visible; [`stats`]
//! estimates volatility (sample, EWMA), correlation, empirical quantiles and Student-t tails, and
//! scores a margin series against realised losses (exceedances, Kupiec, worst shortfall).
//!
//! # Gaps
//!
//! The files miss a few days (BTC: 2010-08-17 and 2024-02-17, 2024-06-14..17, 2024-12-04..08;
//! the Yahoo series: 2025-01-15). [`GapPolicy::Skip`] (the default everywhere in this crate)
//! drops any window whose start or end day is missing, so every return spans exactly h calendar
//! days: quantiles, EWMA and Kupiec counts then refer to one horizon, and the loss is a few
//! windows out of thousands. [`GapPolicy::SpanGap`] instead takes the return over the calendar
//! gap (from the last close at or before the window's start to the next available close), which
//! keeps every price move in the sample at the cost of some windows longer than h; use it when a
//! move must not be lost (e.g. checking that a stress day is covered). Either way the point's
//! `start`/`end` say exactly what it spans.
//!
//! # Dates of `prices/`
//!
//! The `prices/` files date each close one day late: the value on day D is the close of UTC day
//! D − 1 (against Binance's closes the median |log difference| is 0.09% at that lag and 1.4% on
//! the same day, for BTC and ETH alike; see the `history` tests). Loaders keep the file's dates;
//! a study mixing `prices/` with `ohlcv/` or `vol/` should first apply
//! [`PriceSeries::shift_days`]`(-`[`load::PRICES_DATE_LAG_DAYS`]`)`. Studies within `prices/`
//! need nothing: every asset there has the same lag.

mod date;
pub mod load;
pub mod stats;

pub use date::Date;
pub use load::{DataDir, FundingPoint, FundingSeries, OhlcvBar, OhlcvSeries};

use crate::error::DataError;

/// Daily values of one asset, dates strictly increasing (missing days simply absent).
#[derive(Debug, Clone, PartialEq)]
pub struct PriceSeries {
    /// The asset, e.g. `BTC`.
    pub symbol: String,
    /// (day, close) pairs.
    pub days: Vec<(Date, f64)>,
}

/// How windows are laid over the days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// One window ending on every available day: h times more (dependent) points.
    Overlapping,
    /// Back-to-back windows from the first day: independent points, as Kupiec's test assumes.
    NonOverlapping,
}

/// What to do with a window whose start or end day has no price (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GapPolicy {
    /// Drop the window; every return spans exactly h days.
    #[default]
    Skip,
    /// Stretch the window over the gap; returns span at least h days.
    SpanGap,
}

/// A log return from the close of `start` to the close of `end`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReturnPoint {
    /// First day (its close is the base).
    pub start: Date,
    /// Last day.
    pub end: Date,
    /// ln(price(end) / price(start)).
    pub log_return: f64,
}

impl ReturnPoint {
    /// The simple return price(end)/price(start) − 1.
    pub fn simple_return(&self) -> f64 {
        self.log_return.exp_m1()
    }

    /// Calendar days spanned.
    pub fn span_days(&self) -> i32 {
        self.end.days_since(self.start)
    }
}

/// h-day returns of one asset, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Returns {
    /// The asset.
    pub symbol: String,
    /// The nominal horizon h in calendar days.
    pub horizon_days: u32,
    /// The returns.
    pub points: Vec<ReturnPoint>,
    /// Windows dropped because a start or end day was missing ([`GapPolicy::Skip`]).
    pub skipped_windows: usize,
}

impl Returns {
    /// The log returns alone.
    pub fn log_returns(&self) -> Vec<f64> {
        self.points.iter().map(|p| p.log_return).collect()
    }

    /// The simple returns alone.
    pub fn simple_returns(&self) -> Vec<f64> {
        self.points.iter().map(ReturnPoint::simple_return).collect()
    }
}

impl PriceSeries {
    /// The value on `date`, if that day is present.
    pub fn value_on(&self, date: Date) -> Option<f64> {
        self.days.binary_search_by_key(&date, |d| d.0).ok().map(|i| self.days[i].1)
    }

    /// The last day at or before `date` and its value.
    pub fn last_at_or_before(&self, date: Date) -> Option<(Date, f64)> {
        let after = self.days.partition_point(|d| d.0 <= date);
        after.checked_sub(1).map(|i| self.days[i])
    }

    /// The first day at or after `date` and its value.
    pub fn first_at_or_after(&self, date: Date) -> Option<(Date, f64)> {
        self.days.get(self.days.partition_point(|d| d.0 < date)).copied()
    }

    /// The same values dated `days` later (earlier if negative); see [`load::PRICES_DATE_LAG_DAYS`].
    pub fn shift_days(&self, days: i32) -> PriceSeries {
        PriceSeries {
            symbol: self.symbol.clone(),
            days: self.days.iter().map(|(date, value)| (date.add_days(days), *value)).collect(),
        }
    }

    /// First and last day, if any.
    pub fn span(&self) -> Option<(Date, Date)> {
        Some((self.days.first()?.0, self.days.last()?.0))
    }

    /// Calendar days between the first and last day that have no value.
    pub fn missing_days(&self) -> Vec<Date> {
        let mut missing = Vec::new();
        for pair in self.days.windows(2) {
            missing.extend((1..pair[1].0.days_since(pair[0].0)).map(|k| pair[0].0.add_days(k)));
        }
        missing
    }

    /// The days in `[from, to]` (either bound open when `None`).
    pub fn between(&self, from: Option<Date>, to: Option<Date>) -> PriceSeries {
        let days = self
            .days
            .iter()
            .filter(|d| from.is_none_or(|f| d.0 >= f) && to.is_none_or(|t| d.0 <= t))
            .copied()
            .collect();
        PriceSeries { symbol: self.symbol.clone(), days }
    }

    /// Log returns over `horizon_days` calendar days (see the module docs for gaps).
    pub fn log_returns(
        &self,
        horizon_days: u32,
        sampling: Sampling,
        gaps: GapPolicy,
    ) -> Result<Returns, DataError> {
        let h = i32::try_from(horizon_days).ok().filter(|h| *h > 0).ok_or_else(|| {
            DataError::Invalid {
                field: "horizon_days".into(),
                reason: format!("{horizon_days} must be a positive number of days"),
            }
        })?;
        let mut points = Vec::new();
        let mut skipped_windows = 0;
        let Some((first, last)) = self.span() else {
            return Ok(Returns {
                symbol: self.symbol.clone(),
                horizon_days,
                points,
                skipped_windows,
            });
        };
        let point = |(start, p0): (Date, f64), (end, p1): (Date, f64)| ReturnPoint {
            start,
            end,
            log_return: (p1 / p0).ln(),
        };
        match (sampling, gaps) {
            (Sampling::Overlapping, GapPolicy::Skip) => {
                for &(end, p1) in &self.days {
                    let start = end.add_days(-h);
                    if start < first {
                        continue;
                    }
                    match self.value_on(start) {
                        Some(p0) => points.push(point((start, p0), (end, p1))),
                        None => skipped_windows += 1,
                    }
                }
            }
            (Sampling::NonOverlapping, GapPolicy::Skip) => {
                let mut start = first;
                while start.add_days(h) <= last {
                    let end = start.add_days(h);
                    match (self.value_on(start), self.value_on(end)) {
                        (Some(p0), Some(p1)) => points.push(point((start, p0), (end, p1))),
                        _ => skipped_windows += 1,
                    }
                    start = end;
                }
            }
            (Sampling::Overlapping, GapPolicy::SpanGap) => {
                for &(end, p1) in &self.days {
                    // `first` is in the series, so a start on or after it always has a close.
                    if let Some(base) = self.last_at_or_before(end.add_days(-h)) {
                        points.push(point(base, (end, p1)));
                    }
                }
            }
            (Sampling::NonOverlapping, GapPolicy::SpanGap) => {
                let mut base = self.days[0];
                while let Some(next) = self.first_at_or_after(base.0.add_days(h)) {
                    points.push(point(base, next));
                    base = next;
                }
            }
        }
        Ok(Returns { symbol: self.symbol.clone(), horizon_days, points, skipped_windows })
    }
}

/// The series restricted to the days every one of them has, in the same order; all outputs then
/// share one date vector, so returns computed with [`GapPolicy::Skip`] share their windows.
pub fn align(series: &[PriceSeries]) -> Vec<PriceSeries> {
    let Some((head, rest)) = series.split_first() else {
        return Vec::new();
    };
    let common: Vec<Date> = head
        .days
        .iter()
        .map(|d| d.0)
        .filter(|date| rest.iter().all(|s| s.value_on(*date).is_some()))
        .collect();
    series
        .iter()
        .map(|s| PriceSeries {
            symbol: s.symbol.clone(),
            days: common
                .iter()
                // Every common day is in every series by construction of `common`.
                .filter_map(|date| s.value_on(*date).map(|v| (*date, v)))
                .collect(),
        })
        .collect()
}
