//! `xmargin backtest`: the margin models against realised losses on real history. Reads the
//! shared data set, runs [`offchain_risk::backtest`] over the window (and the short check window),
//! prints the table (or the report as JSON), writes `<out>/BACKTEST.md` (only its generated blocks
//! when the file exists, so the hand-written reading survives) and one SVG chart per charted book.

use std::path::{Path, PathBuf};

use clap::Args;
use offchain_risk::backtest::report::{
    check_block, check_settings, in_sample_block, in_sample_settings, replace_block, results_block,
    results_table, vol_source_note, BEGIN_CHECK, BEGIN_IN_SAMPLE, BEGIN_RESULTS, END_CHECK,
    END_IN_SAMPLE, END_RESULTS,
};
use offchain_risk::backtest::{run_backtest, BacktestReport, BacktestSettings, Book, BookResult};
use offchain_risk::history::{DataDir, Date};
use offchain_risk::margin::MarginModel;
use offchain_risk::{DataError, RiskError};
use plotters::prelude::*;

use crate::io::to_json;

/// Books charted (margin vs realised loss per model, exceedances marked).
const CHARTED: [Book; 2] = [Book::ShortPut, Book::BtcSpot];

/// Marker opening the regenerating command at the top of BACKTEST.md.
const BEGIN_COMMAND: &str = "<!-- BEGIN GENERATED COMMAND -->";
/// Marker closing it.
const END_COMMAND: &str = "<!-- END GENERATED COMMAND -->";

/// Arguments of `xmargin backtest`.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Directory to write BACKTEST.md and the charts (backtest_<book>.svg) into.
    #[arg(long, default_value = "docs")]
    pub out: PathBuf,
    /// First day a margin is set (YYYY-MM-DD, UTC close; default 2020-01-01).
    #[arg(long)]
    pub from: Option<Date>,
    /// Last day a margin is set (default 2025-01-14, the last with a next-day close).
    #[arg(long)]
    pub to: Option<Date>,
    /// Monte Carlo paths per margin (default 2,000).
    #[arg(long)]
    pub paths: Option<usize>,
    /// Margin period of risk in days (default 1).
    #[arg(long)]
    pub horizon_days: Option<u32>,
    /// Data directory (default: $XMARGIN_DATA_DIR, else <repo>/../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print the full report (with the daily records) as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

fn io_error(path: &Path, source: std::io::Error) -> RiskError {
    DataError::Io { path: path.display().to_string(), source }.into()
}

/// The command line that regenerates the report with these arguments.
fn command_line(args: &BacktestArgs) -> String {
    let mut command =
        String::from("cargo run --release -p offchain-risk --bin xmargin -- backtest");
    command.push_str(&format!(" --out {}", args.out.display()));
    if let Some(from) = args.from {
        command.push_str(&format!(" --from {from}"));
    }
    if let Some(to) = args.to {
        command.push_str(&format!(" --to {to}"));
    }
    if let Some(paths) = args.paths {
        command.push_str(&format!(" --paths {paths}"));
    }
    if let Some(h) = args.horizon_days {
        command.push_str(&format!(" --horizon-days {h}"));
    }
    command
}

/// Runs the subcommand.
pub fn run(args: &BacktestArgs) -> Result<(), RiskError> {
    let data = match &args.data_dir {
        Some(dir) => DataDir::at(dir),
        None => DataDir::locate()?,
    };
    let defaults = BacktestSettings::default();
    let settings = BacktestSettings {
        from: args.from.unwrap_or(defaults.from),
        to: args.to.unwrap_or(defaults.to),
        paths: args.paths.unwrap_or(defaults.paths),
        horizon_days: args.horizon_days.unwrap_or(defaults.horizon_days),
        ..defaults
    };
    let report = run_backtest(&data, &settings)?;
    let check = run_backtest(&data, &check_settings())?;
    let in_sample = run_backtest(&data, &in_sample_settings(&settings))?;

    std::fs::create_dir_all(&args.out).map_err(|e| io_error(&args.out, e))?;
    let doc_path = args.out.join("BACKTEST.md");
    let command = format!("```sh\n{}\n```", command_line(args));
    let existing = std::fs::read_to_string(&doc_path).ok();
    let document = existing
        .as_deref()
        .and_then(|doc| replace_block(doc, BEGIN_COMMAND, END_COMMAND, &command))
        .and_then(|doc| replace_block(&doc, BEGIN_RESULTS, END_RESULTS, &results_block(&report)))
        .and_then(|doc| replace_block(&doc, BEGIN_CHECK, END_CHECK, &check_block(&check)))
        .and_then(|doc| {
            replace_block(&doc, BEGIN_IN_SAMPLE, END_IN_SAMPLE, &in_sample_block(&in_sample))
        })
        .unwrap_or_else(|| template(&command, &report, &check, &in_sample));
    std::fs::write(&doc_path, document).map_err(|e| io_error(&doc_path, e))?;
    for book in CHARTED {
        if let Some(result) = report.books.iter().find(|b| b.book == book) {
            let path = args.out.join(format!("backtest_{}.svg", book.name()));
            chart(&path, result).map_err(|reason| {
                RiskError::from(DataError::Invalid { field: path.display().to_string(), reason })
            })?;
        }
    }

    if args.json {
        println!("{}", to_json(&report));
    } else {
        print!("{}", results_table(&report));
        println!("\n{}", vol_source_note(&report));
        println!("\nwrote {}", doc_path.display());
    }
    Ok(())
}

/// A fresh BACKTEST.md: the generated blocks inside a minimal frame.
fn template(
    command: &str,
    report: &BacktestReport,
    check: &BacktestReport,
    in_sample: &BacktestReport,
) -> String {
    format!(
        "# Margin backtest on real history\n\n{BEGIN_COMMAND}\n{command}\n{END_COMMAND}\n\n\
         ## Results\n\n{BEGIN_RESULTS}\n{}\n{END_RESULTS}\n\n\
         ## In-sample basis factors\n\n{BEGIN_IN_SAMPLE}\n{}\n{END_IN_SAMPLE}\n\n\
         ## Reproducibility check\n\n{BEGIN_CHECK}\n{}\n{END_CHECK}\n",
        results_block(report).trim_end(),
        in_sample_block(in_sample).trim_end(),
        check_block(check).trim_end(),
    )
}

/// Four stacked panels (one per model): maintenance margin and realised loss over time,
/// exceedances as red dots.
fn chart(path: &Path, book: &BookResult) -> Result<(), String> {
    let records = &book.records;
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Ok(());
    };
    let x0 = f64::from(first.date.days_since_epoch());
    let x1 = f64::from(last.date.days_since_epoch()).max(x0 + 1.0);
    let root = SVGBackend::new(path, (1100, 1200)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root
        .titled(
            &format!(
                "{}: maintenance margin vs realised 1-day loss (% of notional)",
                book.book.description()
            ),
            ("sans-serif", 20),
        )
        .map_err(|e| e.to_string())?;
    let panels = root.split_evenly((MarginModel::ALL.len(), 1));
    for (m, (panel, model)) in panels.iter().zip(MarginModel::ALL).enumerate() {
        let losses: Vec<(f64, f64)> = records
            .iter()
            .map(|r| (f64::from(r.date.days_since_epoch()), 100.0 * r.loss))
            .collect();
        let margins: Vec<(f64, f64)> = records
            .iter()
            .map(|r| (f64::from(r.date.days_since_epoch()), 100.0 * r.margins[m]))
            .collect();
        let exceedances: Vec<(f64, f64)> = records
            .iter()
            .filter(|r| r.loss > r.margins[m])
            .map(|r| (f64::from(r.date.days_since_epoch()), 100.0 * r.loss))
            .collect();
        let top = losses.iter().chain(&margins).map(|p| p.1).fold(1.0, f64::max) * 1.05;
        let bottom = losses.iter().map(|p| p.1).fold(0.0, f64::min) * 1.05;
        let score = &book.scores[m];
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!(
                    "{}: {} exceedances in {} days (expected {:.1})",
                    model.label(),
                    score.exceedances,
                    score.days,
                    score.expected
                ),
                ("sans-serif", 15),
            )
            .margin(8)
            .x_label_area_size(25)
            .y_label_area_size(50)
            .build_cartesian_2d(x0..x1, bottom..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|x| Date::from_days_since_epoch(*x as i32).to_string())
            .y_label_formatter(&|y| format!("{y:.0}%"))
            .light_line_style(WHITE)
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(losses, RGBColor(150, 150, 150).stroke_width(1)))
            .map_err(|e| e.to_string())?
            .label("realised loss")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 15, y)], RGBColor(150, 150, 150)));
        chart
            .draw_series(LineSeries::new(margins, BLUE.stroke_width(1)))
            .map_err(|e| e.to_string())?
            .label("maintenance margin")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 15, y)], BLUE));
        chart
            .draw_series(exceedances.into_iter().map(|p| Circle::new(p, 3, RED.filled())))
            .map_err(|e| e.to_string())?
            .label("exceedance")
            .legend(|(x, y)| Circle::new((x + 7, y), 3, RED.filled()));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}
