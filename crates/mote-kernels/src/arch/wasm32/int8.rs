//! int8 primitives for wasm32 simd128: `i32x4.dot_i16x8_s` on operands sign-extended to 16
//! bits, and the requantization with 64-bit lane products (simd128 has no per-lane shifts, so
//! the rounding right shift multiplies by `2^(32 - e)` in 64 bits and keeps the high half).

use crate::fast::int8::kernels::{DwTaps, NR, Q8, Rq, add_right, add_stage, check_elem};
use crate::reference::int8::{AddParams, MulParams};
use core::arch::wasm32::*;

/// Token for the simd128 int8 path (the module was compiled with simd128).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Simd128Q8(());

impl Simd128Q8 {
    pub(crate) fn new() -> Simd128Q8 {
        Simd128Q8(())
    }
}

impl Q8 for Simd128Q8 {
    const A_OFFSET: i32 = 0;

    fn add(self, p: &AddParams, a: &[i8], b: &[i8], y: &mut [i8]) -> usize {
        let bcast = check_elem(a, b, y);
        let ls = p.left_shift as i32;
        let sa = Rq4::splat(-p.a_zp, p.a_mult.0, ls, add_right(p.a_mult.1));
        let sb = Rq4::splat(-p.b_zp, p.b_mult.0, ls, add_right(p.b_mult.1));
        let sy = Rq4::splat(0, p.y_mult.0, 0, add_right(p.y_mult.1));
        let (zp, lo, hi) = (i32x4_splat(p.y_zp), i32x4_splat(p.lo), i32x4_splat(p.hi));
        let bc = i32x4_splat(add_stage(b[0], p.b_zp, p.left_shift, p.b_mult));
        let n = y.len() / 16 * 16;
        for i in (0..n).step_by(16) {
            // SAFETY: simd128 is enabled; `i + 16 <= n` is within `a`, `y` and (unless
            // broadcast) `b` (`check_elem`).
            let (av, bv) = unsafe {
                (
                    widen16(v128_load(a.as_ptr().add(i).cast())),
                    (!bcast).then(|| widen16(v128_load(b.as_ptr().add(i).cast()))),
                )
            };
            let v = core::array::from_fn(|q| {
                let tb = bv.map_or(bc, |bv| mbqm4(bv[q], &sb));
                mbqm4(i32x4_add(mbqm4(av[q], &sa), tb), &sy)
            });
            // SAFETY: as above.
            unsafe { v128_store(y.as_mut_ptr().add(i).cast(), finish16(v, zp, lo, hi)) };
        }
        n
    }

    fn mul(self, p: &MulParams, a: &[i8], b: &[i8], y: &mut [i8]) -> usize {
        let bcast = check_elem(a, b, y);
        let (m0, shift) = p.mult;
        let s = Rq4::splat(0, m0, shift.clamp(0, 31), (-shift).clamp(0, 31) as u32);
        let (azp, bzp) = (i32x4_splat(p.a_zp), i32x4_splat(p.b_zp));
        let (zp, lo, hi) = (i32x4_splat(p.y_zp), i32x4_splat(p.lo), i32x4_splat(p.hi));
        let bc = i32x4_splat(b[0] as i32 - p.b_zp);
        let n = y.len() / 16 * 16;
        for i in (0..n).step_by(16) {
            // SAFETY: as in `add`.
            let (av, bv) = unsafe {
                (
                    widen16(v128_load(a.as_ptr().add(i).cast())),
                    (!bcast).then(|| widen16(v128_load(b.as_ptr().add(i).cast()))),
                )
            };
            // |a - a_zp|, |b - b_zp| <= 255: the product is exact.
            let v = core::array::from_fn(|q| {
                let bq = bv.map_or(bc, |bv| i32x4_sub(bv[q], bzp));
                mbqm4(i32x4_mul(i32x4_sub(av[q], azp), bq), &s)
            });
            // SAFETY: as above.
            unsafe { v128_store(y.as_mut_ptr().add(i).cast(), finish16(v, zp, lo, hi)) };
        }
        n
    }

    fn gemm_panel(self, a: &[i8], stride: usize, rows: usize, k4: usize, b: &[u8], acc: &mut [i32]) {
        assert!(rows == 0 || (rows - 1) * stride + 4 * k4 <= a.len());
        assert!(b.len() >= k4 * 4 * NR && acc.len() >= rows * NR);
        // SAFETY: simd128 is enabled at compile time (this module exists only then); every read
        // is within a row's `4 * k4` bytes or the panel's `64 * k4`, every store within
        // `rows * NR` accumulators (checked just above).
        unsafe {
            let (a, b, acc) = (a.as_ptr(), b.as_ptr(), acc.as_mut_ptr());
            let mut r0 = 0;
            while r0 < rows {
                let rr = 2.min(rows - r0);
                let p = [a.add(r0 * stride), a.add((r0 + rr - 1) * stride)];
                let mut c = [[i32x4_splat(0); 8]; 2];
                for kb in 0..k4 {
                    let bq: [v128; 4] = core::array::from_fn(|q| v128_load(b.add(kb * 64 + 16 * q).cast()));
                    for i in 0..2 {
                        let av = i16x8_extend_low_i8x16(v128_load32_splat(p[i].add(kb * 4).cast()));
                        for q in 0..4 {
                            let (lo, hi) = (i16x8_extend_low_i8x16(bq[q]), i16x8_extend_high_i8x16(bq[q]));
                            c[i][2 * q] = i32x4_add(c[i][2 * q], i32x4_dot_i16x8(lo, av));
                            c[i][2 * q + 1] = i32x4_add(c[i][2 * q + 1], i32x4_dot_i16x8(hi, av));
                        }
                    }
                }
                for (i, ci) in c.iter().enumerate().take(rr) {
                    for q in 0..4 {
                        let (x, y) = (ci[2 * q], ci[2 * q + 1]);
                        let sum = i32x4_add(i32x4_shuffle::<0, 2, 4, 6>(x, y), i32x4_shuffle::<1, 3, 5, 7>(x, y));
                        v128_store(acc.add((r0 + i) * NR + 4 * q).cast(), sum);
                    }
                }
                r0 += 2;
            }
        }
    }

    fn requant_panel(self, acc: &[i32], rows: usize, rq: &Rq<'_>, y: &mut [i8], ys: usize) {
        assert!(acc.len() >= rows * NR && rq.cb.len() >= NR && rq.mult.len() >= NR && rq.shift.len() >= NR);
        assert!(rows == 0 || (rows - 1) * ys + NR <= y.len());
        let p: [Rq4; 4] = core::array::from_fn(|q| Rq4::new(rq, 4 * q));
        let (zp, lo, hi) = (i32x4_splat(rq.zp), i32x4_splat(rq.lo), i32x4_splat(rq.hi));
        for r in 0..rows {
            // SAFETY: simd128 is enabled; `r * NR + 16 <= acc.len()` and `r * ys + 16 <= y.len()`
            // (checked above).
            unsafe {
                let v = core::array::from_fn(|q| mbqm4(v128_load(acc.as_ptr().add(r * NR + 4 * q).cast()), &p[q]));
                v128_store(y.as_mut_ptr().add(r * ys).cast(), finish16(v, zp, lo, hi));
            }
        }
    }

    fn dw_pixel(self, x: &[i8], c: usize, t: &DwTaps, w: &[i8], blocks: usize, zp: i32, rq: &Rq<'_>, y: &mut [i8]) {
        let n = 16 * blocks;
        assert!(n <= c && y.len() >= n && rq.cb.len() >= n && rq.mult.len() >= n && rq.shift.len() >= n);
        assert!(t.npix == 0 || (t.npix - 1) * c + n <= y.len());
        if t.ny > 0 && t.nx > 0 && t.npix > 0 {
            assert!(t.x0 + (t.npix - 1) * t.x_px + (t.ny - 1) * t.x_dy + (t.nx - 1) * t.x_dx + n <= x.len());
            assert!((t.t0 + (t.ny - 1) * t.t_dy + t.nx - 1) * c + n <= w.len());
        }
        let zpv = i16x8_splat(zp as i16);
        let (zo, lo, hi) = (i32x4_splat(rq.zp), i32x4_splat(rq.lo), i32x4_splat(rq.hi));
        for blk in 0..blocks {
            let ch = 16 * blk;
            let p: [Rq4; 4] = core::array::from_fn(|q| Rq4::new(rq, ch + 4 * q));
            for px in 0..t.npix {
                let xb = t.x0 + px * t.x_px + ch;
                let mut a = [i32x4_splat(0); 4];
                for i in 0..t.ny {
                    for j in 0..t.nx {
                        // SAFETY: simd128 is enabled; the offsets grow with the pixel and tap
                        // indices, so the last one's bounds (checked above) bound these reads.
                        let (xv, wv) = unsafe {
                            (
                                v128_load(x.as_ptr().add(xb + i * t.x_dy + j * t.x_dx).cast()),
                                v128_load(w.as_ptr().add((t.t0 + i * t.t_dy + j) * c + ch).cast()),
                            )
                        };
                        let x0 = i16x8_sub(i16x8_extend_low_i8x16(xv), zpv);
                        let x1 = i16x8_sub(i16x8_extend_high_i8x16(xv), zpv);
                        let (w0, w1) = (i16x8_extend_low_i8x16(wv), i16x8_extend_high_i8x16(wv));
                        a[0] = i32x4_add(a[0], i32x4_extmul_low_i16x8(x0, w0));
                        a[1] = i32x4_add(a[1], i32x4_extmul_high_i16x8(x0, w0));
                        a[2] = i32x4_add(a[2], i32x4_extmul_low_i16x8(x1, w1));
                        a[3] = i32x4_add(a[3], i32x4_extmul_high_i16x8(x1, w1));
                    }
                }
                let v = core::array::from_fn(|q| mbqm4(a[q], &p[q]));
                // SAFETY: simd128 is enabled; `px * c + ch + 16 <= y.len()` (checked above).
                unsafe { v128_store(y.as_mut_ptr().add(px * c + ch).cast(), finish16(v, zo, lo, hi)) };
            }
        }
    }
}

/// Requantization constants of 4 channels.
#[derive(Clone, Copy)]
struct Rq4 {
    cb: v128,
    mult: v128,
    /// `2^left` (the wrapping left shift as a multiply).
    left: v128,
    /// `2^(32 - right)` as two i64x2 halves, and the remainder mask `2^right - 1`.
    pow_lo: v128,
    pow_hi: v128,
    mask: v128,
}

impl Rq4 {
    /// The same constants in every lane: the wrapping left shift `left` (`0..=31`) and the
    /// rounding right shift `right` (`0..=31`).
    fn splat(cb: i32, mult: i32, left: i32, right: u32) -> Rq4 {
        let pow = 1i64 << (32 - right);
        Rq4 {
            cb: i32x4_splat(cb),
            mult: i32x4_splat(mult),
            left: i32x4_splat(1i32.wrapping_shl(left as u32)),
            pow_lo: i64x2_splat(pow),
            pow_hi: i64x2_splat(pow),
            mask: i32x4_splat(((1i64 << right) - 1) as i32),
        }
    }

    /// Channels `j..j + 4` of `rq` (the caller checked the lengths).
    fn new(rq: &Rq<'_>, j: usize) -> Rq4 {
        let s: [i32; 4] = core::array::from_fn(|i| rq.shift[j + i]);
        let left = s.map(|s| 1i32.wrapping_shl(s.clamp(0, 31) as u32));
        let right = s.map(|s| (-(s as i64)).clamp(0, 31) as u32);
        let pow = right.map(|r| 1i64 << (32 - r));
        let mask = right.map(|r| ((1i64 << r) - 1) as i32);
        Rq4 {
            cb: i32x4(rq.cb[j], rq.cb[j + 1], rq.cb[j + 2], rq.cb[j + 3]),
            mult: i32x4(rq.mult[j], rq.mult[j + 1], rq.mult[j + 2], rq.mult[j + 3]),
            left: i32x4(left[0], left[1], left[2], left[3]),
            pow_lo: i64x2(pow[0], pow[1]),
            pow_hi: i64x2(pow[2], pow[3]),
            mask: i32x4(mask[0], mask[1], mask[2], mask[3]),
        }
    }
}

/// `multiply_by_quantized_multiplier(acc + cb, mult, shift)` lane-wise, bit-exact: the
/// wrapping left shift, `floor((x m + 2^30) / 2^31)` (gemmlowp's nudge-and-truncate) with its one
/// saturation, and the rounding right shift with ties away from zero.
#[inline(always)]
fn mbqm4(acc: v128, p: &Rq4) -> v128 {
    let x = i32x4_mul(i32x4_add(acc, p.cb), p.left);
    let nudge = i64x2_splat(1 << 30);
    let lo = i64x2_shr(i64x2_add(i64x2_extmul_low_i32x4(x, p.mult), nudge), 31);
    let hi = i64x2_shr(i64x2_add(i64x2_extmul_high_i32x4(x, p.mult), nudge), 31);
    let h = i32x4_shuffle::<0, 2, 4, 6>(lo, hi);
    // i32::MIN only comes from i32::MIN * i32::MIN, which saturates to i32::MAX.
    let h = v128_xor(h, i32x4_eq(h, i32x4_splat(i32::MIN)));
    // floor(h / 2^right) = (h * 2^(32 - right)) >> 32 in 64 bits.
    let flo = i64x2_shr(i64x2_mul(i64x2_extend_low_i32x4(h), p.pow_lo), 32);
    let fhi = i64x2_shr(i64x2_mul(i64x2_extend_high_i32x4(h), p.pow_hi), 32);
    let floor = i32x4_shuffle::<0, 2, 4, 6>(flo, fhi);
    let rem = v128_and(h, p.mask);
    let thr = i32x4_sub(i32x4_shr(p.mask, 1), i32x4_lt(h, i32x4_splat(0)));
    i32x4_sub(floor, i32x4_gt(rem, thr))
}

/// 16 requantized channels as bytes: `+ zp`, clamp, and the low byte of each lane (`as i8`).
#[inline(always)]
fn finish16(v: [v128; 4], zp: v128, lo: v128, hi: v128) -> v128 {
    let f = |v| i32x4_min(i32x4_max(i32x4_add(v, zp), lo), hi);
    let a = i8x16_shuffle::<0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0>(f(v[0]), f(v[1]));
    let b = i8x16_shuffle::<0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0>(f(v[2]), f(v[3]));
    i64x2_shuffle::<0, 2>(a, b)
}

/// 16 bytes as four vectors of sign-extended i32 lanes.
#[inline(always)]
fn widen16(v: v128) -> [v128; 4] {
    let (l, h) = (i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v));
    [i32x4_extend_low_i16x8(l), i32x4_extend_high_i16x8(l), i32x4_extend_low_i16x8(h), i32x4_extend_high_i16x8(h)]
}
