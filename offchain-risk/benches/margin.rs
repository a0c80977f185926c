//! Margin-model speed against its targets (one core unless said): scenario grid on 100 and 1,000
//! positions (0.25 ms, 2.5 ms; "Risk engine II"), Monte Carlo ES with 10,000 paths on 100
//! positions (40 ms per core; issue 13), and 10,000 accounts of 10 positions through the grid on
//! both cores (60 ms; issue 13). Run: `cargo bench -p offchain-risk --bench margin`. Under load,
//! `examples/margin_cpu.rs` times the two big cases as CPU time instead.

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use offchain_risk::instrument::{Instrument, Portfolio, Position, Settlement};
use offchain_risk::margin::{margin, MarginConfig, MarginModel};
use offchain_risk::market::MarketSnapshot;
use offchain_risk::pricing::OptionKind;
use rayon::prelude::*;

const NEAR: i64 = 1_707_884_000_000;
const FAR: i64 = 1_731_536_000_000;

fn market() -> MarketSnapshot {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/market.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture exists"))
        .expect("fixture parses")
}

/// A deterministic mixed book: 80% options across strikes and two expiries, the rest futures,
/// perpetuals and spot, on BTC (and ETH spot).
fn book(positions: usize, salt: u64) -> Portfolio {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ salt;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let positions = (0..positions)
        .map(|i| {
            let size = (next() - 0.5) * 10.0;
            let instrument = match i % 10 {
                0 => Instrument::Future {
                    underlying: "BTC".into(),
                    expiry_ms: NEAR,
                    settlement: Settlement::Linear,
                },
                1 => Instrument::Perpetual {
                    underlying: "BTC".into(),
                    settlement: Settlement::Inverse,
                },
                _ if i % 25 == 2 => Instrument::Spot { underlying: "ETH".into() },
                _ => Instrument::Option {
                    underlying: "BTC".into(),
                    expiry_ms: if next() < 0.5 { NEAR } else { FAR },
                    strike: (30_000.0 + 40_000.0 * next()).round(),
                    kind: if next() < 0.5 { OptionKind::Call } else { OptionKind::Put },
                    settlement: Settlement::Linear,
                },
            };
            let entry_price =
                matches!(instrument, Instrument::Future { .. } | Instrument::Perpetual { .. })
                    .then_some(45_000.0 + 10_000.0 * next());
            Position { instrument, size, entry_price }
        })
        .collect();
    Portfolio { account: None, positions }
}

fn grid(c: &mut Criterion) {
    let market = market();
    let config = MarginConfig::default();
    let mut group = c.benchmark_group("grid_margin");
    for positions in [10, 100, 1_000] {
        let portfolio = book(positions, 1);
        group.throughput(Throughput::Elements(positions as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(positions),
            &portfolio,
            |b, portfolio| {
                b.iter(|| {
                    margin(portfolio, &market, MarginModel::ScenarioGrid, &config).expect("margins")
                })
            },
        );
    }
    group.finish();
}

fn monte_carlo(c: &mut Criterion) {
    let market = market();
    let mut group = c.benchmark_group("monte_carlo_es");
    group.sample_size(10);
    let one_core = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    for (positions, paths) in [(100, 1_000), (100, 10_000), (10, 10_000)] {
        let portfolio = book(positions, 2);
        let mut config = MarginConfig::default();
        config.monte_carlo.paths = paths;
        config.monte_carlo.spot_vols.insert("ETH".into(), 0.9);
        group.bench_function(format!("{positions}pos_{paths}paths_1core"), |b| {
            b.iter(|| {
                one_core.install(|| {
                    margin(&portfolio, &market, MarginModel::MonteCarlo, &config).expect("margins")
                })
            })
        });
    }
    let portfolio = book(100, 2);
    let mut config = MarginConfig::default();
    config.monte_carlo.spot_vols.insert("ETH".into(), 0.9);
    group.bench_function("100pos_10000paths_2cores", |b| {
        b.iter(|| margin(&portfolio, &market, MarginModel::MonteCarlo, &config).expect("margins"))
    });
    group.finish();
}

fn many_accounts(c: &mut Criterion) {
    let market = market();
    let config = MarginConfig::default();
    let accounts: Vec<Portfolio> = (0..10_000).map(|a| book(10, a)).collect();
    let mut group = c.benchmark_group("accounts_grid");
    group.sample_size(10);
    group.throughput(Throughput::Elements(accounts.len() as u64));
    group.bench_function("10000x10_2cores", |b| {
        b.iter(|| {
            accounts
                .par_iter()
                .map(|portfolio| {
                    margin(portfolio, &market, MarginModel::ScenarioGrid, &config)
                        .expect("margins")
                        .result
                        .maintenance_margin
                })
                .sum::<f64>()
        })
    });
    group.finish();
}

criterion_group!(benches, grid, monte_carlo, many_accounts);
criterion_main!(benches);
