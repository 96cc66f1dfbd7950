//! `Simd` for NEON: 4 lanes, fused multiply-add.

use crate::fast::simd::{BLOCK, ROW, Simd};
use core::arch::aarch64::*;

/// Token for NEON (every aarch64 CPU has it, and the `neon` feature is on for every aarch64
/// target Rust supports).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Neon(());

impl Neon {
    #[inline(always)]
    pub(crate) fn new() -> Neon {
        Neon(())
    }
}

// SAFETY (for every `unsafe` block below): NEON is part of the aarch64 base architecture, so the
// intrinsics are available; loads and stores touch the first 4 floats of a slice whose length
// was checked just before.
impl Simd for Neon {
    const LANES: usize = 4;
    type V = float32x4_t;
    type Row = [float32x4_t; ROW / 4];
    type Block = [float32x4_t; BLOCK / 4];

    #[inline(always)]
    fn splat(self, x: f32) -> float32x4_t {
        // SAFETY: see the impl comment.
        unsafe { vdupq_n_f32(x) }
    }
    #[inline(always)]
    fn load(self, x: &[f32]) -> float32x4_t {
        let x = &x[..4];
        // SAFETY: see the impl comment (4 floats readable at `x`).
        unsafe { vld1q_f32(x.as_ptr()) }
    }
    #[inline(always)]
    fn store(self, x: &mut [f32], v: float32x4_t) {
        let x = &mut x[..4];
        // SAFETY: see the impl comment (4 floats writable at `x`).
        unsafe { vst1q_f32(x.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn add(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the impl comment.
        unsafe { vaddq_f32(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the impl comment.
        unsafe { vsubq_f32(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the impl comment.
        unsafe { vmulq_f32(a, b) }
    }
    #[inline(always)]
    fn div(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the impl comment.
        unsafe { vdivq_f32(a, b) }
    }
    #[inline(always)]
    fn mul_add(self, a: float32x4_t, b: float32x4_t, c: float32x4_t) -> float32x4_t {
        // SAFETY: see the impl comment.
        unsafe { vfmaq_f32(c, a, b) }
    }
    #[inline(always)]
    fn min(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the impl comment. Compare + select keeps the trait's NaN rule (`b`).
        unsafe { vbslq_f32(vcltq_f32(a, b), a, b) }
    }
    #[inline(always)]
    fn max(self, a: float32x4_t, b: float32x4_t) -> float32x4_t {
        // SAFETY: see the impl comment. Compare + select keeps the trait's NaN rule (`b`).
        unsafe { vbslq_f32(vcgtq_f32(a, b), a, b) }
    }
    #[inline(always)]
    fn lt_select(self, a: float32x4_t, b: float32x4_t, x: float32x4_t, y: float32x4_t) -> float32x4_t {
        // SAFETY: see the impl comment. `fcmgt` is false (so `y`) when either is NaN.
        unsafe { vbslq_f32(vcltq_f32(a, b), x, y) }
    }
    #[inline(always)]
    fn pow2i(self, n: float32x4_t) -> float32x4_t {
        // SAFETY: see the impl comment.
        unsafe {
            let i = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));
            vreinterpretq_f32_s32(vshlq_n_s32::<23>(i))
        }
    }
    #[inline(always)]
    fn reduce_add(self, v: float32x4_t) -> f32 {
        // SAFETY: see the impl comment.
        unsafe { vaddvq_f32(v) }
    }
    #[inline(always)]
    fn reduce_max(self, v: float32x4_t) -> f32 {
        // SAFETY: see the impl comment.
        unsafe { vmaxvq_f32(v) }
    }
    #[inline(always)]
    fn deinterleave(self, a: float32x4_t, b: float32x4_t) -> (float32x4_t, float32x4_t) {
        // SAFETY: see the impl comment.
        unsafe { (vuzp1q_f32(a, b), vuzp2q_f32(a, b)) }
    }
    #[inline(always)]
    fn row_zero(self) -> [float32x4_t; ROW / 4] {
        // SAFETY: see the impl comment.
        unsafe { [vdupq_n_f32(0.0); ROW / 4] }
    }
    #[inline(always)]
    fn block_zero(self) -> [float32x4_t; BLOCK / 4] {
        // SAFETY: see the impl comment.
        unsafe { [vdupq_n_f32(0.0); BLOCK / 4] }
    }
}
