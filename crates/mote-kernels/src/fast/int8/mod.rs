//! Fast int8 kernels (NHWC, TFLite's integer-only semantics) with runtime ISA dispatch, giving
//! **the same bits** as [`crate::reference::int8`] on every path ([`Q8Path`]): the dot products
//! are exact (i32, wrapping like the reference), and the requantization is TFLite's fixed-point
//! arithmetic done lane-wise with identical rounding.
//!
//! | op | ahead of time (compiler) | at load | per inference |
//! | --- | --- | --- | --- |
//! | Conv (any groups, depthwise), FC (a 1x1 conv with `h = 1`, `w = rows`) | [`conv_pack_len`], [`conv_pack`] | [`conv_scratch_min`] ..= [`conv_scratch_len`] | [`conv2d`] |
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
//! `i32x4.dot_i16x8_s`; 32-bit Arm with the DSP extension (Cortex-M4/M7, chosen at compile time:
//! `build.rs`) unpacks words with `sxtb16` and multiplies two pairs a `smlad`, 2 rows x 2
//! channels at a time (`arch/arm/`, docs/MICROCONTROLLERS.md). Depthwise convolutions are vectorised over blocks of 16 channels (the
//! last block overlapping the previous one when 16 does not divide the channels): on x86 a
//! whole-convolution kernel slides along the output rows (kernel rows paired for `vpmaddwd` /
//! `vpdpwssd`, in half blocks of 8 channels for 8..15 channels, or, with VNNI and at most 4
//! kernel rows, grouped by four for `vpdpbusd` on 32 channels), one input column serving every pixel of a group that reads it, taps outside the
//! image reading `x_zp`, `x_zp Σw` folded into the bias (other shapes: taps paired per pixel);
//! NEON and simd128 widen `x - x_zp` to 16 bits and accumulate in 32; the DSP path does so 4
//! channels a word (`ssub16`, `smlabb`/`smlatt`). On the VNNI path the
//! requantization runs 16 lanes at a time with AVX-512, in one rounding step that gives the
//! same bits.
//! Add and Mul run TFLite's scaling lane-wise (16 elements a step, the reference for the tail).
//! On the VNNI path the Add's input stages run in 32-bit lanes (`arch/x86_64/int8_add512.rs`), and
//! a fully connected layer over one or two rows is a matrix-vector product of up to 8 panels at
//! once (`gemv.rs`). Pools sum blocks of 64 channels (`pool.rs`).
//!
//! Preconditions (the caller validates them at load; a violation panics, a caller bug): the
//! slices hold the geometry's elements, `lo <= hi`. Any zero point and clamp values give the
//! reference's result (an input zero point outside `[-128, 127]` takes a slow portable path).

mod conv;
mod elem;
mod gemv;
pub(crate) mod kernels;
mod ops;
mod pack;
mod pool;
mod sparse;

pub use crate::fast::cpu::Q8Path;
pub use crate::reference::int8::{AddParams, Conv2d, MulParams, Pool2d, Requant, SoftmaxParams};
pub use elem::{add, mul};
pub use ops::{lut, softmax};
pub use pack::{MIN_ROWS, Q8_PACK_VERSION, conv_pack, conv_pack_len, conv_scratch_len, conv_scratch_min};
pub use pool::{avg_pool, max_pool, mean_hw};
pub use sparse::{Q8Blocks, q8_blocks_nnz, q8_blocks_pack, q8_blocks_valid, sparse_conv, sparse_scratch_len};

use crate::fast::Cpu;

/// Runs `$body` with `$k` bound to the int8 primitives of `$cpu`'s path.
macro_rules! with_q8 {
    ($cpu:expr, $k:ident => $body:expr) => {
        match $cpu.q8() {
            #[cfg(target_arch = "x86_64")]
            crate::fast::cpu::Q8Path::Avx2 => {
                let $k = crate::arch::x86_64::int8::Avx2Q8::new($cpu);
                $body
            }
            #[cfg(target_arch = "x86_64")]
            crate::fast::cpu::Q8Path::Avx512Vnni => {
                let $k = crate::arch::x86_64::int8::VnniQ8::new($cpu);
                $body
            }
            #[cfg(target_arch = "aarch64")]
            crate::fast::cpu::Q8Path::Neon => {
                let $k = crate::arch::aarch64::int8::NeonQ8::new();
                $body
            }
            #[cfg(target_arch = "aarch64")]
            crate::fast::cpu::Q8Path::NeonDot => {
                let $k = crate::arch::aarch64::int8::DotQ8::new($cpu);
                $body
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            crate::fast::cpu::Q8Path::Simd128 => {
                let $k = crate::arch::wasm32::int8::Simd128Q8::new();
                $body
            }
            #[cfg(all(target_arch = "arm", mote_arm_dsp))]
            crate::fast::cpu::Q8Path::Dsp => {
                let $k = crate::arch::arm::int8::DspQ8::new();
                $body
            }
            _ => {
                let $k = crate::fast::int8::kernels::Portable;
                $body
            }
        }
    };
}
pub(crate) use with_q8;

/// NHWC int8 convolution, equal to [`crate::reference::int8::conv2d`] on the weights `packed`
/// was made from ([`conv_pack`]). `scratch` has at least [`conv_scratch_min`] elements; the
/// output pixels go in blocks of as many rows as it holds, up to 64 ([`conv_scratch_len`]), with
/// the same result for any size. Nothing is kept in it between calls.
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
    if gemv::try_gemv(cpu, g, x, x_zp, packed, out, y) {
        return;
    }
    with_q8!(cpu, k => conv::conv_with(k, g, x, x_zp, packed, out, y, scratch))
}
