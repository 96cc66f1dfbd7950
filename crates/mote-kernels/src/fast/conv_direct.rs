//! Convolutions without im2col packing: the GEMM's B is read in place from a zero-padded copy
//! of the input, split into phase planes by the stride.
//!
//! The padded input is stored as `sh * sw` phase planes per channel (phase `(ry, rx)` holds
//! padded rows `i sh + ry` and columns `j sw + rx`), each `PH x PW` with `PH = OH + (kh-1) dh /
//! sh` and `PW = OW + (kw-1) dw / sw`. Output `(oy, ox)` reads tap `(c, ky, kx)` in phase
//! `(ky dh % sh, kx dw % sw)` of channel `c` at row `oy + ky dh / sh`, column `ox + kx dw / sw`:
//! for one output row, every row of the im2col matrix is a contiguous run at a per-row offset.
//! The micro-kernel takes its B rows straight from there (the offsets of one K block are
//! computed once), so the only copy per call is one pass over the input, instead of packing
//! the `K x OH*OW` im2col matrix (which costs more than the products when the layer has few
//! output channels or a shallow K).

use super::activation::Activation;
use super::conv::Conv2d;
use super::cpu::Cpu;
use super::gemm::micro::{self, BRows, Tile, TileBias};
use super::gemm::{self, KC, MR, NR};
use super::simd::{Simd, SimdOp, dispatch};

/// Output columns per run of one A panel.
const ROW_RUN: usize = 256;

/// Whether [`run`] handles `g` (not pointwise, strides up to 4, some output and some depth).
pub(crate) fn applies(g: &Conv2d) -> bool {
    !g.is_pointwise() && g.strides.iter().all(|&s| s <= 4) && g.out_plane() > 0 && g.k() > 0
}

/// `[PH, PW]` of a phase plane.
fn padded(g: &Conv2d) -> [usize; 2] {
    let ([oh, ow], [kh, kw], [dh, dw], [sh, sw]) = (g.output, g.kernel, g.dilations, g.strides);
    [oh + (kh - 1) * dh / sh.max(1), ow + (kw - 1) * dw / sw.max(1)]
}

/// Floats of the phase planes of one group.
fn planes_len(g: &Conv2d) -> usize {
    let [ph, pw] = padded(g);
    let phases = g.strides[0].saturating_mul(g.strides[1]);
    (g.in_channels / g.group.max(1)).saturating_mul(phases).saturating_mul(ph).saturating_mul(pw)
}

/// Scratch floats [`run`] needs: one group's phase planes plus one panel of slack (meaningful
/// for a valid `g`; never panics).
pub(crate) fn scratch_len(g: &Conv2d) -> usize {
    planes_len(g).saturating_add(NR)
}

/// The convolution (checked by the caller: valid geometry, [`applies`], slice lengths).
pub(crate) fn run(
    cpu: Cpu,
    g: &Conv2d,
    x: &[f32],
    packed_w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    dispatch(cpu, Run { g, x, packed_w, bias, act, y, scratch });
}

struct Run<'a> {
    g: &'a Conv2d,
    x: &'a [f32],
    packed_w: &'a [f32],
    bias: Option<&'a [f32]>,
    act: Activation,
    y: &'a mut [f32],
    scratch: &'a mut [f32],
}

impl SimdOp for Run<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let g = self.g;
        let (cg, mg, k) = (g.in_channels / g.group, g.out_channels / g.group, g.k());
        let (ip, op) = (g.in_plane(), g.out_plane());
        let per = gemm::pack_a_len(mg, k);
        for n in 0..g.batch {
            for gi in 0..g.group {
                let xg = &self.x[(n * g.in_channels + gi * cg) * ip..][..cg * ip];
                pad_input(g, xg, self.scratch);
                let yg = &mut self.y[(n * g.out_channels + gi * mg) * op..][..mg * op];
                let a = &self.packed_w[gi * per..][..per];
                let bias = self.bias.map(|b| &b[gi * mg..][..mg]);
                group(s, g, mg, a, bias, self.act, &*self.scratch, yg);
            }
        }
    }
}

/// Output channels `rows` of one group (`rows.start` a multiple of `MR`) into `y` (those
/// channels' planes), from the group's packed weights `a`, bias and its phase planes `xp`
/// written by [`pad_input`]: what [`run`] computes for these channels, bit for bit (the
/// parallel driver splits a group this way).
#[allow(clippy::too_many_arguments)]
pub(crate) fn group_rows(
    cpu: Cpu,
    g: &Conv2d,
    rows: core::ops::Range<usize>,
    a: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    xp: &[f32],
    y: &mut [f32],
) {
    let a = &a[rows.start / MR * g.k() * MR..];
    let bias = bias.map(|b| &b[rows.start..]);
    dispatch(cpu, Rows { g, mg: rows.len(), a, bias, act, xp, y });
}

struct Rows<'a> {
    g: &'a Conv2d,
    mg: usize,
    a: &'a [f32],
    bias: Option<&'a [f32]>,
    act: Activation,
    xp: &'a [f32],
    y: &'a mut [f32],
}

impl SimdOp for Rows<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        group(s, self.g, self.mg, self.a, self.bias, self.act, self.xp, self.y);
    }
}

/// Copies `[C/g, H, W]` into `xp` as `[C/g, sh*sw, PH, PW]` phase planes with zero padding,
/// then zeroes the slack.
pub(crate) fn pad_input(g: &Conv2d, x: &[f32], xp: &mut [f32]) {
    let (planes, rest) = xp.split_at_mut(planes_len(g));
    rest[..NR].fill(0.0);
    pad_planes(g, x, planes);
}

/// Floats of the phase planes of one input channel.
pub(crate) fn channel_planes_len(g: &Conv2d) -> usize {
    let [ph, pw] = padded(g);
    g.strides[0] * g.strides[1] * ph * pw
}

/// The phase planes of the channels of `x` (`[c, H, W]`, `c` = the channels `planes` holds,
/// [`channel_planes_len`] floats each), as [`pad_input`] writes them.
pub(crate) fn pad_planes(g: &Conv2d, x: &[f32], planes: &mut [f32]) {
    let ([ih, iw], [ph, pw], [pt, pl], [sh, sw]) = (g.input, padded(g), g.pads, g.strides);
    let phases = sh * sw;
    for (p, plane) in planes.chunks_exact_mut(ph * pw).enumerate() {
        let (c, ry, rx) = (p / phases, p % phases / sw, p % sw);
        let xc = &x[c * ih * iw..][..ih * iw];
        // Phase columns `lo..hi` hold input columns `first, first + sw, ...`.
        let (lo, hi) = crate::reference::nn::valid_range(pw, iw, sw, rx as isize - pl as isize);
        let first = (lo * sw + rx).saturating_sub(pl);
        for (i, row) in plane.chunks_exact_mut(pw).enumerate() {
            match (i * sh + ry).checked_sub(pt).filter(|&r| r < ih && lo < hi) {
                Some(r) => {
                    row[..lo].fill(0.0);
                    let src = &xc[r * iw + first..];
                    if sw == 1 {
                        row[lo..hi].copy_from_slice(&src[..hi - lo]);
                    } else {
                        for (d, &v) in row[lo..hi].iter_mut().zip(src.iter().step_by(sw)) {
                            *d = v;
                        }
                    }
                    row[hi..].fill(0.0);
                }
                None => row.fill(0.0),
            }
        }
    }
}

/// `mg` output channels of one group: `y [mg, OH*OW] = act(W * im2col(xp) + bias)` (`a` their
/// packed weight panels), K blocks outer (their B-row offsets computed once), then output rows,
/// runs of columns, A panels, B panels.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn group<S: Simd>(
    s: S,
    g: &Conv2d,
    mg: usize,
    a: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    xp: &[f32],
    y: &mut [f32],
) {
    let (k, op) = (g.k(), g.out_plane());
    let ([oh, ow], [ph, pw], [kh, kw], [dh, dw]) = (g.output, padded(g), g.kernel, g.dilations);
    let [sh, sw] = g.strides;
    let mut offs = [0usize; KC];
    let mut pc = 0;
    while pc < k {
        let kc = (k - pc).min(KC);
        for (q, o) in offs[..kc].iter_mut().enumerate() {
            let row = pc + q;
            let (c, t) = (row / (kh * kw), row % (kh * kw));
            let (ty, tx) = ((t / kw) * dh, (t % kw) * dw);
            let phase = (c * sh + ty % sh) * sw + tx % sw;
            *o = (phase * ph + ty / sh) * pw + tx / sw;
        }
        for oy in 0..oh {
            // Runs of up to ROW_RUN columns per A panel: each row of C is written in long runs.
            for jb in (0..ow).step_by(ROW_RUN) {
                for ir in (0..mg).step_by(MR) {
                    for jr in (jb..ow.min(jb + ROW_RUN)).step_by(NR) {
                        let b = BRows::Offsets { x: xp, offs: &offs[..kc], base: oy * pw + jr };
                        let t = Tile {
                            rows: (mg - ir).min(MR),
                            cols: (ow - jr).min(NR),
                            accumulate: pc > 0,
                            finish: pc + kc == k,
                            bias: bias.map_or(TileBias::None, |b| TileBias::Rows(&b[ir..])),
                            act,
                        };
                        let ap = &a[(ir / MR) * k * MR + pc * MR..][..kc * MR];
                        micro::tile(s, kc, ap, b, &mut y[ir * op + oy * ow + jr..], op, &t);
                    }
                }
            }
        }
        pc += kc;
    }
}
