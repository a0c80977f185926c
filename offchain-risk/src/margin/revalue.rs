//! Full revaluation: a book of positions prepared once against the base market, then revalued
//! under any [`ShockVector`] to a P&L per position. Delta-one positions are linear in the spot
//! return, perpetuals and futures also in their basis factors ([`crate::margin::basis`]);
//! options are repriced with Black-76 at the shocked forward and the surface's volatility as
//! [`VolDynamics`] carries it (at their new moneyness by default), scaled by the vol-level
//! shock and rotated by the skew shock.

use crate::error::Result;
use crate::error::SurfaceError;
use crate::instrument::{Instrument, Portfolio, Settlement};
use crate::margin::factors::{ShockVector, VolDynamics, VolTermScaling};
use crate::margin::grid::{WingShock, WingShockParameters};
use crate::market::MarketSnapshot;
use crate::pricing::black76;
use crate::pricing::OptionKind;
use crate::surface::{ExpirySmile, VolSurface};
use crate::valuation::{value_position, PositionValuation, PricingModel, SkewModel};

/// How a position's value responds to the risk factors.
#[derive(Debug, Clone)]
pub(crate) enum Exposure<'m> {
    /// P&L = `pnl_per_return` × spot return (spot, futures, perpetuals, linear or inverse), plus
    /// the basis factors of perpetuals and futures.
    DeltaOne { pnl_per_return: f64, basis: BasisExposure },
    /// A European option, repriced in full.
    Option {
        kind: OptionKind,
        forward: f64,
        strike: f64,
        expiry_years: f64,
        rate: f64,
        base_price: f64,
        surface: &'m VolSurface,
        flat_vol: Option<f64>,
    },
}

/// Which basis factors a delta-one position reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum BasisExposure {
    /// Spot: the reference, no basis.
    Spot,
    /// A perpetual: its premium over spot and the funding it pays (8-hour rate at the snapshot).
    Perpetual { funding_rate_8h: f64 },
    /// A dated future: its carry over `expiry_years`.
    Future { expiry_years: f64 },
}

/// A position ready for repeated revaluation.
#[derive(Debug, Clone)]
pub(crate) struct PreparedPosition<'m> {
    /// Index into [`PreparedBook::underlyings`].
    pub underlying: usize,
    pub size: f64,
    pub exposure: Exposure<'m>,
    /// Base valuation (mark-to-market and Greeks).
    pub valuation: PositionValuation,
}

/// A portfolio prepared against a market.
#[derive(Debug, Clone)]
pub(crate) struct PreparedBook<'m> {
    pub underlyings: Vec<String>,
    pub spots: Vec<f64>,
    /// Each underlying's volatility surface, where the market has one.
    pub surfaces: Vec<Option<&'m VolSurface>>,
    pub positions: Vec<PreparedPosition<'m>>,
}

impl<'m> PreparedBook<'m> {
    /// Values every position once and records how it responds to the factors.
    pub fn prepare(
        portfolio: &Portfolio,
        market: &'m MarketSnapshot,
        model: &PricingModel,
    ) -> Result<Self> {
        portfolio.validate()?;
        let mut underlyings: Vec<String> = Vec::new();
        let mut spots = Vec::new();
        let mut surfaces = Vec::new();
        let mut positions = Vec::with_capacity(portfolio.positions.len());
        for position in &portfolio.positions {
            let symbol = position.instrument.underlying();
            let data = market.underlying(symbol)?;
            let underlying = match underlyings.iter().position(|u| u == symbol) {
                Some(index) => index,
                None => {
                    underlyings.push(symbol.to_owned());
                    spots.push(data.spot);
                    surfaces.push(data.surface.as_ref());
                    underlyings.len() - 1
                }
            };
            let valuation = value_position(position, market, model)?;
            let exposure = match &position.instrument {
                Instrument::Spot { .. } => Exposure::DeltaOne {
                    pnl_per_return: position.size * data.spot,
                    basis: BasisExposure::Spot,
                },
                Instrument::Future { settlement, .. }
                | Instrument::Perpetual { settlement, .. } => {
                    let pnl_per_return = match settlement {
                        // size × (F(1+r) − entry): linear in r with slope size × F.
                        Settlement::Linear => position.size * valuation.unit.forward,
                        // size × S(1+r) (1/entry − 1/(F(1+r))) = size × (S(1+r)/entry − S/F).
                        Settlement::Inverse => {
                            let entry = position.entry_price.unwrap_or(valuation.unit.forward);
                            position.size * data.spot / entry
                        }
                    };
                    let basis = match &position.instrument {
                        Instrument::Future { .. } => BasisExposure::Future {
                            expiry_years: valuation.unit.expiry_years.unwrap_or(0.0),
                        },
                        _ => BasisExposure::Perpetual { funding_rate_8h: data.funding_rate_8h },
                    };
                    Exposure::DeltaOne { pnl_per_return, basis }
                }
                Instrument::Option { strike, kind, .. } => {
                    let surface =
                        data.surface.as_ref().ok_or_else(|| crate::DataError::Invalid {
                            field: format!("underlyings.{symbol}.surface"),
                            reason: "a volatility surface is required to margin options".to_owned(),
                        })?;
                    Exposure::Option {
                        kind: *kind,
                        forward: valuation.unit.forward,
                        strike: *strike,
                        expiry_years: valuation.unit.expiry_years.unwrap_or(0.0),
                        rate: data.rate,
                        base_price: valuation.unit.value,
                        surface,
                        flat_vol: match model.skew {
                            SkewModel::Surface => None,
                            SkewModel::FlatAtm => valuation.unit.vol,
                        },
                    }
                }
            };
            positions.push(PreparedPosition {
                underlying,
                size: position.size,
                exposure,
                valuation,
            });
        }
        Ok(Self { underlyings, spots, surfaces, positions })
    }

    /// Mark-to-market of the whole book (USD).
    pub fn mark_to_market(&self) -> f64 {
        self.positions.iter().map(|p| p.valuation.value).sum()
    }
}

impl PreparedPosition<'_> {
    /// The position as seen `horizon_years` ahead (0 for an instantaneous scenario): remaining
    /// expiry, discount factor, smile and vol-shock term scale fixed once, so that each
    /// scenario or path costs one Black-76 price.
    pub fn at_horizon(&self, horizon_years: f64, rules: &VolRules) -> Result<HorizonPosition> {
        let terms = &rules.term;
        let pricing = match &self.exposure {
            Exposure::DeltaOne { pnl_per_return, basis } => HorizonPricing::DeltaOne {
                pnl_per_return: *pnl_per_return,
                basis: match basis {
                    BasisExposure::Spot => HorizonBasis::Spot,
                    BasisExposure::Perpetual { .. } => HorizonBasis::Perpetual,
                    BasisExposure::Future { expiry_years } => HorizonBasis::Future {
                        remaining_years: (expiry_years - horizon_years).max(0.0),
                    },
                },
            },
            Exposure::Option {
                kind,
                forward,
                strike,
                expiry_years,
                rate,
                base_price,
                surface,
                flat_vol,
            } => {
                let remaining = (expiry_years - horizon_years).max(0.0);
                // At expiry the option is worth its intrinsic value whatever the vol: read the
                // smile at a tiny positive time so its domain checks hold.
                let smile_years = remaining.max(1e-9);
                let smile = match flat_vol {
                    Some(_) => None,
                    None => Some(surface.smile(smile_years)?),
                };
                let base_log_moneyness = (strike / forward).ln();
                let base_vol = match &smile {
                    Some(smile) => smile_vol(smile, base_log_moneyness)?,
                    None => flat_vol.unwrap_or(0.0),
                };
                HorizonPricing::Option {
                    kind: *kind,
                    forward: *forward,
                    strike: *strike,
                    // 1 before expiry (the smile is read at the remaining time), 0 at it.
                    remaining,
                    sqrt_remaining: remaining.sqrt(),
                    smile_total_vol_scale: remaining.sqrt() / smile_years.sqrt(),
                    flat_total_vol: flat_vol.unwrap_or(0.0) * remaining.sqrt(),
                    discount_factor: (-rate * remaining).exp(),
                    base_price: *base_price,
                    smile,
                    vol_term_scale: terms.scale(remaining),
                    base_log_moneyness,
                    base_vol,
                    dynamics: rules.dynamics,
                    min_vol_up: rules.min_vol_up,
                }
            }
        };
        Ok(HorizonPosition { underlying: self.underlying, size: self.size, pricing })
    }
}

/// How a position is repriced at a fixed horizon.
#[derive(Debug, Clone, Copy)]
enum HorizonPricing {
    DeltaOne {
        pnl_per_return: f64,
        basis: HorizonBasis,
    },
    Option {
        kind: OptionKind,
        forward: f64,
        strike: f64,
        /// Years to expiry at the horizon, and their square root.
        remaining: f64,
        sqrt_remaining: f64,
        /// √(w(k)) × this is the smile's total volatility σ√T at the remaining time.
        smile_total_vol_scale: f64,
        discount_factor: f64,
        base_price: f64,
        /// `None` under flat vol.
        smile: Option<ExpirySmile>,
        /// Flat vol × √(remaining years).
        flat_total_vol: f64,
        vol_term_scale: f64,
        /// `ln(K/F)` in the base market.
        base_log_moneyness: f64,
        /// The smile's vol at `base_log_moneyness` (the option's own vol).
        base_vol: f64,
        dynamics: VolDynamics,
        /// Floor on the vol under a vol-up shock (0: none).
        min_vol_up: f64,
    },
}

/// The basis factors a delta-one position reads at a horizon.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HorizonBasis {
    Spot,
    Perpetual,
    Future { remaining_years: f64 },
}

/// P&L of a delta-one position on `underlying` under `shock`. Written so that zero basis shocks
/// give exactly `pnl_per_return × r`: a hedged book then nets to an exact zero, as before basis
/// risk existed.
#[inline]
pub(crate) fn delta_one_pnl(
    pnl_per_return: f64,
    basis: &HorizonBasis,
    underlying: usize,
    shock: &ShockVector,
) -> f64 {
    let spot_return = shock.spot_return[underlying];
    match basis {
        HorizonBasis::Spot => pnl_per_return * spot_return,
        HorizonBasis::Perpetual => {
            let premium = shock.perpetual_premium[underlying];
            let funding = shock.funding_accrual[underlying];
            pnl_per_return * (spot_return + premium * (1.0 + spot_return) - funding)
        }
        HorizonBasis::Future { remaining_years } => {
            let basis_return = shock.carry_rate[underlying] * remaining_years;
            pnl_per_return * (spot_return + basis_return * (1.0 + spot_return))
        }
    }
}

/// How options' vols move in a revaluation: term scaling of level shocks, the vol dynamics
/// under a spot move, and a floor on vol in vol-up scenarios (Derive PMRM_2's `minVolUpShock`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VolRules {
    pub term: VolTermScaling,
    pub dynamics: VolDynamics,
    pub min_vol_up: f64,
}

impl VolRules {
    /// Term scaling alone: sticky moneyness, no floor (what Monte Carlo uses).
    pub fn from_term(term: &VolTermScaling) -> Self {
        Self { term: *term, dynamics: VolDynamics::StickyMoneyness, min_vol_up: 0.0 }
    }
}

/// The smile's vol at `log_moneyness`, or an error naming the query.
#[inline]
fn smile_vol(smile: &ExpirySmile, log_moneyness: f64) -> Result<f64> {
    Ok(smile.vol(log_moneyness).ok_or(SurfaceError::InvalidQuery {
        field: "log_moneyness",
        value: log_moneyness,
        reason: "total variance is zero there: no implied vol",
    })?)
}

/// A position prepared for repeated revaluation at one horizon.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HorizonPosition {
    pub underlying: usize,
    size: f64,
    pricing: HorizonPricing,
}

impl HorizonPosition {
    /// P&L under `shock` (USD).
    #[inline]
    pub fn pnl(&self, shock: &ShockVector) -> Result<f64> {
        Ok(self.revalue(shock)?.0)
    }

    /// Under `shock`: the P&L (USD) and, for an option, its shocked value (USD; 0 for delta-one
    /// positions, whose value is their P&L against entry).
    #[inline]
    pub fn revalue(&self, shock: &ShockVector) -> Result<(f64, f64)> {
        let spot_return = shock.spot_return[self.underlying];
        match &self.pricing {
            HorizonPricing::DeltaOne { pnl_per_return, basis } => {
                Ok((delta_one_pnl(*pnl_per_return, basis, self.underlying, shock), 0.0))
            }
            HorizonPricing::Option {
                kind,
                forward,
                strike,
                remaining,
                sqrt_remaining,
                smile_total_vol_scale,
                discount_factor,
                base_price,
                smile,
                flat_total_vol,
                vol_term_scale,
                base_log_moneyness: _,
                base_vol,
                dynamics,
                min_vol_up,
            } => {
                let shocked_forward = forward * (1.0 + spot_return);
                // One accurate ln(F/K) serves both the smile (k = ln(K/F)) and the price.
                let forward_over_strike = black76::log_moneyness(shocked_forward, *strike);
                let log_moneyness = -forward_over_strike;
                let vol_level = shock.vol_level[self.underlying];
                let skew = shock.skew_rotation[self.underlying];
                let level = VolTermScaling::multiplier_from_scale(vol_level, *vol_term_scale);
                // Total volatility σ√T throughout; sticky moneyness takes √w straight from the
                // smile's variance.
                let total_vol_now = match (smile, dynamics) {
                    (None, _) => *flat_total_vol,
                    (Some(_), VolDynamics::StickyStrike) => base_vol * sqrt_remaining,
                    (Some(smile), VolDynamics::StickyMoneyness) => {
                        let variance = smile.total_variance(log_moneyness).ok_or(
                            SurfaceError::InvalidQuery {
                                field: "log_moneyness",
                                value: log_moneyness,
                                reason: "total variance is zero there: no implied vol",
                            },
                        )?;
                        variance.sqrt() * smile_total_vol_scale
                    }
                    (Some(smile), VolDynamics::StickyDelta) => {
                        sticky_delta_vol(smile, log_moneyness, level, *remaining)? * sqrt_remaining
                    }
                };
                let mut total_vol = (total_vol_now * level * (1.0 - skew * log_moneyness))
                    .max(0.01 * total_vol_now);
                if vol_level > 0.0 {
                    total_vol = total_vol.max(min_vol_up * sqrt_remaining);
                }
                let price = black76::price_at_log_moneyness(
                    *kind,
                    shocked_forward,
                    *strike,
                    forward_over_strike,
                    total_vol,
                    *discount_factor,
                );
                Ok((self.size * (price - base_price), self.size * price))
            }
        }
    }

    /// Derive PMRM_2's skew scenario at unchanged spot: each option's own vol times
    /// `1 + clamp(k·cap/k*, −cap, cap)` (floored at 0), with `k = ln(K/F)` (`|k|` for
    /// [`WingShock::Abs`]), `cap = c_base·√T + base_cap` and
    /// `k* = max(min_k_star, √T·width_scale·(vol_param_static + √T·vol_param_scale))`
    /// (`PMRMLib_2._getExpirySkewedShockedMTM`). Returns the P&L and shocked value as
    /// [`HorizonPosition::revalue`] does; delta-one positions do not move.
    pub fn wing_shocked(&self, shape: WingShock, params: &WingShockParameters) -> (f64, f64) {
        let HorizonPricing::Option {
            kind,
            forward,
            strike,
            remaining,
            discount_factor,
            base_price,
            base_log_moneyness,
            base_vol,
            ..
        } = &self.pricing
        else {
            return (0.0, 0.0);
        };
        let sqrt_t = remaining.sqrt();
        let (cap, k) = match shape {
            WingShock::Linear => {
                (params.linear_c_base * sqrt_t + params.linear_base_cap, *base_log_moneyness)
            }
            WingShock::Abs => {
                (params.abs_c_base * sqrt_t + params.abs_base_cap, base_log_moneyness.abs())
            }
        };
        let vol_param = params.vol_param_static + sqrt_t * params.vol_param_scale;
        let k_star = (sqrt_t * params.width_scale * vol_param).max(params.min_k_star);
        let lift =
            if k >= 0.0 { (k * cap / k_star).min(cap) } else { (k * cap / k_star).max(-cap) };
        let vol = base_vol * (1.0 + lift).max(0.0);
        let price = black76::price(*kind, *forward, *strike, *remaining, vol, *discount_factor);
        (self.size * (price - base_price), self.size * price)
    }
}

/// What batched revaluation ([`crate::margin::batch`]) needs of an option revalued under sticky
/// moneyness: the fields of [`HorizonPricing::Option`] that its formula reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StickyMoneynessOption {
    pub underlying: usize,
    pub size: f64,
    pub kind: OptionKind,
    pub forward: f64,
    pub strike: f64,
    pub smile: ExpirySmile,
    /// √w × this is the total volatility at the remaining time.
    pub total_vol_scale: f64,
    pub vol_term_scale: f64,
    /// Floor on the total volatility in vol-up shocks (`min_vol_up × √remaining`).
    pub vol_up_floor: f64,
    pub discount_factor: f64,
    pub base_price: f64,
}

/// Below this lower bound of a smile's total variance an option stays on the checked path: far
/// above the rounding of w, so the batch's unchecked reads cannot meet a w ≤ 0.
const MIN_BATCH_TOTAL_VARIANCE: f64 = 1e-10;

impl HorizonPosition {
    /// A delta-one position's `(pnl_per_return, basis)`, for [`delta_one_pnl`].
    pub(crate) fn delta_one(&self) -> Option<(f64, HorizonBasis)> {
        match self.pricing {
            HorizonPricing::DeltaOne { pnl_per_return, basis } => Some((pnl_per_return, basis)),
            HorizonPricing::Option { .. } => None,
        }
    }

    /// The option's batch form, if it has one: a smile-priced option before expiry under sticky
    /// moneyness whose smile's total variance is positive at every k (so no revaluation of it
    /// can fail for a finite log-moneyness), with finite fields.
    pub(crate) fn sticky_moneyness_option(&self) -> Option<StickyMoneynessOption> {
        let HorizonPricing::Option {
            kind,
            forward,
            strike,
            remaining,
            sqrt_remaining,
            smile_total_vol_scale,
            discount_factor,
            base_price,
            smile: Some(smile),
            vol_term_scale,
            dynamics: VolDynamics::StickyMoneyness,
            min_vol_up,
            ..
        } = self.pricing
        else {
            return None;
        };
        let option = StickyMoneynessOption {
            underlying: self.underlying,
            size: self.size,
            kind,
            forward,
            strike,
            smile,
            total_vol_scale: smile_total_vol_scale,
            vol_term_scale,
            vol_up_floor: min_vol_up * sqrt_remaining,
            discount_factor,
            base_price,
        };
        let finite = [
            self.size,
            forward,
            strike,
            smile_total_vol_scale,
            vol_term_scale,
            option.vol_up_floor,
            discount_factor,
            base_price,
        ]
        .iter()
        .all(|v| v.is_finite());
        (finite
            && remaining > 0.0
            && forward > 0.0
            && strike > 0.0
            && smile_total_vol_scale > 0.0
            && smile.min_total_variance() > MIN_BATCH_TOTAL_VARIANCE)
            .then_some(option)
    }
}

/// Sticky delta (see [`VolDynamics::StickyDelta`]): solves `k* = k'/m + (1 − m)·σ₀(k*)²·T/2` by
/// fixed-point iteration from `k'` (a contraction: its slope `(1 − m)·σ₀·σ₀'·T` is far below 1
/// on any sane smile) and returns `σ₀(k*)`; the caller applies `m`.
#[inline]
fn sticky_delta_vol(
    smile: &ExpirySmile,
    log_moneyness: f64,
    level: f64,
    remaining: f64,
) -> Result<f64> {
    let mut vol = smile_vol(smile, log_moneyness)?;
    // No vol-level shock (the multiplier is exactly 1): k* = k'.
    if (level - 1.0).abs() < 1e-15 {
        return Ok(vol);
    }
    for _ in 0..4 {
        let k_star = log_moneyness / level + 0.5 * (1.0 - level) * vol * vol * remaining;
        vol = smile_vol(smile, k_star)?;
    }
    Ok(vol)
}

/// A whole book at one horizon.
pub(crate) fn at_horizon(
    book: &PreparedBook<'_>,
    horizon_years: f64,
    terms: &VolTermScaling,
) -> Result<Vec<HorizonPosition>> {
    at_horizon_with(book, horizon_years, &VolRules::from_term(terms))
}

/// A whole book at one horizon under explicit vol rules.
pub(crate) fn at_horizon_with(
    book: &PreparedBook<'_>,
    horizon_years: f64,
    rules: &VolRules,
) -> Result<Vec<HorizonPosition>> {
    book.positions.iter().map(|p| p.at_horizon(horizon_years, rules)).collect()
}
