//! `xmargin efficiency`: the canonical portfolios (`NN_*.json` in `--portfolios`) + a market
//! snapshot → every portfolio margined under the four models and the flat-vol grid → the
//! Markdown table with the verdicts on the seed's claims (`CAPITAL_EFFICIENCY.md`) and a bar chart
//! of maintenance per model (`capital_efficiency.svg`, log scale) in `--out`; `--json` prints the
//! rows. `--write-portfolios` first regenerates the canonical JSON files from the library's
//! generator (hedge sizes from the snapshot's deltas, the seeded market-maker book).

use std::path::{Path, PathBuf};

use clap::Args;
use offchain_risk::efficiency::{
    canonical_portfolios, efficiency_table, render_markdown, EfficiencyRow,
};
use offchain_risk::instrument::Portfolio;
use offchain_risk::margin::{MarginConfig, MarginModel};
use offchain_risk::market::MarketSnapshot;
use offchain_risk::{DataError, RiskError};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::io::{read_json, to_json};

/// Arguments of `xmargin efficiency`.
#[derive(Debug, Args)]
pub struct EfficiencyArgs {
    /// Market snapshot JSON the portfolios are margined against.
    #[arg(long)]
    pub market: PathBuf,
    /// Directory of portfolio files; every `*.json` but `market.json` is one row, in file-name
    /// order.
    #[arg(long)]
    pub portfolios: PathBuf,
    /// Directory to write CAPITAL_EFFICIENCY.md and capital_efficiency.svg into.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Margin configuration JSON (fields of `MarginConfig`, all optional).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Regenerate the canonical portfolio files in `--portfolios` before margining them.
    #[arg(long)]
    pub write_portfolios: bool,
    /// Print the rows as JSON.
    #[arg(long)]
    pub json: bool,
}

fn invalid(field: &str, reason: String) -> RiskError {
    DataError::Invalid { field: field.to_owned(), reason }.into()
}

fn io_error(path: &Path, source: std::io::Error) -> RiskError {
    DataError::Io { path: path.display().to_string(), source }.into()
}

/// Runs the subcommand.
pub fn run(args: &EfficiencyArgs) -> Result<(), RiskError> {
    let market: MarketSnapshot = read_json(&args.market, "market snapshot")?;
    market.validate()?;
    let config = match &args.config {
        Some(path) => read_json(path, "margin config (MarginConfig fields)")?,
        None => MarginConfig::default(),
    };
    if args.write_portfolios {
        for (stem, portfolio) in canonical_portfolios(&market)? {
            let path = args.portfolios.join(format!("{stem}.json"));
            std::fs::write(&path, to_json(&portfolio) + "\n")
                .map_err(|source| io_error(&path, source))?;
            eprintln!("wrote {}", path.display());
        }
    }
    let portfolios = read_portfolios(&args.portfolios)?;
    let rows = efficiency_table(&portfolios, &market, &config)?;
    if args.json {
        println!("{}", to_json(&rows));
    } else {
        print_summary(&rows);
    }
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).map_err(|source| io_error(out, source))?;
        let doc = out.join("CAPITAL_EFFICIENCY.md");
        std::fs::write(&doc, render_markdown(&rows, &market, &config))
            .map_err(|source| io_error(&doc, source))?;
        let chart = out.join("capital_efficiency.svg");
        draw_chart(&chart, &rows)?;
        eprintln!("wrote {} and {}", doc.display(), chart.display());
    }
    Ok(())
}

/// Every portfolio file in `dir` (sorted by name), validated; errors name the file and field.
fn read_portfolios(dir: &Path) -> Result<Vec<(String, Portfolio)>, RiskError> {
    let entries = std::fs::read_dir(dir).map_err(|source| io_error(dir, source))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| io_error(dir, source))?.path();
        let is_json = path.extension().is_some_and(|e| e == "json");
        let is_market = path.file_name().is_some_and(|n| n == "market.json");
        if is_json && !is_market {
            paths.push(path);
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(invalid(
            "--portfolios",
            format!("{} holds no portfolio *.json files", dir.display()),
        ));
    }
    let mut portfolios = Vec::with_capacity(paths.len());
    for path in paths {
        let portfolio: Portfolio = read_json(&path, "portfolio {\"positions\": [...]}")?;
        portfolio.validate().map_err(|error| {
            invalid(&path.display().to_string(), format!("invalid portfolio: {error}"))
        })?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        portfolios.push((stem, portfolio));
    }
    Ok(portfolios)
}

fn print_summary(rows: &[EfficiencyRow]) {
    print!("{:<38} {:>14}", "portfolio", "MTM USD");
    for model in MarginModel::ALL {
        print!(" {:>16}", model.label());
    }
    println!(" {:>16} {:>9}", "grid flat vol", "grid/iso");
    for row in rows {
        print!("{:<38} {:>14.0}", row.title, row.mark_to_market);
        for model in MarginModel::ALL {
            print!(" {:>16.0}", row.model(model).maintenance);
        }
        println!(
            " {:>16.0} {:>8.1}%",
            row.grid_flat_vol.maintenance,
            100.0 * row.ratio_to_isolated(MarginModel::ScenarioGrid)
        );
    }
}

fn plot_error(path: &Path, error: impl std::fmt::Display) -> RiskError {
    invalid(
        "--out",
        format!("cannot draw {}: {error}; check the directory is writable", path.display()),
    )
}

/// Grouped bars: maintenance margin per model per portfolio, log scale (the books span five
/// orders of magnitude).
fn draw_chart(path: &Path, rows: &[EfficiencyRow]) -> Result<(), RiskError> {
    const COLOURS: [RGBColor; 4] = [
        RGBColor(120, 120, 120),
        RGBColor(230, 159, 0),
        RGBColor(0, 114, 178),
        RGBColor(0, 158, 115),
    ];
    let values: Vec<f64> = rows
        .iter()
        .flat_map(|r| r.models.iter().map(|m| m.maintenance))
        // Sub-dollar margins (the MC and delta charges of delta-one hedges) would stretch the axis.
        .filter(|v| *v >= 1.0 && v.is_finite())
        .collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min).max(1.0) / 2.0;
    let high = values.iter().copied().fold(1.0, f64::max) * 2.0;
    let root = SVGBackend::new(path, (1300, 620)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_error(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Maintenance margin by model (USD, log scale; zero margins have no bar)",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..rows.len() as f64, (low..high).log_scale())
        .map_err(|e| plot_error(path, e))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("maintenance margin (USD)")
        .y_label_formatter(&|v| offchain_risk::efficiency::usd(*v))
        .draw()
        .map_err(|e| plot_error(path, e))?;
    let width = 0.8 / MarginModel::ALL.len() as f64;
    for (m, model) in MarginModel::ALL.iter().enumerate() {
        let colour = COLOURS[m];
        chart
            .draw_series(rows.iter().enumerate().map(|(i, row)| {
                let x0 = i as f64 + 0.1 + m as f64 * width;
                let value = row.model(*model).maintenance.max(low);
                Rectangle::new([(x0, low), (x0 + width * 0.9, value)], colour.filled())
            }))
            .map_err(|e| plot_error(path, e))?
            .label(model.label())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| plot_error(path, e))?;
    // Portfolio names under the axis, in pixel coordinates (the x axis is continuous).
    let style =
        TextStyle::from(("sans-serif", 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, row) in rows.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, low));
        root.draw(&Text::new(row.short_label(), (x, y + 8), style.clone()))
            .map_err(|e| plot_error(path, e))?;
    }
    root.present().map_err(|e| plot_error(path, e))?;
    Ok(())
}
