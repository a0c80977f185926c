//! Seeded random step sequences on the differential runner (Stylus WASM in the host vs the
//! Solidity twin on anvil). Any divergence or panic fails and prints a minimal reproducing
//! sequence (greedy step removal) as scenario JSON.
//!
//! `make test`: `STYLUS_HOST_FUZZ_CASES` sequences (default 3) of 24 steps; `make fuzz` runs more.
//! `STYLUS_HOST_FUZZ_SEED` picks the seed (default fixed, so runs are reproducible).
#![allow(missing_docs, clippy::print_stderr)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stylus_host::scenario::{LegSpec, Lockstep, ReportSpec, Step};

const STEPS: usize = 24;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn trader(rng: &mut ChaCha8Rng) -> u8 {
    rng.random_range(4..7)
}

fn anyone(rng: &mut ChaCha8Rng) -> u8 {
    rng.random_range(0..8)
}

fn report(rng: &mut ChaCha8Rng) -> ReportSpec {
    ReportSpec {
        account: trader(rng),
        pv: rng.random_range(-5_000..5_000),
        mm: rng.random_range(0..3_000),
    }
}

fn step(rng: &mut ChaCha8Rng) -> Step {
    match rng.random_range(0..21) {
        0 => Step::Mint {
            token: rng.random_range(0..2),
            to: trader(rng),
            amount: rng.random_range(0..1u64 << 40),
        },
        1 => Step::Approve { token: rng.random_range(0..2), from: trader(rng) },
        2 | 3 => Step::Deposit {
            from: trader(rng),
            token: rng.random_range(0..2),
            amount: rng.random_range(0..1u64 << 36),
        },
        4 => Step::Withdraw {
            from: trader(rng),
            token: rng.random_range(0..2),
            amount: rng.random_range(0..1u64 << 36),
        },
        5 => Step::ListInstrument {
            from: [0, 0, 1, 4][rng.random_range(0..4)],
            instrument: rng.random_range(0..2),
        },
        6 | 7 => {
            let instrument = rng.random_range(0..2);
            let (a, b) = (trader(rng), trader(rng));
            let size = rng.random_range(-500..500);
            let cash = rng.random_range(-1_000_000..1_000_000);
            let skew = if rng.random_bool(0.2) { rng.random_range(-5..5) } else { 0 };
            Step::Trade {
                from: if rng.random_bool(0.9) { 3 } else { anyone(rng) },
                legs: vec![
                    LegSpec { account: a, instrument, size, cash },
                    LegSpec { account: b, instrument, size: -size + skew, cash: -cash },
                ],
            }
        }
        8 | 9 => Step::Batch {
            signers: (0..rng.random_range(0..4)).map(|_| rng.random_range(0..3)).collect(),
            prices: (0..2)
                .filter_map(|t| {
                    let price = if t == 0 { 1 } else { rng.random_range(0..5_000) };
                    rng.random_bool(0.6).then_some((t, price))
                })
                .collect(),
            reports: (0..rng.random_range(0..3)).map(|_| report(rng)).collect(),
            age: if rng.random_bool(0.1) { 200 } else { rng.random_range(0..3) },
        },
        10 => Step::Liquidate {
            liquidator: trader(rng),
            report: report(rng),
            instrument: rng.random_range(0..2),
            size: rng.random_range(-300..300),
            mark: rng.random_range(1..5_000),
        },
        11 => Step::Propose {
            from: [0, 0, 1, 7][rng.random_range(0..4)],
            kind: rng.random_range(0..22),
            target: rng.random_range(0..8),
            value: [0, 1, 3, 50, 700, 9_000, 12_000, 100_000][rng.random_range(0..8)],
        },
        12 => Step::Execute { from: anyone(rng) },
        13 => Step::Cancel { from: [0, 1, 7][rng.random_range(0..3)] },
        14 => Step::Pause { from: [0, 2, 7][rng.random_range(0..3)] },
        15 => Step::Unpause { from: [0, 2, 7][rng.random_range(0..3)] },
        16 => Step::WithdrawCash { from: trader(rng), amount: rng.random_range(0..1u64 << 34) },
        17 => Step::RepayDebt { from: trader(rng), amount: rng.random_range(0..1u64 << 34) },
        18 => Step::Seize {
            from: trader(rng),
            account: trader(rng),
            token: rng.random_range(0..2),
            amount: rng.random_range(0..1u64 << 34),
        },
        19 => Step::ResolveBadDebt { from: anyone(rng), account: trader(rng) },
        _ => Step::Advance {
            blocks: rng.random_range(1..120),
            seconds: [1, 12, 60, 3_600][rng.random_range(0..4)],
        },
    }
}

/// `Err((index, message))` on a divergence, a host fault or a panic.
fn run(steps: &[Step]) -> Result<(), (usize, String)> {
    let mut chains = Lockstep::new(true).unwrap_or_else(|e| panic!("setup: {e}"));
    catch_unwind(AssertUnwindSafe(|| chains.run(steps))).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err((usize::MAX, format!("panic: {message}")))
    })
}

/// Greedy minimisation: drop steps while the sequence still fails.
fn minimise(mut steps: Vec<Step>) -> Vec<Step> {
    let mut i = 0;
    let mut budget = 80;
    while i < steps.len() && budget > 0 {
        budget -= 1;
        let mut shorter = steps.clone();
        shorter.remove(i);
        if run(&shorter).is_err() {
            steps = shorter;
        } else {
            i += 1;
        }
    }
    steps
}

#[test]
fn random_sequences_match_the_solidity_twin() {
    let cases = env_u64("STYLUS_HOST_FUZZ_CASES", 3);
    let seed = env_u64("STYLUS_HOST_FUZZ_SEED", 0x5eed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for case in 0..cases {
        let steps: Vec<Step> = (0..STEPS).map(|_| step(&mut rng)).collect();
        if let Err((i, message)) = run(&steps) {
            // Everything up to the failing step (a panic may come from any step).
            let prefix = if i == usize::MAX { steps.clone() } else { steps[..=i].to_vec() };
            let minimal = minimise(prefix);
            panic!(
                "seed {seed:#x} case {case}: {message}\nminimal reproducing sequence ({} steps):\n{}",
                minimal.len(),
                serde_json::to_string_pretty(&minimal).unwrap()
            );
        }
    }
}
