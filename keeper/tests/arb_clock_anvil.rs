//! The block clock end to end on anvil with ArbSys mocked at 0x64
//! (`contracts/evm/test/mocks/MockArbSys.sol`: the L2 number is `block.number + 1e8`, as Arbitrum
//! One's L2 blocks (~1e8) and its `block.number`, the L1 estimate (~2e7), differ). The twin deploys
//! with the ArbSys clock; keepers sign the engine's `clockBlock()`, reports land and age in it, and
//! the liquidation bot's steps are recorded in it. Before the block clock (engine on
//! `block.number`, keepers on `eth_blockNumber`) the engine stored node block numbers here, and
//! on Arbitrum every batch reverted.
#![allow(missing_docs)]

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use margin_keeper::{
    bot::LiquidationBot,
    cluster::{Cluster, ClusterOptions},
    cosign::{leader_of, CosignResponse, Proposal},
    deploy::{dev_address, DeployOptions, LIQUIDATOR_KEY},
    market::Shock,
    KeeperError,
};
use margin_types::{abi::IMarginEngine, signer::KeeperSigner};

/// MockArbSys's `L2_OFFSET`.
const L2_OFFSET: u64 = 100_000_000;
const E18: u128 = 1_000_000_000_000_000_000;
const MM: usize = 4;
const ALICE: usize = 5;

async fn view<C: SolCall>(cluster: &Cluster, call: C) -> C::Return {
    let out = cluster.deployment.chain(0).unwrap().call(call.abi_encode()).await.unwrap();
    C::abi_decode_returns(&out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepers_sign_the_arbsys_clock_and_the_engine_counts_in_it() {
    let options = ClusterOptions {
        deploy: DeployOptions { mock_arb_sys: true, ..DeployOptions::default() },
        ..ClusterOptions::default()
    };
    let cluster = Cluster::start(options).await.unwrap();
    let d = &cluster.deployment;
    let chain = d.chain(0).unwrap();
    let head = chain.head().await.unwrap();
    assert_eq!(chain.clock_at(head).await.unwrap(), head + L2_OFFSET, "the twin reads ArbSys");

    let (alice, mm) = (dev_address(ALICE), dev_address(MM));
    d.fund(MM, d.usdc, U256::from(1_000_000u64 * 1_000_000)).await.unwrap();
    d.fund(ALICE, d.usdc, U256::from(8_000u64 * 1_000_000)).await.unwrap();
    d.fund(LIQUIDATOR_KEY, d.usdc, U256::from(200_000u64 * 1_000_000)).await.unwrap();
    let batch = cluster.post_batch(4).await.unwrap();
    assert_eq!(batch.observed_block, batch.state_block + L2_OFFSET, "signed with the clock");
    let stored = view(&cluster, IMarginEngine::marginReportOfCall { account: mm }).await;
    assert_eq!(stored.observedBlock.to::<u64>(), batch.observed_block);
    let info = view(&cluster, IMarginEngine::collateralInfoCall { asset: d.usdc }).await;
    assert_eq!(info.priceBlock.to::<u64>(), batch.observed_block);
    assert!(view(&cluster, IMarginEngine::accountHealthCall { account: mm }).await.reportFresh);

    // What keepers signing eth_blockNumber would post: 1e8 blocks old on the engine's clock.
    let mut by_node_number = batch.clone();
    by_node_number.observed_block = by_node_number.state_block;
    by_node_number.reports.clear();
    let digest = by_node_number.digest(31337, d.engine);
    let signatures = d.keeper_keys[..2]
        .iter()
        .map(|key| {
            let signer = KeeperSigner::from_bytes(key).unwrap();
            (signer.address(), signer.sign_digest(&digest).unwrap())
        })
        .collect();
    let calldata =
        by_node_number.post_batch_calldata(margin_types::quorum::encode_signatures(signatures));
    // Cosigners read the clock themselves: a leader proposing the node's number is refused.
    let keepers: Vec<Address> = cluster.nodes.iter().map(|n| n.address()).collect();
    let leader = leader_of(&keepers, by_node_number.state_block).unwrap();
    let li = keepers.iter().position(|k| *k == leader).unwrap();
    let other = (0..keepers.len()).find(|i| *i != li).unwrap();
    let leader_signer = KeeperSigner::from_bytes(&d.keeper_keys[li]).unwrap();
    let proposal = Proposal {
        batch: by_node_number.clone(),
        leader,
        leader_signature: leader_signer.sign_digest(&digest).unwrap().to_vec().into(),
    };
    match cluster.nodes[other].cosign(proposal).await {
        CosignResponse::Refused { reason, .. } => assert_eq!(reason, "wrong_clock"),
        signed => panic!("cosigned a batch observed at the node's number: {signed:?}"),
    }
    // The engine refuses it too.
    match chain.send(None, calldata).await {
        Err(KeeperError::Reverted { revert }) => {
            assert!(revert.contains("StaleReport"), "{revert}")
        }
        other => panic!("a batch observed at the node's block number must revert: {other:?}"),
    }

    // Alice goes long, the market drops, the bot liquidates: each step is recorded in the clock.
    d.trade(cluster.perp, alice, mm, 10 * E18 as i128, 2_500 * E18).await.unwrap();
    cluster.post_batch(4).await.unwrap();
    let head = cluster.nodes[0].sync().await.unwrap();
    cluster.market.push_shock(Shock {
        at_block: head + 1,
        underlying: "ETH".into(),
        spot_factor: 0.75,
        vol_factor: 1.5,
    });
    let batch = cluster.post_batch(4).await.unwrap();
    assert!(!batch.steps.is_empty(), "a liquidation step is planned: {batch:?}");
    let bot = LiquidationBot::new(
        cluster.deployment.chain(LIQUIDATOR_KEY).unwrap(),
        cluster.urls.clone(),
    );
    let done = bot.run_once().await.unwrap();
    assert!(!done.is_empty(), "the bot executed a step");
    for step in &done {
        assert_eq!(step.clock_block, step.block + L2_OFFSET, "{step:?}");
    }
    let state = view(&cluster, IMarginEngine::accountStateCall { account: alice }).await;
    assert_eq!(state.lastLiquidationBlock.to::<u64>(), done[0].clock_block);
}
