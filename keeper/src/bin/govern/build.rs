//! `propose`, `execute`, `cancel` and `impact`: read the engine, check the change, print its
//! impact, simulate the engine call as the Safe, write the proposal file.

use std::path::PathBuf;

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolEvent};
use clap::Args;
use margin_keeper::{
    chain::Chain,
    govern::{
        change::{view, Change, Direction, EngineState},
        impact::{accounts_from_events, impact},
        proposal::{Action, ProposalFile, VERSION},
    },
    safe::ISafe,
    KeeperError,
};
use margin_types::abi::{IMarginEngine, IMarginEngineEvents};

use crate::{out_path, ChangeCmd, Globals};

/// Flags of `propose`, `execute` and `cancel`.
#[derive(Args)]
pub struct BuildArgs {
    #[command(subcommand)]
    change: ChangeCmd,
    /// Proposal file to write (owners sign it with `govern sign`).
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    /// Also write Safe Transaction Builder JSON here (for owners signing in the Safe web app).
    #[arg(long, global = true)]
    builder_json: Option<PathBuf>,
    /// The Safe that sends the call (default: the engine's admin).
    #[arg(long, global = true)]
    safe: Option<Address>,
    /// Safe nonce to use (default: the Safe's current nonce; raise it to prepare several
    /// transactions that execute in order).
    #[arg(long, global = true)]
    nonce: Option<u64>,
    /// eta of the queued change (execute, cancel; default: from the ChangeQueued events).
    #[arg(long, global = true)]
    eta: Option<u64>,
    /// First block of the engine's events to read (accounts and queued changes).
    #[arg(long, global = true, default_value_t = 0)]
    from_block: u64,
}

/// Flags of `impact`.
#[derive(Args)]
pub struct ImpactArgs {
    #[command(subcommand)]
    change: ChangeCmd,
    /// First block of the engine's events to read (accounts).
    #[arg(long, global = true, default_value_t = 0)]
    from_block: u64,
}

fn direction_text(direction: Direction) -> String {
    match direction {
        Direction::AtOnce => "tightening: applies at once when the Safe executes it".into(),
        Direction::Queued { delay } => format!(
            "loosening: queued behind the {delay} s timelock when the Safe executes it; then `govern execute`"
        ),
    }
}

async fn impact_lines(
    chain: &Chain,
    change: &Change,
    state: &EngineState,
    from_block: u64,
) -> Result<Vec<String>, KeeperError> {
    let accounts = accounts_from_events(chain, from_block).await?;
    Ok(impact(chain, change, state, &accounts).await?.render())
}

/// `govern impact`.
pub async fn impact_only(globals: &Globals, args: ImpactArgs) -> Result<(), KeeperError> {
    let engine = globals.engine()?;
    let chain = globals.reader(engine)?;
    let state = EngineState::read(&chain).await?;
    let change = args.change.change();
    let direction = change.check(&state)?;
    println!("change: {} ({})", change.describe(&state), direction_text(direction));
    for line in impact_lines(&chain, &change, &state, args.from_block).await? {
        println!("{line}");
    }
    Ok(())
}

/// The eta of the latest still-queued `change`, from the engine's ChangeQueued events.
async fn find_eta(chain: &Chain, change: &Change, from_block: u64) -> Result<u64, KeeperError> {
    let wanted = change.param_change();
    let head = chain.head().await?;
    let mut found = None;
    let mut from = from_block;
    while from <= head {
        let to = (from + 9_999).min(head);
        for log in chain.engine_logs(from, to).await? {
            if let Ok(e) = IMarginEngineEvents::ChangeQueued::decode_log(&log.inner) {
                if e.kind == wanted.kind && e.target == wanted.target && e.value == wanted.value {
                    found = Some(e.eta);
                }
            }
        }
        from = to + 1;
    }
    let eta = found.ok_or_else(|| KeeperError::Flag {
        flag: "--eta",
        value: "(not given)".into(),
        reason: format!(
            "no ChangeQueued event for this change since block {from_block}; queue it with `govern propose`, or pass --eta"
        ),
    })?;
    Ok(eta)
}

/// `govern propose | execute | cancel`.
pub async fn run(globals: &Globals, action: Action, args: BuildArgs) -> Result<(), KeeperError> {
    let engine = globals.engine()?;
    let out = out_path("--out", &args.out)?;
    let chain = globals.reader(engine)?;
    let state = EngineState::read(&chain).await?;
    let change = args.change.change();
    let safe = args.safe.unwrap_or(state.admin);
    if safe != state.admin && safe != state.risk_council {
        return Err(KeeperError::Flag {
            flag: "--safe",
            value: safe.to_string(),
            reason: format!(
                "neither the engine's admin {} nor its risk council {}; omit --safe to use the admin",
                state.admin, state.risk_council
            ),
        });
    }
    let description = change.describe(&state);
    let (data, eta, change_id, headline) = match action {
        Action::Propose => {
            let direction = change.check(&state)?;
            if matches!(direction, Direction::Queued { .. }) && safe != state.admin {
                return Err(KeeperError::Flag {
                    flag: "--safe",
                    value: safe.to_string(),
                    reason: "only the admin may queue a loosening change (the risk council only tightens); omit --safe".into(),
                });
            }
            let data =
                IMarginEngine::proposeChangeCall { change: change.param_change() }.abi_encode();
            (data, None, None, format!("propose {description} ({})", direction_text(direction)))
        }
        Action::Execute | Action::Cancel => {
            let eta = match args.eta {
                Some(eta) => eta,
                None => find_eta(&chain, &change, args.from_block).await?,
            };
            let id = change.change_id(eta);
            let queued = view(&chain, IMarginEngine::queuedChangeEtaCall { changeId: id }).await?;
            if queued == 0 {
                return Err(KeeperError::Flag {
                    flag: "--eta",
                    value: eta.to_string(),
                    reason: format!(
                        "no queued change {description} with this eta (id {id}): it was executed or cancelled, or never queued"
                    ),
                });
            }
            let (data, verb) = if action == Action::Execute {
                let call = IMarginEngine::executeChangeCall { change: change.param_change(), eta };
                (call.abi_encode(), "execute")
            } else {
                (IMarginEngine::cancelChangeCall { changeId: id }.abi_encode(), "cancel")
            };
            (
                data,
                Some(eta),
                Some(id),
                format!("{verb} queued change {description} (eta {eta}, id {id})"),
            )
        }
    };
    println!("{headline}");
    let impact = if action == Action::Cancel {
        vec!["no margin impact: the queued change never applies".to_string()]
    } else {
        impact_lines(&chain, &change, &state, args.from_block).await?
    };
    for line in &impact {
        println!("{line}");
    }
    // The engine call as the Safe will make it: its custom error now, not GS013 later.
    if let Err(KeeperError::Reverted { revert }) = chain.call_as(safe, engine, data.clone()).await {
        if action == Action::Execute && revert.contains("TimelockNotElapsed") {
            println!("note: executable from eta {} only (now the engine reverts with {revert}); owners may sign now, run `govern exec` after the eta", eta.unwrap_or_default());
        } else {
            return Err(KeeperError::Reverted {
                revert: format!("the engine would refuse this call from the Safe {safe}: {revert}"),
            });
        }
    }
    let nonce = match args.nonce {
        Some(n) => U256::from(n),
        None => {
            let out = chain.provider_call(safe, ISafe::nonceCall {}.abi_encode()).await?;
            ISafe::nonceCall::abi_decode_returns(&out)
                .map_err(|e| KeeperError::Rpc(e.to_string()))?
        }
    };
    let chain_id = chain.chain_id().await?;
    let mut file = ProposalFile {
        version: VERSION,
        chain_id,
        safe,
        to: engine,
        data: data.into(),
        nonce,
        safe_tx_hash: Default::default(),
        action,
        change,
        eta,
        change_id,
        description: headline.clone(),
        impact,
        signatures: Vec::new(),
    };
    file.safe_tx_hash = file.digest();
    file.save(&out)?;
    println!(
        "wrote {}: Safe {safe} nonce {nonce}, safeTxHash {}",
        out.display(),
        file.safe_tx_hash
    );
    if let Some(path) = &args.builder_json {
        crate::export::write_builder_json(&file, path)?;
        println!("wrote Safe Transaction Builder JSON {}", path.display());
    }
    println!(
        "next: each owner runs `govern sign --tx {0}` (key in $OWNER_KEY), then `govern exec --tx {0}`",
        out.display()
    );
    Ok(())
}
