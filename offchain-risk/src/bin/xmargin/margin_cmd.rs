//! `xmargin margin`: a portfolio + a market snapshot (+ an optional margin config) → MTM,
//! maintenance and initial margin per model with the per-position breakdown, as tables or JSON
//! (`--json`: an array of [`ModelMargin`], exactly what the library returns).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use offchain_risk::efficiency::describe_position;
use offchain_risk::instrument::Portfolio;
use offchain_risk::margin::{margin, MarginConfig, MarginDetail, MarginModel, ModelMargin};
use offchain_risk::market::MarketSnapshot;
use offchain_risk::RiskError;

use crate::io::{read_json, to_json};

/// Arguments of `xmargin margin`.
#[derive(Debug, Args)]
pub struct MarginArgs {
    /// Market snapshot JSON (see `offchain_risk::market`).
    #[arg(long)]
    pub market: PathBuf,
    /// Portfolio JSON `{"positions": [...]}` (see `offchain_risk::instrument`).
    #[arg(long)]
    pub portfolio: PathBuf,
    /// Margin configuration JSON (fields of `MarginConfig`, all optional).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Which model(s).
    #[arg(long, value_enum, default_value = "all")]
    pub model: ModelArg,
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

/// Runs the subcommand.
pub fn run(args: &MarginArgs) -> Result<(), RiskError> {
    let market: MarketSnapshot = read_json(&args.market, "market snapshot")?;
    market.validate()?;
    let portfolio: Portfolio = read_json(&args.portfolio, "portfolio {\"positions\": [...]}")?;
    portfolio.validate()?;
    let config = match &args.config {
        Some(path) => read_json(path, "margin config (MarginConfig fields)")?,
        None => MarginConfig::default(),
    };
    let margins = args
        .model
        .models()
        .into_iter()
        .map(|model| margin(&portfolio, &market, model, &config))
        .collect::<Result<Vec<_>, _>>()?;
    if args.json {
        println!("{}", to_json(&margins));
    } else {
        print_tables(&portfolio, &margins);
    }
    Ok(())
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
                        "  {:<6} worst loss {:.2} (scenario {}), short-option minimum {:.2}, \
                         basis add-on {:.2}",
                        u.underlying,
                        u.worst_loss,
                        u.worst_scenario,
                        u.short_option_minimum,
                        u.basis_add_on
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
