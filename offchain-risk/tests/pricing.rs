//! Black-76 prices, Greeks and implied volatility, tested four ways: published reference values,
//! analytic Greeks against central finite differences of the price, no-arbitrage properties with
//! proptest, and the implied-volatility round trip over a wide grid; plus the batch path against
//! the scalar one and the error cases.

// Reference values are quoted with every digit their source gives.
#![allow(clippy::excessive_precision)]

use offchain_risk::error::PricingError;
use offchain_risk::pricing::black76::{
    self, checked_greeks, checked_inverse_greeks, greeks, greeks_batch, inverse_greeks,
    normalised_otm_call, GreeksBatch, OptionBatch,
};
use offchain_risk::pricing::implied_vol::implied_vol;
use offchain_risk::pricing::normal::{erfcx, norm_cdf};
use offchain_risk::pricing::{Greeks, OptionKind};
use proptest::prelude::*;

const KINDS: [OptionKind; 2] = [OptionKind::Call, OptionKind::Put];

/// |actual − expected| / |expected|, and 0 when they are equal (including both zero).
fn rel_err(actual: f64, expected: f64) -> f64 {
    let diff = (actual - expected).abs();
    if diff == 0.0 {
        0.0
    } else {
        diff / expected.abs()
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Reference values
// ---------------------------------------------------------------------------------------------

/// Haug, "The Complete Guide to Option Pricing Formulas", 2nd ed. (2007), §1.1.6 (Black-76):
/// F = 19, K = 19, T = 0.75, r = 10%, σ = 28% → call = put = 1.7011 (4 d.p.), so the tolerance
/// is half a unit of the last printed digit.
#[test]
fn haug_black76_example() {
    let df = (-0.10_f64 * 0.75).exp();
    for kind in KINDS {
        let p = black76::price(kind, 19.0, 19.0, 0.75, 0.28, df);
        assert!((p - 1.7011).abs() <= 0.5e-4, "{kind:?}: {p}");
        let g = greeks(kind, 19.0, 19.0, 0.75, 0.28, 0.10);
        assert!((g.price - 1.7011).abs() <= 0.5e-4, "{kind:?}: {}", g.price);
    }
}

/// Hull, "Options, Futures, and Other Derivatives" (8th ed.), ch. 18, the crude-oil futures put
/// priced with Black's model: F = 20, K = 20, T = 4 months, r = 9%, σ = 25% → put = 1.12
/// (2 d.p.); at the money forward the call equals the put.
#[test]
fn hull_black_futures_option_example() {
    let t = 4.0 / 12.0;
    let df = (-0.09_f64 * t).exp();
    let put = black76::price(OptionKind::Put, 20.0, 20.0, t, 0.25, df);
    assert!((put - 1.12).abs() <= 0.005, "{put}");
    let call = black76::price(OptionKind::Call, 20.0, 20.0, t, 0.25, df);
    assert!((call - put).abs() <= 1e-14, "{call} vs {put}");
}

/// Black-Scholes examples through Black-76 with F = S·e^(rT): Hull (8th ed.) Example 15.6,
/// S = 42, K = 40, r = 10%, σ = 20%, T = 0.5 → c = 4.76, p = 0.81 (2 d.p.); Haug (2nd ed.)
/// §1.1.1, S = 60, K = 65, T = 0.25, r = 8%, σ = 30% → c = 2.1334 (4 d.p.).
#[test]
fn black_scholes_examples_via_forward() {
    let (s, k, r, v, t) = (42.0_f64, 40.0, 0.10_f64, 0.20, 0.5);
    let f = s * (r * t).exp();
    let df = (-r * t).exp();
    let c = black76::price(OptionKind::Call, f, k, t, v, df);
    let p = black76::price(OptionKind::Put, f, k, t, v, df);
    assert!((c - 4.76).abs() <= 0.005, "{c}");
    assert!((p - 0.81).abs() <= 0.005, "{p}");

    let (s, k, r, v, t) = (60.0_f64, 65.0, 0.08_f64, 0.30, 0.25);
    let c = black76::price(OptionKind::Call, s * (r * t).exp(), k, t, v, (-r * t).exp());
    assert!((c - 2.1334).abs() <= 0.5e-4, "{c}");
}

/// Φ in the far lower tail: reference values from mpmath 1.3 (arbitrary precision, 60 digits),
/// an independent implementation; tolerance 4e-15 relative (a few ulp).
#[test]
fn normal_cdf_full_precision_in_the_tail() {
    let cases = [
        (-1.959_963_984_540_054, 0.025_000_000_000_000_010_876),
        (-5.0, 2.866_515_718_791_939_116_7e-7),
        (-10.0, 7.619_853_024_160_526_066e-24),
        (-20.0, 2.753_624_118_606_233_695_1e-89),
        (-37.5, 4.605_353_009_581_954_843_8e-308),
        (3.0, 0.998_650_101_968_369_905_47),
    ];
    for (z, expected) in cases {
        let got = norm_cdf(z);
        assert!(rel_err(got, expected) <= 4e-15, "Φ({z}) = {got:e}, expected {expected:e}");
    }
}

/// erfcx(z) = e^(z²)erfc(z) across its polynomial range [−1, 8), the erfc·e^(z²) range and the
/// asymptotic range; references from mpmath 1.3 at 40 digits, tolerance 4e-15 relative.
#[test]
fn erfcx_full_precision() {
    let cases = [
        (-0.8, 3.303_861_169_386_788_268_5),
        (0.0, 1.0),
        (0.5, 0.615_690_344_192_925_874_87),
        (3.0, 0.179_001_151_181_389_950_42),
        (7.9, 0.070_857_477_367_397_130_882),
        (12.0, 0.046_854_221_014_893_762_62),
        (30.0, 0.018_795_888_861_416_751_497),
    ];
    for (z, expected) in cases {
        let got = erfcx(z);
        assert!(rel_err(got, expected) <= 4e-15, "erfcx({z}) = {got:e}, expected {expected:e}");
    }
}

/// The normalised out-of-the-money Black function b(x, s) in each of its four evaluation
/// regions, including the wings where the textbook formula cancels catastrophically; references
/// from mpmath 1.3 at 60 digits, e^(x/2)Φ(x/s+s/2) − e^(−x/2)Φ(x/s−s/2) evaluated on the same
/// doubles. Tolerance 1e-13 relative.
#[test]
fn normalised_black_matches_high_precision_references() {
    let cases = [
        (-3.0, 0.1, 1.629_922_555_337_748_243_1e-200), // asymptotic region (h = −30)
        (-1.0, 0.1, 7.465_397_611_568_617_232_9e-26),  // small-t region at h = −10
        (-0.7, 0.1, 1.758_205_945_250_425_673_3e-14),  // small-t region
        (-1e-4, 1e-5, 7.474_560_254_497_671_81e-30),   // one-minute-like total vol
        (0.0, 1e-4, 3.989_422_802_352_067_469_5e-5),   // at the money, tiny s
        (-1e-3, 1e-3, 8.331_546_397_705_101_508_6e-5), // small-t, h = −1
        (-6.708_203_932_499_369, 2.236_067_977_499_79, 4.986_285_051_143_957_247e-4), // erfcx region
        (-40.0, 1.5, 2.430_075_881_636_592_078_8e-158), // asymptotic region, large t
    ];
    for (x, s, expected) in cases {
        let got = normalised_otm_call(x, s);
        assert!(rel_err(got, expected) <= 1e-13, "b({x}, {s}) = {got:e}, expected {expected:e}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Analytic Greeks against central finite differences of the price
// ---------------------------------------------------------------------------------------------

type Pricer = fn(OptionKind, f64, f64, f64, f64, f64) -> Greeks;

/// Finite-difference steps: in F scaled by the total volatility (the price varies on the scale
/// F·σ√T), in σ relative; larger steps for the second differences, whose rounding error is
/// ε·V/h².
struct Steps {
    f1: f64,
    f2: f64,
    v1: f64,
    v2: f64,
    t: f64,
    r: f64,
}

fn steps(f: f64, t: f64, v: f64) -> Steps {
    let s = (v * t.sqrt()).min(1.0);
    Steps { f1: 1e-5 * f * s, f2: 1e-3 * f * s, v1: 1e-5 * v, v2: 1e-3 * v, t: 1e-5 * t, r: 1e-5 }
}

/// Central finite differences of `pricer(..).price` for every Greek.
fn finite_difference_greeks(
    pricer: Pricer,
    kind: OptionKind,
    f: f64,
    k: f64,
    t: f64,
    v: f64,
    r: f64,
) -> Greeks {
    let p = |f: f64, t: f64, v: f64, r: f64| pricer(kind, f, k, t, v, r).price;
    let h = steps(f, t, v);
    let v0 = p(f, t, v, r);
    Greeks {
        price: v0,
        delta: (p(f + h.f1, t, v, r) - p(f - h.f1, t, v, r)) / (2.0 * h.f1),
        gamma: (p(f + h.f2, t, v, r) - 2.0 * v0 + p(f - h.f2, t, v, r)) / (h.f2 * h.f2),
        vega: (p(f, t, v + h.v1, r) - p(f, t, v - h.v1, r)) / (2.0 * h.v1),
        theta: -(p(f, t + h.t, v, r) - p(f, t - h.t, v, r)) / (2.0 * h.t),
        rho: (p(f, t, v, r + h.r) - p(f, t, v, r - h.r)) / (2.0 * h.r),
        vanna: (p(f + h.f2, t, v + h.v2, r)
            - p(f + h.f2, t, v - h.v2, r)
            - p(f - h.f2, t, v + h.v2, r)
            + p(f - h.f2, t, v - h.v2, r))
            / (4.0 * h.f2 * h.v2),
        volga: (p(f, t, v + h.v2, r) - 2.0 * v0 + p(f, t, v - h.v2, r)) / (h.v2 * h.v2),
    }
}

/// Asserts |analytic − fd| ≤ rel·|analytic| + floor for each Greek. Relative tolerance: the
/// truncation error, ~(step in d-units)² ≈ 1e-10 for first differences (asserted at 1e-6) and
/// ~1e-6 for second ones (asserted at 1e-4). Floor: the rounding error of the difference
/// quotient, 100·ε·(price scale)/(step product), with the price scale F + K (its legs' size).
fn assert_greeks_match(
    label: &str,
    analytic: Greeks,
    fd: Greeks,
    price_scale: f64,
    f: f64,
    t: f64,
    v: f64,
) {
    let h = steps(f, t, v);
    let noise = 100.0 * f64::EPSILON * price_scale;
    let checks = [
        ("delta", analytic.delta, fd.delta, 1e-6, noise / h.f1),
        ("gamma", analytic.gamma, fd.gamma, 1e-4, noise / (h.f2 * h.f2)),
        ("vega", analytic.vega, fd.vega, 1e-6, noise / h.v1),
        ("theta", analytic.theta, fd.theta, 1e-6, noise / h.t),
        ("rho", analytic.rho, fd.rho, 1e-6, noise / h.r),
        ("vanna", analytic.vanna, fd.vanna, 1e-4, noise / (h.f2 * h.v2)),
        ("volga", analytic.volga, fd.volga, 1e-4, noise / (h.v2 * h.v2)),
    ];
    for (name, a, n, rel, floor) in checks {
        assert!(
            (a - n).abs() <= rel * a.abs() + floor,
            "{label}: {name} analytic {a:e} vs finite difference {n:e} (floor {floor:e})"
        );
    }
}

fn greek_grid() -> Vec<(OptionKind, f64, f64, f64, f64, f64)> {
    let mut grid = Vec::new();
    for kind in KINDS {
        for &k in &[55.0, 80.0, 95.0, 100.0, 105.0, 125.0, 180.0] {
            for &t in &[0.02, 0.25, 1.0, 3.0] {
                for &v in &[0.1, 0.5, 1.2] {
                    for &r in &[0.0, 0.05] {
                        grid.push((kind, 100.0, k, t, v, r));
                    }
                }
            }
        }
    }
    grid
}

#[test]
fn linear_greeks_match_finite_differences() {
    for (kind, f, k, t, v, r) in greek_grid() {
        let analytic = greeks(kind, f, k, t, v, r);
        let fd = finite_difference_greeks(greeks, kind, f, k, t, v, r);
        let label = format!("linear {kind:?} F={f} K={k} T={t} σ={v} r={r}");
        assert_greeks_match(&label, analytic, fd, f + k, f, t, v);
    }
}

#[test]
fn inverse_greeks_match_finite_differences() {
    for (kind, f, k, t, v, r) in greek_grid() {
        let analytic = inverse_greeks(kind, f, k, t, v, r);
        // The coin price is the USD price over the forward, by definition.
        let usd = greeks(kind, f, k, t, v, r).price;
        assert!(rel_err(analytic.price * f, usd) <= 1e-14 || usd < 1e-300);
        let fd = finite_difference_greeks(inverse_greeks, kind, f, k, t, v, r);
        let label = format!("inverse {kind:?} F={f} K={k} T={t} σ={v} r={r}");
        // Coin prices are USD prices over F.
        assert_greeks_match(&label, analytic, fd, (f + k) / f, f, t, v);
    }
}

/// The forward-based Greek conventions: rho is −T·V, and theta is rV minus the time decay
/// (so with r = 0 an option loses value with time: theta < 0).
#[test]
fn greek_conventions() {
    for kind in KINDS {
        let g = greeks(kind, 100.0, 110.0, 0.5, 0.4, 0.03);
        assert!(rel_err(g.rho, -0.5 * g.price) <= 1e-15);
        let zero_rate = greeks(kind, 100.0, 110.0, 0.5, 0.4, 0.0);
        assert!(zero_rate.theta < 0.0);
        assert!(zero_rate.vega > 0.0 && zero_rate.gamma > 0.0);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. No-arbitrage properties
// ---------------------------------------------------------------------------------------------

fn market() -> impl Strategy<Value = (f64, f64, f64, f64, f64)> {
    (
        0.0_f64..11.5,  // ln F: forwards from 1 to ~1e5
        -2.5_f64..2.5,  // ln(K/F)
        -6.0_f64..1.7,  // ln T: ~1 day to 5.5 years
        0.01_f64..3.0,  // σ
        -0.05_f64..0.2, // r
    )
        .prop_map(|(ln_f, ln_m, ln_t, v, r)| {
            let f = ln_f.exp();
            (f, f * ln_m.exp(), ln_t.exp(), v, r)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// C − P = df·(F − K), to rounding of the larger of the two prices.
    #[test]
    fn put_call_parity((f, k, t, v, r) in market()) {
        let df = (-r * t).exp();
        let c = black76::price(OptionKind::Call, f, k, t, v, df);
        let p = black76::price(OptionKind::Put, f, k, t, v, df);
        let scale = c.max(p).max(df * f.max(k));
        prop_assert!((c - p - df * (f - k)).abs() <= 1e-14 * scale, "{c} {p}");
    }

    /// Discounted intrinsic ≤ price ≤ df·F (call) or df·K (put).
    #[test]
    fn price_bounds((f, k, t, v, r) in market()) {
        let df = (-r * t).exp();
        for kind in KINDS {
            let price = black76::price(kind, f, k, t, v, df);
            let theta = kind.sign();
            let intrinsic = df * (theta * (f - k)).max(0.0);
            let upper = df * if theta > 0.0 { f } else { k };
            let slack = 1e-14 * upper;
            prop_assert!(price >= intrinsic - slack && price <= upper + slack, "{kind:?} {price}");
            prop_assert!(price >= 0.0);
        }
    }

    /// Calls decrease and puts increase in the strike; both are convex in the strike.
    #[test]
    fn monotone_and_convex_in_strike((f, k, t, v, r) in market(), step in 1e-3_f64..0.2) {
        let df = (-r * t).exp();
        let (k_lo, k_hi) = (k * (1.0 - step), k * (1.0 + step));
        for kind in KINDS {
            let p_lo = black76::price(kind, f, k_lo, t, v, df);
            let p_mid = black76::price(kind, f, k, t, v, df);
            let p_hi = black76::price(kind, f, k_hi, t, v, df);
            let slack = 1e-13 * df * f.max(k_hi);
            match kind {
                OptionKind::Call => prop_assert!(p_lo + slack >= p_mid && p_mid + slack >= p_hi),
                OptionKind::Put => prop_assert!(p_lo <= p_mid + slack && p_mid <= p_hi + slack),
            }
            // Equally spaced strikes: convexity is p_lo + p_hi ≥ 2·p_mid.
            prop_assert!(p_lo + p_hi + slack >= 2.0 * p_mid, "{kind:?} {p_lo} {p_mid} {p_hi}");
        }
    }

    /// Vega and gamma are non-negative, for linear and inverse options alike.
    #[test]
    fn vega_and_gamma_non_negative((f, k, t, v, r) in market()) {
        for kind in KINDS {
            let g = greeks(kind, f, k, t, v, r);
            prop_assert!(g.vega >= 0.0 && g.gamma >= 0.0);
            prop_assert!(inverse_greeks(kind, f, k, t, v, r).vega >= 0.0);
        }
    }

    /// V(λF, λK) = λ·V(F, K); delta is homogeneous of degree 0 and gamma of degree −1.
    #[test]
    fn homogeneous_of_degree_one((f, k, t, v, r) in market(), ln_lambda in -5.0_f64..5.0) {
        let lambda = ln_lambda.exp();
        for kind in KINDS {
            let g = greeks(kind, f, k, t, v, r);
            let scaled = greeks(kind, lambda * f, lambda * k, t, v, r);
            // λF/λK rounds differently from F/K: a relative perturbation of ~1e-16 in the
            // moneyness, amplified by the price's elasticity to it.
            let elasticity = 1.0 + (g.delta * f / g.price).abs();
            if g.price > 1e-250 {
                prop_assert!(rel_err(scaled.price, lambda * g.price) <= 1e-14 * elasticity,
                    "{kind:?} {} vs {}", scaled.price, lambda * g.price);
            }
            prop_assert!((scaled.delta - g.delta).abs() <= 1e-13);
            // The same rounding moves d₁ by ~ε/s and so γ ∝ φ(d₁) by ~|d₁|·ε/s relative: in
            // the far tail at tiny total vol that exceeds 1e-12 (found by proptest: F=124.4,
            // K=131.3, T=0.003, σ=0.03, d₁ ≈ −33, s ≈ 0.0016).
            let s = v * t.sqrt();
            let d1 = ((f / k).ln() + 0.5 * s * s) / s;
            let gamma_tolerance = 1e-12 + 8.0 * f64::EPSILON * (d1 / s).abs();
            prop_assert!(
                (scaled.gamma * lambda - g.gamma).abs() <= gamma_tolerance * g.gamma.abs() + 1e-300,
                "{kind:?} gamma {} vs {}", scaled.gamma * lambda, g.gamma
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Implied volatility
// ---------------------------------------------------------------------------------------------

/// iv(price(σ)) = σ over log-moneyness −12σ√T..+12σ√T (±5 and far beyond), T from one minute
/// to five years, σ from 5% to 300%, calls and puts, three discount factors: the price of the
/// implied vol matches the input price to 1e-12 relative, and the vol matches σ to the precision
/// the price determines it (|Δσ| ≤ 1e-9·σ + 1e-13·price/vega).
#[test]
fn implied_vol_round_trip() {
    let expiries = [1.0 / 525_600.0, 1.0 / 8_760.0, 1.0 / 365.0, 7.0 / 365.0, 0.25, 1.0, 5.0];
    let vols = [0.05, 0.1, 0.2, 0.45, 0.8, 1.5, 3.0];
    let mut checked = 0;
    let mut worst = 0.0_f64;
    for &t in &expiries {
        for &v in &vols {
            let s = v * f64::sqrt(t);
            for j in -48..=48 {
                let log_moneyness = f64::from(j) * 0.25 * s;
                for &(f, df) in &[(100.0, 1.0), (65_000.0, 0.97), (0.37, 0.999_99)] {
                    let k = f * log_moneyness.exp();
                    for kind in KINDS {
                        let price = black76::price(kind, f, k, t, v, df);
                        let upper = df * if kind == OptionKind::Call { f } else { k };
                        // Representable: a normal double, and distinguishable from the upper bound.
                        if !(price > f64::MIN_POSITIVE && price < upper) {
                            continue;
                        }
                        let iv = implied_vol(kind, price, f, k, t, df)
                            .unwrap_or_else(|e| panic!("{kind:?} T={t} σ={v} j={j}: {e}"));
                        let repriced = black76::price(kind, f, k, t, iv, df);
                        let err = rel_err(repriced, price);
                        worst = worst.max(err);
                        assert!(
                            err <= 1e-12,
                            "{kind:?} T={t} σ={v} j={j} F={f}: price error {err:e}"
                        );
                        let vega = greeks(kind, f, k, t, v, -df.ln() / t).vega;
                        assert!(
                            (iv - v).abs() <= 1e-9 * v + 1e-13 * price / vega,
                            "{kind:?} T={t} σ={v} j={j} F={f}: iv {iv} (vega {vega:e})"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 25_000, "only {checked} cases were representable");
    assert!(worst <= 1e-12);
}

/// Where the `implied-vol` crate's own entry point answers, our implied vol is its volatility bit
/// for bit (the same normalisation, the same solver), so the round-trip accuracy is the same by
/// construction; elsewhere ours still answers (the round-trip tests above).
#[test]
fn implied_vol_equals_the_crate_where_it_answers() {
    use implied_vol::{DefaultSpecialFn, ImpliedBlackVolatility};
    let mut compared = 0;
    for &t in &[1.0 / 8_760.0, 7.0 / 365.0, 0.25, 2.0] {
        for &v in &[0.1, 0.45, 1.5] {
            let s = v * f64::sqrt(t);
            for j in -24..=24 {
                let (f, df) = (65_000.0, 0.97);
                let k = f * (f64::from(j) * 0.25 * s).exp();
                for kind in KINDS {
                    let price = black76::price(kind, f, k, t, v, df);
                    let crate_vol = ImpliedBlackVolatility::builder()
                        .option_price(price / df)
                        .forward(f)
                        .strike(k)
                        .expiry(t)
                        .is_call(kind == OptionKind::Call)
                        .build_unchecked()
                        .calculate::<DefaultSpecialFn>();
                    let Some(crate_vol) = crate_vol.filter(|x| x.is_finite() && *x > 0.0) else {
                        continue;
                    };
                    let ours = implied_vol(kind, price, f, k, t, df).unwrap();
                    assert_eq!(ours.to_bits(), crate_vol.to_bits(), "{kind:?} T={t} σ={v} j={j}");
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 1_000, "only {compared} cases compared");
}

/// Deep wings at a fixed strike ratio: minutes to expiry with strikes far away give prices down
/// to the denormal range; all representable ones must round-trip.
#[test]
fn implied_vol_deep_wings() {
    for &x in &[-3.0, -1.0, -0.3, -0.05, 0.05, 0.3, 1.0, 3.0] {
        for &t in &[1.0 / 525_600.0, 1.0 / 365.0, 0.1, 1.0, 5.0] {
            for &v in &[0.05, 0.3, 1.0, 3.0] {
                let (f, k) = (1.0, f64::exp(-x));
                for kind in KINDS {
                    let price = black76::price(kind, f, k, t, v, 1.0);
                    let upper = if kind == OptionKind::Call { f } else { k };
                    if !(price > f64::MIN_POSITIVE && price < upper) {
                        continue;
                    }
                    match implied_vol(kind, price, f, k, t, 1.0) {
                        Ok(iv) => {
                            let err = rel_err(black76::price(kind, f, k, t, iv, 1.0), price);
                            assert!(err <= 1e-12, "{kind:?} x={x} T={t} σ={v}: {err:e}");
                        }
                        Err(e) => panic!("{kind:?} x={x} T={t} σ={v}: {e}"),
                    }
                }
            }
        }
    }
}

#[test]
fn implied_vol_out_of_bounds_and_invalid_inputs() {
    let (f, k, t, df) = (100.0, 90.0, 0.5, 0.98);
    // Below the discounted intrinsic value of the in-the-money call.
    let intrinsic = df * (f - k);
    match implied_vol(OptionKind::Call, intrinsic - 1e-6, f, k, t, df) {
        Err(PricingError::PriceOutOfBounds { price, lower, upper }) => {
            assert!(
                price < lower
                    && (lower - intrinsic).abs() <= 1e-12
                    && (upper - df * f).abs() <= 1e-12
            );
        }
        other => panic!("expected PriceOutOfBounds, got {other:?}"),
    }
    // At or above the upper bound (df·F for a call, df·K for a put).
    for (kind, bound) in [(OptionKind::Call, df * f), (OptionKind::Put, df * k)] {
        for price in [bound, bound * 1.01] {
            assert!(matches!(
                implied_vol(kind, price, f, k, t, df),
                Err(PricingError::PriceOutOfBounds { .. })
            ));
        }
    }
    // Negative prices of an out-of-the-money put.
    assert!(matches!(
        implied_vol(OptionKind::Put, -1.0, f, k, t, df),
        Err(PricingError::PriceOutOfBounds { .. })
    ));
    // Exactly the intrinsic value: zero volatility.
    assert_eq!(implied_vol(OptionKind::Call, intrinsic, f, k, t, df), Ok(0.0));
    // Invalid inputs name the field.
    let cases = [
        ("price", implied_vol(OptionKind::Call, f64::NAN, f, k, t, df)),
        ("forward", implied_vol(OptionKind::Call, 5.0, -1.0, k, t, df)),
        ("strike", implied_vol(OptionKind::Call, 5.0, f, 0.0, t, df)),
        ("expiry_years", implied_vol(OptionKind::Call, 5.0, f, k, 0.0, df)),
        ("discount_factor", implied_vol(OptionKind::Call, 5.0, f, k, t, f64::INFINITY)),
    ];
    for (expected_field, result) in cases {
        match result {
            Err(PricingError::InvalidInput { field, .. }) => assert_eq!(field, expected_field),
            other => panic!("{expected_field}: expected InvalidInput, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checked entry points and degenerate limits
// ---------------------------------------------------------------------------------------------

#[test]
fn checked_greeks_validates_inputs() {
    let cases = [
        ("forward", checked_greeks(OptionKind::Call, 0.0, 100.0, 1.0, 0.5, 0.0)),
        ("strike", checked_greeks(OptionKind::Call, 100.0, -5.0, 1.0, 0.5, 0.0)),
        ("expiry_years", checked_greeks(OptionKind::Call, 100.0, 100.0, -1.0, 0.5, 0.0)),
        ("vol", checked_greeks(OptionKind::Call, 100.0, 100.0, 1.0, f64::NAN, 0.0)),
        ("rate", checked_greeks(OptionKind::Call, 100.0, 100.0, 1.0, 0.5, f64::INFINITY)),
        ("forward", checked_inverse_greeks(OptionKind::Put, f64::INFINITY, 100.0, 1.0, 0.5, 0.0)),
    ];
    for (expected_field, result) in cases {
        match result {
            Err(PricingError::InvalidInput { field, value: _, reason }) => {
                assert_eq!(field, expected_field);
                assert!(!reason.is_empty());
            }
            other => panic!("{expected_field}: expected InvalidInput, got {other:?}"),
        }
    }
    let ok = checked_greeks(OptionKind::Call, 100.0, 95.0, 0.5, 0.6, 0.04);
    assert_eq!(ok, Ok(greeks(OptionKind::Call, 100.0, 95.0, 0.5, 0.6, 0.04)));
}

/// σ√T = 0 gives the discounted intrinsic value and the documented limit Greeks; they are the
/// limits of the regular formulas as σ → 0.
#[test]
fn zero_expiry_or_zero_vol_limits() {
    let r = 0.05;
    for kind in KINDS {
        for &(f, k) in &[(100.0, 90.0), (100.0, 110.0)] {
            for &(t, v) in &[(0.0, 0.5), (0.5, 0.0)] {
                let g = checked_greeks(kind, f, k, t, v, r).expect("valid inputs");
                let df = (-r * t).exp();
                let theta = kind.sign();
                assert!((g.price - df * (theta * (f - k)).max(0.0)).abs() <= 1e-12);
                // Compare with the regular formulas at a tiny but positive volatility.
                let near = greeks(kind, f, k, t.max(1e-8), v.max(1e-6), r);
                let near_df = (-r * t.max(1e-8)).exp();
                assert!((g.delta - near.delta).abs() <= 1e-9, "{kind:?} {f} {k} {t} {v}");
                assert!((g.price - near.price * df / near_df).abs() <= 1e-6);
                assert!(
                    g.gamma.abs() + g.vega.abs() + g.vanna.abs() + g.volga.abs()
                        <= f64::MIN_POSITIVE
                );
                assert!((g.theta - r * g.price).abs() <= 1e-12);
                assert!((g.rho + t * g.price).abs() <= 1e-12);

                let gi = checked_inverse_greeks(kind, f, k, t, v, r).expect("valid inputs");
                let near_i = inverse_greeks(kind, f, k, t.max(1e-8), v.max(1e-6), r);
                assert!((gi.price - g.price / f).abs() <= 1e-15);
                assert!((gi.delta - near_i.delta).abs() <= 1e-9);
                assert!((gi.gamma - near_i.gamma).abs() <= 1e-9);
            }
        }
        // At the money: delta is half the discounted jump.
        let atm = greeks(kind, 100.0, 100.0, 0.0, 0.5, r);
        assert!((atm.delta - 0.5 * kind.sign()).abs() <= 1e-15);
    }
}

// ---------------------------------------------------------------------------------------------
// 5. The structure-of-arrays batch equals the scalar path
// ---------------------------------------------------------------------------------------------

#[test]
fn batch_equals_scalar() {
    let mut batch = OptionBatch::with_capacity(4096);
    // A deterministic spread of strikes, expiries and vols, including lanes the batch hands to
    // the scalar path (deep out of the money with small total vol, T = 0, σ = 0).
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..4000 {
        let kind = if i % 2 == 0 { OptionKind::Call } else { OptionKind::Put };
        let f = 1_000.0 * (4.0 * uniform()).exp();
        let k = f * (3.0 * (uniform() - 0.5)).exp();
        let t = match i % 50 {
            0 => 0.0,
            _ => (1.0 / 525_600.0) * (15.0 * uniform()).exp(),
        };
        let v = if i % 37 == 0 { 0.0 } else { 0.05 + 2.5 * uniform() };
        let r = 0.1 * (uniform() - 0.3);
        batch.push(kind, f, k, t, v, r);
    }
    let mut out = GreeksBatch::default();
    greeks_batch(&batch, &mut out);
    assert_eq!(out.price.len(), batch.len());
    for i in 0..batch.len() {
        let kind = if batch.is_call[i] { OptionKind::Call } else { OptionKind::Put };
        let scalar = greeks(
            kind,
            batch.forward[i],
            batch.strike[i],
            batch.expiry_years[i],
            batch.vol[i],
            batch.rate[i],
        );
        let b = out.get(i);
        let pairs = [
            (b.price, scalar.price),
            (b.delta, scalar.delta),
            (b.gamma, scalar.gamma),
            (b.vega, scalar.vega),
            (b.theta, scalar.theta),
            (b.rho, scalar.rho),
            (b.vanna, scalar.vanna),
            (b.volga, scalar.volga),
        ];
        for (j, (got, expected)) in pairs.into_iter().enumerate() {
            assert!(
                (got - expected).abs() <= 1e-14 * expected.abs() + 1e-300,
                "option {i} field {j}: batch {got:e} vs scalar {expected:e}"
            );
        }
    }
}

/// The scenario-revaluation entry point (x and σ√T given) is the plain price, bit for bit.
#[test]
fn price_at_log_moneyness_equals_price() {
    for kind in KINDS {
        for &k in &[40.0, 90.0, 99.999, 100.0, 100.001, 130.0, 400.0] {
            for &t in &[0.0_f64, 1.0 / 525_600.0, 0.02, 0.5, 3.0] {
                for &v in &[0.0, 0.05, 0.6, 2.5] {
                    let (f, df) = (100.0, 0.98);
                    let x = black76::log_moneyness(f, k);
                    let at = black76::price_at_log_moneyness(kind, f, k, x, v * t.sqrt(), df);
                    let plain = black76::price(kind, f, k, t, v, df);
                    assert_eq!(at.to_bits(), plain.to_bits(), "{kind:?} K={k} T={t} σ={v}");
                }
            }
        }
    }
}

/// ln(F/K) keeps full precision next to the money, where F/K rounds: F = 1 + 2⁻⁴⁰, K = 1 gives
/// ln(1 + 2⁻⁴⁰) = 2⁻⁴⁰ − 2⁻⁸¹ + …; further apart it is the log of the exact ratio.
#[test]
fn log_moneyness_full_precision() {
    let tiny = 2f64.powi(-40);
    let x = black76::log_moneyness(1.0 + tiny, 1.0);
    assert!(rel_err(x, tiny - tiny * tiny / 2.0) <= 2.0 * f64::EPSILON, "{x:e}");
    assert!(
        rel_err(black76::log_moneyness(1.0, 1.0 + tiny), -(tiny - tiny * tiny / 2.0))
            <= 4.0 * f64::EPSILON
    );
    assert!(rel_err(black76::log_moneyness(5.0, 1.0), 5f64.ln()) <= 2.0 * f64::EPSILON);
    // 1/3 rounds: the correction recovers ln(1/3) from the rounded ratio.
    assert!(rel_err(black76::log_moneyness(1.0, 3.0), -(3f64.ln())) <= 2.0 * f64::EPSILON);
}
