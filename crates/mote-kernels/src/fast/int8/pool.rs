//! The int8 pooling kernels (NHWC): average, max and the mean over H and W, equal to
//! [`crate::reference::int8`] bit for bit.
//!
//! Channels are innermost, so each output pixel is a running sum (or maximum) over its window's
//! input pixels of whole rows of channels, in blocks of [`CB`] channels held in a fixed-size
//! array: plain Rust the compiler vectorises, built with AVX2 (or AVX-512 BW on the VNNI path)
//! on x86_64. The sums are the reference's wrapping i32 sums (the same element of Z/2^32 in any
//! order); the average's rounded division is done in f64, exact for the windows it takes (at
//! most [`MAX_TAPS`] taps, see [`div_round`]); larger windows, dilated windows and an empty
//! geometry run the reference.

use crate::fast::Cpu;
#[cfg(target_arch = "x86_64")]
use crate::fast::cpu::Q8Path;
use crate::reference::fixed::multiply_by_quantized_multiplier;
use crate::reference::int8 as r;
use crate::reference::int8::Pool2d;

/// Channels per block of accumulators.
const CB: usize = 64;

/// The largest window the fast average pool takes: its sum stays far from wrapping and its
/// rounded division is exact in f64.
const MAX_TAPS: usize = 1 << 20;

/// `n / d` truncated toward zero, for `|n| < 2^30` and `0 < d <= MAX_TAPS`: the f64 quotient
/// is within `2^-23` of `n / d`, which is an integer or at least `1 / d >= 2^-20` from one, so
/// truncating it gives the integer quotient.
#[inline(always)]
fn div_round(sum: i32, count: i32) -> i32 {
    let n = if sum > 0 { sum + count / 2 } else { sum - count / 2 };
    (n as f64 / count as f64) as i32
}

/// Which kind of window reduction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Average,
    Max,
}

/// NHWC int8 average pool: equal to [`r::avg_pool`].
pub fn avg_pool(cpu: Cpu, g: &Pool2d, x: &[i8], lo: i32, hi: i32, y: &mut [i8]) {
    if !fast_ok(g, x, y) || g.kh.saturating_mul(g.kw) > MAX_TAPS {
        return r::avg_pool(g, x, lo, hi, y);
    }
    dispatch(cpu, Kind::Average, g, x, lo, hi, y)
}

/// NHWC int8 max pool: equal to [`r::max_pool`].
pub fn max_pool(cpu: Cpu, g: &Pool2d, x: &[i8], lo: i32, hi: i32, y: &mut [i8]) {
    if !fast_ok(g, x, y) {
        return r::max_pool(g, x, lo, hi, y);
    }
    dispatch(cpu, Kind::Max, g, x, lo, hi, y)
}

/// int8 mean over H and W of an NHWC tensor (`y` is `[n, c]`): equal to [`r::mean_hw`].
#[allow(clippy::too_many_arguments)]
pub fn mean_hw(
    cpu: Cpu,
    n: usize,
    hw: usize,
    c: usize,
    x: &[i8],
    x_zp: i32,
    mult: (i32, i32),
    y_zp: i32,
    y: &mut [i8],
) {
    let (Some(xl), Some(yl)) = (n.checked_mul(hw).and_then(|v| v.checked_mul(c)), n.checked_mul(c)) else {
        return r::mean_hw(n, hw, c, x, x_zp, mult, y_zp, y);
    };
    if hw == 0 || hw > i32::MAX as usize || x.len() < xl || y.len() < yl {
        return r::mean_hw(n, hw, c, x, x_zp, mult, y_zp, y);
    }
    let count = hw as i32;
    // Σ (x - zp) = Σ x - hw * zp in Z/2^32, as the reference's wrapping sum.
    let offset = count.wrapping_mul(x_zp);
    let mut sums = [0i32; CB];
    for b in 0..n {
        let xb = &x[b * hw * c..][..hw * c];
        for c0 in (0..c).step_by(CB) {
            let nc = CB.min(c - c0);
            sum_rows(cpu, xb, c, c0, nc, hw, &mut sums);
            for (j, &s) in sums[..nc].iter().enumerate() {
                let acc = multiply_by_quantized_multiplier(s.wrapping_sub(offset), mult.0, mult.1);
                let acc =
                    if acc > 0 { acc.wrapping_add(count / 2) / count } else { acc.wrapping_sub(count / 2) / count };
                y[b * c + c0 + j] = acc.wrapping_add(y_zp).clamp(-128, 127) as i8;
            }
        }
    }
}

/// The geometry the fast pools take: no dilation, slices as long as the geometry says.
fn fast_ok(g: &Pool2d, x: &[i8], y: &[i8]) -> bool {
    let len = |d: [usize; 4]| d.iter().try_fold(1usize, |a, &v| a.checked_mul(v));
    let (Some(xl), Some(yl)) = (len([g.n, g.h, g.w, g.c]), len([g.n, g.oh, g.ow, g.c])) else {
        return false;
    };
    g.dh == 1 && g.dw == 1 && g.kh > 0 && g.kw > 0 && x.len() >= xl && y.len() >= yl
}

/// Runs [`pool_body`] built for the best instruction set of `cpu`.
fn dispatch(cpu: Cpu, kind: Kind, g: &Pool2d, x: &[i8], lo: i32, hi: i32, y: &mut [i8]) {
    match cpu.q8() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `Cpu` on an x86_64 int8 path proves AVX2 (VNNI implies it).
        Q8Path::Avx2 => unsafe { x86::pool_avx2(kind, g, x, lo, hi, y) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `Cpu` on the VNNI path proves AVX-512 F, BW, DQ, VL and AVX2.
        Q8Path::Avx512Vnni => unsafe { x86::pool_avx512(kind, g, x, lo, hi, y) },
        _ => pool_body(kind, g, x, lo, hi, y),
    }
}

/// Sums channels `c0..c0 + nc` (`nc <= CB`) of `rows` consecutive pixels (`c` channels each)
/// of `x` into `sums[..nc]` (wrapping).
fn sum_rows(cpu: Cpu, x: &[i8], c: usize, c0: usize, nc: usize, rows: usize, sums: &mut [i32; CB]) {
    match cpu.q8() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `Cpu` on an x86_64 int8 path proves AVX2.
        Q8Path::Avx2 | Q8Path::Avx512Vnni => unsafe { x86::sum_rows_avx2(x, c, c0, nc, rows, sums) },
        _ => sum_rows_body(x, c, c0, nc, rows, sums),
    }
}

#[inline(always)]
fn sum_rows_body(x: &[i8], c: usize, c0: usize, nc: usize, rows: usize, sums: &mut [i32; CB]) {
    *sums = [0; CB];
    if nc == CB {
        for p in 0..rows {
            let v: &[i8; CB] = x[p * c + c0..][..CB].try_into().expect("CB channels");
            for j in 0..CB {
                sums[j] = sums[j].wrapping_add(v[j] as i32);
            }
        }
    } else {
        for p in 0..rows {
            for (s, &v) in sums[..nc].iter_mut().zip(&x[p * c + c0..][..nc]) {
                *s = s.wrapping_add(v as i32);
            }
        }
    }
}

/// The whole pool, for every output pixel and block of channels: the window's taps inside the
/// image reduced into a block of accumulators, then finished into `y`.
#[inline(always)]
fn pool_body(kind: Kind, g: &Pool2d, x: &[i8], lo: i32, hi: i32, y: &mut [i8]) {
    let c = g.c;
    for b in 0..g.n {
        for oy in 0..g.oh {
            let (iy0, iy1) = window(oy, g.sh, g.pad_top, g.kh, g.h);
            for ox in 0..g.ow {
                let (ix0, ix1) = window(ox, g.sw, g.pad_left, g.kw, g.w);
                let count = (iy1.saturating_sub(iy0) * ix1.saturating_sub(ix0)) as i32;
                let yp = &mut y[((b * g.oh + oy) * g.ow + ox) * c..][..c];
                for c0 in (0..c).step_by(CB) {
                    let nc = CB.min(c - c0);
                    let out = &mut yp[c0..c0 + nc];
                    match kind {
                        Kind::Average => {
                            let mut sums = [0i32; CB];
                            for iy in iy0..iy1 {
                                let row = &x[((b * g.h + iy) * g.w) * c..][..g.w * c];
                                for ix in ix0..ix1 {
                                    add_block(&mut sums, &row[ix * c + c0..][..nc]);
                                }
                            }
                            if count == 0 {
                                out.fill(0);
                            } else {
                                for (o, &s) in out.iter_mut().zip(&sums[..nc]) {
                                    *o = div_round(s, count).clamp(lo, hi) as i8;
                                }
                            }
                        }
                        Kind::Max => {
                            let mut maxs = [i8::MIN; CB];
                            for iy in iy0..iy1 {
                                let row = &x[((b * g.h + iy) * g.w) * c..][..g.w * c];
                                for ix in ix0..ix1 {
                                    max_block(&mut maxs, &row[ix * c + c0..][..nc]);
                                }
                            }
                            for (o, &m) in out.iter_mut().zip(&maxs[..nc]) {
                                *o = (m as i32).clamp(lo, hi) as i8;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The input rows (or columns) `[first, end)` inside the image of output position `o`.
#[inline(always)]
fn window(o: usize, stride: usize, pad: usize, k: usize, size: usize) -> (usize, usize) {
    let start = (o * stride) as isize - pad as isize;
    let first = start.clamp(0, size as isize) as usize;
    let end = (start + k as isize).clamp(0, size as isize) as usize;
    (first, end.max(first))
}

#[inline(always)]
fn add_block(sums: &mut [i32; CB], v: &[i8]) {
    if let Ok(v) = <&[i8; CB]>::try_from(v) {
        for j in 0..CB {
            sums[j] = sums[j].wrapping_add(v[j] as i32);
        }
    } else {
        for (s, &v) in sums.iter_mut().zip(v) {
            *s = s.wrapping_add(v as i32);
        }
    }
}

#[inline(always)]
fn max_block(maxs: &mut [i8; CB], v: &[i8]) {
    if let Ok(v) = <&[i8; CB]>::try_from(v) {
        for j in 0..CB {
            maxs[j] = maxs[j].max(v[j]);
        }
    } else {
        for (m, &v) in maxs.iter_mut().zip(v) {
            *m = (*m).max(v);
        }
    }
}

/// The bodies built with the x86_64 vector extensions (the compiler vectorises them).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{CB, Kind, Pool2d, pool_body, sum_rows_body};

    /// # Safety
    /// AVX2 is available.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn pool_avx2(kind: Kind, g: &Pool2d, x: &[i8], lo: i32, hi: i32, y: &mut [i8]) {
        pool_body(kind, g, x, lo, hi, y)
    }

    /// # Safety
    /// AVX-512 F, BW, DQ and VL and AVX2 are available.
    #[target_feature(enable = "avx2,avx512f,avx512bw,avx512dq,avx512vl")]
    pub(super) unsafe fn pool_avx512(kind: Kind, g: &Pool2d, x: &[i8], lo: i32, hi: i32, y: &mut [i8]) {
        pool_body(kind, g, x, lo, hi, y)
    }

    /// # Safety
    /// AVX2 is available.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn sum_rows_avx2(x: &[i8], c: usize, c0: usize, nc: usize, rows: usize, sums: &mut [i32; CB]) {
        sum_rows_body(x, c, c0, nc, rows, sums)
    }
}
