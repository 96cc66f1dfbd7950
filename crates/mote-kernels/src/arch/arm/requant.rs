//! TFLite's `MultiplyByQuantizedMultiplier` for 32-bit Arm, bit for bit, without the
//! reference's signed 64-bit division: with `z = a * m0 + 2^30` (`a` the accumulator shifted
//! left), the reference's rounding doubling high multiply truncates `z / 2^31` for a
//! non-negative product and `(z - 2^31 + 1) / 2^31` toward zero for a negative one (a
//! negative numerator then, so the truncation is `ceil`), both equal to `floor(z / 2^31)`: an
//! arithmetic shift. The one saturating case (`a = m0
//! = i32::MIN`) takes the reference; the rounding right shift is the reference's.

use crate::reference::fixed::{multiply_by_quantized_multiplier, rounding_divide_by_pot};

/// [`multiply_by_quantized_multiplier`]`(x, m0, shift)`.
#[inline(always)]
pub(super) fn mbqm(x: i32, m0: i32, shift: i32) -> i32 {
    let a = x.wrapping_mul(1 << shift.clamp(0, 31));
    if a == i32::MIN && m0 == i32::MIN {
        return multiply_by_quantized_multiplier(x, m0, shift);
    }
    // A constant shift of the 64-bit product: `smull`, `adds`, `adc` and two 32-bit shifts.
    let v = ((a as i64 * m0 as i64 + (1 << 30)) >> 31) as i32;
    rounding_divide_by_pot(v, (-shift).clamp(0, 31) as u32)
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
