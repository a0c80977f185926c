//! Markdown rendering of a [`BacktestReport`]: the report in, the generated blocks of
//! `docs/BACKTEST.md` out (the results tables with the vol-source note beside them, the stress
//! periods, the Monte Carlo calibration samples and the collateral-weight check), plus the
//! short-window check block the `backtest` test recomputes.

use std::fmt::Write as _;

use super::{BacktestReport, BacktestSettings, Book, BookResult, CollateralScore};
use crate::history::Date;

/// Marker opening the generated results in `docs/BACKTEST.md`.
pub const BEGIN_RESULTS: &str = "<!-- BEGIN GENERATED RESULTS -->";
/// Marker closing them.
pub const END_RESULTS: &str = "<!-- END GENERATED RESULTS -->";
/// Marker opening the short-window check block.
pub const BEGIN_CHECK: &str = "<!-- BEGIN GENERATED CHECK -->";
/// Marker closing it.
pub const END_CHECK: &str = "<!-- END GENERATED CHECK -->";

/// The short window the check block (and the `backtest` test, in a debug build) recomputes:
/// 60 days around the LUNA crash of May 2022 with 400 Monte Carlo paths.
pub fn check_settings() -> BacktestSettings {
    BacktestSettings {
        from: super::day("2022-04-15"),
        to: super::day("2022-06-13"),
        paths: 400,
        ..BacktestSettings::default()
    }
}

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn dated(value: Option<(f64, Date)>) -> String {
    value.map_or_else(|| "none".to_owned(), |(x, d)| format!("{} ({d})", pct(x)))
}

fn p_value(p: f64) -> String {
    if p >= 0.01 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

/// The vol-source note of the option books: which days used DVOL, and which the proxy.
pub fn vol_source_note(report: &BacktestReport) -> String {
    let settings = &report.settings;
    let mut parts = Vec::new();
    for book in report.books.iter().filter(|b| b.book.has_options()) {
        let counts: Vec<String> =
            book.vol_sources.iter().map(|(source, n)| format!("{source} {n} days")).collect();
        parts.push(format!("`{}`: {}", book.book.name(), counts.join(", ")));
    }
    let measured = report.measured_premium.map_or_else(|| "n/a".to_owned(), |p| format!("{p:.3}"));
    format!(
        "**Vol source (option books).** BTC's 30-day ATM vol is Deribit DVOL/100 on the days DVOL \
         prints (from 2021-03-24; a missing day takes the last print up to {} days old); before \
         that, and over longer gaps, it is the proxy EWMA realised vol (λ = {}) × {:.2} (the median \
         DVOL/EWMA ratio measured over DVOL's coverage is {measured}). The skew shape is SVI \
         calibrated to `{}` (30-day ATM {:.1}%), rescaled each day in standardised moneyness. Days \
         by source: {}.",
        settings.dvol_max_stale_days,
        settings.ewma_lambda,
        settings.implied_premium,
        report.skew_source,
        100.0 * report.skew_atm_30d,
        parts.join("; ")
    )
}

/// The row of the Monte Carlo's VaR scored as a margin (the quantile Kupiec tests; its ES
/// margin lies above it).
pub const MONTE_CARLO_VAR_LABEL: &str = "Monte Carlo VaR (not a margin)";

/// Marker opening the in-sample basis block (the hedged books with the constant factors).
pub const BEGIN_IN_SAMPLE: &str = "<!-- BEGIN GENERATED IN-SAMPLE BASIS -->";
/// Marker closing it.
pub const END_IN_SAMPLE: &str = "<!-- END GENERATED IN-SAMPLE BASIS -->";

/// The in-sample comparison: the hedged basis books margined with the constant factors
/// calibrated on the whole funding file (`basis_walk_forward = false`).
pub fn in_sample_settings(settings: &BacktestSettings) -> BacktestSettings {
    BacktestSettings {
        books: vec![Book::PerpBasis, Book::FutureBasis],
        basis_walk_forward: false,
        ..settings.clone()
    }
}

/// The in-sample block: the main table of the [`in_sample_settings`] run.
pub fn in_sample_block(report: &BacktestReport) -> String {
    format!(
        "Same window and paths, the Monte Carlo's basis factors the constants \
         `BasisRisk::calibrated()` (fitted on the whole funding file, so in-sample):\n\n{}",
        results_table(report)
    )
}

/// The main table: one row per book × model, and the Monte Carlo's VaR.
pub fn results_table(report: &BacktestReport) -> String {
    let confidence = report.settings.confidence;
    let mut out = format!(
        "| book | window | model | days | exceedances | expected at {:.0}% | rate | Kupiec LR | p-value | worst shortfall (day margined) | median margin |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---|---:|\n",
        100.0 * confidence
    );
    for book in &report.books {
        let window = window_of(book);
        let rows = book.scores.iter().map(|s| (s.model.label(), s));
        for (label, score) in rows.chain([(MONTE_CARLO_VAR_LABEL, &book.monte_carlo_var)]) {
            let rate =
                if score.days > 0 { score.exceedances as f64 / score.days as f64 } else { 0.0 };
            let _ = writeln!(
                out,
                "| {} | {window} | {} | {} | {} | {:.1} | {} | {:.2} | {} | {} | {} |",
                book.book.name(),
                label,
                score.days,
                score.exceedances,
                score.expected,
                pct(rate),
                score.kupiec_lr,
                p_value(score.kupiec_p_value),
                dated(score.worst_shortfall),
                pct(score.median_margin),
            );
        }
    }
    out
}

fn window_of(book: &BookResult) -> String {
    match (book.records.first(), book.records.last()) {
        (Some(a), Some(b)) => format!("{} to {}", a.date, b.date),
        _ => "no days".to_owned(),
    }
}

/// The stress-period table: per book × model × period.
pub fn stress_table(report: &BacktestReport) -> String {
    let mut out = String::from(
        "| book | model | period | days | exceedances | worst loss (day margined) | worst shortfall (day margined) |\n\
         |---|---|---|---:|---:|---|---|\n",
    );
    for book in &report.books {
        for score in &book.scores {
            for stress in &score.stress {
                if stress.days == 0 {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    book.book.name(),
                    score.model.label(),
                    stress.period,
                    stress.days,
                    stress.exceedances,
                    dated(stress.worst_loss),
                    dated(stress.worst_shortfall),
                );
            }
        }
    }
    out
}

/// The Monte Carlo calibration samples.
pub fn calibration_table(report: &BacktestReport) -> String {
    let mut out = String::from(
        "| book | day | annual EWMA vols | correlation | Student-t ν (clamped) | vol of vol (DVOL) | spot–vol ρ (DVOL) |\n\
         |---|---|---|---|---:|---:|---:|\n",
    );
    for sample in &report.calibration_samples {
        let c = &sample.calibration;
        let vols: Vec<String> =
            c.spot_vols.iter().map(|(s, v)| format!("{s} {:.1}%", 100.0 * v)).collect();
        let correlations: Vec<String> =
            c.correlations.iter().map(|(p, r)| format!("{p} {r:.2}")).collect();
        let optional = |x: Option<f64>, scale: f64| {
            x.map_or_else(|| "default".to_owned(), |v| format!("{:.2}", v * scale))
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {} | {} |",
            sample.book.name(),
            c.date,
            vols.join(", "),
            correlations.join(", "),
            c.degrees_of_freedom,
            optional(c.vol_of_vol, 1.0),
            optional(c.spot_vol_correlation, 1.0),
        );
    }
    out
}

/// The collateral-weight table.
pub fn collateral_table(scores: &[CollateralScore], confidence: f64) -> String {
    let mut out = format!(
        "| asset | weight rule | weight (bps, min–max) | 1-day windows | exceedances | expected at {:.0}% | Kupiec p | worst shortfall (day) |\n\
         |---|---|---|---:|---:|---:|---:|---|\n",
        100.0 * confidence
    );
    for s in scores {
        let _ = writeln!(
            out,
            "| {} | {} | {}–{} | {} | {} | {:.1} | {} | {} |",
            s.asset,
            s.rule,
            s.weight_range_bps.0,
            s.weight_range_bps.1,
            s.days,
            s.exceedances,
            s.days as f64 * (1.0 - confidence),
            p_value(s.kupiec_p_value),
            dated(s.worst_shortfall),
        );
    }
    out
}

/// The books' descriptions.
pub fn books_table(books: &[Book]) -> String {
    let mut out = String::from("| book | positions | underlyings |\n|---|---|---|\n");
    for book in books {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            book.name(),
            book.description(),
            book.underlyings().join(", ")
        );
    }
    out
}

/// The generated results block (between [`BEGIN_RESULTS`] and [`END_RESULTS`], exclusive).
pub fn results_block(report: &BacktestReport) -> String {
    let s = &report.settings;
    format!(
        "Window {} to {} (margin set at each UTC close, loss to the close {} day(s) later), \
         {:.0}% target, Monte Carlo {} paths per margin, notional ${:.0} per book; losses, \
         margins and shortfalls are fractions of that notional.\n\n\
         ### All days\n\n{}\n{}\n\n\
         ### Stress periods\n\n{}\n\
         ### Monte Carlo calibration on sample days\n\n{}\n\
         ### Collateral weights, walk-forward on 1-day moves\n\n{}",
        s.from,
        s.to,
        s.horizon_days,
        100.0 * s.confidence,
        s.paths,
        s.notional,
        results_table(report),
        vol_source_note(report),
        stress_table(report),
        calibration_table(report),
        collateral_table(&report.collateral, s.confidence),
    )
}

/// The check block: the main table of the [`check_settings`] window.
pub fn check_block(report: &BacktestReport) -> String {
    let s = &report.settings;
    format!(
        "Window {} to {}, {} Monte Carlo paths:\n\n{}",
        s.from,
        s.to,
        s.paths,
        results_table(report)
    )
}

/// Replaces the text between `begin` and `end` in `document` with `block` (markers kept, one
/// newline inside each); `None` if the markers are missing.
pub fn replace_block(document: &str, begin: &str, end: &str, block: &str) -> Option<String> {
    let start = document.find(begin)? + begin.len();
    let stop = start + document[start..].find(end)?;
    Some(format!("{}\n{}\n{}", &document[..start], block.trim_end(), &document[stop..]))
}

/// The text between `begin` and `end` (trimmed), if present.
pub fn extract_block<'a>(document: &'a str, begin: &str, end: &str) -> Option<&'a str> {
    let start = document.find(begin)? + begin.len();
    let stop = start + document[start..].find(end)?;
    Some(document[start..stop].trim())
}
