//! The history backtest: the snapshot builder on known dates, no look-ahead in the margins, the
//! scoring on a synthetic series, Kupiec's numbers carried through, and the committed
//! `docs/BACKTEST.md` reproduced. Debug-build friendly: real data, but short windows (60 days
//! around May 2022) and few Monte Carlo paths. The full five-year table is checked only by the
//! `#[ignore]`d test at the end (run it with `--release -- --ignored`).
// Equality of floats is the point here: the backtest is deterministic, so numbers recomputed from
// the same inputs (or read back from the file they came from) must be bit-identical.
#![allow(clippy::float_cmp)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use offchain_risk::backtest::books::Book;
use offchain_risk::backtest::market::{close_ms, LEVEL_EXPIRY_YEARS};
use offchain_risk::backtest::report::{
    check_block, check_settings, extract_block, in_sample_block, in_sample_settings, results_block,
    BEGIN_CHECK, BEGIN_IN_SAMPLE, BEGIN_RESULTS, END_CHECK, END_IN_SAMPLE, END_RESULTS,
};
use offchain_risk::backtest::{
    run_backtest, run_on_history, score_model, BacktestSettings, MarketHistory, VolSource,
};
use offchain_risk::history::load::PRICE_SYMBOLS;
use offchain_risk::history::stats::{kupiec_pof, BacktestObservation};
use offchain_risk::history::{DataDir, Date};
use offchain_risk::margin::MarginModel;

fn day(text: &str) -> Date {
    Date::parse(text).unwrap()
}

/// The shared data set loaded once with the check window's settings (loading calibrates the
/// skew chain, the slow part in a debug build).
fn history() -> &'static MarketHistory {
    static HISTORY: OnceLock<MarketHistory> = OnceLock::new();
    HISTORY.get_or_init(|| {
        MarketHistory::load(&DataDir::locate().unwrap(), &PRICE_SYMBOLS, &check_settings()).unwrap()
    })
}

fn doc() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/BACKTEST.md");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn the_snapshot_has_the_utc_close_and_the_dvol_level_on_known_days() {
    let history = history();
    // DVOL printed 114.58 on 2022-05-12: the 30-day ATM vol of that day's surface.
    let (market, source) = history.snapshot(day("2022-05-12")).unwrap().unwrap();
    assert_eq!(source, Some(VolSource::Dvol));
    assert_eq!(market.timestamp_ms, close_ms(day("2022-05-12")));
    let btc = market.underlying("BTC").unwrap();
    let atm = btc.surface.as_ref().unwrap().vol(0.0, LEVEL_EXPIRY_YEARS).unwrap();
    assert!((atm - 1.1458).abs() < 1e-12, "ATM {atm}");
    // The put wing is above ATM (the real chain's skew survives the rescaling).
    let put_wing = btc.surface.as_ref().unwrap().vol(-0.2, LEVEL_EXPIRY_YEARS).unwrap();
    assert!(put_wing > atm, "{put_wing} vs {atm}");
    // prices/BTC-USD.csv dates the 2022-05-11 UTC close (28,907.15) one day late, as 2022-05-12.
    let (market, _) = history.snapshot(day("2022-05-11")).unwrap().unwrap();
    assert_eq!(market.underlying("BTC").unwrap().spot, 28_907.15);
    // DVOL misses 2022-05-15: the 2022-05-14 print (93.57) stands in.
    let (market, source) = history.snapshot(day("2022-05-15")).unwrap().unwrap();
    assert_eq!(source, Some(VolSource::DvolStale));
    let surface = market.underlying("BTC").unwrap().surface.clone().unwrap();
    assert!((surface.vol(0.0, LEVEL_EXPIRY_YEARS).unwrap() - 0.9357).abs() < 1e-12);
    // Before DVOL exists the level is EWMA realised vol × the premium.
    let before = day("2020-03-01");
    let (market, source) = history.snapshot(before).unwrap().unwrap();
    assert_eq!(source, Some(VolSource::Proxy));
    let expected = history.ewma_annual("BTC", before).unwrap() * history.settings.implied_premium;
    let surface = market.underlying("BTC").unwrap().surface.clone().unwrap();
    assert!((surface.vol(0.0, LEVEL_EXPIRY_YEARS).unwrap() - expected).abs() < 1e-12);
    // Funding: the file's clock is UTC+3, so the print at the close of 2022-05-12 (00:00 UTC on
    // the 13th) is the file's "2022-05-13 03:00" row; the next day's window holds the 08:00,
    // 16:00 and 00:00 UTC prints.
    let (market, _) = history.snapshot(day("2022-05-12")).unwrap().unwrap();
    assert_eq!(market.underlying("BTC").unwrap().funding_rate_8h, -0.00007127);
    let window = history.funding_between("BTC", day("2022-05-12"), day("2022-05-13")).unwrap();
    assert!((window - (-0.00000605 + 0.00006045 + 0.0001)).abs() < 1e-15);
}

#[test]
fn the_rescaled_skew_shape_is_arbitrage_free_from_calm_to_crash_levels() {
    let skew = &history().skew;
    for atm in [0.2, 0.35, 0.6, 0.94, 1.5, 2.2, 3.0] {
        let surface = skew.scaled(atm, 30_000.0).unwrap();
        let at_30d = surface.vol(0.0, LEVEL_EXPIRY_YEARS).unwrap();
        assert!((at_30d - atm).abs() < 1e-12, "{atm}: {at_30d}");
    }
}

#[test]
fn margins_use_no_data_after_the_day_they_are_set() {
    let d = day("2022-05-09");
    let mut base = history().clone();
    base.settings = BacktestSettings { from: d, to: d, paths: 200, ..check_settings() };
    let original = run_on_history(&base).unwrap();

    // Perturb every price, DVOL print and funding print after the close of d.
    let after = |date: Date| date > d;
    let prices: BTreeMap<_, _> = base
        .prices
        .iter()
        .map(|(symbol, series)| {
            let mut series = series.clone();
            for (date, value) in &mut series.days {
                if after(*date) {
                    *value *= 0.7;
                }
            }
            (symbol.clone(), series)
        })
        .collect();
    let mut dvol = base.dvol.clone();
    for (date, value) in &mut dvol.days {
        if after(*date) {
            *value *= 1.5;
        }
    }
    let close = close_ms(d) / 1_000;
    let funding = base
        .funding
        .iter()
        .map(|(u, prints)| {
            let prints = prints.iter().map(|&(t, r)| (t, if t > close { -r - 0.001 } else { r }));
            (u.clone(), prints.collect())
        })
        .collect();
    let perturbed =
        MarketHistory::from_parts(prices, dvol, funding, base.skew.clone(), &base.settings)
            .unwrap();
    let moved = run_on_history(&perturbed).unwrap();

    for (a, b) in original.books.iter().zip(&moved.books) {
        assert_eq!(a.records.len(), 1, "{:?} has its day", a.book);
        let (ra, rb) = (&a.records[0], &b.records[0]);
        assert_eq!(ra.margins, rb.margins, "{:?}: margins moved with future data", a.book);
        assert_eq!(ra.monte_carlo_var, rb.monte_carlo_var, "{:?}: VaR moved", a.book);
        // The realised loss does see the next day (the perturbation reaches it).
        assert_ne!(ra.loss.to_bits(), rb.loss.to_bits(), "{:?}: loss ignored d + 1", a.book);
    }
}

#[test]
fn walk_forward_basis_factors_move_only_the_basis_books_monte_carlo() {
    let mut walk = history().clone();
    walk.settings = BacktestSettings {
        from: day("2022-05-01"),
        to: day("2022-05-20"),
        paths: 200,
        books: vec![Book::BtcSpot, Book::PerpBasis, Book::FutureBasis],
        ..check_settings()
    };
    let mut constant = walk.clone();
    constant.settings.basis_walk_forward = false;
    let (walk, constant) = (run_on_history(&walk).unwrap(), run_on_history(&constant).unwrap());
    let mc = MarginModel::ALL.iter().position(|m| *m == MarginModel::MonteCarlo).unwrap();
    for (a, b) in walk.books.iter().zip(&constant.books) {
        assert_eq!(a.records.len(), 20, "{:?}", a.book);
        let mut moved = 0;
        for (ra, rb) in a.records.iter().zip(&b.records) {
            assert_eq!(ra.loss, rb.loss);
            for (m, (x, y)) in ra.margins.iter().zip(&rb.margins).enumerate() {
                // The add-on models keep the constants; only the Monte Carlo walks forward.
                if m != mc || !a.book.is_basis_trade() {
                    assert_eq!(x, y, "{:?} model {m} on {}", a.book, ra.date);
                }
            }
            moved += usize::from(ra.margins[mc] != rb.margins[mc]);
            // The VaR is the quantile the ES margin averages beyond.
            assert!(ra.monte_carlo_var <= ra.margins[mc] + 1e-15, "{:?} {}", a.book, ra.date);
        }
        assert_eq!(moved > 0, a.book.is_basis_trade(), "{:?}: {moved} days moved", a.book);
    }
}

fn observation(start: &str, loss: f64, margin: f64) -> BacktestObservation {
    let start = day(start);
    BacktestObservation { start, end: start.add_days(1), loss, margin }
}

#[test]
fn exceedances_and_shortfalls_are_counted_on_a_synthetic_series() {
    // 200 days of loss 1% against a 5% margin, with three breaches (one in May 2022) and one
    // loss exactly at the margin (not a breach).
    let mut observations: Vec<BacktestObservation> = (0..200)
        .map(|k| {
            let start = day("2022-03-01").add_days(k);
            BacktestObservation { start, end: start.add_days(1), loss: 0.01, margin: 0.05 }
        })
        .collect();
    observations[10] = observation("2022-03-11", 0.08, 0.05);
    observations[75] = observation("2022-05-15", 0.12, 0.05);
    observations[150] = observation("2022-07-30", 0.06, 0.05);
    observations[151] = observation("2022-07-31", 0.05, 0.05);
    let score = score_model(MarginModel::ScenarioGrid, &observations, 0.99).unwrap();
    assert_eq!(score.days, 200);
    assert_eq!(score.exceedances, 3);
    assert!((score.expected - 2.0).abs() < 1e-12);
    let kupiec = kupiec_pof(200, 3, 0.99).unwrap();
    assert_eq!(score.kupiec_lr, kupiec.statistic);
    assert_eq!(score.kupiec_p_value, kupiec.p_value);
    let (shortfall, date) = score.worst_shortfall.unwrap();
    assert!((shortfall - 0.07).abs() < 1e-12);
    assert_eq!(date, day("2022-05-15"));
    assert!((score.median_margin - 0.05).abs() < 1e-12);
    let may = score.stress.iter().find(|s| s.period.contains("LUNA")).unwrap();
    assert_eq!((may.days, may.exceedances), (31, 1));
    assert_eq!(may.worst_loss, Some((0.12, day("2022-05-15"))));
    let covid = score.stress.iter().find(|s| s.period.contains("COVID")).unwrap();
    assert_eq!((covid.days, covid.exceedances, covid.worst_loss), (0, 0, None));
}

#[test]
fn the_committed_check_block_is_reproduced_and_kupiec_propagates() {
    let report = run_on_history(history()).unwrap();
    for book in &report.books {
        assert_eq!(book.records.len() + book.skipped_days, 60, "{:?}", book.book);
        for score in &book.scores {
            let kupiec = kupiec_pof(score.days, score.exceedances, 0.99).unwrap();
            assert_eq!(score.kupiec_lr, kupiec.statistic);
            assert_eq!(score.kupiec_p_value, kupiec.p_value);
            let m = MarginModel::ALL.iter().position(|x| *x == score.model).unwrap();
            let counted = book.records.iter().filter(|r| r.loss > r.margins[m]).count();
            assert_eq!(score.exceedances, counted);
        }
    }
    // Every book has its 60 days; the option books priced them all off DVOL.
    let put = report.books.iter().find(|b| b.book == Book::ShortPut).unwrap();
    assert_eq!(put.records.len(), 60);
    assert!(put.records.iter().all(|r| r.vol_source != Some(VolSource::Proxy)));
    let committed = doc();
    let block = extract_block(&committed, BEGIN_CHECK, END_CHECK).expect("check block markers");
    assert_eq!(block, check_block(&report).trim(), "docs/BACKTEST.md check block is stale");
}

/// The full table (five years, 2,000 paths): ~20 s in release, far longer in debug.
#[test]
#[ignore = "heavy: run with cargo test --release -p offchain-risk --test backtest -- --ignored"]
fn the_committed_results_are_reproduced() {
    let data = DataDir::locate().unwrap();
    let settings = BacktestSettings::default();
    let report = run_backtest(&data, &settings).unwrap();
    let committed = doc();
    let block = extract_block(&committed, BEGIN_RESULTS, END_RESULTS).expect("results markers");
    assert_eq!(block, results_block(&report).trim(), "docs/BACKTEST.md results are stale");
    let in_sample = run_backtest(&data, &in_sample_settings(&settings)).unwrap();
    let block =
        extract_block(&committed, BEGIN_IN_SAMPLE, END_IN_SAMPLE).expect("in-sample markers");
    assert_eq!(block, in_sample_block(&in_sample).trim(), "docs/BACKTEST.md in-sample is stale");
}
