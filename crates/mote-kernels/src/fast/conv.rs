//! 2-D convolution, NCHW, with weights packed ahead of time and a fused bias + activation.
//!
//! Per image and group, the convolution is the GEMM `Y_g [M/g x OH*OW] = W_g [M/g x K] *
//! X_g [K x OH*OW]` with `K = C/g * kh * kw`. The weights are A, packed once by
//! [`conv_pack_weights`] (the GEMM packed-A format per group, groups back to back). A 1x1,
//! stride-1, unpadded convolution reads the input directly as B (no im2col); every other shape
//! packs B straight from the image (im2col fused into packing, padding as zeros), never
//! materialising the im2col matrix; a stride-1 one reads B in place from a zero-padded copy of
//! the input (`conv_direct`).

use super::activation::Activation;
use super::conv_direct;
use super::cpu::Cpu;
use super::gemm::pack::{Im2col, Strided};
use super::gemm::{self, ASrc, BSrc, Bias, Gemm};

/// Geometry of a 2-D convolution (a 1-D one is `H = 1`). Sizes are `[height, width]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Conv2d {
    /// `N`.
    pub batch: usize,
    /// `C`.
    pub in_channels: usize,
    /// `M`.
    pub out_channels: usize,
    /// Groups (divides `C` and `M`; `C = M = group` is depthwise).
    pub group: usize,
    /// `[H, W]`.
    pub input: [usize; 2],
    /// `[OH, OW]` (as shape inference computed it: the end padding and ceil/floor rounding are
    /// implied by it).
    pub output: [usize; 2],
    /// `[kh, kw]`.
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub dilations: [usize; 2],
    /// Padding before the first row and column (the end padding follows from `output`).
    pub pads: [usize; 2],
}

/// What is inconsistent in a [`Conv2d`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeometryError {
    /// `group` is 0 or does not divide both channel counts.
    Group,
    /// A stride, dilation or kernel size is 0.
    ZeroWindow,
    /// A tensor or the packed weights would hold more than `isize::MAX` bytes.
    TooLarge,
}

impl core::fmt::Display for GeometryError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            GeometryError::Group => "group is 0 or does not divide the input and output channels",
            GeometryError::ZeroWindow => "a kernel size, stride or dilation is 0",
            GeometryError::TooLarge => "a tensor of the convolution is too large",
        })
    }
}

impl Conv2d {
    /// Checks that the geometry is consistent; the kernels assume it (and otherwise may panic).
    pub fn validate(&self) -> Result<(), GeometryError> {
        let g = self.group;
        if g == 0 || !self.in_channels.is_multiple_of(g) || !self.out_channels.is_multiple_of(g) {
            return Err(GeometryError::Group);
        }
        if [self.kernel, self.strides, self.dilations].iter().flatten().any(|&v| v == 0) {
            return Err(GeometryError::ZeroWindow);
        }
        let limit = isize::MAX as usize / 4;
        let sizes = [
            mul_all(&[self.batch, self.in_channels, self.input[0], self.input[1]]),
            mul_all(&[self.batch, self.out_channels, self.output[0], self.output[1]]),
            mul_all(&[self.out_channels.div_ceil(gemm::MR) + g, gemm::MR, self.k(), 1]),
            mul_all(&[self.kernel[0] - 1, self.dilations[0], self.kernel[1] - 1, self.dilations[1]]),
            mul_all(&[self.output[0], self.strides[0], self.output[1], self.strides[1]]),
        ];
        if sizes.iter().any(|s| s.is_none_or(|s| s > limit)) {
            return Err(GeometryError::TooLarge);
        }
        Ok(())
    }

    /// `C/group * kh * kw`: the GEMM depth per group.
    pub fn k(&self) -> usize {
        self.in_channels / self.group.max(1) * self.kernel[0] * self.kernel[1]
    }

    /// Output positions per channel, `OH * OW`.
    pub fn out_plane(&self) -> usize {
        self.output[0] * self.output[1]
    }

    /// Input positions per channel, `H * W`.
    pub fn in_plane(&self) -> usize {
        self.input[0] * self.input[1]
    }

    /// Whether the convolution reads the input directly as the GEMM's B (1x1, stride 1, no
    /// padding, output size = input size).
    pub fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.strides == [1, 1] && self.pads == [0, 0] && self.output == self.input
    }

    /// Whether [`depthwise2d`](super::depthwise2d) applies: one input and one output channel
    /// per group.
    pub fn is_depthwise(&self) -> bool {
        self.group == self.in_channels && self.group == self.out_channels
    }
}

fn mul_all(v: &[usize]) -> Option<usize> {
    v.iter().try_fold(1usize, |a, &b| a.checked_mul(b))
}

/// Length in floats of the packed weights of `g` (meaningful for a valid `g`,
/// [`Conv2d::validate`]; never panics).
pub fn conv_pack_weights_len(g: &Conv2d) -> usize {
    let group = g.group.max(1);
    group * gemm::pack_a_len(g.out_channels / group, g.k())
}

/// Packs the weights `w` (`[M, C/group, kh, kw]`, as in ONNX) into `out` (at least
/// [`conv_pack_weights_len`] floats), once, ahead of time (at compile time for `.mote` files).
///
/// Format (version [`PACK_FORMAT_VERSION`](super::PACK_FORMAT_VERSION), the same on every
/// ISA): the groups back to back, each `pack_a_len(M/group, K)` floats holding its
/// `[M/group x K]` weight matrix (`K = C/group * kh * kw`, row-major as in ONNX) in the packed-A
/// layout of [`pack_a`](super::pack_a). Depthwise convolutions ([`Conv2d::is_depthwise`]) take
/// their weights unpacked ([`depthwise2d`](super::depthwise2d)).
///
/// Panics (a caller bug) if `g` is invalid or a slice is shorter than its shape.
pub fn conv_pack_weights(g: &Conv2d, w: &[f32], out: &mut [f32]) {
    if let Err(e) = g.validate() {
        panic!("conv_pack_weights: invalid geometry: {e}");
    }
    let (mg, k) = (g.out_channels / g.group, g.k());
    assert!(w.len() >= g.out_channels * k, "conv_pack_weights: weights shorter than [M, C/group, kh, kw]");
    assert!(out.len() >= conv_pack_weights_len(g), "conv_pack_weights: out shorter than conv_pack_weights_len");
    let per = gemm::pack_a_len(mg, k);
    for gi in 0..g.group {
        gemm::pack_a(mg, k, &w[gi * mg * k..][..mg * k], k, 1, &mut out[gi * per..][..per]);
    }
}

/// Scratch floats [`conv2d`] needs (stride 1: one group's zero-padded input; otherwise at most
/// one `256 x 4080` packed block of the input: 4 MiB; meaningful for a valid `g`, never panics).
pub fn conv2d_scratch_len(g: &Conv2d) -> usize {
    if conv_direct::applies(g) {
        return conv_direct::scratch_len(g);
    }
    gemm::gemm_scratch_len(g.out_channels / g.group.max(1), g.out_plane(), g.k(), true, false)
}

/// `y = act(conv(x, w) + bias)`: `x` is `[N, C, H, W]`, `y` is `[N, M, OH, OW]` (overwritten),
/// `packed_w` comes from [`conv_pack_weights`], `bias` has `M` values.
///
/// Every valid geometry works, but depthwise ones ([`Conv2d::is_depthwise`]) are much faster
/// with [`depthwise2d`](super::depthwise2d) (unpacked weights). 1x1, stride-1, unpadded
/// convolutions read `x` in place or pack it per call; others pack im2col panels straight from
/// `x` into `scratch` (never materialising the im2col matrix).
///
/// Panics (a caller bug) if `g` is invalid ([`Conv2d::validate`]) or a slice is shorter than
/// its shape.
pub fn conv2d(
    cpu: Cpu,
    g: &Conv2d,
    x: &[f32],
    packed_w: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    y: &mut [f32],
    scratch: &mut [f32],
) {
    if let Err(e) = g.validate() {
        panic!("conv2d: invalid geometry: {e}");
    }
    let (cg, mg, k) = (g.in_channels / g.group, g.out_channels / g.group, g.k());
    let (ip, op) = (g.in_plane(), g.out_plane());
    assert!(x.len() >= g.batch * g.in_channels * ip, "conv2d: x shorter than [N, C, H, W]");
    assert!(y.len() >= g.batch * g.out_channels * op, "conv2d: y shorter than [N, M, OH, OW]");
    assert!(packed_w.len() >= conv_pack_weights_len(g), "conv2d: packed weights shorter than conv_pack_weights_len");
    assert!(scratch.len() >= conv2d_scratch_len(g), "conv2d: scratch shorter than conv2d_scratch_len");
    if let Some(b) = bias {
        assert!(b.len() >= g.out_channels, "conv2d: bias shorter than M");
    }
    if conv_direct::applies(g) {
        conv_direct::run(cpu, g, x, packed_w, bias, act, y, scratch);
        return;
    }
    let per = gemm::pack_a_len(mg, k);
    for n in 0..g.batch {
        for gi in 0..g.group {
            let xg = &x[(n * g.in_channels + gi * cg) * ip..][..cg * ip];
            let yg = &mut y[(n * g.out_channels + gi * mg) * op..][..mg * op];
            let b = if g.is_pointwise() {
                BSrc::Strided(Strided { data: xg, rs: ip, cs: 1 })
            } else {
                BSrc::Im2col(Im2col { x: xg, g })
            };
            let problem = Gemm {
                m: mg,
                n: op,
                k,
                a: ASrc::Packed(&packed_w[gi * per..][..per]),
                b,
                ldc: op,
                bias: bias.map_or(Bias::None, |b| Bias::PerRow(&b[gi * mg..][..mg])),
                act,
            };
            gemm::gemm_run(cpu, &problem, yg, scratch);
        }
    }
}
