//! TFLite's integer arithmetic (its int8 spec, built on gemmlowp's fixed-point primitives): the
//! requantization multiplier `M = M0 * 2^shift` with a Q31 `M0`, the saturating rounding
//! doubling high multiply, the rounding divide by a power of two, and the fixed-point `exp` and
//! reciprocal of the int8 softmax. Every int8 kernel requantizes through these, on every ISA, so
//! results are identical everywhere and equal to TFLite Micro's.
//!
//! `FixedPoint<i32, I>` (I integer bits, 31 - I fractional bits) is a plain `i32` here; each
//! function says which format its operands are in.

/// `a * b / 2^31` rounded to nearest (a positive tie up, a negative tie toward zero, as the
/// nudge-then-truncate of the C code does), saturating the one overflow
/// (`i32::MIN * i32::MIN`): gemmlowp's `SaturatingRoundingDoublingHighMul`.
#[inline(always)]
pub fn srdhm(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge = if ab >= 0 { 1i64 << 30 } else { 1 - (1i64 << 30) };
    // Division truncates toward zero, as in C.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `x / 2^exponent` rounded to nearest, ties away from zero (`0 <= exponent <= 31`):
/// gemmlowp's `RoundingDivideByPOT`.
#[inline(always)]
pub fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// `x * 2^exponent` saturating to the i32 range (`exponent > 0`), or rounding (`< 0`).
#[inline(always)]
pub fn saturating_rounding_mul_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent <= 0 {
        return rounding_divide_by_pot(x, (-exponent) as u32);
    }
    let threshold = ((1i64 << (31 - exponent)) - 1) as i32;
    if x > threshold {
        i32::MAX
    } else if x < -threshold {
        i32::MIN
    } else {
        x << exponent
    }
}

/// `x * M0 * 2^shift` with TFLite's double rounding (`MultiplyByQuantizedMultiplier`): a left
/// shift first when `shift > 0`, the high multiply, then a rounding right shift. The left shift
/// wraps like the C code's two's-complement multiply.
#[inline(always)]
pub fn multiply_by_quantized_multiplier(x: i32, m0: i32, shift: i32) -> i32 {
    let left = shift.clamp(0, 31) as u32;
    let right = (-shift).clamp(0, 31) as u32;
    rounding_divide_by_pot(srdhm(x.wrapping_mul(1 << left), m0), right)
}

/// The Q31 significand `M0` and exponent of a real multiplier (`QuantizeMultiplier`):
/// `m = M0 * 2^(shift - 31)`, `M0` in `[2^30, 2^31)` rounded half away from zero; 0 for 0 and
/// for multipliers below `2^-31`. `None` for a negative, NaN or infinite multiplier, or one too
/// large to represent (`>= 2^31`).
pub fn quantize_multiplier(m: f64) -> Option<(i32, i32)> {
    if !m.is_finite() || m < 0.0 {
        return None;
    }
    if m == 0.0 {
        return Some((0, 0));
    }
    let (q, mut shift) = libm::frexp(m);
    let mut q_fixed = libm::round(q * (1i64 << 31) as f64) as i64;
    if q_fixed == 1i64 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return Some((0, 0));
    }
    if shift > 30 {
        return None;
    }
    Some((q_fixed as i32, shift))
}

/// TFLite's quantization of a real constant into an activation's integer domain
/// (`Quantize` in `CalculateActivationRangeQuantized`): `zp + round(f / scale)` with the
/// division in f32 and ties away from zero, or `None` when it leaves the i32 range.
pub fn quantize_f32(f: f32, scale: f32, zp: i32) -> Option<i32> {
    let t = libm::roundf(f / scale);
    if !(t >= i32::MIN as f32 && t <= i32::MAX as f32) {
        return None;
    }
    (t as i32).checked_add(zp)
}

/// Clamp bounds of a fused activation in an output's integer domain, as TFLite computes them:
/// the activation `[lo, hi]` (reals, `None` unbounded) quantized with the output's parameters and
/// intersected with `[qmin, qmax]`.
pub fn activation_range(lo: Option<f32>, hi: Option<f32>, scale: f32, zp: i32, qmin: i32, qmax: i32) -> (i32, i32) {
    let a = lo.and_then(|l| quantize_f32(l, scale, zp)).map_or(qmin, |q| q.max(qmin));
    let b = hi.and_then(|h| quantize_f32(h, scale, zp)).map_or(qmax, |q| q.min(qmax));
    (a, b)
}

/// `FixedPoint<i32, 0>` one (the largest raw value).
const F0_ONE: i32 = i32::MAX;

/// `exp(a)` for `a` in `[-1/4, 0)`, both `FixedPoint<i32, 0>` (a Taylor expansion around -1/8).
fn exp_on_quarter_interval(a: i32) -> i32 {
    const EXP_MINUS_ONE_EIGHTH: i32 = 1_895_147_668;
    const ONE_THIRD: i32 = 715_827_883;
    let x = a.wrapping_add(1 << 28);
    let x2 = srdhm(x, x);
    let x3 = srdhm(x2, x);
    let x4 = srdhm(x2, x2);
    let x4_over_4 = rounding_divide_by_pot(x4, 2);
    let poly = rounding_divide_by_pot(srdhm(x4_over_4.wrapping_add(x3), ONE_THIRD).wrapping_add(x2), 1);
    EXP_MINUS_ONE_EIGHTH.wrapping_add(srdhm(EXP_MINUS_ONE_EIGHTH, x.wrapping_add(poly)))
}

/// `exp(a)` for `a <= 0` in `FixedPoint<i32, INT_BITS>`, as `FixedPoint<i32, 0>`
/// (gemmlowp's `exp_on_negative_values`; `INT_BITS <= 5`, which is what the int8 softmax uses).
pub fn exp_on_negative_values<const INT_BITS: i32>(a: i32) -> i32 {
    const { assert!(INT_BITS >= 0 && INT_BITS <= 5) };
    let frac = 31 - INT_BITS;
    let quarter = 1i32 << (frac - 2);
    let mod_quarter_minus_quarter = (a & (quarter - 1)).wrapping_sub(quarter);
    let mut result = exp_on_quarter_interval(saturating_rounding_mul_by_pot(mod_quarter_minus_quarter, INT_BITS));
    let remainder = mod_quarter_minus_quarter.wrapping_sub(a);
    // exp(-2^e) for e = -2..=4, Q31.
    const BARREL: [(i32, i32); 7] = [
        (-2, 1_672_461_947),
        (-1, 1_302_514_674),
        (0, 790_015_084),
        (1, 290_630_308),
        (2, 39_332_535),
        (3, 720_401),
        (4, 242),
    ];
    for (e, mult) in BARREL {
        if INT_BITS > e && remainder & (1 << (frac + e)) != 0 {
            result = srdhm(result, mult);
        }
    }
    if a == 0 { F0_ONE } else { result }
}

/// `1 / (1 + x)` for `x` in `[0, 1)`, both `FixedPoint<i32, 0>` (Newton-Raphson, three steps).
pub fn one_over_one_plus_x(a: i32) -> i32 {
    let half_sum = {
        let s = a as i64 + F0_ONE as i64;
        ((s + if s >= 0 { 1 } else { -1 }) / 2) as i32
    };
    // FixedPoint<i32, 2> constants 48/17 and -32/17, and one.
    const C48_17: i32 = 1_515_870_810;
    const CNEG32_17: i32 = -1_010_580_540;
    const F2_ONE: i32 = 1 << 29;
    let mut x = C48_17.wrapping_add(srdhm(half_sum, CNEG32_17));
    for _ in 0..3 {
        let hx = srdhm(half_sum, x);
        let one_minus = F2_ONE.wrapping_sub(hx);
        x = x.wrapping_add(saturating_rounding_mul_by_pot(srdhm(x, one_minus), 2));
    }
    // x is FixedPoint<i32, 2>; halve it exactly (2 -> 1 integer bits), rescale to 0 bits.
    saturating_rounding_mul_by_pot(x, 1)
}

/// `1 / x` for a positive `FixedPoint<i32, INT_BITS>` sum: the reciprocal's
/// `FixedPoint<i32, 0>` raw value and the number of bits the sum exceeds one by
/// (TFLite's `GetReciprocal`).
pub fn reciprocal(x: i32, int_bits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros() as i32;
    let bits_over_unit = int_bits - headroom_plus_one;
    let shifted_minus_one = ((x as u32) << headroom_plus_one).wrapping_sub(1u32 << 31) as i32;
    (one_over_one_plus_x(shifted_minus_one), bits_over_unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real(raw: i32, int_bits: i32) -> f64 {
        raw as f64 / (1u64 << (31 - int_bits)) as f64
    }

    #[test]
    fn srdhm_rounds_like_gemmlowp_and_saturates() {
        assert_eq!(srdhm(1 << 30, 1 << 30), 1 << 29);
        assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
        // 3 * 2^30 / 2^31 = 1.5 -> 2; -1.5 -> -1 (the negative nudge is 2^30 - 1).
        assert_eq!(srdhm(3, 1 << 30), 2);
        assert_eq!(srdhm(-3, 1 << 30), -1);
        assert_eq!(srdhm(1, 1 << 30), 1); // 0.5 -> 1
        assert_eq!(srdhm(-1, 1 << 30), 0); // -0.5 -> 0
        assert_eq!(srdhm(-5, 1 << 30), -2); // -2.5 -> -2
        assert_eq!(srdhm(-7, 1 << 29), -2); // -1.75 -> -2
    }

    #[test]
    fn rounding_divide_rounds_ties_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(-4, 1), -2);
        assert_eq!(rounding_divide_by_pot(7, 2), 2);
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(123, 0), 123);
    }

    #[test]
    fn quantize_multiplier_matches_the_real_multiplier() {
        for &m in &[0.5, 0.75, 1.0, 1.5, 3.0e-3, 0.999_999_999_9, 2.2e-5, 1234.5] {
            let (m0, shift) = quantize_multiplier(m).unwrap();
            assert!(m0 >= 1 << 30, "{m}: {m0}");
            let back = m0 as f64 * 2f64.powi(shift - 31);
            assert!((back - m).abs() <= m * 1e-9, "{m} -> {back}");
        }
        // Rounding up to 2^31 renormalizes.
        assert_eq!(quantize_multiplier(0.999_999_999_99), Some((1 << 30, 1)));
        assert_eq!(quantize_multiplier(0.0), Some((0, 0)));
        assert_eq!(quantize_multiplier(1e-12), Some((0, 0)));
        assert_eq!(quantize_multiplier(-1.0), None);
        assert_eq!(quantize_multiplier(f64::NAN), None);
        assert_eq!(quantize_multiplier(3e9), None);
    }

    #[test]
    fn requantization_is_within_half_a_step_of_the_real_product() {
        for &m in &[0.0123, 0.5, 0.000_731, 0.98, 2.5] {
            let (m0, shift) = quantize_multiplier(m).unwrap();
            for x in [-100_000, -12_345, -7, -1, 0, 1, 3, 999, 54_321, 1 << 20] {
                let got = multiply_by_quantized_multiplier(x, m0, shift) as f64;
                assert!((got - x as f64 * m).abs() <= 0.5 + 1e-6 * (x as f64 * m).abs(), "{x} * {m} = {got}");
            }
        }
    }

    #[test]
    fn activation_range_rounds_like_tflite() {
        // ReLU6 with scale 0.0235 and zp -128: 6 / 0.0235 = 255.3 -> 255 -> 127.
        assert_eq!(activation_range(Some(0.0), Some(6.0), 0.0235, -128, -128, 127), (-128, 127));
        assert_eq!(activation_range(Some(0.0), Some(6.0), 0.05, -10, -128, 127), (-10, 110));
        assert_eq!(activation_range(Some(0.0), None, 0.05, 3, -128, 127), (3, 127));
        // Ties away from zero: 2.5 -> 3.
        assert_eq!(activation_range(None, Some(0.125), 0.05, 0, -128, 127), (-128, 3));
    }

    #[test]
    fn fixed_point_exp_is_close_to_exp() {
        for i in 0..2000 {
            let x = -(i as f64) * 0.0155;
            let raw = (x * (1u64 << 26) as f64).round() as i32;
            let got = real(exp_on_negative_values::<5>(raw), 0);
            assert!((got - x.exp()).abs() < 2e-6, "exp({x}) = {got}");
        }
    }

    #[test]
    fn fixed_point_reciprocal_is_close() {
        for i in 1..1000 {
            let x = i as f64 / 1000.0;
            let raw = (x * 2f64.powi(31)) as i32;
            let got = real(one_over_one_plus_x(raw), 0);
            assert!((got - 1.0 / (1.0 + x)).abs() < 1e-7, "1 / (1 + {x}) = {got}");
        }
        // A sum of 3.0 in FixedPoint<i32, 12>: 1/3 = raw / 2^31 / 2^bits.
        let (r, bits) = reciprocal(3 << 19, 12);
        assert!((real(r, 0) / 2f64.powi(bits) - 1.0 / 3.0).abs() < 1e-7);
    }
}
