//! CPU-time harness for the margin benches' two big cases (the machine is shared, so wall time
//! under load says little): the same books and market as `benches/margin.rs`, timed by the
//! process's CPU time (`/proc/self/task/*/schedstat`, nanoseconds).
//!
//! Run: `cargo run --profile bench -p offchain-risk --example margin_cpu -- [mc|grid|both] [reps]`.
//! Prints CPU ms per Monte Carlo run (100 positions × 10,000 paths, one thread) and per pass over
//! 10,000 accounts × 10 positions (one thread, so the CPU per pass is what two cores share), and a
//! checksum of the margins so two builds can be compared.

#![allow(missing_docs)]
// A harness: printing its measurements is its whole job.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use offchain_risk::instrument::{Instrument, Portfolio, Position, Settlement};
use offchain_risk::margin::{margin, MarginConfig, MarginModel};
use offchain_risk::market::MarketSnapshot;
use offchain_risk::pricing::OptionKind;

const NEAR: i64 = 1_707_884_000_000;
const FAR: i64 = 1_731_536_000_000;

fn market() -> MarketSnapshot {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/market.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture exists"))
        .expect("fixture parses")
}

/// The bench's book (`benches/margin.rs::book`).
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

/// CPU time of every thread of the process, in nanoseconds.
fn cpu_ns() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .expect("procfs")
        .filter_map(|task| {
            let path = task.ok()?.path().join("schedstat");
            let text = std::fs::read_to_string(path).ok()?;
            text.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// Mean and minimum CPU milliseconds of `reps` calls of `work` (the minimum is the least
/// disturbed by other processes sharing the core).
fn timed(reps: usize, mut work: impl FnMut()) -> (f64, f64) {
    let mut total = 0.0;
    let mut min = f64::INFINITY;
    for _ in 0..reps {
        let start = cpu_ns();
        work();
        let ms = (cpu_ns() - start) as f64 / 1e6;
        total += ms;
        min = min.min(ms);
    }
    (total / reps as f64, min)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map(String::as_str).unwrap_or("both");
    let reps: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(10);
    let market = market();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("pool");
    if what == "mc" || what == "both" {
        let portfolio = book(100, 2);
        let mut config = MarginConfig::default();
        config.monte_carlo.spot_vols.insert("ETH".into(), 0.9);
        let run = || {
            pool.install(|| margin(&portfolio, &market, MarginModel::MonteCarlo, &config))
                .expect("margins")
        };
        let first = run();
        let (ms, min) = timed(reps, || {
            std::hint::black_box(run());
        });
        println!(
            "mc   100x10000 1 thread: {ms:8.2} ms CPU/run, min {min:8.2}  (mm {:.15e}, first alloc {:.15e})",
            first.result.maintenance_margin, first.result.positions[3].margin
        );
    }
    if what == "grid" || what == "both" {
        let config = MarginConfig::default();
        let accounts: Vec<Portfolio> = (0..10_000).map(|a| book(10, a)).collect();
        let pass = || {
            pool.install(|| {
                accounts
                    .iter()
                    .map(|p| {
                        margin(p, &market, MarginModel::ScenarioGrid, &config)
                            .expect("margins")
                            .result
                            .maintenance_margin
                    })
                    .sum::<f64>()
            })
        };
        let checksum = pass();
        let (ms, min) = timed(reps, || {
            std::hint::black_box(pass());
        });
        println!(
            "grid 10000x10 1 thread:  {ms:8.2} ms CPU/pass, min {min:8.2} (sum mm {checksum:.15e})"
        );
    }
}
