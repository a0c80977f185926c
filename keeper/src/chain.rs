//! Chain access through alloy: the head, block hashes, the engine's logs, calls and
//! transactions. Transport failures are retried with exponential backoff; a call or transaction
//! that would revert is simulated first and reported with its decoded custom error, so the
//! keeper never pays gas for a transaction the engine will reject.

use std::{
    future::{Future, IntoFuture},
    time::Duration,
};

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    network::{EthereumWallet, TransactionBuilder},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{Filter, Log, TransactionRequest},
    signers::local::PrivateKeySigner,
    transports::{RpcError, TransportErrorKind},
};
use alloy_primitives::{Address, Bytes, TxHash, B256};
use alloy_sol_types::SolInterface;
use margin_types::abi::IMarginEngineErrors::IMarginEngineErrorsErrors;
use tracing::{debug, warn};

use crate::error::{KeeperError, Result};

/// Retry schedule for transport errors.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before giving up.
    pub attempts: u32,
    /// First delay; doubled after each failure.
    pub initial_backoff: Duration,
    /// Upper bound of a delay.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(3),
        }
    }
}

/// Outcome of a mined transaction.
#[derive(Debug, Clone, Copy)]
pub struct Mined {
    /// Transaction hash.
    pub hash: TxHash,
    /// Block it was included in.
    pub block: u64,
    /// Gas it used.
    pub gas_used: u64,
}

/// One account's connection to the chain and the engine.
#[derive(Clone)]
pub struct Chain {
    provider: DynProvider,
    /// The engine's address.
    pub engine: Address,
    /// The sending account.
    pub from: Address,
    retry: RetryPolicy,
    receipt_timeout: Duration,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").field("engine", &self.engine).field("from", &self.from).finish()
    }
}

/// Human-readable form of an engine revert (the custom error and its arguments), or of a
/// Solidity `Error(string)` / `Panic(uint256)` (e.g. the Safe's `GS020`).
pub fn decode_revert(data: &[u8]) -> String {
    match IMarginEngineErrorsErrors::abi_decode(data) {
        Ok(error) => format!("{error:?}"),
        Err(_) => alloy_sol_types::decode_revert_reason(data)
            .unwrap_or_else(|| format!("0x{}", alloy_primitives::hex::encode(data))),
    }
}

fn rpc_error<E: std::fmt::Display>(e: E) -> KeeperError {
    KeeperError::Rpc(e.to_string())
}

fn is_transient(error: &RpcError<TransportErrorKind>) -> bool {
    // An error response is the node's answer (a revert, a bad nonce): retrying will not change
    // it. Everything else (connection refused, timeouts, bad gateway) may pass.
    !error.is_error_resp()
}

impl Chain {
    /// Connects to `rpc_url` sending from `signer`.
    pub fn connect(rpc_url: &str, signer: PrivateKeySigner, engine: Address) -> Result<Self> {
        let url = rpc_url.parse().map_err(|e| KeeperError::Config {
            field: "rpc_url",
            reason: format!("{rpc_url:?} is not a URL ({e}); use e.g. http://127.0.0.1:8545"),
        })?;
        let from = signer.address();
        let provider =
            ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(url).erased();
        Ok(Self {
            provider,
            engine,
            from,
            retry: RetryPolicy::default(),
            receipt_timeout: Duration::from_secs(30),
        })
    }

    /// Replaces the retry schedule.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The underlying provider.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    async fn retrying<T, F, Fut>(&self, what: &'static str, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, RpcError<TransportErrorKind>>>,
    {
        let mut delay = self.retry.initial_backoff;
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(error) if attempt < self.retry.attempts && is_transient(&error) => {
                    warn!(what, attempt, delay_ms = delay.as_millis() as u64, %error, "rpc failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.retry.max_backoff);
                    attempt += 1;
                }
                Err(error) => return Err(rpc_error(format!("{what}: {error}"))),
            }
        }
    }

    /// The latest block number (the node's numbering: the L2 block on Arbitrum). The engine's
    /// block clock is [`Self::clock_at`].
    pub async fn head(&self) -> Result<u64> {
        self.retrying("eth_blockNumber", || self.provider.get_block_number()).await
    }

    /// The chain id.
    pub async fn chain_id(&self) -> Result<u64> {
        self.retrying("eth_chainId", || self.provider.get_chain_id()).await
    }

    /// Hash and parent hash of block `number`.
    pub async fn block_hashes(&self, number: u64) -> Result<(B256, B256)> {
        let block = self
            .retrying("eth_getBlockByNumber", || {
                self.provider.get_block_by_number(BlockNumberOrTag::Number(number)).into_future()
            })
            .await?
            .ok_or_else(|| KeeperError::Rpc(format!("block {number} not found")))?;
        Ok((block.header.hash, block.header.parent_hash))
    }

    /// The engine's logs in `[from, to]`, in chain order.
    pub async fn engine_logs(&self, from: u64, to: u64) -> Result<Vec<Log>> {
        let filter = Filter::new().address(self.engine).from_block(from).to_block(to);
        self.retrying("eth_getLogs", || {
            let filter = filter.clone();
            let provider = self.provider.clone();
            async move { provider.get_logs(&filter).await }
        })
        .await
    }

    /// `eth_call` to any contract `to`; a revert comes back as [`KeeperError::Reverted`].
    pub async fn provider_call(&self, to: Address, calldata: Vec<u8>) -> Result<Bytes> {
        let tx =
            TransactionRequest::default().with_from(self.from).with_to(to).with_input(calldata);
        match self.provider.call(tx).await {
            Ok(out) => Ok(out),
            Err(error) => match error.as_error_resp().and_then(|e| e.as_revert_data()) {
                Some(data) => Err(KeeperError::Reverted { revert: decode_revert(&data) }),
                None => Err(rpc_error(format!("eth_call: {error}"))),
            },
        }
    }

    /// `eth_call` of `calldata` to `to` as if sent by `from` (e.g. the engine call a Safe would
    /// make); a revert comes back as [`KeeperError::Reverted`].
    pub async fn call_as(&self, from: Address, to: Address, calldata: Vec<u8>) -> Result<Bytes> {
        let tx = TransactionRequest::default().with_from(from).with_to(to).with_input(calldata);
        match self.provider.call(tx).await {
            Ok(out) => Ok(out),
            Err(error) => match error.as_error_resp().and_then(|e| e.as_revert_data()) {
                Some(data) => Err(KeeperError::Reverted { revert: decode_revert(&data) }),
                None => Err(rpc_error(format!("eth_call: {error}"))),
            },
        }
    }

    /// `eth_call` to the engine at block `block` (retried on transport errors); a revert comes
    /// back as [`KeeperError::Reverted`].
    pub async fn call_at(&self, calldata: Vec<u8>, block: u64) -> Result<Bytes> {
        self.engine_call(calldata, BlockId::number(block)).await
    }

    /// The engine's block clock (`clockBlock()`) in block `block`: the number reports are
    /// signed with and every freshness window and per-block gate counts in (the L2 block from
    /// ArbSys on Arbitrum, `block.number` elsewhere; docs/stylus.md, "Block clock").
    pub async fn clock_at(&self, block: u64) -> Result<u64> {
        use alloy_sol_types::SolCall;
        use margin_types::abi::IMarginEngine::clockBlockCall;
        let out = self.call_at(clockBlockCall {}.abi_encode(), block).await?;
        let clock = clockBlockCall::abi_decode_returns(&out)
            .map_err(|e| rpc_error(format!("clockBlock(): undecodable return: {e}")))?;
        u64::try_from(clock).map_err(|_| rpc_error(format!("clockBlock() = {clock} overflows u64")))
    }

    /// `eth_call` to the engine at the head; a revert comes back as [`KeeperError::Reverted`].
    pub async fn call(&self, calldata: Vec<u8>) -> Result<Bytes> {
        self.engine_call(calldata, BlockId::latest()).await
    }

    /// The one retrying `eth_call` to the engine: transport errors back off and retry, a revert
    /// returns at once, decoded.
    async fn engine_call(&self, calldata: Vec<u8>, block: BlockId) -> Result<Bytes> {
        let tx = TransactionRequest::default()
            .with_from(self.from)
            .with_to(self.engine)
            .with_input(calldata);
        let mut delay = self.retry.initial_backoff;
        let mut attempt = 1;
        loop {
            match self.provider.call(tx.clone()).block(block).await {
                Ok(out) => return Ok(out),
                Err(error) => {
                    if let Some(data) = error.as_error_resp().and_then(|e| e.as_revert_data()) {
                        return Err(KeeperError::Reverted { revert: decode_revert(&data) });
                    }
                    if attempt >= self.retry.attempts || !is_transient(&error) {
                        return Err(rpc_error(format!("eth_call: {error}")));
                    }
                    warn!(attempt, %error, "eth_call failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.retry.max_backoff);
                    attempt += 1;
                }
            }
        }
    }

    /// Deploys `code` (creation bytecode followed by constructor arguments) and returns the
    /// new contract's address.
    pub async fn deploy(&self, code: Vec<u8>) -> Result<Address> {
        // An explicit nonce: `send` sets its own, so the provider's cached one may be stale.
        let nonce = self
            .retrying("eth_getTransactionCount", || {
                self.provider.get_transaction_count(self.from).pending().into_future()
            })
            .await?;
        let tx = TransactionRequest::default()
            .with_from(self.from)
            .with_deploy_code(code)
            .with_nonce(nonce);
        let pending = self
            .provider
            .send_transaction(tx)
            .await
            .map_err(|e| rpc_error(format!("deploy: {e}")))?;
        let receipt = pending
            .with_timeout(Some(self.receipt_timeout))
            .get_receipt()
            .await
            .map_err(|e| rpc_error(format!("deploy receipt: {e}")))?;
        if !receipt.status() {
            return Err(KeeperError::Reverted { revert: "deployment reverted".into() });
        }
        receipt.contract_address.ok_or_else(|| rpc_error("deployment receipt has no address"))
    }

    /// Simulates, then sends a transaction to `to` (the engine if `None`) and waits for its
    /// receipt. A transaction that is not mined within the receipt timeout is sent again with the
    /// same nonce and fees raised by 25% (replacing it), up to three times.
    pub async fn send(&self, to: Option<Address>, calldata: Vec<u8>) -> Result<Mined> {
        let to = to.unwrap_or(self.engine);
        let base =
            TransactionRequest::default().with_from(self.from).with_to(to).with_input(calldata);
        // Simulate first: never pay for a transaction the engine rejects.
        if let Err(error) = self.provider.call(base.clone()).await {
            if let Some(data) = error.as_error_resp().and_then(|e| e.as_revert_data()) {
                return Err(KeeperError::Reverted { revert: decode_revert(&data) });
            }
        }
        let gas = self
            .retrying("eth_estimateGas", || self.provider.estimate_gas(base.clone()).into_future())
            .await?;
        let nonce = self
            .retrying("eth_getTransactionCount", || {
                self.provider.get_transaction_count(self.from).pending().into_future()
            })
            .await?;
        let fees = self.retrying("fee estimate", || self.provider.estimate_eip1559_fees()).await?;
        let (mut max_fee, mut tip) = (fees.max_fee_per_gas, fees.max_priority_fee_per_gas);
        for bump in 0..4u32 {
            let tx = base
                .clone()
                .with_nonce(nonce)
                .with_gas_limit(gas + gas / 5)
                .with_max_fee_per_gas(max_fee)
                .with_max_priority_fee_per_gas(tip);
            let pending = match self.provider.send_transaction(tx).await {
                Ok(pending) => pending,
                Err(error) if bump > 0 && error.to_string().contains("nonce too low") => {
                    // The previous attempt was mined meanwhile; its receipt is the answer.
                    return Err(rpc_error(format!("replaced transaction already mined: {error}")));
                }
                Err(error) => return Err(rpc_error(format!("eth_sendTransaction: {error}"))),
            };
            let hash = *pending.tx_hash();
            match pending.with_timeout(Some(self.receipt_timeout)).get_receipt().await {
                Ok(receipt) => {
                    let block = receipt.block_number.unwrap_or_default();
                    if !receipt.status() {
                        return Err(KeeperError::Reverted {
                            revert: format!("transaction {hash} reverted in block {block}"),
                        });
                    }
                    debug!(%hash, block, gas_used = receipt.gas_used, "transaction mined");
                    return Ok(Mined { hash, block, gas_used: receipt.gas_used });
                }
                Err(error) => {
                    warn!(%hash, bump, %error, "no receipt in time; resubmitting with higher fees");
                    max_fee += max_fee / 4;
                    tip += tip / 4 + 1;
                }
            }
        }
        Err(KeeperError::Rpc(format!("transaction with nonce {nonce} not mined after 4 attempts")))
    }
}
