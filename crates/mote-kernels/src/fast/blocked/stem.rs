//! Dense convolution of a few-channel NCHW image into the blocked layout: the first layer of a
//! vision model (an RGB or grayscale input, 3x3 stride 2 in most). Its `K = C * kh * kw` is too
//! small for a GEMM to pay for packing the image, so every output pixel of a channel block
//! accumulates `splat(x) * w[8 channels]` over the window, directly from the image.
//!
//! Per output row, the columns whose windows are inside the image run in tiles of 4 and 2
//! pixels of two channel blocks (the stride, and a 3-wide window, compile-time constants for
//! strides 1 and 2); the border columns one by one with the taps outside skipped. Rows outside the image are skipped. Every output starts from
//! the bias and adds its taps in `(c, ky, kx)` order, on every ISA.

use super::{BLOCK, Px, load, store};
use crate::fast::activation::Activation;
use crate::fast::conv::Conv2d;
use crate::fast::cpu::Cpu;
use crate::fast::simd::{Simd, SimdOp, dispatch};

/// Most input channels a stem convolution has (RGBA).
pub const STEM_MAX_CHANNELS: usize = 4;

/// Whether `g` is a stem convolution: group 1, 1 to [`STEM_MAX_CHANNELS`] input channels,
/// output channels a multiple of [`BLOCK`].
pub(super) fn is_stem(g: &Conv2d) -> bool {
    g.group == 1 && (1..=STEM_MAX_CHANNELS).contains(&g.in_channels) && g.out_channels.is_multiple_of(BLOCK)
}

/// Packs `w` (`[M, C, kh, kw]`) as `[M / 8, C, kh, kw, 8]`.
pub(super) fn pack(g: &Conv2d, w: &[f32], out: &mut [f32]) {
    let taps = g.in_channels * g.kernel[0] * g.kernel[1];
    let m = g.out_channels;
    assert!(w.len() >= m * taps && out.len() >= m * taps, "blocked_pack_weights: short slice");
    for (ch, wc) in w[..m * taps].chunks_exact(taps).enumerate() {
        let (b, j) = (ch / BLOCK, ch % BLOCK);
        for (t, &v) in wc.iter().enumerate() {
            out[(b * taps + t) * BLOCK + j] = v;
        }
    }
}

pub(super) fn run(cpu: Cpu, g: &Conv2d, x: &[f32], w: &[f32], bias: Option<&[f32]>, act: Activation, y: &mut [f32]) {
    dispatch(cpu, Run { g, x, w, bias, act, y });
}

struct Run<'a> {
    g: &'a Conv2d,
    x: &'a [f32],
    w: &'a [f32],
    bias: Option<&'a [f32]>,
    act: Activation,
    y: &'a mut [f32],
}

#[inline(always)]
fn fma<S: Simd>(s: S, acc: &mut Px<S>, w: &Px<S>, x: f32) {
    let x = s.splat(x);
    for (a, &w) in acc.as_mut().iter_mut().zip(w.as_ref()) {
        *a = s.mul_add(x, w, *a);
    }
}

/// One output row of one channel block.
struct Row<'a, S: Simd> {
    /// The image of this batch entry, `[C, H, W]`.
    xs: &'a [f32],
    /// The weights from this pass's first block on, `[.., C, kh, kw, 8]`.
    ws: &'a [f32],
    g: &'a Conv2d,
    /// Input row of kernel row 0 (may be negative).
    y0: isize,
    /// Kernel rows inside the image.
    ky: core::ops::Range<usize>,
    /// The bias of the pass's blocks.
    inits: [Px<S>; 2],
    act: Activation,
}

impl<S: Simd> Row<'_, S> {
    #[inline(always)]
    fn input_row(&self, c: usize, ky: usize) -> &[f32] {
        let [h, w] = self.g.input;
        let iy = (self.y0 + (ky * self.g.dilations[0]) as isize) as usize;
        &self.xs[(c * h + iy) * w..][..w]
    }

    /// Output column `ox` of channel block `b` of this pass, skipping the taps outside the
    /// image.
    #[inline(always)]
    fn border(&self, s: S, ox: usize, b: usize, y: &mut [f32]) {
        let g = self.g;
        let x0 = (ox * g.strides[1]) as isize - g.pads[1] as isize;
        let ws = &self.ws[b * g.in_channels * g.kernel[0] * g.kernel[1] * BLOCK..];
        let mut acc = self.inits[b];
        for c in 0..g.in_channels {
            for ky in self.ky.clone() {
                let row = self.input_row(c, ky);
                for kx in 0..g.kernel[1] {
                    let ix = x0 + (kx * g.dilations[1]) as isize;
                    if ix >= 0 && (ix as usize) < row.len() {
                        let w = load(s, &ws[((c * g.kernel[0] + ky) * g.kernel[1] + kx) * BLOCK..]);
                        fma(s, &mut acc, &w, row[ix as usize]);
                    }
                }
            }
        }
        store(s, self.act, &mut y[ox * BLOCK..], &acc);
    }

    /// `T` output columns from `ox` of `B` channel blocks (this row's block and the next
    /// `B - 1`, whose outputs are `plane` floats apart), their windows inside the image;
    /// stride `SW`.
    #[inline(always)]
    fn tile<const SW: usize, const T: usize, const B: usize>(&self, s: S, ox: usize, y: &mut [f32], plane: usize) {
        let g = self.g;
        let x0 = ox * SW - g.pads[1];
        let wstride = g.in_channels * g.kernel[0] * g.kernel[1] * BLOCK;
        let mut acc = [[s.block_zero(); T]; B];
        for (b, a) in acc.iter_mut().enumerate() {
            *a = [self.inits[b]; T];
        }
        if g.kernel[1] == 3 && g.dilations[1] == 1 {
            // The common stem: window width 3 at compile time, so every load below has a
            // constant offset into one input segment and one weight row.
            for c in 0..g.in_channels {
                for ky in self.ky.clone() {
                    let seg = &self.input_row(c, ky)[x0..][..(T - 1) * SW + 3];
                    let at = (c * g.kernel[0] + ky) * 3 * BLOCK;
                    let wr = &self.ws[at..][..(B - 1) * wstride + 3 * BLOCK];
                    for kx in 0..3 {
                        // One weight vector per block live at a time (AVX2 has 16 registers).
                        let mut w = [s.block_zero(); B];
                        for (b, w) in w.iter_mut().enumerate() {
                            *w = load(s, &wr[b * wstride + kx * BLOCK..]);
                        }
                        for t in 0..T {
                            let xv = seg[t * SW + kx];
                            for b in 0..B {
                                fma(s, &mut acc[b][t], &w[b], xv);
                            }
                        }
                    }
                }
            }
        } else {
            self.taps::<SW, T, B>(s, x0, wstride, &mut acc);
        }
        for (b, a) in acc.iter().enumerate() {
            for (t, a) in a.iter().enumerate() {
                store(s, self.act, &mut y[b * plane + (ox + t) * BLOCK..], a);
            }
        }
    }

    /// Adds every tap of a `T`-pixel tile (any window) to `acc`.
    #[inline(always)]
    fn taps<const SW: usize, const T: usize, const B: usize>(
        &self,
        s: S,
        x0: usize,
        wstride: usize,
        acc: &mut [[Px<S>; T]; B],
    ) {
        let g = self.g;
        for c in 0..g.in_channels {
            for ky in self.ky.clone() {
                let row = self.input_row(c, ky);
                for kx in 0..g.kernel[1] {
                    let seg = &row[x0 + kx * g.dilations[1]..][..(T - 1) * SW + 1];
                    let at = ((c * g.kernel[0] + ky) * g.kernel[1] + kx) * BLOCK;
                    let mut w = [s.block_zero(); B];
                    for (b, w) in w.iter_mut().enumerate() {
                        *w = load(s, &self.ws[b * wstride + at..]);
                    }
                    for t in 0..T {
                        let xv = seg[t * SW];
                        for b in 0..B {
                            fma(s, &mut acc[b][t], &w[b], xv);
                        }
                    }
                }
            }
        }
    }

    /// Output columns `lo..hi` (windows inside the image) of `B` channel blocks in tiles of
    /// 4 and 2 pixels (strides 1 and 2), the rest one by one.
    #[inline(always)]
    fn inside<const B: usize>(&self, s: S, lo: usize, hi: usize, y: &mut [f32], plane: usize) {
        let mut ox = lo;
        macro_rules! tiles {
            ($sw:literal) => {{
                while ox + 4 <= hi {
                    self.tile::<$sw, 4, B>(s, ox, y, plane);
                    ox += 4;
                }
                while ox + 2 <= hi {
                    self.tile::<$sw, 2, B>(s, ox, y, plane);
                    ox += 2;
                }
            }};
        }
        match self.g.strides[1] {
            1 => tiles!(1),
            2 => tiles!(2),
            _ => {}
        }
        for ox in ox..hi {
            for b in 0..B {
                self.border(s, ox, b, &mut y[b * plane..]);
            }
        }
    }
}

impl SimdOp for Run<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let g = self.g;
        let ([h, w], [oh, ow]) = (g.input, g.output);
        let (kh, kw) = (g.kernel[0], g.kernel[1]);
        let (c, blocks) = (g.in_channels, g.out_channels / BLOCK);
        let ([sh, sw], [dh, dw], [ph, pw]) = (g.strides, g.dilations, g.pads);
        // Output columns whose windows are inside the image: `lo..hi`.
        let lo = pw.div_ceil(sw).min(ow);
        let span = (kw - 1) * dw;
        let hi = if w + pw > span { ((w + pw - span - 1) / sw + 1).min(ow) } else { 0 }.max(lo);
        let plane = oh * ow * BLOCK;
        for n in 0..g.batch {
            let xs = &self.x[n * c * h * w..][..c * h * w];
            let mut b = 0;
            while b < blocks {
                // Two channel blocks per pass where there are two: each input value loaded
                // feeds twice the multiply-adds.
                let pair = b + 1 < blocks;
                let ws = &self.w[b * c * kh * kw * BLOCK..];
                let bias = |k: usize| match self.bias {
                    Some(bias) if k < blocks => load(s, &bias[k * BLOCK..]),
                    _ => s.block_zero(),
                };
                let inits = [bias(b), bias(b + 1)];
                let ys = &mut self.y[(n * blocks + b) * plane..][..if pair { 2 * plane } else { plane }];
                for oy in 0..oh {
                    let y0 = (oy * sh) as isize - ph as isize;
                    // Kernel rows inside the image: `y0 + ky * dh` in `0..h`.
                    let first = if y0 < 0 { ((-y0) as usize).div_ceil(dh) } else { 0 };
                    let past = if (h as isize) > y0 { ((h as isize - y0 - 1) as usize / dh + 1).min(kh) } else { 0 };
                    let row = Row::<S> { xs, ws, g, y0, ky: first.min(past)..past, inits, act: self.act };
                    let yr = &mut ys[oy * ow * BLOCK..];
                    for ox in (0..lo).chain(hi..ow) {
                        row.border(s, ox, 0, yr);
                        if pair {
                            row.border(s, ox, 1, &mut yr[plane..]);
                        }
                    }
                    if pair {
                        row.inside::<2>(s, lo, hi, yr, plane);
                    } else {
                        row.inside::<1>(s, lo, hi, yr, plane);
                    }
                }
                b += if pair { 2 } else { 1 };
            }
        }
    }
}
