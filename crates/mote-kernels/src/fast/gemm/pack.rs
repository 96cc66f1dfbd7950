//! Packing of GEMM operands into micro-kernel panels (portable code, shared by every ISA).
//!
//! Packed A: panels of [`MR`] rows; panel `p` holds rows `p*MR..p*MR+MR` as `k` groups of `MR`
//! floats (`A[p*MR + r][q]` at `p*MR*k + q*MR + r`), rows past `m` zero.
//! Packed B: panels of [`NR`] columns; panel `p` holds columns `p*NR..p*NR+NR` as `k` groups of
//! `NR` floats (`B[q][p*NR + j]` at `p*NR*k + q*NR + j`), columns past `n` zero.
//! A block of K (`pc..pc+kc`) of a packed panel is the contiguous range `pc*MR..(pc+kc)*MR`
//! (resp. `NR`), so prepacked operands are K-blocked without copying.

use super::{MR, NR};
use crate::fast::conv::Conv2d;
use crate::fast::simd::Simd;

/// A row-major matrix read through strides: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Strided<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

/// Packs rows `i0..i0+mc`, columns `p0..p0+kc` of `a` as `ceil(mc/MR)` panels of `kc x MR`.
pub(crate) fn pack_a_block(a: Strided<'_>, (i0, mc): (usize, usize), (p0, kc): (usize, usize), out: &mut [f32]) {
    if kc == 0 {
        return;
    }
    for (pi, panel) in out[..mc.div_ceil(MR) * MR * kc].chunks_exact_mut(MR * kc).enumerate() {
        let rows = (mc - pi * MR).min(MR);
        let (groups, _) = panel.as_chunks_mut::<MR>();
        for r in 0..MR {
            if r >= rows {
                for g in groups.iter_mut() {
                    g[r] = 0.0;
                }
                continue;
            }
            let base = (i0 + pi * MR + r) * a.rs + p0 * a.cs;
            if a.cs == 1 {
                for (g, &v) in groups.iter_mut().zip(&a.data[base..base + kc]) {
                    g[r] = v;
                }
            } else {
                for (q, g) in groups.iter_mut().enumerate() {
                    g[r] = a.data[base + q * a.cs];
                }
            }
        }
    }
}

/// Packs rows `p0..p0+kc`, columns `j0..j0+nc` of `b` as `ceil(nc/NR)` panels of `kc x NR`.
pub(crate) fn pack_b_block(b: Strided<'_>, (p0, kc): (usize, usize), (j0, nc): (usize, usize), out: &mut [f32]) {
    let panels = nc.div_ceil(NR);
    let out = &mut out[..panels * NR * kc];
    for q in 0..kc {
        let base = (p0 + q) * b.rs + j0 * b.cs;
        for pj in 0..panels {
            let cols = (nc - pj * NR).min(NR);
            let dst = &mut out[(pj * kc + q) * NR..][..NR];
            if b.cs == 1 && cols == NR {
                copy_nr(&b.data[base + pj * NR..], dst);
            } else if b.cs == 1 {
                dst[..cols].copy_from_slice(&b.data[base + pj * NR..][..cols]);
            } else {
                for (j, d) in dst[..cols].iter_mut().enumerate() {
                    *d = b.data[base + (pj * NR + j) * b.cs];
                }
            }
            dst[cols..].fill(0.0);
        }
    }
}

/// The im2col matrix of one group of a convolution, never materialised: row
/// `(c * kh + ky) * kw + kx`, column `oy * out_w + ox` holds the input pixel under tap
/// `(ky, kx)` of output `(oy, ox)` in channel `c` (zero in the padding).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Im2col<'a> {
    /// The group's input channels, `[C/group, H, W]`.
    pub x: &'a [f32],
    pub g: &'a Conv2d,
}

/// Packs rows `p0..p0+kc`, columns `j0..j0+nc` of an im2col matrix like [`pack_b_block`].
#[inline(always)]
pub(crate) fn pack_b_im2col<S: Simd>(
    s: S,
    src: Im2col<'_>,
    (p0, kc): (usize, usize),
    (j0, nc): (usize, usize),
    out: &mut [f32],
) {
    let g = src.g;
    let [ih, iw] = g.input;
    let [kh, kw] = g.kernel;
    let ow = g.output[1];
    let panels = nc.div_ceil(NR);
    let out = &mut out[..panels * NR * kc];
    // Columns past `nc` in the last panel: zero (the loop below writes every other element).
    if nc % NR != 0 {
        let (last, tail) = ((panels - 1) * NR * kc, nc % NR);
        for q in 0..kc {
            out[last + q * NR + tail..][..NR - tail].fill(0.0);
        }
    }
    for q in 0..kc {
        let row = p0 + q;
        let (c, t) = (row / (kh * kw), row % (kh * kw));
        let (ky, kx) = (t / kw, t % kw);
        let plane = &src.x[c * ih * iw..][..ih * iw];
        let x_off = (kx * g.dilations[1]) as isize - g.pads[1] as isize;
        // Valid output columns of this tap (the same on every output row).
        let (vlo, vhi) = crate::reference::nn::valid_range(ow, iw, g.strides[1], x_off);
        let mut n = j0;
        let (mut oy, mut ox0) = (j0 / ow, j0 % ow);
        while n < j0 + nc {
            let ox1 = ow.min(ox0 + (j0 + nc - n));
            let y = (oy * g.strides[0] + ky * g.dilations[0]) as isize - g.pads[0] as isize;
            let (lo, hi) = if y >= 0 && (y as usize) < ih {
                let (lo, hi) = (vlo.clamp(ox0, ox1), vhi.clamp(ox0, ox1));
                if lo < hi { (lo, hi) } else { (ox0, ox0) }
            } else {
                (ox0, ox0)
            };
            // Columns whose tap falls in the padding.
            zero_run(out, kc, q, n - j0, lo - ox0);
            zero_run(out, kc, q, n - j0 + (hi - ox0), ox1 - hi);
            if lo < hi {
                let xr = &plane[y as usize * iw..][..iw];
                // Runs of consecutive columns inside one panel are contiguous in `out`.
                let sw = g.strides[1];
                let mut ox = lo;
                while ox < hi {
                    let j = n - j0 + (ox - ox0);
                    let len = (NR - j % NR).min(hi - ox);
                    let dst = &mut out[((j / NR) * kc + q) * NR + j % NR..][..len];
                    let xi = ((ox * sw) as isize + x_off) as usize;
                    if sw == 1 && len == NR {
                        copy_nr(&xr[xi..], dst);
                    } else if sw == 2 && len == NR && xi + 2 * NR <= iw {
                        evens_nr(s, &xr[xi..xi + 2 * NR], dst);
                    } else if sw == 1 {
                        dst.copy_from_slice(&xr[xi..xi + len]);
                    } else {
                        for (d, &v) in dst.iter_mut().zip(xr[xi..].iter().step_by(sw)) {
                            *d = v;
                        }
                    }
                    ox += len;
                }
            }
            n += ox1 - ox0;
            (oy, ox0) = (oy + 1, 0);
        }
    }
}

/// Zeroes columns `j..j + len` (block-relative) of packed row `q`, across panel boundaries.
#[inline(always)]
fn zero_run(out: &mut [f32], kc: usize, q: usize, mut j: usize, mut len: usize) {
    while len > 0 {
        let n = (NR - j % NR).min(len);
        out[((j / NR) * kc + q) * NR + j % NR..][..n].fill(0.0);
        j += n;
        len -= n;
    }
}

/// `dst[..NR] = src[..NR]`: a copy of constant length, which compiles to vector moves (a
/// variable-length one calls `memcpy`, slow for 16 floats).
#[inline(always)]
fn copy_nr(src: &[f32], dst: &mut [f32]) {
    dst[..NR].copy_from_slice(&src[..NR]);
}

/// `dst[j] = src[2 j]` for `j < NR` with vector loads and deinterleaving shuffles (a stride-2
/// im2col row).
#[inline(always)]
fn evens_nr<S: Simd>(s: S, src: &[f32], dst: &mut [f32]) {
    let (src, dst) = (&src[..2 * NR], &mut dst[..NR]);
    for (d, x) in dst.chunks_exact_mut(S::LANES).zip(src.chunks_exact(2 * S::LANES)) {
        let (even, _) = s.deinterleave(s.load(x), s.load(&x[S::LANES..]));
        s.store(d, even);
    }
}
