//! Day-by-day backtest of the margin models on real history.
//!
//! What flows through: the shared data set ([`DataDir`]) becomes a [`MarketHistory`] on UTC days
//! ([`market`]: spot, funding, and a BTC surface whose skew shape comes from a real chain and
//! whose level is the day's DVOL or its proxy); for each day `d` of the window every [`Book`] is
//! struck against the snapshot of `d` ([`books`]), margined under each [`MarginModel`] (the Monte
//! Carlo configuration calibrated on history known at the close of `d`, [`calibration`], its
//! basis factors too, [`basis::walk_forward_factors`]), and
//! held to the close of `d + h` (h = the margin period of risk, 1 day by default) to give the
//! realised loss. Each (book, model) series of (loss, maintenance margin) is scored like the
//! history module's EWMA baseline: exceedances (loss > margin), Kupiec's proportion-of-failures
//! test at the target confidence, the worst shortfall, and the same per stress period
//! ([`stress_periods`]); the Monte Carlo's VaR is scored the same way, as the quantile a 99%
//! model must get right. [`report`] renders the Markdown table and the collateral-weight check.
//!
//! Losses and margins are fractions of the book's notional (`notional`, USD of underlying
//! exposure when struck), so books and days compare. A day is skipped for a book when a close it
//! needs (at `d` or `d + h`) is missing, when its assets have too little history to calibrate,
//! (option books) when no vol level exists, or (the hedged basis books) when the funding history,
//! from which their perpetual premium and futures carry are read, does not cover the window.

pub mod basis;
pub mod books;
pub mod calibration;
pub mod market;
pub mod report;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::collateral::historical_covering_weight;
use crate::error::{DataError, Result};
use crate::history::load::PRICE_SYMBOLS;
use crate::history::stats::{kupiec_pof, stress_periods, worst_shortfall, BacktestObservation};
use crate::history::{DataDir, Date};
use crate::margin::basis::{BasisFactors, BasisRisk};
use crate::margin::monte_carlo::MonteCarloConfig;
use crate::margin::{margin, MarginConfig, MarginDetail, MarginModel};
use crate::market::MarketSnapshot;
pub use books::Book;
use calibration::{Calibrator, DayCalibration};
pub use market::{MarketHistory, SkewShape, VolSource};

/// Backtest settings (JSON with documented defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BacktestSettings {
    /// First day a margin is set (UTC close).
    pub from: Date,
    /// Last day a margin is set (its loss is measured at `to + horizon_days`).
    pub to: Date,
    /// Margin period of risk in days (1: the default [`crate::margin::monte_carlo::MarginPeriod`]).
    pub horizon_days: u32,
    /// Monte Carlo paths per margin (2,000 here against 10,000 in production, for runtime).
    pub paths: usize,
    /// Target confidence of the Monte Carlo ES and of Kupiec's test.
    pub confidence: f64,
    /// USD notional of each book when struck.
    pub notional: f64,
    /// RiskMetrics decay of the EWMA vol.
    pub ewma_lambda: f64,
    /// Trailing days of the correlation and DVOL-dynamics estimates.
    pub correlation_window_days: i32,
    /// Trailing days of the Student-t fits.
    pub tail_window_days: i32,
    /// Implied-over-realised premium of the vol proxy (BTC ATM vol = EWMA vol × this) where DVOL
    /// does not cover the day.
    pub implied_premium: f64,
    /// A DVOL print at most this many days old stands in for a missing day.
    pub dvol_max_stale_days: i32,
    /// The chain the skew shape is calibrated on, relative to the data directory.
    pub skew_chain: String,
    /// Books to run.
    pub books: Vec<Book>,
    /// Whether the Monte Carlo's basis factors are re-estimated every day from the funding known
    /// at its close ([`basis::walk_forward_factors`]; true) or are the constants calibrated on
    /// the whole funding file ([`crate::margin::basis::BasisRisk::calibrated`]: in-sample for
    /// the basis books). The add-on models always use the constants.
    pub basis_walk_forward: bool,
}

/// Parses a literal date of this module (valid by construction).
fn day(text: &str) -> Date {
    Date::parse(text).unwrap_or(Date::EPOCH)
}

impl Default for BacktestSettings {
    fn default() -> Self {
        Self {
            from: day("2020-01-01"),
            // The last UTC close in `prices/` is 2025-01-15; the last 1-day window ends there.
            to: day("2025-01-14"),
            horizon_days: 1,
            paths: 2_000,
            confidence: 0.99,
            notional: 1_000_000.0,
            ewma_lambda: crate::history::stats::RISKMETRICS_LAMBDA,
            correlation_window_days: 365,
            tail_window_days: 3 * 365,
            implied_premium: DEFAULT_IMPLIED_PREMIUM,
            dvol_max_stale_days: 3,
            skew_chain: "options/optionsdx-eod/btc_eod_202106.txt".to_owned(),
            books: Book::ALL.to_vec(),
            basis_walk_forward: true,
        }
    }
}

/// Default implied-over-realised premium of the vol proxy: the median of DVOL / (100 × BTC's
/// EWMA vol) over DVOL's coverage to 2025-01-15 (measured by [`measured_premium`], reported
/// beside the table), rounded to 0.05.
pub const DEFAULT_IMPLIED_PREMIUM: f64 = 1.15;

/// Losses smaller than this fraction of notional are rounding noise (see [`DayRecord::loss`]).
pub const LOSS_NOISE: f64 = 1e-12;

/// One day of one book: the realised loss and each model's maintenance margin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayRecord {
    /// The day the margin is set.
    pub date: Date,
    /// Realised loss to `date + h`, fraction of notional (positive = loss; below [`LOSS_NOISE`]
    /// in size it is set to zero).
    pub loss: f64,
    /// Maintenance margin per model in [`MarginModel::ALL`] order, fraction of notional.
    pub margins: Vec<f64>,
    /// The Monte Carlo's value at risk at the target confidence (the quantile its ES margin
    /// averages beyond), fraction of notional.
    #[serde(default)]
    pub monte_carlo_var: f64,
    /// Source of the BTC vol level (option books).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vol_source: Option<VolSource>,
}

/// Exceedances and shortfalls within one stress period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressScore {
    /// The period's name.
    pub period: String,
    /// Windows ending in the period.
    pub days: usize,
    /// Exceedances among them.
    pub exceedances: usize,
    /// Largest realised loss and the day it was margined.
    pub worst_loss: Option<(f64, Date)>,
    /// Largest loss beyond the margin (exceedances only) and its day.
    pub worst_shortfall: Option<(f64, Date)>,
}

/// One book under one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScore {
    /// The model.
    pub model: MarginModel,
    /// Windows scored.
    pub days: usize,
    /// Windows whose loss exceeded the maintenance margin.
    pub exceedances: usize,
    /// Exceedances expected at the target confidence.
    pub expected: f64,
    /// Kupiec's likelihood ratio.
    pub kupiec_lr: f64,
    /// Its p-value.
    pub kupiec_p_value: f64,
    /// Largest loss beyond the margin and the day it was margined.
    pub worst_shortfall: Option<(f64, Date)>,
    /// Median maintenance margin (fraction of notional; the median, because a fat-tailed Monte
    /// Carlo's rare blow-up day would dominate a mean).
    pub median_margin: f64,
    /// Per stress period.
    pub stress: Vec<StressScore>,
}

/// One book over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookResult {
    /// The book.
    pub book: Book,
    /// Days of the window without a record (missing close, too little history, no vol level).
    pub skipped_days: usize,
    /// Days per vol source (option books).
    pub vol_sources: BTreeMap<String, usize>,
    /// Scores in [`MarginModel::ALL`] order.
    pub scores: Vec<ModelScore>,
    /// The Monte Carlo's VaR scored as if it were the margin: Kupiec's test of the model's
    /// quantile, which the ES margin exceeds by construction.
    pub monte_carlo_var: ModelScore,
    /// The daily records.
    pub records: Vec<DayRecord>,
}

/// A day's Monte Carlo calibration, shown in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationSample {
    /// The book it was calibrated for.
    pub book: Book,
    /// The estimates.
    pub calibration: DayCalibration,
}

/// A walk-forward backtest of a collateral weight on one asset's 1-day moves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollateralScore {
    /// The asset.
    pub asset: String,
    /// What weight was tested.
    pub rule: String,
    /// Lowest and highest weight used (bps).
    pub weight_range_bps: (u16, u16),
    /// Windows scored.
    pub days: usize,
    /// Windows whose 1-day loss exceeded the haircut.
    pub exceedances: usize,
    /// Kupiec's p-value at the target confidence.
    pub kupiec_p_value: f64,
    /// Largest loss beyond the haircut and its day.
    pub worst_shortfall: Option<(f64, Date)>,
}

/// The whole backtest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    /// Settings used.
    pub settings: BacktestSettings,
    /// Chain (file and time) the skew shape came from.
    pub skew_source: String,
    /// Its 30-day ATM vol.
    pub skew_atm_30d: f64,
    /// The median DVOL / EWMA ratio measured on the data (justifies `implied_premium`).
    pub measured_premium: Option<f64>,
    /// Per book.
    pub books: Vec<BookResult>,
    /// Monte Carlo calibrations on sample days.
    pub calibration_samples: Vec<CalibrationSample>,
    /// Collateral-weight backtests.
    pub collateral: Vec<CollateralScore>,
}

/// Loads the shared data set and runs the backtest.
pub fn run_backtest(data: &DataDir, settings: &BacktestSettings) -> Result<BacktestReport> {
    let history = MarketHistory::load(data, &PRICE_SYMBOLS, settings)?;
    run_on_history(&history)
}

/// Every day from `from` to `to` inclusive.
fn days_between(from: Date, to: Date) -> Vec<Date> {
    (0..=to.days_since(from).max(-1)).map(|k| from.add_days(k)).collect()
}

type DayMarket = Option<(MarketSnapshot, Option<VolSource>)>;

/// Runs the backtest on a prepared history (its settings say the window and books).
pub fn run_on_history(history: &MarketHistory) -> Result<BacktestReport> {
    let settings = &history.settings;
    if settings.to < settings.from || settings.horizon_days == 0 {
        return Err(DataError::Invalid {
            field: "from/to/horizon_days".to_owned(),
            reason: format!(
                "need from <= to and a positive horizon; got {} to {}, {} days",
                settings.from, settings.to, settings.horizon_days
            ),
        }
        .into());
    }
    let h = settings.horizon_days as usize;
    let days = days_between(settings.from, settings.to);
    let market_days = days_between(settings.from, settings.to.add_days(h as i32));
    let markets: Vec<DayMarket> =
        market_days.par_iter().map(|d| history.snapshot(*d)).collect::<Result<Vec<_>>>()?;
    let mut symbols: Vec<&str> =
        settings.books.iter().flat_map(|b| b.underlyings()).copied().collect();
    symbols.sort_unstable();
    symbols.dedup();
    let calibrator = Calibrator::new(history, &symbols, settings.from, settings.to);
    let base = MonteCarloConfig {
        paths: settings.paths,
        confidence: settings.confidence,
        ..MonteCarloConfig::default()
    };
    let walk_forward = if settings.basis_walk_forward {
        let constants = BasisRisk::calibrated();
        history
            .funding
            .iter()
            .map(|(symbol, prints)| {
                let rho = constants.factors(symbol).spot_correlation;
                (symbol.clone(), basis::walk_forward_factors(prints, settings.ewma_lambda, rho))
            })
            .collect()
    } else {
        BTreeMap::new()
    };

    let mut books = Vec::new();
    for &book in &settings.books {
        let records: Vec<Option<DayRecord>> = (0..days.len())
            .into_par_iter()
            .map(|i| {
                evaluate_day(
                    history,
                    &calibrator,
                    &MonteCarloInputs { base: &base, walk_forward: &walk_forward },
                    book,
                    days[i],
                    &markets[i],
                    &markets[i + h],
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let records: Vec<DayRecord> = records.into_iter().flatten().collect();
        let mut vol_sources = BTreeMap::new();
        if book.has_options() {
            for record in &records {
                if let Some(source) = record.vol_source {
                    *vol_sources.entry(source.label().to_owned()).or_insert(0) += 1;
                }
            }
        }
        let scores = MarginModel::ALL
            .iter()
            .enumerate()
            .map(|(m, model)| {
                score_model(*model, &observations(&records, m, h), settings.confidence)
            })
            .collect::<Result<Vec<_>>>()?;
        let var_observations: Vec<BacktestObservation> =
            observations(&records, MarginModel::ALL.len(), h);
        let monte_carlo_var =
            score_model(MarginModel::MonteCarlo, &var_observations, settings.confidence)?;
        books.push(BookResult {
            book,
            skipped_days: days.len() - records.len(),
            vol_sources,
            scores,
            monte_carlo_var,
            records,
        });
    }

    let mut calibration_samples = Vec::new();
    let mut sample_days: Vec<Date> = stress_periods().iter().map(|p| p.from).collect();
    sample_days.push(settings.to);
    for book in [Book::BtcEthPair, Book::AltBook] {
        if !settings.books.contains(&book) {
            continue;
        }
        for date in &sample_days {
            if *date < settings.from || *date > settings.to {
                continue;
            }
            if let Some(calibration) = calibrator.calibrate(book.underlyings(), *date) {
                calibration_samples.push(CalibrationSample { book, calibration });
            }
        }
    }

    Ok(BacktestReport {
        settings: settings.clone(),
        skew_source: history.skew.source.clone(),
        skew_atm_30d: history.skew.atm_30d,
        measured_premium: measured_premium(history),
        books,
        calibration_samples,
        collateral: collateral_backtest(history)?,
    })
}

/// Walk-forward basis factors per funded underlying and day.
type WalkForwardBasis = BTreeMap<String, BTreeMap<Date, BasisFactors>>;

/// What every day's Monte Carlo configuration starts from: the base configuration and the
/// walk-forward basis factors (empty when the constants are used).
struct MonteCarloInputs<'a> {
    base: &'a MonteCarloConfig,
    walk_forward: &'a WalkForwardBasis,
}

/// One book on one day; `None` when the day is skipped (see the module doc).
fn evaluate_day(
    history: &MarketHistory,
    calibrator: &Calibrator<'_>,
    inputs: &MonteCarloInputs<'_>,
    book: Book,
    date: Date,
    start: &DayMarket,
    end: &DayMarket,
) -> Result<Option<DayRecord>> {
    let settings = &history.settings;
    let (Some((start_market, source)), Some((end_market, end_source))) = (start, end) else {
        return Ok(None);
    };
    let present =
        |m: &MarketSnapshot| book.underlyings().iter().all(|u| m.underlyings.contains_key(*u));
    if !present(start_market) || !present(end_market) {
        return Ok(None);
    }
    if book.has_options() && (source.is_none() || end_source.is_none()) {
        return Ok(None);
    }
    let end_date = date.add_days(settings.horizon_days as i32);
    if book.is_basis_trade() {
        let funded = |symbol: &str| {
            history.funding_rate_at(symbol, date).is_some()
                && history.funding_rate_at(symbol, end_date).is_some()
                && history.funding_between(symbol, date, end_date).is_some()
        };
        if !book.underlyings().iter().all(|u| funded(u)) {
            return Ok(None);
        }
    }
    // The futures book's markets carry the funding-implied forward curve.
    let carried = if book == Book::FutureBasis {
        let (Some(start), Some(end)) = (
            history.with_futures_carry(start_market, date),
            history.with_futures_carry(end_market, end_date),
        ) else {
            return Ok(None);
        };
        Some((start, end))
    } else {
        None
    };
    let (start_market, end_market) = match &carried {
        Some((start, end)) => (start, end),
        None => (start_market, end_market),
    };
    let Some(calibration) = calibrator.calibrate(book.underlyings(), date) else {
        return Ok(None);
    };
    let mut config = MarginConfig {
        monte_carlo: Calibrator::monte_carlo_config(
            &calibration,
            inputs.base,
            settings.horizon_days,
        ),
        ..MarginConfig::default()
    };
    if settings.basis_walk_forward && book.is_basis_trade() {
        for symbol in book.underlyings() {
            let factors = inputs.walk_forward.get(*symbol).and_then(|days| days.get(&date));
            // Too little funding history before the day to estimate the factors.
            let Some(factors) = factors else { return Ok(None) };
            config.monte_carlo.basis.underlyings.insert((*symbol).to_owned(), *factors);
        }
    }
    let portfolio = book.portfolio(start_market, settings.notional)?;
    let mut margins = Vec::with_capacity(MarginModel::ALL.len());
    let mut monte_carlo_var = 0.0;
    for model in MarginModel::ALL {
        let result = margin(&portfolio, start_market, model, &config)?;
        margins.push(result.result.maintenance_margin / settings.notional);
        if let MarginDetail::MonteCarlo(summary) = &result.detail {
            monte_carlo_var = summary.value_at_risk / settings.notional;
        }
    }
    let pnl = books::realised_pnl(&portfolio, start_market, end_market, history, date, end_date)?;
    // A fully hedged book's P&L is a difference of equal numbers: zero it below rounding noise
    // so it cannot count as an exceedance of a zero margin.
    let loss = -pnl / settings.notional;
    let loss = if loss.abs() < LOSS_NOISE { 0.0 } else { loss };
    Ok(Some(DayRecord {
        date,
        loss,
        margins,
        monte_carlo_var,
        vol_source: if book.has_options() { *source } else { None },
    }))
}

/// The (loss, margin) windows of model `m` (`m` = [`MarginModel::ALL`]`.len()`: the Monte
/// Carlo's VaR); with `h` > 1 only every h-th day, so the windows do not overlap (Kupiec assumes
/// independent trials).
fn observations(records: &[DayRecord], m: usize, h: usize) -> Vec<BacktestObservation> {
    let first = records.first().map(|r| r.date);
    records
        .iter()
        .filter(|r| first.is_none_or(|f| (r.date.days_since(f) as usize).is_multiple_of(h)))
        .map(|r| BacktestObservation {
            start: r.date,
            end: r.date.add_days(h as i32),
            loss: r.loss,
            margin: r.margins.get(m).copied().unwrap_or(r.monte_carlo_var),
        })
        .collect()
}

/// Scores one model's windows.
pub fn score_model(
    model: MarginModel,
    observations: &[BacktestObservation],
    confidence: f64,
) -> Result<ModelScore> {
    let days = observations.len();
    let exceedances = observations.iter().filter(|o| o.is_exceedance()).count();
    let (kupiec_lr, kupiec_p_value) = if days > 0 {
        let test = kupiec_pof(days, exceedances, confidence)?;
        (test.statistic, test.p_value)
    } else {
        (0.0, 1.0)
    };
    let shortfall =
        |o: &[BacktestObservation]| worst_shortfall(o).map(|w| (w.shortfall(), w.start));
    let stress = stress_periods()
        .iter()
        .map(|period| {
            let selected = period.select(observations);
            StressScore {
                period: period.name.to_owned(),
                days: selected.len(),
                exceedances: selected.iter().filter(|o| o.is_exceedance()).count(),
                worst_loss: selected
                    .iter()
                    .max_by(|a, b| a.loss.total_cmp(&b.loss))
                    .map(|o| (o.loss, o.start)),
                worst_shortfall: shortfall(&selected),
            }
        })
        .collect();
    Ok(ModelScore {
        model,
        days,
        exceedances,
        expected: days as f64 * (1.0 - confidence),
        kupiec_lr,
        kupiec_p_value,
        worst_shortfall: shortfall(observations),
        median_margin: median(observations.iter().map(|o| o.margin).collect()),
        stress,
    })
}

/// The median (upper median for an even count); 0 for no values.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Median of DVOL / (100 × BTC's annualised EWMA vol) over the days DVOL prints (all of its
/// coverage in the loaded history): what the proxy's premium stands for.
pub fn measured_premium(history: &MarketHistory) -> Option<f64> {
    let ratios: Vec<f64> = history
        .dvol
        .days
        .iter()
        .filter_map(|(d, v)| Some(v / 100.0 / history.ewma_annual("BTC", *d)?))
        .collect();
    if ratios.is_empty() {
        return None;
    }
    Some(median(ratios))
}

/// Static weights the issue anchors (ETH 90%, UNI 50%) tested as they stand.
pub const ANCHOR_WEIGHTS_BPS: [(&str, u16); 2] = [("ETH", 9_000), ("UNI", 5_000)];

/// Walk-forward check of collateral weights on 1-day moves over the backtest window: for each
/// asset, the weight [`historical_covering_weight`] gives at 99% on the closes known at the
/// start of each month (the full history before it), applied to every 1-day window of that month;
/// and the anchor weights ([`ANCHOR_WEIGHTS_BPS`]) as fixed.
pub fn collateral_backtest(history: &MarketHistory) -> Result<Vec<CollateralScore>> {
    let settings = &history.settings;
    let mut out = Vec::new();
    for asset in PRICE_SYMBOLS.iter().map(|s| (*s).to_owned()) {
        let (Some(series), Some(returns)) =
            (history.prices.get(&asset), history.returns.get(&asset))
        else {
            continue;
        };
        let windows: Vec<_> = returns
            .points
            .iter()
            .filter(|p| p.start >= settings.from && p.start <= settings.to)
            .collect();
        let mut weights: BTreeMap<Date, u16> = BTreeMap::new();
        let mut walk = Vec::new();
        for point in &windows {
            let month = calibration::month_start(point.start);
            let weight = match weights.get(&month) {
                Some(w) => *w,
                None => {
                    let known = series.between(None, Some(month.add_days(-1)));
                    let Ok(fit) = historical_covering_weight(&known, 1, settings.confidence) else {
                        continue;
                    };
                    weights.insert(month, fit.weight_bps);
                    fit.weight_bps
                }
            };
            walk.push((point, weight));
        }
        let mut rules: Vec<(String, Vec<(&&crate::history::ReturnPoint, u16)>)> =
            vec![("walk-forward 99% 1-day covering weight".to_owned(), walk.clone())];
        if let Some((_, bps)) = ANCHOR_WEIGHTS_BPS.iter().find(|(a, _)| *a == asset) {
            let fixed = walk.iter().map(|(p, _)| (*p, *bps)).collect();
            rules.push((format!("issue anchor {}%", f64::from(*bps) / 100.0), fixed));
        }
        for (rule, points) in rules {
            if points.is_empty() {
                continue;
            }
            let observations: Vec<BacktestObservation> = points
                .iter()
                .map(|(p, bps)| BacktestObservation {
                    start: p.start,
                    end: p.end,
                    loss: -p.simple_return(),
                    margin: 1.0 - f64::from(*bps) / 10_000.0,
                })
                .collect();
            let exceedances = observations.iter().filter(|o| o.is_exceedance()).count();
            let kupiec = kupiec_pof(observations.len(), exceedances, settings.confidence)?;
            let bps: Vec<u16> = points.iter().map(|p| p.1).collect();
            out.push(CollateralScore {
                asset: asset.clone(),
                rule,
                weight_range_bps: (
                    bps.iter().copied().min().unwrap_or(0),
                    bps.iter().copied().max().unwrap_or(0),
                ),
                days: observations.len(),
                exceedances,
                kupiec_p_value: kupiec.p_value,
                worst_shortfall: worst_shortfall(&observations).map(|w| (w.shortfall(), w.start)),
            });
        }
    }
    Ok(out)
}
