//! Depthwise 2-D convolution (one input and one output channel per group), NCHW, fused bias +
//! activation, vectorized over output positions with the phase-plane scheme of
//! `window` module (every stride, dilation, padding and kernel size; small planes
//! waste few lanes). Weights are used in the ONNX layout, no packing.
//!
//! Accumulation order (every ISA): bias (or 0), then taps in `(ky, kx)` row-major order, then the
//! activation; SIMD paths fuse each multiply-add, the portable path rounds twice.

use super::activation::Activation;
use super::conv::Conv2d;
use super::cpu::Cpu;
use super::simd::{Simd, SimdOp, dispatch};
use super::window::{Reduce, Window};

fn window(g: &Conv2d) -> Window {
    Window {
        input: g.input,
        output: g.output,
        kernel: g.kernel,
        strides: g.strides,
        dilations: g.dilations,
        pads: g.pads,
    }
}

/// Scratch floats [`depthwise2d`] needs: the phase planes of one channel (about the padded
/// input plane). `g` must be valid ([`Conv2d::validate`]).
pub fn depthwise2d_scratch_len(g: &Conv2d) -> usize {
    window(g).scratch_len()
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
        let win = window(g);
        let plan = win.plan();
        let (ip, op, kv) = (g.in_plane(), g.out_plane(), g.kernel[0] * g.kernel[1]);
        for p in 0..g.batch * g.in_channels {
            let c = p % g.in_channels;
            let r = Reduce::Dot { taps: &self.w[c * kv..][..kv], init: self.bias.map_or(0.0, |b| b[c]) };
            win.run(&plan, s, &self.x[p * ip..][..ip], r, self.act, &mut self.y[p * op..][..op], self.scratch, p == 0);
        }
    }
}
