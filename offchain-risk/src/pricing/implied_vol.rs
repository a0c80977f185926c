//! Implied volatility of a Black-76 price.
//!
//! A discounted option price flows in with its forward, strike, expiry and discount factor; out
//! comes the volatility σ that [`black76::price`](super::black76::price) maps back to it, or a
//! typed error when the price is outside the no-arbitrage bounds.
//!
//! Method: normalise to the undiscounted time value per √(FK), β = (price/df − intrinsic)/√(FK),
//! which reduces an in-the-money option to the out-of-the-money call of the same total
//! volatility by put-call parity, so β lies in (0, e^(x/2)) with x = −|ln(F/K)| (ln_1p of the
//! exact difference near the money); then solve b(x, s) = β for the total volatility s. β and x
//! are rounded exactly as the crate's own entry point rounds them, so wherever Let's Be Rational
//! answers, the volatility is bit for bit the crate's: the same round-trip accuracy by
//! construction, and the peer bench compares only the wrappers around one solver.
//!
//! The hot path tests the inputs once (all finite and in their domain, the price strictly inside
//! its bounds) and the solver's answer once (positive and finite); errors, the intrinsic value
//! and the fallback solver live in cold functions. Plugging our polynomial `erfcx` (or a
//! one-`exp` erfc) into the crate's `SpecialFn` made the solve 1-2% slower, not faster: the crate
//! calls a special function only about 1.2 times per solve on the bench book, and Cody's rational
//! `erfcx` has the higher throughput (docs/BENCHMARKS.md).
//!
//! - first with P. Jäckel's "Let's Be Rational" (Wilmott 2015; 2024 revision) as the crates.io
//!   crate `implied-vol` 2.1.0 implements it (MIT licence, Jäckel's permissive notice): rational
//!   initial guesses in four branches and two Householder steps. It was adopted after passing
//!   every accuracy test of `tests/pricing.rs` on our normalisation, and it is the fastest open
//!   implementation measured (docs/BENCHMARKS.md);
//! - where it declines an input or answers with a non-finite or non-positive volatility (the
//!   crate's own full API declines 23 of the 28,336 round-trip cases of `tests/pricing.rs`, deep
//!   wings of minutes-long expiries), with our own solver: for β < b_max/2 (everything below the inflection point s_c = √(2|x|), since
//!   b(x, s_c) ≤ b_max/2) it solves ln b(s) = ln β, so tiny prices keep their relative
//!   precision; above b_max/2 it solves ln(b_max − b(s)) = ln(b_max − β), with b_max − b
//!   evaluated as two positive terms. Both objectives are evaluated in log space (no `exp`),
//!   from asymptotic initial guesses, by third-order Householder steps (convergence of order
//!   four; b''/b' = x²/s³ − s/4 in closed form) inside a bracket that guarantees convergence.
//!   It takes 2-4 evaluations of b per solve where Let's Be Rational takes 2.

use super::black76::{ln_gaussian_factor, ln_otm_call_and_vega_ratio, OptionKind};
use super::normal::{erfcx, inverse_norm_cdf_approx, INV_SQRT_2PI};
use crate::error::PricingError;
use implied_vol::{DefaultSpecialFn, ImpliedBlackVolatilityNormalised};

/// Largest number of Householder steps; the usual count is 2 to 4 (the bracket guarantees
/// convergence, so this only bounds pathological inputs).
const MAX_ITERATIONS: usize = 24;

/// Householder's third-order method converges with order four: after a step of relative size
/// below this, the error left is of order 1e-20 relative. Stop there.
const CONVERGED_STEP: f64 = 1e-5;

/// Implied Black-76 volatility σ of a discounted option price.
///
/// `price` is the discounted price df·θ(FΦ(θd₁) − KΦ(θd₂)) in the same units as `forward` and
/// `strike`; `discount_factor` is df = e^(−rT).
///
/// Returns σ ≥ 0 (exactly 0 when the price equals the discounted intrinsic value), or
/// * [`PricingError::InvalidInput`] for a non-finite input, F ≤ 0, K ≤ 0, T ≤ 0 or df ≤ 0;
/// * [`PricingError::PriceOutOfBounds`] when the price is below the discounted intrinsic value
///   df·max(θ(F − K), 0) or not below the upper bound df·F (call) / df·K (put), which only an
///   infinite volatility attains.
#[inline(always)] // Small: inlined into the caller's loop, as the crate's own entry point is.
pub fn implied_vol(
    kind: OptionKind,
    price: f64,
    forward: f64,
    strike: f64,
    expiry_years: f64,
    discount_factor: f64,
) -> Result<f64, PricingError> {
    let theta = kind.sign();
    let intrinsic = (theta * (forward - strike)).max(0.0);
    let lower = discount_factor * intrinsic;
    let upper = discount_factor * if theta > 0.0 { forward } else { strike };
    // The common case in a dozen instructions: the sum is finite only if every input is (a NaN
    // or ±∞ makes it NaN or infinite; a sum that overflows from finite inputs only sends them
    // to the exact checks of the cold path), the smallest of F, K, T, df is positive, and the
    // price is strictly inside its bounds. Everything else (errors, the intrinsic value itself)
    // takes the cold path. Per-field `is_finite` checks cost ~3% of a solve in the peer bench.
    let sum = (price.abs() + forward) + (strike + expiry_years) + discount_factor;
    let smallest = lesser(lesser(forward, strike), lesser(expiry_years, discount_factor));
    let common = (sum < f64::INFINITY) & (smallest > 0.0) & (price > lower) & (price < upper);
    if !common {
        return implied_vol_edge_cases(kind, price, forward, strike, expiry_years, discount_factor);
    }
    let s = solve_time_value(
        negative_abs_log_moneyness(forward, strike),
        normalised_time_value(price, discount_factor, intrinsic, forward, strike),
    );
    Ok(s / expiry_years.sqrt())
}

/// The lesser of two numbers in one `minsd` (no NaN rule: callers reject NaN separately).
#[inline(always)]
fn lesser(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

/// The time value of the undiscounted price per √(FK), rounded as the crate's own entry point
/// rounds it, so that where Let's Be Rational answers, the volatility is bit for bit the crate's
/// (equal round-trip accuracy by construction).
#[inline(always)]
fn normalised_time_value(
    price: f64,
    discount_factor: f64,
    intrinsic: f64,
    forward: f64,
    strike: f64,
) -> f64 {
    (price / discount_factor - intrinsic) / (forward.sqrt() * strike.sqrt())
}

/// [`implied_vol`] outside its common case: the named invalid input, a price out of bounds, or
/// zero volatility at the discounted intrinsic value.
#[cold]
#[inline(never)]
fn implied_vol_edge_cases(
    kind: OptionKind,
    price: f64,
    forward: f64,
    strike: f64,
    expiry_years: f64,
    discount_factor: f64,
) -> Result<f64, PricingError> {
    let valid = price.is_finite()
        && [forward, strike, expiry_years, discount_factor]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0);
    if !valid {
        return Err(invalid_input(price, forward, strike, expiry_years, discount_factor));
    }
    let theta = kind.sign();
    let intrinsic = (theta * (forward - strike)).max(0.0);
    let lower = discount_factor * intrinsic;
    let upper = discount_factor * if theta > 0.0 { forward } else { strike };
    if !(price >= lower && price < upper) {
        return Err(PricingError::PriceOutOfBounds { price, lower, upper });
    }
    if price <= lower {
        // Exactly the intrinsic value (price < lower was rejected above): zero volatility.
        return Ok(0.0);
    }
    // Valid and inside the bounds: finite inputs whose sum overflowed the common-case test.
    let s = solve_time_value(
        negative_abs_log_moneyness(forward, strike),
        normalised_time_value(price, discount_factor, intrinsic, forward, strike),
    );
    Ok(s / expiry_years.sqrt())
}

/// −|ln(F/K)| to about an ulp: near the money (within a factor 2) ln_1p of the exact difference
/// over the smaller, else the log of the ratio below one (as the `implied-vol` crate computes
/// it, so both solvers see the same x).
#[inline]
fn negative_abs_log_moneyness(forward: f64, strike: f64) -> f64 {
    let smaller = forward.min(strike);
    let larger = forward.max(strike);
    if smaller >= 0.5 * larger {
        // Sterbenz: larger − smaller is exact here.
        -((larger - smaller) / smaller).ln_1p()
    } else {
        let ratio = smaller / larger;
        if ratio >= f64::MIN_POSITIVE {
            ratio.ln()
        } else {
            smaller.ln() - larger.ln()
        }
    }
}

/// The first invalid input of [`implied_vol`], named.
#[cold]
fn invalid_input(
    price: f64,
    forward: f64,
    strike: f64,
    expiry_years: f64,
    discount_factor: f64,
) -> PricingError {
    let checks: [(&'static str, f64, bool, &'static str); 5] = [
        ("price", price, true, "must be finite"),
        ("forward", forward, forward > 0.0, "must be finite and > 0"),
        ("strike", strike, strike > 0.0, "must be finite and > 0"),
        ("expiry_years", expiry_years, expiry_years > 0.0, "must be finite and > 0"),
        ("discount_factor", discount_factor, discount_factor > 0.0, "must be finite and > 0"),
    ];
    let (field, value, _, reason) = checks
        .into_iter()
        .find(|(_, value, in_domain, _)| !value.is_finite() || !in_domain)
        .unwrap_or(("price", price, false, "must be finite"));
    PricingError::InvalidInput { field, value, reason }
}

/// Total volatility s with b(x, s) = β for an out-of-the-money call: x ≤ 0, 0 < β < e^(x/2):
/// Let's Be Rational as the `implied-vol` crate implements it, and our own solver wherever that
/// declines an input (it does for some deep-wing prices of a few minutes' expiry). The unit
/// tests' entry point; [`implied_vol`] uses [`solve_time_value`].
#[cfg(test)]
fn solve_normalised(x: f64, beta: f64) -> f64 {
    let s = lets_be_rational(x, beta);
    if (s > 0.0) & (s < f64::INFINITY) {
        s
    } else {
        solve_normalised_householder(x, beta)
    }
}

/// [`solve_normalised`] for [`implied_vol`]: zero volatility where the time value rounded to
/// zero or below (β ≤ 0: a price above the discounted intrinsic value by less than the rounding
/// of price/df).
#[inline(always)]
fn solve_time_value(x: f64, beta: f64) -> f64 {
    let s = lets_be_rational(x, beta);
    // One range test (false for NaN) rather than a match on the option: cheaper in the hot loop.
    if (s > 0.0) & (s < f64::INFINITY) {
        s
    } else {
        declined(x, beta)
    }
}

/// Where Let's Be Rational declines: our solver, or zero for β ≤ 0 (see [`solve_time_value`]).
#[cold]
#[inline(never)]
fn declined(x: f64, beta: f64) -> f64 {
    if beta > 0.0 {
        solve_normalised_householder(x, beta)
    } else {
        0.0
    }
}

/// Let's Be Rational as the crate implements it (its default hybrid, with FlashIV steps in the
/// lowest branch), NaN where it declines.
#[inline(always)]
fn lets_be_rational(x: f64, beta: f64) -> f64 {
    ImpliedBlackVolatilityNormalised::builder()
        .log_moneyness(x)
        .normalised_price(beta)
        .build_unchecked()
        .calculate::<DefaultSpecialFn>()
        .unwrap_or(f64::NAN)
}

/// Our solver of b(x, s) = β (see the module doc).
fn solve_normalised_householder(x: f64, beta: f64) -> f64 {
    let b_max = (0.5 * x).exp();
    if beta >= b_max {
        // Only reachable through rounding in the normalisation: the price is at its upper bound.
        return f64::INFINITY;
    }
    let s_c = (-2.0 * x).sqrt();
    if beta < 0.5 * b_max {
        // b(s_c) ≤ b_max/2, so this covers everything below the inflection point: the price
        // itself carries the information, solve in ln b (relative precision for tiny prices).
        let guess = lower_guess(x, beta, s_c).unwrap_or_else(|| upper_guess(x, b_max - beta, s_c));
        let ln_beta = beta.ln();
        householder(guess, 0.0, f64::INFINITY, |s| lower_objective(x, s, ln_beta))
    } else {
        // Above b_max/2 (so above s_c) the remainder b_max − β carries it.
        let target = b_max - beta;
        let ln_target = target.ln();
        let guess = upper_guess(x, target, s_c);
        householder(guess, s_c, f64::INFINITY, |s| upper_objective(x, s, ln_target))
    }
}

/// Objective value and its first three derivatives in s.
struct Objective {
    g: f64,
    g1: f64,
    g2: f64,
    g3: f64,
}

/// b''/b' and b'''/b' of the normalised Black function (the same for any x).
#[inline]
fn vega_ratios(x: f64, s: f64) -> (f64, f64) {
    let a1 = x * x / (s * s * s) - 0.25 * s;
    let a2 = a1 * a1 - 3.0 * x * x / (s * s * s * s) - 0.25;
    (a1, a2)
}

/// g = ln b(s) − ln β.
#[inline]
fn lower_objective(x: f64, s: f64, ln_beta: f64) -> Objective {
    let (ln_b, nu) = ln_otm_call_and_vega_ratio(x, s);
    let (a1, a2) = vega_ratios(x, s);
    Objective {
        g: ln_b - ln_beta,
        g1: nu,
        g2: nu * a1 - nu * nu,
        g3: nu * a2 - 3.0 * nu * nu * a1 + 2.0 * nu * nu * nu,
    }
}

/// √(2/π).
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

/// g = ln(b_max − β) − ln(b_max − b(s)) for s ≥ s_c, where
/// b_max − b = e^(x/2)Φ(−h−t) + e^(−x/2)Φ(h−t) = ½e^(−(h²+t²)/2)·[erfcx((h+t)/√2) + erfcx((t−h)/√2)]
/// (both terms positive, both arguments ≥ 0 above s_c: no cancellation, no `exp`).
#[inline]
fn upper_objective(x: f64, s: f64, ln_target: f64) -> Objective {
    let h = x / s;
    let t = 0.5 * s;
    let erfcx_sum = erfcx((h + t) * std::f64::consts::FRAC_1_SQRT_2)
        + erfcx((t - h) * std::f64::consts::FRAC_1_SQRT_2);
    let ln_remainder = (0.5 * erfcx_sum).ln() + ln_gaussian_factor(x, s);
    // b′/(b_max − b): the normalised vega φ(h)e^(−t²/2) over the remainder.
    let mu = SQRT_2_OVER_PI / erfcx_sum;
    let (a1, a2) = vega_ratios(x, s);
    Objective {
        g: ln_target - ln_remainder,
        g1: mu,
        g2: mu * a1 + mu * mu,
        g3: mu * a2 + 3.0 * mu * mu * a1 + 2.0 * mu * mu * mu,
    }
}

/// Below the inflection point: invert the leading term of the asymptotic expansion,
/// b ≈ φ(h)e^(−t²/2)·s³/(x² − s⁴/4), by fixed-point iteration on
/// s = |x| / √(2(ln(s³/(√(2π)(x² − s⁴/4))) − s²/8 − ln β)). `None` when the iteration leaves
/// the region s < s_c where that expansion holds.
fn lower_guess(x: f64, beta: f64, s_c: f64) -> Option<f64> {
    if x >= 0.0 {
        return None;
    }
    let ln_beta = beta.ln();
    let mut s = (-x) / (-2.0 * ln_beta).sqrt();
    for _ in 0..3 {
        let gap = x * x - 0.25 * s * s * s * s;
        let ln_b = (INV_SQRT_2PI * s * s * s / gap).ln() - 0.125 * s * s;
        let denominator = 2.0 * (ln_b - ln_beta);
        if !(gap > 0.0 && denominator > 0.0) {
            return None;
        }
        s = (-x) / denominator.sqrt();
    }
    (s.is_finite() && s > 0.0 && s < s_c).then_some(s)
}

/// Above the inflection point: b_max − b ≈ 2cosh(x/2)Φ(−s/2) for large s.
fn upper_guess(x: f64, target: f64, s_c: f64) -> f64 {
    let p = target / (2.0 * (0.5 * x).cosh());
    let s = if p < 0.5 { -2.0 * inverse_norm_cdf_approx(p) } else { 0.0 };
    if s.is_finite() {
        s.max(s_c).max(f64::MIN_POSITIVE)
    } else {
        s_c.max(1.0)
    }
}

/// Third-order Householder iteration on an increasing objective, safeguarded by a bracket
/// [lo, hi] on the root (bisection whenever a step would leave it or the objective is not finite).
fn householder(
    guess: f64,
    lower_limit: f64,
    upper_limit: f64,
    objective: impl Fn(f64) -> Objective,
) -> f64 {
    let mut lo = lower_limit;
    let mut hi = upper_limit;
    let mut s = guess.clamp(lower_limit, upper_limit);
    for _ in 0..MAX_ITERATIONS {
        let o = objective(s);
        if o.g < 0.0 {
            lo = s;
        } else if o.g > 0.0 {
            hi = s;
        }
        let newton = -o.g / o.g1;
        let halley = o.g2 / o.g1;
        let hh3 = o.g3 / o.g1;
        let factor = (1.0 + 0.5 * halley * newton) / (1.0 + newton * (halley + hh3 * newton / 6.0));
        let mut step = if factor.is_finite() && factor > 0.0 { newton * factor } else { newton };
        if step.abs() <= 4.0 * f64::EPSILON * s {
            // At the root to within a few ulp (the bracket may already be that narrow).
            return s + step;
        }
        if !(step.is_finite() && s + step > lo && s + step < hi) {
            // Bisect: geometrically where the scale is unknown, arithmetically otherwise.
            let next = if hi.is_infinite() {
                2.0 * s
            } else if lo > 0.0 {
                (lo * hi).sqrt()
            } else {
                0.5 * hi
            };
            step = next - s;
        }
        s += step;
        if step.abs() <= CONVERGED_STEP * s {
            // Quartic convergence: the error left after this step is of order step⁴.
            return s;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::black76::normalised_otm_call;

    /// Our own solver (the fallback) inverts b(x, ·) to 1e-12 relative in the price over
    /// |x| from 1e-6 to 30 and s from 1e-4 to 8, wherever b is a normal double below b_max.
    #[test]
    fn householder_solver_round_trip() {
        let mut checked = 0;
        for &x in &[-1e-6, -1e-3, -0.05, -0.3, -1.0, -3.0, -10.0, -30.0] {
            for &s in &[1e-4, 1e-3, 0.01, 0.05, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0] {
                let beta = normalised_otm_call(x, s);
                if !(beta > f64::MIN_POSITIVE && beta < (0.5 * x).exp()) {
                    continue;
                }
                let solved = solve_normalised_householder(x, beta);
                let err = (normalised_otm_call(x, solved) / beta - 1.0).abs();
                assert!(err <= 1e-12, "x={x} s={s}: solved {solved}, price error {err:e}");
                checked += 1;
            }
        }
        assert!(checked > 50, "only {checked} representable cases");
    }

    /// Where Let's Be Rational answers, both solvers agree to the precision the price
    /// determines the volatility.
    #[test]
    fn both_solvers_agree() {
        for &x in &[-1e-4, -0.1, -0.7, -2.0] {
            for &s in &[0.02, 0.3, 1.0, 3.0] {
                let beta = normalised_otm_call(x, s);
                let ours = solve_normalised_householder(x, beta);
                let primary = solve_normalised(x, beta);
                assert!((ours / primary - 1.0).abs() <= 1e-10, "x={x} s={s}: {ours} vs {primary}");
            }
        }
    }
}
