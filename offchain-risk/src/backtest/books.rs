//! The backtest's portfolios: rolling, constant-moneyness books re-struck every day relative to
//! that day's spot, so every day of the backtest margins the same risk. A book and a day's
//! [`MarketSnapshot`] in, a [`Portfolio`] out; and the realised P&L of that portfolio to a later
//! snapshot (same positions, time decayed, perpetual funding paid).

use serde::{Deserialize, Serialize};

use super::market::{MarketHistory, MS_PER_DAY};
use crate::error::Result;
use crate::history::Date;
use crate::instrument::{Instrument, Portfolio, Position, Settlement};
use crate::market::MarketSnapshot;
use crate::pricing::OptionKind;
use crate::valuation::{value_position, PricingModel};

/// Calendar days to expiry of the books' options when struck.
pub const OPTION_DAYS: i64 = 30;

/// Calendar days to expiry of the futures-basis book's future when struck (as the canonical
/// `portfolios/05_futures_basis.json`, whose March 2021 future is 45 days out).
pub const FUTURE_DAYS: i64 = 45;

/// A backtest portfolio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Book {
    /// Long BTC spot.
    BtcSpot,
    /// Long BTC, short ETH, equal notionals (a relative-value pair: only correlation nets it).
    BtcEthPair,
    /// Long BTC spot, short the same BTC in a linear perpetual (cash-and-carry; funding paid).
    PerpBasis,
    /// Long BTC spot, short the same BTC in a linear future [`FUTURE_DAYS`] out (cash-and-carry).
    FutureBasis,
    /// Long SOL and UNI, half the notional each (an altcoin spot book).
    AltBook,
    /// Short a 30-day BTC put struck 10% below spot (one put per BTC of notional).
    ShortPut,
    /// Short a 30-day at-the-money BTC straddle, delta-hedged with spot when struck.
    ShortStraddle,
}

impl Book {
    /// Every book, in the order tables show them.
    pub const ALL: [Book; 7] = [
        Self::BtcSpot,
        Self::BtcEthPair,
        Self::PerpBasis,
        Self::FutureBasis,
        Self::AltBook,
        Self::ShortPut,
        Self::ShortStraddle,
    ];

    /// Short name (JSON, file names).
    pub fn name(self) -> &'static str {
        match self {
            Self::BtcSpot => "btc_spot",
            Self::BtcEthPair => "btc_eth_pair",
            Self::PerpBasis => "perp_basis",
            Self::FutureBasis => "future_basis",
            Self::AltBook => "alt_book",
            Self::ShortPut => "short_put",
            Self::ShortStraddle => "short_straddle",
        }
    }

    /// What the book holds, for tables.
    pub fn description(self) -> &'static str {
        match self {
            Self::BtcSpot => "long BTC spot",
            Self::BtcEthPair => "long BTC / short ETH, equal notionals",
            Self::PerpBasis => "long BTC spot, short BTC linear perpetual",
            Self::FutureBasis => "long BTC spot, short BTC linear 45-day future",
            Self::AltBook => "long SOL + UNI, half each",
            Self::ShortPut => "short 30-day BTC put, strike 90% of spot",
            Self::ShortStraddle => "short 30-day ATM BTC straddle, delta-hedged with spot",
        }
    }

    /// The underlyings the book needs.
    pub fn underlyings(self) -> &'static [&'static str] {
        match self {
            Self::BtcSpot
            | Self::PerpBasis
            | Self::FutureBasis
            | Self::ShortPut
            | Self::ShortStraddle => &["BTC"],
            Self::BtcEthPair => &["BTC", "ETH"],
            Self::AltBook => &["SOL", "UNI"],
        }
    }

    /// Whether the book holds options (needs a surface, reports a vol source).
    pub fn has_options(self) -> bool {
        matches!(self, Self::ShortPut | Self::ShortStraddle)
    }

    /// Whether the book is a hedged delta-one basis trade: its days need the funding history
    /// (the perpetual premium and the futures carry are read off it), and the futures book its
    /// market's carry curve ([`super::MarketHistory::with_futures_carry`]).
    pub fn is_basis_trade(self) -> bool {
        matches!(self, Self::PerpBasis | Self::FutureBasis)
    }

    /// The positions struck at `market` for `notional` USD of underlying exposure.
    pub fn portfolio(self, market: &MarketSnapshot, notional: f64) -> Result<Portfolio> {
        let spot_of = |symbol: &str| market.underlying(symbol).map(|u| u.spot);
        let spot = |symbol: &str, size: f64| Position {
            instrument: Instrument::Spot { underlying: symbol.to_owned() },
            size,
            entry_price: None,
        };
        let expiry_ms = market.timestamp_ms + OPTION_DAYS * MS_PER_DAY;
        let option =
            |kind, strike, size| Position::linear_option("BTC", expiry_ms, strike, kind, size);
        let positions = match self {
            Self::BtcSpot => vec![spot("BTC", notional / spot_of("BTC")?)],
            Self::BtcEthPair => vec![
                spot("BTC", notional / spot_of("BTC")?),
                spot("ETH", -notional / spot_of("ETH")?),
            ],
            Self::PerpBasis => {
                let s = spot_of("BTC")?;
                let mark = market.underlying("BTC")?.perpetual_mark();
                vec![
                    spot("BTC", notional / s),
                    Position {
                        instrument: Instrument::Perpetual {
                            underlying: "BTC".to_owned(),
                            settlement: Settlement::Linear,
                        },
                        size: -notional / s,
                        entry_price: Some(mark),
                    },
                ]
            }
            Self::FutureBasis => {
                let s = spot_of("BTC")?;
                let expiry_ms = market.timestamp_ms + FUTURE_DAYS * MS_PER_DAY;
                let years = market.year_fraction(expiry_ms);
                let forward = market.underlying("BTC")?.forward(market.timestamp_ms, years);
                vec![
                    spot("BTC", notional / s),
                    Position {
                        instrument: Instrument::Future {
                            underlying: "BTC".to_owned(),
                            expiry_ms,
                            settlement: Settlement::Linear,
                        },
                        size: -notional / s,
                        entry_price: Some(forward),
                    },
                ]
            }
            Self::AltBook => vec![
                spot("SOL", 0.5 * notional / spot_of("SOL")?),
                spot("UNI", 0.5 * notional / spot_of("UNI")?),
            ],
            Self::ShortPut => {
                let s = spot_of("BTC")?;
                vec![option(OptionKind::Put, 0.9 * s, -notional / s)]
            }
            Self::ShortStraddle => {
                let s = spot_of("BTC")?;
                let size = -notional / s;
                let legs = [option(OptionKind::Call, s, size), option(OptionKind::Put, s, size)];
                let model = PricingModel::default();
                let mut delta = 0.0;
                for leg in &legs {
                    delta += value_position(leg, market, &model)?.delta;
                }
                let mut positions = legs.to_vec();
                positions.push(spot("BTC", -delta));
                positions
            }
        };
        Ok(Portfolio { account: Some(self.name().to_owned()), positions })
    }
}

/// Mark-to-market of `portfolio` at `market` (USD).
pub fn book_value(portfolio: &Portfolio, market: &MarketSnapshot) -> Result<f64> {
    let model = PricingModel::default();
    let mut value = 0.0;
    for position in &portfolio.positions {
        value += value_position(position, market, &model)?.value;
    }
    Ok(value)
}

/// Realised P&L of holding `portfolio` from the close of `start` to the close of `end`: its value
/// at the `end` market (same positions, options a day closer to expiry) minus its value at the
/// `start` market, plus the funding perpetuals received over the window (a short receives
/// `rate × notional` per print when the rate is positive; notional at the start mark; no funding
/// where the file does not cover the window).
pub fn realised_pnl(
    portfolio: &Portfolio,
    start_market: &MarketSnapshot,
    end_market: &MarketSnapshot,
    history: &MarketHistory,
    start: Date,
    end: Date,
) -> Result<f64> {
    let mut pnl = book_value(portfolio, end_market)? - book_value(portfolio, start_market)?;
    for position in &portfolio.positions {
        if let Instrument::Perpetual { underlying, .. } = &position.instrument {
            let mark = start_market.underlying(underlying)?.perpetual_mark();
            let paid_by_longs = history.funding_between(underlying, start, end).unwrap_or(0.0);
            pnl -= position.size * mark * paid_by_longs;
        }
    }
    Ok(pnl)
}
