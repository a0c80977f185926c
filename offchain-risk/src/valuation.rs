//! Valuation: instrument + market snapshot + pricing model in, [`Valuation`] out. Pure: no I/O,
//! no clock; the snapshot's timestamp is "now".
//!
//! Every valuation is in USD per unit of size, and its sensitivities are taken with respect to
//! the underlying's **spot** (the forward of each expiry moves with it at fixed carry), so the
//! deltas of spot, futures, perpetuals and options on one underlying add up. Options use
//! Black-76 at the volatility the surface gives for their strike and expiry:
//!
//! - sticky strike: the option's implied volatility stays put when spot moves, so the delta is the
//!   Black-76 delta at that volatility;
//! - sticky moneyness: the volatility moves with `k = ln(K/F)`, so the delta adds
//!   `vega * dσ/dF = -vega * σ_k / F` (for a downward-sloping skew this lowers call deltas).
//!
//! Both deltas are always reported; [`PricingModel::delta`] picks the one in [`Valuation::greeks`].

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::instrument::{Instrument, Position, Settlement};
use crate::market::{MarketSnapshot, UnderlyingMarket};
use crate::pricing::black76;
use crate::pricing::Greeks;

/// Which volatility options are priced at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkewModel {
    /// The surface's volatility at the option's strike (the skew).
    #[default]
    Surface,
    /// The surface's at-the-money volatility of the expiry for every strike (flat vol): what a
    /// skew-blind system would use; kept to measure what the skew changes.
    FlatAtm,
}

/// Which delta [`Valuation::greeks`] carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeltaConvention {
    /// Implied volatility fixed per strike.
    #[default]
    StickyStrike,
    /// Implied volatility fixed per log-moneyness.
    StickyMoneyness,
}

/// Model choices for valuation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricingModel {
    /// Skewed or flat volatility.
    #[serde(default)]
    pub skew: SkewModel,
    /// Delta convention.
    #[serde(default)]
    pub delta: DeltaConvention,
}

/// Value and sensitivities of one unit of an instrument.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Valuation {
    /// USD value of one unit (for futures and perpetuals: the mark, whose P&L against an entry
    /// price [`value_position`] takes).
    pub value: f64,
    /// Value in coin for inverse options (the premium as Deribit quotes it), else `None`.
    pub value_coin: Option<f64>,
    /// The forward (futures: their mark; perpetuals: the perpetual mark; spot: the spot).
    pub forward: f64,
    /// Years to expiry for dated instruments.
    pub expiry_years: Option<f64>,
    /// Implied volatility used (options).
    pub vol: Option<f64>,
    /// Price and Greeks, USD, with respect to spot (see the module doc); `greeks.price == value`.
    pub greeks: Greeks,
    /// dV/dS with implied volatility fixed per strike.
    pub delta_sticky_strike: f64,
    /// dV/dS with implied volatility fixed per log-moneyness.
    pub delta_sticky_moneyness: f64,
}

/// Values one unit of `instrument`.
pub fn value_instrument(
    instrument: &Instrument,
    market: &MarketSnapshot,
    model: &PricingModel,
) -> Result<Valuation> {
    instrument.validate("instrument")?;
    let symbol = instrument.underlying();
    let underlying = market.underlying(symbol)?;
    let spot = underlying.spot;
    match instrument {
        Instrument::Spot { .. } => Ok(linear_delta_one(spot, spot, 1.0, None)),
        Instrument::Future { expiry_ms, .. } => {
            let expiry_years = market.year_fraction(*expiry_ms);
            let forward = underlying.forward(market.timestamp_ms, expiry_years);
            Ok(linear_delta_one(forward, forward, forward / spot, Some(expiry_years)))
        }
        Instrument::Perpetual { .. } => {
            let mark = underlying.perpetual_mark();
            let mut valuation = linear_delta_one(mark, mark, mark / spot, None);
            // Funding is the perpetual's carry: a long pays `rate * mark` every 8 hours.
            valuation.greeks.theta = -underlying.funding_rate_8h * mark * 3.0 * 365.0;
            Ok(valuation)
        }
        Instrument::Option { expiry_ms, strike, kind, settlement, .. } => {
            let expiry_years = market.year_fraction(*expiry_ms);
            let forward = underlying.forward(market.timestamp_ms, expiry_years);
            let (vol, vol_slope_k) =
                option_vol(symbol, underlying, *strike, forward, expiry_years, model)?;
            let forward_greeks = black76::checked_greeks(
                *kind,
                forward,
                *strike,
                expiry_years,
                vol,
                underlying.rate,
            )?;
            // The coin premium is the USD price over the forward (`inverse_greeks`' price, to the
            // bit), without a second pricing.
            let value_coin = match settlement {
                Settlement::Inverse => Some(forward_greeks.price / forward),
                Settlement::Linear => None,
            };
            // dF/dS at fixed carry.
            let carry = forward / spot;
            let delta_sticky_strike = forward_greeks.delta * carry;
            let delta_sticky_moneyness =
                (forward_greeks.delta - forward_greeks.vega * vol_slope_k / forward) * carry;
            let delta = match model.delta {
                DeltaConvention::StickyStrike => delta_sticky_strike,
                DeltaConvention::StickyMoneyness => delta_sticky_moneyness,
            };
            let greeks = Greeks {
                price: forward_greeks.price,
                delta,
                gamma: forward_greeks.gamma * carry * carry,
                vega: forward_greeks.vega,
                theta: forward_greeks.theta,
                rho: forward_greeks.rho,
                vanna: forward_greeks.vanna * carry,
                volga: forward_greeks.volga,
            };
            Ok(Valuation {
                value: forward_greeks.price,
                value_coin,
                forward,
                expiry_years: Some(expiry_years),
                vol: Some(vol),
                greeks,
                delta_sticky_strike,
                delta_sticky_moneyness,
            })
        }
    }
}

/// An instrument worth `value` that moves one-for-one with its forward (`delta = dF/dS`).
fn linear_delta_one(value: f64, forward: f64, delta: f64, expiry_years: Option<f64>) -> Valuation {
    Valuation {
        value,
        value_coin: None,
        forward,
        expiry_years,
        vol: None,
        greeks: Greeks { price: value, delta, ..Greeks::default() },
        delta_sticky_strike: delta,
        delta_sticky_moneyness: delta,
    }
}

/// The option's volatility and the slope `dσ/dk` of the smile at its strike (zero for flat vol).
fn option_vol(
    symbol: &str,
    underlying: &UnderlyingMarket,
    strike: f64,
    forward: f64,
    expiry_years: f64,
    model: &PricingModel,
) -> Result<(f64, f64)> {
    let surface = underlying.surface.as_ref().ok_or_else(|| DataError::Invalid {
        field: format!("underlyings.{symbol}.surface"),
        reason: "a volatility surface is required to price options; calibrate one with `xmargin calibrate`"
            .to_owned(),
    })?;
    // At expiry the option is worth its intrinsic value whatever the vol: query the surface at a
    // tiny positive time so its domain checks hold.
    let query_years = expiry_years.max(1e-9);
    let log_moneyness = (strike / forward).ln();
    Ok(match model.skew {
        SkewModel::Surface => surface.vol_and_dvol_dk(log_moneyness, query_years)?,
        SkewModel::FlatAtm => (surface.vol(0.0, query_years)?, 0.0),
    })
}

/// A position's value and sensitivities (USD, size included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionValuation {
    /// The position valued.
    pub position: Position,
    /// Per-unit valuation.
    pub unit: Valuation,
    /// Mark-to-market in USD: size × value for spot and options; size × (mark − entry) for linear
    /// futures and perpetuals; size × spot × (1/entry − 1/mark) for inverse ones (coin P&L at spot).
    pub value: f64,
    /// USD change per unit change of spot.
    pub delta: f64,
    /// Second derivative in spot.
    pub gamma: f64,
    /// USD per unit of volatility.
    pub vega: f64,
    /// USD per year of calendar time.
    pub theta: f64,
}

/// Values a position.
pub fn value_position(
    position: &Position,
    market: &MarketSnapshot,
    model: &PricingModel,
) -> Result<PositionValuation> {
    let unit = value_instrument(&position.instrument, market, model)?;
    let size = position.size;
    // `units`: how many units of underlying the size stands for, which scales the per-unit theta
    // (the perpetual's funding carry). Inverse contracts are sized in USD face value, one unit of
    // underlying per `mark` USD of face.
    let (value, delta, units) = match &position.instrument {
        Instrument::Future { settlement, .. } | Instrument::Perpetual { settlement, .. } => {
            let mark = unit.forward;
            let entry = position.entry_price.unwrap_or(mark);
            match settlement {
                Settlement::Linear => (size * (mark - entry), size * unit.greeks.delta, size),
                Settlement::Inverse => {
                    // USD face value `size`; the coin P&L is worth `spot` USD per coin, and with the
                    // mark proportional to spot its USD delta is `size / entry`.
                    let spot = market.underlying(position.instrument.underlying())?.spot;
                    (size * spot * (1.0 / entry - 1.0 / mark), size / entry, size / mark)
                }
            }
        }
        Instrument::Spot { .. } | Instrument::Option { .. } => {
            (size * unit.value, size * unit.greeks.delta, size)
        }
    };
    Ok(PositionValuation {
        position: position.clone(),
        unit,
        value,
        delta,
        gamma: size * unit.greeks.gamma,
        vega: size * unit.greeks.vega,
        theta: units * unit.greeks.theta,
    })
}
