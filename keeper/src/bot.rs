//! The liquidation bot: takes quorum-signed liquidation steps from the keepers (`GET /steps`)
//! and executes them, one step per account per block and within the block's notional cap, each
//! simulated first so a step the engine would reject (stale nonce, account healthy again, the
//! account already liquidated this block, cap exhausted, own margin short) costs no gas.
//!
//! "Block" is the engine's block clock (`clockBlock()`: the L2 block on Arbitrum, where many L2
//! blocks share one `block.number`): the cap the bot reads (`liquidatedNotionalThisBlock`) and the
//! one-step rule the simulation enforces both count in it, and [`Executed::clock_block`] is the
//! clock block the engine recorded the step in.

use std::{collections::BTreeSet, sync::atomic::Ordering, sync::Arc};

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use margin_types::abi::IMarginEngine;
use tracing::{info, warn};

use crate::{
    chain::Chain,
    error::{KeeperError, Result},
    metrics::Metrics,
    node::StepTicket,
};

/// A step the bot executed.
#[derive(Debug, Clone)]
pub struct Executed {
    /// The liquidated account.
    pub account: Address,
    /// Signed size taken over (the account's position change).
    pub size: i128,
    /// Mark price, USD 18 decimals.
    pub mark_price: u128,
    /// Block it was mined in (the node's numbering).
    pub block: u64,
    /// The engine's clock block of the step (the account's `lastLiquidationBlock` after it).
    pub clock_block: u64,
}

/// The bot (its chain connection sends from the liquidator's account).
pub struct LiquidationBot {
    chain: Chain,
    keepers: Vec<String>,
    http: reqwest::Client,
    /// Counters (liquidations executed, rejections by reason).
    pub metrics: Arc<Metrics>,
    done: tokio::sync::Mutex<BTreeSet<(Address, u64)>>,
}

fn decode<C: SolCall>(out: &[u8]) -> Result<C::Return> {
    C::abi_decode_returns(out).map_err(|e| KeeperError::Rpc(format!("undecodable return: {e}")))
}

impl LiquidationBot {
    /// A bot asking the keepers at `keeper_urls` for steps.
    pub fn new(chain: Chain, keeper_urls: Vec<String>) -> Self {
        Self {
            chain,
            keepers: keeper_urls,
            http: reqwest::Client::new(),
            metrics: Arc::new(Metrics::default()),
            done: tokio::sync::Mutex::new(BTreeSet::new()),
        }
    }

    /// Steps from every keeper that answers, merged: one per account, the newest observed.
    pub async fn fetch_steps(&self) -> Vec<StepTicket> {
        let mut out: Vec<StepTicket> = Vec::new();
        for url in &self.keepers {
            let url = format!("{}/steps", url.trim_end_matches('/'));
            match self.http.get(&url).send().await {
                Ok(response) => match response.json::<Vec<StepTicket>>().await {
                    Ok(tickets) => {
                        for t in tickets {
                            let account = t.batch.steps[t.index].account;
                            // The engine takes only a step observed at or after the account's latest
                            // report: keep the newest one any keeper knows of.
                            match out.iter_mut().find(|o| o.batch.steps[o.index].account == account)
                            {
                                Some(o) if o.batch.observed_block < t.batch.observed_block => {
                                    *o = t
                                }
                                Some(_) => {}
                                None => out.push(t),
                            }
                        }
                    }
                    Err(error) => warn!(%url, %error, "bad /steps answer"),
                },
                Err(error) => warn!(%url, %error, "keeper unreachable"),
            }
        }
        out
    }

    /// One pass: execute every executable step (at most one per account).
    pub async fn run_once(&self) -> Result<Vec<Executed>> {
        let tickets = self.fetch_steps().await;
        let mut executed = Vec::new();
        for ticket in tickets {
            match self.execute(&ticket).await {
                Ok(Some(e)) => executed.push(e),
                Ok(None) => {}
                Err(KeeperError::Reverted { revert }) => {
                    // Simulation refused it: nothing was sent.
                    info!(%revert, "step rejected in simulation; not sent");
                    self.metrics.reject("simulation_rejected");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(executed)
    }

    /// Executes one ticket if the engine's state still matches it; `Ok(None)` if skipped.
    pub async fn execute(&self, ticket: &StepTicket) -> Result<Option<Executed>> {
        let step = &ticket.batch.steps[ticket.index];
        let key = (step.account, step.positions_nonce);
        if self.done.lock().await.contains(&key) {
            return Ok(None);
        }
        let state = decode::<IMarginEngine::accountStateCall>(
            &self
                .chain
                .call(IMarginEngine::accountStateCall { account: step.account }.abi_encode())
                .await?,
        )?;
        if state.positionsNonce.to::<u64>() != step.positions_nonce {
            return Ok(None);
        }
        let liquidatable = decode::<IMarginEngine::isLiquidatableCall>(
            &self
                .chain
                .call(IMarginEngine::isLiquidatableCall { account: step.account }.abi_encode())
                .await?,
        )?;
        if !liquidatable {
            return Ok(None);
        }
        // The per-block cap: skip what would not fit (the engine would reject it).
        let params = decode::<IMarginEngine::riskParamsCall>(
            &self.chain.call(IMarginEngine::riskParamsCall {}.abi_encode()).await?,
        )?;
        let used = decode::<IMarginEngine::liquidatedNotionalThisBlockCall>(
            &self
                .chain
                .call(IMarginEngine::liquidatedNotionalThisBlockCall {}.abi_encode())
                .await?,
        )?;
        let notional = U256::from(step.size.unsigned_abs()) * U256::from(step.mark_price)
            / U256::from(10u128.pow(18));
        if used + notional > U256::from(params.liquidationNotionalCapPerBlock) {
            self.metrics.reject("cap_exhausted");
            return Ok(None);
        }
        let mined = self.chain.send(None, ticket.batch.liquidate_calldata(ticket.index)?).await?;
        self.done.lock().await.insert(key);
        let after = decode::<IMarginEngine::accountStateCall>(
            &self
                .chain
                .call_at(
                    IMarginEngine::accountStateCall { account: step.account }.abi_encode(),
                    mined.block,
                )
                .await?,
        )?;
        self.metrics.liquidations_executed.fetch_add(1, Ordering::Relaxed);
        info!(account = %step.account, size = step.size, block = mined.block, "liquidation step executed");
        Ok(Some(Executed {
            account: step.account,
            size: step.size,
            mark_price: step.mark_price,
            block: mined.block,
            clock_block: after.lastLiquidationBlock.to::<u64>(),
        }))
    }
}
