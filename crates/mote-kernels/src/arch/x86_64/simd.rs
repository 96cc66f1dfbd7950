//! `Simd` for AVX2 + FMA: 8 lanes, fused multiply-add.

use crate::fast::simd::{BLOCK, ROW, Simd};
use core::arch::x86_64::*;

/// Token for AVX2 + FMA: a value exists only where the CPU supports both.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[inline(always)]
    pub(crate) unsafe fn new() -> Avx2 {
        Avx2(())
    }
}

// SAFETY (for every `unsafe` block below): an `Avx2` value exists only when the CPU supports
// AVX2 and FMA (see `Avx2::new`), so the intrinsics are available; loads and stores touch the
// first 8 floats of a slice whose length was checked just before.
impl Simd for Avx2 {
    const LANES: usize = 8;
    type V = __m256;
    type Row = [__m256; ROW / 8];
    type Block = [__m256; BLOCK / 8];

    #[inline(always)]
    fn splat(self, x: f32) -> __m256 {
        // SAFETY: see the impl comment.
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, x: &[f32]) -> __m256 {
        let x = &x[..8];
        // SAFETY: see the impl comment (8 floats readable at `x`).
        unsafe { _mm256_loadu_ps(x.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, x: &mut [f32], v: __m256) {
        let x = &mut x[..8];
        // SAFETY: see the impl comment (8 floats writable at `x`).
        unsafe { _mm256_storeu_ps(x.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn add(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the impl comment.
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the impl comment.
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the impl comment.
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    fn div(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the impl comment.
        unsafe { _mm256_div_ps(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        // SAFETY: see the impl comment.
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn min(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the impl comment. `minps` returns its second operand when either is NaN.
        unsafe { _mm256_min_ps(a, b) }
    }
    #[inline(always)]
    fn max(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: see the impl comment. `maxps` returns its second operand when either is NaN.
        unsafe { _mm256_max_ps(a, b) }
    }
    #[inline(always)]
    fn lt_select(self, a: __m256, b: __m256, x: __m256, y: __m256) -> __m256 {
        // SAFETY: see the impl comment. Ordered compare: false (so `y`) when either is NaN.
        unsafe { _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_LT_OQ>(a, b)) }
    }
    #[inline(always)]
    fn pow2i(self, n: __m256) -> __m256 {
        // SAFETY: see the impl comment.
        unsafe {
            let i = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
            _mm256_castsi256_ps(_mm256_slli_epi32::<23>(i))
        }
    }
    #[inline(always)]
    fn reduce_add(self, v: __m256) -> f32 {
        // SAFETY: see the impl comment.
        unsafe {
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
        }
    }
    #[inline(always)]
    fn reduce_max(self, v: __m256) -> f32 {
        // SAFETY: see the impl comment.
        unsafe {
            let s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let s = _mm_max_ps(s, _mm_movehl_ps(s, s));
            _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)))
        }
    }
    #[inline(always)]
    fn deinterleave(self, a: __m256, b: __m256) -> (__m256, __m256) {
        // SAFETY: see the impl comment. Per 128-bit lane `shuffle_ps` gives [a0 a2 b0 b2 | a4 a6
        // b4 b6]; the 64-bit permute puts the `a` pairs first.
        unsafe {
            let even = _mm256_castps_pd(_mm256_shuffle_ps::<0b10_00_10_00>(a, b));
            let odd = _mm256_castps_pd(_mm256_shuffle_ps::<0b11_01_11_01>(a, b));
            (
                _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(even)),
                _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(odd)),
            )
        }
    }
    #[inline(always)]
    fn row_zero(self) -> [__m256; ROW / 8] {
        // SAFETY: see the impl comment.
        unsafe { [_mm256_setzero_ps(); ROW / 8] }
    }
    #[inline(always)]
    fn block_zero(self) -> [__m256; BLOCK / 8] {
        // SAFETY: see the impl comment.
        unsafe { [_mm256_setzero_ps(); BLOCK / 8] }
    }
}
