//! End to end on anvil: three keepers (quorum 2) cosigning over HTTP on loopback, the Solidity
//! engine administered by a real Safe 1.4.1, the liquidation bot, governance through the Safe.
#![allow(missing_docs)]

use std::sync::Arc;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolCall;
use margin_keeper::{
    bot::LiquidationBot,
    cluster::{grid_model, Cluster, ClusterOptions},
    cosign::{leader_of, CosignResponse, Proposal},
    deploy::{dev_address, Deployment, LIQUIDATOR_KEY, SAFE_OWNER_KEYS},
    market::{MarketSource, Shock, SimulatedSource},
    model::RiskModel,
    KeeperError,
};
use margin_types::{abi::IMarginEngine, signer::KeeperSigner};

const E18: u128 = 1_000_000_000_000_000_000;
const MM: usize = 4;
const ALICE: usize = 5;

async fn health(cluster: &Cluster, account: Address) -> margin_types::abi::AccountHealth {
    let out = cluster
        .deployment
        .chain(0)
        .unwrap()
        .call(IMarginEngine::accountHealthCall { account }.abi_encode())
        .await
        .unwrap();
    IMarginEngine::accountHealthCall::abi_decode_returns(&out).unwrap()
}

/// Funds the market maker, Alice (thin margin) and the liquidator; one batch reports them all.
async fn fund(cluster: &Cluster) {
    let d = &cluster.deployment;
    d.fund(MM, d.usdc, U256::from(1_000_000u64 * 1_000_000)).await.unwrap();
    d.fund(ALICE, d.usdc, U256::from(8_000u64 * 1_000_000)).await.unwrap();
    d.fund(LIQUIDATOR_KEY, d.usdc, U256::from(200_000u64 * 1_000_000)).await.unwrap();
    let batch = cluster.post_batch(4).await.unwrap();
    assert_eq!(batch.reports.len(), 3, "{batch:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_posts_reports_a_shock_liquidates_step_by_step_and_the_safe_governs() {
    let cluster = Cluster::start(ClusterOptions::default()).await.unwrap();
    fund(&cluster).await;
    let (alice, mm) = (dev_address(ALICE), dev_address(MM));
    // Alice goes long 10 ETH-PERP at 2,500 against the market maker.
    cluster.deployment.trade(cluster.perp, alice, mm, 10 * E18 as i128, 2_500 * E18).await.unwrap();
    let batch = cluster.post_batch(4).await.unwrap();
    assert!(batch.reports.iter().any(|r| r.account == alice && r.positions_nonce == 1));
    let h = health(&cluster, alice).await;
    assert!(h.reportFresh && !h.liquidatable, "{h:?}");
    assert!(h.equity > alloy_primitives::I256::try_from(7_000 * E18).unwrap());

    // ETH -25%, implied vol +50%: Alice falls below maintenance.
    let head = cluster.nodes[0].sync().await.unwrap();
    cluster.market.push_shock(Shock {
        at_block: head + 1,
        underlying: "ETH".into(),
        spot_factor: 0.75,
        vol_factor: 1.5,
    });
    let batch = cluster.post_batch(4).await.unwrap();
    assert!(!batch.steps.is_empty(), "a liquidation step is planned: {batch:?}");
    assert!(health(&cluster, alice).await.liquidatable);

    // The bot liquidates one step per block until Alice is healthy again.
    let bot = LiquidationBot::new(
        cluster.deployment.chain(LIQUIDATOR_KEY).unwrap(),
        cluster.urls.clone(),
    );
    let mut steps = 0;
    for _ in 0..12 {
        let done = bot.run_once().await.unwrap();
        steps += done.len();
        for d in &done {
            let notional =
                U256::from(d.size.unsigned_abs()) * U256::from(d.mark_price) / U256::from(E18);
            assert!(d.size < 0 && notional <= U256::from(10_000 * E18), "{d:?}");
        }
        if cluster.post_batch(4).await.is_err() {
            break;
        }
        if !health(&cluster, alice).await.liquidatable && steps > 0 {
            break;
        }
    }
    assert!(steps >= 1, "the bot executed steps");
    let h = health(&cluster, alice).await;
    assert!(!h.liquidatable, "Alice restored: {h:?}");
    // A spent step again: the simulation rejects it (nonce moved on), nothing is sent.
    let stale = bot.fetch_steps().await;
    for ticket in &stale {
        assert!(bot.execute(ticket).await.map(|e| e.is_none()).unwrap_or(true));
    }

    // Governance: tightening WETH's weight applies at once through the Safe (2 of 3 owners) ...
    let d = &cluster.deployment;
    let weight = |cluster: &Cluster| {
        let d = cluster.deployment.clone();
        async move {
            let out = d
                .chain(0)
                .unwrap()
                .call(IMarginEngine::collateralInfoCall { asset: d.weth }.abi_encode())
                .await
                .unwrap();
            IMarginEngine::collateralInfoCall::abi_decode_returns(&out).unwrap().weightBps
        }
    };
    d.safe_exec(
        &SAFE_OWNER_KEYS[..2],
        d.engine,
        Deployment::propose_calldata(0, d.weth, U256::from(8_000)),
    )
    .await
    .unwrap();
    assert_eq!(weight(&cluster).await, 8_000);
    // ... loosening is queued behind the timelock, then executed by anyone.
    d.safe_exec(
        &SAFE_OWNER_KEYS[1..],
        d.engine,
        Deployment::propose_calldata(0, d.weth, U256::from(8_500)),
    )
    .await
    .unwrap();
    assert_eq!(weight(&cluster).await, 8_000);
    let block = d.chain(0).unwrap().provider_call(d.engine, vec![]).await.ok();
    drop(block);
    cluster.increase_time(3_601).await.unwrap();
    cluster.mine().await.unwrap();
    let queued = cluster.nodes[0].book().await; // the keepers index on
    drop(queued);
    // The eta is the queueing block's timestamp + delay: find it from the ChangeQueued log.
    let logs = d.chain(0).unwrap().engine_logs(d.deploy_block, u64::MAX >> 1).await;
    let logs = match logs {
        Ok(l) => l,
        Err(_) => d
            .chain(0)
            .unwrap()
            .engine_logs(d.deploy_block, cluster.nodes[0].sync().await.unwrap())
            .await
            .unwrap(),
    };
    let eta = logs
        .iter()
        .find_map(|l| {
            use alloy_sol_types::SolEvent;
            margin_types::abi::IMarginEngineEvents::ChangeQueued::decode_log(&l.inner)
                .ok()
                .map(|e| e.eta)
        })
        .expect("a ChangeQueued event");
    let exec = IMarginEngine::executeChangeCall {
        change: margin_types::abi::ParamChange {
            kind: 0,
            target: d.weth,
            value: U256::from(8_500),
        },
        eta,
    };
    d.chain(0).unwrap().send(None, exec.abi_encode()).await.unwrap();
    assert_eq!(weight(&cluster).await, 8_500);
    let _ = B256::ZERO;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disagreeing_cosigner_is_outvoted_and_its_own_proposals_are_rejected() {
    // Keeper 2 sees ETH 1% higher than everyone else.
    let options = ClusterOptions {
        models: Some(Box::new(|i, market: Arc<dyn MarketSource>, d: &Deployment| {
            let market: Arc<dyn MarketSource> = if i == 2 {
                let base = market.snapshot_at(d.deploy_block).unwrap();
                let skewed = SimulatedSource::new(base, d.deploy_block, 0, vec![]).unwrap();
                skewed.push_shock(Shock {
                    at_block: 0,
                    underlying: "ETH".into(),
                    spot_factor: 1.01,
                    vol_factor: 1.0,
                });
                Arc::new(skewed)
            } else {
                market
            };
            Arc::new(grid_model(market, d, &Default::default())) as Arc<dyn RiskModel>
        })),
        ..ClusterOptions::default()
    };
    let cluster = Cluster::start(options).await.unwrap();
    let d = &cluster.deployment;
    d.fund(MM, d.weth, U256::from(100u64) * U256::from(E18)).await.unwrap();
    let keepers: Vec<Address> = cluster.nodes.iter().map(|n| n.address()).collect();
    let (mut posted, mut rejected) = (0, 0);
    for _ in 0..6 {
        cluster.mine().await.unwrap();
        let head = cluster.nodes[0].sync().await.unwrap();
        let leader = leader_of(&keepers, head).unwrap();
        let (batches, errors) = cluster.round().await;
        if leader == cluster.nodes[2].address() {
            // Its WETH price differs: both honest keepers refuse, no quorum.
            assert!(batches.is_empty());
            assert!(
                errors.iter().any(|(i, e)| *i == 2 && matches!(e, KeeperError::Peer { .. })),
                "{errors:?}"
            );
            rejected += 1;
        } else {
            posted += batches.len();
        }
    }
    assert!(rejected >= 1 && posted >= 1, "posted {posted}, rejected {rejected}");
    // The honest keepers refused with leaf_mismatch; keeper 2 refused the honest proposals too.
    let refusals: u64 =
        cluster.nodes[..2].iter().map(|n| n.metrics().rejected("leaf_mismatch")).sum();
    assert!(refusals >= 2);
    assert!(cluster.nodes[2].metrics().rejected("leaf_mismatch") >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_keeper_never_double_signs() {
    let mut cluster = Cluster::start(ClusterOptions::default()).await.unwrap();
    let d = &cluster.deployment;
    d.fund(MM, d.usdc, U256::from(1_000u64 * 1_000_000)).await.unwrap();
    d.fund(ALICE, d.usdc, U256::from(2_000u64 * 1_000_000)).await.unwrap();
    let batch = cluster.post_batch(4).await.unwrap();
    let block = batch.observed_block;
    let keepers: Vec<Address> = cluster.nodes.iter().map(|n| n.address()).collect();
    let leader = leader_of(&keepers, batch.state_block).unwrap();
    let li = keepers.iter().position(|k| *k == leader).unwrap();
    // A cosigner of that block crashes and restarts from its journal.
    let other = (0..3).find(|i| *i != li).unwrap();
    cluster.restart_node(other).await.unwrap();
    // The leader (key in hand) now proposes a different batch for the same block: a subset of the
    // reports, each of them correct. The restarted keeper must refuse: it signed block `block`.
    let mut subset = batch.clone();
    subset.reports.truncate(1);
    let leader_key = cluster.deployment.keeper_keys[li];
    let signer = KeeperSigner::from_bytes(&leader_key).unwrap();
    let digest = subset.digest(31337, cluster.deployment.engine);
    let proposal = Proposal {
        batch: subset,
        leader,
        leader_signature: signer.sign_digest(&digest).unwrap().to_vec().into(),
    };
    let answer = cluster.nodes[other].cosign(proposal.clone()).await;
    // Either it signed the original (then: double_sign) or it never saw it (then it may sign).
    let signed_before = cluster.nodes[other].signed_batch_count().await.unwrap() > 0;
    match answer {
        CosignResponse::Refused { reason, .. } => assert_eq!(reason, "double_sign"),
        CosignResponse::Signed { .. } => assert!(!signed_before, "double-signed block {block}"),
    }
    // The network goes on after the restart.
    cluster.trade_and_post().await;
}

trait TradeAndPost {
    async fn trade_and_post(&self);
}

impl TradeAndPost for Cluster {
    async fn trade_and_post(&self) {
        let (alice, mm) = (dev_address(ALICE), dev_address(MM));
        self.deployment.trade(self.perp, alice, mm, E18 as i128, 2_500 * E18).await.unwrap();
        let batch = self.post_batch(4).await.unwrap();
        assert!(batch.reports.iter().any(|r| r.account == alice && r.positions_nonce == 1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepers_survive_an_rpc_outage() {
    let cluster = Cluster::start(ClusterOptions::default()).await.unwrap();
    let d = &cluster.deployment;
    d.fund(MM, d.usdc, U256::from(1_000u64 * 1_000_000)).await.unwrap();
    cluster.post_batch(4).await.unwrap();
    // The node's RPC goes away: rounds fail (after bounded retries) instead of hanging.
    let dead = margin_keeper::chain::Chain::connect(
        "http://127.0.0.1:9",
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d".parse().unwrap(),
        d.engine,
    )
    .unwrap()
    .with_retry(margin_keeper::chain::RetryPolicy {
        attempts: 3,
        initial_backoff: std::time::Duration::from_millis(20),
        max_backoff: std::time::Duration::from_millis(40),
    });
    assert!(matches!(dead.head().await, Err(KeeperError::Rpc(_))));
    // An outage of the node's endpoint: proxy toggled off then on.
    let proxy = Proxy::start(cluster.anvil.port).await;
    let node = margin_keeper::node::Node::new(
        margin_keeper::node::NodeSettings {
            name: "proxied".into(),
            start_block: d.deploy_block,
            peers: vec![],
            db_path: None,
            refresh_blocks: 20,
            change_bps: 1,
            peer_timeout: std::time::Duration::from_secs(2),
        },
        d.keeper_keys[0],
        margin_keeper::chain::Chain::connect(
            &proxy.url(),
            d.keeper_keys[0].to_string().parse().unwrap(),
            d.engine,
        )
        .unwrap()
        .with_retry(margin_keeper::chain::RetryPolicy {
            attempts: 2,
            initial_backoff: std::time::Duration::from_millis(20),
            max_backoff: std::time::Duration::from_millis(40),
        }),
        Arc::new(grid_model(cluster.market.clone(), d, &Default::default())),
    )
    .await
    .unwrap();
    let before = node.sync().await.unwrap();
    proxy.set_up(false);
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    assert!(node.sync().await.is_err(), "outage surfaces as an error");
    cluster.mine().await.unwrap();
    proxy.set_up(true);
    let after = node.sync().await.unwrap();
    assert!(after > before, "caught up after the outage");
    assert_eq!(node.indexed_head().await, Some(after));
    let book = node.book().await;
    assert!(book.accounts.contains_key(&dev_address(MM)));
}

/// A TCP proxy to anvil that can be switched off (connections refused and cut).
struct Proxy {
    port: u16,
    up: Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    async fn start(target: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { break };
                if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let flag = flag.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) =
                        tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = async {
                            while flag.load(std::sync::atomic::Ordering::SeqCst) {
                                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                            }
                        } => {}
                    }
                });
            }
        });
        Self { port, up }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
    }
}
