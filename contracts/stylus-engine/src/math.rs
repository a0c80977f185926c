//! Fixed-point arithmetic, checked everywhere: `U256`/`I256` operators wrap silently in ruint,
//! so every operation here is a `checked_*` that maps failure to `ArithmeticOverflow()`.
//! Division rounds toward zero with a full 512-bit intermediate product (`Math.mulDiv`).

use stylus_sdk::alloy_primitives::aliases::{I128, U128};
use stylus_sdk::alloy_primitives::{ruint::Uint, I256, U256};

use crate::errors::{overflow, EngineResult};

/// 10_000 basis points = 100%.
pub const BPS: U256 = U256::from_limbs([10_000, 0, 0, 0]);
/// 1e18: one whole unit of an 18-decimal quantity.
pub const E18: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// `floor(a * b / d)` at full precision; `ArithmeticOverflow` if `d == 0` or the result does
/// not fit 256 bits.
pub fn mul_div(a: U256, b: U256, d: U256) -> EngineResult<U256> {
    if d.is_zero() {
        return Err(overflow());
    }
    if let Some(product) = a.checked_mul(b) {
        return Ok(product / d);
    }
    let product: Uint<512, 8> = a.widening_mul(b);
    let quotient = product / Uint::<512, 8>::from(d);
    let limbs = quotient.as_limbs();
    if limbs[4..].iter().any(|&limb| limb != 0) {
        return Err(overflow());
    }
    Ok(U256::from_limbs([limbs[0], limbs[1], limbs[2], limbs[3]]))
}

/// `10**exponent` (exponent <= 36 by governance bounds, so it fits).
pub fn pow10(exponent: u8) -> U256 {
    U256::from(10u8).pow(U256::from(exponent))
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

/// A stored 128-bit signed value as `i128` (same two's complement bits).
pub fn bits_to_i128(value: I128) -> i128 {
    value.into_raw().to::<u128>() as i128
}

/// An `i128` as a stored 128-bit signed value (same two's complement bits).
pub fn i128_to_bits(value: i128) -> I128 {
    I128::from_raw(U128::from(value as u128))
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
    i128::try_from(value).map_err(|_| overflow())
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
