//! Criterion benches of the pricing hot paths, per option over a realistic mixed book of 4,096
//! options, and the peer comparisons of issue 13, each run both sides on the same inputs in one
//! process:
//!
//! - `price_vs_peer`: our Black-76 price against the crates.io crate `implied-vol` 2.1.0's price
//!   (Jäckel's "Let's Be Rational" code), target ratio ≤ 1;
//! - `implied_vol_vs_peer`: our implied vol against that crate's, target ratio ≤ 1 at equal or
//!   better round-trip accuracy (both printed), against the crate's unchecked entry point
//!   (`build_unchecked()`); `implied_vol_vs_peer_validated` against its validating one
//!   (`build()`), like for like, since ours validates its inputs and returns typed errors;
//! - `greeks_vs_price`: price + 7 Greeks against our own price only, target ratio ≤ 1.5.
//!
//! Each group times both sides with criterion and then, in its `interleaved` function, passes
//! over the book alternately (ours, peer, peer, ours, ...) and prints the median time per option
//! of each side and the median of the paired ratios, which a loaded machine moves far less than
//! the separate means.
//!
//! Run with `cargo bench -p offchain-risk --bench pricing` (or `-- implied_vol_vs_peer` etc.).

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::cell::RefCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use implied_vol::{DefaultSpecialFn, ImpliedBlackVolatility, PriceBlackScholes};
use offchain_risk::pricing::black76::{
    self, greeks, greeks_batch, inverse_greeks, GreeksBatch, OptionBatch,
};
use offchain_risk::pricing::implied_vol::implied_vol;
use offchain_risk::pricing::OptionKind;

const BOOK_SIZE: usize = 4_096;

/// A crypto-like book: expiries from one day to two years, strikes from 0.5× to 2× the forward,
/// vols 30%–150% with a smile, calls and puts, rates 0–6%.
fn book() -> OptionBatch {
    let mut batch = OptionBatch::with_capacity(BOOK_SIZE);
    let expiries: [f64; 9] =
        [1.0 / 365.0, 2.0 / 365.0, 7.0 / 365.0, 14.0 / 365.0, 30.0 / 365.0, 0.25, 0.5, 1.0, 2.0];
    let mut i = 0usize;
    while batch.len() < BOOK_SIZE {
        let t = expiries[i % expiries.len()];
        // Strikes spread over ±3.5 standard deviations, capped at 0.5×–2× the forward.
        let z = ((i * 37) % 29) as f64 / 4.0 - 3.5;
        let atm_vol = 0.3 + 0.6 * (((i * 13) % 11) as f64 / 10.0);
        let vol = atm_vol * (1.0 + 0.08 * z * z);
        let forward = 60_000.0;
        let strike = (forward * (z * vol * t.sqrt()).exp()).clamp(0.5 * forward, 2.0 * forward);
        let kind = if i.is_multiple_of(2) { OptionKind::Call } else { OptionKind::Put };
        batch.push(kind, forward, strike, t, vol, 0.06 * ((i % 7) as f64 / 6.0));
        i += 1;
    }
    batch
}

fn kind_of(batch: &OptionBatch, i: usize) -> OptionKind {
    if batch.is_call[i] {
        OptionKind::Call
    } else {
        OptionKind::Put
    }
}

/// One option of the book with its discount factor and our discounted price.
#[derive(Clone, Copy)]
struct Quote {
    kind: OptionKind,
    forward: f64,
    strike: f64,
    expiry_years: f64,
    vol: f64,
    rate: f64,
    discount_factor: f64,
    price: f64,
}

fn quotes(batch: &OptionBatch) -> Vec<Quote> {
    (0..batch.len())
        .map(|i| {
            let kind = kind_of(batch, i);
            let discount_factor = (-batch.rate[i] * batch.expiry_years[i]).exp();
            let price = black76::price(
                kind,
                batch.forward[i],
                batch.strike[i],
                batch.expiry_years[i],
                batch.vol[i],
                discount_factor,
            );
            Quote {
                kind,
                forward: batch.forward[i],
                strike: batch.strike[i],
                expiry_years: batch.expiry_years[i],
                vol: batch.vol[i],
                rate: batch.rate[i],
                discount_factor,
                price,
            }
        })
        .collect()
}

fn bench_pricing(c: &mut Criterion) {
    let batch = book();
    let n = batch.len();
    let mut group = c.benchmark_group("pricing");
    group.throughput(Throughput::Elements(n as u64));

    group.bench_function("scalar_greeks_linear", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for i in 0..n {
                let g = greeks(
                    kind_of(&batch, i),
                    black_box(batch.forward[i]),
                    batch.strike[i],
                    batch.expiry_years[i],
                    batch.vol[i],
                    batch.rate[i],
                );
                acc += g.price + g.delta + g.gamma + g.vega + g.theta + g.rho + g.vanna + g.volga;
            }
            acc
        })
    });

    group.bench_function("scalar_greeks_inverse", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for i in 0..n {
                let g = inverse_greeks(
                    kind_of(&batch, i),
                    black_box(batch.forward[i]),
                    batch.strike[i],
                    batch.expiry_years[i],
                    batch.vol[i],
                    batch.rate[i],
                );
                acc += g.price + g.delta + g.gamma + g.vega + g.theta + g.rho + g.vanna + g.volga;
            }
            acc
        })
    });

    let mut out = GreeksBatch::default();
    group.bench_function("batch_soa_greeks", |b| {
        b.iter(|| {
            greeks_batch(black_box(&batch), &mut out);
            out.price[0]
        })
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// Both sides in one group
// ---------------------------------------------------------------------------------------------

/// Seconds per pass of each side, paired in time.
#[derive(Default)]
struct Pairs {
    ours: Vec<f64>,
    peer: Vec<f64>,
}

fn time_pass(pass: &mut impl FnMut() -> f64) -> f64 {
    let start = Instant::now();
    black_box(pass());
    start.elapsed().as_secs_f64()
}

/// Criterion times `ours` and `peer` (one pass over the book each) as `ours_label` and
/// `peer_label`; then `interleaved` alternates them pass by pass and the paired times are printed.
fn both_sides(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    options: usize,
    (ours_label, mut ours): (&str, impl FnMut() -> f64),
    (peer_label, mut peer): (&str, impl FnMut() -> f64),
) {
    group.bench_function(ours_label, |b| b.iter(&mut ours));
    group.bench_function(peer_label, |b| b.iter(&mut peer));
    let pairs = RefCell::new(Pairs::default());
    group.bench_function("interleaved", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut pairs = pairs.borrow_mut();
            for k in 0..iters {
                // Alternate which side goes first so neither always runs on a warmer cache.
                let (o, p) = if k % 2 == 0 {
                    let o = time_pass(&mut ours);
                    (o, time_pass(&mut peer))
                } else {
                    let p = time_pass(&mut peer);
                    (time_pass(&mut ours), p)
                };
                pairs.ours.push(o);
                pairs.peer.push(p);
                total += Duration::from_secs_f64(o + p);
            }
            total
        })
    });
    report_pairs(group_name(ours_label, peer_label), options, &pairs.into_inner());
}

fn group_name(ours: &str, peer: &str) -> String {
    format!("{ours} / {peer}")
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}

#[allow(clippy::print_stdout)] // A bench binary reports to its terminal, like criterion.
fn report_pairs(label: String, options: usize, pairs: &Pairs) {
    if pairs.ours.is_empty() {
        return; // Filtered out.
    }
    let per_option = 1e9 / options as f64;
    let mut ratios: Vec<f64> = pairs.ours.iter().zip(&pairs.peer).map(|(o, p)| o / p).collect();
    let mut ours = pairs.ours.clone();
    let mut peer = pairs.peer.clone();
    println!(
        "interleaved {label}: {} paired passes over {options} options; median {:.1} ns vs {:.1} ns \
         per option; median paired ratio {:.3} (min-pass ratio {:.3})",
        ratios.len(),
        median(&mut ours) * per_option,
        median(&mut peer) * per_option,
        median(&mut ratios),
        ours[0] / peer[0],
    );
}

fn peer_price(q: &Quote) -> f64 {
    q.discount_factor
        * PriceBlackScholes::builder()
            .forward(q.forward)
            .strike(q.strike)
            .volatility(q.vol)
            .expiry(q.expiry_years)
            .is_call(q.kind == OptionKind::Call)
            .build_unchecked()
            .calculate::<DefaultSpecialFn>()
}

fn peer_implied_vol(q: &Quote, price: f64) -> f64 {
    ImpliedBlackVolatility::builder()
        .option_price(price / q.discount_factor)
        .forward(q.forward)
        .strike(q.strike)
        .expiry(q.expiry_years)
        .is_call(q.kind == OptionKind::Call)
        .build_unchecked()
        .calculate::<DefaultSpecialFn>()
        .unwrap_or(f64::NAN)
}

/// The crate's validating entry point (`build()`: finite positive F and K, T ≥ 0, a finite
/// non-negative price), the like-for-like peer of our `implied_vol`, which validates too.
fn peer_implied_vol_validated(q: &Quote, price: f64) -> f64 {
    ImpliedBlackVolatility::builder()
        .option_price(price / q.discount_factor)
        .forward(q.forward)
        .strike(q.strike)
        .expiry(q.expiry_years)
        .is_call(q.kind == OptionKind::Call)
        .build()
        .and_then(|solver| solver.calculate::<DefaultSpecialFn>())
        .unwrap_or(f64::NAN)
}

fn ours_implied_vol(q: &Quote, price: f64) -> f64 {
    implied_vol(q.kind, price, q.forward, q.strike, q.expiry_years, q.discount_factor)
        .unwrap_or(f64::NAN)
}

/// The worst relative error of our price at each solver's vol against the quoted price.
fn worst_round_trip(quotes: &[Quote], solve: impl Fn(&Quote, f64) -> f64) -> f64 {
    quotes
        .iter()
        .map(|q| {
            let vol = solve(q, q.price);
            let repriced =
                black76::price(q.kind, q.forward, q.strike, q.expiry_years, vol, q.discount_factor);
            let err = ((repriced - q.price) / q.price).abs();
            if err.is_nan() {
                f64::INFINITY
            } else {
                err
            }
        })
        .fold(0.0, f64::max)
}

#[allow(clippy::print_stdout)] // A bench binary reports to its terminal, like criterion.
fn bench_peers(c: &mut Criterion) {
    let batch = book();
    let quotes = quotes(&batch);
    let n = quotes.len();

    let mut group = c.benchmark_group("price_vs_peer");
    group.throughput(Throughput::Elements(n as u64));
    both_sides(
        &mut group,
        n,
        ("ours", || {
            quotes
                .iter()
                .map(|q| {
                    black76::price(
                        q.kind,
                        black_box(q.forward),
                        q.strike,
                        q.expiry_years,
                        q.vol,
                        q.discount_factor,
                    )
                })
                .sum::<f64>()
        }),
        ("implied-vol 2.1.0", || {
            quotes.iter().map(|q| peer_price(&Quote { forward: black_box(q.forward), ..*q })).sum()
        }),
    );
    group.finish();

    let mut group = c.benchmark_group("implied_vol_vs_peer");
    group.throughput(Throughput::Elements(n as u64));
    println!(
        "implied vol round trip over the {n}-option book (our price at the solved vol vs the \
         quote, worst relative error): ours {:.2e}, implied-vol 2.1.0 {:.2e}",
        worst_round_trip(&quotes, ours_implied_vol),
        worst_round_trip(&quotes, peer_implied_vol),
    );
    both_sides(
        &mut group,
        n,
        ("ours", || quotes.iter().map(|q| ours_implied_vol(q, black_box(q.price))).sum::<f64>()),
        ("implied-vol 2.1.0", || {
            quotes.iter().map(|q| peer_implied_vol(q, black_box(q.price))).sum::<f64>()
        }),
    );
    group.finish();

    // Like for like: both sides validate their inputs.
    let mut group = c.benchmark_group("implied_vol_vs_peer_validated");
    group.throughput(Throughput::Elements(n as u64));
    both_sides(
        &mut group,
        n,
        ("ours", || quotes.iter().map(|q| ours_implied_vol(q, black_box(q.price))).sum::<f64>()),
        ("implied-vol 2.1.0 build()", || {
            quotes.iter().map(|q| peer_implied_vol_validated(q, black_box(q.price))).sum::<f64>()
        }),
    );
    group.finish();

    // Price + 7 Greeks from the rate against the price alone from a precomputed discount factor
    // (the stricter comparison: the Greeks side also pays for e^(−rT)).
    let mut group = c.benchmark_group("greeks_vs_price");
    group.throughput(Throughput::Elements(n as u64));
    both_sides(
        &mut group,
        n,
        ("price_and_7_greeks", || {
            quotes
                .iter()
                .map(|q| {
                    let g = greeks(
                        q.kind,
                        black_box(q.forward),
                        q.strike,
                        q.expiry_years,
                        q.vol,
                        q.rate,
                    );
                    g.price + g.delta + g.gamma + g.vega + g.theta + g.rho + g.vanna + g.volga
                })
                .sum::<f64>()
        }),
        ("price_only", || {
            quotes
                .iter()
                .map(|q| {
                    black76::price(
                        q.kind,
                        black_box(q.forward),
                        q.strike,
                        q.expiry_years,
                        q.vol,
                        q.discount_factor,
                    )
                })
                .sum::<f64>()
        }),
    );
    group.finish();
}

criterion_group!(benches, bench_pricing, bench_peers);
criterion_main!(benches);
