//! Convolutions in the channel-blocked layout `NCHWc8`.
//!
//! A tensor `[N, C, H, W]` with `C` a multiple of [`BLOCK`] is stored as `[N, C / 8, H, W, 8]`:
//! the 8 channels of a block sit next to each other at every pixel. One vector then holds one
//! pixel of 8 channels, so a depthwise convolution uses every lane whatever the plane size or
//! stride (a 7x7 plane or a stride-2 window wastes nothing), and a pointwise convolution is a
//! GEMM with the pixels as rows: `Y [HW x M] = X [HW x C] * W^T [C x M]`, its 6x16 tiles
//! stored as two 8-channel halves into their blocks.
//!
//! | kernel | weights (packed ahead of time) | scratch |
//! | --- | --- | --- |
//! | pointwise (1x1, stride 1, no padding, group 1) | `W^T` in the packed-B GEMM format | none |
//! | depthwise (any window, stride, dilation, padding) | `[C / 8, kh, kw, 8]` | a padded plane (small planes) |
//! | stem (group 1, at most 4 input channels, any window): reads an **NCHW** image | `[M / 8, C, kh, kw, 8]` | none |
//!
//! All are selected by [`blocked_conv2d`] from the geometry ([`blocked_supported`],
//! [`blocked_reads_nchw`]).
//! Accumulation order per output (every ISA): pointwise as [`gemm`](super::gemm()) (K in
//! increasing order, then the bias, then the activation); depthwise starts from the bias and adds
//! the taps inside the input in `(ky, kx)` row-major order, then the activation; stem likewise
//! in `(c, ky, kx)` order. Layout
//! conversions: [`reorder_to_blocked`], [`reorder_from_blocked`].

mod depthwise;
mod pointwise;
mod reorder;
mod stem;

pub use reorder::{reorder_from_blocked, reorder_to_blocked};
pub use stem::STEM_MAX_CHANNELS;

use super::activation::{Activation, apply_v};
use super::conv::Conv2d;
use super::cpu::Cpu;
use super::gemm::{pack_b, pack_b_len};
use super::simd::Simd;

/// Channels per block.
pub use super::simd::BLOCK;

/// One pixel of a channel block (`BLOCK / LANES` vectors).
pub(super) type Px<S> = <S as Simd>::Block;

/// The block at the start of `x`.
#[inline(always)]
pub(super) fn load<S: Simd>(s: S, x: &[f32]) -> Px<S> {
    let x = &x[..BLOCK];
    let mut v = s.block_zero();
    for (j, v) in v.as_mut().iter_mut().enumerate() {
        *v = s.load(&x[j * S::LANES..]);
    }
    v
}

/// Stores `act(v)` at the start of `y`.
#[inline(always)]
pub(super) fn store<S: Simd>(s: S, act: Activation, y: &mut [f32], v: &Px<S>) {
    let y = &mut y[..BLOCK];
    for (j, &v) in v.as_ref().iter().enumerate() {
        s.store(&mut y[j * S::LANES..], apply_v(s, act, v));
    }
}

/// Version of the blocked weight layouts (stored with packed weights in `.mote` files; bump it
/// when a layout in this module changes).
pub const BLOCKED_FORMAT_VERSION: u32 = 1;

/// Whether [`blocked_conv2d`] runs `g`: a valid geometry with output channels a multiple of
/// [`BLOCK`], either a stem ([`blocked_reads_nchw`]) or, with input channels non-zero multiples
/// of [`BLOCK`], pointwise ([`Conv2d::is_pointwise`], group 1) or depthwise.
pub fn blocked_supported(g: &Conv2d) -> bool {
    g.validate().is_ok()
        && g.out_channels.is_multiple_of(BLOCK)
        && (stem::is_stem(g)
            || (g.in_channels > 0
                && g.in_channels.is_multiple_of(BLOCK)
                && ((g.group == 1 && g.is_pointwise()) || g.is_depthwise())))
}

/// Whether the blocked kernel for `g` reads its input in NCHW (a stem convolution: group 1, 1
/// to [`STEM_MAX_CHANNELS`] input channels); the others read the blocked layout.
pub fn blocked_reads_nchw(g: &Conv2d) -> bool {
    blocked_supported(g) && stem::is_stem(g)
}

/// Length in floats of `g`'s blocked weights (0 when `g` is not [`blocked_supported`]).
pub fn blocked_pack_weights_len(g: &Conv2d) -> usize {
    if !blocked_supported(g) {
        0
    } else if stem::is_stem(g) {
        g.out_channels * g.in_channels * g.kernel[0] * g.kernel[1]
    } else if g.is_depthwise() {
        g.in_channels * g.kernel[0] * g.kernel[1]
    } else {
        pack_b_len(g.in_channels, g.out_channels)
    }
}

/// Packs ONNX weights `w` (`[M, C/group, kh, kw]`) for [`blocked_conv2d`] into `out` (at
/// least [`blocked_pack_weights_len`] floats). Pointwise: `W^T [C x M]` in the packed-B layout
/// of [`pack_b`] (version [`PACK_FORMAT_VERSION`](super::PACK_FORMAT_VERSION)); depthwise:
/// `[C / 8, kh, kw, 8]`, element `(b, ky, kx, j)` = `w[8b + j][0][ky][kx]`; stem:
/// `[M / 8, C, kh, kw, 8]`, element `(b, c, ky, kx, j)` = `w[8b + j][c][ky][kx]`.
///
/// Panics (a caller bug) if `g` is not [`blocked_supported`] or a slice is short.
pub fn blocked_pack_weights(g: &Conv2d, w: &[f32], out: &mut [f32]) {
    assert!(blocked_supported(g), "blocked_pack_weights: geometry is not blocked_supported");
    let (c, m, taps) = (g.in_channels, g.out_channels, g.kernel[0] * g.kernel[1]);
    if stem::is_stem(g) {
        stem::pack(g, w, out);
    } else if g.is_depthwise() {
        assert!(w.len() >= c * taps && out.len() >= c * taps, "blocked_pack_weights: short slice");
        for (ch, wc) in w[..c * taps].chunks_exact(taps).enumerate() {
            let (b, j) = (ch / BLOCK, ch % BLOCK);
            for (t, &v) in wc.iter().enumerate() {
                out[(b * taps + t) * BLOCK + j] = v;
            }
        }
    } else {
        // W is [M x C] row-major; its transpose is read with strides (rs = 1, cs = C).
        assert!(w.len() >= m * c, "blocked_pack_weights: weights shorter than [M, C, 1, 1]");
        pack_b(c, m, w, 1, c, out);
    }
}

/// Scratch floats [`blocked_conv2d`] needs for `g`.
pub fn blocked_conv2d_scratch_len(g: &Conv2d) -> usize {
    if blocked_supported(g) && g.is_depthwise() { depthwise::scratch_len(g) } else { 0 }
}

/// `y = act(conv(x, w) + bias)` in the blocked layout: `x` is `[N, C/8, H, W, 8]` (`[N, C, H,
/// W]` when [`blocked_reads_nchw`]), `w` comes
/// from [`blocked_pack_weights`], `bias` has `M` values, `y` is `[N, M/8, OH, OW, 8]`
/// (overwritten), `scratch` has at least [`blocked_conv2d_scratch_len`] floats.
///
/// Panics (a caller bug) if `g` is not [`blocked_supported`] or a slice is shorter than its
/// shape.
#[allow(clippy::too_many_arguments)]
pub fn blocked_conv2d(
    cpu: Cpu,
    g: &Conv2d,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    assert!(blocked_supported(g), "blocked_conv2d: geometry is not blocked_supported");
    assert!(x.len() >= g.batch * g.in_channels * g.in_plane(), "blocked_conv2d: x shorter than its shape");
    assert!(y.len() >= g.batch * g.out_channels * g.out_plane(), "blocked_conv2d: y shorter than its shape");
    assert!(w.len() >= blocked_pack_weights_len(g), "blocked_conv2d: weights shorter than blocked_pack_weights_len");
    assert!(scratch.len() >= blocked_conv2d_scratch_len(g), "blocked_conv2d: scratch too short");
    if let Some(b) = bias {
        assert!(b.len() >= g.out_channels, "blocked_conv2d: bias shorter than M");
    }
    if stem::is_stem(g) {
        stem::run(cpu, g, x, w, bias, act, y);
    } else if g.is_depthwise() {
        depthwise::run(cpu, g, x, w, bias, act, y, scratch);
    } else {
        pointwise::run(cpu, g, x, w, bias, act, y);
    }
}
