//! TFLite's int8 Add, 16 lanes at a time with AVX-512, bit-exact.
//!
//! Each input stage is `RoundingDivideByPOT(SRDHM(d * 2^ls, m0), r)` for `d = v - zp` in
//! `[-255, 255]`. With `15 <= ls <= 23` (TFLite uses 20) `d * 2^ls` does not wrap and
//! `SRDHM(d 2^ls, m0) = floor((d m0 + 2^(q-1)) / 2^q)`, `q = 31 - ls <= 16`; splitting
//! `m0 = mh 2^16 + ml` (`mh` signed, `ml` in `0..2^16`) that is
//! `d mh 2^(16-q) + floor((d ml + 2^(q-1)) / 2^q)`: 32-bit products only (the sum is exact
//! modulo 2^32 and the true value fits in an i32). The output stage is [`int8_rq512`]'s
//! requantization (no left shift, as the Add's).

use super::int8_rq512::{Rq16, rq16, rq16_bytes, rq16_i32};
use crate::fast::int8::kernels::{Rq, add_right, add_stage};
use crate::reference::int8::AddParams;
use core::arch::x86_64::*;

/// Whether [`add_avx512`] takes these parameters (the left shift its split needs).
pub(super) fn add_avx512_ok(p: &AddParams) -> bool {
    (15..=23).contains(&p.left_shift)
}

/// The constants of one input stage.
#[derive(Clone, Copy)]
struct Stage {
    zp: __m512i,
    mh: __m512i,
    ml: __m512i,
    /// `2^(q-1)`, `16 - q` and `q` (shift counts).
    half_q: __m512i,
    up: __m128i,
    q: __m128i,
    /// The rounding divide: its shift, `2^r - 1` and half of that.
    r: __m128i,
    mask: __m512i,
    half: __m512i,
}

/// # Safety
/// AVX-512 F is available; `15 <= ls <= 23`.
#[inline(always)]
unsafe fn stage(zp: i32, ls: u32, (m0, shift): (i32, i32)) -> Stage {
    let q = 31 - ls as i32;
    let r = add_right(shift);
    let mask = ((1i64 << r) - 1) as i32;
    // SAFETY: caller (features); register-only operations.
    unsafe {
        Stage {
            zp: _mm512_set1_epi32(zp),
            mh: _mm512_set1_epi32(m0 >> 16),
            ml: _mm512_set1_epi32(m0 & 0xffff),
            half_q: _mm512_set1_epi32(1 << (q - 1)),
            up: _mm_cvtsi32_si128(16 - q),
            q: _mm_cvtsi32_si128(q),
            r: _mm_cvtsi32_si128(r as i32),
            mask: _mm512_set1_epi32(mask),
            half: _mm512_set1_epi32(mask >> 1),
        }
    }
}

/// The input stage of 16 bytes at `p`.
///
/// # Safety
/// AVX-512 F, BW and VL are available; `p` has 16 readable bytes.
#[inline(always)]
unsafe fn apply(p: *const i8, s: &Stage) -> __m512i {
    // SAFETY: caller (features, bounds); otherwise register-only operations.
    unsafe {
        let d = _mm512_sub_epi32(_mm512_cvtepi8_epi32(_mm_loadu_si128(p.cast())), s.zp);
        let hi = _mm512_sll_epi32(_mm512_mullo_epi32(d, s.mh), s.up);
        let lo = _mm512_sra_epi32(_mm512_add_epi32(_mm512_mullo_epi32(d, s.ml), s.half_q), s.q);
        let h = _mm512_add_epi32(hi, lo);
        // RoundingDivideByPOT: up by one where the remainder exceeds half (plus one if negative).
        let neg = _mm512_cmplt_epi32_mask(h, _mm512_setzero_si512());
        let thr = _mm512_mask_add_epi32(s.half, neg, s.half, _mm512_set1_epi32(1));
        let up = _mm512_cmpgt_epi32_mask(_mm512_and_si512(h, s.mask), thr);
        let q = _mm512_sra_epi32(h, s.r);
        _mm512_mask_add_epi32(q, up, q, _mm512_set1_epi32(1))
    }
}

/// int8 Add of the first `n / 16 * 16` elements (returns that count), equal to
/// [`crate::reference::int8::add`].
///
/// # Safety
/// AVX-512 F, BW, DQ and VL are available; [`add_avx512_ok`] holds; `a` and `y` hold `n`
/// values, `b` as many or one when `bcast`.
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512dq,avx512vl")]
pub(super) unsafe fn add_avx512(p: &AddParams, a: *const i8, b: *const i8, bcast: bool, y: *mut i8, n: usize) -> usize {
    // SAFETY (whole body): caller; every access is below `i + 16 <= n` (or `b[0]`).
    unsafe {
        let sa = stage(p.a_zp, p.left_shift, p.a_mult);
        let sb = stage(p.b_zp, p.left_shift, p.b_mult);
        let (zero, mult, shift) = ([0i32; 16], [p.y_mult.0; 16], [p.y_mult.1.min(0); 16]);
        let rq = Rq { cb: &zero, mult: &mult, shift: &shift, zp: p.y_zp, lo: p.lo, hi: p.hi };
        let z = _mm256_setzero_si256();
        let ry: Rq16 = rq16(&rq, 0, z, z);
        let bc = _mm512_set1_epi32(add_stage(*b, p.b_zp, p.left_shift, p.b_mult));
        let mut i = 0;
        while i + 16 <= n {
            let ta = apply(a.add(i), &sa);
            let tb = if bcast { bc } else { apply(b.add(i), &sb) };
            let v = rq16_i32(_mm512_add_epi32(ta, tb), &ry);
            _mm_storeu_si128(y.add(i).cast(), rq16_bytes(v, &ry));
            i += 16;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// # Safety
    /// AVX-512 F, BW, DQ and VL are available; `15 <= ls <= 23`.
    #[target_feature(enable = "avx2,avx512f,avx512bw,avx512dq,avx512vl")]
    unsafe fn stage16(v: &[i8; 16], zp: i32, ls: u32, mult: (i32, i32)) -> [i32; 16] {
        let mut out = [0i32; 16];
        // SAFETY: caller (features, `ls`); `v` has 16 bytes, `out` 16 values.
        unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast(), apply(v.as_ptr(), &stage(zp, ls, mult))) };
        out
    }

    /// The split input stage against the scalar one: every byte value, the extreme zero points,
    /// every left shift it takes, edge and random multipliers and exponents.
    #[test]
    fn input_stage_matches_the_scalar_one() {
        if !super::super::has_avx512_vnni() {
            std::eprintln!("SKIPPED add stage test: no AVX-512 on this machine");
            return;
        }
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let edge = [0, 1, -1, 3, 0xffff, 0x1_0000, 0x7fff_ffff, i32::MIN, -(1 << 30), 1 << 30, 0x5555_5555];
        for case in 0..4000 {
            let m0 = if case % 3 == 0 { edge[case / 3 % edge.len()] } else { next() as i32 };
            let shift = [0, -1, -3, -11, -31, 2][case % 6];
            let ls = 15 + (case % 9) as u32;
            let zp = [-128, 127, 0, -7][case % 4];
            for block in 0..16 {
                let v: [i8; 16] = core::array::from_fn(|j| (block * 16 + j) as u8 as i8);
                // SAFETY: checked above that the CPU has AVX-512 F, BW, DQ and VL; `ls` in range.
                let got = unsafe { stage16(&v, zp, ls, (m0, shift)) };
                let want: [i32; 16] = core::array::from_fn(|j| add_stage(v[j], zp, ls, (m0, shift)));
                assert_eq!(got, want, "case {case}: m0 {m0} shift {shift} ls {ls} zp {zp}");
            }
        }
    }
}
