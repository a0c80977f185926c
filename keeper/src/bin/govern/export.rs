//! `export`: Safe Transaction Builder JSON for owners who sign in the Safe web app.

use std::path::{Path, PathBuf};

use clap::Args;
use margin_keeper::{govern::proposal::ProposalFile, KeeperError};

/// Flags of `export`.
#[derive(Args)]
pub struct ExportArgs {
    /// The proposal file.
    #[arg(long)]
    tx: PathBuf,
    /// Where to write the Transaction Builder JSON.
    #[arg(long)]
    out: PathBuf,
}

/// Writes `file`'s transaction as Transaction Builder JSON to `path`.
pub fn write_builder_json(file: &ProposalFile, path: &Path) -> Result<(), KeeperError> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let json = file.safe_tx().transaction_builder_json(
        file.chain_id,
        file.safe,
        &format!("cross-margin governance: {:?} (Safe nonce {})", file.action, file.nonce),
        &file.description,
        now_ms,
    )?;
    let text = serde_json::to_string_pretty(&json)
        .map_err(|e| KeeperError::Io(std::io::Error::other(e)))?;
    std::fs::write(path, text + "\n").map_err(|e| KeeperError::Flag {
        flag: "--out",
        value: path.display().to_string(),
        reason: format!("cannot write it ({e})"),
    })
}

/// `govern export`.
pub fn run(args: ExportArgs) -> Result<(), KeeperError> {
    let file = ProposalFile::load(&args.tx)?;
    write_builder_json(&file, &args.out)?;
    println!(
        "wrote {} (import it in the Safe web app's Transaction Builder; the web app proposes it \
         at the Safe's next nonce, which must be {})",
        args.out.display(),
        file.nonce
    );
    Ok(())
}
