//! Depthwise 2-D convolution (one input and one output channel per group), NCHW, fused bias +
//! activation, vectorized over output positions.
//!
//! Per channel, the zero-padded input plane is split into `stride_h * stride_w` phase planes
//! (phase `(ry, rx)` holds padded rows `≡ ry (mod stride_h)` and columns `≡ rx (mod stride_w)`),
//! all with the same row pitch `PW`. Output `(oy, ox)` then reads, for tap `(ky, kx)`, phase
//! `(ky dh % sh, kx dw % sw)` at flat position `(oy + ky dh / sh) * PW + ox + kx dw / sw`: every
//! tap is one contiguous run over the flat output index `oy * PW + ox`. The kernel computes that
//! flat output in register chunks of 64 (then 16) positions, whatever the stride, dilation,
//! padding or plane size (small planes such as 7x7 waste few lanes), then copies the `ow` valid
//! columns of each row out. Works for every depthwise geometry; no other path.
//!
//! Accumulation order (every ISA): bias (or 0), then taps in `(ky, kx)` row-major order, then the
//! activation; SIMD paths fuse each multiply-add, the portable path rounds twice.

use super::activation::{Activation, apply_v};
use super::conv::Conv2d;
use super::cpu::Cpu;
use super::simd::{ROW, Simd, SimdOp, dispatch, load_row, store_row};

/// Output positions per large register chunk (four [`ROW`]s); the tail uses one-`ROW` chunks.
const CHUNK: usize = 4 * ROW;

/// Sizes of the phase planes and the flat output of one channel.
#[derive(Clone, Copy, Debug)]
struct Layout {
    /// Row pitch of every phase plane and of the flat output.
    pw: usize,
    /// Rows per phase plane.
    ph: usize,
    /// Flat output length rounded up to [`ROW`].
    flat: usize,
    /// Floats per phase plane (including the zero tail the last chunk reads).
    plane: usize,
}

fn layout(g: &Conv2d) -> Layout {
    let ([oh, ow], [kh, kw]) = (g.output, g.kernel);
    let ([sh, sw], [dh, dw]) = (g.strides, g.dilations);
    // Padded extent the outputs read, then per phase.
    let hn = (oh.max(1) - 1) * sh + (kh - 1) * dh + 1;
    let wn = (ow.max(1) - 1) * sw + (kw - 1) * dw + 1;
    let (ph, pw) = (hn.div_ceil(sh), wn.div_ceil(sw));
    let flat = ((oh.max(1) - 1) * pw + ow).div_ceil(ROW) * ROW;
    let reach = (kh - 1) * dh / sh * pw + (kw - 1) * dw / sw;
    Layout { pw, ph, flat, plane: (ph * pw).max(flat + reach) }
}

/// Scratch floats [`depthwise2d`] needs: the phase planes and flat output of one channel (about
/// the padded input plane plus the output plane).
pub fn depthwise2d_scratch_len(g: &Conv2d) -> usize {
    if g.out_plane() == 0 {
        return 0;
    }
    let l = layout(g);
    g.strides[0] * g.strides[1] * l.plane + l.flat
}

/// `y = act(depthwise_conv(x, w) + bias)`: `x` is `[N, C, H, W]`, `w` is `[C, 1, kh, kw]` (the
/// ONNX layout, used as is: no packing), `bias` has `C` values, `y` is `[N, C, OH, OW]`
/// (overwritten), `scratch` has at least [`depthwise2d_scratch_len`] floats. `g` must satisfy
/// [`Conv2d::is_depthwise`].
///
/// Panics (a caller bug) if `g` is invalid or not depthwise, or a slice is shorter than its
/// shape.
pub fn depthwise2d(
    cpu: Cpu,
    g: &Conv2d,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    if let Err(e) = g.validate() {
        panic!("depthwise2d: invalid geometry: {e}");
    }
    assert!(g.is_depthwise(), "depthwise2d: group, input and output channels differ");
    let planes = g.batch * g.in_channels;
    assert!(x.len() >= planes * g.in_plane(), "depthwise2d: x shorter than [N, C, H, W]");
    assert!(y.len() >= planes * g.out_plane(), "depthwise2d: y shorter than [N, C, OH, OW]");
    assert!(w.len() >= g.in_channels * g.kernel[0] * g.kernel[1], "depthwise2d: w shorter than [C, 1, kh, kw]");
    assert!(scratch.len() >= depthwise2d_scratch_len(g), "depthwise2d: scratch shorter than depthwise2d_scratch_len");
    if let Some(b) = bias {
        assert!(b.len() >= g.in_channels, "depthwise2d: bias shorter than C");
    }
    if g.out_plane() == 0 {
        return;
    }
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

impl SimdOp for Run<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let g = self.g;
        let l = layout(g);
        let (ip, op, kv) = (g.in_plane(), g.out_plane(), g.kernel[0] * g.kernel[1]);
        let nph = g.strides[0] * g.strides[1];
        let (phases, flat) = self.scratch.split_at_mut(nph * l.plane);
        let flat = &mut flat[..l.flat];
        for p in 0..g.batch * g.in_channels {
            let c = p % g.in_channels;
            fill_phases(g, &l, &self.x[p * ip..][..ip], phases);
            let taps = &self.w[c * kv..][..kv];
            let bias = self.bias.map_or(0.0, |b| b[c]);
            let mut f0 = 0;
            while f0 + CHUNK <= l.flat {
                chunk::<S, 4>(s, g, &l, phases, taps, bias, self.act, f0, &mut flat[f0..]);
                f0 += CHUNK;
            }
            while f0 < l.flat {
                chunk::<S, 1>(s, g, &l, phases, taps, bias, self.act, f0, &mut flat[f0..]);
                f0 += ROW;
            }
            let [oh, ow] = g.output;
            let yp = &mut self.y[p * op..][..op];
            for (yr, fr) in yp.chunks_exact_mut(ow).zip(flat.chunks(l.pw)).take(oh) {
                yr.copy_from_slice(&fr[..ow]);
            }
        }
    }
}

/// Fills the phase planes of one channel's input plane `x` (zero in the padding and tails).
fn fill_phases(g: &Conv2d, l: &Layout, x: &[f32], phases: &mut [f32]) {
    let ([ih, iw], [sh, sw]) = (g.input, g.strides);
    for (pi, plane) in phases.chunks_exact_mut(l.plane).enumerate() {
        let (ry, rx) = (pi / sw, pi % sw);
        let (rows, tail) = plane.split_at_mut(l.ph * l.pw);
        tail.fill(0.0);
        let col0 = rx as isize - g.pads[1] as isize;
        let (lo, hi) = crate::reference::nn::valid_range(l.pw, iw, sw, col0);
        for (i, row) in rows.chunks_exact_mut(l.pw).enumerate() {
            let r = (i * sh + ry) as isize - g.pads[0] as isize;
            if r < 0 || r as usize >= ih || hi <= lo {
                row.fill(0.0);
                continue;
            }
            let xr = &x[r as usize * iw..][..iw];
            row[..lo].fill(0.0);
            row[hi..].fill(0.0);
            let first = (col0 + (lo * sw) as isize) as usize;
            if sw == 1 {
                row[lo..hi].copy_from_slice(&xr[first..first + (hi - lo)]);
            } else {
                for (d, &v) in row[lo..hi].iter_mut().zip(xr[first..].iter().step_by(sw)) {
                    *d = v;
                }
            }
        }
    }
}

/// `Q * ROW` flat outputs from `f0`, stored (activation applied) into `out`.
#[inline(always)]
fn chunk<S: Simd, const Q: usize>(
    s: S,
    g: &Conv2d,
    l: &Layout,
    phases: &[f32],
    taps: &[f32],
    bias: f32,
    act: Activation,
    f0: usize,
    out: &mut [f32],
) {
    let ([kh, kw], [sh, sw], [dh, dw]) = (g.kernel, g.strides, g.dilations);
    let bv = s.splat(bias);
    let mut acc = [s.row_zero(); Q];
    for row in acc.iter_mut() {
        for v in row.as_mut() {
            *v = bv;
        }
    }
    for ky in 0..kh {
        let (ry, oy) = (ky * dh % sh, ky * dh / sh);
        for kx in 0..kw {
            let (rx, ox) = (kx * dw % sw, kx * dw / sw);
            let src = &phases[(ry * sw + rx) * l.plane + oy * l.pw + ox + f0..][..Q * ROW];
            let wv = s.splat(taps[ky * kw + kx]);
            for (q, row) in acc.iter_mut().enumerate() {
                let xv = load_row(s, &src[q * ROW..]);
                for (a, &xv) in row.as_mut().iter_mut().zip(xv.as_ref()) {
                    *a = s.mul_add(wv, xv, *a);
                }
            }
        }
    }
    for (q, row) in acc.iter_mut().enumerate() {
        for v in row.as_mut() {
            *v = apply_v(s, act, *v);
        }
        store_row(s, &mut out[q * ROW..], row);
    }
}
