//! Transposed 2-D convolution (ONNX `ConvTranspose`), NCHW, with weights packed ahead of time
//! and a fused bias + activation.
//!
//! Per image and group, the products are one GEMM: `cols [M/g*kh*kw x H*W] = Wt_g [M/g*kh*kw x
//! C/g] * X_g [C/g x H*W]`, where `Wt_g` is the group's weights `[C/g, M/g*kh*kw]` transposed
//! (packed once by [`conv_transpose_pack_weights`]) and the input is read in place as B. Each
//! row `(oc, ky, kx)` of `cols` is then scattered to the output positions `(ih * sh + ky * dh -
//! ph, iw * sw + kx * dw - pw)` (col2im), skipping those that fall outside. The GEMM runs over
//! bands of input rows so that `cols` stays in L2.
//!
//! When the windows tile the output exactly (kernel = stride, no dilation, no padding, output =
//! input * stride: the 2x2 stride-2 upsampling of detection heads) every output element gets
//! exactly one product: the GEMM adds the bias and applies the activation in its epilogue, and
//! the scatter only moves the results. Otherwise the output is first filled with the bias, the
//! products are added, and the activation runs last.
//!
//! Uses the geometry type of convolutions, [`Conv2d`], with the roles of its fields as in
//! ONNX's `ConvTranspose`: `input` is `x`'s plane, `output` is `y`'s (output padding and
//! `output_shape` are implied by it), `in_channels` is `C` (`x`), `out_channels` is `M` (`y`),
//! weights are `[C, M/group, kh, kw]`.

use super::activation::{Activation, activation_in_place};
use super::conv::{Conv2d, GeometryError};
use super::cpu::Cpu;
use super::gemm::pack::Strided;
use super::gemm::{self, ASrc, BSrc, Bias, Gemm, MR};

/// Floats of `cols` per band (256 KiB: stays in L2 while it is scattered).
const COLS_BUDGET: usize = 64 * 1024;

/// Checks that `g` is a consistent transposed-convolution geometry; the kernels assume it (and
/// otherwise may panic).
pub fn conv_transpose_validate(g: &Conv2d) -> Result<(), GeometryError> {
    let grp = g.group;
    if grp == 0 || !g.in_channels.is_multiple_of(grp) || !g.out_channels.is_multiple_of(grp) {
        return Err(GeometryError::Group);
    }
    if [g.kernel, g.strides, g.dilations].iter().flatten().any(|&v| v == 0) {
        return Err(GeometryError::ZeroWindow);
    }
    let limit = isize::MAX as usize / 4;
    let sizes = [
        mul_all(&[g.batch, g.in_channels, g.input[0], g.input[1]]),
        mul_all(&[g.batch, g.out_channels, g.output[0], g.output[1]]),
        mul_all(&[g.out_channels.div_ceil(gemm::MR) + grp, gemm::MR, g.kernel[0], g.kernel[1], g.in_channels]),
        mul_all(&[g.kernel[0], g.dilations[0], g.kernel[1], g.dilations[1]]),
        mul_all(&[g.input[0], g.strides[0], g.input[1], g.strides[1]]),
        mul_all(&[rows_m(g), g.input[1].max(1)]),
        Some(g.pads[0].saturating_add(g.pads[1])),
    ];
    if sizes.iter().any(|s| s.is_none_or(|s| s > limit)) {
        return Err(GeometryError::TooLarge);
    }
    Ok(())
}

fn mul_all(v: &[usize]) -> Option<usize> {
    v.iter().try_fold(1usize, |a, &b| a.checked_mul(b))
}

/// `M/group * kh * kw`: the GEMM's rows per group.
fn rows_m(g: &Conv2d) -> usize {
    (g.out_channels / g.group.max(1)).saturating_mul(g.kernel[0]).saturating_mul(g.kernel[1])
}

/// Input rows per band: as many as keep `cols` within [`COLS_BUDGET`], at least one.
fn band_rows(g: &Conv2d) -> usize {
    let per_row = rows_m(g).saturating_mul(g.input[1]).max(1);
    (COLS_BUDGET / per_row).clamp(1, g.input[0].max(1))
}

/// Whether the windows tile the output exactly (see the module docs).
pub(crate) fn tiles_exactly(g: &Conv2d) -> bool {
    g.kernel == g.strides
        && g.dilations == [1, 1]
        && g.pads == [0, 0]
        && g.output == [g.input[0] * g.strides[0], g.input[1] * g.strides[1]]
}

/// Length in floats of the packed weights of `g` (meaningful for a valid `g`,
/// [`conv_transpose_validate`]; never panics).
pub fn conv_transpose_pack_weights_len(g: &Conv2d) -> usize {
    let group = g.group.max(1);
    group.saturating_mul(gemm::pack_a_len(rows_m(g), g.in_channels / group))
}

/// Packs the weights `w` (`[C, M/group, kh, kw]`, as in ONNX) into `out` (at least
/// [`conv_transpose_pack_weights_len`] floats), once, ahead of time.
///
/// Format (version [`PACK_FORMAT_VERSION`](super::PACK_FORMAT_VERSION), the same on every
/// ISA): the groups back to back, each `pack_a_len(M/group * kh * kw, C/group)` floats holding
/// the transpose of its `[C/group x M/group*kh*kw]` weight matrix in the packed-A layout of
/// [`pack_a`](super::pack_a).
///
/// Panics (a caller bug) if `g` is invalid or a slice is shorter than its shape.
pub fn conv_transpose_pack_weights(g: &Conv2d, w: &[f32], out: &mut [f32]) {
    if let Err(e) = conv_transpose_validate(g) {
        panic!("conv_transpose_pack_weights: invalid geometry: {e}");
    }
    let (cg, m) = (g.in_channels / g.group, rows_m(g));
    assert!(w.len() >= g.in_channels * m, "conv_transpose_pack_weights: weights shorter than [C, M/group, kh, kw]");
    assert!(
        out.len() >= conv_transpose_pack_weights_len(g),
        "conv_transpose_pack_weights: out shorter than conv_transpose_pack_weights_len"
    );
    let per = gemm::pack_a_len(m, cg);
    for gi in 0..g.group {
        if m > 0 && cg > 0 {
            gemm::pack_a(m, cg, &w[gi * cg * m..][..cg * m], 1, m, &mut out[gi * per..][..per]);
        }
    }
}

/// Scratch floats [`conv_transpose2d`] needs (the bias per GEMM row, one band of `cols` and
/// the GEMM's packing buffer; meaningful for a valid `g`, never panics).
pub fn conv_transpose2d_scratch_len(g: &Conv2d) -> usize {
    let (m, n) = (rows_m(g), band_rows(g).saturating_mul(g.input[1]));
    let k = g.in_channels / g.group.max(1);
    m.saturating_mul(n.saturating_add(1)).saturating_add(gemm::gemm_scratch_len(m, n, k, true, false))
}

/// `y = act(conv_transpose(x, w) + bias)`: `x` is `[N, C, H, W]`, `y` is `[N, M, OH, OW]`
/// (overwritten), `packed_w` comes from [`conv_transpose_pack_weights`], `bias` has `M` values,
/// `scratch` has at least [`conv_transpose2d_scratch_len`] floats.
///
/// Panics (a caller bug) if `g` is invalid ([`conv_transpose_validate`]) or a slice is shorter
/// than its shape.
pub fn conv_transpose2d(
    cpu: Cpu,
    g: &Conv2d,
    x: &[f32],
    packed_w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    if let Err(e) = conv_transpose_validate(g) {
        panic!("conv_transpose2d: invalid geometry: {e}");
    }
    let (cg, mg, m) = (g.in_channels / g.group, g.out_channels / g.group, rows_m(g));
    let (ip, op) = (g.in_plane(), g.out_plane());
    assert!(x.len() >= g.batch * g.in_channels * ip, "conv_transpose2d: x shorter than [N, C, H, W]");
    assert!(y.len() >= g.batch * g.out_channels * op, "conv_transpose2d: y shorter than [N, M, OH, OW]");
    assert!(
        packed_w.len() >= conv_transpose_pack_weights_len(g),
        "conv_transpose2d: packed weights shorter than conv_transpose_pack_weights_len"
    );
    assert!(
        scratch.len() >= conv_transpose2d_scratch_len(g),
        "conv_transpose2d: scratch shorter than conv_transpose2d_scratch_len"
    );
    if let Some(b) = bias {
        assert!(b.len() >= g.out_channels, "conv_transpose2d: bias shorter than M");
    }
    let y = &mut y[..g.batch * g.out_channels * op];
    if y.is_empty() {
        return;
    }
    let per = gemm::pack_a_len(m, cg);
    for n in 0..g.batch {
        for gi in 0..g.group {
            let xg = &x[(n * g.in_channels + gi * cg) * ip..][..cg * ip];
            let yg = &mut y[(n * g.out_channels + gi * mg) * op..][..mg * op];
            let bg = bias.map(|b| &b[gi * mg..][..mg]);
            channels(cpu, g, xg, &packed_w[gi * per..][..per], bg, act, 0..mg, yg, scratch);
        }
    }
    if !tiles_exactly(g) {
        activation_in_place(cpu, act, y);
    }
}

/// Output channels per block of a split of one group's channels: `oc * kh * kw` must be a
/// multiple of `MR` at every split, so that each part starts at a packed-A panel.
pub(crate) fn channel_align(g: &Conv2d) -> usize {
    let kv = (g.kernel[0] * g.kernel[1]).max(1);
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    MR / gcd(kv, MR)
}

/// Output channels `oc` of one image and group (`oc.start` a multiple of [`channel_align`]):
/// `xg` the group's input, `wg` its packed weights, `bg` its bias, `yc` the planes of those
/// channels (overwritten). What [`conv_transpose2d`] computes for them, bit for bit, except
/// that when the windows do not tile the output exactly the activation is left to the caller
/// (applied over the whole output at once, so that every element takes the same vector or
/// scalar-tail path whatever the split).
#[allow(clippy::too_many_arguments)]
pub(crate) fn channels(
    cpu: Cpu,
    g: &Conv2d,
    xg: &[f32],
    wg: &[f32],
    bg: Option<&[f32]>,
    act: Activation,
    oc: core::ops::Range<usize>,
    yc: &mut [f32],
    scratch: &mut [f32],
) {
    let (cg, op, ip) = (g.in_channels / g.group, g.out_plane(), g.in_plane());
    let kv = g.kernel[0] * g.kernel[1];
    let (m, row0) = (oc.len() * kv, oc.start * kv);
    let exact = tiles_exactly(g);
    if !exact {
        for (plane, c) in yc.chunks_exact_mut(op.max(1)).zip(oc.clone()) {
            plane.fill(bg.map_or(0.0, |b| b[c]));
        }
    }
    let [h, w] = g.input;
    let band = band_rows(g);
    let (row_bias, scratch) = scratch.split_at_mut(rows_m(g));
    let (cols, gemm_scratch) = scratch.split_at_mut(rows_m(g) * band * w);
    // Exact tiling: bias and activation fused into the GEMM (one bias per row `(oc, ky, kx)`),
    // the scatter only moves values.
    let (gemm_bias, gemm_act) = match bg {
        Some(b) if exact => {
            for (r, v) in row_bias[..m].iter_mut().enumerate() {
                *v = b[oc.start + r / kv];
            }
            (Bias::PerRow(&row_bias[..m]), act)
        }
        _ if exact => (Bias::None, act),
        _ => (Bias::None, Activation::None),
    };
    let a = wg.get(row0 / MR * cg * MR..).unwrap_or(&[]);
    for r0 in (0..h).step_by(band) {
        let rows = (h - r0).min(band);
        let nb = rows * w;
        let problem = Gemm {
            m,
            n: nb,
            k: cg,
            a: ASrc::Packed(a),
            b: BSrc::Strided(Strided { data: &xg[r0 * w..], rs: ip, cs: 1 }),
            ldc: nb,
            bias: gemm_bias,
            act: gemm_act,
        };
        let cols = &mut cols[..m * nb];
        if cg == 0 {
            // No input channels: every product is the bias (then the activation).
            for (r, row) in cols.chunks_exact_mut(nb).enumerate() {
                row.fill(match gemm_bias {
                    Bias::PerRow(b) => b[r],
                    _ => 0.0,
                });
                activation_in_place(cpu, gemm_act, row);
            }
        } else {
            gemm::gemm_run(cpu, &problem, cols, gemm_scratch);
        }
        let band = Band { r0, rows, cols };
        if exact {
            band.write(g, yc);
        } else {
            band.add(g, yc);
        }
    }
}

/// The products of input rows `r0..r0 + rows`: `cols` is `[M/g*kh*kw x rows*W]`.
struct Band<'a> {
    r0: usize,
    rows: usize,
    cols: &'a [f32],
}

impl Band<'_> {
    /// Exact tiling: `y[oc][ih*kh + ky][iw*kw + kx] = cols[(oc, ky, kx)][ih][iw]`.
    fn write(&self, g: &Conv2d, yg: &mut [f32]) {
        let ([kh, kw], [_, w], ow) = (g.kernel, g.input, g.output[1]);
        let nb = self.rows * w;
        let op = g.out_plane();
        for (oc, plane) in yg.chunks_exact_mut(op).enumerate() {
            for ky in 0..kh {
                for r in 0..self.rows {
                    let oh = (self.r0 + r) * kh + ky;
                    let dst = &mut plane[oh * ow..][..ow];
                    let src = |kx: usize| &self.cols[((oc * kh + ky) * kw + kx) * nb + r * w..][..w];
                    if kw == 2 {
                        let (s0, s1) = (src(0), src(1));
                        for ((d, &a), &c) in dst.chunks_exact_mut(2).zip(s0).zip(s1) {
                            d[0] = a;
                            d[1] = c;
                        }
                    } else {
                        for kx in 0..kw {
                            for (d, &v) in dst[kx..].iter_mut().step_by(kw).zip(src(kx)) {
                                *d = v;
                            }
                        }
                    }
                }
            }
        }
    }

    /// General case: adds every product that lands inside the output.
    fn add(&self, g: &Conv2d, yg: &mut [f32]) {
        let ([kh, kw], [_, w], [oh_len, ow_len]) = (g.kernel, g.input, g.output);
        let ([sh, sw], [dh, dw], [ph, pw]) = (g.strides, g.dilations, g.pads);
        let nb = self.rows * w;
        let op = g.out_plane();
        for (oc, plane) in yg.chunks_exact_mut(op).enumerate() {
            for ky in 0..kh {
                let (lo, hi) = valid(self.r0, self.r0 + self.rows, sh, ky * dh, ph, oh_len);
                for kx in 0..kw {
                    let (wlo, whi) = valid(0, w, sw, kx * dw, pw, ow_len);
                    if wlo >= whi {
                        continue;
                    }
                    let row = &self.cols[((oc * kh + ky) * kw + kx) * nb..][..nb];
                    for ih in lo..hi {
                        let oh = ih * sh + ky * dh - ph;
                        let src = &row[(ih - self.r0) * w..][wlo..whi];
                        let start = wlo * sw + kx * dw - pw;
                        let dst = &mut plane[oh * ow_len..][..ow_len];
                        for (d, &v) in dst[start..].iter_mut().step_by(sw).zip(src) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

/// Input positions `i` in `lo..hi` with `0 <= i * s + off - p < out`, as a range.
fn valid(lo: usize, hi: usize, s: usize, off: usize, p: usize, out: usize) -> (usize, usize) {
    // i * s + off >= p  <=>  i >= ceil((p - off) / s)
    let first = p.saturating_sub(off).div_ceil(s);
    // i * s + off < p + out  <=>  i < ceil((p + out - off) / s)
    let end = (p + out).saturating_sub(off).div_ceil(s);
    (lo.max(first), hi.min(end).max(lo.max(first)))
}
