//! `xmargin price`: instruments (or a portfolio) + a market snapshot -> prices and Greeks.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use offchain_risk::instrument::{Instrument, Portfolio, Position};
use offchain_risk::market::MarketSnapshot;
use offchain_risk::valuation::{
    value_position, DeltaConvention, PositionValuation, PricingModel, SkewModel,
};
use offchain_risk::RiskError;
use serde::Deserialize;

use crate::io::{read_json, to_json};

/// Arguments of `xmargin price`.
#[derive(Debug, Args)]
pub struct PriceArgs {
    /// Market snapshot JSON (spot, forwards, rates, surfaces; see `offchain_risk::market`).
    #[arg(long)]
    pub market: PathBuf,
    /// Instruments JSON: an array of instruments, or a portfolio `{"positions": [...]}`.
    #[arg(long)]
    pub instruments: PathBuf,
    /// Volatility for options: the skewed surface, or its at-the-money vol for every strike.
    #[arg(long, value_enum, default_value = "surface")]
    pub skew: SkewArg,
    /// Which delta the `delta` column shows (both are in the JSON output).
    #[arg(long, value_enum, default_value = "sticky-strike")]
    pub delta: DeltaArg,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `--skew` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SkewArg {
    /// Volatility at each option's strike.
    Surface,
    /// At-the-money volatility of the expiry for all strikes.
    FlatAtm,
}

/// `--delta` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DeltaArg {
    /// Implied volatility fixed per strike.
    StickyStrike,
    /// Implied volatility fixed per log-moneyness.
    StickyMoneyness,
}

/// The two shapes `--instruments` accepts.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum InstrumentsFile {
    Portfolio(Portfolio),
    Instruments(Vec<Instrument>),
}

/// Runs the subcommand.
pub fn run(args: &PriceArgs) -> Result<(), RiskError> {
    let market: MarketSnapshot = read_json(&args.market, "market snapshot")?;
    market.validate()?;
    let portfolio = match read_json(&args.instruments, "instrument list or portfolio")? {
        InstrumentsFile::Portfolio(portfolio) => portfolio,
        InstrumentsFile::Instruments(instruments) => Portfolio {
            account: None,
            positions: instruments
                .into_iter()
                .map(|instrument| Position { instrument, size: 1.0, entry_price: None })
                .collect(),
        },
    };
    portfolio.validate()?;
    let model = PricingModel {
        skew: match args.skew {
            SkewArg::Surface => SkewModel::Surface,
            SkewArg::FlatAtm => SkewModel::FlatAtm,
        },
        delta: match args.delta {
            DeltaArg::StickyStrike => DeltaConvention::StickyStrike,
            DeltaArg::StickyMoneyness => DeltaConvention::StickyMoneyness,
        },
    };
    let valuations = portfolio
        .positions
        .iter()
        .map(|position| value_position(position, &market, &model))
        .collect::<Result<Vec<_>, _>>()?;
    if args.json {
        println!("{}", to_json(&valuations));
    } else {
        print_table(&valuations);
    }
    Ok(())
}

fn print_table(valuations: &[PositionValuation]) {
    println!(
        "{:<34} {:>9} {:>14} {:>8} {:>10} {:>12} {:>12} {:>14}",
        "instrument", "size", "value USD", "vol", "delta", "gamma", "vega", "theta/yr"
    );
    for valuation in valuations {
        let vol =
            valuation.unit.vol.map_or_else(|| "-".to_owned(), |v| format!("{:.2}%", v * 100.0));
        println!(
            "{:<34} {:>9.4} {:>14.4} {:>8} {:>10.4} {:>12.3e} {:>12.4} {:>14.4}",
            describe(&valuation.position.instrument),
            valuation.position.size,
            valuation.value,
            vol,
            valuation.delta,
            valuation.gamma,
            valuation.vega,
            valuation.theta
        );
    }
    let total: f64 = valuations.iter().map(|v| v.value).sum();
    println!("total mark-to-market: {total:.4} USD");
}

fn describe(instrument: &Instrument) -> String {
    match instrument {
        Instrument::Spot { underlying } => format!("{underlying} spot"),
        Instrument::Future { underlying, expiry_ms, settlement } => {
            format!("{underlying} future {expiry_ms} {settlement:?}")
        }
        Instrument::Perpetual { underlying, settlement } => {
            format!("{underlying} perpetual {settlement:?}")
        }
        Instrument::Option { underlying, expiry_ms, strike, kind, .. } => {
            format!("{underlying} {kind:?} {strike} @{expiry_ms}")
        }
    }
}
