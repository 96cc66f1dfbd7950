//! TFLite's requantization of 16 channels at once with AVX-512 (F, DQ, VL), bit-exact, in one
//! rounding step: for `h = srdhm(x, m) = floor((x m + 2^30) / 2^31)` and the rounding divide
//! by `2^e` (ties away from zero), `floor((h + r) / 2^e) = floor((x m + 2^30 + r 2^31) /
//! 2^(31 + e))` for an integer `r`, and with `r = 2^(e-1) - [h < 0]` (`e > 0`; `r = 0` for
//! `e = 0`) that is the reference's result. For `e > 0`, `[h < 0]` may be replaced by
//! `[x m < 0]`: the two differ only for `x m` in `[-2^30, 0)`, where both give 0. The one
//! saturation (`x = m = i32::MIN`) is the product clamped to `2^62 - 2^31`, the largest other
//! product, which gives `h = i32::MAX`. The 64-bit sum stays below `2^63`.

use crate::fast::int8::kernels::Rq;
use core::arch::x86_64::*;

/// The output stage of 16 channels: requantization constants per lane, `+ zp`, clamp.
#[derive(Clone, Copy)]
pub(super) struct Rq16 {
    cb: __m512i,
    left: __m512i,
    /// Multiplier of the even and the odd lanes, in the low half of each 64-bit lane.
    m: [__m512i; 2],
    /// `2^30 + 2^(e + 30)` (`2^30` when `e = 0`), per 64-bit lane, even and odd.
    k: [__m512i; 2],
    /// `2^31` where `e > 0`, 0 elsewhere: subtracted from negative products.
    neg: [__m512i; 2],
    /// `31 + e`.
    sh: [__m512i; 2],
    zp: __m512i,
    lo: __m512i,
    hi: __m512i,
    lo8: __m128i,
    hi8: __m128i,
    /// `[lo, hi]` within the int8 range: saturate to int8, then clamp bytes.
    narrow: bool,
}

/// The constants of channels `ch..ch + 16` of `rq`, with `d0`/`d1` (channels `ch..ch + 8`,
/// `ch + 8..ch + 16`) subtracted from the bias.
///
/// # Safety
/// AVX-512 F, DQ and VL are available; `rq`'s slices hold at least `ch + 16` values.
#[inline(always)]
pub(super) unsafe fn rq16(rq: &Rq<'_>, ch: usize, d0: __m256i, d1: __m256i) -> Rq16 {
    // SAFETY: caller (features, lengths).
    unsafe {
        let d = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(d0), d1);
        let cb = _mm512_sub_epi32(_mm512_loadu_si512(rq.cb.as_ptr().add(ch).cast()), d);
        let mult = _mm512_loadu_si512(rq.mult.as_ptr().add(ch).cast());
        let shift = _mm512_loadu_si512(rq.shift.as_ptr().add(ch).cast());
        let (zero, max) = (_mm512_setzero_si512(), _mm512_set1_epi32(31));
        let left = _mm512_min_epi32(_mm512_max_epi32(shift, zero), max);
        let e = _mm512_min_epi32(_mm512_max_epi32(_mm512_sub_epi32(zero, shift), zero), max);
        let low = _mm512_set1_epi64(0xffff_ffff);
        let m = [_mm512_and_si512(mult, low), _mm512_srli_epi64::<32>(mult)];
        let (k0, n0, s0) = exponent_consts(_mm512_and_si512(e, low));
        let (k1, n1, s1) = exponent_consts(_mm512_srli_epi64::<32>(e));
        Rq16 {
            cb,
            left,
            m,
            k: [k0, k1],
            neg: [n0, n1],
            sh: [s0, s1],
            zp: _mm512_set1_epi32(rq.zp),
            lo: _mm512_set1_epi32(rq.lo),
            hi: _mm512_set1_epi32(rq.hi),
            lo8: _mm_set1_epi8(rq.lo as i8),
            hi8: _mm_set1_epi8(rq.hi as i8),
            narrow: -128 <= rq.lo && rq.hi <= 127,
        }
    }
}

/// `(2^30 + 2^(e + 30) or 2^30, 2^31 or 0, 31 + e)` for the exponents `e` (in `0..=31`) of
/// 8 channels in 64-bit lanes.
///
/// # Safety
/// AVX-512 F is available.
#[inline(always)]
unsafe fn exponent_consts(e: __m512i) -> (__m512i, __m512i, __m512i) {
    // SAFETY: caller (features); register-only operations.
    unsafe {
        let pos = _mm512_cmpgt_epi64_mask(e, _mm512_setzero_si512());
        let round = _mm512_maskz_sllv_epi64(pos, _mm512_set1_epi64(1), _mm512_add_epi64(e, _mm512_set1_epi64(30)));
        (
            _mm512_add_epi64(_mm512_set1_epi64(1 << 30), round),
            _mm512_maskz_mov_epi64(pos, _mm512_set1_epi64(1 << 31)),
            _mm512_add_epi64(e, _mm512_set1_epi64(31)),
        )
    }
}

/// `zp + multiply_by_quantized_multiplier(acc + cb, mult, shift)` of the 16 lanes of `acc`
/// (before the clamp).
///
/// # Safety
/// AVX-512 F, DQ and VL are available.
#[inline(always)]
pub(super) unsafe fn rq16_i32(acc: __m512i, r: &Rq16) -> __m512i {
    // SAFETY: caller (features); register-only operations.
    unsafe {
        let x = _mm512_sllv_epi32(_mm512_add_epi32(acc, r.cb), r.left);
        let (even, odd) = (half(x, r, 0), half(_mm512_srli_epi64::<32>(x), r, 1));
        // The odd lanes' results (low halves of their 64-bit lanes) into the odd positions.
        let v = _mm512_mask_shuffle_epi32::<0xa0>(even, 0xaaaa, odd);
        _mm512_add_epi32(v, r.zp)
    }
}

/// The 16 output bytes of [`rq16_i32`]'s values `v`: clamped to `[lo, hi]`, the low byte of
/// each (`as i8`).
///
/// # Safety
/// AVX-512 F, DQ and VL are available.
#[inline(always)]
pub(super) unsafe fn rq16_bytes(v: __m512i, r: &Rq16) -> __m128i {
    // SAFETY: caller (features); register-only operations.
    unsafe {
        if r.narrow {
            let b = _mm512_cvtsepi32_epi8(v);
            return _mm_min_epi8(_mm_max_epi8(b, r.lo8), r.hi8);
        }
        _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(v, r.lo), r.hi))
    }
}

/// `clamp(zp + multiply_by_quantized_multiplier(acc + cb, mult, shift), lo, hi) as i8` of 16
/// channels (accumulators of channels 0..8 in `a0`, 8..16 in `a1`).
///
/// # Safety
/// AVX-512 F, DQ and VL are available.
#[inline(always)]
pub(super) unsafe fn rq16_apply(a0: __m256i, a1: __m256i, r: &Rq16) -> __m128i {
    // SAFETY: caller (features); register-only operations.
    unsafe { rq16_bytes(rq16_i32(_mm512_inserti64x4::<1>(_mm512_castsi256_si512(a0), a1), r), r) }
}

/// The requantized values of the even (`i = 0`) or odd (`i = 1`) lanes of `x`, in the low
/// halves of the 64-bit lanes (`x`'s lanes in the low halves too).
///
/// # Safety
/// AVX-512 F and DQ are available.
#[inline(always)]
unsafe fn half(x: __m512i, r: &Rq16, i: usize) -> __m512i {
    // SAFETY: caller (features); register-only operations.
    unsafe {
        let p = _mm512_min_epi64(_mm512_mul_epi32(x, r.m[i]), _mm512_set1_epi64((1 << 62) - (1 << 31)));
        let v = _mm512_add_epi64(p, r.k[i]);
        let v = _mm512_mask_sub_epi64(v, _mm512_movepi64_mask(p), v, r.neg[i]);
        _mm512_srav_epi64(v, r.sh[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast::int8::kernels::Rq;

    /// # Safety
    /// AVX-512 F, DQ and VL are available.
    #[target_feature(enable = "avx2,avx512f,avx512dq,avx512vl")]
    unsafe fn apply(rq: &Rq<'_>, acc: &[i32; 16]) -> [i8; 16] {
        // SAFETY: caller (features); `rq` holds 16 channels, `acc` 16 values.
        unsafe {
            let z = _mm256_setzero_si256();
            let r = rq16(rq, 0, z, z);
            let a0 = _mm256_loadu_si256(acc.as_ptr().cast());
            let a1 = _mm256_loadu_si256(acc.as_ptr().add(8).cast());
            let mut out = [0i8; 16];
            _mm_storeu_si128(out.as_mut_ptr().cast(), rq16_apply(a0, a1, &r));
            out
        }
    }

    /// The 16-lane requantization against the scalar one on edge and random values.
    #[test]
    fn rq16_matches_the_scalar_requantization() {
        if !super::super::has_avx512_vnni() {
            std::eprintln!("SKIPPED rq16 test: no AVX-512 on this machine");
            return;
        }
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let edge_x = [0, 1, -1, 2, -2, i32::MIN, i32::MAX, i32::MIN + 1, 1 << 30, -(1 << 30), 12345, -12345];
        let edge_m = [0, 1, -1, i32::MIN, i32::MAX, 1 << 30, 1_300_000_000, -(1 << 30)];
        let edge_s = [-31, -30, -12, -8, -1, 0, 1, 5, 31, -40, 40];
        let clamps = [(-128, 127), (-100, 50), (-300, 300), (0, 0), (i32::MIN, i32::MAX)];
        for case in 0..20_000 {
            let pick = |v: &[i32], r: u64| v[(r % v.len() as u64) as usize];
            let draw = |next: &mut dyn FnMut() -> u64, edge: &[i32]| -> [i32; 16] {
                core::array::from_fn(|_| {
                    let r = next();
                    if r.is_multiple_of(3) { pick(edge, r >> 8) } else { (r >> 16) as i32 >> (r % 24) }
                })
            };
            let acc = draw(&mut next, &edge_x);
            let cb = draw(&mut next, &edge_x);
            let mult = draw(&mut next, &edge_m);
            let shift: [i32; 16] = core::array::from_fn(|_| {
                let r = next();
                if r % 2 == 0 { pick(&edge_s, r >> 8) } else { (r >> 8) as i32 % 33 - 16 }
            });
            let (lo, hi) = clamps[case % clamps.len()];
            let zp = [0, -5, 127, -128, 1000][case % 5];
            let rq = Rq { cb: &cb, mult: &mult, shift: &shift, zp, lo, hi };
            // SAFETY: checked above that the CPU has AVX-512 F, DQ and VL.
            let got = unsafe { apply(&rq, &acc) };
            let want: [i8; 16] = core::array::from_fn(|j| rq.one(j, acc[j]));
            assert_eq!(got, want, "case {case}: acc {acc:?} rq {rq:?}");
        }
    }
}
