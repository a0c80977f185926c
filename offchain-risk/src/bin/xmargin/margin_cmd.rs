//! `xmargin margin`: a portfolio (or a directory of them) + a market snapshot (+ an optional
//! margin config, a grid preset, vol dynamics) → MTM, maintenance and initial margin per model
//! with the per-position breakdown, as tables or JSON (`--json`: an array of [`ModelMargin`],
//! exactly what the library returns; for a directory, an object of such arrays by file stem).

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use offchain_risk::efficiency::describe_position;
use offchain_risk::instrument::Portfolio;
use offchain_risk::margin::factors::VolDynamics;
use offchain_risk::margin::presets::GridPreset;
use offchain_risk::margin::{margin, MarginConfig, MarginDetail, MarginModel, ModelMargin};
use offchain_risk::market::MarketSnapshot;
use offchain_risk::{DataError, RiskError};

use crate::io::{read_json, to_json};

/// Arguments of `xmargin margin`.
#[derive(Debug, Args)]
pub struct MarginArgs {
    /// Market snapshot JSON (see `offchain_risk::market`).
    #[arg(long)]
    pub market: PathBuf,
    /// Portfolio JSON `{"positions": [...]}` (see `offchain_risk::instrument`), or a directory:
    /// every `*.json` in it but `market.json`, in file-name order.
    #[arg(long)]
    pub portfolio: PathBuf,
    /// Margin configuration JSON (fields of `MarginConfig`, all optional).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Which model(s): all four by default, the grid alone when `--preset` is given.
    #[arg(long, value_enum)]
    pub model: Option<ModelArg>,
    /// Scenario-grid preset (replaces the config's `grid`): project-default, derive-pmrm2,
    /// derive-pmrm1 or cme-span16.
    #[arg(long, value_parser = parse_preset)]
    pub preset: Option<GridPreset>,
    /// Vol dynamics of the grid under a spot move (default: the preset's own): sticky-strike,
    /// sticky-moneyness or sticky-delta.
    #[arg(long, value_parser = parse_dynamics)]
    pub vol_dynamics: Option<VolDynamics>,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// `--model` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// All four models.
    All,
    /// Each position alone.
    Isolated,
    /// Delta-netted cross margin.
    DeltaNetted,
    /// Scenario grid with full revaluation.
    Grid,
    /// Monte Carlo expected shortfall.
    MonteCarlo,
}

impl ModelArg {
    fn models(self) -> Vec<MarginModel> {
        match self {
            Self::All => MarginModel::ALL.to_vec(),
            Self::Isolated => vec![MarginModel::Isolated],
            Self::DeltaNetted => vec![MarginModel::DeltaNetted],
            Self::Grid => vec![MarginModel::ScenarioGrid],
            Self::MonteCarlo => vec![MarginModel::MonteCarlo],
        }
    }
}

fn parse_preset(text: &str) -> Result<GridPreset, String> {
    text.parse()
}

fn parse_dynamics(text: &str) -> Result<VolDynamics, String> {
    text.parse()
}

/// The configuration the arguments ask for: the file (or defaults), its grid replaced by
/// `--preset`, its vol dynamics by `--vol-dynamics`.
pub fn margin_config(
    config: Option<&Path>,
    preset: Option<GridPreset>,
    vol_dynamics: Option<VolDynamics>,
) -> Result<MarginConfig, RiskError> {
    let mut config = match config {
        Some(path) => read_json(path, "margin config (MarginConfig fields)")?,
        None => MarginConfig::default(),
    };
    if let Some(preset) = preset {
        config.grid = preset.config();
    }
    if let Some(dynamics) = vol_dynamics {
        config.grid.vol_dynamics = dynamics;
    }
    Ok(config)
}

/// Runs the subcommand.
pub fn run(args: &MarginArgs) -> Result<(), RiskError> {
    let market: MarketSnapshot = read_json(&args.market, "market snapshot")?;
    market.validate()?;
    let config = margin_config(args.config.as_deref(), args.preset, args.vol_dynamics)?;
    let model =
        args.model.unwrap_or(if args.preset.is_some() { ModelArg::Grid } else { ModelArg::All });
    let margin_all = |portfolio: &Portfolio| {
        model
            .models()
            .into_iter()
            .map(|model| margin(portfolio, &market, model, &config))
            .collect::<Result<Vec<_>, _>>()
    };
    if args.portfolio.is_dir() {
        let mut all = serde_json::Map::new();
        for (stem, portfolio) in read_portfolio_dir(&args.portfolio)? {
            let margins = margin_all(&portfolio)?;
            if args.json {
                // Our output types are plain structs of numbers and strings.
                all.insert(stem, serde_json::to_value(&margins).unwrap_or_default());
            } else {
                println!("== {stem}");
                print_tables(&portfolio, &margins);
                println!();
            }
        }
        if args.json {
            println!("{}", to_json(&all));
        }
        return Ok(());
    }
    let portfolio: Portfolio = read_json(&args.portfolio, "portfolio {\"positions\": [...]}")?;
    portfolio.validate()?;
    let margins = margin_all(&portfolio)?;
    if args.json {
        println!("{}", to_json(&margins));
    } else {
        print_tables(&portfolio, &margins);
    }
    Ok(())
}

/// Every portfolio `*.json` in `dir` but `market.json`, sorted by name, validated.
fn read_portfolio_dir(dir: &Path) -> Result<Vec<(String, Portfolio)>, RiskError> {
    let io_error =
        |source| RiskError::from(DataError::Io { path: dir.display().to_string(), source });
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        let is_json = path.extension().is_some_and(|e| e == "json");
        let is_market = path.file_name().is_some_and(|n| n == "market.json");
        if is_json && !is_market {
            paths.push(path);
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(DataError::Invalid {
            field: "--portfolio".to_owned(),
            reason: format!("{} holds no portfolio *.json files", dir.display()),
        }
        .into());
    }
    let mut portfolios = Vec::with_capacity(paths.len());
    for path in paths {
        let portfolio: Portfolio = read_json(&path, "portfolio {\"positions\": [...]}")?;
        portfolio.validate().map_err(|error| DataError::Invalid {
            field: path.display().to_string(),
            reason: format!("invalid portfolio: {error}"),
        })?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        portfolios.push((stem, portfolio));
    }
    Ok(portfolios)
}

fn print_tables(portfolio: &Portfolio, margins: &[ModelMargin]) {
    println!("{:<16} {:>16} {:>16} {:>16}", "model", "MTM USD", "maintenance", "initial");
    for m in margins {
        println!(
            "{:<16} {:>16.2} {:>16.2} {:>16.2}",
            m.model.label(),
            m.result.mark_to_market,
            m.result.maintenance_margin,
            m.result.initial_margin
        );
        match &m.detail {
            MarginDetail::ScenarioGrid { underlyings } => {
                for u in underlyings {
                    println!(
                        "  {:<6} worst loss {:.2} (scenario {}), basis contingency {:.2}, \
                         short-option minimum {:.2}, basis add-on {:.2}, add-ons {:.2} \
                         (initial +{:.2})",
                        u.underlying,
                        u.worst_loss,
                        u.worst_scenario,
                        u.basis_contingency,
                        u.short_option_minimum,
                        u.basis_add_on,
                        u.maintenance_add_ons,
                        u.initial_add_ons
                    );
                }
            }
            MarginDetail::MonteCarlo(summary) => println!(
                "  VaR {:.2}, ES {:.2} ± {:.2} (1 s.e.), {} paths, horizon {:.5} y, seed {}",
                summary.value_at_risk,
                summary.expected_shortfall,
                summary.expected_shortfall_standard_error,
                summary.paths,
                summary.horizon_years,
                summary.seed
            ),
            MarginDetail::Isolated | MarginDetail::DeltaNetted => {}
        }
    }
    println!();
    print!("{:<40} {:>14}", "position", "MTM USD");
    for m in margins {
        print!(" {:>16}", m.model.label());
    }
    println!();
    for (index, position) in portfolio.positions.iter().enumerate() {
        let mtm = margins.first().map_or(0.0, |m| m.result.positions[index].mark_to_market);
        print!("{:<40} {:>14.2}", describe_position(position), mtm);
        for m in margins {
            print!(" {:>16.2}", m.result.positions[index].margin);
        }
        println!();
    }
    println!(
        "(per-position margin: isolated = the position alone; delta-netted = its share of the \
         delta charge; grid = its loss in the worst scenario; Monte Carlo = its mean tail loss)"
    );
}
