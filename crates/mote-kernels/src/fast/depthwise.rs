//! Depthwise 2-D convolution (one input and one output channel per group), NCHW, fused bias +
//! activation, vectorized along W.
//!
//! Each output row is computed in chunks of [`CHUNK`] columns held in registers. For every
//! kernel row, the input row segment the chunk reads is copied once into `stride` phase buffers
//! on the stack (phase `r` holds the padded input columns `≡ r (mod stride)`, padding as zeros),
//! so every tap is a contiguous vector load whatever the stride, dilation or padding. Kernels
//! whose horizontal extent does not fit the phase buffers (`(kw - 1) * dilation_w / stride_w >=
//! EXTRA` or `stride_w > MAX_STRIDE`) take a plain per-output loop.
//!
//! Accumulation order (every ISA): bias (or 0), then taps in `(ky, kx)` row-major order, then the
//! activation; SIMD paths fuse each multiply-add, as the reference kernel's order otherwise.

use super::activation::{Activation, apply_v};
use super::conv::Conv2d;
use super::cpu::Cpu;
use super::simd::{ROW, Simd, SimdOp, dispatch, load_row, store_row};

/// Output columns per register chunk (four [`ROW`]s).
const CHUNK: usize = 4 * ROW;
/// Extra columns in a phase buffer beyond [`CHUNK`]: room for `(kw - 1) * dilation / stride`.
const EXTRA: usize = 16;
/// Largest horizontal stride the vectorized path handles.
const MAX_STRIDE: usize = 4;

/// `y = act(depthwise_conv(x, w) + bias)`: `x` is `[N, C, H, W]`, `w` is `[C, 1, kh, kw]` (the
/// ONNX layout, used as is: no packing), `bias` has `C` values, `y` is `[N, C, OH, OW]`
/// (overwritten). `g` must satisfy [`Conv2d::is_depthwise`].
///
/// Panics (a caller bug) if `g` is invalid or not depthwise, or a slice is shorter than its
/// shape.
pub fn depthwise2d(cpu: Cpu, g: &Conv2d, x: &[f32], w: &[f32], bias: Option<&[f32]>, act: Activation, y: &mut [f32]) {
    if let Err(e) = g.validate() {
        panic!("depthwise2d: invalid geometry: {e}");
    }
    assert!(g.is_depthwise(), "depthwise2d: group, input and output channels differ");
    let planes = g.batch * g.in_channels;
    assert!(x.len() >= planes * g.in_plane(), "depthwise2d: x shorter than [N, C, H, W]");
    assert!(y.len() >= planes * g.out_plane(), "depthwise2d: y shorter than [N, C, OH, OW]");
    assert!(w.len() >= g.in_channels * g.kernel[0] * g.kernel[1], "depthwise2d: w shorter than [C, 1, kh, kw]");
    if let Some(b) = bias {
        assert!(b.len() >= g.in_channels, "depthwise2d: bias shorter than C");
    }
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

impl SimdOp for Run<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let g = self.g;
        let (ip, op, kv) = (g.in_plane(), g.out_plane(), g.kernel[0] * g.kernel[1]);
        if op == 0 {
            return;
        }
        let fast = g.strides[1] <= MAX_STRIDE && (g.kernel[1] - 1) * g.dilations[1] / g.strides[1] < EXTRA;
        for p in 0..g.batch * g.in_channels {
            let c = p % g.in_channels;
            let plane =
                Plane { x: &self.x[p * ip..][..ip], w: &self.w[c * kv..][..kv], bias: self.bias.map_or(0.0, |b| b[c]) };
            let yp = &mut self.y[p * op..][..op];
            if fast {
                plane_simd(s, g, &plane, self.act, yp);
            } else {
                plane_generic(g, &plane, self.act, yp);
            }
        }
    }
}

/// One channel's input plane, taps and bias.
struct Plane<'a> {
    x: &'a [f32],
    w: &'a [f32],
    bias: f32,
}

/// Input coordinate of output `o`, tap `k` on axis `a` (may be outside the input).
#[inline(always)]
fn input_pos(g: &Conv2d, a: usize, o: usize, k: usize) -> isize {
    (o * g.strides[a] + k * g.dilations[a]) as isize - g.pads[a] as isize
}

#[inline(always)]
fn plane_simd<S: Simd>(s: S, g: &Conv2d, p: &Plane<'_>, act: Activation, y: &mut [f32]) {
    let ([ih, iw], [oh, ow], [kh, kw]) = (g.input, g.output, g.kernel);
    let (sw, dw) = (g.strides[1], g.dilations[1]);
    let mut phases = [[0.0f32; CHUNK + EXTRA]; MAX_STRIDE];
    for oy in 0..oh {
        let yr = &mut y[oy * ow..][..ow];
        for ox0 in (0..ow).step_by(CHUNK) {
            let mut acc = [s.row_zero(); 4];
            let bv = s.splat(p.bias);
            for row in acc.iter_mut() {
                for v in row.as_mut() {
                    *v = bv;
                }
            }
            // Phase buffer length: the chunk plus the taps' reach.
            let len = CHUNK + (kw - 1) * dw / sw + 1;
            for ky in 0..kh {
                let iy = input_pos(g, 0, oy, ky);
                if iy < 0 || iy as usize >= ih {
                    continue;
                }
                let xr = &p.x[iy as usize * iw..][..iw];
                for (r, ph) in phases[..sw].iter_mut().enumerate() {
                    fill_phase(xr, (ox0 * sw + r) as isize - g.pads[1] as isize, sw, &mut ph[..len]);
                }
                for kx in 0..kw {
                    let wv = s.splat(p.w[ky * kw + kx]);
                    let ph = &phases[(kx * dw) % sw][(kx * dw) / sw..];
                    for (q, row) in acc.iter_mut().enumerate() {
                        let xv = load_row(s, &ph[q * ROW..]);
                        for (a, &xv) in row.as_mut().iter_mut().zip(xv.as_ref()) {
                            *a = s.mul_add(wv, xv, *a);
                        }
                    }
                }
            }
            let cols = (ow - ox0).min(CHUNK);
            let mut out = [0.0f32; CHUNK];
            for (q, row) in acc.iter_mut().enumerate() {
                for v in row.as_mut() {
                    *v = apply_v(s, act, *v);
                }
                store_row(s, &mut out[q * ROW..], row);
            }
            yr[ox0..ox0 + cols].copy_from_slice(&out[..cols]);
        }
    }
}

/// `ph[j] = xr[start + j * stride]`, zero outside `xr`.
#[inline(always)]
fn fill_phase(xr: &[f32], start: isize, stride: usize, ph: &mut [f32]) {
    let (lo, hi) = crate::reference::nn::valid_range(ph.len(), xr.len(), stride, start);
    ph[..lo].fill(0.0);
    ph[hi.max(lo)..].fill(0.0);
    if hi > lo {
        let first = (start + (lo * stride) as isize) as usize;
        if stride == 1 {
            ph[lo..hi].copy_from_slice(&xr[first..first + (hi - lo)]);
        } else {
            for (d, &v) in ph[lo..hi].iter_mut().zip(xr[first..].iter().step_by(stride)) {
                *d = v;
            }
        }
    }
}

/// Any geometry, one output at a time (same accumulation order as the vector path).
fn plane_generic(g: &Conv2d, p: &Plane<'_>, act: Activation, y: &mut [f32]) {
    let ([ih, iw], [oh, ow], [kh, kw]) = (g.input, g.output, g.kernel);
    for oy in 0..oh {
        for ox in 0..ow {
            let mut acc = p.bias;
            for ky in 0..kh {
                let iy = input_pos(g, 0, oy, ky);
                if iy < 0 || iy as usize >= ih {
                    continue;
                }
                for kx in 0..kw {
                    let ix = input_pos(g, 1, ox, kx);
                    if ix >= 0 && (ix as usize) < iw {
                        acc += p.w[ky * kw + kx] * p.x[iy as usize * iw + ix as usize];
                    }
                }
            }
            y[oy * ow + ox] = act.apply(acc);
        }
    }
}
