//! Daily market snapshots rebuilt from history: price, DVOL and funding files plus one real
//! option chain in, one [`MarketSnapshot`] per UTC day out.
//!
//! What goes into the snapshot of day `d` (its timestamp is the close of `d`, 00:00 UTC of
//! `d + 1`):
//! - **spot**: the `prices/` close of UTC day `d`. The files date each close one day late, so
//!   every series is shifted by [`PRICES_DATE_LAG_DAYS`] on load; DVOL and funding are already on
//!   UTC days (funding's clock is UTC+3, converted here).
//! - **rate and forwards**: zero rate and no quoted forwards, so every forward equals the spot
//!   (zero carry). Without a history of the futures basis a constant carry would be invented
//!   data; over a 1-day horizon on 30-day options its effect on P&L is second order.
//! - **perpetual**: `funding_rate_8h` = the last Binance print at or before the close when the
//!   funding file covers the day (BTC and ETH, 2020–2023), else 0; mark = spot × (1 + that
//!   print): Binance's funding is the perpetual's 8-hour average premium over its index, the only
//!   basis history the data hold ([`crate::backtest::basis`]).
//! - **futures carry** (the futures-basis book only, [`MarketHistory::with_futures_carry`]): the
//!   annualised 30-day mean funding ([`crate::backtest::basis::carry_proxy`]), every forward
//!   `S·e^{cT}`.
//! - **BTC surface**: the SVI *shape* of one real chain ([`SkewShape`]), rescaled so that the
//!   30-day at-the-money vol equals the day's level: DVOL/100 where the Deribit index covers the
//!   day ([`VolSource`]), else the EWMA realised vol times a fixed implied-over-realised premium.

use super::basis::{carry_proxy, funding_prints_utc};
use crate::data::{optionsdx, OptionChain};
use crate::error::{DataError, Result, SurfaceError};
use crate::history::load::PRICES_DATE_LAG_DAYS;
use crate::history::stats::{ewma_volatility, sample_volatility, DAYS_PER_YEAR};
use crate::history::{DataDir, Date, GapPolicy, PriceSeries, ReturnPoint, Sampling};
use crate::market::{ForwardQuote, MarketSnapshot, UnderlyingMarket};
use crate::surface::{calibrate_surface, CalibrationConfig, SviParams, SviSlice, VolSurface};
use std::collections::BTreeMap;

use super::BacktestSettings;

/// Milliseconds per day.
pub const MS_PER_DAY: i64 = 86_400_000;

/// Seconds the funding file's clock runs ahead of UTC (its prints sit at 03:00/11:00/19:00 for
/// Binance's 00:00/08:00/16:00 UTC funding times).
pub const FUNDING_CLOCK_OFFSET_SECONDS: i64 = 3 * 3_600;

/// The snapshot time of day `d`: the close of the UTC day.
pub fn close_ms(date: Date) -> i64 {
    (i64::from(date.days_since_epoch()) + 1) * MS_PER_DAY
}

/// Where a day's implied-volatility level came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolSource {
    /// Deribit DVOL printed for the day.
    Dvol,
    /// The DVOL file misses the day; the last print (at most `dvol_max_stale_days` old) is used.
    DvolStale,
    /// No DVOL (before 2021-03-24 or a longer gap): EWMA realised vol × the implied premium.
    Proxy,
}

impl VolSource {
    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Dvol => "DVOL",
            Self::DvolStale => "DVOL (last print, file gap)",
            Self::Proxy => "EWMA × premium",
        }
    }
}

/// The skew shape: a real chain's calibrated surface and its 30-day ATM vol, rescaled per day.
#[derive(Debug, Clone, PartialEq)]
pub struct SkewShape {
    /// Where the shape comes from (file and snapshot time).
    pub source: String,
    /// The calibrated surface (expiries relative to its own snapshot).
    pub surface: VolSurface,
    /// Its 30-day at-the-money vol.
    pub atm_30d: f64,
}

/// Longest expiry of the chain kept in the skew shape (about three months).
pub const SHAPE_MAX_EXPIRY_YEARS: f64 = 0.3;

/// The reference expiry of the vol level, in years (DVOL is a 30-day index).
pub const LEVEL_EXPIRY_YEARS: f64 = 30.0 / 365.0;

impl SkewShape {
    /// Calibrates the shape from a chain with the default settings, keeping the slices up to
    /// [`SHAPE_MAX_EXPIRY_YEARS`]: the books hold 30-day options, and the long slices' wings,
    /// scaled by the 3× vol levels of March 2020, would break Lee's wing bound (beyond the last
    /// kept slice the surface extends at constant implied vol).
    pub fn from_chain(chain: &OptionChain, name: &str) -> Result<Self> {
        let (full, _) = calibrate_surface(chain, &CalibrationConfig::default())?;
        let kept: Vec<SviSlice> = full
            .slices
            .iter()
            .filter(|s| s.expiry_years <= SHAPE_MAX_EXPIRY_YEARS)
            .copied()
            .collect();
        let surface = if kept.iter().any(|s| s.expiry_years >= LEVEL_EXPIRY_YEARS) {
            VolSurface::new(kept)?
        } else {
            full
        };
        let atm_30d = surface.vol(0.0, LEVEL_EXPIRY_YEARS)?;
        Ok(Self {
            source: format!("{name} @ {}", crate::data::format_datetime(chain.timestamp_ms)),
            surface,
            atm_30d,
        })
    }

    /// The shape rescaled to a 30-day ATM vol of `atm_vol`, with every slice's forward set to
    /// `forward` (informational: the surface is queried in log-moneyness).
    ///
    /// Scaling: with `s = atm_vol / atm_30d`, each slice's total variance becomes
    /// `w'(k) = s² w(k / s)`: the smile is kept in standardised moneyness `k / (σ√T)`, so a
    /// higher vol level widens the smile in strike as it does in the market (a 10%-OTM put is
    /// fewer standard deviations out when vol is high). In raw SVI: `a·s², b·s, ρ, m·s, σ·s`;
    /// calendar ordering is preserved (pointwise at `k/s`), and at k = 0, t = 30 days the vol is
    /// exactly `atm_vol`. Butterfly freedom changes only through Durrleman's `w'²/16` term, so
    /// the result is re-checked.
    pub fn scaled(
        &self,
        atm_vol: f64,
        forward: f64,
    ) -> std::result::Result<VolSurface, SurfaceError> {
        let s = atm_vol / self.atm_30d;
        let slices = self
            .surface
            .slices
            .iter()
            .map(|slice| SviSlice {
                expiry_years: slice.expiry_years,
                forward,
                params: SviParams {
                    a: slice.params.a * s * s,
                    b: slice.params.b * s,
                    rho: slice.params.rho,
                    m: slice.params.m * s,
                    sigma: slice.params.sigma * s,
                },
            })
            .collect();
        let surface = VolSurface::new(slices)?;
        surface.check_arbitrage()?;
        Ok(surface)
    }
}

/// Daily returns of one asset with the EWMA volatility known after each.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetReturns {
    /// 1-day log returns (gaps skipped), by end day.
    pub points: Vec<ReturnPoint>,
    /// `ewma[i]`: daily EWMA vol once `points[i]` is known (the forecast for the next day).
    pub ewma: Vec<f64>,
}

/// Returns of the first `EWMA_SEED_RETURNS` days seed the EWMA variance.
pub const EWMA_SEED_RETURNS: usize = 30;

impl AssetReturns {
    fn new(series: &PriceSeries, lambda: f64) -> std::result::Result<Self, DataError> {
        let points = series.log_returns(1, Sampling::Overlapping, GapPolicy::Skip)?.points;
        let values: Vec<f64> = points.iter().map(|p| p.log_return).collect();
        if values.len() <= EWMA_SEED_RETURNS {
            return Err(DataError::Invalid {
                field: format!("{}.days", series.symbol),
                reason: format!("{} daily returns; the EWMA needs more than 30", values.len()),
            });
        }
        let seed = sample_volatility(&values[..EWMA_SEED_RETURNS])?.powi(2);
        let ewma = ewma_volatility(&values, lambda, seed)?;
        Ok(Self { points, ewma })
    }

    /// Index of the last return ending on or before `date`.
    pub fn last_index_at_or_before(&self, date: Date) -> Option<usize> {
        self.points.partition_point(|p| p.end <= date).checked_sub(1)
    }

    /// Daily EWMA vol known at the close of `date` (uses returns ending on or before it), once
    /// past the seed window.
    pub fn ewma_daily_at(&self, date: Date) -> Option<f64> {
        self.last_index_at_or_before(date).filter(|i| *i >= EWMA_SEED_RETURNS).map(|i| self.ewma[i])
    }
}

/// Everything the backtest reads from history, on UTC days.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketHistory {
    /// Closes per asset, dated by UTC day (the `prices/` lag removed).
    pub prices: BTreeMap<String, PriceSeries>,
    /// Daily returns and EWMA vol per asset.
    pub returns: BTreeMap<String, AssetReturns>,
    /// Deribit BTC DVOL (vol points) by UTC day.
    pub dvol: PriceSeries,
    /// Funding prints per underlying: (UTC seconds since the epoch, rate per 8 h).
    pub funding: BTreeMap<String, Vec<(i64, f64)>>,
    /// The BTC skew shape.
    pub skew: SkewShape,
    /// Settings the history was prepared with (EWMA λ, premium, staleness).
    pub settings: BacktestSettings,
}

/// The underlyings whose funding history exists (`funding/<PAIR>-USDT_binance_funding.csv`).
pub const FUNDING_UNDERLYINGS: [&str; 2] = ["BTC", "ETH"];

impl MarketHistory {
    /// Loads `symbols`' prices, DVOL, funding and the skew chain from the shared data set.
    pub fn load(data: &DataDir, symbols: &[&str], settings: &BacktestSettings) -> Result<Self> {
        let mut prices = BTreeMap::new();
        for symbol in symbols {
            prices.insert(
                (*symbol).to_owned(),
                data.prices(symbol)?.shift_days(-PRICES_DATE_LAG_DAYS),
            );
        }
        let mut funding = BTreeMap::new();
        for underlying in FUNDING_UNDERLYINGS {
            let series = data.funding(&format!("{underlying}-USDT"))?;
            funding.insert(underlying.to_owned(), funding_prints_utc(&series));
        }
        let chain_path = data.root().join(&settings.skew_chain);
        let chains = optionsdx::read_eod(&chain_path)?;
        let chain = chains.into_iter().next().ok_or_else(|| DataError::Invalid {
            field: chain_path.display().to_string(),
            reason: "the file holds no option chain".to_owned(),
        })?;
        let skew = SkewShape::from_chain(&chain, &settings.skew_chain)?;
        Self::from_parts(prices, data.dvol_btc()?, funding, skew, settings)
    }

    /// Assembles a history from series already on UTC days (tests perturb these).
    pub fn from_parts(
        prices: BTreeMap<String, PriceSeries>,
        dvol: PriceSeries,
        funding: BTreeMap<String, Vec<(i64, f64)>>,
        skew: SkewShape,
        settings: &BacktestSettings,
    ) -> Result<Self> {
        let mut returns = BTreeMap::new();
        for (symbol, series) in &prices {
            returns.insert(symbol.clone(), AssetReturns::new(series, settings.ewma_lambda)?);
        }
        Ok(Self { prices, returns, dvol, funding, skew, settings: settings.clone() })
    }

    /// Annualised EWMA vol of `symbol` known at the close of `date`.
    pub fn ewma_annual(&self, symbol: &str, date: Date) -> Option<f64> {
        let daily = self.returns.get(symbol)?.ewma_daily_at(date)?;
        Some(daily * DAYS_PER_YEAR.sqrt())
    }

    /// The BTC 30-day ATM vol level of `date` and its source; `None` before the EWMA has a value.
    pub fn btc_vol_level(&self, date: Date) -> Option<(f64, VolSource)> {
        if let Some((day, points)) = self.dvol.last_at_or_before(date) {
            let age = date.days_since(day);
            if age == 0 {
                return Some((points / 100.0, VolSource::Dvol));
            }
            if age <= self.settings.dvol_max_stale_days {
                return Some((points / 100.0, VolSource::DvolStale));
            }
        }
        let realised = self.ewma_annual("BTC", date)?;
        Some((realised * self.settings.implied_premium, VolSource::Proxy))
    }

    /// The last funding print at or before the close of `date`, if within a day of it.
    pub fn funding_rate_at(&self, underlying: &str, date: Date) -> Option<f64> {
        let prints = self.funding.get(underlying)?;
        let close = close_ms(date) / 1_000;
        let index = prints.partition_point(|p| p.0 <= close).checked_sub(1)?;
        let (time, rate) = prints[index];
        (close - time <= 86_400).then_some(rate)
    }

    /// Sum of the funding rates printed after the close of `from` up to the close of `to`
    /// (what a long pays per unit notional over the window); `None` where the file does not
    /// cover the window's end.
    pub fn funding_between(&self, underlying: &str, from: Date, to: Date) -> Option<f64> {
        let prints = self.funding.get(underlying)?;
        let (start, end) = (close_ms(from) / 1_000, close_ms(to) / 1_000);
        let last = prints.last()?.0;
        if last < end {
            return None;
        }
        let lo = prints.partition_point(|p| p.0 <= start);
        let hi = prints.partition_point(|p| p.0 <= end);
        Some(prints[lo..hi].iter().map(|p| p.1).sum())
    }

    /// `market` (the snapshot of `date`) with each funded underlying's forward curve set to the
    /// funding-implied carry: `F(T) = S·e^{cT}` with `c` the [`carry_proxy`] of `date`; `None`
    /// when an underlying with funding history lacks the carry that day.
    pub fn with_futures_carry(
        &self,
        market: &MarketSnapshot,
        date: Date,
    ) -> Option<MarketSnapshot> {
        let mut market = market.clone();
        for (symbol, underlying) in market.underlyings.iter_mut() {
            let Some(prints) = self.funding.get(symbol) else { continue };
            let carry = carry_proxy(prints, date)?;
            // One knot a year out: the forward interpolation extends its carry rate to any expiry.
            underlying.forwards = vec![ForwardQuote {
                expiry_ms: market.timestamp_ms + 365 * MS_PER_DAY,
                forward: underlying.spot * carry.exp(),
            }];
        }
        Some(market)
    }

    /// The market of `date`: every loaded asset with a close that day (BTC with its surface when
    /// a vol level exists), or `None` when no asset has one.
    pub fn snapshot(&self, date: Date) -> Result<Option<(MarketSnapshot, Option<VolSource>)>> {
        let mut underlyings = BTreeMap::new();
        let mut source = None;
        for (symbol, series) in &self.prices {
            let Some(spot) = series.value_on(date) else { continue };
            let surface = if symbol == "BTC" {
                match self.btc_vol_level(date) {
                    Some((level, vol_source)) => {
                        source = Some(vol_source);
                        Some(self.skew.scaled(level, spot).map_err(|error| DataError::Invalid {
                            field: format!("BTC surface on {date}"),
                            reason: format!("ATM vol {level:.4}: {error}"),
                        })?)
                    }
                    None => None,
                }
            } else {
                None
            };
            let funding_rate_8h = self.funding_rate_at(symbol, date).unwrap_or(0.0);
            underlyings.insert(
                symbol.clone(),
                UnderlyingMarket {
                    spot,
                    rate: 0.0,
                    forwards: Vec::new(),
                    perpetual_mark: Some(spot * (1.0 + funding_rate_8h)),
                    funding_rate_8h,
                    surface,
                },
            );
        }
        if underlyings.is_empty() {
            return Ok(None);
        }
        Ok(Some((MarketSnapshot { timestamp_ms: close_ms(date), underlyings }, source)))
    }
}
