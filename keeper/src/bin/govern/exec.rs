//! `exec`: checks the proposal against the Safe (chain, nonce, owners), simulates the engine call
//! as the Safe (to surface the engine's custom error, which the Safe would hide behind GS013),
//! then sends `execTransaction` with the collected signatures.

use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolEventInterface};
use clap::Args;
use margin_keeper::{chain::Chain, govern::proposal::ProposalFile, safe::ISafe, KeeperError};
use margin_types::abi::IMarginEngineEvents::IMarginEngineEventsEvents as Event;

use crate::{key_from_env, Globals};

/// Flags of `exec`.
#[derive(Args)]
pub struct ExecArgs {
    /// The signed proposal file.
    #[arg(long)]
    tx: PathBuf,
    /// Environment variable holding the sender's hex private key (any account; it pays gas).
    #[arg(long, default_value = "GOVERN_SENDER_KEY")]
    key_env: String,
}

/// The Safe's revert codes this tool can run into, explained.
fn explain_safe(revert: &str) -> String {
    let hint = [
        ("GS013", "the engine call failed inside the Safe"),
        ("GS020", "signatures data too short: fewer owner signatures than the Safe's threshold; collect more with `govern sign`"),
        ("GS025", "a signature's hash was not approved"),
        ("GS026", "a signer is not an owner, or signatures are not in ascending owner order"),
    ]
    .iter()
    .find(|(code, _)| revert.contains(code))
    .map(|(_, hint)| *hint);
    match hint {
        Some(hint) => format!("the Safe refused: {revert} ({hint})"),
        None => format!("the Safe refused: {revert}"),
    }
}

async fn safe_view<C: SolCall>(
    chain: &Chain,
    safe: Address,
    call: C,
) -> Result<C::Return, KeeperError> {
    let out = chain.provider_call(safe, call.abi_encode()).await?;
    C::abi_decode_returns(&out).map_err(|e| KeeperError::Rpc(format!("{}: {e}", C::SIGNATURE)))
}

/// `govern exec`.
pub async fn run(globals: &Globals, args: ExecArgs) -> Result<(), KeeperError> {
    let file = ProposalFile::load(&args.tx)?;
    let signatures = file.verified_signatures()?;
    let key = key_from_env("--key-env", &args.key_env)?;
    let signer = PrivateKeySigner::from_bytes(&key).map_err(|e| KeeperError::Flag {
        flag: "--key-env",
        value: args.key_env.clone(),
        reason: format!("not a valid secp256k1 key ({e})"),
    })?;
    let chain = Chain::connect(&globals.rpc, signer, file.to)?;
    let chain_id = chain.chain_id().await?;
    if chain_id != file.chain_id {
        return Err(KeeperError::Flag {
            flag: "--rpc",
            value: globals.rpc.clone(),
            reason: format!(
                "chain id {chain_id}, but the proposal is for chain {}; point --rpc at that chain",
                file.chain_id
            ),
        });
    }
    let nonce: U256 = safe_view(&chain, file.safe, ISafe::nonceCall {}).await?;
    if nonce != file.nonce {
        let why = if nonce > file.nonce {
            "the Safe executed another transaction with that nonce meanwhile; rebuild the proposal and sign again"
        } else {
            "earlier Safe transactions must execute first"
        };
        return Err(KeeperError::Flag {
            flag: "--tx",
            value: args.tx.display().to_string(),
            reason: format!("built for Safe nonce {}, the Safe is at {nonce}: {why}", file.nonce),
        });
    }
    let owners: Vec<Address> = safe_view(&chain, file.safe, ISafe::getOwnersCall {}).await?;
    let threshold: U256 = safe_view(&chain, file.safe, ISafe::getThresholdCall {}).await?;
    for (owner, _) in &signatures {
        if !owners.contains(owner) {
            return Err(KeeperError::Flag {
                flag: "--tx",
                value: args.tx.display().to_string(),
                reason: format!(
                    "signed by {owner}, not an owner of the Safe {}; remove that signature",
                    file.safe
                ),
            });
        }
    }
    println!(
        "{}\nSafe {} nonce {}: {} owner signature(s), threshold {threshold}",
        file.description,
        file.safe,
        file.nonce,
        signatures.len()
    );
    // The engine call exactly as the Safe will make it.
    if let Err(KeeperError::Reverted { revert }) =
        chain.call_as(file.safe, file.to, file.data.to_vec()).await
    {
        let hint = if revert.contains("TimelockNotElapsed") {
            format!(
                "; wait until the eta {} (block timestamp) and run exec again",
                file.eta.unwrap_or_default()
            )
        } else {
            String::new()
        };
        return Err(KeeperError::Reverted {
            revert: format!("the engine would revert: {revert}{hint}"),
        });
    }
    let mined = chain
        .send(Some(file.safe), file.safe_tx().exec_calldata(signatures))
        .await
        .map_err(|e| match e {
            KeeperError::Reverted { revert } => {
                KeeperError::Reverted { revert: explain_safe(&revert) }
            }
            e => e,
        })?;
    println!("executed: transaction {} in block {}", mined.hash, mined.block);
    for log in chain.engine_logs(mined.block, mined.block).await? {
        match Event::decode_log(&log.inner).map(|e| e.data) {
            Ok(Event::ChangeApplied(e)) => {
                println!("engine: ChangeApplied kind {} target {} value {}", e.kind, e.target, e.value)
            }
            Ok(Event::ChangeQueued(e)) => println!(
                "engine: ChangeQueued kind {} target {} value {} eta {} (id {}); after the eta: `govern execute` with the same change flags",
                e.kind, e.target, e.value, e.eta, e.changeId
            ),
            Ok(Event::ChangeCancelled(e)) => println!("engine: ChangeCancelled {}", e.changeId),
            Ok(Event::RiskEpochBumped(e)) => println!("engine: RiskEpochBumped to {}", e.riskEpoch),
            _ => {}
        }
    }
    Ok(())
}
