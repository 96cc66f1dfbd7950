//! TFLite's `MultiplyByQuantizedMultiplier` in one 64-bit rounding step, bit for bit, for
//! 32-bit Arm (the reference's two steps with an i64 division cost about 60 instructions an
//! output on a Cortex-M4; this is `smull`, a 64-bit add and shift).
//!
//! With `z = a * m0 + 2^30` (`a` the accumulator shifted left), the reference's rounding
//! doubling high multiply is `v = floor(z / 2^31)` (its truncating division of `z - 2^31 + 1`
//! for negative products is the same floor), and its rounding right shift by `e >= 1` is
//! `floor((v + 2^(e-1) - [v < 0]) / 2^e)`; nested floors of integer divisions merge, and
//! `v < 0` exactly when `z < 0`, so the result is `floor((z + (2^(e-1) - [z < 0]) 2^31) /
//! 2^(31 + e))`, all within i64. The one saturating case (`a = m0 = i32::MIN`) takes the
//! reference.

use crate::reference::fixed::multiply_by_quantized_multiplier;

/// [`multiply_by_quantized_multiplier`]`(x, m0, shift)`.
#[inline(always)]
pub(super) fn mbqm(x: i32, m0: i32, shift: i32) -> i32 {
    let a = x.wrapping_mul(1 << shift.clamp(0, 31));
    if a == i32::MIN && m0 == i32::MIN {
        return multiply_by_quantized_multiplier(x, m0, shift);
    }
    let e = (-shift).clamp(0, 31) as u32;
    let z = a as i64 * m0 as i64 + (1 << 30);
    let round = if e == 0 { 0 } else { (1i64 << (30 + e)) - if z < 0 { 1 << 31 } else { 0 } };
    ((z + round) >> (31 + e)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the reference on edge and random accumulators, multipliers and shifts.
    #[test]
    fn mbqm_is_the_reference() {
        let edges = [i32::MIN, i32::MIN + 1, -(1 << 30), -65536, -257, -1, 0, 1, 255, 1 << 30, i32::MAX - 1, i32::MAX];
        let mults = [i32::MIN, -1, 0, 1, 1 << 30, (1 << 30) + 1, 1_518_500_250, i32::MAX];
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for shift in -31..=31 {
            for &m0 in &mults {
                for &x in &edges {
                    assert_eq!(mbqm(x, m0, shift), multiply_by_quantized_multiplier(x, m0, shift), "{x} {m0} {shift}");
                }
            }
            for _ in 0..3000 {
                let v = next();
                let x = (v as i32) >> (v >> 59);
                let m0 = if v & (1 << 40) == 0 { (1 << 30) | (v >> 34) as i32 & 0x3fff_ffff } else { (v >> 32) as i32 };
                assert_eq!(mbqm(x, m0, shift), multiply_by_quantized_multiplier(x, m0, shift), "{x} {m0} {shift}");
            }
        }
    }
}
