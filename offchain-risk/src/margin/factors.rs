//! Risk factors and scenarios: what a scenario moves, keyed by type rather than by string.
//!
//! Each underlying has three factors: its spot (a simple return, `0.1` = +10%, which moves the
//! forwards and the perpetual mark with it), its implied-volatility level (a relative change at
//! the 30-day reference expiry, scaled to other expiries by [`VolTermScaling`]), and its skew (a
//! rotation of the smile about the forward), and three basis factors of its delta-one contracts
//! against spot ([`crate::margin::basis`]): the perpetual's premium, the funding accrued over the
//! period, and the annualised carry of dated futures. How a spot move carries the smile is a
//! choice, [`VolDynamics`]: by default the surface, kept in log-moneyness, is re-read at each
//! strike's new moneyness (sticky moneyness).

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

/// What an option's implied vol does when spot moves (before any vol-level or skew shock).
///
/// With `k = ln(K/F)` the log-moneyness in the base market and `k'` after the spot shock, and
/// `σ₀(·)` the base smile of the expiry:
/// - sticky strike: `σ = σ₀(k)`, each option keeps its vol (Derive's PMRM: the vol feed is read
///   per strike once, then only scaled);
/// - sticky moneyness: `σ = σ₀(k')`, the smile moves with the forward;
/// - sticky delta: the smile is fixed as a function of forward delta `N(d₁)` and a vol-level
///   multiplier `m` scales it, so the vol is `m·σ₀(k*)` where `k*` has the delta in the base
///   market that the option has now: `d₁(k*, σ₀(k*)) = d₁(k', m·σ₀(k*))`, i.e.
///   `k* = k'/m + (1 − m)·σ₀(k*)²·T/2`. Without a vol-level shock (`m = 1`) `k* = k'` and it is
///   sticky moneyness: forward delta is a function of `k` and `σ√T` alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VolDynamics {
    /// Each option keeps its own vol.
    #[serde(alias = "sticky_strike")]
    StickyStrike,
    /// The smile moves with the forward (the project's default).
    #[default]
    #[serde(alias = "sticky_moneyness")]
    StickyMoneyness,
    /// The smile is fixed in delta.
    #[serde(alias = "sticky_delta")]
    StickyDelta,
}

impl VolDynamics {
    /// All three, in the order help text lists them.
    pub const ALL: [VolDynamics; 3] =
        [Self::StickyStrike, Self::StickyMoneyness, Self::StickyDelta];

    /// The name used by the CLI and configuration files.
    pub fn name(self) -> &'static str {
        match self {
            Self::StickyStrike => "sticky-strike",
            Self::StickyMoneyness => "sticky-moneyness",
            Self::StickyDelta => "sticky-delta",
        }
    }
}

impl std::str::FromStr for VolDynamics {
    type Err = String;

    /// Accepts `sticky-strike` or `sticky_strike` (and so on); the error lists the valid names.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted = text.trim().replace('_', "-");
        Self::ALL.into_iter().find(|d| d.name() == wanted).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|d| d.name()).collect();
            format!("unknown vol dynamics {text:?}: use one of {}", names.join(", "))
        })
    }
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
    /// Expiries shorter than this many days scale as this many (the power law diverges at zero):
    /// an hour by default, a day in Derive's PMRM (`dteFloor`).
    // Skipped at its default so that configurations (and the Monte Carlo seed hashed from
    // them) serialise as before the field existed.
    #[serde(default = "default_floor_days", skip_serializing_if = "is_default_floor_days")]
    pub floor_days: f64,
}

fn default_floor_days() -> f64 {
    1.0 / 24.0
}

fn is_default_floor_days(days: &f64) -> bool {
    // Exact: only the untouched default is skipped.
    days.to_bits() == default_floor_days().to_bits()
}

impl Default for VolTermScaling {
    fn default() -> Self {
        Self {
            reference_days: 30.0,
            short_power: 0.3,
            long_power: 0.13,
            floor_days: default_floor_days(),
        }
    }
}

impl VolTermScaling {
    /// The term scale `(reference_days / T_days)^p` of expiry `expiry_years`.
    pub fn scale(&self, expiry_years: f64) -> f64 {
        let days = (expiry_years * 365.0).max(self.floor_days);
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

    /// Every factor back to zero (no move).
    pub fn clear(&mut self) {
        for factor in self.factors_mut() {
            factor.fill(0.0);
        }
    }

    /// The shock's values, factor by factor, appended to `out` (`6 × underlyings` of them):
    /// Monte Carlo keeps every path's shock in one buffer instead of six vectors per path.
    pub fn append_to(&self, out: &mut Vec<f64>) {
        for factor in self.factors() {
            out.extend_from_slice(factor);
        }
    }

    /// Overwrites the shock with values [`ShockVector::append_to`] wrote for the same number
    /// of underlyings.
    pub fn copy_from_flat(&mut self, flat: &[f64]) {
        let n = self.spot_return.len();
        for (i, factor) in self.factors_mut().into_iter().enumerate() {
            factor.copy_from_slice(&flat[i * n..(i + 1) * n]);
        }
    }

    /// How many values [`ShockVector::append_to`] writes.
    pub fn len_flat(&self) -> usize {
        6 * self.spot_return.len()
    }

    fn factors(&self) -> [&[f64]; 6] {
        [
            &self.spot_return,
            &self.vol_level,
            &self.skew_rotation,
            &self.perpetual_premium,
            &self.funding_accrual,
            &self.carry_rate,
        ]
    }

    fn factors_mut(&mut self) -> [&mut Vec<f64>; 6] {
        [
            &mut self.spot_return,
            &mut self.vol_level,
            &mut self.skew_rotation,
            &mut self.perpetual_premium,
            &mut self.funding_accrual,
            &mut self.carry_rate,
        ]
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
