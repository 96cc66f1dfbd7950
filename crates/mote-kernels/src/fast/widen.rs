//! f16 to f32 widening (the weights a file stores as f16): exact for every f16 value, with no
//! table and no branch, so the loop vectorizes on every target.

/// `f32::from_bits(0x7780_0000)` = 2^112: moves an f16 exponent (bias 15) to f32's (bias 127).
const EXP_ADJUST: u32 = 0x7780_0000;

/// The f32 value of the f16 with bits `h`.
#[inline]
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let em = h & 0x7fff;
    // Normal and subnormal values: the bits shifted into place are 2^-112 times the value (an
    // f32 subnormal for an f16 subnormal); scaling by 2^112 is exact.
    let finite = f32::from_bits(em << 13) * f32::from_bits(EXP_ADJUST);
    let v = if em >= 0x7c00 { f32::from_bits((em << 13) | 0x7f80_0000) } else { finite };
    f32::from_bits(v.to_bits() | sign)
}

/// `dst[i] = f32(src[i])` for the f16 bit patterns `src` (`dst` as long as `src`).
pub fn f16_to_f32(src: &[u16], dst: &mut [f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f16_bits_to_f32(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mote_core::f16;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn every_f16_widens_exactly() {
        let src: Vec<u16> = (0..=u16::MAX).collect();
        let mut dst = vec![0f32; src.len()];
        f16_to_f32(&src, &mut dst);
        for (&h, &got) in src.iter().zip(&dst) {
            let want = f16::from_bits(h).to_f32();
            if want.is_nan() {
                assert!(got.is_nan() && got.to_bits() >> 31 == want.to_bits() >> 31, "{h:#06x}");
            } else {
                assert_eq!(got.to_bits(), want.to_bits(), "{h:#06x}: {got} vs {want}");
            }
        }
    }
}
