//! `Simd` for wasm simd128: 4 lanes, no fused multiply-add (relaxed-simd is not assumed).

use crate::fast::simd::{BLOCK, ROW, Simd};
use core::arch::wasm32::*;

/// Token for simd128: this module is compiled only with `target_feature = "simd128"`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Simd128(());

impl Simd128 {
    #[inline(always)]
    pub(crate) fn new() -> Simd128 {
        Simd128(())
    }
}

// The arithmetic intrinsics are safe functions under `target_feature = "simd128"`; only the
// pointer loads and stores need `unsafe`.
impl Simd for Simd128 {
    const LANES: usize = 4;
    type V = v128;
    type Row = [v128; ROW / 4];
    type Block = [v128; BLOCK / 4];

    #[inline(always)]
    fn splat(self, x: f32) -> v128 {
        f32x4_splat(x)
    }
    #[inline(always)]
    fn load(self, x: &[f32]) -> v128 {
        let x = &x[..4];
        // SAFETY: 16 bytes are readable at `x` (length checked above); `v128_load` has no
        // alignment requirement.
        unsafe { v128_load(x.as_ptr().cast()) }
    }
    #[inline(always)]
    fn store(self, x: &mut [f32], v: v128) {
        let x = &mut x[..4];
        // SAFETY: 16 bytes are writable at `x` (length checked above); no alignment needed.
        unsafe { v128_store(x.as_mut_ptr().cast(), v) }
    }
    #[inline(always)]
    fn add(self, a: v128, b: v128) -> v128 {
        f32x4_add(a, b)
    }
    #[inline(always)]
    fn sub(self, a: v128, b: v128) -> v128 {
        f32x4_sub(a, b)
    }
    #[inline(always)]
    fn mul(self, a: v128, b: v128) -> v128 {
        f32x4_mul(a, b)
    }
    #[inline(always)]
    fn div(self, a: v128, b: v128) -> v128 {
        f32x4_div(a, b)
    }
    #[inline(always)]
    fn mul_add(self, a: v128, b: v128, c: v128) -> v128 {
        f32x4_add(f32x4_mul(a, b), c)
    }
    #[inline(always)]
    fn min(self, a: v128, b: v128) -> v128 {
        // `pmin(b, a)` is `a < b ? a : b`.
        f32x4_pmin(b, a)
    }
    #[inline(always)]
    fn max(self, a: v128, b: v128) -> v128 {
        // `pmax(b, a)` is `b < a ? a : b`.
        f32x4_pmax(b, a)
    }
    #[inline(always)]
    fn lt_select(self, a: v128, b: v128, x: v128, y: v128) -> v128 {
        // `f32x4_lt` is false (so `y`) when either is NaN.
        v128_bitselect(x, y, f32x4_lt(a, b))
    }
    #[inline(always)]
    fn pow2i(self, n: v128) -> v128 {
        let i = i32x4_add(i32x4_trunc_sat_f32x4(n), i32x4_splat(127));
        i32x4_shl(i, 23)
    }
    #[inline(always)]
    fn reduce_add(self, v: v128) -> f32 {
        (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
            + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
    }
    #[inline(always)]
    fn reduce_max(self, v: v128) -> f32 {
        let m = self.max(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
        let m = self.max(m, i32x4_shuffle::<1, 0, 3, 2>(m, m));
        f32x4_extract_lane::<0>(m)
    }
    #[inline(always)]
    fn deinterleave(self, a: v128, b: v128) -> (v128, v128) {
        (i32x4_shuffle::<0, 2, 4, 6>(a, b), i32x4_shuffle::<1, 3, 5, 7>(a, b))
    }
    #[inline(always)]
    fn row_zero(self) -> [v128; ROW / 4] {
        [f32x4_splat(0.0); ROW / 4]
    }
    #[inline(always)]
    fn block_zero(self) -> [v128; BLOCK / 4] {
        [f32x4_splat(0.0); BLOCK / 4]
    }
}
