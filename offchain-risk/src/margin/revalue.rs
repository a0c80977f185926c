//! Full revaluation: a book of positions prepared once against the base market, then revalued
//! under any [`ShockVector`] to a P&L per position. Delta-one positions are linear in the spot
//! return; options are repriced with Black-76 at the shocked forward and the surface's volatility
//! at their new moneyness, scaled by the vol-level shock and rotated by the skew shock.

use crate::error::Result;
use crate::error::SurfaceError;
use crate::instrument::{Instrument, Portfolio, Settlement};
use crate::margin::factors::{ShockVector, VolTermScaling};
use crate::market::MarketSnapshot;
use crate::pricing::black76;
use crate::pricing::OptionKind;
use crate::surface::{ExpirySmile, VolSurface};
use crate::valuation::{value_position, PositionValuation, PricingModel, SkewModel};

/// How a position's value responds to the risk factors.
#[derive(Debug, Clone)]
pub(crate) enum Exposure<'m> {
    /// P&L = `pnl_per_return` × spot return (spot, futures, perpetuals, linear or inverse).
    DeltaOne { pnl_per_return: f64 },
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
                Instrument::Spot { .. } => {
                    Exposure::DeltaOne { pnl_per_return: position.size * data.spot }
                }
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
                    Exposure::DeltaOne { pnl_per_return }
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
    pub fn at_horizon(
        &self,
        horizon_years: f64,
        terms: &VolTermScaling,
    ) -> Result<HorizonPosition> {
        let pricing = match &self.exposure {
            Exposure::DeltaOne { pnl_per_return } => {
                HorizonPricing::DeltaOne { pnl_per_return: *pnl_per_return }
            }
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
                HorizonPricing::Option {
                    kind: *kind,
                    forward: *forward,
                    strike: *strike,
                    // 1 before expiry (the smile is read at the remaining time), 0 at it.
                    smile_total_vol_scale: remaining.sqrt() / smile_years.sqrt(),
                    flat_total_vol: flat_vol.unwrap_or(0.0) * remaining.sqrt(),
                    discount_factor: (-rate * remaining).exp(),
                    base_price: *base_price,
                    smile,
                    vol_term_scale: terms.scale(remaining),
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
    },
    Option {
        kind: OptionKind,
        forward: f64,
        strike: f64,
        /// √(w(k)) × this is the smile's total volatility σ√T at the remaining time.
        smile_total_vol_scale: f64,
        discount_factor: f64,
        base_price: f64,
        /// `None` under flat vol.
        smile: Option<ExpirySmile>,
        /// Flat vol × √(remaining years).
        flat_total_vol: f64,
        vol_term_scale: f64,
    },
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
        let spot_return = shock.spot_return[self.underlying];
        match &self.pricing {
            HorizonPricing::DeltaOne { pnl_per_return } => Ok(pnl_per_return * spot_return),
            HorizonPricing::Option {
                kind,
                forward,
                strike,
                smile_total_vol_scale,
                discount_factor,
                base_price,
                smile,
                flat_total_vol,
                vol_term_scale,
            } => {
                let shocked_forward = forward * (1.0 + spot_return);
                // One accurate ln(F/K) serves both the smile (k = ln(K/F)) and the price.
                let forward_over_strike = black76::log_moneyness(shocked_forward, *strike);
                let log_moneyness = -forward_over_strike;
                // Total volatility σ√T throughout: √w straight from the smile's variance.
                let base_total_vol = match smile {
                    Some(smile) => {
                        let variance = smile.total_variance(log_moneyness).ok_or(
                            SurfaceError::InvalidQuery {
                                field: "log_moneyness",
                                value: log_moneyness,
                                reason: "total variance is zero there: no implied vol",
                            },
                        )?;
                        variance.sqrt() * smile_total_vol_scale
                    }
                    None => *flat_total_vol,
                };
                let vol_level = shock.vol_level[self.underlying];
                let skew = shock.skew_rotation[self.underlying];
                let level = VolTermScaling::multiplier_from_scale(vol_level, *vol_term_scale);
                let total_vol = (base_total_vol * level * (1.0 - skew * log_moneyness))
                    .max(0.01 * base_total_vol);
                let price = black76::price_at_log_moneyness(
                    *kind,
                    shocked_forward,
                    *strike,
                    forward_over_strike,
                    total_vol,
                    *discount_factor,
                );
                Ok(self.size * (price - base_price))
            }
        }
    }
}

/// A whole book at one horizon.
pub(crate) fn at_horizon(
    book: &PreparedBook<'_>,
    horizon_years: f64,
    terms: &VolTermScaling,
) -> Result<Vec<HorizonPosition>> {
    book.positions.iter().map(|p| p.at_horizon(horizon_years, terms)).collect()
}
