//! Basis and funding risk of delta-one contracts against spot: what a perpetual-vs-spot or a
//! future-vs-spot book loses when spot nets to zero.
//!
//! Two factors per underlying, fractions of the contract's notional over one day (the default
//! margin period of risk):
//! - a **perpetual** returns, over spot, the change of its premium `(mark − spot) / spot` minus
//!   the funding it pays. Funding is expected to persist (the current 8-hour rate at every print
//!   of the period); what is not expected, the premium change net of the funding surprise, is
//!   one factor `u` (the two co-move: correlation 0.86 on the data, so they are not shocked
//!   separately). The add-on charges the expected funding where the net perpetual position pays
//!   it and never credits it where it receives it (a rate can flip within the period, and a
//!   fixed-shock margin should not lean on income not yet paid); the Monte Carlo, a 99% model,
//!   centres the perpetual's P&L on the expected funding with its sign and shocks around it;
//! - the annualised **carry** `ln(F/S)/T` of dated futures changes by `Δc`, moving a future of
//!   `T` years left by `Δc × T` against spot.
//!
//! [`BasisFactors`] holds one 99% shock per factor and the tails and spot correlation the Monte
//! Carlo draws them with; [`BasisRisk`] holds them per underlying (BTC and ETH each calibrated on
//! its own Binance funding and OHLCV history, reproducible with `xmargin basis`; see
//! [`crate::backtest::basis`]) with a fallback for underlyings without history
//! ([`BasisRisk::CALIBRATED`], the worse of the two).
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

/// One underlying's basis and funding factors, per one-day margin period of risk at 99%.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BasisFactors {
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

impl BasisFactors {
    /// BTC alone, calibrated on Binance BTC-USDT funding 2020–2023 and BTCUSDT closes (one-day
    /// period, 99%): its perpetual factor's larger tail (10.26 bp, a fall of `u`: a long's
    /// loss) and carry's (3.19% a year) rounded up to two significant digits, ν floored at 3, spot
    /// correlation (−0.082) rounded to 0.05. Pinned by the `basis` test
    /// `per_asset_constants_are_each_assets_own_calibration`.
    pub const BTC: Self = Self {
        perpetual_basis_shock: 0.0011,
        carry_rate_shock: 0.032,
        degrees_of_freedom: 3.0,
        spot_correlation: -0.10,
    };

    /// ETH alone, as [`Self::BTC`] on ETH-USDT funding and ETHUSDT closes (13.00 bp, 4.21% a
    /// year, ρ −0.139).
    pub const ETH: Self = Self {
        perpetual_basis_shock: 0.0014,
        carry_rate_shock: 0.043,
        degrees_of_freedom: 3.0,
        spot_correlation: -0.15,
    };

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

    /// Whether both shocks are zero.
    pub fn is_zero(&self) -> bool {
        self.perpetual_basis_shock == 0.0 && self.carry_rate_shock == 0.0
    }
}

/// Basis and funding risk factors, per one-day margin period of risk at 99%: per underlying
/// where its own funding history calibrated them (`underlyings`), the fallback fields for any
/// other underlying. The fallback fields are the factors of old configurations (which had no
/// `underlyings`), so those still parse and mean what they meant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasisRisk {
    /// Fallback (underlyings not in `underlyings`): see [`BasisFactors::perpetual_basis_shock`].
    pub perpetual_basis_shock: f64,
    /// Fallback: see [`BasisFactors::carry_rate_shock`].
    pub carry_rate_shock: f64,
    /// Fallback: see [`BasisFactors::degrees_of_freedom`].
    pub degrees_of_freedom: f64,
    /// Fallback: see [`BasisFactors::spot_correlation`].
    pub spot_correlation: f64,
    /// Per underlying (symbol), calibrated on that underlying's own history.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub underlyings: BTreeMap<String, BasisFactors>,
}

impl BasisRisk {
    /// The fallback for underlyings without a funding history of their own: the larger
    /// asset's shocks of the Binance BTC and ETH calibration (ETH's: 13.0 bp, a long's
    /// perpetual factor, and 4.21% a year, a fall of carry), each rounded up to two significant
    /// digits, the smaller asset's tail ν floored at 3 (the factors fit ν ≈ 1: most days
    /// funding sits at the clamp and nothing moves), and the mean spot correlation to 0.05. An
    /// asset without data is charged the worse calibrated asset's factors (a thinner perpetual
    /// market is not expected to have a calmer basis). Regenerate with
    /// `cargo run --release -p offchain-risk --bin xmargin -- basis`; the `basis` test
    /// `calibrated_constants_are_the_shared_data_calibration` pins these to that output.
    /// No per-underlying entries: [`Self::calibrated`] adds BTC's and ETH's own.
    pub const CALIBRATED: Self = Self {
        perpetual_basis_shock: 0.0014,
        carry_rate_shock: 0.043,
        degrees_of_freedom: 3.0,
        spot_correlation: -0.10,
        underlyings: BTreeMap::new(),
    };

    /// No basis or funding risk: every model margins delta-one books as before basis risk
    /// existed (perpetual + spot and future + spot net to zero).
    pub const ZERO: Self = Self {
        perpetual_basis_shock: 0.0,
        carry_rate_shock: 0.0,
        degrees_of_freedom: 4.0,
        spot_correlation: 0.0,
        underlyings: BTreeMap::new(),
    };

    /// The default: BTC and ETH each with its own calibration ([`BasisFactors::BTC`],
    /// [`BasisFactors::ETH`]), [`Self::CALIBRATED`] for every other underlying.
    pub fn calibrated() -> Self {
        Self::CALIBRATED
            .with_underlying("BTC", BasisFactors::BTC)
            .with_underlying("ETH", BasisFactors::ETH)
    }

    /// `self` with `underlying`'s factors set.
    pub fn with_underlying(mut self, underlying: &str, factors: BasisFactors) -> Self {
        self.underlyings.insert(underlying.to_owned(), factors);
        self
    }

    /// The fallback factors.
    pub fn fallback(&self) -> BasisFactors {
        BasisFactors {
            perpetual_basis_shock: self.perpetual_basis_shock,
            carry_rate_shock: self.carry_rate_shock,
            degrees_of_freedom: self.degrees_of_freedom,
            spot_correlation: self.spot_correlation,
        }
    }

    /// The factors of `underlying`: its own entry, else the fallback.
    pub fn factors(&self, underlying: &str) -> BasisFactors {
        self.underlyings.get(underlying).copied().unwrap_or_else(|| self.fallback())
    }

    /// Whether every shock, fallback and per underlying, is zero (the Monte Carlo then draws no
    /// basis factors).
    pub fn is_zero(&self) -> bool {
        self.fallback().is_zero() && self.underlyings.values().all(BasisFactors::is_zero)
    }

    /// Checks the fields; errors name the field.
    pub fn validate(&self, path: &str) -> Result<(), crate::DataError> {
        self.fallback().validate(path)?;
        for (underlying, factors) in &self.underlyings {
            factors.validate(&format!("{path}.underlyings.{underlying}"))?;
        }
        Ok(())
    }
}

impl From<BasisFactors> for BasisRisk {
    /// The same factors for every underlying.
    fn from(factors: BasisFactors) -> Self {
        Self {
            perpetual_basis_shock: factors.perpetual_basis_shock,
            carry_rate_shock: factors.carry_rate_shock,
            degrees_of_freedom: factors.degrees_of_freedom,
            spot_correlation: factors.spot_correlation,
            underlyings: BTreeMap::new(),
        }
    }
}

impl Default for BasisRisk {
    fn default() -> Self {
        Self::calibrated()
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

/// The basis add-on of `positions` (all on one underlying, whose factors
/// [`BasisRisk::factors`] gives): buckets are the perpetual and each futures expiry, charged
/// separately; spot and options carry none.
pub(crate) fn basis_add_on<'p, 'm: 'p>(
    positions: impl IntoIterator<Item = &'p PreparedPosition<'m>>,
    risk: &BasisRisk,
) -> BasisAddOn {
    let mut perpetual_notional = 0.0;
    let mut funding_rate_8h = 0.0;
    let mut factors = None;
    // expiry (ms) → (net notional, years to expiry)
    let mut futures: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for position in positions {
        let Exposure::DeltaOne { pnl_per_return, basis } = &position.exposure else { continue };
        factors.get_or_insert_with(|| {
            risk.factors(position.valuation.position.instrument.underlying())
        });
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
    let factors = factors.unwrap_or_else(|| risk.fallback());
    BasisAddOn {
        perpetual: perpetual_notional.abs() * factors.perpetual_basis_shock,
        funding: (perpetual_notional * expected_funding).max(0.0),
        futures: futures
            .values()
            .map(|(notional, years)| notional.abs() * factors.carry_rate_shock * years)
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
