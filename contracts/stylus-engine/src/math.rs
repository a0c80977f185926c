//! Fixed-point arithmetic, checked everywhere: `U256`/`I256` operators wrap silently in ruint,
//! so every operation here is a `checked_*` that maps failure to `ArithmeticOverflow()`.
//! Division rounds toward zero with a full 512-bit intermediate product (`Math.mulDiv`).

use stylus_sdk::alloy_primitives::{I256, U256};

use crate::errors::{overflow, EngineResult};

/// 10_000 basis points = 100%.
pub const BPS: U256 = U256::from_limbs([10_000, 0, 0, 0]);
/// 1e18: one whole unit of an 18-decimal quantity.
pub const E18: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// `floor(a * b / d)` at full precision; `ArithmeticOverflow` if `d == 0` or the result does
/// not fit 256 bits. Hand-written limb arithmetic: ruint's generic division costs ~8 KB of WASM
/// per width.
pub fn mul_div(a: U256, b: U256, d: U256) -> EngineResult<U256> {
    if d.is_zero() {
        return Err(overflow());
    }
    div_wide(mul_wide(a.as_limbs(), b.as_limbs()), d).ok_or_else(overflow)
}

/// The 512-bit product of two 256-bit values, little-endian limbs.
fn mul_wide(a: &[u64; 4], b: &[u64; 4]) -> [u64; 8] {
    let mut r = [0u64; 8];
    for i in 0..4 {
        let mut carry = 0u128;
        for j in 0..4 {
            let t = u128::from(a[i]) * u128::from(b[j]) + u128::from(r[i + j]) + carry;
            r[i + j] = t as u64; // low half; the high half carries
            carry = t >> 64;
        }
        r[i + 4] = carry as u64; // < 2^64: the row's final carry
    }
    r
}

/// `floor(n / d)` for a 512-bit `n` and non-zero `d`, if it fits 256 bits.
fn div_wide(n: [u64; 8], d: U256) -> Option<U256> {
    let dl = d.as_limbs();
    if dl[1] == 0 && dl[2] == 0 && dl[3] == 0 {
        // One-limb divisor: schoolbook with u128 (each partial quotient fits a limb).
        let d = u128::from(dl[0]);
        let mut rem = 0u128;
        let mut q = [0u64; 8];
        for i in (0..8).rev() {
            let cur = (rem << 64) | u128::from(n[i]);
            q[i] = (cur / d) as u64; // rem < d, so cur / d < 2^64
            rem = cur % d;
        }
        if q[4..].iter().any(|&x| x != 0) {
            return None;
        }
        return Some(U256::from_limbs([q[0], q[1], q[2], q[3]]));
    }
    // Restoring division, one bit at a time (only for divisors above 2^64).
    let high = U256::from_limbs([n[4], n[5], n[6], n[7]]);
    if high >= d {
        return None; // the quotient would need more than 256 bits
    }
    let mut r = *high.as_limbs();
    let mut q = [0u64; 4];
    for bit in (0..256).rev() {
        let carry = r[3] >> 63;
        r = [
            r[0] << 1 | (n[bit / 64] >> (bit % 64)) & 1,
            r[1] << 1 | r[0] >> 63,
            r[2] << 1 | r[1] >> 63,
            r[3] << 1 | r[2] >> 63,
        ];
        let rv = U256::from_limbs(r);
        if carry == 1 || rv >= d {
            r = *rv.wrapping_sub(d).as_limbs();
            q[bit / 64] |= 1 << (bit % 64);
        }
    }
    Some(U256::from_limbs(q))
}

/// `10**exponent` (exponent <= 36 by governance bounds: fits 128 bits).
pub fn pow10(exponent: u8) -> U256 {
    let mut p = 1u128;
    for _ in 0..exponent.min(38) {
        p *= 10; // 10^38 < 2^128
    }
    U256::from(p)
}

/// An unsigned value as a signed one.
pub fn signed(value: U256) -> EngineResult<I256> {
    let v = I256::from_raw(value);
    if v.is_negative() {
        return Err(overflow());
    }
    Ok(v)
}

/// A 128-bit signed value widened (sign-extended) to 256 bits.
pub fn wide(value: i128) -> I256 {
    // Two's complement sign extension of the 128-bit pattern.
    let low = U256::from(value as u128);
    if value < 0 {
        I256::from_raw(low | (U256::MAX << 128))
    } else {
        I256::from_raw(low)
    }
}

/// `a + b`, checked.
pub fn add(a: I256, b: I256) -> EngineResult<I256> {
    a.checked_add(b).ok_or_else(overflow)
}

/// `a - b`, checked.
pub fn sub(a: I256, b: I256) -> EngineResult<I256> {
    a.checked_sub(b).ok_or_else(overflow)
}

/// `a * b`, checked.
pub fn mul(a: I256, b: I256) -> EngineResult<I256> {
    a.checked_mul(b).ok_or_else(overflow)
}

/// A 256-bit signed value narrowed to 128 bits.
pub fn narrow(value: I256) -> EngineResult<i128> {
    let limbs = value.into_raw();
    let limbs = limbs.as_limbs();
    let low = (u128::from(limbs[1]) << 64 | u128::from(limbs[0])) as i128;
    // Fits iff the high limbs are the sign extension of the low 128 bits.
    let ext = if low < 0 { u64::MAX } else { 0 };
    if limbs[2] != ext || limbs[3] != ext {
        return Err(overflow());
    }
    Ok(low)
}

/// `value * bps / 10_000` with `bps` a small constant, signed, rounded toward zero.
pub fn signed_mul_div(a: I256, b: U256, d: U256) -> EngineResult<I256> {
    let magnitude = signed(mul_div(a.unsigned_abs(), b, d)?)?;
    Ok(if a.is_negative() { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_div_is_full_precision_and_rounds_toward_zero() {
        assert_eq!(mul_div(U256::from(7), U256::from(3), U256::from(2)).unwrap(), U256::from(10));
        // (2^255 * 6) / 3 = 2^256 overflows; (2^255 * 2) / 4 = 2^254 fits despite the product.
        let big = U256::from(1) << 255;
        assert_eq!(mul_div(big, U256::from(2), U256::from(4)).unwrap(), U256::from(1) << 254);
        assert!(mul_div(big, U256::from(6), U256::from(3)).is_err());
        assert!(mul_div(U256::from(1), U256::from(1), U256::ZERO).is_err());
        assert_eq!(
            mul_div(U256::MAX, U256::MAX, U256::MAX).unwrap(),
            U256::MAX,
            "intermediate of 512 bits"
        );
    }

    #[test]
    fn widening_and_narrowing_round_trip() {
        for v in [0i128, 1, -1, i128::MAX, i128::MIN, -123_456_789] {
            assert_eq!(narrow(wide(v)).unwrap(), v);
            assert_eq!(wide(v), I256::try_from(v).unwrap());
        }
        assert!(narrow(wide(i128::MAX) + I256::ONE).is_err());
        assert_eq!(
            signed_mul_div(wide(-7), U256::from(3), U256::from(2)).unwrap(),
            wide(-10),
            "toward zero"
        );
    }
}
