//! Fast f32 kernels with runtime ISA dispatch.
//!
//! Every kernel takes a [`Cpu`] (detect it once with [`Cpu::detect`]) and runs the best path it
//! names: AVX2 + FMA on x86_64 (detected at run time), NEON on aarch64, simd128 on wasm32 when
//! compiled with it, and a portable scalar path everywhere ([`Cpu::scalar`]). Kernels are
//! written once against a small vector abstraction and instantiated per ISA; the per-ISA code
//! (the only `unsafe`) lives in `crate::arch`.
//!
//! Layout is NCHW, row-major, f32. Nothing allocates: callers pass outputs and scratch, sized
//! with the `*_len` functions. Shapes are the caller's to validate ([`Conv2d::validate`],
//! [`Pool2d::validate`]); an inconsistent shape or a short slice panics (a caller bug), never
//! reads out of bounds.
//!
//! Results agree with the reference kernels within f32 rounding: SIMD paths fuse multiply-adds
//! and sum in a different order than the reference, so they are not bit-identical across ISAs.

pub mod activation;
pub mod conv;
pub mod cpu;
pub mod depthwise;
pub mod elementwise;
pub mod gemm;
pub mod pool;
pub(crate) mod simd;
pub mod softmax;
mod window;

pub use activation::{Activation, activation, activation_in_place};
pub use conv::{Conv2d, GeometryError, conv_pack_weights, conv_pack_weights_len, conv2d, conv2d_scratch_len};
pub use cpu::{Cpu, Isa};
pub use depthwise::{depthwise2d, depthwise2d_scratch_len};
pub use elementwise::{BinaryOp, Rhs, binary, binary_in_place};
pub use gemm::{
    Bias, MR, NR, Operand, PACK_FORMAT_VERSION, gemm, gemm_scratch_len, pack_a, pack_a_len, pack_b, pack_b_len,
};
pub use pool::{Pool2d, PoolKind, global_avg_pool, pool2d, pool2d_scratch_len};
pub use softmax::softmax;

#[cfg(test)]
mod tests;
