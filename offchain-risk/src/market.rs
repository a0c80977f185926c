//! Market data at one instant: per underlying the spot, the USD rate, the forward curve (from
//! dated futures), the perpetual's mark and funding, and the volatility surface. It is the only
//! place time enters the maths: expiries become year fractions against the snapshot's timestamp.
//!
//! JSON shape:
//!
//! ```json
//! {"timestamp_ms": 1612877925407,
//!  "underlyings": {"BTC": {"spot": 45793.62, "rate": 0.0,
//!                          "forwards": [{"expiry_ms": 1616745600000, "forward": 47839.95}],
//!                          "perpetual_mark": 45810.0, "funding_rate_8h": 0.0001,
//!                          "surface": {"slices": [...]}}}}
//! ```
//!
//! `surface` is a [`VolSurface`] (needed only to price options). Year fractions are ACT/365 in
//! milliseconds, as Deribit computes them. Forwards between quoted expiries interpolate the log
//! carry `ln(F/S)` linearly in time (from zero at the snapshot); beyond the last quoted expiry the
//! last carry rate `ln(F/S)/T` extends; with no forward quoted the forward is the spot.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::DataError;
use crate::instrument::invalid;
use crate::surface::VolSurface;

/// Milliseconds in the ACT/365 year.
pub const MS_PER_YEAR: f64 = 365.0 * 86_400_000.0;

/// A forward (or dated future's mark) for one expiry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardQuote {
    /// Expiry, Unix milliseconds.
    pub expiry_ms: i64,
    /// Forward price in USD.
    pub forward: f64,
}

/// Market data of one underlying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnderlyingMarket {
    /// Spot (index) price in USD.
    pub spot: f64,
    /// Continuously compounded USD rate used to discount option payoffs.
    #[serde(default)]
    pub rate: f64,
    /// Forward curve, any order.
    #[serde(default)]
    pub forwards: Vec<ForwardQuote>,
    /// The perpetual's mark price (the spot if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perpetual_mark: Option<f64>,
    /// Funding rate per 8-hour period, paid by longs to shorts when positive.
    #[serde(default)]
    pub funding_rate_8h: f64,
    /// Implied-volatility surface (required for options).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<VolSurface>,
}

/// Market data at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSnapshot {
    /// Observation time, Unix milliseconds.
    pub timestamp_ms: i64,
    /// Market data by underlying symbol.
    pub underlyings: BTreeMap<String, UnderlyingMarket>,
}

impl MarketSnapshot {
    /// Validates every field; errors name the JSON path (e.g. `underlyings.BTC.spot`).
    pub fn validate(&self) -> Result<(), DataError> {
        if self.timestamp_ms <= 0 {
            return Err(invalid("", "timestamp_ms", "must be a Unix time in milliseconds"));
        }
        for (symbol, market) in &self.underlyings {
            let path = format!("underlyings.{symbol}");
            if !(market.spot.is_finite() && market.spot > 0.0) {
                return Err(invalid(&path, "spot", "must be a positive USD price"));
            }
            if !market.rate.is_finite() || market.rate.abs() > 1.0 {
                return Err(invalid(
                    &path,
                    "rate",
                    "must be a finite rate within [-1, 1] (0.05 = 5%)",
                ));
            }
            if !market.funding_rate_8h.is_finite() || market.funding_rate_8h.abs() > 0.1 {
                return Err(invalid(
                    &path,
                    "funding_rate_8h",
                    "must be a rate per 8h within [-0.1, 0.1]",
                ));
            }
            if let Some(mark) = market.perpetual_mark {
                if !(mark.is_finite() && mark > 0.0) {
                    return Err(invalid(&path, "perpetual_mark", "must be a positive USD price"));
                }
            }
            for (index, quote) in market.forwards.iter().enumerate() {
                let field = format!("forwards[{index}]");
                if quote.expiry_ms <= self.timestamp_ms {
                    return Err(invalid(
                        &path,
                        &format!("{field}.expiry_ms"),
                        "must be after timestamp_ms",
                    ));
                }
                if !(quote.forward.is_finite() && quote.forward > 0.0) {
                    return Err(invalid(
                        &path,
                        &format!("{field}.forward"),
                        "must be a positive USD price",
                    ));
                }
            }
            if let Some(surface) = &market.surface {
                surface
                    .validate()
                    .map_err(|error| invalid(&path, "surface", &error.to_string()))?;
            }
        }
        Ok(())
    }

    /// Market data of `symbol`, or an error naming the missing entry.
    pub fn underlying(&self, symbol: &str) -> Result<&UnderlyingMarket, DataError> {
        self.underlyings.get(symbol).ok_or_else(|| DataError::Invalid {
            field: format!("underlyings.{symbol}"),
            reason: "no market data for this underlying; add it to the snapshot".to_owned(),
        })
    }

    /// Years from the snapshot to `expiry_ms` (ACT/365), floored at zero for past expiries.
    pub fn year_fraction(&self, expiry_ms: i64) -> f64 {
        ((expiry_ms - self.timestamp_ms) as f64 / MS_PER_YEAR).max(0.0)
    }
}

impl UnderlyingMarket {
    /// The forward for an expiry `expiry_years` ahead (see the module doc for the interpolation).
    pub fn forward(&self, snapshot_ms: i64, expiry_years: f64) -> f64 {
        if expiry_years <= 0.0 {
            return self.spot;
        }
        // One pass over the (T, ln F/S) knots, any order, with the snapshot itself at (0, 0): the
        // nearest knots at or before and at or after the expiry, and the last knot overall. This
        // runs once per position valuation, so it neither allocates nor sorts.
        let mut before = (0.0, 0.0);
        let mut after: Option<(f64, f64)> = None;
        let mut last = (0.0, 0.0);
        for quote in &self.forwards {
            let t = (quote.expiry_ms - snapshot_ms) as f64 / MS_PER_YEAR;
            if t <= 0.0 {
                continue;
            }
            let knot = (t, (quote.forward / self.spot).ln());
            if t <= expiry_years && t > before.0 {
                before = knot;
            }
            if t >= expiry_years && after.is_none_or(|(best, _)| t < best) {
                after = Some(knot);
            }
            if t > last.0 {
                last = knot;
            }
        }
        let log_carry = match after {
            Some((t, carry)) if t > before.0 => {
                before.1 + (expiry_years - before.0) / (t - before.0) * (carry - before.1)
            }
            Some((_, carry)) => carry,
            // Past the last knot (or no knot): extend the last carry rate.
            None if last.0 > 0.0 => last.1 / last.0 * expiry_years,
            None => 0.0,
        };
        self.spot * log_carry.exp()
    }

    /// The perpetual's mark (the spot when none is quoted).
    pub fn perpetual_mark(&self) -> f64 {
        self.perpetual_mark.unwrap_or(self.spot)
    }
}
