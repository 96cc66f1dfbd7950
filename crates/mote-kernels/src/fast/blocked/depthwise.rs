//! Depthwise convolution in the blocked layout: one vector (or `8 / LANES` vectors) per pixel of
//! a channel block.
//!
//! Small planes are first copied into a zero-padded plane in scratch (then every window is
//! inside it); large planes are read in place, their border columns computed one by one with the
//! taps outside skipped. Inside, output pixels go in runs of 8, 4, then 1; with dilation 1 and a
//! 3- or 5-wide window at stride 1 or 2 the window width, stride and run length are compile-time
//! constants, so every load has a constant offset into the run's input segment (no bounds
//! checks) and each input pixel is loaded once per kernel row.

use super::{BLOCK, Px, load, store};
use crate::fast::activation::Activation;
use crate::fast::conv::Conv2d;
use crate::fast::cpu::Cpu;
use crate::fast::simd::{Simd, SimdOp, dispatch};

/// Largest padded plane (floats, one channel block) copied to scratch: 128 KiB, in L2.
const MAX_PADDED: usize = 32 * 1024;

/// The padded extent `[height, width]` the outputs of `g` read.
fn padded_extent(g: &Conv2d) -> [usize; 2] {
    let ext = |o: usize, k: usize, s: usize, d: usize| (o.max(1) - 1) * s + (k - 1) * d + 1;
    [
        ext(g.output[0], g.kernel[0], g.strides[0], g.dilations[0]),
        ext(g.output[1], g.kernel[1], g.strides[1], g.dilations[1]),
    ]
}

/// Scratch floats: one padded plane of a channel block when the plane is small, else 0.
pub(super) fn scratch_len(g: &Conv2d) -> usize {
    let [hn, wn] = padded_extent(g);
    let len = hn.saturating_mul(wn).saturating_mul(BLOCK);
    if len <= MAX_PADDED && g.out_plane() > 0 { len } else { 0 }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    cpu: Cpu,
    g: &Conv2d,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    dispatch(cpu, Run { g, x, w, bias, act, y, scratch });
}

struct Run<'a> {
    g: &'a Conv2d,
    x: &'a [f32],
    w: &'a [f32],
    bias: Option<&'a [f32]>,
    act: Activation,
    y: &'a mut [f32],
    scratch: &'a mut [f32],
}

#[inline(always)]
fn fma<S: Simd>(s: S, acc: &mut Px<S>, w: &Px<S>, x: &[f32]) {
    let x = &x[..BLOCK];
    for (j, (a, &w)) in acc.as_mut().iter_mut().zip(w.as_ref()).enumerate() {
        *a = s.mul_add(w, s.load(&x[j * S::LANES..]), *a);
    }
}

/// What the output pixels of one row read: input rows `y0 + ky * dh` for `ky` in `ky` (the
/// rows inside the input), `iw` pixels each, and the block's taps.
struct Rows<'a, S: Simd> {
    xs: &'a [f32],
    ws: &'a [f32],
    iw: usize,
    kw: usize,
    dw: usize,
    sw: usize,
    y0: isize,
    dh: usize,
    ky: core::ops::Range<usize>,
    init: Px<S>,
    act: Activation,
}

impl<S: Simd> Rows<'_, S> {
    #[inline(always)]
    fn row(&self, ky: usize) -> &[f32] {
        &self.xs[(self.y0 + (ky * self.dh) as isize) as usize * self.iw * BLOCK..][..self.iw * BLOCK]
    }

    /// One output pixel whose window starts at input column `x0`, skipping the taps outside
    /// the row.
    #[inline(always)]
    fn border(&self, s: S, x0: isize, y: &mut [f32]) {
        let mut acc = self.init;
        for ky in self.ky.clone() {
            let row = self.row(ky);
            for kx in 0..self.kw {
                let ix = x0 + (kx * self.dw) as isize;
                if ix >= 0 && (ix as usize) < self.iw {
                    fma(s, &mut acc, &load(s, &self.ws[(ky * self.kw + kx) * BLOCK..]), &row[ix as usize * BLOCK..]);
                }
            }
        }
        store(s, self.act, y, &acc);
    }

    /// `count` output pixels whose windows are inside the rows, the first starting at input
    /// column `x0`, into `y`.
    #[inline(always)]
    fn inside(&self, s: S, x0: usize, count: usize, y: &mut [f32]) {
        let fixed = self.dw == 1 && matches!((self.kw, self.sw), (3, 1) | (3, 2) | (5, 1) | (5, 2));
        let mut done = 0;
        if fixed {
            for run in [8, 4, 1] {
                while done + run <= count {
                    let (x, y) = (x0 + done * self.sw, &mut y[done * BLOCK..]);
                    match (self.kw, self.sw, run) {
                        (3, 1, 8) => self.fixed::<3, 1, 8>(s, x, y),
                        (3, 1, 4) => self.fixed::<3, 1, 4>(s, x, y),
                        (3, 1, _) => self.fixed::<3, 1, 1>(s, x, y),
                        (3, 2, 8) => self.fixed::<3, 2, 8>(s, x, y),
                        (3, 2, 4) => self.fixed::<3, 2, 4>(s, x, y),
                        (3, 2, _) => self.fixed::<3, 2, 1>(s, x, y),
                        (5, 1, 8) => self.fixed::<5, 1, 8>(s, x, y),
                        (5, 1, 4) => self.fixed::<5, 1, 4>(s, x, y),
                        (5, 1, _) => self.fixed::<5, 1, 1>(s, x, y),
                        (5, 2, 8) => self.fixed::<5, 2, 8>(s, x, y),
                        (5, 2, 4) => self.fixed::<5, 2, 4>(s, x, y),
                        _ => self.fixed::<5, 2, 1>(s, x, y),
                    }
                    done += run;
                }
            }
            return;
        }
        while done + 4 <= count {
            self.general::<4>(s, x0 + done * self.sw, &mut y[done * BLOCK..]);
            done += 4;
        }
        while done < count {
            self.general::<1>(s, x0 + done * self.sw, &mut y[done * BLOCK..]);
            done += 1;
        }
    }

    /// `R` pixels with a `KW`-wide window at stride `SW`, dilation 1.
    #[inline(always)]
    fn fixed<const KW: usize, const SW: usize, const R: usize>(&self, s: S, x0: usize, y: &mut [f32]) {
        let mut acc = [self.init; R];
        for ky in self.ky.clone() {
            let seg: &[f32] = &self.row(ky)[x0 * BLOCK..][..((R - 1) * SW + KW) * BLOCK];
            let ws: &[f32] = &self.ws[ky * KW * BLOCK..][..KW * BLOCK];
            for kx in 0..KW {
                let wv = load(s, &ws[kx * BLOCK..]);
                for (q, acc) in acc.iter_mut().enumerate() {
                    fma(s, acc, &wv, &seg[(q * SW + kx) * BLOCK..]);
                }
            }
        }
        for (q, acc) in acc.iter().enumerate() {
            store(s, self.act, &mut y[q * BLOCK..], acc);
        }
    }

    /// `R` pixels, any window.
    #[inline(always)]
    fn general<const R: usize>(&self, s: S, x0: usize, y: &mut [f32]) {
        let mut acc = [self.init; R];
        for ky in self.ky.clone() {
            let row = self.row(ky);
            for kx in 0..self.kw {
                let wv = load(s, &self.ws[(ky * self.kw + kx) * BLOCK..]);
                let ix = x0 + kx * self.dw;
                for (q, acc) in acc.iter_mut().enumerate() {
                    fma(s, acc, &wv, &row[(ix + q * self.sw) * BLOCK..]);
                }
            }
        }
        for (q, acc) in acc.iter().enumerate() {
            store(s, self.act, &mut y[q * BLOCK..], acc);
        }
    }
}

impl SimdOp for Run<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let g = self.g;
        let ([ih, iw], [oh, ow]) = (g.input, g.output);
        let ([kh, kw], [sh, sw], [dh, dw], [ph, pw]) = (g.kernel, g.strides, g.dilations, g.pads);
        if oh * ow == 0 {
            return;
        }
        let (taps, blocks) = (kh * kw, g.in_channels / BLOCK);
        let [hn, wn] = padded_extent(g);
        let padded = scratch_len(g) > 0;
        if padded {
            self.scratch[..hn * wn * BLOCK].fill(0.0);
        }
        // Interior columns when read in place: every kx tap inside the row.
        let span = (kw - 1) * dw;
        let ox_lo = (pw.div_ceil(sw)).min(ow);
        let ox_hi = if iw > span { ((iw - 1 - span + pw) / sw + 1).min(ow).max(ox_lo) } else { ox_lo };
        for nb in 0..g.batch * blocks {
            let b = nb % blocks;
            let mut xs = &self.x[nb * ih * iw * BLOCK..][..ih * iw * BLOCK];
            let ws = &self.w[b * taps * BLOCK..][..taps * BLOCK];
            let init = self.bias.map_or(s.block_zero(), |bias| load(s, &bias[b * BLOCK..]));
            let ys = &mut self.y[nb * oh * ow * BLOCK..][..oh * ow * BLOCK];
            if padded {
                // Rows and columns the outputs read, at (ph, pw) in the zeroed plane.
                let plane = &mut self.scratch[..hn * wn * BLOCK];
                let cols = iw.min(wn.saturating_sub(pw));
                let rows = if cols > 0 { ih.min(hn.saturating_sub(ph)) } else { 0 };
                for iy in 0..rows {
                    plane[((iy + ph) * wn + pw) * BLOCK..][..cols * BLOCK]
                        .copy_from_slice(&xs[iy * iw * BLOCK..][..cols * BLOCK]);
                }
                xs = &self.scratch[..hn * wn * BLOCK];
            }
            for oy in 0..oh {
                let yrow = &mut ys[oy * ow * BLOCK..][..ow * BLOCK];
                if padded {
                    let rows =
                        Rows { xs, ws, iw: wn, kw, dw, sw, y0: (oy * sh) as isize, dh, ky: 0..kh, init, act: self.act };
                    rows.inside(s, 0, ow, yrow);
                    continue;
                }
                // Rows of the window inside the input.
                let y0 = (oy * sh) as isize - ph as isize;
                let ky_lo = if y0 < 0 { y0.unsigned_abs().div_ceil(dh) } else { 0 };
                let ky_hi = if y0 < ih as isize { ((ih as isize - 1 - y0) as usize / dh + 1).min(kh) } else { 0 };
                let rows = Rows { xs, ws, iw, kw, dw, sw, y0, dh, ky: ky_lo..ky_hi, init, act: self.act };
                for ox in (0..ox_lo).chain(ox_hi..ow) {
                    rows.border(s, (ox * sw) as isize - pw as isize, &mut yrow[ox * BLOCK..]);
                }
                if ox_hi > ox_lo {
                    rows.inside(s, ox_lo * sw - pw, ox_hi - ox_lo, &mut yrow[ox_lo * BLOCK..]);
                }
            }
        }
    }
}
