//! The int8 convolution drivers: depthwise (vectorised over channels) and everything else as a
//! GEMM of output pixels (direct NHWC rows for a 1x1 stride-1 convolution, im2col rows padded
//! with the input zero point otherwise) by the packed weight panels.

use super::kernels::{DwTaps, NR, Portable, Q8, Rq};
use super::pack::{GemmShape, RB, conv_pack_len, conv_scratch_len};
use crate::reference::int8::{Conv2d, Requant};

/// `true` when `v` is an int8 value.
fn is_i8(v: i32) -> bool {
    (-128..=127).contains(&v)
}

/// The convolution with the primitives `k` (see [`super::conv2d`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_with<K: Q8>(
    k: K,
    g: &Conv2d,
    x: &[i8],
    x_zp: i32,
    packed: &[u8],
    out: &Requant<'_>,
    y: &mut [i8],
    scratch: &mut [i32],
) {
    let (xl, _, yl) = g.lens();
    let (x, y) = (&x[..xl], &mut y[..yl]);
    let packed = &packed[..conv_pack_len(g).expect("int8 conv2d: inconsistent geometry")];
    let (bias, mult, shift) = (&out.bias[..g.m], &out.mult[..g.m], &out.shift[..g.m]);
    assert!(out.lo <= out.hi, "int8 conv2d: clamp bounds {} > {}", out.lo, out.hi);
    if g.is_depthwise() {
        let w: &[i8] = bytes_as_i8(packed);
        let rq = Rq { cb: bias, mult, shift, zp: out.zp, lo: out.lo, hi: out.hi };
        if is_i8(x_zp) {
            if !k.dw_conv(g, x, x_zp, w, &rq, y) {
                depthwise(k, g, x, x_zp, w, &rq, y);
            }
        } else {
            depthwise(Portable, g, x, x_zp, w, &rq, y);
        }
        return;
    }
    let s = GemmShape::of(g).expect("checked by conv_pack_len");
    let scratch = &mut scratch[..conv_scratch_len(g).expect("checked by conv_pack_len")];
    let (cb, rest) = scratch.split_at_mut(g.m);
    let (acc, col) = rest.split_at_mut(RB * NR);
    if !is_i8(x_zp) {
        return gemm_any_zp(g, &s, x, x_zp, packed, out, y);
    }
    let off = x_zp + K::A_OFFSET;
    for (o, c) in cb.iter_mut().enumerate() {
        let wsum = i32::from_le_bytes(packed[4 * o..][..4].try_into().expect("4 bytes"));
        *c = bias[o].wrapping_sub(off.wrapping_mul(wsum));
    }
    let col = i32_as_i8(col);
    let direct = g.kh == 1
        && g.kw == 1
        && g.sh == 1
        && g.sw == 1
        && g.pad_top == 0
        && g.pad_left == 0
        && g.oh == g.h
        && g.ow == g.w
        && s.cg.is_multiple_of(4);
    let rows_total = g.n * g.oh * g.ow;
    let row_len = 4 * s.k4;
    for grp in 0..g.groups {
        for r0 in (0..rows_total).step_by(RB) {
            let rows = RB.min(rows_total - r0);
            let (a, stride): (&[i8], usize) = if direct {
                (&x[r0 * g.c + grp * s.cg..], g.c)
            } else {
                im2col(g, &s, x, x_zp as i8, grp, r0, rows, col);
                (&col[..], row_len)
            };
            for p in 0..s.panels {
                let b = &packed[s.panel_at(g.m, grp, p)..][..s.panel_len];
                k.gemm_panel(a, stride, rows, s.k4, b, acc);
                let o0 = grp * s.mg + p * NR;
                let nv = NR.min(s.mg - p * NR);
                let rq =
                    Rq { cb: &cb[o0..o0 + nv], mult: &mult[o0..o0 + nv], shift: &shift[o0..o0 + nv], ..rq_base(out) };
                let yb = &mut y[r0 * g.m + o0..];
                if nv == NR {
                    k.requant_panel(acc, rows, &rq, yb, g.m);
                } else {
                    partial_panel(k, acc, rows, &rq, nv, yb, g.m);
                }
            }
        }
    }
}

/// [`Q8::requant_panel`] of a panel with `nv < NR` channels (the output stage padded to
/// [`NR`] lanes, the rows staged in a buffer): `y[r * ys + j]` for `j < nv`.
fn partial_panel<K: Q8>(k: K, acc: &[i32], rows: usize, rq: &Rq<'_>, nv: usize, y: &mut [i8], ys: usize) {
    let (mut cb, mut mult, mut shift) = ([0i32; NR], [0i32; NR], [0i32; NR]);
    cb[..nv].copy_from_slice(&rq.cb[..nv]);
    mult[..nv].copy_from_slice(&rq.mult[..nv]);
    shift[..nv].copy_from_slice(&rq.shift[..nv]);
    let mut buf = [0i8; RB * NR];
    k.requant_panel(acc, rows, &Rq { cb: &cb, mult: &mult, shift: &shift, ..*rq }, &mut buf, NR);
    for (r, src) in buf.chunks_exact(NR).take(rows).enumerate() {
        let dst = &mut y[r * ys..][..nv];
        if nv == 8 {
            // The common partial panel (8 output channels) as one fixed-size copy.
            dst.copy_from_slice(&src[..8]);
        } else {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = s;
            }
        }
    }
}

fn rq_base<'a>(out: &Requant<'_>) -> Rq<'a> {
    Rq { cb: &[], mult: &[], shift: &[], zp: out.zp, lo: out.lo, hi: out.hi }
}

/// Rows `r0..r0 + rows` of group `grp`'s im2col matrix into `col` (`4 * k4` bytes per row: the
/// taps in `(ky, kx, ci)` order, `pad` outside the image, 0 past `K`). Bytes of `col` past the
/// rows may be overwritten (short kernel rows are copied 16 bytes at a time where `col` has
/// room).
#[allow(clippy::too_many_arguments)]
fn im2col(g: &Conv2d, s: &GemmShape, x: &[i8], pad: i8, grp: usize, r0: usize, rows: usize, col: &mut [i8]) {
    let (row_len, col_len) = (4 * s.k4, col.len());
    // The first row's pixel, then stepped (no divisions per row).
    let (mut b, mut oy, mut ox) = (r0 / (g.oh * g.ow), (r0 / g.ow) % g.oh, r0 % g.ow);
    for r in 0..rows {
        if r > 0 {
            ox += 1;
            if ox == g.ow {
                ox = 0;
                oy += 1;
                if oy == g.oh {
                    oy = 0;
                    b += 1;
                }
            }
        }
        let at = r * row_len;
        // Without groups and dilation, the taps of a kernel row inside the image are
        // consecutive pixels: one copy.
        let (kx0, nx) = if g.groups == 1 && g.dw == 1 { tap_range1(ox, g.sw, g.pad_left, g.w, g.kw) } else { (0, 0) };
        for ky in 0..g.kh {
            let iy = (oy * g.sh + ky * g.dh) as isize - g.pad_top as isize;
            let ro = at + ky * g.kw * s.cg;
            if iy < 0 || iy >= g.h as isize {
                col[ro..][..g.kw * s.cg].fill(pad);
                continue;
            }
            let xrow = (b * g.h + iy as usize) * g.w;
            if nx > 0 {
                let ix0 = ox * g.sw + kx0 - g.pad_left;
                let (src, len) = ((xrow + ix0) * g.c, nx * g.c);
                if nx == g.kw && len <= 16 && src + 16 <= x.len() && ro + 16 <= col_len {
                    // A short kernel row (few input channels) as one fixed 16-byte copy instead
                    // of a call: the bytes past it belong to the next kernel row, the padding
                    // past `K` (zeroed below) or the next im2col row, all written later.
                    let chunk: [i8; 16] = x[src..src + 16].try_into().expect("16 bytes");
                    col[ro..ro + 16].copy_from_slice(&chunk);
                    continue;
                }
                let row = &mut col[ro..][..g.kw * s.cg];
                row[..kx0 * s.cg].fill(pad);
                row[kx0 * s.cg..(kx0 + nx) * s.cg].copy_from_slice(&x[src..][..len]);
                row[(kx0 + nx) * s.cg..].fill(pad);
                continue;
            }
            let row = &mut col[ro..][..g.kw * s.cg];
            for kx in 0..g.kw {
                let ix = (ox * g.sw + kx * g.dw) as isize - g.pad_left as isize;
                let d = &mut row[kx * s.cg..][..s.cg];
                if ix < 0 || ix >= g.w as isize {
                    d.fill(pad);
                } else {
                    d.copy_from_slice(&x[(xrow + ix as usize) * g.c + grp * s.cg..][..s.cg]);
                }
            }
        }
        // The padding past `K` (fewer than 4 bytes), after the taps.
        for i in 0..3 {
            if s.k + i < row_len {
                col[at + s.k + i] = 0;
            }
        }
    }
}

/// The GEMM convolution for an input zero point outside the int8 range (padding cannot be
/// expressed by an input value): direct, portable, from the packed weights.
fn gemm_any_zp(g: &Conv2d, s: &GemmShape, x: &[i8], x_zp: i32, packed: &[u8], out: &Requant<'_>, y: &mut [i8]) {
    for b in 0..g.n {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                for o in 0..g.m {
                    let (grp, oi) = (o / s.mg, o % s.mg);
                    let panel = &packed[s.panel_at(g.m, grp, oi / NR)..][..s.panel_len];
                    let j = oi % NR;
                    let mut acc = 0i32;
                    for ky in 0..g.kh {
                        let iy = (oy * g.sh + ky * g.dh) as isize - g.pad_top as isize;
                        for kx in 0..g.kw {
                            let ix = (ox * g.sw + kx * g.dw) as isize - g.pad_left as isize;
                            if iy < 0 || iy >= g.h as isize || ix < 0 || ix >= g.w as isize {
                                continue;
                            }
                            let xi = ((b * g.h + iy as usize) * g.w + ix as usize) * g.c + grp * s.cg;
                            for ci in 0..s.cg {
                                let kk = (ky * g.kw + kx) * s.cg + ci;
                                let wv = panel[(kk / 4) * 4 * NR + 4 * j + kk % 4] as i8 as i32;
                                acc = acc.wrapping_add((x[xi + ci] as i32).wrapping_sub(x_zp).wrapping_mul(wv));
                            }
                        }
                    }
                    y[((b * g.oh + oy) * g.ow + ox) * g.m + o] = out.apply(o, acc);
                }
            }
        }
    }
}

/// [`tap_range`] with dilation 1, without a loop.
fn tap_range1(o: usize, stride: usize, pad: usize, size: usize, taps: usize) -> (usize, usize) {
    let i0 = (o * stride) as isize - pad as isize;
    let first = (-i0).clamp(0, taps as isize) as usize;
    let end = (size as isize - i0).clamp(0, taps as isize) as usize;
    if end > first { (first, end - first) } else { (0, 0) }
}

/// The range of kernel offsets `k` whose input coordinate `o * stride + k * dil - pad` is in
/// `0..size`: `(first, count)`.
fn tap_range(o: usize, stride: usize, dil: usize, pad: usize, size: usize, taps: usize) -> (usize, usize) {
    let mut first = None;
    let mut count = 0;
    for k in 0..taps {
        let i = (o * stride + k * dil) as isize - pad as isize;
        if i >= 0 && i < size as isize {
            first.get_or_insert(k);
            count += 1;
        }
    }
    (first.unwrap_or(0), count)
}

/// Depthwise (multiplier 1) convolution: per run of output pixels with the same taps, the ISA
/// for blocks of 16 channels (the last one overlapping when 16 does not divide `c`), the
/// portable code for fewer than 16 channels.
fn depthwise<K: Q8>(k: K, g: &Conv2d, x: &[i8], x_zp: i32, w: &[i8], rq: &Rq<'_>, y: &mut [i8]) {
    let c = g.c;
    let blocks = c / 16;
    let w = &w[..g.kh * g.kw * c];
    for b in 0..g.n {
        for oy in 0..g.oh {
            let (ky0, ny) = tap_range(oy, g.sh, g.dh, g.pad_top, g.h, g.kh);
            let mut ox = 0;
            while ox < g.ow {
                // A run of pixels with the same taps inside the image.
                let (kx0, nx) = tap_range(ox, g.sw, g.dw, g.pad_left, g.w, g.kw);
                let mut end = ox + 1;
                while end < g.ow && tap_range(end, g.sw, g.dw, g.pad_left, g.w, g.kw) == (kx0, nx) {
                    end += 1;
                }
                let npix = end - ox;
                let taps = if ny == 0 || nx == 0 {
                    DwTaps { npix, x_px: 0, x0: 0, x_dy: 0, x_dx: 0, ny: 0, nx: 0, t0: 0, t_dy: 0 }
                } else {
                    let iy0 = oy * g.sh + ky0 * g.dh - g.pad_top;
                    let ix0 = ox * g.sw + kx0 * g.dw - g.pad_left;
                    DwTaps {
                        npix,
                        x_px: g.sw * c,
                        x0: ((b * g.h + iy0) * g.w + ix0) * c,
                        x_dy: g.dh * g.w * c,
                        x_dx: g.dw * c,
                        ny,
                        nx,
                        t0: ky0 * g.kw + kx0,
                        t_dy: g.kw,
                    }
                };
                let yp = &mut y[((b * g.oh + oy) * g.ow + ox) * c..][..npix * c];
                if blocks > 0 {
                    k.dw_pixel(x, c, &taps, w, blocks, x_zp, rq, yp);
                }
                if !c.is_multiple_of(16) && blocks > 0 {
                    // The last 16 channels as one more block, overlapping the previous one:
                    // the overlap is written twice with the same values.
                    let s = c - 16;
                    let rs = Rq { cb: &rq.cb[s..], mult: &rq.mult[s..], shift: &rq.shift[s..], ..*rq };
                    k.dw_pixel(&x[s..], c, &taps, &w[s..], 1, x_zp, &rs, &mut yp[s..]);
                } else if blocks == 0 {
                    Portable::dw_channels(x, c, &taps, w, (0, c), x_zp, rq, yp);
                }
                ox = end;
            }
        }
    }
}

/// The packed weights' bytes as i8.
fn bytes_as_i8(b: &[u8]) -> &[i8] {
    // SAFETY: u8 and i8 have the same size, alignment and valid bit patterns; the new slice
    // covers exactly the same memory with the same lifetime.
    unsafe { core::slice::from_raw_parts(b.as_ptr().cast::<i8>(), b.len()) }
}

/// The i32 scratch as bytes (im2col rows live there).
fn i32_as_i8(s: &mut [i32]) -> &mut [i8] {
    // SAFETY: every bit pattern is a valid i8, i8 has alignment 1, and the byte slice covers
    // exactly the memory of `s`, borrowed mutably for the same lifetime.
    unsafe { core::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<i8>(), s.len() * 4) }
}

#[cfg(test)]
mod tests {
    use super::{tap_range, tap_range1};

    #[test]
    fn tap_range1_is_tap_range_with_dilation_1() {
        for o in 0..12 {
            for stride in 1..4 {
                for pad in 0..5 {
                    for size in 0..10 {
                        for taps in 1..7 {
                            assert_eq!(
                                tap_range1(o, stride, pad, size, taps),
                                tap_range(o, stride, 1, pad, size, taps)
                            );
                        }
                    }
                }
            }
        }
    }
}
