//! Daily history loaders and return statistics, on hand-derived cases, seeded synthetic samples
//! and the real shared data set (`/work/shared/data`, or `$XMARGIN_DATA_DIR`).

use std::path::PathBuf;

use offchain_risk::history::load::{
    read_price_csv, FUNDING_PAIRS, OHLCV_PAIRS, PRICES_DATE_LAG_DAYS, PRICE_SYMBOLS,
};
use offchain_risk::history::stats::{
    annualise, chi_square_1_cdf, correlation_matrix, count_exceedances, empirical_quantile,
    ewma_margin_backtest, ewma_volatility, excess_kurtosis, fit_student_t, kupiec_pof,
    normal_quantile, sample_volatility, stress_periods, student_t_df_moments, summarise_backtest,
    worst_shortfall, BacktestObservation, RISKMETRICS_LAMBDA,
};
use offchain_risk::history::{align, DataDir, Date, GapPolicy, PriceSeries, Sampling};
use offchain_risk::DataError;

fn day(text: &str) -> Date {
    Date::parse(text).expect("test dates are valid")
}

fn data() -> DataDir {
    DataDir::locate().expect("the shared data set is present (or XMARGIN_DATA_DIR is set)")
}

// ---------------------------------------------------------------------------------------------
// Dates

#[test]
fn civil_dates_round_trip_and_reject_impossible_days() {
    assert_eq!(day("1970-01-01").days_since_epoch(), 0);
    // 2020-03-12 is 18_333 days after the epoch (50 years incl. 12 leap days, + 71 days).
    assert_eq!(day("2020-03-12").days_since_epoch(), 18_333);
    assert_eq!(day("2000-02-29").ymd(), (2000, 2, 29));
    assert_eq!(day("1969-12-31").days_since_epoch(), -1);
    for text in ["2021-02-29", "1900-02-29", "2020-13-01", "2020-04-31", "2020-3-01", "20200301"] {
        assert_eq!(Date::parse(text), None, "{text}");
    }
    // Every day of 1600..2400 survives the round trip and is one after the previous.
    let mut previous = day("1599-12-31");
    let mut d = day("1600-01-01");
    while d < day("2400-01-01") {
        let (y, m, dd) = d.ymd();
        assert_eq!(Date::from_ymd(y, m, dd), Some(d));
        assert_eq!(d.to_string().parse::<Date>(), Ok(d));
        assert_eq!(d.days_since(previous), 1);
        previous = d;
        d = d.add_days(1);
    }
}

// ---------------------------------------------------------------------------------------------
// Returns and gaps

fn series(symbol: &str, days: &[(&str, f64)]) -> PriceSeries {
    PriceSeries { symbol: symbol.into(), days: days.iter().map(|(d, v)| (day(d), *v)).collect() }
}

#[test]
fn returns_skip_or_span_a_missing_day_as_asked() {
    // 01-04 is missing.
    let s = series(
        "X",
        &[("2024-01-01", 100.0), ("2024-01-02", 110.0), ("2024-01-03", 99.0), ("2024-01-05", 90.0)],
    );
    assert_eq!(s.missing_days(), vec![day("2024-01-04")]);

    let skip = s.log_returns(1, Sampling::Overlapping, GapPolicy::Skip).unwrap();
    assert_eq!(skip.points.len(), 2);
    assert_eq!(skip.skipped_windows, 1, "the window ending 01-05 starts on the missing 01-04");
    assert!((skip.points[0].log_return - (1.1f64).ln()).abs() < 1e-15);

    let span = s.log_returns(1, Sampling::Overlapping, GapPolicy::SpanGap).unwrap();
    assert_eq!(span.points.len(), 3);
    let last = span.points[2];
    assert_eq!((last.start, last.end, last.span_days()), (day("2024-01-03"), day("2024-01-05"), 2));
    assert!((last.simple_return() - (90.0 / 99.0 - 1.0)).abs() < 1e-15);

    // Two-day windows laid back to back from 01-01: [01-01, 01-03] kept, [01-03, 01-05] kept.
    let blocks = s.log_returns(2, Sampling::NonOverlapping, GapPolicy::Skip).unwrap();
    assert_eq!(blocks.points.len(), 2);
    assert!((blocks.points[1].log_return - (90.0f64 / 99.0).ln()).abs() < 1e-15);
    // One-day blocks: 01-03..01-04 and 01-04..01-05 both touch the gap.
    let daily_blocks = s.log_returns(1, Sampling::NonOverlapping, GapPolicy::Skip).unwrap();
    assert_eq!((daily_blocks.points.len(), daily_blocks.skipped_windows), (2, 2));
    let stretched = s.log_returns(1, Sampling::NonOverlapping, GapPolicy::SpanGap).unwrap();
    assert_eq!(stretched.points.iter().map(|p| p.span_days()).collect::<Vec<_>>(), vec![1, 1, 2]);
    // Log returns of back-to-back windows add up to the whole move.
    let total: f64 = stretched.points.iter().map(|p| p.log_return).sum();
    assert!((total - (0.9f64).ln()).abs() < 1e-14);

    assert!(matches!(
        s.log_returns(0, Sampling::Overlapping, GapPolicy::Skip),
        Err(DataError::Invalid { field, .. }) if field == "horizon_days"
    ));
}

#[test]
fn align_keeps_only_common_days() {
    let a = series("A", &[("2024-01-01", 1.0), ("2024-01-02", 2.0), ("2024-01-03", 3.0)]);
    let b = series("B", &[("2024-01-02", 20.0), ("2024-01-03", 30.0), ("2024-01-04", 40.0)]);
    let aligned = align(&[a, b]);
    assert_eq!(aligned[0].days, vec![(day("2024-01-02"), 2.0), (day("2024-01-03"), 3.0)]);
    assert_eq!(aligned[1].days, vec![(day("2024-01-02"), 20.0), (day("2024-01-03"), 30.0)]);
}

// ---------------------------------------------------------------------------------------------
// Statistics on hand-computed cases

#[test]
fn ewma_follows_the_riskmetrics_recursion() {
    // σ²₀ = 0.94·1e-4 + 0.06·0.01²  = 1.0e-4
    // σ²₁ = 0.94·1e-4 + 0.06·0.02²  = 0.94e-4 + 0.24e-4 = 1.18e-4
    // σ²₂ = 0.94·1.18e-4 + 0.06·0.03² = 1.1092e-4 + 0.54e-4 = 1.6492e-4
    let vols = ewma_volatility(&[0.01, -0.02, 0.03], RISKMETRICS_LAMBDA, 1e-4).unwrap();
    let expected = [1.0e-4f64, 1.18e-4, 1.6492e-4].map(f64::sqrt);
    for (v, e) in vols.iter().zip(expected) {
        assert!((v - e).abs() < 1e-15, "{v} vs {e}");
    }
    assert!(ewma_volatility(&[0.01], 1.0, 1e-4).is_err(), "λ must be < 1");
    assert!(ewma_volatility(&[f64::NAN], 0.94, 1e-4).is_err());
}

#[test]
fn sample_moments_and_quantiles_match_hand_values() {
    // Mean 0, squares sum to 4·0.01² → variance 4e-4/3.
    let v = sample_volatility(&[0.01, -0.01, 0.01, -0.01]).unwrap();
    assert!((v - (4e-4f64 / 3.0).sqrt()).abs() < 1e-16);
    assert!((annualise(0.01, 1.0) - 0.01 * 365f64.sqrt()).abs() < 1e-16);
    // Type 7: h = (5 − 1)·0.1 = 0.4 → 1 + 0.4·(2 − 1).
    let xs = [5.0, 3.0, 1.0, 4.0, 2.0];
    assert!((empirical_quantile(&xs, 0.1).unwrap() - 1.4).abs() < 1e-15);
    assert!((empirical_quantile(&xs, 0.25).unwrap() - 2.0).abs() < 1e-15);
    assert!((empirical_quantile(&xs, 1.0).unwrap() - 5.0).abs() < 1e-15);
    // Φ⁻¹(0.99) = 2.326347874040841 (tables to 15 digits); the tails are symmetric.
    assert!((normal_quantile(0.99).unwrap() - 2.326_347_874_040_841).abs() < 1e-12);
    assert!((normal_quantile(0.995).unwrap() - 2.575_829_303_548_901).abs() < 1e-12);
    assert!((normal_quantile(1e-10).unwrap() + normal_quantile(1.0 - 1e-10).unwrap()).abs() < 1e-5);
    // χ²₁'s 95% point is 1.96² = 3.841458820694124.
    assert!((chi_square_1_cdf(3.841_458_820_694_124) - 0.95).abs() < 1e-12);
}

#[test]
fn correlation_of_linked_series_is_plus_or_minus_one() {
    let up = series(
        "UP",
        &[("2024-01-01", 1.0), ("2024-01-02", 2.0), ("2024-01-03", 1.5), ("2024-01-04", 3.0)],
    );
    // DOWN = 1/UP: log returns are exactly negated.
    let down = PriceSeries {
        symbol: "DOWN".into(),
        days: up.days.iter().map(|(d, v)| (*d, 1.0 / v)).collect(),
    };
    let r = |s: &PriceSeries| s.log_returns(1, Sampling::Overlapping, GapPolicy::Skip).unwrap();
    let m = correlation_matrix(&[r(&up), r(&down), r(&up)]).unwrap();
    assert_eq!(m.observations, 3);
    assert!((m.matrix[0][1] + 1.0).abs() < 1e-12);
    assert!((m.matrix[0][2] - 1.0).abs() < 1e-12);
    assert!((m.matrix[1][0] - m.matrix[0][1]).abs() < 1e-15);
}

/// Kupiec at n = 250, p = 1%: LR(x) = −2[(n−x) ln(1−p) + x ln p] + 2[(n−x) ln(1−x/n) + x ln(x/n)].
/// x = 4: −2[246·(−0.01005034) + 4·(−4.60517019)] + 2[246·(−0.01612938) + 4·(−4.13516656)]
///      = −2(−20.89306) + 2(−20.50849) = 0.76914 (p = erfc(√(LR/2)) = 0.3805: not rejected).
/// x = 6: 3.55535 (p = 0.0594, just not rejected at 5%; Basel's yellow zone starts at 5).
/// x = 0: −2·250·ln 0.99 = 5.02517 (p = 0.0250: too few exceptions is also a rejection).
#[test]
fn kupiec_matches_hand_derived_values() {
    for (x, lr, p) in [(4, 0.769_14, 0.380_5), (6, 3.555_35, 0.059_4), (0, 5.025_17, 0.025_0)] {
        let test = kupiec_pof(250, x, 0.99).unwrap();
        assert!((test.statistic - lr).abs() < 5e-5, "x = {x}: LR {}", test.statistic);
        assert!((test.p_value - p).abs() < 5e-4, "x = {x}: p {}", test.p_value);
    }
    assert!(kupiec_pof(250, 6, 0.99).unwrap().rejects(0.10));
    assert!(!kupiec_pof(250, 6, 0.99).unwrap().rejects(0.05));
    // At the expected rate the statistic is 0.
    assert!(kupiec_pof(1000, 10, 0.99).unwrap().statistic.abs() < 1e-9);
    assert!(kupiec_pof(10, 11, 0.99).is_err());
}

#[test]
fn exceedances_and_worst_shortfall_are_counted_on_losses_above_margin() {
    let obs = |d: &str, loss: f64, margin: f64| BacktestObservation {
        start: day(d),
        end: day(d).add_days(1),
        loss,
        margin,
    };
    let observations = [
        obs("2024-01-01", 0.05, 0.10),
        obs("2024-01-02", 0.12, 0.10),
        obs("2024-01-03", 0.30, 0.20),
        obs("2024-01-04", 0.10, 0.10), // equal: covered
    ];
    assert_eq!(count_exceedances(&observations), 2);
    let worst = worst_shortfall(&observations).unwrap();
    assert_eq!(worst.start, day("2024-01-03"));
    assert!((worst.shortfall() - 0.10).abs() < 1e-15);
    assert_eq!(worst_shortfall(&observations[..1]), None);
}

// ---------------------------------------------------------------------------------------------
// Student-t on seeded synthetic samples

/// SplitMix64: a tiny seeded generator, enough for reproducible test samples.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller, one of the pair).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// Student-t with integer ν: Z / √(χ²_ν / ν), χ²_ν a sum of ν squared normals.
    fn student_t(&mut self, df: u32) -> f64 {
        let chi2: f64 = (0..df).map(|_| self.normal().powi(2)).sum();
        self.normal() / (chi2 / f64::from(df)).sqrt()
    }
}

/// With n = 4000 the MLE's standard error is about 0.2 at ν = 3, 0.6 at ν = 5 and 1.8 at ν = 8
/// (inverse Fisher information); the bound is ±25% of ν (≥ 1.4 standard errors at ν = 8, ~4 below),
/// and location/scale must come back within 5%/10%.
#[test]
fn student_t_fit_recovers_degrees_of_freedom_on_seeded_samples() {
    for (seed, df) in [(7u64, 3u32), (11, 5), (13, 8)] {
        let mut rng = SplitMix64(seed);
        let (location, scale) = (0.001, 0.03);
        let sample: Vec<f64> = (0..4000).map(|_| location + scale * rng.student_t(df)).collect();
        let fit = fit_student_t(&sample).unwrap();
        let df = f64::from(df);
        assert!((fit.df / df - 1.0).abs() < 0.25, "ν = {df}: fitted {}", fit.df);
        assert!((fit.location - location).abs() < 0.05 * scale, "location {}", fit.location);
        assert!((fit.scale / scale - 1.0).abs() < 0.10, "scale {}", fit.scale);
        assert!(!fit.at_upper_bound);
    }
    // A normal sample is pushed to large ν.
    let mut rng = SplitMix64(17);
    let normal: Vec<f64> = (0..4000).map(|_| rng.normal()).collect();
    assert!(fit_student_t(&normal).unwrap().df > 30.0);
    assert!(excess_kurtosis(&normal).unwrap().abs() < 0.3);
    // Moments on ν = 8 (excess kurtosis 1.5): within a factor of two, the estimator is noisy.
    let mut rng = SplitMix64(19);
    let t8: Vec<f64> = (0..20_000).map(|_| rng.student_t(8)).collect();
    let df = student_t_df_moments(&t8).unwrap().expect("fat-tailed sample");
    assert!((4.0..16.0).contains(&df), "moments ν = {df}");
}

// ---------------------------------------------------------------------------------------------
// Real data

#[test]
fn every_price_file_loads_with_the_readme_row_counts() {
    let data = data();
    // Row counts: exact where the README gives them (BTC, ETH, SOL, UNI), ±50 rows for "~2,600".
    let expected: [(&str, usize, usize, &str, &str); 7] = [
        ("BTC", 5_257, 0, "2010-08-16", "2025-01-16"),
        ("ETH", 2_625, 0, "2017-11-09", "2025-01-16"),
        ("SOL", 1_742, 0, "2020-04-10", "2025-01-16"),
        ("UNI", 1_568, 0, "2020-10-01", "2025-01-16"),
        ("LINK", 2_600, 50, "2017-12-01", "2025-01-16"),
        ("BNB", 2_600, 50, "2017-11-09", "2025-01-16"),
        ("XRP", 2_600, 50, "2017-12-01", "2025-01-16"),
    ];
    for (symbol, rows, tolerance, first, last) in expected {
        let s = data.prices(symbol).unwrap();
        assert!(s.days.len().abs_diff(rows) <= tolerance, "{symbol}: {} rows", s.days.len());
        assert_eq!(s.span(), Some((day(first), day(last))), "{symbol}");
        assert!(s.days.iter().all(|(_, v)| v.is_finite() && *v > 0.0));
    }
    // Every CSV under prices/ is one of the known symbols, so nothing is left unread.
    let mut files: Vec<String> = std::fs::read_dir(data.root().join("prices"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".csv"))
        .collect();
    files.sort();
    let mut known: Vec<String> = PRICE_SYMBOLS.iter().map(|s| format!("{s}-USD.csv")).collect();
    known.sort();
    assert_eq!(files, known);
}

#[test]
fn price_gaps_are_exactly_the_documented_ones() {
    let data = data();
    let btc = data.prices("BTC").unwrap();
    let mut expected = vec![day("2010-08-17"), day("2024-02-17")];
    expected.extend((14..=17).map(|d| Date::from_ymd(2024, 6, d).unwrap()));
    expected.extend((4..=8).map(|d| Date::from_ymd(2024, 12, d).unwrap()));
    assert_eq!(btc.missing_days(), expected);
    // The Yahoo series miss 2025-01-15 only (not in the README).
    for symbol in ["ETH", "SOL", "BNB", "LINK", "XRP", "UNI"] {
        assert_eq!(
            data.prices(symbol).unwrap().missing_days(),
            vec![day("2025-01-15")],
            "{symbol}"
        );
    }
}

#[test]
fn ohlcv_funding_and_dvol_files_load_with_the_readme_row_counts() {
    let data = data();
    for pair in OHLCV_PAIRS {
        let bars = data.ohlcv(pair).unwrap();
        assert_eq!(bars.bars.len(), 3_065, "{pair}");
        assert_eq!(bars.closes().span(), Some((day("2017-08-17"), day("2026-01-06"))));
        assert!(bars.closes().missing_days().is_empty(), "{pair} has no missing day");
    }
    for pair in FUNDING_PAIRS {
        let funding = data.funding(pair).unwrap();
        assert_eq!(funding.symbol, pair);
        assert_eq!(funding.points.len(), 4_383, "{pair}");
        // 4,383 = 1,461 days × 3 prints at 03:00, 11:00, 19:00 (the file's UTC+3 clock).
        let totals = funding.daily_totals();
        assert_eq!(totals.len(), 1_461);
        assert_eq!(
            (totals[0].0, totals[totals.len() - 1].0),
            (day("2020-01-01"), day("2023-12-31"))
        );
        assert!(funding.points.iter().all(|p| [3, 11, 19].contains(&(p.second_of_day / 3600))));
        // Rates are fractions per 8 hours; Binance clamps them well inside ±1%.
        assert!(funding.points.iter().all(|p| p.rate.abs() < 0.01));
    }
    let dvol = data.dvol_btc().unwrap();
    assert_eq!(dvol.days.len(), 1_594);
    assert_eq!(dvol.span(), Some((day("2021-03-24"), day("2026-04-20"))));
    assert_eq!(dvol.value_on(day("2022-05-12")), Some(114.58));
    assert_eq!(dvol.value_on(day("2022-11-09")), Some(114.72));
}

#[test]
fn stress_days_are_present_with_their_measured_moves() {
    let data = data();
    let btc = data.prices("BTC").unwrap();
    // MKPRU's largest March-2020 fall: 7,936.65 → 4,830.21 = −39.1%, dated 2020-03-13 (the close
    // of UTC 03-12: prices/ dates lag one day). Bound: between −45% and −35%.
    let march = btc
        .between(Some(day("2020-03-01")), Some(day("2020-03-31")))
        .log_returns(1, Sampling::Overlapping, GapPolicy::Skip)
        .unwrap();
    let worst = march.points.iter().min_by(|a, b| a.log_return.total_cmp(&b.log_return)).unwrap();
    assert_eq!(worst.end, day("2020-03-13"));
    assert!((-0.45..-0.35).contains(&worst.simple_return()), "{}", worst.simple_return());
    // Binance's close of 2020-03-12 itself: 7,934.52 → 4,800.00 = −39.5%.
    let binance = data.ohlcv("BTCUSDT").unwrap().closes();
    let drop = binance.value_on(day("2020-03-12")).unwrap()
        / binance.value_on(day("2020-03-11")).unwrap()
        - 1.0;
    assert!((-0.45..-0.35).contains(&drop), "{drop}");
    // LUNA and FTX: SOL fell 33% into 2022-05-12's close date and 42% on 2022-11-10's.
    let sol = data.prices("SOL").unwrap();
    let sol_move = |from: &str, to: &str| {
        sol.value_on(day(to)).unwrap() / sol.value_on(day(from)).unwrap() - 1.0
    };
    assert!((-0.35..-0.20).contains(&sol_move("2022-05-11", "2022-05-12")));
    assert!((-0.50..-0.35).contains(&sol_move("2022-11-09", "2022-11-10")));
}

#[test]
fn prices_dates_lag_the_utc_close_by_one_day() {
    let data = data();
    for (symbol, pair) in [("BTC", "BTCUSDT"), ("ETH", "ETHUSDT")] {
        let yahoo = data.prices(symbol).unwrap();
        let binance = data.ohlcv(pair).unwrap().closes();
        let median_gap = |lag: i32| {
            let mut gaps: Vec<f64> = yahoo
                .shift_days(-lag)
                .days
                .iter()
                .filter_map(|(d, v)| Some((v / binance.value_on(*d)?).ln().abs()))
                .collect();
            gaps.sort_by(f64::total_cmp);
            gaps[gaps.len() / 2]
        };
        // Measured: 0.09% (BTC) and 0.11% (ETH) at the documented lag, 1.4% and 2.2% without it.
        assert!(median_gap(PRICES_DATE_LAG_DAYS) < 0.002, "{symbol}");
        assert!(median_gap(0) > 0.01, "{symbol}");
    }
}

#[test]
fn real_correlations_vols_and_tails_are_plausible() {
    let data = data();
    let assets: Vec<PriceSeries> =
        ["BTC", "ETH", "SOL"].iter().map(|s| data.prices(s).unwrap()).collect();
    let aligned = align(&assets);
    assert_eq!(aligned[0].span().unwrap().0, day("2020-04-10"), "SOL's start");
    let returns: Vec<_> = aligned
        .iter()
        .map(|s| s.log_returns(1, Sampling::Overlapping, GapPolicy::Skip).unwrap())
        .collect();
    let corr = correlation_matrix(&returns).unwrap();
    assert!(corr.observations > 1_700);
    for (i, j) in [(0, 1), (0, 2), (1, 2)] {
        assert!((0.5..0.95).contains(&corr.matrix[i][j]), "corr {i}{j} = {}", corr.matrix[i][j]);
    }
    // Annualised daily vol: BTC 40-90%, SOL above BTC.
    let vol = |r: &offchain_risk::history::Returns| {
        annualise(sample_volatility(&r.log_returns()).unwrap(), 1.0)
    };
    assert!((0.4..0.9).contains(&vol(&returns[0])));
    assert!(vol(&returns[2]) > vol(&returns[0]));
    // Fat tails: BTC daily returns since 2017 fit a t with ν between 1.5 and 5.
    let btc = data.prices("BTC").unwrap().between(Some(day("2017-01-01")), None);
    let fit = fit_student_t(
        &btc.log_returns(1, Sampling::Overlapping, GapPolicy::Skip).unwrap().log_returns(),
    )
    .unwrap();
    assert!((1.5..5.0).contains(&fit.df), "BTC ν = {}", fit.df);
}

/// The EWMA-normal baseline on Binance BTC closes, 1 day, 99%, λ = 0.94, 30-day warm-up.
#[test]
fn ewma_normal_margin_backtest_on_btc_exceeds_more_than_one_percent() {
    let btc = data().ohlcv("BTCUSDT").unwrap().closes();
    let observations = ewma_margin_backtest(&btc, 1, 0.99, RISKMETRICS_LAMBDA, 30).unwrap();
    assert!(observations.len() > 3_000);
    let summary = summarise_backtest(&observations, 0.99).unwrap();
    let rate = summary.kupiec.exceedances as f64 / summary.kupiec.observations as f64;
    // Fat tails: the normal quantile is breached more often than 1%, and Kupiec rejects it.
    assert!((0.012..0.03).contains(&rate), "exceedance rate {rate}");
    assert!(summary.kupiec.rejects(0.05), "{:?}", summary.kupiec);
    // The worst shortfall of the whole history is 2020-03-12's crash.
    let worst = summary.worst_shortfall.unwrap();
    assert_eq!(worst.end, day("2020-03-12"));
    assert!(worst.shortfall() > 0.25, "{}", worst.shortfall());
    // Every stress period is covered by the sample and breached at least once.
    for period in stress_periods() {
        let selected = period.select(&observations);
        assert!(selected.len() >= 28, "{}", period.name);
        assert!(count_exceedances(&selected) >= 1, "{}", period.name);
    }
}

// ---------------------------------------------------------------------------------------------
// Malformed files

fn scratch(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("offchain-risk-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn malformed_csv_gives_typed_errors_naming_the_column() {
    let missing = scratch("missing.csv", "date,price\n2024-01-01,1.0\n");
    match read_price_csv(&missing, "X") {
        Err(DataError::MissingColumn { column, .. }) => assert_eq!(column, "value"),
        other => panic!("expected MissingColumn, got {other:?}"),
    }
    let bad_number = scratch("bad.csv", "date,value\n2024-01-01,1.0\n2024-01-02,n/a\n");
    match read_price_csv(&bad_number, "X") {
        Err(DataError::Invalid { field, reason }) => {
            assert!(field.contains("line 3") && field.contains("column `value`"), "{field}");
            assert!(reason.contains("n/a"), "{reason}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let negative = scratch("negative.csv", "date,value\n2024-01-01,-1.0\n");
    assert!(
        matches!(read_price_csv(&negative, "X"), Err(DataError::Invalid { field, .. }) if field.contains("`value`"))
    );
    let bad_date = scratch("date.csv", "date,value\n2024-02-30,1.0\n");
    assert!(
        matches!(read_price_csv(&bad_date, "X"), Err(DataError::Invalid { field, .. }) if field.contains("`date`"))
    );
    let unordered = scratch("order.csv", "date,value\n2024-01-02,1.0\n2024-01-01,1.0\n");
    match read_price_csv(&unordered, "X") {
        Err(DataError::Invalid { field, reason }) => {
            assert!(field.contains("`date`"), "{field}");
            assert!(reason.contains("increasing"), "{reason}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let ragged = scratch("ragged.csv", "date,value\n2024-01-01,1.0,7\n");
    assert!(matches!(read_price_csv(&ragged, "X"), Err(DataError::Csv { .. })));
    let absent = DataDir::at("/nonexistent-xmargin-data").prices("BTC");
    assert!(matches!(absent, Err(DataError::Io { path, .. }) if path.contains("BTC-USD.csv")));
}
