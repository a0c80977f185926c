//! Keeper throughput: accounts margined and signed per second with the scenario-grid model
//! (`OffchainRiskModel::margin_many`, the rayon-parallel path), for a synthetic book of 1,000 and
//! 10,000 accounts holding 10 ETH positions each across the perpetual, two dated futures and
//! twenty options (two expiries, five strikes, calls and puts) of the demo market
//! (`keeper/fixtures/demo_market.json`).
//!
//! - `margin_and_sign/N`: margin every account, build the batch (price reports + N margin
//!   reports), its Merkle root and EIP-712 digest, and one keeper's signature (each keeper does
//!   this once per block; the quorum's signatures are computed in parallel on their machines).
//! - `post_batch_calldata/N`: ABI-encode `postBatch` for the batch with two signatures.
//!
//! With `KEEPER_BENCH_ANVIL=1` it also submits one 1,000-report batch to a real engine on anvil
//! (deployed with the e2e helpers), split into chunks of `KEEPER_BENCH_CHUNK` (default 250)
//! reports, and prints the wall time of each chunk's root, signatures and transaction.
#![allow(missing_docs, clippy::print_stdout)]

use std::{hint::black_box, sync::Arc, time::Instant};

use alloy_primitives::{keccak256, Address, Bytes, B256, I256, U256};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use margin_keeper::{
    batch::{Batch, MarginReportJson},
    cluster::DEMO_MARKET,
    index::{AccountView, EngineBook},
    market::ReplaySource,
    model::RiskModel,
    risk::{CollateralPricing, OffchainRiskModel},
};
use margin_types::signer::KeeperSigner;
use offchain_risk::market::MarketSnapshot;

const BLOCK: u64 = 100;
const POSITIONS: usize = 10;

/// The demo market's instruments: perp, two futures, 20 options.
fn instruments() -> Vec<(B256, String)> {
    let mut out =
        vec![(keccak256("ETH-PERP"), r#"{"type":"perpetual","underlying":"ETH"}"#.to_owned())];
    for expiry in [1_707_884_000_000i64, 1_731_536_000_000] {
        out.push((
            keccak256(format!("ETH-FUT-{expiry}")),
            format!(r#"{{"type":"future","underlying":"ETH","expiry_ms":{expiry}}}"#),
        ));
        for strike in [2_000, 2_250, 2_500, 2_750, 3_000] {
            for kind in ["call", "put"] {
                out.push((
                    keccak256(format!("ETH-{expiry}-{strike}-{kind}")),
                    format!(
                        r#"{{"type":"option","underlying":"ETH","expiry_ms":{expiry},"strike":{strike},"kind":"{kind}"}}"#
                    ),
                ));
            }
        }
    }
    out
}

/// A deterministic book of `n` accounts, 10 distinct positions each (sizes -5..5 ETH, nonzero).
fn book(n: usize) -> (EngineBook, Vec<Address>) {
    let instruments = instruments();
    let mut book = EngineBook::default();
    for (id, spec) in &instruments {
        book.instruments.insert(*id, Bytes::from(spec.clone().into_bytes()));
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let usdc = Address::repeat_byte(0xc1);
    let mut accounts = Vec::with_capacity(n);
    for i in 0..n {
        let mut bytes = [0u8; 20];
        bytes[12..].copy_from_slice(&(i as u64 + 1).to_be_bytes());
        let account = Address::from(bytes);
        let mut view = AccountView { positions_nonce: 1, ..Default::default() };
        view.collateral.insert(usdc, U256::from(50_000u64 * 1_000_000));
        while view.positions.len() < POSITIONS {
            let (id, _) = &instruments[(next() % instruments.len() as u64) as usize];
            let tenths = (next() % 100) as i64 - 50;
            let size = if tenths == 0 { 1 } else { tenths };
            let size = I256::try_from(size).unwrap() * I256::try_from(10u64.pow(17)).unwrap();
            view.positions.insert(*id, size);
        }
        book.accounts.insert(account, view);
        accounts.push(account);
    }
    (book, accounts)
}

fn model() -> OffchainRiskModel {
    let market: MarketSnapshot = serde_json::from_str(DEMO_MARKET).unwrap();
    let source = Arc::new(ReplaySource::new(0, vec![market]).unwrap());
    OffchainRiskModel::grid(
        source,
        vec![
            CollateralPricing {
                asset: Address::repeat_byte(0xc1),
                underlying: None,
                fixed_usd: Some(1.0),
            },
            CollateralPricing {
                asset: Address::repeat_byte(0xe1),
                underlying: Some("ETH".into()),
                fixed_usd: None,
            },
        ],
    )
}

/// One keeper's block: margin everyone (parallel), the batch, its root and digest, one signature.
fn margin_and_sign(
    model: &OffchainRiskModel,
    book: &EngineBook,
    accounts: &[Address],
    signer: &KeeperSigner,
    engine: Address,
) -> (Batch, [u8; 65]) {
    let computed = model.margin_many(accounts, book, BLOCK).unwrap();
    let reports = computed
        .into_iter()
        .map(|(account, numbers)| {
            let n = numbers.unwrap();
            MarginReportJson {
                account,
                positions_nonce: 1,
                portfolio_value: n.portfolio_value,
                initial_margin: n.initial_margin,
                maintenance_margin: n.maintenance_margin,
            }
        })
        .collect();
    let batch = Batch {
        observed_block: BLOCK,
        state_block: BLOCK,
        risk_epoch: 0,
        prices: model.collateral_prices(BLOCK).unwrap(),
        reports,
        steps: Vec::new(),
    };
    let signature = signer.sign_digest(&batch.digest(31337, engine)).unwrap();
    (batch, signature)
}

fn bench(c: &mut Criterion) {
    let model = model();
    let signers: Vec<KeeperSigner> = (1..=2)
        .map(|i| KeeperSigner::from_bytes(&margin_keeper::devnet::anvil_key(i)).unwrap())
        .collect();
    let engine = Address::repeat_byte(0xee);
    let mut group = c.benchmark_group("keeper_throughput");
    group.sample_size(10);
    for n in [1_000usize, 10_000] {
        let (book, accounts) = book(n);
        // Warm the spec cache and the snapshot (a running keeper has both).
        let (batch, _) = margin_and_sign(&model, &book, &accounts, &signers[0], engine);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("margin_and_sign", n), &n, |b, _| {
            b.iter(|| black_box(margin_and_sign(&model, &book, &accounts, &signers[0], engine)))
        });
        let digest = batch.digest(31337, engine);
        let signatures: Vec<(Address, [u8; 65])> =
            signers.iter().map(|s| (s.address(), s.sign_digest(&digest).unwrap())).collect();
        group.bench_with_input(BenchmarkId::new("post_batch_calldata", n), &n, |b, _| {
            b.iter(|| {
                let sigs = margin_types::quorum::encode_signatures(signatures.clone());
                black_box(batch.post_batch_calldata(sigs))
            })
        });
    }
    group.finish();
}

/// One real submission of a 1,000-report batch on anvil, in chunks the engine accepts.
fn anvil_submission() {
    use margin_keeper::{
        deploy::{deploy, DeployOptions},
        devnet::Anvil,
    };
    let chunk: usize =
        std::env::var("KEEPER_BENCH_CHUNK").ok().and_then(|v| v.parse().ok()).unwrap_or(250);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let anvil = Anvil::start(None).unwrap();
        let d = deploy(&anvil.url, &DeployOptions::default()).await.unwrap();
        let model = model();
        let (book, accounts) = book(1_000);
        let keepers: Vec<KeeperSigner> =
            d.keeper_keys[..2].iter().map(|k| KeeperSigner::from_bytes(k).unwrap()).collect();
        let chain = d.chain(1).unwrap();
        let chain_id = chain.chain_id().await.unwrap();
        let started = Instant::now();
        let computed = model.margin_many(&accounts, &book, BLOCK).unwrap();
        let margined = started.elapsed();
        let mut gas = 0u64;
        for (i, part) in computed.chunks(chunk).enumerate() {
            let head = chain.head().await.unwrap();
            let batch = Batch {
                observed_block: chain.clock_at(head).await.unwrap(),
                state_block: head,
                risk_epoch: 0,
                prices: Vec::new(),
                // Nonce 0: these accounts never traded on this engine, so the reports apply.
                reports: part
                    .iter()
                    .map(|(account, n)| {
                        let n = n.as_ref().unwrap();
                        MarginReportJson {
                            account: *account,
                            positions_nonce: 0,
                            portfolio_value: n.portfolio_value,
                            initial_margin: n.initial_margin,
                            maintenance_margin: n.maintenance_margin,
                        }
                    })
                    .collect(),
                steps: Vec::new(),
            };
            let t = Instant::now();
            let digest = batch.digest(chain_id, d.engine);
            let sigs =
                keepers.iter().map(|k| (k.address(), k.sign_digest(&digest).unwrap())).collect();
            let calldata = batch.post_batch_calldata(margin_types::quorum::encode_signatures(sigs));
            let built = t.elapsed();
            let bytes = calldata.len();
            let mined = chain.send(None, calldata).await.unwrap();
            gas += mined.gas_used;
            println!(
                "anvil chunk {i}: {} reports, root+2 signatures+calldata {:.2} ms, {bytes} bytes, \
                 gas {}, submitted and mined {:.1} ms",
                part.len(),
                built.as_secs_f64() * 1e3,
                mined.gas_used,
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        println!(
            "anvil: 1,000 reports margined in {:.1} ms, all chunks mined after {:.1} ms, gas {gas} \
             ({} per report, first reports)",
            margined.as_secs_f64() * 1e3,
            started.elapsed().as_secs_f64() * 1e3,
            gas / 1_000
        );
    });
}

criterion_group!(benches, bench);

fn main() {
    benches();
    if std::env::var("KEEPER_BENCH_ANVIL").is_ok_and(|v| v == "1") {
        anvil_submission();
    }
    criterion::Criterion::default().configure_from_args().final_summary();
}
