//! Stride-1 convolutions without im2col packing: the GEMM's B is read in place from a padded
//! copy of the input.
//!
//! In a zero-padded plane of `PH x PW` (`PH = OH + (kh-1) dh`, `PW = OW + (kw-1) dw`), output
//! `(oy, ox)` reads tap `(c, ky, kx)` at `c PH PW + (oy + ky dh) PW + ox + kx dw`: for one output
//! row, every row of the im2col matrix is a contiguous run of the padded input at a per-row
//! offset. The micro-kernel takes its B rows straight from there (the offsets of one K block are
//! computed once), so the only copy per call is the padding, one pass over the input, instead of
//! packing the `K x OH*OW` im2col matrix (which costs more than the products when the layer has
//! few output channels).

use super::activation::Activation;
use super::conv::Conv2d;
use super::cpu::Cpu;
use super::gemm::micro::{self, BRows, Tile, TileBias};
use super::gemm::{self, KC, MR, NR};
use super::simd::{Simd, SimdOp, dispatch};

/// Whether [`run`] handles `g` (stride 1, not pointwise, some output and some depth).
pub(crate) fn applies(g: &Conv2d) -> bool {
    g.strides == [1, 1] && !g.is_pointwise() && g.out_plane() > 0 && g.k() > 0
}

/// `[PH, PW]` of the padded plane.
fn padded(g: &Conv2d) -> [usize; 2] {
    [g.output[0] + (g.kernel[0] - 1) * g.dilations[0], g.output[1] + (g.kernel[1] - 1) * g.dilations[1]]
}

/// Scratch floats [`run`] needs: one group's padded input plus one panel of slack (meaningful
/// for a valid `g`; never panics).
pub(crate) fn scratch_len(g: &Conv2d) -> usize {
    let [ph, pw] = padded(g);
    (g.in_channels / g.group.max(1)).saturating_mul(ph).saturating_mul(pw).saturating_add(NR)
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
                group(s, g, a, bias, self.act, &*self.scratch, yg);
            }
        }
    }
}

/// Copies `[C/g, H, W]` into `xp` as `[C/g, PH, PW]` with zero padding, then zeroes the slack.
fn pad_input(g: &Conv2d, x: &[f32], xp: &mut [f32]) {
    let ([ih, iw], [ph, pw], [pt, pl]) = (g.input, padded(g), g.pads);
    let cg = g.in_channels / g.group;
    let (planes, rest) = xp.split_at_mut(cg * ph * pw);
    rest[..NR].fill(0.0);
    let (lo, n) = (pl.min(pw), iw.min(pw.saturating_sub(pl)));
    for (c, plane) in planes.chunks_exact_mut(ph * pw).enumerate() {
        let xc = &x[c * ih * iw..][..ih * iw];
        for (i, row) in plane.chunks_exact_mut(pw).enumerate() {
            match i.checked_sub(pt).filter(|&r| r < ih) {
                Some(r) => {
                    row[..lo].fill(0.0);
                    row[lo..lo + n].copy_from_slice(&xc[r * iw..][..n]);
                    row[lo + n..].fill(0.0);
                }
                None => row.fill(0.0),
            }
        }
    }
}

/// One group: `y [M/g, OH*OW] = act(W_g * im2col(xp) + bias)`, K blocks outer (their B-row
/// offsets computed once), then output rows, B panels along the row, A panels.
#[inline(always)]
fn group<S: Simd>(s: S, g: &Conv2d, a: &[f32], bias: Option<&[f32]>, act: Activation, xp: &[f32], y: &mut [f32]) {
    let (mg, k, op) = (g.out_channels / g.group, g.k(), g.out_plane());
    let ([oh, ow], [ph, pw], [kh, kw], [dh, dw]) = (g.output, padded(g), g.kernel, g.dilations);
    let mut offs = [0usize; KC];
    let mut pc = 0;
    while pc < k {
        let kc = (k - pc).min(KC);
        for (q, o) in offs[..kc].iter_mut().enumerate() {
            let row = pc + q;
            let (c, t) = (row / (kh * kw), row % (kh * kw));
            *o = c * ph * pw + (t / kw) * dh * pw + (t % kw) * dw;
        }
        for oy in 0..oh {
            for jr in (0..ow).step_by(NR) {
                let b = BRows::Offsets { x: xp, offs: &offs[..kc], base: oy * pw + jr };
                for ir in (0..mg).step_by(MR) {
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
        pc += kc;
    }
}
