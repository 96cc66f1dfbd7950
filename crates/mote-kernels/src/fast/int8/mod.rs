//! Fast int8 kernels (NHWC, TFLite's integer-only semantics) with runtime ISA dispatch, giving
//! **the same bits** as [`crate::reference::int8`] on every path ([`Q8Path`]): the dot products
//! are exact (i32, wrapping like the reference), and the requantization is TFLite's fixed-point
//! arithmetic done lane-wise with identical rounding.
//!
//! | op | ahead of time (compiler) | at load | per inference |
//! | --- | --- | --- | --- |
//! | Conv (any groups, depthwise), FC (a 1x1 conv with `h = 1`, `w = rows`) | [`conv_pack_len`], [`conv_pack`] | [`conv_scratch_len`] | [`conv2d`] |
//! | Add, Mul | | | [`add`], [`mul`] |
//! | AveragePool, MaxPool | | | [`avg_pool`], [`max_pool`] |
//! | Mean over H, W | | | [`mean_hw`] |
//! | Softmax, table activations | | | [`softmax`], [`lut`] |
//!
//! How each path computes a convolution: the weights are packed in panels of 16 output
//! channels by 4-deep groups of the reduction (`[K/4][16][4]` bytes, the `vpdpbusd`/`sdot`
//! order), with each channel's weight sum. A convolution is a GEMM of output pixels (NHWC rows
//! read in place for 1x1 stride 1, im2col rows padded with the input zero point otherwise) by
//! the panels, accumulating `Σ x·w` and subtracting `(x_zp + offset) Σw` per channel, which also
//! makes padded taps contribute exactly 0. AVX-512 VNNI offsets activations to u8 (`x ^ 0x80`,
//! offset 128); AVX2 sign-extends both operands to 16 bits (`vpmaddwd`: never the saturating
//! `vpmaddubsw`); NEON uses `sdot` where the CPU has it, else `smull` + `sadalp`; simd128
//! `i32x4.dot_i16x8_s`. Depthwise convolutions are vectorised over channels with 16-bit
//! `x - x_zp` and 32-bit accumulation.
//!
//! Preconditions (the caller validates them at load; a violation panics, a caller bug): the
//! slices hold the geometry's elements, `lo <= hi`. Any zero point and clamp values give the
//! reference's result (an input zero point outside `[-128, 127]` takes a slow portable path).

mod conv;
pub(crate) mod kernels;
mod ops;
mod pack;

pub use crate::fast::cpu::Q8Path;
pub use crate::reference::int8::{AddParams, Conv2d, MulParams, Pool2d, Requant, SoftmaxParams};
pub use ops::{add, avg_pool, lut, max_pool, mean_hw, mul, softmax};
pub use pack::{Q8_PACK_VERSION, conv_pack, conv_pack_len, conv_scratch_len};

use crate::fast::Cpu;
use kernels::Portable;

/// NHWC int8 convolution, equal to [`crate::reference::int8::conv2d`] on the weights `packed`
/// was made from ([`conv_pack`]). `scratch` has [`conv_scratch_len`] elements; nothing is kept in
/// it between calls.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    cpu: Cpu,
    g: &Conv2d,
    x: &[i8],
    x_zp: i32,
    packed: &[u8],
    out: &Requant<'_>,
    y: &mut [i8],
    scratch: &mut [i32],
) {
    match cpu.q8() {
        #[cfg(target_arch = "x86_64")]
        Q8Path::Avx2 => {
            conv::conv_with(crate::arch::x86_64::int8::Avx2Q8::new(cpu), g, x, x_zp, packed, out, y, scratch)
        }
        #[cfg(target_arch = "x86_64")]
        Q8Path::Avx512Vnni => {
            conv::conv_with(crate::arch::x86_64::int8::VnniQ8::new(cpu), g, x, x_zp, packed, out, y, scratch)
        }
        #[cfg(target_arch = "aarch64")]
        Q8Path::Neon => conv::conv_with(crate::arch::aarch64::int8::NeonQ8::new(), g, x, x_zp, packed, out, y, scratch),
        #[cfg(target_arch = "aarch64")]
        Q8Path::NeonDot => {
            conv::conv_with(crate::arch::aarch64::int8::DotQ8::new(cpu), g, x, x_zp, packed, out, y, scratch)
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Q8Path::Simd128 => {
            conv::conv_with(crate::arch::wasm32::int8::Simd128Q8::new(), g, x, x_zp, packed, out, y, scratch)
        }
        _ => conv::conv_with(Portable, g, x, x_zp, packed, out, y, scratch),
    }
}
