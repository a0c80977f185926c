//! Risk factors and scenarios: what a scenario moves, keyed by type rather than by string.
//!
//! Each underlying has three factors: its spot (a simple return, `0.1` = +10%, which moves the
//! forwards and the perpetual mark with it), its implied-volatility level (a relative change at
//! the 30-day reference expiry, scaled to other expiries by [`VolTermScaling`]), and its skew (a
//! rotation of the smile about the forward), and three basis factors of its delta-one contracts
//! against spot ([`crate::margin::basis`]): the perpetual's premium, the funding accrued over the
//! period, and the annualised carry of dated futures. The surface is kept in log-moneyness, so a spot move
//! re-reads each strike's volatility at its new moneyness (sticky moneyness).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A market risk factor of one underlying.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "factor", content = "underlying", rename_all = "snake_case")]
pub enum RiskFactor {
    /// Spot price: shock is a simple return.
    Spot(String),
    /// Implied-volatility level: shock is a relative change at the reference expiry.
    VolLevel(String),
    /// Skew: shock `s` rotates vol to `σ (1 - s k)` with `k = ln(K/F)`; `s > 0` lifts the put wing.
    Skew(String),
    /// Perpetual premium over spot: shock is its change, a fraction of spot (`0.001` = 10 bp).
    PerpetualPremium(String),
    /// Funding a long perpetual pays over the period, a fraction of notional.
    FundingAccrual(String),
    /// Annualised carry `ln(F/S)/T` of dated futures: shock is its change; a future `T` years
    /// out moves by shock × `T` against spot.
    CarryRate(String),
}

/// A joint move of risk factors; factors not named stay put.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// What the scenario represents, e.g. `spot -9% vol up`.
    pub label: String,
    /// Shock per factor.
    pub shocks: BTreeMap<RiskFactor, f64>,
    /// Fraction of the scenario's loss that counts (1 for ordinary moves; below 1 for dampened
    /// extreme moves, e.g. SPAN's 35% cover).
    pub loss_weight: f64,
}

/// How a volatility-level shock at the reference expiry scales to expiry `T`: multiplied by
/// `(reference_days / T_days)^p`, with `p = short_power` below the reference and `long_power`
/// above it (Derive's PMRM: 30 days, 0.3 and 0.13): short-dated vol moves more.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VolTermScaling {
    /// Reference expiry in days.
    pub reference_days: f64,
    /// Power below the reference expiry.
    pub short_power: f64,
    /// Power above the reference expiry.
    pub long_power: f64,
}

impl Default for VolTermScaling {
    fn default() -> Self {
        Self { reference_days: 30.0, short_power: 0.3, long_power: 0.13 }
    }
}

impl VolTermScaling {
    /// The term scale `(reference_days / T_days)^p` of expiry `expiry_years`.
    pub fn scale(&self, expiry_years: f64) -> f64 {
        // Expiries shorter than an hour scale as an hour: the power law diverges at zero.
        let days = (expiry_years * 365.0).max(1.0 / 24.0);
        let power = if days < self.reference_days { self.short_power } else { self.long_power };
        (self.reference_days / days).powf(power)
    }

    /// The factor that multiplies implied vol at expiry `expiry_years` for a level shock
    /// `vol_level` (floored so vol stays positive).
    pub fn multiplier(&self, vol_level: f64, expiry_years: f64) -> f64 {
        Self::multiplier_from_scale(vol_level, self.scale(expiry_years))
    }

    /// [`VolTermScaling::multiplier`] from a precomputed [`VolTermScaling::scale`].
    #[inline]
    pub fn multiplier_from_scale(vol_level: f64, scale: f64) -> f64 {
        (1.0 + vol_level * scale).max(0.01)
    }
}

/// A scenario compiled against a book's underlyings: one shock per factor, by underlying index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShockVector {
    pub spot_return: Vec<f64>,
    pub vol_level: Vec<f64>,
    pub skew_rotation: Vec<f64>,
    pub perpetual_premium: Vec<f64>,
    pub funding_accrual: Vec<f64>,
    pub carry_rate: Vec<f64>,
}

impl ShockVector {
    pub fn zero(underlyings: usize) -> Self {
        Self {
            spot_return: vec![0.0; underlyings],
            vol_level: vec![0.0; underlyings],
            skew_rotation: vec![0.0; underlyings],
            perpetual_premium: vec![0.0; underlyings],
            funding_accrual: vec![0.0; underlyings],
            carry_rate: vec![0.0; underlyings],
        }
    }

    /// Compiles `scenario` for the book's `underlyings`; shocks of other underlyings are moot.
    pub fn compile(scenario: &Scenario, underlyings: &[String]) -> Self {
        let mut vector = Self::zero(underlyings.len());
        for (factor, shock) in &scenario.shocks {
            let (name, slot) = match factor {
                RiskFactor::Spot(name) => (name, &mut vector.spot_return),
                RiskFactor::VolLevel(name) => (name, &mut vector.vol_level),
                RiskFactor::Skew(name) => (name, &mut vector.skew_rotation),
                RiskFactor::PerpetualPremium(name) => (name, &mut vector.perpetual_premium),
                RiskFactor::FundingAccrual(name) => (name, &mut vector.funding_accrual),
                RiskFactor::CarryRate(name) => (name, &mut vector.carry_rate),
            };
            if let Some(index) = underlyings.iter().position(|u| u == name) {
                slot[index] = *shock;
            }
        }
        vector
    }
}
