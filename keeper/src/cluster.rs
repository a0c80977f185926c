//! A whole keeper network on one machine, for the demo and the end-to-end tests: anvil, the
//! deployed system ([`crate::deploy`]), and `n` keeper [`Node`]s in this process, each with its
//! own journal, its own chain connection and its own HTTP server on a loopback port (they cosign
//! over real HTTP, exactly as separate processes would).

use std::{path::PathBuf, sync::Arc, time::Duration};

use alloy::providers::Provider;
use alloy_primitives::B256;
use offchain_risk::{liquidation::LiquidationConfig, margin::MarginModel, market::MarketSnapshot};

use crate::{
    batch::Batch,
    chain::RetryPolicy,
    deploy::{deploy, DeployOptions, Deployment},
    devnet::Anvil,
    error::{KeeperError, Result},
    market::{MarketSource, SimulatedSource},
    model::RiskModel,
    node::{Node, NodeSettings, Peer},
    risk::{CollateralPricing, OffchainRiskModel},
};

/// The demo's base market (ETH with an SVI surface), offchain-risk snapshot JSON.
pub const DEMO_MARKET: &str = include_str!("../fixtures/demo_market.json");

/// The instrument spec the demo lists ETH-PERP with.
pub const ETH_PERP_SPEC: &str = r#"{"type":"perpetual","underlying":"ETH"}"#;

/// Builds the model of keeper `index` from the shared market source.
pub type ModelFactory =
    Box<dyn Fn(usize, Arc<dyn MarketSource>, &Deployment) -> Arc<dyn RiskModel>>;

/// How to start a cluster.
pub struct ClusterOptions {
    /// anvil's block time (None: a block per transaction, mined on demand).
    pub block_time: Option<u64>,
    /// What to deploy.
    pub deploy: DeployOptions,
    /// Market seconds per block.
    pub seconds_per_block: u64,
    /// Keeper models (None: the grid model for everyone).
    pub models: Option<ModelFactory>,
    /// Where journals live (None: a fresh temporary directory).
    pub db_dir: Option<PathBuf>,
    /// RPC retry schedule of the keepers.
    pub retry: RetryPolicy,
    /// Re-send an unchanged report after this many blocks.
    pub refresh_blocks: u64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            block_time: None,
            deploy: DeployOptions::default(),
            seconds_per_block: 0,
            models: None,
            db_dir: None,
            retry: RetryPolicy {
                attempts: 3,
                initial_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(200),
            },
            refresh_blocks: 20,
        }
    }
}

/// The grid model for a deployment: USDC at 1 USD, WETH at the ETH spot; liquidation steps
/// within the engine's per-block cap and at its penalty.
pub fn grid_model(
    market: Arc<dyn MarketSource>,
    deployment: &Deployment,
    options: &DeployOptions,
) -> OffchainRiskModel {
    let collateral = vec![
        CollateralPricing { asset: deployment.usdc, underlying: None, fixed_usd: Some(1.0) },
        CollateralPricing {
            asset: deployment.weth,
            underlying: Some("ETH".into()),
            fixed_usd: None,
        },
    ];
    let liquidation = LiquidationConfig {
        max_step_notional_usd: options.params.liquidationNotionalCapPerBlock as f64 / 1e18 * 0.99,
        penalty_bps: f64::from(options.params.liquidationPenaltyBps),
        ..LiquidationConfig::default()
    };
    OffchainRiskModel::new(
        market,
        collateral,
        MarginModel::ScenarioGrid,
        Default::default(),
        liquidation,
    )
}

struct Server {
    handle: tokio::task::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// The cluster's RPC endpoint: the anvil it started (killed on drop) or an external node.
#[derive(Debug)]
pub struct Endpoint {
    /// HTTP URL.
    pub url: String,
    /// Its port (0 if the URL has none).
    pub port: u16,
    _anvil: Option<Anvil>,
}

impl Endpoint {
    /// An external node at `url` (nothing is started or killed).
    pub fn external(url: &str) -> Self {
        let port = url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_default();
        Self { url: url.to_owned(), port, _anvil: None }
    }
}

impl From<Anvil> for Endpoint {
    fn from(anvil: Anvil) -> Self {
        Self { url: anvil.url.clone(), port: anvil.port, _anvil: Some(anvil) }
    }
}

/// How the cluster moves the chain forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// `evm_mine` / `evm_increaseTime` (anvil, hardhat).
    Devnet,
    /// A real node: a block is a 0-value self-transfer of dev key 0, time is waited for.
    Real,
}

/// A running network.
pub struct Cluster {
    /// The RPC endpoint (the devnet, killed on drop, if the cluster started it).
    pub anvil: Endpoint,
    /// How blocks and time advance.
    pub clock: Clock,
    /// What was deployed.
    pub deployment: Deployment,
    /// The shared simulated market (add shocks to it).
    pub market: Arc<SimulatedSource>,
    /// The keepers.
    pub nodes: Vec<Node>,
    /// Their HTTP base URLs.
    pub urls: Vec<String>,
    /// ETH-PERP's instrument id.
    pub perp: B256,
    options: ClusterOptions,
    peers: Vec<Peer>,
    servers: Vec<Option<Server>>,
    dir: PathBuf,
    _tmp: Option<TempDir>,
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn listener_on(port: u16) -> Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(([127, 0, 0, 1], port).into())?;
    Ok(socket.listen(64)?)
}

impl Cluster {
    /// Starts anvil, deploys, lists ETH-PERP and starts the keepers.
    pub async fn start(options: ClusterOptions) -> Result<Self> {
        let anvil = Anvil::start(options.block_time)?;
        let deployment = deploy(&anvil.url, &options.deploy).await?;
        Self::attach(anvil.into(), Clock::Devnet, deployment, options).await
    }

    /// Tries `evm_mine` once on `rpc_url`: [`Clock::Devnet`] if it works, else [`Clock::Real`]
    /// (with a log line saying so).
    pub async fn detect_clock(rpc_url: &str) -> Result<Clock> {
        let chain = crate::deploy::dev_chain(rpc_url, 0, alloy_primitives::Address::ZERO)?;
        match chain.provider().raw_request::<_, serde_json::Value>("evm_mine".into(), ()).await {
            Ok(_) => Ok(Clock::Devnet),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "evm_mine is not available on {rpc_url}: blocks advance by 0-value \
                     self-transfers and time by waiting for the chain's clock"
                );
                Ok(Clock::Real)
            }
        }
    }

    /// Lists ETH-PERP on an existing deployment at `endpoint` and starts the keepers.
    pub async fn attach(
        anvil: Endpoint,
        clock: Clock,
        deployment: Deployment,
        options: ClusterOptions,
    ) -> Result<Self> {
        let perp = deployment.list_instrument("ETH-PERP", ETH_PERP_SPEC).await?;
        let base: MarketSnapshot = serde_json::from_str(DEMO_MARKET)
            .map_err(|e| KeeperError::Config { field: "market", reason: e.to_string() })?;
        let market = Arc::new(SimulatedSource::new(
            base,
            deployment.deploy_block,
            options.seconds_per_block,
            Vec::new(),
        )?);
        let (dir, tmp) = match &options.db_dir {
            Some(d) => (d.clone(), None),
            None => {
                let d = std::env::temp_dir().join(format!(
                    "keeper-cluster-{}-{}",
                    std::process::id(),
                    anvil.port
                ));
                (d.clone(), Some(TempDir(d)))
            }
        };
        std::fs::create_dir_all(&dir)?;
        let mut listeners = Vec::new();
        let mut peers = Vec::new();
        for (i, key) in deployment.keeper_keys.iter().enumerate() {
            let listener = listener_on(0)?;
            let url = format!("http://{}", listener.local_addr()?);
            let address = margin_types::signer::KeeperSigner::from_bytes(key)?.address();
            peers.push(Peer { name: format!("keeper-{i}"), url, address });
            listeners.push(listener);
        }
        let mut cluster = Self {
            anvil,
            clock,
            deployment,
            market,
            nodes: Vec::new(),
            urls: peers.iter().map(|p| p.url.clone()).collect(),
            perp,
            options,
            peers,
            servers: Vec::new(),
            dir,
            _tmp: tmp,
        };
        for (i, listener) in listeners.into_iter().enumerate() {
            let node = cluster.make_node(i).await?;
            cluster.servers.push(Some(Self::serve(&node, listener)));
            cluster.nodes.push(node);
        }
        Ok(cluster)
    }

    fn serve(node: &Node, listener: tokio::net::TcpListener) -> Server {
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = node.serve(listener, async move {
            let _ = rx.await;
        });
        Server { handle, stop }
    }

    /// Where keeper `i` journals its signatures.
    pub fn db_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("keeper-{i}.sqlite"))
    }

    async fn make_node(&self, i: usize) -> Result<Node> {
        let market: Arc<dyn MarketSource> = self.market.clone();
        let model: Arc<dyn RiskModel> = match &self.options.models {
            Some(factory) => factory(i, market, &self.deployment),
            None => Arc::new(grid_model(market, &self.deployment, &self.options.deploy)),
        };
        let settings = NodeSettings {
            name: self.peers[i].name.clone(),
            start_block: self.deployment.deploy_block,
            peers: self.peers.clone(),
            db_path: Some(self.db_path(i)),
            refresh_blocks: self.options.refresh_blocks,
            change_bps: 1,
            peer_timeout: Duration::from_secs(10),
        };
        let chain = self.deployment.chain(i + 1)?.with_retry(self.options.retry);
        Node::new(settings, self.deployment.keeper_keys[i], chain, model).await
    }

    /// Stops keeper `i`'s HTTP server and drops it (a crash).
    pub async fn stop_node(&mut self, i: usize) {
        if let Some(server) = self.servers[i].take() {
            let _ = server.stop.send(());
            let _ = server.handle.await;
        }
    }

    /// Restarts keeper `i` from its journal on its old port (its index is rebuilt from the chain).
    pub async fn restart_node(&mut self, i: usize) -> Result<()> {
        self.stop_node(i).await;
        let port: u16 = self.peers[i]
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| KeeperError::Config { field: "url", reason: "no port".into() })?;
        let node = self.make_node(i).await?;
        self.servers[i] = Some(Self::serve(&node, listener_on(port)?));
        self.nodes[i] = node;
        Ok(())
    }

    /// Mines one block (an empty one on a devnet, a 0-value self-transfer on a real chain).
    pub async fn mine(&self) -> Result<()> {
        let chain = self.deployment.chain(0)?;
        if self.clock == Clock::Real {
            chain.send(Some(chain.from), Vec::new()).await?;
            return Ok(());
        }
        chain
            .provider()
            .raw_request::<_, serde_json::Value>("evm_mine".into(), ())
            .await
            .map_err(|e| KeeperError::Rpc(e.to_string()))?;
        Ok(())
    }

    /// Moves the devnet clock forward; on a real chain (or if `evm_increaseTime` fails), waits
    /// until a new block's timestamp is `seconds` past the head's, mining a block every second,
    /// for at most `seconds` + 120 s.
    pub async fn increase_time(&self, seconds: u64) -> Result<()> {
        let chain = self.deployment.chain(0)?;
        if self.clock == Clock::Devnet {
            match chain
                .provider()
                .raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (seconds,))
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) => tracing::warn!(error = %e, "evm_increaseTime failed; waiting instead"),
            }
        }
        let timestamp = || async {
            chain
                .provider()
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                .await
                .map_err(|e| KeeperError::Rpc(e.to_string()))?
                .map(|b| b.header.timestamp)
                .ok_or_else(|| KeeperError::Rpc("no latest block".into()))
        };
        let target = timestamp().await? + seconds;
        let limit = Duration::from_secs(seconds + 120);
        tracing::warn!(
            "no time control on this chain: waiting {seconds} s of real time (at most {limit:?})"
        );
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            tokio::time::sleep(Duration::from_secs(1)).await;
            self.mine().await?;
            if timestamp().await? >= target {
                return Ok(());
            }
        }
        Err(KeeperError::Rpc(format!(
            "the chain's clock did not advance {seconds} s within {limit:?}"
        )))
    }

    /// One round: every keeper ticks (the head's leader proposes and submits); returns the batches
    /// posted and the errors of the keepers that failed.
    pub async fn round(&self) -> (Vec<Batch>, Vec<(usize, KeeperError)>) {
        let mut posted = Vec::new();
        let mut errors = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            match node.tick().await {
                Ok(Some(batch)) => posted.push(batch),
                Ok(None) => {}
                Err(e) => errors.push((i, e)),
            }
        }
        (posted, errors)
    }

    /// Mines a block, then runs a round, until a batch is posted (at most `max` tries).
    pub async fn post_batch(&self, max: usize) -> Result<Batch> {
        for _ in 0..max {
            self.mine().await?;
            if let Some(batch) = self.round().await.0.pop() {
                return Ok(batch);
            }
        }
        Err(KeeperError::Peer {
            peer: "cluster".into(),
            reason: format!("no batch in {max} blocks"),
        })
    }
}
