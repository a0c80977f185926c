//! `sign`: one owner adds an EIP-712 SafeTx signature to the proposal file (offline: no RPC).

use std::path::PathBuf;

use clap::Args;
use margin_keeper::{govern::proposal::ProposalFile, KeeperError};
use margin_types::signer::KeeperSigner;

use crate::key_from_env;

/// Flags of `sign`.
#[derive(Args)]
pub struct SignArgs {
    /// The proposal file (`govern propose --out`); the signature is added to it.
    #[arg(long)]
    tx: PathBuf,
    /// Environment variable holding this owner's hex private key.
    #[arg(long, default_value = "OWNER_KEY")]
    key_env: String,
}

/// `govern sign`.
pub fn run(args: SignArgs) -> Result<(), KeeperError> {
    let mut file = ProposalFile::load(&args.tx)?;
    // What is being signed, before signing it.
    println!("{}", file.description);
    for line in &file.impact {
        println!("{line}");
    }
    println!(
        "SafeTx: Safe {} (chain {}) nonce {} -> {} data {} bytes, safeTxHash {}",
        file.safe,
        file.chain_id,
        file.nonce,
        file.to,
        file.data.len(),
        file.safe_tx_hash
    );
    let key = key_from_env("--key-env", &args.key_env)?;
    let signer = KeeperSigner::from_bytes(&key).map_err(|e| KeeperError::Flag {
        flag: "--key-env",
        value: args.key_env.clone(),
        reason: format!("not a valid secp256k1 key ({e})"),
    })?;
    let replaced = file.sign(&signer)?;
    file.save(&args.tx)?;
    println!(
        "owner {} {} ({} signature(s) in {})",
        signer.address(),
        if replaced { "signed again (replaced its signature)" } else { "signed" },
        file.signatures.len(),
        args.tx.display()
    );
    Ok(())
}
