//! Calibration speed: one 30-strike SVI slice (target: under 2 ms).
//!
//! Run with `cargo bench -p offchain-risk --bench surface`.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use offchain_risk::surface::calibrate::{calibrate_slice, CalibrationConfig, SliceQuote};
use offchain_risk::surface::SviParams;

fn quotes() -> Vec<SliceQuote> {
    let truth = SviParams { a: 0.02, b: 0.12, rho: -0.35, m: 0.05, sigma: 0.25 };
    let t = 0.25;
    (0..30)
        .map(|i| {
            let k = -0.6 + f64::from(i) / 29.0;
            // Deterministic +-0.3 vol-point wiggle so the fit is not exact.
            let vol = (truth.total_variance(k) / t).sqrt() + 0.003 * (f64::from(i) * 1.7).sin();
            SliceQuote { strike: 50_000.0 * k.exp(), mid_vol: vol, bid_vol: None, ask_vol: None }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let q = quotes();
    let config = CalibrationConfig::default();
    c.bench_function("calibrate_slice_30_strikes", |b| {
        b.iter(|| calibrate_slice(black_box(&q), 0.25, 50_000.0, &config).expect("calibrates"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
