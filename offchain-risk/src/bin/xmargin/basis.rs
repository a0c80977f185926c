//! `xmargin basis`: calibrates the basis and funding factors on the shared data set (Binance
//! funding and OHLCV) and prints the per-asset table, each asset's rounded factors and the pooled
//! fallback (JSON with `--json`): the numbers `BasisRisk::calibrated()` holds.

use std::path::PathBuf;

use clap::Args;
use offchain_risk::backtest::basis::{basis_table, calibrate_basis};
use offchain_risk::history::DataDir;
use offchain_risk::RiskError;

use crate::io::to_json;

/// Arguments of `xmargin basis`.
#[derive(Debug, Args)]
pub struct BasisArgs {
    /// Margin period of risk in days (default 1, the default margin period).
    #[arg(long, default_value_t = 1)]
    pub horizon_days: u32,
    /// Data directory (default: $XMARGIN_DATA_DIR, else <repo>/../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print the calibration as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the subcommand.
pub fn run(args: &BasisArgs) -> Result<(), RiskError> {
    let data = match &args.data_dir {
        Some(dir) => DataDir::at(dir),
        None => DataDir::locate()?,
    };
    let calibration = calibrate_basis(&data, args.horizon_days)?;
    if args.json {
        println!("{}", to_json(&calibration));
    } else {
        print!("{}", basis_table(&calibration));
    }
    Ok(())
}
