//! The fit report over real data: every option snapshot under the data directory in, one
//! [`SnapshotFit`] per chain and a Markdown document (docs/SURFACE_FIT.md) out.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::{self, format_date, format_datetime, OptionChain};
use crate::error::DataError;
use crate::surface::calibrate::{calibrate_surface, CalibrationConfig, FitReport};
use crate::surface::vol_surface::VolSurface;

/// The command that regenerates docs/SURFACE_FIT.md (printed at its top).
pub const SURFACE_FIT_COMMAND: &str =
    "cargo run --release -p offchain-risk --bin xmargin -- calibrate --all --markdown docs/SURFACE_FIT.md";

/// Calibration outcome of one chain of one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotFit {
    /// File, relative to the data directory when under it.
    pub source: String,
    /// Underlying.
    pub underlying: String,
    /// Snapshot time, Unix ms.
    pub timestamp_ms: i64,
    /// The fitted surface (absent on failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<VolSurface>,
    /// The fit report (absent on failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<FitReport>,
    /// The calibration error, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Calibrates every chain of `chains`, labelling them with `source`.
pub fn calibrate_chains(
    source: &str,
    chains: &[OptionChain],
    config: &CalibrationConfig,
) -> Vec<SnapshotFit> {
    chains
        .iter()
        .map(|chain| {
            let (surface, report, error) = match calibrate_surface(chain, config) {
                Ok((s, r)) => (Some(s), Some(r), None),
                Err(e) => (None, None, Some(e.to_string())),
            };
            SnapshotFit {
                source: source.to_owned(),
                underlying: chain.underlying.clone(),
                timestamp_ms: chain.timestamp_ms,
                surface,
                report,
                error,
            }
        })
        .collect()
}

/// Reads and calibrates every snapshot file under `data_dir/options` (see
/// [`data::snapshot_files`]). A file that cannot be read is an error; a chain that cannot be
/// calibrated is reported in its [`SnapshotFit::error`].
pub fn calibrate_data_dir(
    data_dir: &Path,
    config: &CalibrationConfig,
) -> Result<Vec<SnapshotFit>, DataError> {
    let mut out = Vec::new();
    for (path, format) in data::snapshot_files(data_dir)? {
        let chains = data::read_chains(&path, format)?;
        let source = path.strip_prefix(data_dir).unwrap_or(&path).display().to_string();
        out.extend(calibrate_chains(&source, &chains, config));
    }
    Ok(out)
}

/// Aggregate figures over many fits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitSummary {
    /// Chains.
    pub snapshots: usize,
    /// Chains whose calibration failed.
    pub failed: usize,
    /// Expiries calibrated.
    pub expiries: usize,
    /// Expiries skipped.
    pub skipped: usize,
    /// Quotes fitted.
    pub quotes: usize,
    /// Median per-expiry RMSE, vol points.
    pub rmse_median: f64,
    /// 95th-percentile per-expiry RMSE, vol points.
    pub rmse_p95: f64,
    /// Largest per-expiry RMSE, vol points.
    pub rmse_max: f64,
    /// Largest single-quote error, vol points.
    pub max_abs_err: f64,
    /// Expiries flattened to remove butterfly arbitrage.
    pub butterfly_repaired: usize,
    /// Expiries raised to remove calendar arbitrage.
    pub calendar_repaired: usize,
    /// All final surfaces pass both checks.
    pub all_pass: bool,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Summarises fits.
pub fn summarise(fits: &[SnapshotFit]) -> FitSummary {
    let reports: Vec<&FitReport> = fits.iter().filter_map(|f| f.report.as_ref()).collect();
    let slices: Vec<_> = reports.iter().flat_map(|r| &r.slices).collect();
    let mut rmse: Vec<f64> = slices.iter().map(|s| s.rmse_vol_pts).collect();
    rmse.sort_by(f64::total_cmp);
    FitSummary {
        snapshots: fits.len(),
        failed: fits.len() - reports.len(),
        expiries: slices.len(),
        skipped: reports.iter().map(|r| r.skipped.len()).sum(),
        quotes: slices.iter().map(|s| s.quotes).sum(),
        rmse_median: percentile(&rmse, 0.5),
        rmse_p95: percentile(&rmse, 0.95),
        rmse_max: rmse.last().copied().unwrap_or(f64::NAN),
        max_abs_err: slices.iter().map(|s| s.max_abs_err_vol_pts).fold(0.0, f64::max),
        butterfly_repaired: slices.iter().filter(|s| s.butterfly_repaired).count(),
        calendar_repaired: slices.iter().filter(|s| s.calendar_raise > 0.0).count(),
        all_pass: fits.len() == reports.len()
            && reports.iter().all(|r| r.butterfly_ok && r.calendar_ok),
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "pass"
    } else {
        "FAIL"
    }
}

/// Per-expiry table of one report (Markdown).
pub fn render_report_table(report: &FitReport) -> String {
    let mut s = String::new();
    s.push_str(
        "| expiry | T (years) | forward | quotes | dropped | RMSE (vol pts) | worst (vol pts) | min g | butterfly | calendar | a | b | rho | m | sigma |\n",
    );
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|\n");
    for f in &report.slices {
        let bf = match (f.butterfly_ok, f.butterfly_repaired) {
            (true, true) => "pass (flattened)".to_owned(),
            (ok, _) => yes(ok).to_owned(),
        };
        let cal = if f.calendar_raise > 0.0 {
            format!("{} (a +{:.2e})", yes(f.calendar_ok), f.calendar_raise)
        } else {
            yes(f.calendar_ok).to_owned()
        };
        let p = &f.params;
        let _ = writeln!(
            s,
            "| {} | {:.4} | {:.2} | {} | {} | {:.2} | {:.2} | {:.3} | {} | {} | {:.5} | {:.5} | {:.3} | {:.4} | {:.4} |",
            f.expiry_ms.map_or_else(|| "-".to_owned(), format_date),
            f.expiry_years,
            f.forward,
            f.quotes,
            f.outliers,
            f.rmse_vol_pts,
            f.max_abs_err_vol_pts,
            f.min_g,
            bf,
            cal,
            p.a,
            p.b,
            p.rho,
            p.m,
            p.sigma
        );
    }
    for k in &report.skipped {
        let _ = writeln!(
            s,
            "\nSkipped {} (T = {:.4}): {}.",
            format_date(k.expiry_ms),
            k.expiry_years,
            k.reason
        );
    }
    s
}

/// The whole Markdown report (docs/SURFACE_FIT.md when `fits` covers the data directory).
pub fn render_markdown(fits: &[SnapshotFit], config: &CalibrationConfig, command: &str) -> String {
    let sum = summarise(fits);
    let mut s = String::new();
    let _ = writeln!(s, "# SVI surface fit on the shared option data\n");
    let _ =
        writeln!(s, "Generated (deterministic; rerun to reproduce) by:\n\n```sh\n{command}\n```\n");
    s.push_str(
        "What it does: every option snapshot under the data directory (`XMARGIN_DATA_DIR`, default \
         `../shared/data`; the Deribit CSVs of February 2021 and the OptionsDX end-of-day chains of \
         June 2021 and January 2022, one chain per day) is read, each expiry's out-of-the-money \
         quotes are fitted by raw SVI (quasi-explicit method: exact constrained least squares in \
         (a, rho b sigma, b sigma) inside a Nelder-Mead over (m, sigma); see \
         `offchain-risk/src/surface/calibrate.rs`), then each slice is checked for butterfly \
         arbitrage (Durrleman's g(k) >= 0 on a 2001 + 401 point grid and Lee's wing bound) and \
         each neighbouring pair for calendar arbitrage (total variance non-decreasing in expiry on \
         a 2001-point k grid). Arbitrage found is repaired (butterfly: the smile is flattened about \
         its ATM variance just enough; calendar: the later slice's `a` is raised just enough) and \
         flagged in the tables.\n\n",
    );
    let _ = writeln!(
        s,
        "Settings: weighting `{:?}`, fitted vol `{:?}` (mid of bid/ask IV when both sides are quoted \
         and the spread is at most {:.0} vol points, Deribit's mark IV otherwise; the OptionsDX \
         files carry marks only), weight floor {:.2}, quotes a first fit misses by more than {:.0} vol points \
         dropped and the slice refitted once (column `dropped`; errors are over the quotes kept), \
         at least {} quotes per expiry, expiries under {:.1} days skipped. Errors are model minus fitted vol in vol points (1.00 = 1% vol). \
         Year fractions are ACT/365 from the snapshot time to 08:00 UTC of the expiry date.\n",
        config.weighting,
        config.quote_vol,
        config.max_spread_vol * 100.0,
        config.min_relative_weight,
        config.outlier_vol * 100.0,
        config.min_quotes.max(5),
        config.min_expiry_years * 365.0
    );
    s.push_str(
        "Reading the numbers: the OptionsDX chains and the 2021-02-09 BTC snapshot are real smiles \
         and fit to 1-2 vol points typically. Two Deribit files are not: in `eth_2021-02-09.csv` \
         (and the short ETH expiries of `eth_2021-02-11.csv`, which fit to 0.00 because every mark \
         is 80.00) the marks are Deribit's placeholders for books with no quotes, flat at 80% or \
         200% with cliffs between and mutually calendar-inconsistent; in `btc_2021-02-11.csv` most \
         expiries have marks tens of vol points away from the book. The calibrator still returns \
         arbitrage-free surfaces for them (after the repairs flagged below), but their errors \
         measure the data, not the model.\n\n",
    );
    let _ = writeln!(s, "## Summary\n");
    let _ = writeln!(s, "| | |\n|---|---:|");
    let _ = writeln!(s, "| chains (snapshots) | {} |", sum.snapshots);
    let _ = writeln!(s, "| chains failed | {} |", sum.failed);
    let _ = writeln!(s, "| expiries calibrated | {} |", sum.expiries);
    let _ = writeln!(s, "| expiries skipped | {} |", sum.skipped);
    let _ = writeln!(s, "| quotes fitted | {} |", sum.quotes);
    let _ = writeln!(s, "| per-expiry RMSE, median (vol pts) | {:.2} |", sum.rmse_median);
    let _ = writeln!(s, "| per-expiry RMSE, 95th percentile (vol pts) | {:.2} |", sum.rmse_p95);
    let _ = writeln!(s, "| per-expiry RMSE, max (vol pts) | {:.2} |", sum.rmse_max);
    let _ = writeln!(s, "| worst single-quote error (vol pts) | {:.2} |", sum.max_abs_err);
    let _ = writeln!(s, "| expiries flattened (butterfly repair) | {} |", sum.butterfly_repaired);
    let _ = writeln!(s, "| expiries raised (calendar repair) | {} |", sum.calendar_repaired);
    let _ = writeln!(
        s,
        "| all surfaces pass both checks | {} |\n",
        if sum.all_pass { "yes" } else { "NO" }
    );
    let _ = writeln!(s, "## Per snapshot\n");
    s.push_str("| source | snapshot (UTC) | underlying | expiries | skipped | quotes | RMSE median | RMSE max | worst | min g | butterfly | calendar |\n");
    s.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n");
    for f in fits {
        match &f.report {
            Some(r) => {
                let mut rmse: Vec<f64> = r.slices.iter().map(|x| x.rmse_vol_pts).collect();
                rmse.sort_by(f64::total_cmp);
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.3} | {} | {} |",
                    f.source,
                    format_datetime(f.timestamp_ms),
                    f.underlying,
                    r.slices.len(),
                    r.skipped.len(),
                    r.slices.iter().map(|x| x.quotes).sum::<usize>(),
                    percentile(&rmse, 0.5),
                    rmse.last().copied().unwrap_or(f64::NAN),
                    r.slices.iter().map(|x| x.max_abs_err_vol_pts).fold(0.0, f64::max),
                    r.slices.iter().map(|x| x.min_g).fold(f64::INFINITY, f64::min),
                    yes(r.butterfly_ok),
                    yes(r.calendar_ok)
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | FAILED: {} | | | | | | | | |",
                    f.source,
                    format_datetime(f.timestamp_ms),
                    f.underlying,
                    f.error.as_deref().unwrap_or("")
                );
            }
        }
    }
    let _ = writeln!(s, "\n## Per expiry\n");
    for f in fits {
        let _ = writeln!(
            s,
            "### {} — {} {}\n",
            f.source,
            f.underlying,
            format_datetime(f.timestamp_ms)
        );
        match &f.report {
            Some(r) => s.push_str(&render_report_table(r)),
            None => {
                let _ = writeln!(s, "Calibration failed: {}", f.error.as_deref().unwrap_or(""));
            }
        }
        s.push('\n');
    }
    s
}
