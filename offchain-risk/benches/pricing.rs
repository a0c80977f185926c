//! Criterion benches of the pricing hot paths, per option over a realistic mixed book:
//! scalar price + seven Greeks (target ≤ 60 ns), the structure-of-arrays batch (target ≤ 20 ns
//! per option over 1,024 options) and implied volatility (target ≤ 250 ns).
//!
//! Run with `cargo bench -p offchain-risk --bench pricing`.

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use offchain_risk::pricing::black76::{
    self, greeks, greeks_batch, inverse_greeks, GreeksBatch, OptionBatch,
};
use offchain_risk::pricing::implied_vol::implied_vol;
use offchain_risk::pricing::OptionKind;

const BOOK_SIZE: usize = 1_024;

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

    group.bench_function("scalar_price", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for i in 0..n {
                let df = (-batch.rate[i] * batch.expiry_years[i]).exp();
                acc += black76::price(
                    kind_of(&batch, i),
                    black_box(batch.forward[i]),
                    batch.strike[i],
                    batch.expiry_years[i],
                    batch.vol[i],
                    df,
                );
            }
            acc
        })
    });

    let mut out = GreeksBatch::default();
    group.bench_function("batch_soa_greeks_1024", |b| {
        b.iter(|| {
            greeks_batch(black_box(&batch), &mut out);
            out.price[0]
        })
    });

    let quotes: Vec<(OptionKind, f64, f64, f64, f64, f64)> = (0..n)
        .map(|i| {
            let kind = kind_of(&batch, i);
            let df = (-batch.rate[i] * batch.expiry_years[i]).exp();
            let price = black76::price(
                kind,
                batch.forward[i],
                batch.strike[i],
                batch.expiry_years[i],
                batch.vol[i],
                df,
            );
            (kind, price, batch.forward[i], batch.strike[i], batch.expiry_years[i], df)
        })
        .collect();
    group.bench_function("implied_vol", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for &(kind, price, forward, strike, t, df) in &quotes {
                acc +=
                    implied_vol(kind, black_box(price), forward, strike, t, df).unwrap_or(f64::NAN);
            }
            acc
        })
    });
    group.finish();
}

criterion_group!(benches, bench_pricing);
criterion_main!(benches);
