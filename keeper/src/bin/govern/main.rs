//! `govern`: the governance CLI. Builds Safe 1.4.1 transactions that change the engine's
//! collateral weights, risk parameters, keeper set and quorum (`proposeChange`, then
//! `executeChange` after the timelock for loosening changes, or `cancelChange`), prints each
//! change's impact on accounts before anything is signed, lets every owner sign the EIP-712
//! SafeTx on their own machine (`sign` appends to the JSON file), exports Safe Transaction
//! Builder JSON for owners who sign in the Safe web app, and executes with `execTransaction`.
//!
//! ```sh
//! govern --rpc URL --engine ENGINE propose weight --asset WETH --weight-bps 8000 --out tx.json
//! OWNER_KEY=0x... govern sign --tx tx.json        # each owner, anywhere
//! GOVERN_SENDER_KEY=0x... govern --rpc URL exec --tx tx.json
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod build;
mod exec;
mod export;
mod sign;

use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::{Address, B256, U256};
use clap::{Parser, Subcommand};
use margin_keeper::{
    chain::Chain,
    govern::change::{Change, RiskParam},
    KeeperError,
};

/// Cross-margin engine governance through its Safe.
#[derive(Parser)]
#[command(
    name = "govern",
    version,
    about = "Cross-margin engine governance through its Safe: build, sign (one owner at a time), export and execute changes"
)]
struct Cli {
    /// JSON-RPC endpoint.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// The MarginEngine (needed by propose, execute, cancel and impact).
    #[arg(long, global = true)]
    engine: Option<Address>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a `proposeChange` Safe transaction: tightening applies at once when the Safe
    /// executes it, loosening is queued behind the timelock. Prints the impact first.
    Propose(build::BuildArgs),
    /// Build an `executeChange` Safe transaction for a queued change (after its eta).
    Execute(build::BuildArgs),
    /// Build a `cancelChange` Safe transaction for a queued change.
    Cancel(build::BuildArgs),
    /// Print a change's impact only (nothing is written).
    Impact(build::ImpactArgs),
    /// Add one owner's EIP-712 SafeTx signature to a proposal file.
    Sign(sign::SignArgs),
    /// Execute a signed proposal through the Safe (`execTransaction`).
    Exec(exec::ExecArgs),
    /// Write Safe Transaction Builder JSON for a proposal file.
    Export(export::ExportArgs),
}

/// The change, as flags.
#[derive(Subcommand, Clone)]
pub enum ChangeCmd {
    /// Collateral weight of a listed asset (kind 0): lower applies at once, higher is queued.
    Weight {
        /// The listed collateral asset.
        #[arg(long)]
        asset: Address,
        /// New weight in bps, [0, 10000].
        #[arg(long)]
        weight_bps: u64,
    },
    /// A risk parameter (kinds 2-7): liquidation threshold, penalty, report/price age,
    /// notional cap, timelock delay.
    #[command(alias = "threshold")]
    RiskParam {
        /// Which parameter.
        #[arg(long, value_enum)]
        param: RiskParam,
        /// New value (bps, blocks, seconds or USD with 18 decimals, as the parameter says).
        #[arg(long)]
        value: U256,
    },
    /// Register a keeper (kind 9, queued).
    AddKeeper {
        /// The keeper's address.
        #[arg(long)]
        keeper: Address,
    },
    /// Deregister a keeper (kind 10, at once; bumps the risk epoch).
    RemoveKeeper {
        /// The keeper's address.
        #[arg(long)]
        keeper: Address,
    },
    /// Signatures per batch (kind 8): higher applies at once (bumps the risk epoch), lower is queued.
    Quorum {
        /// New quorum, [1, keepers].
        #[arg(long)]
        quorum: u64,
    },
}

impl ChangeCmd {
    fn change(&self) -> Change {
        match self.clone() {
            Self::Weight { asset, weight_bps } => Change::Weight { asset, weight_bps },
            Self::RiskParam { param, value } => Change::RiskParam { param, value },
            Self::AddKeeper { keeper } => Change::AddKeeper { keeper },
            Self::RemoveKeeper { keeper } => Change::RemoveKeeper { keeper },
            Self::Quorum { quorum } => Change::Quorum { quorum },
        }
    }
}

/// Global options every subcommand may use.
pub struct Globals {
    rpc: String,
    engine: Option<Address>,
}

impl Globals {
    /// The engine, or a named error.
    pub fn engine(&self) -> Result<Address, KeeperError> {
        self.engine.ok_or_else(|| KeeperError::Flag {
            flag: "--engine",
            value: "(missing)".into(),
            reason: "required: pass the MarginEngine's address".into(),
        })
    }

    /// A read-only connection (its key never sends).
    pub fn reader(&self, engine: Address) -> Result<Chain, KeeperError> {
        let key = B256::with_last_byte(1);
        let signer = PrivateKeySigner::from_bytes(&key)
            .map_err(|e| KeeperError::Rpc(format!("reader key: {e}")))?;
        Chain::connect(&self.rpc, signer, engine).map_err(|e| match e {
            KeeperError::Config { reason, .. } => {
                KeeperError::Flag { flag: "--rpc", value: self.rpc.clone(), reason }
            }
            e => e,
        })
    }
}

/// A signing key from environment variable `var` (named `flag` on the command line).
pub fn key_from_env(flag: &'static str, var: &str) -> Result<B256, KeeperError> {
    let text = std::env::var(var).map_err(|_| KeeperError::Flag {
        flag,
        value: var.into(),
        reason: format!("environment variable {var} is not set; export the hex private key in it"),
    })?;
    text.trim().parse::<B256>().map_err(|e| KeeperError::Flag {
        flag,
        value: var.into(),
        reason: format!("{var} does not hold a 32-byte hex private key ({e})"),
    })
}

/// Where to write a file, as a flag.
pub fn out_path(flag: &'static str, path: &Option<PathBuf>) -> Result<PathBuf, KeeperError> {
    path.clone().ok_or_else(|| KeeperError::Flag {
        flag,
        value: "(missing)".into(),
        reason: "required: pass the file to write, e.g. tx.json".into(),
    })
}

async fn run(cli: Cli) -> Result<(), KeeperError> {
    let globals = Globals { rpc: cli.rpc, engine: cli.engine };
    match cli.command {
        Command::Propose(args) => {
            build::run(&globals, margin_keeper::govern::proposal::Action::Propose, args).await
        }
        Command::Execute(args) => {
            build::run(&globals, margin_keeper::govern::proposal::Action::Execute, args).await
        }
        Command::Cancel(args) => {
            build::run(&globals, margin_keeper::govern::proposal::Action::Cancel, args).await
        }
        Command::Impact(args) => build::impact_only(&globals, args).await,
        Command::Sign(args) => sign::run(args),
        Command::Exec(args) => exec::run(&globals, args).await,
        Command::Export(args) => export::run(args),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
