//! One keeper: index the chain, compute the block's batch, cosign with peers over HTTP, submit.
//!
//! Per block `N` (the chain head once indexed; the node's numbering, which state and market data
//! are read at) the batch is signed with observedBlock = the engine's block clock at `N`
//! ([`Chain::clock_at`], `clockBlock()`: the L2 block on Arbitrum), never `N` taken on trust:
//! cosigners read the clock themselves.
//! 1. [`Node::sync`] indexes the engine's logs up to `N` (rolling back orphaned blocks when a
//!    recorded hash no longer matches the chain) and keeps the book as of each recent block.
//! 2. If this keeper is `N`'s leader ([`crate::cosign::leader_of`]), [`Node::tick`] computes the
//!    batch ([`Node::compute_batch`]): prices, the accounts whose report changed or ages, every
//!    account below maintenance with one liquidation step each; journals and signs it.
//! 3. It POSTs a [`Proposal`] to each configured peer's `/cosign`; a peer ([`Node::cosign`])
//!    checks the leader and its signature, recomputes exactly the proposed items from its own index
//!    at block `N` and signs only if every leaf matches (journaling first: one root per block,
//!    one report per account and nonce, ever).
//! 4. With `quorum` signatures the leader submits `postBatch` (simulated first, retried).
//!
//! HTTP (axum, loopback): `POST /cosign`, `GET /metrics` (Prometheus), `GET /steps` (liquidation
//! steps of posted batches, for the liquidation bot), `GET /health`.

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use alloy_primitives::{Address, Bytes, B256, I256, U256};
use alloy_sol_types::{SolCall, SolEventInterface};
use axum::{extract::State, routing::get, routing::post, Json, Router};
use margin_types::{
    abi::{IMarginEngine, IMarginEngineEvents::IMarginEngineEventsEvents as Event},
    eip712::SignedStruct,
    signer::KeeperSigner,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tracing::{debug, info, warn};

use crate::{
    batch::{Batch, MarginReportJson},
    chain::Chain,
    cosign::{first_difference, leader_of, recover, CosignResponse, Proposal},
    error::{KeeperError, Result},
    index::{active_accounts, EngineBook, EngineIndex},
    metrics::Metrics,
    model::{MarginNumbers, OnchainHealth, RiskModel},
    store::{SignedReport, SignedStore},
};

/// Blocks of book history kept for cosigning slightly older proposals.
const HISTORY: u64 = 16;

/// A peer keeper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// Its name (logs and metrics).
    pub name: String,
    /// Its HTTP base URL, e.g. `http://127.0.0.1:9101`.
    pub url: String,
    /// Its keeper address (its signatures must recover to it).
    pub address: Address,
}

/// What a node needs besides its model.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// Name in logs and metrics.
    pub name: String,
    /// First block to index (the engine's deployment block).
    pub start_block: u64,
    /// Peers to ask for cosignatures (and the only leaders whose proposals are accepted).
    pub peers: Vec<Peer>,
    /// Signing journal (SQLite); `None` keeps it in memory (tests only).
    pub db_path: Option<PathBuf>,
    /// A report is re-sent when it is this many blocks (of the engine's clock) old even if
    /// nothing changed.
    pub refresh_blocks: u64,
    /// A report is re-sent when maintenance margin or portfolio value moved by this many bps.
    pub change_bps: u64,
    /// Time to wait for a peer's answer.
    pub peer_timeout: Duration,
}

/// A posted batch's liquidation step, with what the liquidator needs to prove it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepTicket {
    /// The batch the step is a leaf of.
    pub batch: Batch,
    /// Index of the step in `batch.steps`.
    pub index: usize,
}

/// The last report of an account this keeper knows the engine holds.
#[derive(Debug, Clone, Copy)]
struct Reported {
    nonce: u64,
    epoch: u32,
    block: u64,
    numbers: MarginNumbers,
}

struct NodeState {
    index: EngineIndex,
    history: BTreeMap<u64, EngineBook>,
    store: SignedStore,
    /// Batches this keeper signed, by root.
    signed: HashMap<B256, Batch>,
    /// Roots posted on-chain (BatchPosted), newest last.
    posted: Vec<B256>,
    reported: HashMap<Address, Reported>,
    last_led: Option<u64>,
    last_price_post: u64,
}

/// A keeper node (cheap to clone: everything is shared).
#[derive(Clone)]
pub struct Node {
    inner: Arc<NodeInner>,
}

struct NodeInner {
    settings: NodeSettings,
    signer: KeeperSigner,
    chain: Chain,
    chain_id: u64,
    model: Arc<dyn RiskModel>,
    metrics: Arc<Metrics>,
    http: reqwest::Client,
    state: Mutex<NodeState>,
}

/// On-chain context of a block the keepers compute at.
#[derive(Debug, Clone)]
struct BlockContext {
    keepers: Vec<Address>,
    quorum: u8,
    threshold_bps: u16,
    /// Listed assets: (asset, decimals, weight bps).
    assets: Vec<(Address, u8, u16)>,
}

fn decode<C: SolCall>(out: &[u8]) -> Result<C::Return> {
    C::abi_decode_returns(out).map_err(|e| KeeperError::Rpc(format!("undecodable return: {e}")))
}

impl Node {
    /// A node signing with `key` (the same key pays for its transactions through `chain`).
    pub async fn new(
        settings: NodeSettings,
        key: B256,
        chain: Chain,
        model: Arc<dyn RiskModel>,
    ) -> Result<Self> {
        let signer = KeeperSigner::from_bytes(&key)?;
        let store = match &settings.db_path {
            Some(path) => SignedStore::open(path)?,
            None => SignedStore::in_memory()?,
        };
        let chain_id = chain.chain_id().await?;
        let http = reqwest::Client::builder()
            .timeout(settings.peer_timeout)
            .build()
            .map_err(|e| KeeperError::Config { field: "http", reason: e.to_string() })?;
        let state = NodeState {
            index: EngineIndex::default(),
            history: BTreeMap::new(),
            store,
            signed: HashMap::new(),
            posted: Vec::new(),
            reported: HashMap::new(),
            last_led: None,
            last_price_post: 0,
        };
        Ok(Self {
            inner: Arc::new(NodeInner {
                settings,
                signer,
                chain,
                chain_id,
                model,
                metrics: Arc::new(Metrics::default()),
                http,
                state: Mutex::new(state),
            }),
        })
    }

    /// The keeper's address.
    pub fn address(&self) -> Address {
        self.inner.signer.address()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.inner.settings.name
    }

    /// Its metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Its chain connection.
    pub fn chain(&self) -> &Chain {
        &self.inner.chain
    }

    /// The highest block indexed.
    pub async fn indexed_head(&self) -> Option<u64> {
        self.inner.state.lock().await.index.head
    }

    /// A copy of the book as of the last indexed block.
    pub async fn book(&self) -> EngineBook {
        self.inner.state.lock().await.index.book().clone()
    }

    /// Batches signed, from the journal.
    pub async fn signed_batch_count(&self) -> Result<u64> {
        self.inner.state.lock().await.store.signed_batch_count()
    }

    /// Indexes up to the chain head; returns the head.
    pub async fn sync(&self) -> Result<u64> {
        let head = self.inner.chain.head().await?;
        let mut state = self.inner.state.lock().await;
        self.sync_locked(&mut state, head).await?;
        Ok(head)
    }

    async fn sync_locked(&self, state: &mut NodeState, target: u64) -> Result<()> {
        let chain = &self.inner.chain;
        // Reorg: walk back while our recorded hash differs from the chain's.
        while let Some(head) = state.index.head {
            let Some(ours) = state.index.block_hash(head) else { break };
            let (theirs, _) = chain.block_hashes(head).await?;
            if ours == theirs {
                break;
            }
            warn!(keeper = %self.name(), block = head, "reorg: block replaced; rolling back");
            self.inner.metrics.reject("reorg");
            let back = head.saturating_sub(1);
            state.index.rollback_to(back);
            state.history.retain(|b, _| *b <= back);
            state.posted.clear();
        }
        let from = state.index.head.map_or(self.inner.settings.start_block, |h| h + 1);
        if from > target {
            return Ok(());
        }
        let logs = chain.engine_logs(from, target).await?;
        let mut by_block: BTreeMap<u64, Vec<alloy::rpc::types::Log>> = BTreeMap::new();
        for log in logs {
            if let Some(b) = log.block_number {
                by_block.entry(b).or_default().push(log);
            }
        }
        for block in from..=target {
            let logs = by_block.remove(&block).unwrap_or_default();
            // Hashes matter only for blocks a reorg can still replace.
            let hash = if target - block < crate::index::REORG_DEPTH {
                chain.block_hashes(block).await?.0
            } else {
                B256::ZERO
            };
            for log in &logs {
                if let Ok(event) = Event::decode_log(&log.inner) {
                    if let Event::BatchPosted(e) = event.data {
                        // The leader recorded its own batch when it was mined.
                        if !state.posted.iter().rev().take(8).any(|r| *r == e.root) {
                            state.posted.push(e.root);
                        }
                        if let Some(batch) = state.signed.get(&e.root).cloned() {
                            for r in &batch.reports {
                                state.reported.insert(
                                    r.account,
                                    Reported {
                                        nonce: r.positions_nonce,
                                        epoch: batch.risk_epoch,
                                        block: batch.observed_block,
                                        numbers: MarginNumbers {
                                            portfolio_value: r.portfolio_value,
                                            initial_margin: r.initial_margin,
                                            maintenance_margin: r.maintenance_margin,
                                        },
                                    },
                                );
                            }
                            if !batch.prices.is_empty() {
                                state.last_price_post = batch.observed_block;
                            }
                        }
                    }
                }
            }
            state.index.apply_block(block, hash, &logs);
            if target - block < HISTORY {
                state.history.insert(block, state.index.book().clone());
            }
        }
        while state.history.len() as u64 > HISTORY {
            state.history.pop_first();
        }
        if state.posted.len() > 64 {
            let excess = state.posted.len() - 64;
            state.posted.drain(..excess);
        }
        Ok(())
    }

    async fn context(&self, block: u64) -> Result<BlockContext> {
        let chain = &self.inner.chain;
        let keepers = decode::<IMarginEngine::keepersCall>(
            &chain.call_at(IMarginEngine::keepersCall {}.abi_encode(), block).await?,
        )?;
        let quorum = decode::<IMarginEngine::quorumCall>(
            &chain.call_at(IMarginEngine::quorumCall {}.abi_encode(), block).await?,
        )?;
        let params = decode::<IMarginEngine::riskParamsCall>(
            &chain.call_at(IMarginEngine::riskParamsCall {}.abi_encode(), block).await?,
        )?;
        let listed = decode::<IMarginEngine::collateralAssetsCall>(
            &chain.call_at(IMarginEngine::collateralAssetsCall {}.abi_encode(), block).await?,
        )?;
        let mut assets = Vec::with_capacity(listed.len());
        for asset in listed {
            let info = decode::<IMarginEngine::collateralInfoCall>(
                &chain
                    .call_at(IMarginEngine::collateralInfoCall { asset }.abi_encode(), block)
                    .await?,
            )?;
            assets.push((asset, info.decimals, info.weightBps));
        }
        Ok(BlockContext { keepers, quorum, threshold_bps: params.liquidationThresholdBps, assets })
    }

    /// Weighted collateral value (with this batch's prices, as the engine will value it) plus
    /// cash, USD 18 decimals.
    fn collateral_and_cash(
        book: &EngineBook,
        account: Address,
        prices: &HashMap<Address, u128>,
        ctx: &BlockContext,
    ) -> i128 {
        let Some(view) = book.accounts.get(&account) else { return 0 };
        let mut weighted = U256::ZERO;
        for (asset, decimals, weight) in &ctx.assets {
            let balance = view.collateral.get(asset).copied().unwrap_or_default();
            let price = prices.get(asset).copied().unwrap_or_default();
            let value = balance * U256::from(price) / U256::from(10u64).pow(U256::from(*decimals));
            weighted += value * U256::from(*weight) / U256::from(10_000u64);
        }
        let weighted = i128::try_from(weighted).unwrap_or(i128::MAX / 2);
        weighted.saturating_add(i128::try_from(view.cash).unwrap_or_default())
    }

    /// Whether `numbers` put the account below the liquidation threshold.
    fn below(numbers: &MarginNumbers, collateral_and_cash: i128, threshold_bps: u16) -> bool {
        let equity = I256::try_from(collateral_and_cash.saturating_add(numbers.portfolio_value))
            .unwrap_or_default();
        let lhs = equity.saturating_mul(I256::try_from(10_000).unwrap_or_default());
        let rhs = I256::try_from(numbers.maintenance_margin).unwrap_or_default()
            * I256::try_from(threshold_bps).unwrap_or_default();
        numbers.maintenance_margin > 0 && lhs < rhs
    }

    /// The batch this keeper would propose at the node's `block` (engine clock `clock`) from
    /// `book` (every active account margined; the changed or ageing ones reported; a step for each
    /// account below maintenance).
    fn compute_batch(
        &self,
        state: &NodeState,
        book: &EngineBook,
        block: u64,
        clock: u64,
        ctx: &BlockContext,
    ) -> Result<Batch> {
        let model = &self.inner.model;
        let s = &self.inner.settings;
        let prices = model.collateral_prices(block)?;
        let price_map: HashMap<Address, u128> = prices.iter().map(|p| (p.asset, p.price)).collect();
        let accounts = active_accounts(book);
        let computed: Vec<(Address, Result<MarginNumbers>)> = {
            use rayon::prelude::*;
            accounts
                .par_iter()
                .map(|a| (*a, model.margin(&book.accounts[a], book, block)))
                .collect()
        };
        let mut reports = Vec::new();
        let mut steps = Vec::new();
        let mut below = 0u64;
        for (account, numbers) in computed {
            let numbers = match numbers {
                Ok(n) => n,
                Err(error) => {
                    warn!(keeper = %self.name(), %account, %error, "cannot margin account");
                    self.inner.metrics.reject("model_error");
                    continue;
                }
            };
            let view = &book.accounts[&account];
            let cc = Self::collateral_and_cash(book, account, &price_map, ctx);
            let is_below = Self::below(&numbers, cc, ctx.threshold_bps);
            let changed = match state.reported.get(&account) {
                None => true,
                Some(r) => {
                    r.nonce != view.positions_nonce
                        || r.epoch != book.risk_epoch
                        || clock.saturating_sub(r.block) >= s.refresh_blocks
                        || moved(
                            r.numbers.maintenance_margin as i128,
                            numbers.maintenance_margin as i128,
                            s.change_bps,
                        )
                        || moved(r.numbers.portfolio_value, numbers.portfolio_value, s.change_bps)
                }
            };
            if is_below {
                below += 1;
                match model.plan_liquidation(
                    account,
                    view,
                    book,
                    OnchainHealth { collateral_and_cash: cc },
                    block,
                ) {
                    Ok(planned) => steps.extend(planned),
                    Err(error) => {
                        warn!(keeper = %self.name(), %account, %error, "no liquidation plan")
                    }
                }
            }
            if changed || is_below {
                reports.push(MarginReportJson {
                    account,
                    positions_nonce: view.positions_nonce,
                    portfolio_value: numbers.portfolio_value,
                    initial_margin: numbers.initial_margin,
                    maintenance_margin: numbers.maintenance_margin,
                });
            }
        }
        self.inner.metrics.accounts_below_maintenance.store(below, Ordering::Relaxed);
        Ok(Batch {
            observed_block: clock,
            state_block: block,
            risk_epoch: book.risk_epoch,
            prices,
            reports,
            steps,
        })
    }

    /// Recomputes exactly the items of `theirs` from our own book at its state block, signed
    /// with the engine clock `clock` we read there.
    fn recompute(
        &self,
        book: &EngineBook,
        theirs: &Batch,
        clock: u64,
        ctx: &BlockContext,
    ) -> Result<Batch> {
        let model = &self.inner.model;
        let block = theirs.state_block;
        let prices = model.collateral_prices(block)?;
        let price_map: HashMap<Address, u128> = prices.iter().map(|p| (p.asset, p.price)).collect();
        let empty = Default::default();
        let mut reports = Vec::with_capacity(theirs.reports.len());
        for r in &theirs.reports {
            let view = book.accounts.get(&r.account).unwrap_or(&empty);
            let numbers = model.margin(view, book, block)?;
            reports.push(MarginReportJson {
                account: r.account,
                positions_nonce: view.positions_nonce,
                portfolio_value: numbers.portfolio_value,
                initial_margin: numbers.initial_margin,
                maintenance_margin: numbers.maintenance_margin,
            });
        }
        let mut steps = Vec::new();
        for step in &theirs.steps {
            let view = book.accounts.get(&step.account).unwrap_or(&empty);
            let numbers = model.margin(view, book, block)?;
            let cc = Self::collateral_and_cash(book, step.account, &price_map, ctx);
            if Self::below(&numbers, cc, ctx.threshold_bps) {
                steps.extend(model.plan_liquidation(
                    step.account,
                    view,
                    book,
                    OnchainHealth { collateral_and_cash: cc },
                    block,
                )?);
            }
        }
        Ok(Batch {
            observed_block: clock,
            state_block: block,
            risk_epoch: book.risk_epoch,
            prices,
            reports,
            steps,
        })
    }

    /// Journals `batch` and signs its digest (refusing a double-sign).
    fn journal_and_sign(&self, state: &mut NodeState, batch: &Batch) -> Result<[u8; 65]> {
        let digest = batch.digest(self.inner.chain_id, self.inner.chain.engine);
        let reports: Vec<SignedReport> = batch
            .margin_reports()
            .iter()
            .zip(&batch.reports)
            .map(|(signed, r)| SignedReport {
                account: r.account,
                positions_nonce: r.positions_nonce,
                report_hash: signed.struct_hash(),
            })
            .collect();
        state.store.record_batch(batch.header().root, digest, batch.observed_block, &reports)?;
        let signature = self.inner.signer.sign_digest(&digest)?;
        state.signed.insert(batch.header().root, batch.clone());
        self.inner.metrics.batches_signed.fetch_add(1, Ordering::Relaxed);
        self.inner.metrics.reports_signed.fetch_add(batch.reports.len() as u64, Ordering::Relaxed);
        Ok(signature)
    }

    /// Answers a leader's proposal.
    pub async fn cosign(&self, proposal: Proposal) -> CosignResponse {
        match self.try_cosign(proposal).await {
            Ok(response) => response,
            Err((reason, detail)) => {
                self.inner.metrics.reject(reason);
                info!(keeper = %self.name(), reason, %detail, "refused to cosign");
                CosignResponse::Refused { reason: reason.to_owned(), detail }
            }
        }
    }

    async fn try_cosign(
        &self,
        proposal: Proposal,
    ) -> std::result::Result<CosignResponse, (&'static str, String)> {
        let block = proposal.batch.state_block;
        if !self.inner.settings.peers.iter().any(|p| p.address == proposal.leader) {
            return Err(("not_leader", format!("{} is not a configured peer", proposal.leader)));
        }
        let ctx = self.context(block).await.map_err(|e| ("not_synced", e.to_string()))?;
        if leader_of(&ctx.keepers, block) != Some(proposal.leader) {
            return Err(("not_leader", format!("{} does not lead block {block}", proposal.leader)));
        }
        let digest = proposal.batch.digest(self.inner.chain_id, self.inner.chain.engine);
        if recover(&digest, &proposal.leader_signature) != Some(proposal.leader) {
            return Err(("bad_leader_signature", "does not recover to the leader".into()));
        }
        // observedBlock is the engine's clock at the state block, read by us, not the leader's word.
        let clock =
            self.inner.chain.clock_at(block).await.map_err(|e| ("not_synced", e.to_string()))?;
        if clock != proposal.batch.observed_block {
            return Err((
                "wrong_clock",
                format!(
                    "observed block {} but the engine's clock at block {block} is {clock}",
                    proposal.batch.observed_block
                ),
            ));
        }
        let mut state = self.inner.state.lock().await;
        if state.index.head.is_none_or(|h| h < block) {
            self.sync_locked(&mut state, block).await.map_err(|e| ("not_synced", e.to_string()))?;
        }
        let book = state
            .history
            .get(&block)
            .cloned()
            .ok_or(("not_synced", format!("no book for block {block}")))?;
        let ours = self
            .recompute(&book, &proposal.batch, clock, &ctx)
            .map_err(|e| ("model_error", e.to_string()))?;
        if let Some(difference) = first_difference(&ours, &proposal.batch) {
            return Err(("leaf_mismatch", difference));
        }
        let signature =
            self.journal_and_sign(&mut state, &proposal.batch).map_err(|e| match e {
                KeeperError::DoubleSign { .. } | KeeperError::BlockAlreadySigned { .. } => {
                    ("double_sign", e.to_string())
                }
                other => ("store_error", other.to_string()),
            })?;
        debug!(keeper = %self.name(), block, "cosigned");
        Ok(CosignResponse::Signed { signer: self.address(), signature: signature.to_vec().into() })
    }

    /// One round: sync; if this keeper leads the head block and there is something to report,
    /// propose, gather the quorum and submit. Returns the mined batch, if any.
    pub async fn tick(&self) -> Result<Option<Batch>> {
        let head = self.inner.chain.head().await?;
        let (batch, own, ctx) = {
            let mut state = self.inner.state.lock().await;
            self.sync_locked(&mut state, head).await?;
            if state.last_led.is_some_and(|b| b >= head) {
                return Ok(None);
            }
            let ctx = self.context(head).await?;
            if leader_of(&ctx.keepers, head) != Some(self.address()) {
                return Ok(None);
            }
            state.last_led = Some(head);
            let clock = self.inner.chain.clock_at(head).await?;
            let book = state.index.book().clone();
            let batch = self.compute_batch(&state, &book, head, clock, &ctx)?;
            let prices_due = clock.saturating_sub(state.last_price_post)
                >= self.inner.settings.refresh_blocks / 2;
            if batch.reports.is_empty() && batch.steps.is_empty() && !prices_due {
                return Ok(None);
            }
            let own = match self.journal_and_sign(&mut state, &batch) {
                Ok(sig) => sig,
                Err(error) => {
                    self.inner.metrics.reject("double_sign");
                    return Err(error);
                }
            };
            (batch, own, ctx)
        };
        let mut signatures = vec![(self.address(), own)];
        let proposal = Proposal {
            batch: batch.clone(),
            leader: self.address(),
            leader_signature: Bytes::from(own.to_vec()),
        };
        let digest = batch.digest(self.inner.chain_id, self.inner.chain.engine);
        let asks =
            self.inner.settings.peers.iter().filter(|p| p.address != self.address()).map(|peer| {
                let http = self.inner.http.clone();
                let proposal = proposal.clone();
                let peer = peer.clone();
                async move {
                    let url = format!("{}/cosign", peer.url.trim_end_matches('/'));
                    let answer = async {
                        http.post(url).json(&proposal).send().await?.json::<CosignResponse>().await
                    }
                    .await;
                    (peer, answer)
                }
            });
        for (peer, answer) in futures_join_all(asks).await {
            match answer {
                Ok(CosignResponse::Signed { signer, signature }) => {
                    let ok = signer == peer.address
                        && ctx.keepers.contains(&signer)
                        && recover(&digest, &signature) == Some(signer);
                    match <[u8; 65]>::try_from(signature.as_ref()) {
                        Ok(sig) if ok => signatures.push((signer, sig)),
                        _ => {
                            warn!(keeper = %self.name(), peer = %peer.name, "bad cosignature");
                            self.inner.metrics.reject("bad_cosignature");
                        }
                    }
                }
                Ok(CosignResponse::Refused { reason, detail }) => {
                    info!(keeper = %self.name(), peer = %peer.name, %reason, %detail, "peer refused");
                    self.inner.metrics.reject(&format!("peer_{reason}"));
                }
                Err(error) => {
                    warn!(keeper = %self.name(), peer = %peer.name, %error, "peer unreachable");
                    self.inner.metrics.reject("peer_unreachable");
                }
            }
        }
        if signatures.len() < ctx.quorum as usize {
            warn!(
                keeper = %self.name(),
                block = head,
                have = signatures.len(),
                need = ctx.quorum,
                "quorum not reached"
            );
            self.inner.metrics.reject("quorum_not_met");
            return Err(KeeperError::Peer {
                peer: "quorum".into(),
                reason: format!("{} of {} signatures", signatures.len(), ctx.quorum),
            });
        }
        signatures.sort_by_key(|(a, _)| *a);
        signatures.truncate(ctx.quorum.max(1) as usize);
        let calldata =
            batch.post_batch_calldata(margin_types::quorum::encode_signatures(signatures));
        let mined = self.inner.chain.send(None, calldata).await?;
        if !batch.steps.is_empty() {
            // Liquidators need these steps at once: the engine takes a step only if it is as new as
            // the account's latest report, which this batch just replaced. Do not wait for the sync.
            self.inner.state.lock().await.posted.push(batch.header().root);
        }
        let m = &self.inner.metrics;
        m.batches_submitted.fetch_add(1, Ordering::Relaxed);
        m.reports_submitted.fetch_add(batch.reports.len() as u64, Ordering::Relaxed);
        m.inclusion_latency_blocks_sum
            .fetch_add(mined.block.saturating_sub(head), Ordering::Relaxed);
        info!(
            keeper = %self.name(),
            block = head,
            mined = mined.block,
            reports = batch.reports.len(),
            steps = batch.steps.len(),
            gas = mined.gas_used,
            "batch posted"
        );
        Ok(Some(batch))
    }

    /// Liquidation steps of the most recent posted batches this keeper signed (newest first,
    /// one per account).
    pub async fn steps(&self) -> Vec<StepTicket> {
        let state = self.inner.state.lock().await;
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for root in state.posted.iter().rev() {
            let Some(batch) = state.signed.get(root) else { continue };
            for (index, step) in batch.steps.iter().enumerate() {
                if seen.insert(step.account) {
                    out.push(StepTicket { batch: batch.clone(), index });
                }
            }
        }
        out
    }

    /// The HTTP API.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/cosign", post(cosign_handler))
            .route("/metrics", get(metrics_handler))
            .route("/steps", get(steps_handler))
            .route("/health", get(|| async { "ok" }))
            .with_state(self.clone())
    }

    /// Serves the HTTP API on `listener` until `shutdown` resolves.
    pub fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let router = self.router();
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await
            {
                warn!(%error, "http server stopped");
            }
        })
    }

    /// Runs [`Node::tick`] every `poll` until `shutdown` flips, logging and counting failures
    /// (an RPC outage is retried inside each call, then again next round).
    pub async fn run(&self, poll: Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            match self.tick().await {
                Ok(_) => {}
                Err(error) => {
                    warn!(keeper = %self.name(), %error, "round failed");
                    self.inner.metrics.reject("round_failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
        info!(keeper = %self.name(), "stopped");
    }
}

fn moved(before: i128, after: i128, bps: u64) -> bool {
    let diff = before.abs_diff(after);
    let scale = before.unsigned_abs().max(after.unsigned_abs()).max(1);
    diff.saturating_mul(10_000) > scale.saturating_mul(bps as u128)
}

async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::with_capacity(handles.len());
    // Peers are few: awaiting them concurrently through a JoinSet-free select is overkill;
    // pin them all and poll together.
    let mut pinned: Vec<_> = handles.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if results[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => results[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.extend(results.into_iter().flatten());
    out
}

async fn cosign_handler(State(node): State<Node>, Json(p): Json<Proposal>) -> Json<CosignResponse> {
    Json(node.cosign(p).await)
}

async fn metrics_handler(State(node): State<Node>) -> String {
    node.inner.metrics.render(node.name())
}

async fn steps_handler(State(node): State<Node>) -> Json<Vec<StepTicket>> {
    Json(node.steps().await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_moves() {
        assert!(!moved(10_000, 10_005, 10));
        assert!(moved(10_000, 10_020, 10));
        assert!(moved(0, 1, 10));
        assert!(!moved(0, 0, 10));
    }
}
