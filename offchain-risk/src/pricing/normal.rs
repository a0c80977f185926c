//! The standard normal distribution in full double precision: density, CDF (relative accuracy
//! kept deep into the lower tail), the scaled complementary error function `erfcx` that the
//! normalised Black function and the implied-volatility solver are built on, and a coarse inverse
//! CDF used only for initial guesses.

/// 1/sqrt(2π).
pub const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// sqrt(π/2): turns `erfcx(-h/√2)` into the ratio Φ(h)/φ(h).
pub const SQRT_PI_OVER_2: f64 = 1.253_314_137_315_500_3;

/// The low part of 1/√2 (1/√2 − `FRAC_1_SQRT_2`), to recover the rounding of `x/√2`.
const FRAC_1_SQRT_2_LO: f64 = -4.833_646_656_726_457e-17;

/// Veltkamp's splitter for doubles (2^27 + 1).
const SPLITTER: f64 = 134_217_729.0;

/// Standard normal density.
#[inline]
pub fn norm_pdf(x: f64) -> f64 {
    INV_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Standard normal CDF Φ(x) via `erfc`, accurate to a few ulp relative over the whole range,
/// including the far lower tail: `erfc` has no cancellation for x << 0, and the rounding of the
/// argument x/√2 (which `erfc` would amplify by 2z² in relative terms) is compensated to first
/// order.
#[inline]
pub fn norm_cdf(x: f64) -> f64 {
    let z = -x * std::f64::consts::FRAC_1_SQRT_2;
    let tail = libm::erfc(z);
    if z <= 1.0 {
        // Sensitivity of erfc to its argument is at most ~2z² ≤ 2 here: nothing to compensate.
        return 0.5 * tail;
    }
    // dz = exact(-x/√2) - z, from an error-free product and the low part of 1/√2.
    let dz = product_residual(-x, std::f64::consts::FRAC_1_SQRT_2, z) + (-x) * FRAC_1_SQRT_2_LO;
    // erfc(z + dz) = erfc(z)(1 - 2z·dz(1 + O(1/z²))); the O(1/z²) part is below one ulp.
    0.5 * tail * (1.0 - 2.0 * z * dz)
}

/// The rounding error of the product `a * b` whose rounded value is `p` (Dekker's two-product,
/// without FMA, which the baseline x86-64 target would call in software).
#[inline]
pub(crate) fn product_residual(a: f64, b: f64, p: f64) -> f64 {
    let (a_hi, a_lo) = split(a);
    let (b_hi, b_lo) = split(b);
    ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
}

/// Veltkamp split: `a = hi + lo` with each half at most 26 significant bits.
#[inline]
fn split(a: f64) -> (f64, f64) {
    let c = SPLITTER * a;
    let hi = c - (c - a);
    (hi, a - hi)
}

/// e^(z²) with the rounding of z² compensated (z = hi + lo, hi² exact), so the relative error
/// stays a few ulp even where z² is in the hundreds.
#[inline]
fn exp_of_square(z: f64) -> f64 {
    // Clearing the low 27 fraction bits leaves 26 significant bits: hi² is exact.
    let hi = f64::from_bits(z.to_bits() & !((1u64 << 27) - 1));
    let lo = z - hi;
    (hi * hi).exp() * (lo * (z + hi)).exp()
}

/// Scaled complementary error function erfcx(z) = e^(z²)·erfc(z), accurate to a few ulp
/// relative for every z at which it is finite.
pub fn erfcx(z: f64) -> f64 {
    if z < 0.0 {
        // Reflection erfc(-a) = 2 - erfc(a); overflows to +inf only where e^(a²) does.
        return 2.0 * exp_of_square(-z) - erfcx(-z);
    }
    if z < 26.0 {
        // erfc(26) ≈ 6e-296 is still a normal double, so the product loses nothing.
        return libm::erfc(z) * exp_of_square(z);
    }
    // Asymptotic series 1/(z√π)·Σ (-1)^k (2k-1)!!/(2z²)^k; at z ≥ 26 each term is at least
    // 1352/(2k-1) times smaller than the previous one, so seven terms reach 1e-18.
    let w = 0.5 / (z * z);
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..8 {
        term *= -(2 * k - 1) as f64 * w;
        sum += term;
    }
    sum / (z * std::f64::consts::PI.sqrt())
}

/// Φ(h)/φ(h), the lower-tail Mills ratio (Jäckel's Y(h)), for any h where it is finite.
#[inline]
pub fn cdf_over_pdf(h: f64) -> f64 {
    SQRT_PI_OVER_2 * erfcx(-h * std::f64::consts::FRAC_1_SQRT_2)
}

/// Approximate inverse of Φ for 0 < p < 1 (Abramowitz & Stegun 26.2.23, |error| < 4.5e-4).
/// Only for initial guesses: the solver that uses it converges to full precision regardless.
pub fn inverse_norm_cdf_approx(p: f64) -> f64 {
    let q = if p < 0.5 { p } else { 1.0 - p };
    let t = (-2.0 * q.ln()).sqrt();
    let z = t
        - (2.515_517 + t * (0.802_853 + t * 0.010_328))
            / (1.0 + t * (1.432_788 + t * (0.189_269 + t * 0.001_308)));
    if p < 0.5 {
        -z
    } else {
        z
    }
}
