//! Capital efficiency: the canonical portfolios margined under every model, as a table.
//!
//! What flows through: a [`MarketSnapshot`] (the committed `portfolios/market.json`, BTC and ETH
//! calibrated from Deribit's chains of 2021-02-09) → [`canonical_portfolios`] builds the named
//! books (hedge sizes come from the snapshot's deltas, the market-maker book from
//! [`market_maker_book`]'s seeded generator) → [`efficiency_table`] margins each one under the
//! four models, plus the scenario grid under flat at-the-money vol (what the skew adds) →
//! [`render_markdown`] writes the table and [`claims`] turns the numbers into the verdicts on the
//! seed's claims that `docs/CAPITAL_EFFICIENCY.md` states. Pure: no I/O; the CLI
//! (`xmargin efficiency`) reads and writes the files.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::instrument::{Instrument, Portfolio, Position, Settlement};
use crate::margin::grid::{GridConfig, GridScenario, UnderlyingGridMargin};
use crate::margin::presets::GridPreset;
use crate::margin::{margin, MarginConfig, MarginDetail, MarginModel};
use crate::market::MarketSnapshot;
use crate::pricing::OptionKind;
use crate::valuation::{value_position, PricingModel, SkewModel};

/// The command that regenerates `docs/CAPITAL_EFFICIENCY.md` and its chart (run from the
/// workspace root).
pub const EFFICIENCY_COMMAND: &str = "cargo run --release -p offchain-risk --bin xmargin -- \
efficiency --market offchain-risk/portfolios/market.json --portfolios offchain-risk/portfolios \
--out docs";

/// Seed and size of the committed market-maker book.
pub const MARKET_MAKER_SEED: u64 = 20_210_209;
/// Positions in the committed market-maker book.
pub const MARKET_MAKER_POSITIONS: usize = 1_000;

/// What a canonical portfolio is for, which decides the claims it is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A single unhedged short option (the skew claim).
    NakedShortPut,
    /// Offsetting legs: cross margin should charge far less than the sum of the legs.
    Hedged,
    /// Delta-flat at the snapshot but with gamma/vega or skew exposure that delta netting misses.
    HedgedGreeks,
    /// Unhedged short premium, shown for reference.
    ShortPremium,
    /// Two underlyings (the grid does not offset across underlyings; Monte Carlo does).
    MultiUnderlying,
}

/// A canonical portfolio's identity: file stem, human title, role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canonical {
    /// File stem under `portfolios/` (the files sort in table order).
    pub stem: &'static str,
    /// Row title.
    pub title: &'static str,
    /// Short label for the chart's x axis.
    pub short: &'static str,
    /// Which claims apply.
    pub role: Role,
}

/// The canonical set, in table order.
pub const CANONICAL: [Canonical; 11] = [
    Canonical {
        stem: "01_naked_short_put",
        title: "naked short OTM put",
        short: "short put",
        role: Role::NakedShortPut,
    },
    Canonical {
        stem: "02_covered_call",
        title: "covered call",
        short: "cov. call",
        role: Role::Hedged,
    },
    Canonical {
        stem: "03_calendar_spread",
        title: "calendar spread",
        short: "calendar",
        role: Role::HedgedGreeks,
    },
    Canonical {
        stem: "04_delta_hedged_straddle",
        title: "delta-hedged short straddle",
        short: "straddle",
        role: Role::HedgedGreeks,
    },
    Canonical {
        stem: "05_futures_basis",
        title: "futures basis trade",
        short: "basis",
        role: Role::Hedged,
    },
    Canonical {
        stem: "06_perp_spot_hedge",
        title: "perpetual hedged with spot",
        short: "perp+spot",
        role: Role::Hedged,
    },
    Canonical {
        stem: "07_risk_reversal",
        title: "delta-hedged risk reversal",
        short: "risk rev.",
        role: Role::HedgedGreeks,
    },
    Canonical { stem: "08_iron_condor", title: "iron condor", short: "condor", role: Role::Hedged },
    Canonical {
        stem: "09_short_strangle",
        title: "short strangle",
        short: "strangle",
        role: Role::ShortPremium,
    },
    Canonical {
        stem: "10_btc_eth_book",
        title: "BTC/ETH two-underlying book",
        short: "BTC/ETH",
        role: Role::MultiUnderlying,
    },
    Canonical {
        stem: "11_market_maker",
        title: "market-maker book (1,000 positions)",
        short: "MM book",
        role: Role::HedgedGreeks,
    },
];

/// The canonical entry of a file stem, if it is one.
pub fn canonical(stem: &str) -> Option<&'static Canonical> {
    CANONICAL.iter().find(|c| c.stem == stem)
}

/// Deribit expiries (08:00 UTC) of the 2021-02-09 snapshot, Unix ms.
pub mod expiry {
    /// 2021-02-12.
    pub const FEB12: i64 = 1_613_116_800_000;
    /// 2021-02-19.
    pub const FEB19: i64 = 1_613_721_600_000;
    /// 2021-02-26.
    pub const FEB26: i64 = 1_614_326_400_000;
    /// 2021-03-26.
    pub const MAR26: i64 = 1_616_745_600_000;
    /// 2021-06-25.
    pub const JUN25: i64 = 1_624_608_000_000;
    /// 2021-09-24.
    pub const SEP24: i64 = 1_632_470_400_000;
    /// 2021-12-31.
    pub const DEC31: i64 = 1_640_937_600_000;
}

/// Strikes Deribit listed on 2021-02-09 (from the chain files), trimmed to a usable range:
/// (underlying, expiry, strikes).
const LISTED_OPTIONS: [(&str, i64, &[f64]); 11] = [
    (
        "BTC",
        expiry::FEB12,
        &[36e3, 38e3, 40e3, 42e3, 44e3, 45e3, 46e3, 47e3, 48e3, 50e3, 52.5e3, 55e3],
    ),
    (
        "BTC",
        expiry::FEB19,
        &[35e3, 38e3, 40e3, 42e3, 44e3, 45e3, 46e3, 47e3, 48e3, 50e3, 52e3, 55e3, 60e3],
    ),
    (
        "BTC",
        expiry::FEB26,
        &[
            30e3, 34e3, 36e3, 38e3, 40e3, 42e3, 44e3, 45e3, 46e3, 48e3, 50e3, 52e3, 54e3, 56e3,
            60e3, 65e3,
        ],
    ),
    ("BTC", expiry::MAR26, &[28e3, 32e3, 36e3, 40e3, 44e3, 46e3, 48e3, 52e3, 56e3, 64e3]),
    (
        "BTC",
        expiry::JUN25,
        &[28e3, 32e3, 36e3, 40e3, 44e3, 46e3, 48e3, 50e3, 52e3, 56e3, 60e3, 64e3, 72e3],
    ),
    ("BTC", expiry::SEP24, &[28e3, 32e3, 36e3, 40e3, 44e3, 48e3, 64e3, 80e3]),
    (
        "ETH",
        expiry::FEB26,
        &[1250., 1400., 1500., 1600., 1650., 1700., 1750., 1800., 1850., 1900., 2000., 2200.],
    ),
    ("ETH", expiry::MAR26, &[1120., 1200., 1280., 1360., 1440., 1520., 1600., 1680., 1720.]),
    (
        "ETH",
        expiry::JUN25,
        &[1120., 1200., 1280., 1360., 1440., 1520., 1600., 1680., 1760., 1840., 1920., 2000.],
    ),
    (
        "ETH",
        expiry::SEP24,
        &[1120., 1200., 1360., 1520., 1600., 1680., 1760., 1840., 1920., 2000., 2080., 2200.],
    ),
    (
        "ETH",
        expiry::DEC31,
        &[1120., 1200., 1360., 1520., 1600., 1760., 1920., 2000., 2160., 2320., 2560.],
    ),
];

/// Dated futures Deribit listed on 2021-02-09 (the others in the chains are synthetic).
const LISTED_FUTURES: [(&str, i64); 7] = [
    ("BTC", expiry::FEB12),
    ("BTC", expiry::FEB19),
    ("BTC", expiry::MAR26),
    ("BTC", expiry::JUN25),
    ("BTC", expiry::SEP24),
    ("ETH", expiry::MAR26),
    ("ETH", expiry::JUN25),
];

fn option(underlying: &str, expiry_ms: i64, strike: f64, kind: OptionKind, size: f64) -> Position {
    Position::linear_option(underlying, expiry_ms, strike, kind, size)
}

fn spot(underlying: &str, size: f64) -> Position {
    Position {
        instrument: Instrument::Spot { underlying: underlying.to_owned() },
        size,
        entry_price: None,
    }
}

fn perpetual(underlying: &str, size: f64) -> Position {
    Position {
        instrument: Instrument::Perpetual {
            underlying: underlying.to_owned(),
            settlement: Settlement::Linear,
        },
        size,
        entry_price: None,
    }
}

/// Net dollar delta per unit move of `underlying`'s spot, in units of underlying.
fn net_delta(positions: &[Position], underlying: &str, market: &MarketSnapshot) -> Result<f64> {
    let model = PricingModel::default();
    let mut delta = 0.0;
    for position in positions.iter().filter(|p| p.instrument.underlying() == underlying) {
        delta += value_position(position, market, &model)?.delta;
    }
    Ok(delta)
}

/// A linear perpetual that flattens `underlying`'s delta, rounded to 0.001 units (a contract's
/// tick; the residual is immaterial to every model).
fn delta_hedge(
    positions: &[Position],
    underlying: &str,
    market: &MarketSnapshot,
) -> Result<Position> {
    let delta = net_delta(positions, underlying, market)?;
    Ok(perpetual(underlying, (-delta * 1000.0).round() / 1000.0))
}

fn book(title: &str, positions: Vec<Position>) -> Portfolio {
    Portfolio { account: Some(title.to_owned()), positions }
}

/// The canonical portfolios (in [`CANONICAL`] order, with their stems) against `market`, which
/// must be the 2021-02-09 snapshot or one with the same expiries: hedge sizes are the snapshot's
/// deltas. Ten BTC (or its ETH equivalent) per leg throughout.
pub fn canonical_portfolios(market: &MarketSnapshot) -> Result<Vec<(&'static str, Portfolio)>> {
    use expiry::{FEB26, MAR26};
    use OptionKind::{Call, Put};
    let btc_spot = market.underlying("BTC")?.spot;
    let eth_spot = market.underlying("ETH")?.spot;
    let mut books = Vec::with_capacity(CANONICAL.len());
    let title = |i: usize| CANONICAL[i].title;

    // A 17-day put 17% below the forward: where the smile is steep, so skew shows.
    books.push(book(title(0), vec![option("BTC", FEB26, 38_000.0, Put, -10.0)]));
    books
        .push(book(title(1), vec![spot("BTC", 10.0), option("BTC", MAR26, 56_000.0, Call, -10.0)]));
    books.push(book(
        title(2),
        vec![
            option("BTC", FEB26, 48_000.0, Call, -10.0),
            option("BTC", MAR26, 48_000.0, Call, 10.0),
        ],
    ));
    let mut straddle = vec![
        option("BTC", MAR26, 48_000.0, Call, -10.0),
        option("BTC", MAR26, 48_000.0, Put, -10.0),
    ];
    straddle.push(delta_hedge(&straddle, "BTC", market)?);
    books.push(book(title(3), straddle));
    // Long spot against a short inverse future of the same USD face, entered at its mark
    // (Deribit's coin-settled future; its USD delta equals the spot's at entry).
    let forward =
        market.underlying("BTC")?.forward(market.timestamp_ms, market.year_fraction(MAR26));
    books.push(book(
        title(4),
        vec![
            spot("BTC", 10.0),
            Position {
                instrument: Instrument::Future {
                    underlying: "BTC".to_owned(),
                    expiry_ms: MAR26,
                    settlement: Settlement::Inverse,
                },
                size: -(10.0 * forward).round(),
                entry_price: Some(forward),
            },
        ],
    ));
    books.push(book(title(5), vec![spot("BTC", 10.0), perpetual("BTC", -10.0)]));
    let mut reversal = vec![
        option("BTC", MAR26, 56_000.0, Call, 10.0),
        option("BTC", MAR26, 40_000.0, Put, -10.0),
    ];
    reversal.push(delta_hedge(&reversal, "BTC", market)?);
    books.push(book(title(6), reversal));
    books.push(book(
        title(7),
        vec![
            option("BTC", MAR26, 36_000.0, Put, 10.0),
            option("BTC", MAR26, 40_000.0, Put, -10.0),
            option("BTC", MAR26, 56_000.0, Call, -10.0),
            option("BTC", MAR26, 64_000.0, Call, 10.0),
        ],
    ));
    books.push(book(
        title(8),
        vec![
            option("BTC", MAR26, 40_000.0, Put, -10.0),
            option("BTC", MAR26, 56_000.0, Call, -10.0),
        ],
    ));
    // Long BTC against short ETH of equal USD notional (a relative-value trade), a short ETH put
    // and a long BTC put: the legs offset only across underlyings.
    let eth_units = (10.0 * btc_spot / eth_spot).round();
    books.push(book(
        title(9),
        vec![
            spot("BTC", 10.0),
            perpetual("ETH", -eth_units),
            option("ETH", MAR26, 1_440.0, Put, -eth_units),
            option("BTC", MAR26, 40_000.0, Put, 10.0),
        ],
    ));
    let mut maker = market_maker_book(market, MARKET_MAKER_SEED, MARKET_MAKER_POSITIONS)?;
    maker.account = Some(title(10).to_owned());
    books.push(maker);
    Ok(CANONICAL.iter().map(|c| c.stem).zip(books).collect())
}

/// A market maker's book of `n` positions (n ≥ 2), generated deterministically from `seed`:
/// options on both underlyings across the listed strikes and expiries of the 2021-02-09 snapshot
/// (60% BTC, sizes in 0.1 BTC / 1 ETH lots, 55% short — market makers are net sellers of
/// premium), one position in ten a dated-future or perpetual hedge, and a final perpetual per
/// underlying that flattens its delta. Its JSON is committed as `portfolios/11_market_maker.json`.
pub fn market_maker_book(market: &MarketSnapshot, seed: u64, n: usize) -> Result<Portfolio> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut positions = Vec::with_capacity(n);
    for _ in 0..n.saturating_sub(2) {
        let btc = rng.random_bool(0.6);
        let underlying = if btc { "BTC" } else { "ETH" };
        let sign = if rng.random_bool(0.55) { -1.0 } else { 1.0 };
        if rng.random_bool(0.1) {
            let futures: Vec<i64> =
                LISTED_FUTURES.iter().filter(|(u, _)| *u == underlying).map(|(_, e)| *e).collect();
            let choice = rng.random_range(0..=futures.len());
            let units = if btc {
                // Divided, not multiplied by 0.1: the JSON shows 1.3, not 1.3000000000000003.
                f64::from(rng.random_range(1..=20_u32)) / 10.0
            } else {
                f64::from(rng.random_range(5..=200_u32))
            };
            let instrument = match futures.get(choice) {
                Some(&expiry_ms) => Instrument::Future {
                    underlying: underlying.to_owned(),
                    expiry_ms,
                    settlement: Settlement::Linear,
                },
                // One index past the futures: the perpetual.
                None => Instrument::Perpetual {
                    underlying: underlying.to_owned(),
                    settlement: Settlement::Linear,
                },
            };
            positions.push(Position { instrument, size: sign * units, entry_price: None });
        } else {
            let listed: Vec<&(&str, i64, &[f64])> =
                LISTED_OPTIONS.iter().filter(|(u, _, _)| *u == underlying).collect();
            let (_, expiry_ms, strikes) = listed[rng.random_range(0..listed.len())];
            let strike = strikes[rng.random_range(0..strikes.len())];
            let kind = if rng.random_bool(0.5) { OptionKind::Call } else { OptionKind::Put };
            let lots = f64::from(rng.random_range(1..=30_u32));
            let units = if btc { lots / 10.0 } else { lots * 2.0 };
            positions.push(option(underlying, *expiry_ms, strike, kind, sign * units));
        }
    }
    for underlying in ["BTC", "ETH"].iter().take(n.min(2)) {
        let hedge = delta_hedge(&positions, underlying, market)?;
        positions.push(hedge);
    }
    Ok(Portfolio { account: Some(format!("market maker, seed {seed}, {n} positions")), positions })
}

/// Maintenance and initial margin of one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelNumbers {
    /// The model.
    pub model: MarginModel,
    /// Maintenance margin (USD).
    pub maintenance: f64,
    /// Initial margin (USD).
    pub initial: f64,
}

/// One row of the table: a portfolio under every model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EfficiencyRow {
    /// File stem.
    pub stem: String,
    /// Title (the canonical title, else the portfolio's `account`, else the stem).
    pub title: String,
    /// Role, for canonical portfolios.
    pub role: Option<Role>,
    /// Number of positions.
    pub positions: usize,
    /// The legs in words (a count by kind for large books).
    pub legs: String,
    /// Mark-to-market (USD).
    pub mark_to_market: f64,
    /// The four models in [`MarginModel::ALL`] order.
    pub models: Vec<ModelNumbers>,
    /// The scenario grid with every option at its expiry's at-the-money vol (no skew).
    pub grid_flat_vol: ModelNumbers,
    /// Mark-to-market at flat at-the-money vol (USD).
    pub flat_vol_mark_to_market: f64,
    /// The scenario grid under each preset, in [`GridPreset::ALL`] order.
    #[serde(default)]
    pub presets: Vec<PresetNumbers>,
}

/// The scenario grid of one portfolio under one preset (its own vol dynamics), with the parts
/// that make up maintenance summed over underlyings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresetNumbers {
    /// The preset.
    pub preset: GridPreset,
    /// Maintenance margin (USD).
    pub maintenance: f64,
    /// Initial margin (USD).
    pub initial: f64,
    /// Worst weighted scenario loss.
    pub worst_loss: f64,
    /// The worst scenario of the largest underlying, in words.
    pub worst_scenario: String,
    /// Per-expiry basis contingency.
    pub basis_contingency: f64,
    /// Short-option minimum.
    pub short_option_minimum: f64,
    /// Basis add-on and flat maintenance add-ons.
    pub add_ons: f64,
}

impl PresetNumbers {
    fn from_grid(
        preset: GridPreset,
        config: &GridConfig,
        underlyings: &[UnderlyingGridMargin],
    ) -> Self {
        let sum =
            |part: fn(&UnderlyingGridMargin) -> f64| underlyings.iter().map(part).sum::<f64>();
        let largest =
            underlyings.iter().max_by(|a, b| a.maintenance_margin.total_cmp(&b.maintenance_margin));
        Self {
            preset,
            maintenance: sum(|u| u.maintenance_margin),
            initial: sum(|u| u.initial_margin),
            worst_loss: sum(|u| u.worst_loss),
            worst_scenario: largest
                .map(|u| describe_scenario(&config.scenarios[u.worst_scenario]))
                .unwrap_or_default(),
            basis_contingency: sum(|u| u.basis_contingency),
            short_option_minimum: sum(|u| u.short_option_minimum),
            add_ons: sum(|u| u.basis_add_on + u.maintenance_add_ons),
        }
    }

    /// What sets the floored loss: the worst scenario, the basis contingency or the minimum.
    pub fn binding(&self) -> &'static str {
        if self.worst_loss.max(self.basis_contingency).max(self.short_option_minimum) < 0.5 {
            "no scenario loss"
        } else if self.basis_contingency > self.worst_loss.max(self.short_option_minimum) {
            "the basis contingency"
        } else if self.short_option_minimum > self.worst_loss {
            "the short-option minimum"
        } else {
            "the worst scenario"
        }
    }
}

/// A grid row in words, e.g. `spot -66%, vol up, × 0.21`.
pub fn describe_scenario(row: &GridScenario) -> String {
    if let Some(shape) = row.wing_shock {
        return format!("{shape:?} skew row").to_lowercase();
    }
    let vol = if row.vol_level > 0.0 {
        "vol up"
    } else if row.vol_level < 0.0 {
        "vol down"
    } else {
        "vol unchanged"
    };
    let mut text = format!("spot {:+}%, {vol}", (row.spot_return * 1000.0).round() / 10.0);
    if row.skew_rotation != 0.0 {
        text.push_str(&format!(", skew {:+}", row.skew_rotation));
    }
    if (row.loss_weight - 1.0).abs() > 1e-12 {
        text.push_str(&format!(", × {}", row.loss_weight));
    }
    text
}

impl EfficiencyRow {
    /// The numbers of `model`.
    pub fn model(&self, model: MarginModel) -> ModelNumbers {
        // Rows are built with all four models (efficiency_row), so the lookup cannot miss.
        self.models.iter().copied().find(|m| m.model == model).unwrap_or(ModelNumbers {
            model,
            maintenance: f64::NAN,
            initial: f64::NAN,
        })
    }

    /// Maintenance of `model` over isolated maintenance.
    pub fn ratio_to_isolated(&self, model: MarginModel) -> f64 {
        self.model(model).maintenance / self.model(MarginModel::Isolated).maintenance
    }

    /// Short chart label.
    pub fn short_label(&self) -> String {
        canonical(&self.stem).map_or_else(|| self.stem.clone(), |c| c.short.to_owned())
    }
}

/// Margins one portfolio under the four models and the flat-vol grid.
pub fn efficiency_row(
    stem: &str,
    portfolio: &Portfolio,
    market: &MarketSnapshot,
    config: &MarginConfig,
) -> Result<EfficiencyRow> {
    let mut models = Vec::with_capacity(MarginModel::ALL.len());
    let mut mark_to_market = 0.0;
    for model in MarginModel::ALL {
        let outcome = margin(portfolio, market, model, config)?;
        mark_to_market = outcome.result.mark_to_market;
        models.push(ModelNumbers {
            model,
            maintenance: outcome.result.maintenance_margin,
            initial: outcome.result.initial_margin,
        });
    }
    let mut flat = config.clone();
    flat.pricing.skew = SkewModel::FlatAtm;
    let grid = margin(portfolio, market, MarginModel::ScenarioGrid, &flat)?;
    let mut presets = Vec::with_capacity(GridPreset::ALL.len());
    for preset in GridPreset::ALL {
        let config = MarginConfig { grid: preset.config(), ..config.clone() };
        let outcome = margin(portfolio, market, MarginModel::ScenarioGrid, &config)?;
        if let MarginDetail::ScenarioGrid { underlyings } = &outcome.detail {
            presets.push(PresetNumbers::from_grid(preset, &config.grid, underlyings));
        }
    }
    let entry = canonical(stem);
    Ok(EfficiencyRow {
        stem: stem.to_owned(),
        title: entry
            .map(|c| c.title.to_owned())
            .or_else(|| portfolio.account.clone())
            .unwrap_or_else(|| stem.to_owned()),
        role: entry.map(|c| c.role),
        positions: portfolio.positions.len(),
        legs: describe_legs(portfolio),
        mark_to_market,
        models,
        grid_flat_vol: ModelNumbers {
            model: MarginModel::ScenarioGrid,
            maintenance: grid.result.maintenance_margin,
            initial: grid.result.initial_margin,
        },
        flat_vol_mark_to_market: grid.result.mark_to_market,
        presets,
    })
}

/// A leg in Deribit's naming, e.g. `-10 BTC-26MAR21-40000-P`.
pub fn describe_position(position: &Position) -> String {
    let size = position.size;
    match &position.instrument {
        Instrument::Spot { underlying } => format!("{size:+} {underlying} spot"),
        Instrument::Perpetual { underlying, settlement } => {
            format!("{size:+} {underlying}-PERPETUAL ({})", settlement_word(*settlement))
        }
        Instrument::Future { underlying, expiry_ms, settlement } => format!(
            "{size:+} {underlying}-{} future ({})",
            deribit_date(*expiry_ms),
            settlement_word(*settlement)
        ),
        Instrument::Option { underlying, expiry_ms, strike, kind, .. } => format!(
            "{size:+} {underlying}-{}-{strike}-{}",
            deribit_date(*expiry_ms),
            match kind {
                OptionKind::Call => "C",
                OptionKind::Put => "P",
            }
        ),
    }
}

fn settlement_word(settlement: Settlement) -> &'static str {
    match settlement {
        Settlement::Linear => "linear",
        Settlement::Inverse => "inverse, USD face",
    }
}

/// `26MAR21` from Unix ms.
fn deribit_date(expiry_ms: i64) -> String {
    const MONTHS: [&str; 12] =
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    let (year, month, day) = crate::data::civil_from_days(expiry_ms.div_euclid(86_400_000));
    // civil_from_days returns a month in 1..=12.
    let name = MONTHS[(month as usize).clamp(1, 12) - 1];
    format!("{day}{name}{:02}", year.rem_euclid(100))
}

fn describe_legs(portfolio: &Portfolio) -> String {
    if portfolio.positions.len() <= 6 {
        return portfolio.positions.iter().map(describe_position).collect::<Vec<_>>().join("; ");
    }
    let options = portfolio
        .positions
        .iter()
        .filter(|p| matches!(p.instrument, Instrument::Option { .. }))
        .count();
    let mut underlyings: Vec<&str> =
        portfolio.positions.iter().map(|p| p.instrument.underlying()).collect();
    underlyings.sort_unstable();
    underlyings.dedup();
    format!(
        "{options} options and {} futures/perpetuals on {}",
        portfolio.positions.len() - options,
        underlyings.join(" and ")
    )
}

/// The table: every `(stem, portfolio)` margined (in the given order).
pub fn efficiency_table(
    portfolios: &[(String, Portfolio)],
    market: &MarketSnapshot,
    config: &MarginConfig,
) -> Result<Vec<EfficiencyRow>> {
    portfolios.iter().map(|(stem, p)| efficiency_row(stem, p, market, config)).collect()
}

/// One of the seed's claims, checked on one or more rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimCheck {
    /// The claim.
    pub claim: String,
    /// Where it holds (one sentence per row, with numbers).
    pub holds: Vec<String>,
    /// Where it does not.
    pub fails: Vec<String>,
    /// Context the verdict needs (not counted either way).
    pub notes: Vec<String>,
}

/// Cross margin "far less" than isolated: the grid at most this fraction of isolated.
pub const FAR_LESS: f64 = 0.5;

/// The verdicts on the seed's claims, computed from `rows`.
pub fn claims(rows: &[EfficiencyRow]) -> Vec<ClaimCheck> {
    use MarginModel::{DeltaNetted, Isolated, MonteCarlo, ScenarioGrid};
    let mut hedged = ClaimCheck {
        claim: format!(
            "Hedged books need far less margin under cross margin (scenario grid ≤ {:.0}% of \
             isolated).",
            FAR_LESS * 100.0
        ),
        holds: Vec::new(),
        fails: Vec::new(),
        notes: Vec::new(),
    };
    let mut greeks = ClaimCheck {
        claim: "Delta netting misses gamma and vega risk that the scenario grid and Monte Carlo \
                catch (delta-netted < grid on delta-flat books with option risk)."
            .to_owned(),
        holds: Vec::new(),
        fails: Vec::new(),
        notes: Vec::new(),
    };
    let mut skew = ClaimCheck {
        claim: "Skew raises the margin of a short OTM put against flat vol (grid on the skewed \
                surface > grid at flat at-the-money vol)."
            .to_owned(),
        holds: Vec::new(),
        fails: Vec::new(),
        notes: Vec::new(),
    };
    let mut cross_asset = ClaimCheck {
        claim:
            "Books spanning underlyings get cross-asset offsets only from Monte Carlo (the grid \
                margins each underlying alone)."
                .to_owned(),
        holds: Vec::new(),
        fails: Vec::new(),
        notes: Vec::new(),
    };
    for row in rows {
        let Some(role) = row.role else { continue };
        let iso = row.model(Isolated).maintenance;
        let grid = row.model(ScenarioGrid).maintenance;
        let delta = row.model(DeltaNetted).maintenance;
        let mc = row.model(MonteCarlo).maintenance;
        if matches!(role, Role::Hedged | Role::HedgedGreeks) {
            let line = format!(
                "{}: grid {} = {:.1}% of isolated {} (Monte Carlo {:.1}%)",
                row.title,
                usd(grid),
                100.0 * grid / iso,
                usd(iso),
                100.0 * mc / iso
            );
            if grid <= FAR_LESS * iso {
                hedged.holds.push(line)
            } else {
                hedged.fails.push(line)
            }
        }
        if matches!(role, Role::HedgedGreeks) {
            let line = format!(
                "{}: delta-netted {} vs grid {} ({:.2}×) and Monte Carlo {}",
                row.title,
                usd(delta),
                usd(grid),
                delta / grid,
                usd(mc)
            );
            if delta < grid {
                greeks.holds.push(line)
            } else {
                greeks.fails.push(line)
            }
        }
        if matches!(role, Role::NakedShortPut) {
            let flat = row.grid_flat_vol.maintenance;
            let line = format!(
                "{}: grid maintenance {} on the skewed surface vs {} at flat ATM vol ({:+.1}%)",
                row.title,
                usd(grid),
                usd(flat),
                100.0 * (grid / flat - 1.0)
            );
            if grid > flat {
                skew.holds.push(line)
            } else {
                skew.fails.push(line)
            }
            // What the account must hold is the liability (−MTM) plus maintenance: skew moves both.
            let need = grid - row.mark_to_market;
            let need_flat = flat - row.flat_vol_mark_to_market;
            skew.notes.push(format!(
                "{}: the skew also prices the put's liability at {} against {} at flat vol, so \
                 liability + maintenance is {} vs {} ({:+.1}%): a flat-vol system {} by {}",
                row.title,
                usd(-row.mark_to_market),
                usd(-row.flat_vol_mark_to_market),
                usd(need),
                usd(need_flat),
                100.0 * (need / need_flat - 1.0),
                if need > need_flat { "under-collateralises" } else { "over-collateralises" },
                usd((need - need_flat).abs())
            ));
        }
        if matches!(role, Role::MultiUnderlying) {
            let line = format!(
                "{}: Monte Carlo {} vs grid {} vs isolated {}",
                row.title,
                usd(mc),
                usd(grid),
                usd(iso)
            );
            if mc < grid {
                cross_asset.holds.push(line)
            } else {
                cross_asset.fails.push(line)
            }
        }
    }
    vec![hedged, greeks, skew, cross_asset]
}

/// USD with thousands separators, no decimals.
pub fn usd(value: f64) -> String {
    let rounded = value.round();
    let negative = rounded < 0.0;
    let digits = format!("{:.0}", rounded.abs());
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if negative {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// The Markdown document: command, market, the tables and the claims section.
pub fn render_markdown(
    rows: &[EfficiencyRow],
    market: &MarketSnapshot,
    config: &MarginConfig,
) -> String {
    use std::fmt::Write as _;
    use MarginModel::{DeltaNetted, Isolated, MonteCarlo, ScenarioGrid};
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line("# Capital efficiency: four margin models on canonical portfolios".to_owned());
    line(String::new());
    line(
        "Generated by `xmargin efficiency`; regenerate with (from the workspace root):".to_owned(),
    );
    line(String::new());
    line("```sh".to_owned());
    line(EFFICIENCY_COMMAND.to_owned());
    line("```".to_owned());
    line(String::new());
    let mut market_line = format!(
        "Market: `offchain-risk/portfolios/market.json`, snapshot {} UTC (Unix ms {});",
        crate::data::format_datetime(market.timestamp_ms),
        market.timestamp_ms
    );
    // `write!` to a String cannot fail, so its Result is dropped.
    for (symbol, data) in &market.underlyings {
        let _ = write!(market_line, " {symbol} spot {}", usd(data.spot));
        if let Some(surface) = &data.surface {
            let _ = write!(market_line, " ({} SVI slices)", surface.slices.len());
        }
        market_line.push(',');
    }
    market_line.pop();
    market_line.push_str(
        ". Models at their defaults: isolated = the PMRM grid per position, summed; delta-netted = \
         net delta × 18% + crude gamma/vega add-ons; scenario grid = the `project-default` preset with full \
         revaluation on the skewed surface, per underlying; Monte Carlo = 99% ES over a one-day \
         margin period, Student-t(4) tails, ",
    );
    let _ = write!(
        market_line,
        "{} paths, seeded from the inputs. Initial = maintenance × {} in every model.",
        config.monte_carlo.paths, config.grid.initial_factor
    );
    line(market_line);
    line(String::new());
    line("## Maintenance margin (USD)".to_owned());
    line(String::new());
    line(
        "| portfolio | positions | MTM | isolated | delta-netted | scenario grid | Monte Carlo ES \
         | grid / isolated | MC / isolated | grid, flat ATM vol | skew effect |"
            .to_owned(),
    );
    line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|".to_owned());
    for row in rows {
        let flat = row.grid_flat_vol.maintenance;
        let grid = row.model(ScenarioGrid).maintenance;
        line(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1}% | {:.1}% | {} | {:+.1}% |",
            row.title,
            row.positions,
            usd(row.mark_to_market),
            usd(row.model(Isolated).maintenance),
            usd(row.model(DeltaNetted).maintenance),
            usd(grid),
            usd(row.model(MonteCarlo).maintenance),
            100.0 * row.ratio_to_isolated(ScenarioGrid),
            100.0 * row.ratio_to_isolated(MonteCarlo),
            usd(flat),
            100.0 * (grid / flat - 1.0),
        ));
    }
    line(String::new());
    line("## Initial margin (USD)".to_owned());
    line(String::new());
    line(
        "| portfolio | isolated | delta-netted | scenario grid | Monte Carlo ES \
         | grid, flat ATM vol |"
            .to_owned(),
    );
    line("|---|---:|---:|---:|---:|---:|".to_owned());
    for row in rows {
        line(format!(
            "| {} | {} | {} | {} | {} | {} |",
            row.title,
            usd(row.model(Isolated).initial),
            usd(row.model(DeltaNetted).initial),
            usd(row.model(ScenarioGrid).initial),
            usd(row.model(MonteCarlo).initial),
            usd(row.grid_flat_vol.initial),
        ));
    }
    line(String::new());
    line(
        "![Maintenance margin per model per portfolio (log scale)](capital_efficiency.svg)"
            .to_owned(),
    );
    line(String::new());
    line(render_presets(rows));
    line(String::new());
    line("## Portfolios".to_owned());
    line(String::new());
    line(
        "Files `offchain-risk/portfolios/NN_*.json` (sizes in units of underlying; inverse \
         futures in USD face). Options are USD-settled (linear), on Deribit's listed strikes and \
         expiries of the snapshot; delta hedges are perpetuals sized to the snapshot's \
         sticky-strike delta."
            .to_owned(),
    );
    line(String::new());
    for row in rows {
        line(format!("- **{}** (`{}.json`): {}", row.title, row.stem, row.legs));
    }
    line(String::new());
    line("## What the table shows".to_owned());
    line(String::new());
    line(
        "Generated from the numbers above; `tests/efficiency.rs` regenerates this file and fails \
         if it is stale, and asserts the verdicts."
            .to_owned(),
    );
    for check in claims(rows) {
        line(String::new());
        let verdict = match (check.holds.is_empty(), check.fails.is_empty()) {
            (false, true) => "**Holds.**",
            (true, false) => "**Does not hold.**",
            (false, false) => "**Holds in part.**",
            (true, true) => "**Not tested** (no portfolio of this kind).",
        };
        line(format!("**Claim:** {} {verdict}", check.claim));
        line(String::new());
        for holds in &check.holds {
            line(format!("- holds — {holds}"));
        }
        for fails in &check.fails {
            line(format!("- does not hold — {fails}"));
        }
        for note in &check.notes {
            line(format!("- note — {note}"));
        }
    }
    line(String::new());
    line("## Reading the numbers".to_owned());
    line(String::new());
    for paragraph in READING_NOTES {
        line(format!("- {paragraph}"));
    }
    out
}

/// The numbers of `preset` in `row` (rows carry every preset).
fn preset_numbers(row: &EfficiencyRow, preset: GridPreset) -> Option<&PresetNumbers> {
    row.presets.iter().find(|p| p.preset == preset)
}

/// The presets section: maintenance and initial per preset, then per portfolio why the
/// project's default differs from Derive's and why that is safe.
fn render_presets(rows: &[EfficiencyRow]) -> String {
    use GridPreset::{CmeSpan16, DerivePmrm1, DerivePmrm2, ProjectDefault};
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    let get = |row: &EfficiencyRow, preset| preset_numbers(row, preset).cloned();
    line("## Scenario-grid presets".to_owned());
    line(String::new());
    line(
        "The scenario grid under each named preset (`xmargin margin --preset NAME`, keeper \
         `[model] preset`), each at its own vol dynamics; `offchain-risk/src/margin/presets.rs` \
         cites the Derive v2-core lines every number comes from."
            .to_owned(),
    );
    line(String::new());
    for text in PRESET_DESCRIPTIONS {
        line(format!("- {text}"));
    }
    line(String::new());
    line(
        "| portfolio | project-default | derive-pmrm2 | derive-pmrm1 | cme-span16 | default / \
         PMRM_2 | default / PMRM v1 | initial: default | PMRM_2 | PMRM v1 | SPAN |"
            .to_owned(),
    );
    line("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|".to_owned());
    for row in rows {
        let (Some(ours), Some(v2), Some(v1), Some(span)) = (
            get(row, ProjectDefault),
            get(row, DerivePmrm2),
            get(row, DerivePmrm1),
            get(row, CmeSpan16),
        ) else {
            continue;
        };
        line(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.title,
            usd(ours.maintenance),
            usd(v2.maintenance),
            usd(v1.maintenance),
            usd(span.maintenance),
            ratio(ours.maintenance, v2.maintenance),
            ratio(ours.maintenance, v1.maintenance),
            usd(ours.initial),
            usd(v2.initial),
            usd(v1.initial),
            usd(span.initial),
        ));
    }
    line(String::new());
    line("### The project's default against Derive's, per portfolio".to_owned());
    line(String::new());
    line(
        "What sets each Derive number (maintenance = factor × max(worst loss, basis \
         contingency) + flat add-ons), why the project's default differs, and why that is safe. \
         The evidence for the delta-one books is `docs/BACKTEST.md`: the hedged books' realised \
         losses over the margin period against each model's margin, with Kupiec tests."
            .to_owned(),
    );
    line(String::new());
    for row in rows {
        let (Some(ours), Some(v2), Some(v1)) =
            (get(row, ProjectDefault), get(row, DerivePmrm2), get(row, DerivePmrm1))
        else {
            continue;
        };
        let derive = |n: &PresetNumbers, factor: f64| {
            format!(
                "{} = {factor} × {} ({}{}) + add-ons {}",
                usd(n.maintenance),
                usd(n.worst_loss.max(n.basis_contingency)),
                n.binding(),
                match n.binding() {
                    "the worst scenario" => format!(": {}", n.worst_scenario),
                    "no scenario loss" => String::new(),
                    _ => format!(" over a worst loss of {}", usd(n.worst_loss)),
                },
                usd(n.add_ons),
            )
        };
        let why = row
            .role
            .and_then(|_| PRESET_NOTES.iter().find(|(stem, _)| *stem == row.stem))
            .map_or("", |(_, note)| *note);
        line(format!(
            "- **{}**: default {} ({}{}{}); PMRM_2 {}; PMRM v1 {}. {why}",
            row.title,
            usd(ours.maintenance),
            ours.binding(),
            if ours.binding() == "the worst scenario" {
                format!(": {}", ours.worst_scenario)
            } else {
                String::new()
            },
            if ours.add_ons > 0.0 {
                format!(", + basis add-on {}", usd(ours.add_ons))
            } else {
                String::new()
            },
            derive(&v2, 0.8),
            derive(&v1, 1.0),
        ));
    }
    out.pop();
    out
}

/// `a / b` as `0.42×`, or `—` when `b` is zero.
fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "—".to_owned()
    }
}

/// One line per preset for the presets section.
const PRESET_DESCRIPTIONS: [&str; 4] = [
    "`project-default`: PMRM_2's 23 core spot × vol rows and vol-term scaling, plus our own \
     tails (±36% with vol up at 35% cover) and skew rotations; sticky moneyness; maintenance = \
     max(worst loss, 1% of spot per net short option) + the calibrated basis and funding \
     add-on of `margin::basis` (a perpetual premium shock, BTC 11 bp, ETH and other underlyings \
     14 bp, plus the expected funding paid, and a carry shock × T per futures expiry, BTC \
     3.2%/year, ETH and others 4.3%, never netted across expiries); \
     initial = 1.25 × maintenance. No static discount, basis contingency or flat add-ons: the \
     basis add-on prices funding and basis risk at a fraction of Derive's flat 3% of notional.",
    "`derive-pmrm2`: Derive's PMRM_2 as deployed: 33 rows (the 23 core rows, tails down to \
     −66% × 0.21 and up to +500% × 0.02772, linear and abs skew rows), vol up 50% / down 30% \
     scaled (30 d/T)^0.3 or ^0.13, vol-up vols floored at 40%, sticky strike; maintenance = \
     0.8 × max(worst loss, basis contingency) + 3% of perpetual and 0.3% of naked short option \
     notional; initial = 1.0 × the same + those and another 1% / 0.2%; static discount 1.05·e^(−0.16T) \
     on positive and 0.95·e^(0.16T) (≤ e^(rT)) on negative expiry values; basis contingency at \
     spot ±4.5% × (0.5 + 2T) per expiry.",
    "`derive-pmrm1`: Derive's PMRM v1 as deployed: 23 rows (spot ±5/10/15% × vol up 60% / flat \
     / down 30%, ±20% vol up), sticky strike; maintenance = max(worst loss, basis contingency) \
     + 3% of perpetual, 3% of spot and 2% of naked short option notional; initial = 1.25 × \
     maintenance; static discount 0.95·e^(−(r+0.12)T) on positive expiry values; basis \
     contingency at spot ±5% × (1 + 1.2T) per expiry.",
    "`cme-span16`: CME SPAN's 16 scenarios at a 15% price and 25% vol scan range (extreme moves \
     of ±30% at 35% cover), with the project default's minimum, basis add-on and initial factor.",
];

/// Per canonical portfolio: why the project's default differs from Derive's and why it is safe.
const PRESET_NOTES: [(&str, &str); 11] = [
    (
        "01_naked_short_put",
        "Both grids bind on the same crash row; the default counts the loss in full where PMRM_2 \
         takes 0.8 of it and credits shorts through its static discount (0.95·e^(0.16T), capped \
         at e^(rT), on negative expiry values), so it asks more. PMRM v1 asks more still: vol up \
         60% on a 20% crash and 2% of spot per naked short. Safe: the `short_put` book of \
         `docs/BACKTEST.md` (a 30-day put at 90%) is margined by the default grid with \
         exceedances below the 1% a 99% margin allows.",
    ),
    (
        "02_covered_call",
        "The long spot's downside dominates; the default charges it at 1× rather than 0.8×. PMRM \
         v1's extra comes from its 3% add-on on spot notional and its 20% crash row. Safe: the \
         default's crash row covers the spot leg's one-day losses (`btc_spot` in \
         `docs/BACKTEST.md`).",
    ),
    (
        "03_calendar_spread",
        "Derive binds on its basis contingency: each expiry's loss under a ±4.5% (±5%) spot move \
         is charged without netting against the other expiry. The default moves both expiries \
         with the same spot return and lets them offset, and catches the spread's risk through \
         term-scaled vol shocks (the short near leg's vol moves more); it still asks about what \
         PMRM_2 asks. PMRM v1 asks more because its contingency scales by 1 + 1.2T instead of \
         0.5 + 2T. Not backtested (no term-structure history in the data); the default relies \
         on the joint spot move.",
    ),
    (
        "04_delta_hedged_straddle",
        "Both grids bind on a large move with vol up; the default counts it in full and adds no \
         flat add-ons. PMRM v1 asks more: vol up 60% at ±20% and 2% of spot per naked short. \
         Safe: the `short_straddle` book of `docs/BACKTEST.md` is margined by the default grid \
         with exceedances below 1%.",
    ),
    (
        "05_futures_basis",
        "No scenario loses: spot and future move together. Derive's number is flat: the future's \
         expiry loss under ±4.5% (±5%) counted without the spot's offset (Derive lists no dated \
         futures; here a future joins its expiry's basis contingency and pays the perpetual \
         add-on) plus 3% of future notional (and in v1 3% of spot). The default charges only its \
         calibrated carry add-on (BTC's 3.2%/year × T of future notional), sized to 99% basis \
         moves over the margin period. \
         Safe: the `future_basis` book of `docs/BACKTEST.md` breaches this add-on on no day of \
         2020–2023 (conservative by design), and the Monte Carlo's 99% quantile, walk-forward, on \
         15 of 1,403 days (Kupiec p 0.80).",
    ),
    (
        "06_perp_spot_hedge",
        "No scenario loses. Derive charges 3% of perpetual notional (v1 adds 3% of spot) however \
         well the legs hedge; the default charges its basis add-on on the perpetual (funding and \
         mark-vs-index risk). Safe: the `perp_basis` book of `docs/BACKTEST.md` (long spot, short \
         perpetual, funding paid) breaches the default grid once in 1,403 days (conservative by \
         design), and the Monte Carlo's 99% quantile, walk-forward, on 15 (Kupiec p 0.80). The \
         Monte Carlo charges this book nothing: at the snapshot's 0.187% per 8 hours the short \
         perpetual expects to receive 0.56% of its notional over the day, more than the 99% ES of \
         BTC's basis factor (~0.17%); it credits expected funding, the add-ons never do.",
    ),
    (
        "07_risk_reversal",
        "PMRM_2 binds on its −66% × 0.21 tail row (the short put deep in the money) and charges 3% \
         on the perpetual delta hedge; the default's deepest row is −36% × 0.35 and it charges the \
         hedge only its basis add-on, so it asks a little less. PMRM v1 binds on its basis \
         contingency and adds 3% of the hedge and 2% per naked short. Safe: the put leg's \
         one-day losses are those of the `short_put` book of `docs/BACKTEST.md`.",
    ),
    (
        "08_iron_condor",
        "Losses are capped by the long wings, which both grids revalue in full. PMRM v1's number \
         is mostly its 2% of spot per naked short strike, which ignores the wings; the default \
         floors at 1% per net short contract and otherwise trusts the revaluation. Safe: the \
         loss cannot exceed the strike width less the premium, and the default's ±36% rows \
         reach the capped region.",
    ),
    (
        "09_short_strangle",
        "Both grids bind on a large move with vol up, the default at 1×, PMRM_2 at 0.8×; v1 \
         asks more (vol up 60%, 2% per naked short). Safe: as for the straddle and the put, \
         `docs/BACKTEST.md`.",
    ),
    (
        "10_btc_eth_book",
        "Every grid margins BTC and ETH apart. The default exceeds PMRM_2 through its factor of \
         1; PMRM v1 adds 3% of the ETH perpetual and of the BTC spot. Safe: each leg is covered \
         as in the single-underlying rows; the pair's offsets are left to Monte Carlo.",
    ),
    (
        "11_market_maker",
        "The default's scenario charge exceeds PMRM_2's 0.8 × worst loss; PMRM_2 ends higher \
         only through its flat add-ons (3% of perpetual and future hedges, 0.3% per naked short), \
         which do not shrink as the book hedges. PMRM v1's add-ons (3% and 2%) are larger still. \
         Safe: the default charges the hedges' basis risk through its basis add-on, backtested \
         with the delta-one books of `docs/BACKTEST.md`.",
    ),
];

/// Model mechanics that explain the verdicts (independent of the numbers).
const READING_NOTES: [&str; 7] = [
    "A covered call is only half a hedge: the short call caps the upside but the long spot keeps \
     its full downside, so cross margin saves just the call's own charge. Monte Carlo, which \
     weighs moves by their probability over one day rather than by a fixed ±18%/±36% grid, \
     saves more.",
    "Delta netting charges net short gamma as ½·Γ·(18%·S)² and net vega at 10 vol points, both \
     from the Greeks at today's spot. That misses what happens away from the spot (the risk \
     reversal's and the straddle's legs re-strike as spot moves) but can over-charge spreads whose \
     Greeks offset only in part at today's spot and better after a joint move, as a calendar's \
     do: the near leg's short gamma is charged in full, the far leg's vega offset only net.",
    "Skew enters the grid twice: the base price of each option is read at its strike's vol, and \
     every scenario re-reads the vol at the option's new moneyness (sticky moneyness). On a smile \
     whose minimum is near the money, a put that moves into the money in a crash moves *down* \
     the smile, so its scenario loss can be smaller than at flat vol even though its premium is \
     higher.",
    "The scenario grid margins each underlying on its own (as PMRM and SPAN do) and sums them, \
     so a BTC/ETH relative-value book gets no offset between the legs; Monte Carlo draws the two \
     with a 0.75 correlation and nets them.",
    "Basis and funding risk (`margin::basis`, calibrated by `xmargin basis` on Binance funding \
     2020–2023 at 99% over one day): a spot position against a future or perpetual of equal \
     delta still loses when the perpetual's premium net of the funding surprise (BTC 11 bp, \
     ETH 14 bp, each asset on its own history; 14 bp for underlyings without one) or a future's \
     carry (BTC 3.2%, ETH 4.3% a year × years to expiry) moves. Delta netting and the grid add \
     these per perpetual and per futures expiry, never netted (expected funding is charged where \
     paid, never credited); Monte Carlo simulates them as Student-t factors correlated with spot \
     around the expected funding, credited where received. docs/BACKTEST.md backtests the two \
     hedged books.",
    "Isolated margin runs the same PMRM grid on each position alone and sums, so it is the \
     grid's no-netting baseline; the ratios are therefore pure netting effects.",
    "Market caveats: BTC and ETH surfaces are `xmargin calibrate` fits of the 2021-02-09 \
     Deribit chains (forwards are the chains' per-expiry underlying prices; the rate is Deribit's \
     0). The ETH chain's marks are stale (flat 80% on several expiries), so its fit is poor \
     (RMSE up to ~38 vol points on far expiries); only the two-underlying and market-maker books \
     hold ETH. The chains carry no perpetual mark, so it is set to the index; funding is \
     Binance's 2021-02-09 11:00 UTC rate.",
];
