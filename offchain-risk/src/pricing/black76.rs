//! Black-76 prices and analytic Greeks of European options on a forward, with discounting.
//!
//! Inputs flow in as (kind, forward F, strike K, expiry T in years, volatility σ, and either a
//! discount factor df or a continuously compounded rate r with df = e^(-rT)); out comes a price
//! or a [`Greeks`] record:
//!
//! * [`price`]: the discounted price df·θ(F·Φ(θd₁) − K·Φ(θd₂)), θ = +1 for a call, −1 for a put.
//! * [`greeks`]: price and seven Greeks of a linear (USD-settled) option.
//! * [`inverse_greeks`]: the same for an inverse (coin-settled) option, priced in coin as
//!   V/F, as Deribit lists BTC/ETH options; every Greek is the analytic derivative of V/F.
//! * [`checked_greeks`] / [`checked_inverse_greeks`]: the same after validating the inputs.
//! * [`greeks_batch`]: the linear Greeks of a structure-of-arrays batch.
//!
//! Accuracy: where the textbook formula subtracts two nearly equal terms (out of the money with a
//! small total volatility s = σ√T, or near the money with a tiny s) the price is recomputed from
//! the normalised Black function b(x, s) = V/(df·√(FK)), x = ln(F/K), evaluated as in Jäckel's
//! "Let's Be Rational" (2015) in four regions (asymptotic expansion, small-s expansion, an
//! `erfcx` form and the plain form), so that prices keep ~1e-14 relative accuracy down to the
//! smallest representable values. The Greeks themselves have no such cancellation.
//!
//! Speed: the textbook path takes one `ln`, one `exp` and two of Cody's rational erf/erfcx (the
//! `implied-vol` crate's `DefaultSpecialFn`), which beat our table-polynomial `erfcx` in
//! throughput; the Greeks divide once (1/(F·s)) instead of four times. Against that crate's own
//! price the peer bench measures 0.93× (docs/BENCHMARKS.md), at 3.3e-14 worst relative error on
//! the bench book against mpmath (7.2e-14 with the polynomial tails).

use serde::{Deserialize, Serialize};

use implied_vol::{DefaultSpecialFn, SpecialFn};

use super::normal::{
    cdf_over_pdf, erfcx, norm_cdf, product_residual, INV_SQRT_2PI, SQRT_PI_OVER_2,
};
use crate::error::PricingError;

/// Call or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionKind {
    /// Right to buy at the strike.
    Call,
    /// Right to sell at the strike.
    Put,
}

impl OptionKind {
    /// θ = +1 for a call, −1 for a put: the sign that turns the call formulas into put formulas.
    #[inline]
    pub fn sign(self) -> f64 {
        match self {
            OptionKind::Call => 1.0,
            OptionKind::Put => -1.0,
        }
    }
}

/// Price and Greeks of one option. Units: for a linear option the price is in the quote
/// currency (USD); for an inverse option in coin. Every Greek is the derivative of that price.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Greeks {
    /// Present value.
    pub price: f64,
    /// dV/dF: with respect to the forward (not spot).
    pub delta: f64,
    /// d²V/dF².
    pub gamma: f64,
    /// dV/dσ per unit of volatility (multiply by 0.01 for "per vol point").
    pub vega: f64,
    /// dV/dt in calendar time, per year, with F (and r) held fixed, i.e. −dV/dT.
    pub theta: f64,
    /// dV/dr with F held fixed (only the discount factor moves): −T·V.
    pub rho: f64,
    /// d²V/dF dσ.
    pub vanna: f64,
    /// d²V/dσ².
    pub volga: f64,
}

/// Small-s threshold of the normalised Black function (Jäckel's 2·DBL_EPSILON^(1/16) ≈ 0.21),
/// on t = s/2.
const SMALL_T_THRESHOLD: f64 = 0.21;
/// Asymptotic-expansion threshold on h = x/s.
const ASYMPTOTIC_H_THRESHOLD: f64 = -10.0;
/// Above this value of h + t the plain formula has no cancellation worth the name.
const PLAIN_FORMULA_THRESHOLD: f64 = 0.85;

/// Normalised price b(x, s) of an out-of-the-money call, V/(df·√(FK)) with x = ln(F/K) ≤ 0 and
/// total volatility s = σ√T > 0, accurate to ~1e-14 relative wherever it is a normal double.
///
/// With h = x/s and t = s/2, b = φ(h)e^(−t²/2)·[Y(h+t) − Y(h−t)], Y = Φ/φ, evaluated in four
/// regions (Jäckel, "Let's Be Rational", §3) so the difference never loses more than a few bits.
pub fn normalised_otm_call(x: f64, s: f64) -> f64 {
    normalised_otm_call_and_vega(x, s).0
}

/// [`normalised_otm_call`] and [`normalised_vega`] together, sharing the Gaussian factor.
pub(crate) fn normalised_otm_call_and_vega(x: f64, s: f64) -> (f64, f64) {
    let gaussian = gaussian_factor(x, s);
    let vega = INV_SQRT_2PI * gaussian;
    let b = match otm_call_over_gaussian(x, s) {
        Some(core) => core * gaussian,
        None => plain_otm_call(x, s),
    };
    (b, vega)
}

/// ln b(x, s) and the vega-to-price ratio b′/b of an out-of-the-money call (x ≤ 0, s > 0): what
/// each step of the implied-vol solver needs. Where b is a multiple of the Gaussian factor
/// e^(−(h²+t²)/2), its logarithm is added in closed form instead of exponentiating it, and
/// b′/b = 1/(√(2π)·b·e^((h²+t²)/2)): a step costs one `ln` and two polynomial `erfcx`.
#[inline]
pub(crate) fn ln_otm_call_and_vega_ratio(x: f64, s: f64) -> (f64, f64) {
    match otm_call_over_gaussian(x, s) {
        Some(core) => (core.ln() + ln_gaussian_factor(x, s), INV_SQRT_2PI / core),
        None => {
            let b = plain_otm_call(x, s);
            (b.ln(), normalised_vega(x, s) / b)
        }
    }
}

/// b(x, s)/e^(−(h²+t²)/2) in the three regions where b is computed as a multiple of the
/// Gaussian factor (asymptotic, small t, erfcx), or `None` where h + t > 0.85 and the plain
/// formula has no cancellation.
#[inline]
fn otm_call_over_gaussian(x: f64, s: f64) -> Option<f64> {
    let h = x / s;
    let t = 0.5 * s;
    if h < ASYMPTOTIC_H_THRESHOLD && h + t < ASYMPTOTIC_H_THRESHOLD + SMALL_T_THRESHOLD {
        Some(asymptotic_region(h, t))
    } else if t < SMALL_T_THRESHOLD {
        Some(small_t_region(h, t))
    } else if h + t > PLAIN_FORMULA_THRESHOLD {
        None
    } else {
        // Both erfcx arguments are ≥ −0.6; their difference loses at most ~5 bits here.
        Some(
            0.5 * (erfcx(-(h + t) * std::f64::consts::FRAC_1_SQRT_2)
                - erfcx(-(h - t) * std::f64::consts::FRAC_1_SQRT_2)),
        )
    }
}

/// b = e^(x/2)Φ(h+t) − e^(−x/2)Φ(h−t) where h + t > 0.85 (no cancellation worth the name).
#[cold]
fn plain_otm_call(x: f64, s: f64) -> f64 {
    let h = x / s;
    let t = 0.5 * s;
    (0.5 * x).exp() * norm_cdf(h + t) - (-0.5 * x).exp() * norm_cdf(h - t)
}

/// 1/n for n < 44: the small-t series divides by n at every term.
const RECIPROCALS: [f64; 44] = {
    let mut table = [0.0; 44];
    let mut n = 1;
    while n < 44 {
        table[n] = 1.0 / n as f64;
        n += 1;
    }
    table
};

/// h + t < −9.79, h < −10: φ(h)e^(−t²/2)-free part of b, i.e. Y(h+t) − Y(h−t), by the
/// asymptotic series of Y, differenced term by term.
///
/// With q = −h, ρ = t/q and P = q/(q² − t²): Y(h+t) − Y(h−t) = 2 Σ_k (−1)^k (2k−1)!! P^(2k+1)
/// S_(2k+1)(ρ), S_n(ρ) = ((1+ρ)^n − (1−ρ)^n)/2, all factors positive; S_n and its partner
/// C_n = ((1+ρ)^n + (1−ρ)^n)/2 obey S_(n+1) = S_n + ρC_n, C_(n+1) = C_n + ρS_n (no cancellation).
/// Successive terms shrink by ~(2k+1)/(h+t)² ≤ (2k+1)/95, so ~25 terms reach 1e-17.
fn asymptotic_region(h: f64, t: f64) -> f64 {
    let q = -h;
    let rho = t / q;
    let p = q / ((q - t) * (q + t));
    let p2 = p * p;
    let (mut s_n, mut c_n) = (rho, 1.0);
    let mut scale = p; // (2k−1)!!·P^(2k+1), signed
    let mut sum = scale * s_n;
    for k in 1..40 {
        // Advance n by two: n = 2k+1.
        let (s1, c1) = (s_n + rho * c_n, c_n + rho * s_n);
        (s_n, c_n) = (s1 + rho * c1, c1 + rho * s1);
        scale *= -((2 * k - 1) as f64) * p2;
        let term = scale * s_n;
        sum += term;
        if term.abs() <= 1e-17 * sum {
            break;
        }
    }
    2.0 * INV_SQRT_2PI * sum
}

/// t < 0.21, h ≥ −10: the φ(h)e^(−t²/2)-free part of b, the Taylor series of Y(h+t) − Y(h−t)
/// in t, 2 Σ_(n odd) Y⁽ⁿ⁾(h) tⁿ/n!, with
/// Y' = 1 + hY and Y⁽ⁿ⁺¹⁾ = hY⁽ⁿ⁾ + nY⁽ⁿ⁻¹⁾. Every odd term is positive.
fn small_t_region(h: f64, t: f64) -> f64 {
    let y0 = cdf_over_pdf(h);
    let ht = h * t;
    let tt = t * t;
    // z_n = Y⁽ⁿ⁾tⁿ/n!, so z_(n+1) = (ht·z_n + t²·z_(n−1))/(n+1).
    let mut z_prev = y0;
    let mut z = (1.0 + h * y0) * t;
    let mut sum = z;
    // t < 0.21 and |h| ≤ 10: successive odd terms shrink by at least ~(t/max(1,|h|))²·…, so
    // 20 pairs are far more than the ~1e-17 cut-off ever needs.
    let mut n = 1;
    while n < 41 {
        let z_next = (ht * z + tt * z_prev) * RECIPROCALS[n + 1];
        let z_next2 = (ht * z_next + tt * z) * RECIPROCALS[n + 2];
        z_prev = z_next;
        z = z_next2;
        sum += z;
        n += 2;
        if z.abs() <= 1e-17 * sum {
            break;
        }
    }
    2.0 * INV_SQRT_2PI * sum
}

/// Normalised undiscounted price θ-option / √(FK), for x = ln(F/K) and s = σ√T > 0: the
/// out-of-the-money value plus, in the money, the normalised intrinsic value.
pub fn normalised_black(kind: OptionKind, x: f64, s: f64) -> f64 {
    let theta = kind.sign();
    let otm = normalised_otm_call(-x.abs(), s);
    if theta * x > 0.0 {
        otm + 2.0 * (0.5 * x.abs()).sinh()
    } else {
        otm
    }
}

/// e^(−(h² + t²)/2) for h = x/s, t = s/2, with the roundings of h and of the squares
/// compensated: the exponent reaches ~700 in the wings, where an uncompensated rounding of it
/// would cost up to 1e-13 relative.
#[inline]
fn gaussian_factor(x: f64, s: f64) -> f64 {
    let (sum, lo) = gaussian_exponent(x, s);
    (-0.5 * sum).exp() * (1.0 - 0.5 * lo)
}

/// ln e^(−(h² + t²)/2) = −(h² + t²)/2 to a few ulp of the result's scale (same compensation as
/// [`gaussian_factor`]).
#[inline]
pub(crate) fn ln_gaussian_factor(x: f64, s: f64) -> f64 {
    let (sum, lo) = gaussian_exponent(x, s);
    -0.5 * (sum + lo)
}

/// h² + t² as a rounded sum and the correction to add to it (rounding of h = x/s, of both
/// squares and of their sum).
#[inline]
fn gaussian_exponent(x: f64, s: f64) -> (f64, f64) {
    let h = x / s;
    let t = 0.5 * s;
    let hs = h * s;
    // h_lo = (x − h·s)/s exactly to first order: the true h is h + h_lo.
    let h_lo = ((x - hs) - product_residual(h, s, hs)) / s;
    let hh = h * h;
    let tt = t * t;
    let sum = hh + tt;
    // Error-free parts of h², t² and of their sum (Knuth's two-sum), plus 2h·h_lo.
    let sum_err = {
        let bb = sum - hh;
        (hh - (sum - bb)) + (tt - bb)
    };
    let lo = product_residual(h, h, hh) + product_residual(t, t, tt) + sum_err + 2.0 * h * h_lo;
    (sum, lo)
}

/// dB/ds of the normalised Black function (the same for calls and puts): φ(h)·e^(−t²/2)
/// = φ(x/s + s/2)·e^(x/2).
#[inline]
pub fn normalised_vega(x: f64, s: f64) -> f64 {
    INV_SQRT_2PI * gaussian_factor(x, s)
}

/// ln(F/K) to a few ulp of the exact log of the two doubles: the rounding of F/K, which near
/// the money is a relative error ε/|x| of x (and moves tiny-vol prices by h² times that), is
/// recovered from an error-free product and added as a first-order correction. (`ln` plus this
/// correction is faster than `ln_1p` of the exact difference F − K, which is as accurate.)
#[inline]
pub fn log_moneyness(forward: f64, strike: f64) -> f64 {
    let ratio = forward / strike;
    let product = ratio * strike;
    // forward − ratio·strike exactly; its ratio to forward is the relative rounding of `ratio`.
    let residual = (forward - product) - product_residual(ratio, strike, product);
    ratio.ln() + residual / forward
}

/// Whether the textbook difference θ(long − short) is accurate to ~1e-13 relative.
///
/// Its error is about ε·(4 + d²)·max(long, short)/value: a few ulp from each Φ, plus the rounding
/// of d (relative ε, amplified by |d| in the tail of Φ), all multiplied by the cancellation
/// factor. 450·ε ≈ 1e-13.
#[inline]
fn textbook_is_accurate(value: f64, long_leg: f64, short_leg: f64, d1: f64, d2: f64) -> bool {
    450.0 * value >= (4.0 + (d1 * d1).max(d2 * d2)) * long_leg.max(short_leg)
}

/// The undiscounted price F·θΦ(θd₁) − K·θΦ(θd₂) from the two CDF values, falling back to the
/// normalised Black function where the subtraction would cost more than ~1e-13 relative.
#[inline]
#[allow(clippy::too_many_arguments)] // The shared intermediates of the caller, passed to avoid recomputing them.
fn undiscounted_price(
    theta: f64,
    forward: f64,
    strike: f64,
    x: f64,
    s: f64,
    d1: f64,
    d2: f64,
    n1: f64,
    n2: f64,
) -> f64 {
    let long_leg = forward * n1;
    let short_leg = strike * n2;
    let value = theta * (long_leg - short_leg);
    if textbook_is_accurate(value, long_leg, short_leg, d1, d2) {
        // Deep in the money the time value can be below the rounding of the two legs: never
        // return less than the intrinsic value (the implied-vol solver rejects such prices).
        value.max(theta * (forward - strike))
    } else {
        accurate_undiscounted_price(theta, forward, strike, x, s)
    }
}

/// Intrinsic value plus √(FK)·b_OTM, without the cancellation of the textbook formula.
#[cold]
fn accurate_undiscounted_price(theta: f64, forward: f64, strike: f64, x: f64, s: f64) -> f64 {
    let intrinsic = (theta * (forward - strike)).max(0.0);
    intrinsic + forward.sqrt() * strike.sqrt() * normalised_otm_call(-x.abs(), s)
}

/// The shared intermediates of the textbook formula: x = ln(F/K), d₁, d₂, φ(d₁), Φ(θd₁),
/// Φ(θd₂).
///
/// φ(d₁) is computed once (with the rounding of d₁² compensated) and both CDFs derive from it:
/// Φ(z) = φ(z)·Y(z) with Y(z) = √(π/2)·erfcx(−z/√2) in the lower tail (1 − that above), and
/// φ(d₂) = φ(d₁)·F/K. One `exp` and two rational erfcx/erf (see [`cdf_given_pdf`]) instead of
/// the three or more exponentials inside two `erfc` calls.
struct Moneyness {
    x: f64,
    d1: f64,
    d2: f64,
    pdf1: f64,
    n1: f64,
    n2: f64,
}

#[inline]
fn moneyness(theta: f64, forward: f64, strike: f64, s: f64) -> Moneyness {
    moneyness_at(theta, forward / strike, log_moneyness(forward, strike), s)
}

/// [`Moneyness`] from F/K (`ratio`) and x = ln(F/K).
#[inline]
fn moneyness_at(theta: f64, ratio: f64, x: f64, s: f64) -> Moneyness {
    let d1 = x / s + 0.5 * s;
    let d2 = d1 - s;
    let d1_sq = d1 * d1;
    let pdf1 = INV_SQRT_2PI * (-0.5 * d1_sq).exp() * (1.0 - 0.5 * product_residual(d1, d1, d1_sq));
    let pdf2 = pdf1 * ratio;
    Moneyness {
        x,
        d1,
        d2,
        pdf1,
        n1: cdf_given_pdf(theta * d1, pdf1),
        n2: cdf_given_pdf(theta * d2, pdf2),
    }
}

/// Φ(z) from φ(z): the tail beyond |z| without cancellation, then 1 − tail above zero.
///
/// With y = |z|/√2 the tail is ½erfc(y) = φ(z)·√(π/2)·erfcx(y). Near zero (y ≤ 0.46875) it is
/// ½erfc(y) = ½(1 − erf y), W. J. Cody's rational erf; beyond, φ(z)·√(π/2)·erfcx(y) with Cody's
/// rational erfcx (W. J. Cody, "Rational Chebyshev approximations for the error function",
/// Math. Comp. 23, 1969), both as the `implied-vol` crate implements them (`DefaultSpecialFn`).
/// Neither needs an `exp` of its own (φ(z) is shared), and one rational with a division has a
/// higher throughput than our degree-15 table polynomial (5.3 against 7.8 ns per call measured
/// on this machine), for the same few-ulp accuracy.
#[inline(always)] // Twice per price: left to itself LLVM outlines it in the Greeks' path.
fn cdf_given_pdf(z: f64, pdf: f64) -> f64 {
    let y = z.abs() * std::f64::consts::FRAC_1_SQRT_2;
    let tail = if y <= CODY_ERF_THRESHOLD {
        0.5 * DefaultSpecialFn::erfc(y)
    } else {
        pdf * SQRT_PI_OVER_2 * DefaultSpecialFn::erfcx(y)
    };
    if z <= 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// Cody's split between his erf and erfc/erfcx approximations.
const CODY_ERF_THRESHOLD: f64 = 0.46875;

/// Black-76 price df·θ(F·Φ(θd₁) − K·Φ(θd₂)), d₁,₂ = (ln(F/K) ± σ²T/2)/(σ√T).
///
/// Unchecked fast path: expects finite F > 0, K > 0, T ≥ 0, σ ≥ 0, df > 0 (see
/// [`checked_greeks`] for validation). σ√T = 0 gives the discounted intrinsic value.
#[inline]
pub fn price(
    kind: OptionKind,
    forward: f64,
    strike: f64,
    expiry_years: f64,
    vol: f64,
    discount_factor: f64,
) -> f64 {
    let theta = kind.sign();
    let s = vol * expiry_years.sqrt();
    if s <= 0.0 {
        return discount_factor * (theta * (forward - strike)).max(0.0);
    }
    let m = moneyness(theta, forward, strike, s);
    discount_factor * undiscounted_price(theta, forward, strike, m.x, s, m.d1, m.d2, m.n1, m.n2)
}

/// [`price`] from x = [`log_moneyness`]`(forward, strike)` and the total volatility s = σ√T,
/// for callers that already hold them (scenario revaluation reads the smile at x): the same
/// value as [`price`] without its `ln` and `sqrt`.
#[inline]
pub fn price_at_log_moneyness(
    kind: OptionKind,
    forward: f64,
    strike: f64,
    log_moneyness: f64,
    total_vol: f64,
    discount_factor: f64,
) -> f64 {
    price_at_moneyness(
        kind,
        forward,
        strike,
        forward / strike,
        log_moneyness,
        total_vol,
        discount_factor,
    )
}

/// [`price_at_log_moneyness`] with F/K given as well, for a batch that holds it (the margin
/// models move many options' forwards by one return): the same formula, accuracy test and
/// fallback, without the division.
#[inline]
pub(crate) fn price_at_moneyness(
    kind: OptionKind,
    forward: f64,
    strike: f64,
    forward_over_strike: f64,
    log_moneyness: f64,
    total_vol: f64,
    discount_factor: f64,
) -> f64 {
    let theta = kind.sign();
    let s = total_vol;
    if s <= 0.0 {
        return discount_factor * (theta * (forward - strike)).max(0.0);
    }
    let m = moneyness_at(theta, forward_over_strike, log_moneyness, s);
    discount_factor * undiscounted_price(theta, forward, strike, m.x, s, m.d1, m.d2, m.n1, m.n2)
}

/// The quantities every Greek is built from, computed once.
struct Core {
    theta: f64,
    s: f64,
    sqrt_t: f64,
    d1: f64,
    d2: f64,
    /// Φ(θd₂).
    n2: f64,
    /// Φ(θd₁).
    n1: f64,
    /// φ(d₁).
    pdf1: f64,
    df: f64,
    /// Undiscounted price.
    undiscounted: f64,
}

#[inline(always)] // One call site per Greeks function; outlined it cost a call and spills.
fn core(
    kind: OptionKind,
    forward: f64,
    strike: f64,
    expiry_years: f64,
    vol: f64,
    rate: f64,
) -> Core {
    let theta = kind.sign();
    let sqrt_t = expiry_years.sqrt();
    let s = vol * sqrt_t;
    let m = moneyness(theta, forward, strike, s);
    Core {
        theta,
        s,
        sqrt_t,
        d1: m.d1,
        d2: m.d2,
        n1: m.n1,
        n2: m.n2,
        pdf1: m.pdf1,
        df: (-rate * expiry_years).exp(),
        undiscounted: undiscounted_price(theta, forward, strike, m.x, s, m.d1, m.d2, m.n1, m.n2),
    }
}

/// Price and Greeks of a linear (quote-settled) option; df = e^(−rT).
///
/// Conventions (V = df·θ(FΦ(θd₁) − KΦ(θd₂))):
/// * `delta` = ∂V/∂F = df·θΦ(θd₁), with respect to the forward;
/// * `gamma` = ∂²V/∂F² = df·φ(d₁)/(Fσ√T);
/// * `vega` = ∂V/∂σ = df·Fφ(d₁)√T, per unit of volatility (not per 1%);
/// * `theta` = dV/dt in calendar time per year with F and r fixed, = −∂V/∂T
///   = rV − df·Fφ(d₁)σ/(2√T);
/// * `rho` = ∂V/∂r with F fixed = −T·V;
/// * `vanna` = ∂²V/∂F∂σ = −df·φ(d₁)d₂/σ;
/// * `volga` = ∂²V/∂σ² = vega·d₁d₂/σ.
///
/// Unchecked: expects finite F > 0, K > 0, T ≥ 0, σ ≥ 0. σ√T = 0 gives the limits documented on
/// [`checked_greeks`].
pub fn greeks(
    kind: OptionKind,
    forward: f64,
    strike: f64,
    expiry_years: f64,
    vol: f64,
    rate: f64,
) -> Greeks {
    if vol * expiry_years.sqrt() <= 0.0 {
        return degenerate_greeks(kind, forward, strike, expiry_years, rate);
    }
    let c = core(kind, forward, strike, expiry_years, vol, rate);
    let value = c.df * c.undiscounted;
    let vega = c.df * forward * c.pdf1 * c.sqrt_t;
    let r = Reciprocals::new(forward, c.s, c.sqrt_t);
    Greeks {
        price: value,
        delta: c.df * c.theta * c.n1,
        gamma: c.df * c.pdf1 * r.forward_total_vol,
        vega,
        theta: rate * value - 0.5 * c.df * forward * c.pdf1 * vol * vol * r.total_vol,
        rho: -expiry_years * value,
        vanna: -c.df * c.pdf1 * c.d2 * r.vol,
        volga: vega * c.d1 * c.d2 * r.vol,
    }
}

/// 1/(F·s), 1/s and 1/σ from one division (σ/√T = σ²/s): the Greeks would otherwise divide
/// four times, and divisions are what a Greek costs beyond the price.
struct Reciprocals {
    forward_total_vol: f64,
    total_vol: f64,
    vol: f64,
}

impl Reciprocals {
    #[inline]
    fn new(forward: f64, total_vol: f64, sqrt_t: f64) -> Self {
        let forward_total_vol = 1.0 / (forward * total_vol);
        let total_vol = forward * forward_total_vol;
        Self { forward_total_vol, total_vol, vol: sqrt_t * total_vol }
    }
}

/// Price (in coin) and Greeks of an inverse option: P = V/F with V the Black-76 price in the quote
/// currency, as Deribit's BTC/ETH options. Same variables and conventions as [`greeks`]; each
/// field is the analytic derivative of P:
/// * `delta` = ∂P/∂F = df·θK·Φ(θd₂)/F² (the Φ(θd₁) terms cancel since Fφ(d₁) = Kφ(d₂));
/// * `gamma` = ∂²P/∂F² = df/F²·(φ(d₁)/(σ√T) − 2θ(K/F)Φ(θd₂));
/// * `vega` = df·φ(d₁)√T; `theta` = θ_V/F (F fixed); `rho` = −T·P;
/// * `vanna` = −df·φ(d₁)d₁/(Fσ); `volga` = vega_P·d₁d₂/σ.
pub fn inverse_greeks(
    kind: OptionKind,
    forward: f64,
    strike: f64,
    expiry_years: f64,
    vol: f64,
    rate: f64,
) -> Greeks {
    if vol * expiry_years.sqrt() <= 0.0 {
        return degenerate_inverse_greeks(kind, forward, strike, expiry_years, rate);
    }
    let c = core(kind, forward, strike, expiry_years, vol, rate);
    let coin_price = c.df * c.undiscounted / forward;
    let inv_f2 = 1.0 / (forward * forward);
    let vega = c.df * c.pdf1 * c.sqrt_t;
    let linear_theta =
        rate * c.df * c.undiscounted - c.df * forward * c.pdf1 * vol / (2.0 * c.sqrt_t);
    Greeks {
        price: coin_price,
        delta: c.df * c.theta * strike * c.n2 * inv_f2,
        gamma: c.df * inv_f2 * (c.pdf1 / c.s - 2.0 * c.theta * (strike / forward) * c.n2),
        vega,
        theta: linear_theta / forward,
        rho: -expiry_years * coin_price,
        vanna: -c.df * c.pdf1 * c.d1 / (forward * vol),
        volga: vega * c.d1 * c.d2 / vol,
    }
}

/// Φ(θd₁) in the limit s → 0: 1 in the money, 0 out of it, ½ at the money.
#[inline]
fn limit_moneyness_indicator(theta: f64, forward: f64, strike: f64) -> f64 {
    let signed = theta * (forward - strike);
    if signed > 0.0 {
        1.0
    } else if signed < 0.0 {
        0.0
    } else {
        0.5
    }
}

fn degenerate_greeks(
    kind: OptionKind,
    forward: f64,
    strike: f64,
    expiry_years: f64,
    rate: f64,
) -> Greeks {
    let theta = kind.sign();
    let df = (-rate * expiry_years).exp();
    let value = df * (theta * (forward - strike)).max(0.0);
    Greeks {
        price: value,
        delta: df * theta * limit_moneyness_indicator(theta, forward, strike),
        gamma: 0.0,
        vega: 0.0,
        theta: rate * value,
        rho: -expiry_years * value,
        vanna: 0.0,
        volga: 0.0,
    }
}

fn degenerate_inverse_greeks(
    kind: OptionKind,
    forward: f64,
    strike: f64,
    expiry_years: f64,
    rate: f64,
) -> Greeks {
    let theta = kind.sign();
    let df = (-rate * expiry_years).exp();
    let coin_price = df * (theta * (forward - strike)).max(0.0) / forward;
    let indicator = limit_moneyness_indicator(theta, forward, strike);
    let delta = df * theta * strike * indicator / (forward * forward);
    Greeks {
        price: coin_price,
        delta,
        // d/dF of df·θK·1{ITM}/F², away from the kink.
        gamma: -2.0 * delta / forward,
        vega: 0.0,
        theta: rate * coin_price,
        rho: -expiry_years * coin_price,
        vanna: 0.0,
        volga: 0.0,
    }
}

/// Validate Black-76 inputs: all finite, F > 0, K > 0, T ≥ 0, σ ≥ 0.
pub fn validate_inputs(
    forward: f64,
    strike: f64,
    expiry_years: f64,
    vol: f64,
    rate: f64,
) -> Result<(), PricingError> {
    let checks: [(&'static str, f64, bool, &'static str); 5] = [
        ("forward", forward, forward > 0.0, "must be finite and > 0"),
        ("strike", strike, strike > 0.0, "must be finite and > 0"),
        ("expiry_years", expiry_years, expiry_years >= 0.0, "must be finite and >= 0"),
        ("vol", vol, vol >= 0.0, "must be finite and >= 0"),
        ("rate", rate, true, "must be finite"),
    ];
    for (field, value, in_domain, reason) in checks {
        if !value.is_finite() || !in_domain {
            return Err(PricingError::InvalidInput { field, value, reason });
        }
    }
    Ok(())
}

/// [`greeks`] after validating the inputs (finite; F > 0, K > 0, T ≥ 0, σ ≥ 0).
///
/// When σ√T = 0 (expiry now or zero volatility) the option is worth its discounted intrinsic
/// value df·max(θ(F − K), 0), and the Greeks are the limits as σ√T → 0 away from the strike:
/// `delta` = df·θ in the money, 0 out of it (df·θ/2 exactly at F = K, the midpoint of the jump);
/// `gamma`, `vega`, `vanna`, `volga` = 0 (at F = K exactly their limits are infinite or depend on
/// how σ√T reaches 0; 0 is returned there too); `theta` = rV (pure discounting); `rho` = −TV.
pub fn checked_greeks(
    kind: OptionKind,
    forward: f64,
    strike: f64,
    expiry_years: f64,
    vol: f64,
    rate: f64,
) -> Result<Greeks, PricingError> {
    validate_inputs(forward, strike, expiry_years, vol, rate)?;
    Ok(greeks(kind, forward, strike, expiry_years, vol, rate))
}

/// [`inverse_greeks`] after the validation of [`checked_greeks`]. With σ√T = 0 the coin price is
/// df·max(θ(F − K), 0)/F with `delta` = df·θK/F² in the money (0 out of it, half at F = K),
/// `gamma` = −2·delta/F, `theta` = rP, `rho` = −TP, and the volatility Greeks 0.
pub fn checked_inverse_greeks(
    kind: OptionKind,
    forward: f64,
    strike: f64,
    expiry_years: f64,
    vol: f64,
    rate: f64,
) -> Result<Greeks, PricingError> {
    validate_inputs(forward, strike, expiry_years, vol, rate)?;
    Ok(inverse_greeks(kind, forward, strike, expiry_years, vol, rate))
}

/// A batch of options as a structure of arrays (one column per input), for [`greeks_batch`].
/// All columns must have the same length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptionBatch {
    /// `true` for a call, `false` for a put.
    pub is_call: Vec<bool>,
    /// Forward F (> 0).
    pub forward: Vec<f64>,
    /// Strike K (> 0).
    pub strike: Vec<f64>,
    /// Expiry T in years (≥ 0).
    pub expiry_years: Vec<f64>,
    /// Volatility σ (≥ 0).
    pub vol: Vec<f64>,
    /// Continuously compounded rate r (df = e^(−rT)).
    pub rate: Vec<f64>,
}

impl OptionBatch {
    /// An empty batch with room for `capacity` options.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            is_call: Vec::with_capacity(capacity),
            forward: Vec::with_capacity(capacity),
            strike: Vec::with_capacity(capacity),
            expiry_years: Vec::with_capacity(capacity),
            vol: Vec::with_capacity(capacity),
            rate: Vec::with_capacity(capacity),
        }
    }

    /// Append one option.
    pub fn push(
        &mut self,
        kind: OptionKind,
        forward: f64,
        strike: f64,
        expiry_years: f64,
        vol: f64,
        rate: f64,
    ) {
        self.is_call.push(kind == OptionKind::Call);
        self.forward.push(forward);
        self.strike.push(strike);
        self.expiry_years.push(expiry_years);
        self.vol.push(vol);
        self.rate.push(rate);
    }

    /// Number of options.
    pub fn len(&self) -> usize {
        self.is_call.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.is_call.is_empty()
    }
}

/// Outputs of [`greeks_batch`], one column per field of [`Greeks`] (same conventions).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GreeksBatch {
    /// Present value.
    pub price: Vec<f64>,
    /// ∂V/∂F.
    pub delta: Vec<f64>,
    /// ∂²V/∂F².
    pub gamma: Vec<f64>,
    /// ∂V/∂σ per unit volatility.
    pub vega: Vec<f64>,
    /// −∂V/∂T per year, F fixed.
    pub theta: Vec<f64>,
    /// ∂V/∂r, F fixed.
    pub rho: Vec<f64>,
    /// ∂²V/∂F∂σ.
    pub vanna: Vec<f64>,
    /// ∂²V/∂σ².
    pub volga: Vec<f64>,
}

impl GreeksBatch {
    /// Option `i` as a [`Greeks`] record (panics if out of range, like indexing).
    pub fn get(&self, i: usize) -> Greeks {
        Greeks {
            price: self.price[i],
            delta: self.delta[i],
            gamma: self.gamma[i],
            vega: self.vega[i],
            theta: self.theta[i],
            rho: self.rho[i],
            vanna: self.vanna[i],
            volga: self.volga[i],
        }
    }

    fn resize(&mut self, n: usize) {
        for column in [
            &mut self.price,
            &mut self.delta,
            &mut self.gamma,
            &mut self.vega,
            &mut self.theta,
            &mut self.rho,
            &mut self.vanna,
            &mut self.volga,
        ] {
            column.resize(n, 0.0);
        }
    }
}

/// Linear Greeks of every option of `batch` into `out` (resized to the batch), equal to
/// [`greeks`] option by option.
///
/// The main loop is branch-free over the structure of arrays (the call/put choice is the sign θ),
/// so the compiler keeps it in registers and pipelines the independent options; the rare options
/// that need the cancellation-free price or the σ√T = 0 limits are marked with a NaN price and
/// redone by the scalar path in a second pass.
///
/// # Panics
/// If the columns of `batch` differ in length (a malformed batch is a caller bug).
pub fn greeks_batch(batch: &OptionBatch, out: &mut GreeksBatch) {
    let n = batch.len();
    assert!(
        batch.forward.len() == n
            && batch.strike.len() == n
            && batch.expiry_years.len() == n
            && batch.vol.len() == n
            && batch.rate.len() == n,
        "OptionBatch columns differ in length"
    );
    out.resize(n);
    let columns = batch
        .is_call
        .iter()
        .zip(&batch.forward)
        .zip(&batch.strike)
        .zip(&batch.expiry_years)
        .zip(&batch.vol)
        .zip(&batch.rate);
    let outputs = out
        .price
        .iter_mut()
        .zip(out.delta.iter_mut())
        .zip(out.gamma.iter_mut())
        .zip(out.vega.iter_mut())
        .zip(out.theta.iter_mut())
        .zip(out.rho.iter_mut())
        .zip(out.vanna.iter_mut())
        .zip(out.volga.iter_mut());
    for ((((((&is_call, &forward), &strike), &expiry_years), &vol), &rate), o) in
        columns.zip(outputs)
    {
        let (((((((price, delta), gamma), vega), theta_out), rho), vanna), volga) = o;
        let theta = if is_call { 1.0 } else { -1.0 };
        let sqrt_t = expiry_years.sqrt();
        let s = vol * sqrt_t;
        let Moneyness { d1, d2, pdf1, n1, n2, .. } = moneyness(theta, forward, strike, s);
        let df = (-rate * expiry_years).exp();
        let long_leg = forward * n1;
        let short_leg = strike * n2;
        let undiscounted = (theta * (long_leg - short_leg)).max(theta * (forward - strike));
        // Same test as `undiscounted_price`; failing lanes (and s = 0, where d₁ is not finite
        // or the comparison fails) get NaN and are redone below.
        let well_conditioned = s > 0.0
            && textbook_is_accurate(theta * (long_leg - short_leg), long_leg, short_leg, d1, d2);
        let value = df * undiscounted;
        let vega_i = df * forward * pdf1 * sqrt_t;
        let r = Reciprocals::new(forward, s, sqrt_t);
        *price = if well_conditioned { value } else { f64::NAN };
        *delta = df * theta * n1;
        *gamma = df * pdf1 * r.forward_total_vol;
        *vega = vega_i;
        *theta_out = rate * value - 0.5 * df * forward * pdf1 * vol * vol * r.total_vol;
        *rho = -expiry_years * value;
        *vanna = -df * pdf1 * d2 * r.vol;
        *volga = vega_i * d1 * d2 * r.vol;
    }
    for i in 0..n {
        if out.price[i].is_nan() {
            let kind = if batch.is_call[i] { OptionKind::Call } else { OptionKind::Put };
            let g = greeks(
                kind,
                batch.forward[i],
                batch.strike[i],
                batch.expiry_years[i],
                batch.vol[i],
                batch.rate[i],
            );
            out.price[i] = g.price;
            out.delta[i] = g.delta;
            out.gamma[i] = g.gamma;
            out.vega[i] = g.vega;
            out.theta[i] = g.theta;
            out.rho[i] = g.rho;
            out.vanna[i] = g.vanna;
            out.volga[i] = g.volga;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The four regions of the normalised Black function agree across their boundaries.
    #[test]
    fn regions_are_continuous() {
        for &(h, t) in
            &[(-10.0, 0.2), (-10.0, 0.22), (-5.0, 0.2099), (-5.0, 0.2101), (0.64, 0.2101)]
        {
            let s = 2.0 * t;
            let x = h * s;
            if x > 0.0 {
                continue;
            }
            let b_lo = normalised_otm_call(x, s * (1.0 - 1e-12));
            let b_hi = normalised_otm_call(x, s * (1.0 + 1e-12));
            assert!((b_hi / b_lo - 1.0).abs() < 1e-9, "h={h} t={t}");
        }
    }
}
