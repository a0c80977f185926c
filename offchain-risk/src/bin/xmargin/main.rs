//! `xmargin`: the risk engine's command line. One subcommand per file; each reads JSON (or the
//! market-data formats [`offchain_risk::data`] knows), prints a table, or JSON with `--json`.
// The CLI's job is to print: stdout carries results, stderr carries errors.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod backtest;
mod basis;
mod calibrate;
mod efficiency;
mod io;
mod iv;
mod margin_cmd;
mod price;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Cross-margin risk engine: pricing, implied volatility and volatility-surface calibration.
#[derive(Debug, Parser)]
#[command(name = "xmargin", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Price instruments and their Greeks against a market snapshot.
    Price(price::PriceArgs),
    /// Implied volatilities from option prices.
    Iv(iv::IvArgs),
    /// Calibrate SVI volatility surfaces to option quotes; write the surface, a fit report, charts.
    Calibrate(calibrate::CalibrateArgs),
    /// Margin a portfolio under the four models (or one) with a per-position breakdown.
    Margin(margin_cmd::MarginArgs),
    /// Margin the canonical portfolios under every model; write the efficiency table and chart.
    Efficiency(efficiency::EfficiencyArgs),
    /// Backtest every margin model against realised losses on real history; write docs/BACKTEST.md and charts.
    Backtest(backtest::BacktestArgs),
    /// Calibrate the basis and funding risk factors on the shared funding and OHLCV history.
    Basis(basis::BasisArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Price(args) => price::run(args),
        Command::Iv(args) => iv::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Margin(args) => margin_cmd::run(args),
        Command::Efficiency(args) => efficiency::run(args),
        Command::Backtest(args) => backtest::run(args),
        Command::Basis(args) => basis::run(args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
