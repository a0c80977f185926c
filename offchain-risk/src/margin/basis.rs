//! Basis and funding risk of delta-one contracts against spot: what a perpetual-vs-spot or a
//! future-vs-spot book loses when spot nets to zero.
//!
//! Two factors per underlying, fractions of the contract's notional over one day (the default
//! margin period of risk):
//! - a **perpetual** returns, over spot, the change of its premium `(mark − spot) / spot` minus
//!   the funding it pays. Funding is expected to persist (the current 8-hour rate at every print
//!   of the period); what is not expected, the premium change net of the funding surprise, is
//!   one factor `u` (the two co-move: correlation 0.86 on the data, so they are not shocked
//!   separately). The expected funding is charged where the net perpetual position pays it and
//!   never credited where it receives it (a rate can flip within the period, and a margin should
//!   not lean on income not yet paid);
//! - the annualised **carry** `ln(F/S)/T` of dated futures changes by `Δc`, moving a future of
//!   `T` years left by `Δc × T` against spot.
//!
//! [`BasisRisk`] holds one 99% shock per factor ([`BasisRisk::CALIBRATED`] comes from the shared
//! Binance funding and OHLCV history, reproducible with `xmargin basis`; see
//! [`crate::backtest::basis`]) and the tails and spot correlation the Monte Carlo draws them with.
//! The add-on ([`basis_add_on`]) charges each basis bucket of an underlying on its own: the
//! perpetual, and each futures expiry. Buckets never net against each other (a long March future
//! does not offset a short June one) and spot, the reference, carries none. The delta-netted
//! model and the grid (so also the isolated model) add it; Monte Carlo simulates the factors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::instrument::Instrument;
use crate::margin::revalue::{BasisExposure, Exposure, PreparedPosition};

/// Funding prints per day (every 8 hours).
pub const FUNDING_PRINTS_PER_DAY: f64 = 3.0;

/// The one-sided confidence level [`BasisRisk`]'s shocks are quantiles at.
pub const SHOCK_CONFIDENCE: f64 = 0.99;

/// Basis and funding risk factors, per one-day margin period of risk at 99%.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BasisRisk {
    /// Larger of the two one-sided 99% quantiles of a perpetual's unexpected one-day return over
    /// spot: the change of its premium minus the funding surprise (funding accrued over the day
    /// beyond three times the 8-hour rate at its start); fraction of the perpetual's notional.
    pub perpetual_basis_shock: f64,
    /// Larger of the two one-sided 99% quantiles of the one-day change of the futures' annualised
    /// carry; a future `T` years from expiry is shocked by this × `T` against spot.
    pub carry_rate_shock: f64,
    /// Student-t degrees of freedom of the factors' changes (Monte Carlo; > 2).
    pub degrees_of_freedom: f64,
    /// Correlation of the factors' changes with the spot return (Monte Carlo; in [-1, 1]).
    pub spot_correlation: f64,
}

impl BasisRisk {
    /// Calibrated on Binance BTC and ETH funding 2020–2023 with BTC/ETH OHLCV closes, one-day
    /// period, 99%: the larger asset's shocks (ETH's: 13.0 bp, a long's perpetual factor, and
    /// 4.21% a year, a fall of carry), each rounded up to two significant digits, the
    /// smaller asset's tail ν floored at 3 (the factors fit ν ≈ 1: most days funding sits at the
    /// clamp and nothing moves), and the mean spot correlation to 0.05. Regenerate with
    /// `cargo run --release -p offchain-risk --bin xmargin -- basis`; the `basis` test
    /// `calibrated_constants_are_the_shared_data_calibration` pins these to that output.
    pub const CALIBRATED: Self = Self {
        perpetual_basis_shock: 0.0014,
        carry_rate_shock: 0.043,
        degrees_of_freedom: 3.0,
        spot_correlation: -0.10,
    };

    /// No basis or funding risk: every model margins delta-one books as before basis risk
    /// existed (perpetual + spot and future + spot net to zero).
    pub const ZERO: Self = Self {
        perpetual_basis_shock: 0.0,
        carry_rate_shock: 0.0,
        degrees_of_freedom: 4.0,
        spot_correlation: 0.0,
    };

    /// Whether every shock is zero (the Monte Carlo then draws no basis factors).
    pub fn is_zero(&self) -> bool {
        self.perpetual_basis_shock == 0.0 && self.carry_rate_shock == 0.0
    }

    /// Checks the fields; errors name the field.
    pub fn validate(&self, path: &str) -> Result<(), crate::DataError> {
        let field = |name: &str| format!("{path}.{name}");
        for (name, value) in [
            ("perpetual_basis_shock", self.perpetual_basis_shock),
            ("carry_rate_shock", self.carry_rate_shock),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(crate::DataError::Invalid {
                    field: field(name),
                    reason: "must be a finite, non-negative fraction (0.001 = 0.1%)".to_owned(),
                });
            }
        }
        if !(self.degrees_of_freedom.is_finite() && self.degrees_of_freedom > 2.0) {
            return Err(crate::DataError::Invalid {
                field: field("degrees_of_freedom"),
                reason: "must be finite and above 2".to_owned(),
            });
        }
        if self.spot_correlation.is_nan() || self.spot_correlation.abs() > 1.0 {
            return Err(crate::DataError::Invalid {
                field: field("spot_correlation"),
                reason: "must lie in [-1, 1]".to_owned(),
            });
        }
        Ok(())
    }
}

impl Default for BasisRisk {
    fn default() -> Self {
        Self::CALIBRATED
    }
}

/// The basis add-on of one underlying, by bucket (USD).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BasisAddOn {
    /// Perpetual: |net perpetual notional| × basis shock.
    pub perpetual: f64,
    /// Expected funding: the one-day accrual at the current rate where the net perpetual
    /// position pays it (funding received is never credited).
    pub funding: f64,
    /// Futures: Σ over expiries of |net notional| × carry shock × years to expiry.
    pub futures: f64,
}

impl BasisAddOn {
    /// The whole add-on.
    pub fn total(&self) -> f64 {
        self.perpetual + self.funding + self.futures
    }
}

/// The basis add-on of `positions` (all on one underlying): buckets are the perpetual and each
/// futures expiry, charged separately; spot and options carry none.
pub(crate) fn basis_add_on<'p, 'm: 'p>(
    positions: impl IntoIterator<Item = &'p PreparedPosition<'m>>,
    risk: &BasisRisk,
) -> BasisAddOn {
    let mut perpetual_notional = 0.0;
    let mut funding_rate_8h = 0.0;
    // expiry (ms) → (net notional, years to expiry)
    let mut futures: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for position in positions {
        let Exposure::DeltaOne { pnl_per_return, basis } = &position.exposure else { continue };
        match basis {
            BasisExposure::Spot => {}
            BasisExposure::Perpetual { funding_rate_8h: rate } => {
                perpetual_notional += pnl_per_return;
                funding_rate_8h = *rate;
            }
            BasisExposure::Future { expiry_years } => {
                let expiry_ms = match &position.valuation.position.instrument {
                    Instrument::Future { expiry_ms, .. } => *expiry_ms,
                    // Only futures are prepared with a future's basis exposure.
                    _ => 0,
                };
                let bucket = futures.entry(expiry_ms).or_insert((0.0, *expiry_years));
                bucket.0 += pnl_per_return;
            }
        }
    }
    let expected_funding = FUNDING_PRINTS_PER_DAY * funding_rate_8h;
    BasisAddOn {
        perpetual: perpetual_notional.abs() * risk.perpetual_basis_shock,
        funding: (perpetual_notional * expected_funding).max(0.0),
        futures: futures
            .values()
            .map(|(notional, years)| notional.abs() * risk.carry_rate_shock * years)
            .sum(),
    }
}

/// The Monte Carlo's scale of a basis factor: the standard deviation that puts the one-sided
/// `confidence` quantile of a unit-variance Student-t with `degrees_of_freedom` at `shock`.
pub(crate) fn unit_variance_scale(shock: f64, degrees_of_freedom: f64, confidence: f64) -> f64 {
    let nu = degrees_of_freedom;
    let quantile = student_t_quantile(confidence, nu) * ((nu - 2.0) / nu).sqrt();
    shock / quantile
}

/// The `p` quantile (p in (0.5, 1)) of Student's t with `nu` > 0 degrees of freedom: bisection
/// on the CDF, whose upper half is 1/2 + ∫₀ᵗ density, integrated by Simpson's rule (the density
/// is smooth and bounded, so 400 panels give ~1e-12 on the quantiles margins use).
pub fn student_t_quantile(p: f64, nu: f64) -> f64 {
    let log_norm = libm::lgamma(0.5 * (nu + 1.0))
        - libm::lgamma(0.5 * nu)
        - 0.5 * (nu * std::f64::consts::PI).ln();
    let density = |t: f64| (log_norm - 0.5 * (nu + 1.0) * (t * t / nu).ln_1p()).exp();
    let cdf = |x: f64| {
        const PANELS: usize = 400;
        let h = x / PANELS as f64;
        let mut sum = density(0.0) + density(x);
        for i in 1..PANELS {
            sum += density(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        0.5 + sum * h / 3.0
    };
    let (mut lo, mut hi) = (0.0, 1.0);
    while cdf(hi) < p {
        hi *= 2.0;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 {
            break;
        }
    }
    0.5 * (lo + hi)
}
