//! int8 primitives for aarch64: NEON (`smull` + `sadalp`, exact in 16 then 32 bits) and NEON
//! with the dot-product extension (`sdot`, emitted with `asm!` as its intrinsics are not stable).
//! Both share the NEON requantization (`sqrdmulh` is gemmlowp's high multiply, bit for bit) and
//! the depthwise code.

use crate::fast::cpu::{Cpu, Q8Path};
use crate::fast::int8::kernels::{DwTaps, NR, Q8, Rq, add_right, add_stage, check_elem};
use crate::reference::int8::{AddParams, MulParams};
use core::arch::aarch64::*;

/// Token for the NEON int8 path (NEON is part of the aarch64 base architecture).
#[derive(Clone, Copy, Debug)]
pub(crate) struct NeonQ8(());

impl NeonQ8 {
    pub(crate) fn new() -> NeonQ8 {
        NeonQ8(())
    }
}

/// Token for the `sdot` int8 path: exists only when the CPU has the dot-product extension.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DotQ8(());

impl DotQ8 {
    /// Panics unless `cpu` names [`Q8Path::NeonDot`].
    pub(crate) fn new(cpu: Cpu) -> DotQ8 {
        assert_eq!(cpu.q8(), Q8Path::NeonDot);
        DotQ8(())
    }
}

/// Checks the slice bounds every `gemm_panel` relies on.
fn check_gemm(a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &[i32]) {
    assert!(rows == 0 || (rows - 1) * stride + 4 * k4 <= a.len());
    assert!(b.len() >= k4 * 4 * NR && acc.len() >= rows * NR);
}

impl Q8 for NeonQ8 {
    const A_OFFSET: i32 = 0;

    fn gemm_panel(self, a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32]) {
        check_gemm(a, stride, rows, k4, b, acc);
        // SAFETY: NEON is always available; the bounds were checked just above.
        unsafe { gemm_neon(a.as_ptr(), stride, rows, k4, b.as_ptr(), acc.as_mut_ptr()) }
    }

    fn requant_panel(self, acc: &[i32], rows: usize, rq: &Rq<'_>, y: &mut [i8], ys: usize) {
        requant_panel(acc, rows, rq, y, ys)
    }

    fn dw_pixel(self, x: &[i8], c: usize, t: &DwTaps, w: &[i8], blocks: usize, zp: i32, rq: &Rq<'_>, y: &mut [i8]) {
        dw_pixel(x, c, t, w, blocks, zp, rq, y)
    }

    fn add(self, p: &AddParams, a: &[i8], b: &[i8], y: &mut [i8]) -> usize {
        add_neon(p, a, b, y)
    }

    fn mul(self, p: &MulParams, a: &[i8], b: &[i8], y: &mut [i8]) -> usize {
        mul_neon(p, a, b, y)
    }
}

impl Q8 for DotQ8 {
    const A_OFFSET: i32 = 0;

    unsafe fn sparse_blocks(self, xt: &[i32], cols: &[u32], w: &[i32], acc: &mut [i32], rows: usize) {
        assert!(acc.len() >= 64 && w.len() == cols.len() && rows <= 64);
        let (xt, acc) = (xt.as_ptr(), acc.as_mut_ptr());
        // SAFETY: the token proves the dot-product extension; lengths checked just above, the
        // columns by the caller.
        unsafe {
            match rows.div_ceil(16) {
                0 => {}
                1 => sparse_blocks_dot::<1>(xt, cols, w, acc),
                2 => sparse_blocks_dot::<2>(xt, cols, w, acc),
                3 => sparse_blocks_dot::<3>(xt, cols, w, acc),
                _ => sparse_blocks_dot::<4>(xt, cols, w, acc),
            }
        }
    }

    fn gemm_panel(self, a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32]) {
        check_gemm(a, stride, rows, k4, b, acc);
        // SAFETY: the token proves the dot-product extension; bounds checked just above.
        unsafe { gemm_dot(a.as_ptr(), stride, rows, k4, b.as_ptr(), acc.as_mut_ptr()) }
    }

    fn requant_panel(self, acc: &[i32], rows: usize, rq: &Rq<'_>, y: &mut [i8], ys: usize) {
        requant_panel(acc, rows, rq, y, ys)
    }

    fn dw_pixel(self, x: &[i8], c: usize, t: &DwTaps, w: &[i8], blocks: usize, zp: i32, rq: &Rq<'_>, y: &mut [i8]) {
        dw_pixel(x, c, t, w, blocks, zp, rq, y)
    }

    fn add(self, p: &AddParams, a: &[i8], b: &[i8], y: &mut [i8]) -> usize {
        add_neon(p, a, b, y)
    }

    fn mul(self, p: &MulParams, a: &[i8], b: &[i8], y: &mut [i8]) -> usize {
        mul_neon(p, a, b, y)
    }
}

/// NEON `gemm_panel`, two rows at a time: each 16-byte weight vector (4 channels x 4 deep) is
/// multiplied by the row's 4 bytes repeated (`smull`, exact in 16 bits) and pairwise
/// accumulated into 32 bits (`sadalp`); the pairs are added at the end.
///
/// # Safety
/// The bounds of `check_gemm` hold.
unsafe fn gemm_neon(a: *const i8, stride: usize, rows: usize, k4: usize, b: *const u8, acc: *mut i32) {
    // SAFETY (whole body): NEON is always available; every read is within a row's `4 * k4`
    // bytes or the panel's `64 * k4`, every store within `rows * NR` accumulators.
    unsafe {
        let mut r0 = 0;
        while r0 < rows {
            let rr = 2.min(rows - r0);
            let p = [a.add(r0 * stride), a.add((r0 + rr - 1) * stride)];
            let mut c = [[vdupq_n_s32(0); 8]; 2];
            for kb in 0..k4 {
                let bq: [int8x16_t; 4] = core::array::from_fn(|q| vld1q_s8(b.add(kb * 64 + 16 * q).cast()));
                for i in 0..2 {
                    let av = vreinterpretq_s8_s32(vld1q_dup_s32(p[i].add(kb * 4).cast()));
                    for q in 0..4 {
                        c[i][2 * q] = vpadalq_s16(c[i][2 * q], vmull_s8(vget_low_s8(bq[q]), vget_low_s8(av)));
                        c[i][2 * q + 1] = vpadalq_s16(c[i][2 * q + 1], vmull_high_s8(bq[q], av));
                    }
                }
            }
            for (i, ci) in c.iter().enumerate().take(rr) {
                for q in 0..4 {
                    vst1q_s32(acc.add((r0 + i) * NR + 4 * q), vpaddq_s32(ci[2 * q], ci[2 * q + 1]));
                }
            }
            r0 += 2;
        }
    }
}

/// `acc += sdot(b, a)`: per 32-bit lane, the dot product of four signed bytes.
///
/// # Safety
/// The CPU has the dot-product extension.
#[inline(always)]
unsafe fn sdot(mut acc: int32x4_t, b: int8x16_t, a: int8x16_t) -> int32x4_t {
    // SAFETY: the caller guarantees `sdot` exists; register-only instruction.
    unsafe {
        core::arch::asm!("sdot {acc:v}.4s, {b:v}.16b, {a:v}.16b", acc = inout(vreg) acc, b = in(vreg) b, a = in(vreg) a,
            options(pure, nomem, nostack, preserves_flags));
    }
    acc
}

/// `sdot` `gemm_panel`: 4 rows x 16 channels, the row's 4 bytes broadcast to every lane.
///
/// # Safety
/// The CPU has the dot-product extension; the bounds of `check_gemm` hold.
#[target_feature(enable = "dotprod")]
unsafe fn gemm_dot(a: *const i8, stride: usize, rows: usize, k4: usize, b: *const u8, acc: *mut i32) {
    // SAFETY (whole body): as in `gemm_neon`, with `sdot` available (caller).
    unsafe {
        let mut r0 = 0;
        while r0 < rows {
            let rr = 4.min(rows - r0);
            let p: [*const i8; 4] = core::array::from_fn(|i| a.add((r0 + i.min(rr - 1)) * stride));
            let mut c = [[vdupq_n_s32(0); 4]; 4];
            for kb in 0..k4 {
                let bq: [int8x16_t; 4] = core::array::from_fn(|q| vld1q_s8(b.add(kb * 64 + 16 * q).cast()));
                for i in 0..4 {
                    let av = vreinterpretq_s8_s32(vld1q_dup_s32(p[i].add(kb * 4).cast()));
                    for q in 0..4 {
                        c[i][q] = sdot(c[i][q], bq[q], av);
                    }
                }
            }
            for (i, ci) in c.iter().enumerate().take(rr) {
                for (q, v) in ci.iter().enumerate() {
                    vst1q_s32(acc.add((r0 + i) * NR + 4 * q), *v);
                }
            }
            r0 += 4;
        }
    }
}

/// The block-sparse product's inner loop (`fast::int8::sparse`) with `sdot`: `acc[r] = Σ_b
/// dot4(xt[cols[b] * 64 + r], w[b])` for `r < 16 * G`, four rows per register.
///
/// # Safety
/// The CPU has the dot-product extension; `acc` holds `16 * G` values; every `cols[b]` has its
/// 64 words in `xt`; `w` has `cols.len()` values; `G <= 4`.
#[target_feature(enable = "dotprod")]
unsafe fn sparse_blocks_dot<const G: usize>(xt: *const i32, cols: &[u32], w: &[i32], acc: *mut i32) {
    // SAFETY (whole body): caller (features, bounds).
    unsafe {
        let mut a = [vdupq_n_s32(0); 16];
        for (&j, &wv) in cols.iter().zip(w) {
            let wq = vreinterpretq_s8_s32(vdupq_n_s32(wv));
            let col = xt.add(j as usize * 64);
            for q in 0..4 * G {
                a[q] = sdot(a[q], vreinterpretq_s8_s32(vld1q_s32(col.add(4 * q))), wq);
            }
        }
        for (q, v) in a.iter().enumerate().take(4 * G) {
            vst1q_s32(acc.add(4 * q), *v);
        }
    }
}

/// Requantization constants of 4 channels.
#[derive(Clone, Copy)]
struct Rq4 {
    cb: int32x4_t,
    mult: int32x4_t,
    left: int32x4_t,
    neg_right: int32x4_t,
}

/// Loads channels `j..j + 4` of `rq`.
///
/// # Safety
/// `rq`'s slices hold at least `j + 4` values.
#[inline(always)]
unsafe fn rq4(rq: &Rq<'_>, j: usize) -> Rq4 {
    // SAFETY: caller (lengths); NEON is always available.
    unsafe {
        let shift = vld1q_s32(rq.shift.as_ptr().add(j));
        let (zero, max) = (vdupq_n_s32(0), vdupq_n_s32(31));
        Rq4 {
            cb: vld1q_s32(rq.cb.as_ptr().add(j)),
            mult: vld1q_s32(rq.mult.as_ptr().add(j)),
            left: vminq_s32(vmaxq_s32(shift, zero), max),
            neg_right: vnegq_s32(vminq_s32(vmaxq_s32(vnegq_s32(shift), zero), max)),
        }
    }
}

/// `multiply_by_quantized_multiplier(acc + cb, mult, shift)` lane-wise, bit-exact: wrapping
/// left shift, `sqrdmulh` (gemmlowp's saturating rounding doubling high multiply), and the
/// rounding right shift with ties away from zero (`srshl` after subtracting 1 from negatives).
#[inline(always)]
fn mbqm4(acc: int32x4_t, p: &Rq4) -> int32x4_t {
    // SAFETY: NEON is always available; register-only operations.
    unsafe {
        // `vnegq_s32(i32::MIN)` is i32::MIN (shift 31 after the clamp), still negative.
        let x = vshlq_s32(vaddq_s32(acc, p.cb), p.left);
        let h = vqrdmulhq_s32(x, p.mult);
        let fixup = vshrq_n_s32::<31>(vandq_s32(h, p.neg_right));
        vrshlq_s32(vqaddq_s32(h, fixup), p.neg_right)
    }
}

/// 16 requantized channels as bytes: `+ zp`, clamp, and the low byte of each lane (`as i8`).
#[inline(always)]
fn finish16(v: [int32x4_t; 4], zp: int32x4_t, lo: int32x4_t, hi: int32x4_t) -> int8x16_t {
    // SAFETY: NEON is always available; register-only operations.
    unsafe {
        let f = |v| vminq_s32(vmaxq_s32(vaddq_s32(v, zp), lo), hi);
        let h0 = vcombine_s16(vmovn_s32(f(v[0])), vmovn_s32(f(v[1])));
        let h1 = vcombine_s16(vmovn_s32(f(v[2])), vmovn_s32(f(v[3])));
        vcombine_s8(vmovn_s16(h0), vmovn_s16(h1))
    }
}

fn requant_panel(acc: &[i32], rows: usize, rq: &Rq<'_>, y: &mut [i8], ys: usize) {
    assert!(acc.len() >= rows * NR && rq.cb.len() >= NR && rq.mult.len() >= NR && rq.shift.len() >= NR);
    assert!(rows == 0 || (rows - 1) * ys + NR <= y.len());
    // SAFETY: bounds checked just above; NEON is always available.
    unsafe {
        let p: [Rq4; 4] = core::array::from_fn(|q| rq4(rq, 4 * q));
        let (zp, lo, hi) = (vdupq_n_s32(rq.zp), vdupq_n_s32(rq.lo), vdupq_n_s32(rq.hi));
        for r in 0..rows {
            let v = core::array::from_fn(|q| mbqm4(vld1q_s32(acc.as_ptr().add(r * NR + 4 * q)), &p[q]));
            vst1q_s8(y.as_mut_ptr().add(r * ys), finish16(v, zp, lo, hi));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn dw_pixel(x: &[i8], c: usize, t: &DwTaps, w: &[i8], blocks: usize, zp: i32, rq: &Rq<'_>, y: &mut [i8]) {
    let n = 16 * blocks;
    assert!(n <= c && y.len() >= n && rq.cb.len() >= n && rq.mult.len() >= n && rq.shift.len() >= n);
    assert!(t.npix == 0 || (t.npix - 1) * c + n <= y.len());
    if t.ny > 0 && t.nx > 0 && t.npix > 0 {
        assert!(t.x0 + (t.npix - 1) * t.x_px + (t.ny - 1) * t.x_dy + (t.nx - 1) * t.x_dx + n <= x.len());
        assert!((t.t0 + (t.ny - 1) * t.t_dy + t.nx - 1) * c + n <= w.len());
    }
    // SAFETY: bounds checked just above (offsets grow with the tap indices, so the last tap
    // bounds them all); NEON is always available.
    unsafe {
        let zpv = vdup_n_s8(zp as i8);
        let (zo, lo, hi) = (vdupq_n_s32(rq.zp), vdupq_n_s32(rq.lo), vdupq_n_s32(rq.hi));
        for blk in 0..blocks {
            let ch = 16 * blk;
            let p: [Rq4; 4] = core::array::from_fn(|q| rq4(rq, ch + 4 * q));
            for px in 0..t.npix {
                let xb = x.as_ptr().add(t.x0 + px * t.x_px + ch);
                let mut a = [vdupq_n_s32(0); 4];
                for i in 0..t.ny {
                    for j in 0..t.nx {
                        let xv = vld1q_s8(xb.add(i * t.x_dy + j * t.x_dx));
                        let wv = vld1q_s8(w.as_ptr().add((t.t0 + i * t.t_dy + j) * c + ch));
                        let (x0, x1) = (vsubl_s8(vget_low_s8(xv), zpv), vsubl_high_s8(xv, vcombine_s8(zpv, zpv)));
                        let (w0, w1) = (vmovl_s8(vget_low_s8(wv)), vmovl_high_s8(wv));
                        a[0] = vmlal_s16(a[0], vget_low_s16(x0), vget_low_s16(w0));
                        a[1] = vmlal_high_s16(a[1], x0, w0);
                        a[2] = vmlal_s16(a[2], vget_low_s16(x1), vget_low_s16(w1));
                        a[3] = vmlal_high_s16(a[3], x1, w1);
                    }
                }
                let v = core::array::from_fn(|q| mbqm4(a[q], &p[q]));
                vst1q_s8(y.as_mut_ptr().add(px * c + ch), finish16(v, zo, lo, hi));
            }
        }
    }
}

/// The same requantization constants in every lane (`right` the right shift, `>= 0`).
#[inline(always)]
fn rq4_splat(cb: i32, mult: i32, left: i32, right: i32) -> Rq4 {
    // SAFETY: NEON is always available; register-only operations.
    unsafe {
        Rq4 { cb: vdupq_n_s32(cb), mult: vdupq_n_s32(mult), left: vdupq_n_s32(left), neg_right: vdupq_n_s32(-right) }
    }
}

/// 16 bytes as four vectors of sign-extended i32 lanes.
#[inline(always)]
fn widen16(v: int8x16_t) -> [int32x4_t; 4] {
    // SAFETY: NEON is always available; register-only operations.
    unsafe {
        let (l, h) = (vmovl_s8(vget_low_s8(v)), vmovl_high_s8(v));
        [vmovl_s16(vget_low_s16(l)), vmovl_high_s16(l), vmovl_s16(vget_low_s16(h)), vmovl_high_s16(h)]
    }
}

/// int8 Add of the first `len / 16 * 16` elements: each input offset, shifted and scaled
/// lane-wise ([`mbqm4`] without a multiplier left shift), summed, rescaled.
fn add_neon(p: &AddParams, a: &[i8], b: &[i8], y: &mut [i8]) -> usize {
    let bcast = check_elem(a, b, y);
    let ls = p.left_shift as i32;
    let sa = rq4_splat(-p.a_zp, p.a_mult.0, ls, add_right(p.a_mult.1) as i32);
    let sb = rq4_splat(-p.b_zp, p.b_mult.0, ls, add_right(p.b_mult.1) as i32);
    let sy = rq4_splat(0, p.y_mult.0, 0, add_right(p.y_mult.1) as i32);
    let n = y.len() / 16 * 16;
    // SAFETY: NEON is always available; every access is below `i + 16 <= n <= y.len()`, the
    // length of `a`, `y` and (unless broadcast) `b` (`check_elem`).
    unsafe {
        let (zp, lo, hi) = (vdupq_n_s32(p.y_zp), vdupq_n_s32(p.lo), vdupq_n_s32(p.hi));
        let bc = vdupq_n_s32(add_stage(b[0], p.b_zp, p.left_shift, p.b_mult));
        for i in (0..n).step_by(16) {
            let av = widen16(vld1q_s8(a.as_ptr().add(i)));
            let bv = if bcast { [bc; 4] } else { widen16(vld1q_s8(b.as_ptr().add(i))) };
            let v = core::array::from_fn(|q| {
                let tb = if bcast { bv[q] } else { mbqm4(bv[q], &sb) };
                mbqm4(vaddq_s32(mbqm4(av[q], &sa), tb), &sy)
            });
            vst1q_s8(y.as_mut_ptr().add(i), finish16(v, zp, lo, hi));
        }
    }
    n
}

/// int8 Mul of the first `len / 16 * 16` elements: the exact product of the offset inputs
/// requantized by [`mbqm4`].
fn mul_neon(p: &MulParams, a: &[i8], b: &[i8], y: &mut [i8]) -> usize {
    let bcast = check_elem(a, b, y);
    let (m0, shift) = p.mult;
    let s = rq4_splat(0, m0, shift.clamp(0, 31), (-shift).clamp(0, 31));
    let n = y.len() / 16 * 16;
    // SAFETY: as in `add_neon`.
    unsafe {
        let (azp, bzp) = (vdupq_n_s32(p.a_zp), vdupq_n_s32(p.b_zp));
        let (zp, lo, hi) = (vdupq_n_s32(p.y_zp), vdupq_n_s32(p.lo), vdupq_n_s32(p.hi));
        let bc = vdupq_n_s32(b[0] as i32 - p.b_zp);
        for i in (0..n).step_by(16) {
            let av = widen16(vld1q_s8(a.as_ptr().add(i)));
            let bv = if bcast { [bc; 4] } else { widen16(vld1q_s8(b.as_ptr().add(i))) };
            // |a - a_zp|, |b - b_zp| <= 255: the product is exact.
            let v = core::array::from_fn(|q| {
                let bq = if bcast { bv[q] } else { vsubq_s32(bv[q], bzp) };
                mbqm4(vmulq_s32(vsubq_s32(av[q], azp), bq), &s)
            });
            vst1q_s8(y.as_mut_ptr().add(i), finish16(v, zp, lo, hi));
        }
    }
    n
}
