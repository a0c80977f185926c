//! `xmargin calibrate`: option chains (Deribit CSV/JSON, OptionsDX EOD, our chain JSON) in; SVI
//! surfaces, fit reports (JSON, Markdown, a table) and one SVG skew chart per expiry out.
//! `--all` runs over every snapshot of the shared data set and writes docs/SURFACE_FIT.md.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use offchain_risk::data::{self, format_date, format_datetime, ChainFormat, OptionChain};
use offchain_risk::surface::calibrate::{expiry_quotes, ExpiryQuotes};
use offchain_risk::surface::report::{
    calibrate_chains, calibrate_data_dir, render_markdown, render_report_table, summarise,
    SnapshotFit, SURFACE_FIT_COMMAND,
};
use offchain_risk::surface::{
    ArbitragePolicy, CalibrationConfig, FitReport, QuoteVol, SliceFit, VolSurface, Weighting,
};
use offchain_risk::{DataError, RiskError};
use plotters::prelude::*;

use crate::io::{read_json, to_json};

/// Input file formats (`--format`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Deribit book summaries as CSV.
    DeribitCsv,
    /// Deribit API JSON (`{"result": [...]}` or an array).
    DeribitJson,
    /// OptionsDX end-of-day text (one chain per QUOTE_UNIXTIME).
    Optionsdx,
    /// Our chain JSON (`{"underlying", "timestamp_ms", "quotes": [...]}`).
    ChainJson,
}

/// `--weighting`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WeightingArg {
    /// Black-76 vega.
    Vega,
    /// Inverse bid/ask vol spread.
    Spread,
    /// Equal weights.
    Uniform,
}

/// `--vol`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum VolArg {
    /// Bid/ask mid where two-sided and tight, else mark.
    Mid,
    /// Mark IV.
    Mark,
}

/// `--butterfly` / `--calendar`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyArg {
    /// Repair and flag.
    Repair,
    /// Fail with the typed error.
    Reject,
}

/// Arguments of `xmargin calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Option chain file: Deribit CSV or JSON, OptionsDX EOD `.txt`, or our chain JSON.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub input: Option<PathBuf>,
    /// Input format; detected from the extension and header when absent.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Calibrate every snapshot under the data directory (docs/SURFACE_FIT.md).
    #[arg(long)]
    pub all: bool,
    /// Data directory for `--all` (default: $XMARGIN_DATA_DIR, else <repo>/../shared/data).
    #[arg(long, requires = "all")]
    pub data_dir: Option<PathBuf>,
    /// Only the N-th chain (0-based, by time) of a multi-snapshot file such as OptionsDX.
    #[arg(long, conflicts_with = "all")]
    pub snapshot: Option<usize>,
    /// Directory to write surface.json, fit_report.json, fit_report.md and skew_*.svg into
    /// (one sub-directory per chain when there are several).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the Markdown report (SURFACE_FIT.md layout) to this file.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Calibration settings as JSON (fields of CalibrationConfig, all optional); flags below
    /// override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Quote weights.
    #[arg(long, value_enum)]
    pub weighting: Option<WeightingArg>,
    /// Which implied vol to fit.
    #[arg(long = "vol", value_enum)]
    pub quote_vol: Option<VolArg>,
    /// Butterfly arbitrage policy.
    #[arg(long, value_enum)]
    pub butterfly: Option<PolicyArg>,
    /// Calendar arbitrage policy.
    #[arg(long, value_enum)]
    pub calendar: Option<PolicyArg>,
    /// Skip expiries closer than this many days (default 1).
    #[arg(long)]
    pub min_expiry_days: Option<f64>,
}

fn invalid(field: &str, reason: String) -> RiskError {
    DataError::Invalid { field: field.to_owned(), reason }.into()
}

fn policy(p: PolicyArg) -> ArbitragePolicy {
    match p {
        PolicyArg::Repair => ArbitragePolicy::Repair,
        PolicyArg::Reject => ArbitragePolicy::Reject,
    }
}

fn config_from(args: &CalibrateArgs) -> Result<CalibrationConfig, RiskError> {
    let mut config = match &args.config {
        Some(path) => read_json::<CalibrationConfig>(path, "calibration config")?,
        None => CalibrationConfig::default(),
    };
    if let Some(w) = args.weighting {
        config.weighting = match w {
            WeightingArg::Vega => Weighting::Vega,
            WeightingArg::Spread => Weighting::InverseSpread,
            WeightingArg::Uniform => Weighting::Uniform,
        };
    }
    if let Some(v) = args.quote_vol {
        config.quote_vol = match v {
            VolArg::Mid => QuoteVol::Mid,
            VolArg::Mark => QuoteVol::Mark,
        };
    }
    if let Some(p) = args.butterfly {
        config.butterfly = policy(p);
    }
    if let Some(p) = args.calendar {
        config.calendar = policy(p);
    }
    if let Some(days) = args.min_expiry_days {
        if !(days.is_finite() && days >= 0.0) {
            return Err(invalid(
                "--min-expiry-days",
                format!("is {days}; give a number of days >= 0"),
            ));
        }
        config.min_expiry_years = days / 365.0;
    }
    Ok(config)
}

/// Runs the subcommand.
pub fn run(args: &CalibrateArgs) -> Result<(), RiskError> {
    let config = config_from(args)?;
    let (fits, chains) = if args.all {
        let dir = match &args.data_dir {
            Some(dir) => dir.clone(),
            None => data::data_dir()?,
        };
        let fits = calibrate_data_dir(&dir, &config)?;
        let chains = if args.out.is_some() { all_chains(&dir)? } else { Vec::new() };
        (fits, chains)
    } else {
        // clap enforces `input` without `--all`.
        let path = args.input.as_deref().ok_or_else(|| {
            invalid("INPUT", "give an option chain file, or --all for the whole data set".into())
        })?;
        let format = match args.format {
            Some(FormatArg::DeribitCsv) => ChainFormat::DeribitCsv,
            Some(FormatArg::DeribitJson) => ChainFormat::DeribitJson,
            Some(FormatArg::Optionsdx) => ChainFormat::Optionsdx,
            Some(FormatArg::ChainJson) => ChainFormat::ChainJson,
            None => ChainFormat::detect(path)?,
        };
        let mut chains = data::read_chains(path, format)?;
        if let Some(n) = args.snapshot {
            if n >= chains.len() {
                return Err(invalid(
                    "--snapshot",
                    format!(
                        "is {n} but {} holds {} chain(s); use 0..{}",
                        path.display(),
                        chains.len(),
                        chains.len()
                    ),
                ));
            }
            chains = vec![chains.swap_remove(n)];
        }
        let fits = calibrate_chains(&path.display().to_string(), &chains, &config);
        (fits, chains)
    };

    if let Some(out) = &args.out {
        write_outputs(out, &fits, &chains, &config)?;
    }
    if let Some(markdown) = &args.markdown {
        let command = if args.all {
            SURFACE_FIT_COMMAND.to_owned()
        } else {
            format!(
                "cargo run --release -p offchain-risk --bin xmargin -- calibrate {}",
                std::env::args().skip(2).collect::<Vec<_>>().join(" ")
            )
        };
        write_file(markdown, &render_markdown(&fits, &config, &command))?;
    }
    if args.json {
        if fits.len() == 1 && !args.all {
            match &fits[0].report {
                Some(report) => println!("{}", to_json(report)),
                None => println!("{}", to_json(&fits[0])),
            }
        } else {
            println!("{}", to_json(&fits));
        }
    } else {
        print_table(&fits);
    }
    if let Some(failed) = fits.iter().find(|f| f.error.is_some()) {
        return Err(invalid(
            &failed.source,
            format!(
                "calibration failed: {}; try --butterfly repair --calendar repair or --vol mark",
                failed.error.as_deref().unwrap_or("")
            ),
        ));
    }
    Ok(())
}

fn all_chains(dir: &Path) -> Result<Vec<OptionChain>, RiskError> {
    let mut chains = Vec::new();
    for (path, format) in data::snapshot_files(dir)? {
        chains.extend(data::read_chains(&path, format)?);
    }
    Ok(chains)
}

fn write_file(path: &Path, text: &str) -> Result<(), RiskError> {
    std::fs::write(path, text)
        .map_err(|source| DataError::Io { path: path.display().to_string(), source }.into())
}

fn print_table(fits: &[SnapshotFit]) {
    for f in fits {
        println!("{} — {} {} UTC", f.source, f.underlying, format_datetime(f.timestamp_ms));
        let Some(report) = &f.report else {
            println!("  FAILED: {}\n", f.error.as_deref().unwrap_or(""));
            continue;
        };
        println!(
            "  {:<10} {:>7} {:>10} {:>6} {:>7} {:>7} {:>8} {:>9} {:>9}",
            "expiry", "T", "forward", "quotes", "RMSE", "worst", "min g", "butterfly", "calendar"
        );
        for s in &report.slices {
            println!(
                "  {:<10} {:>7.4} {:>10.2} {:>6} {:>7.2} {:>7.2} {:>8.3} {:>9} {:>9}",
                s.expiry_ms.map_or_else(|| "-".into(), format_date),
                s.expiry_years,
                s.forward,
                s.quotes,
                s.rmse_vol_pts,
                s.max_abs_err_vol_pts,
                s.min_g,
                status(s.butterfly_ok, s.butterfly_repaired),
                status(s.calendar_ok, s.calendar_raise > 0.0),
            );
        }
        for k in &report.skipped {
            println!("  skipped {}: {}", format_date(k.expiry_ms), k.reason);
        }
        println!();
    }
    if fits.len() > 1 {
        let s = summarise(fits);
        println!(
            "{} chains ({} failed), {} expiries: RMSE median {:.2}, p95 {:.2}, max {:.2} vol pts; \
             worst quote {:.2}; butterfly repairs {}, calendar repairs {}; all pass: {}",
            s.snapshots,
            s.failed,
            s.expiries,
            s.rmse_median,
            s.rmse_p95,
            s.rmse_max,
            s.max_abs_err,
            s.butterfly_repaired,
            s.calendar_repaired,
            s.all_pass
        );
    }
}

fn status(ok: bool, repaired: bool) -> &'static str {
    match (ok, repaired) {
        (true, false) => "pass",
        (true, true) => "repaired",
        (false, _) => "FAIL",
    }
}

fn write_outputs(
    out: &Path,
    fits: &[SnapshotFit],
    chains: &[OptionChain],
    config: &CalibrationConfig,
) -> Result<(), RiskError> {
    let mkdir = |dir: &Path| {
        std::fs::create_dir_all(dir).map_err(|source| {
            RiskError::from(DataError::Io { path: dir.display().to_string(), source })
        })
    };
    for (i, fit) in fits.iter().enumerate() {
        let dir = if fits.len() == 1 {
            out.to_path_buf()
        } else {
            let stamp = format_datetime(fit.timestamp_ms).replace([' ', ':'], "-");
            out.join(format!("{}_{stamp}", fit.underlying))
        };
        mkdir(&dir)?;
        write_file(&dir.join("fit_report.json"), &to_json(fit))?;
        let (Some(surface), Some(report)) = (&fit.surface, &fit.report) else { continue };
        write_file(&dir.join("surface.json"), &to_json(surface))?;
        let md = format!(
            "# SVI fit: {} {} UTC ({})\n\n{}",
            fit.underlying,
            format_datetime(fit.timestamp_ms),
            fit.source,
            render_report_table(report)
        );
        write_file(&dir.join("fit_report.md"), &md)?;
        if let Some(chain) = chains.get(i) {
            for expiry in expiry_quotes(chain, config) {
                if let Some(slice_fit) =
                    report.slices.iter().find(|s| s.expiry_ms == Some(expiry.expiry_ms))
                {
                    let path = dir.join(format!("skew_{}.svg", format_date(expiry.expiry_ms)));
                    plot_skew(&path, report, surface, &expiry, slice_fit)?;
                }
            }
        }
    }
    Ok(())
}

fn plot_error(path: &Path, error: impl std::fmt::Display) -> RiskError {
    invalid(
        "--out",
        format!("cannot draw {}: {error}; check the directory is writable", path.display()),
    )
}

/// Market mid (and bid/ask where quoted) implied vols against the fitted smile of one expiry.
fn plot_skew(
    path: &Path,
    report: &FitReport,
    surface: &VolSurface,
    expiry: &ExpiryQuotes,
    fit: &SliceFit,
) -> Result<(), RiskError> {
    let t = expiry.expiry_years;
    let f = expiry.forward;
    let points: Vec<(f64, f64, Option<f64>, Option<f64>)> = expiry
        .quotes
        .iter()
        .map(|q| {
            (
                (q.strike / f).ln(),
                100.0 * q.mid_vol,
                q.bid_vol.map(|v| 100.0 * v),
                q.ask_vol.map(|v| 100.0 * v),
            )
        })
        .collect();
    let (k_lo, k_hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.0), hi.max(p.0)));
    let pad = 0.05 * (k_hi - k_lo).max(0.05);
    let (x0, x1) = (k_lo - pad, k_hi + pad);
    let curve: Vec<(f64, f64)> = (0..=300)
        .map(|i| x0 + (x1 - x0) * f64::from(i) / 300.0)
        .filter_map(|k| surface.vol(k, t).ok().map(|v| (k, 100.0 * v)))
        .collect();
    // The y range covers the fit and the mids; bids/asks far outside are clipped, not rescaled
    // (a 400% ask on a deep in-the-money wing would flatten the chart).
    let ys = curve.iter().map(|p| p.1).chain(points.iter().map(|p| p.1));
    let (y_lo, y_hi) =
        ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let y_pad = 0.1 * (y_hi - y_lo).max(2.0);
    let (y0, y1) = ((y_lo - y_pad).max(0.0), y_hi + y_pad);
    let in_range = |y: f64| y >= y0 && y <= y1;
    let title = format!(
        "{} {} UTC, expiry {} (T = {:.3} y), RMSE {:.2} vol pts",
        report.underlying,
        format_datetime(report.timestamp_ms),
        format_date(expiry.expiry_ms),
        t,
        fit.rmse_vol_pts
    );
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| plot_error(path, e))?;
    chart
        .configure_mesh()
        .x_desc(format!("log-moneyness k = ln(K/F), F = {f:.2}"))
        .y_desc("implied volatility (%)")
        .draw()
        .map_err(|e| plot_error(path, e))?;
    chart
        .draw_series(LineSeries::new(curve, BLUE.stroke_width(2)))
        .map_err(|e| plot_error(path, e))?
        .label("SVI fit")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    chart
        .draw_series(points.iter().filter_map(|p| {
            p.2.filter(|&b| in_range(b)).map(|b| TriangleMarker::new((p.0, b), 4, GREEN.filled()))
        }))
        .map_err(|e| plot_error(path, e))?
        .label("bid IV")
        .legend(|(x, y)| TriangleMarker::new((x + 10, y), 4, GREEN.filled()));
    chart
        .draw_series(points.iter().filter_map(|p| {
            p.3.filter(|&a| in_range(a)).map(|a| Cross::new((p.0, a), 4, RED.stroke_width(1)))
        }))
        .map_err(|e| plot_error(path, e))?
        .label("ask IV")
        .legend(|(x, y)| Cross::new((x + 10, y), 4, RED.stroke_width(1)));
    chart
        .draw_series(points.iter().map(|p| Circle::new((p.0, p.1), 3, BLACK.filled())))
        .map_err(|e| plot_error(path, e))?
        .label("fitted (mid or mark) IV")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, BLACK.filled()));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .position(SeriesLabelPosition::UpperMiddle)
        .draw()
        .map_err(|e| plot_error(path, e))?;
    root.present().map_err(|e| plot_error(path, e))?;
    Ok(())
}
