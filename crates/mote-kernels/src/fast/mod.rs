//! Fast f32 kernels with runtime ISA dispatch.
//!
//! Every kernel takes a [`Cpu`] (detect it once with [`Cpu::detect`]) and runs the best path it
//! names: AVX2 + FMA on x86_64 (detected at run time), NEON on aarch64, simd128 on wasm32 when
//! compiled with it, and a portable scalar path everywhere ([`Cpu::scalar`]). Kernels are
//! written once against a small vector abstraction and instantiated per ISA; the per-ISA code
//! (the only `unsafe`) lives in `crate::arch`.
//!
//! Layout is NCHW, row-major, f32 (and the channel-blocked NCHWc8 of [`blocked`]). Nothing allocates: callers pass outputs and scratch, sized
//! with the `*_len` functions. Shapes are the caller's to validate ([`Conv2d::validate`],
//! [`Pool2d::validate`]); an inconsistent shape or a short slice panics (a caller bug), never
//! reads out of bounds.
//!
//! Results agree with the reference kernels within f32 rounding: SIMD paths fuse multiply-adds
//! and sum in a different order than the reference, so they are not bit-identical across ISAs.
//!
//! # Calling it from a runtime
//!
//! | op | ahead of time (compiler) | at load | per inference |
//! | --- | --- | --- | --- |
//! | Conv (not depthwise) | [`conv_pack_weights_len`], [`conv_pack_weights`] | [`conv2d_scratch_len`] | [`conv2d`] |
//! | ConvTranspose ([`conv_transpose_validate`]) | [`conv_transpose_pack_weights_len`], [`conv_transpose_pack_weights`] | [`conv_transpose2d_scratch_len`] | [`conv_transpose2d`] |
//! | Conv, depthwise ([`Conv2d::is_depthwise`]) | weights as in ONNX | [`depthwise2d_scratch_len`] | [`depthwise2d`] |
//! | Gemm / MatMul with constant B | [`pack_b_len`], [`pack_b`] (or A: [`pack_a`]) | [`gemm_scratch_len`] | [`gemm()`] |
//! | Add/Sub/Mul/Div/Max/Min (+ activation) | | | [`binary`], [`binary_in_place`] |
//! | Relu, Clip, Sigmoid, HardSigmoid, HardSwish, LeakyRelu, Tanh | | | [`activation()`], [`activation_in_place`] (or fused: [`Activation`]) |
//! | MaxPool, AveragePool | | [`pool2d_scratch_len`] | [`pool2d`] |
//! | GlobalAveragePool | | | [`global_avg_pool`] |
//! | Softmax (last axis) | | | [`softmax()`] |
//! | Conv, channel-blocked layout ([`blocked_supported`]) | [`blocked_pack_weights_len`], [`blocked_pack_weights`] | [`blocked_conv2d_scratch_len`] | [`blocked_conv2d`] (layouts: [`reorder_to_blocked`], [`reorder_from_blocked`]) |
//! | LayerNormalization, RMSNormalization (last axes) | | | [`layer_norm`], [`rms_norm`] |
//! | GridSample (2-D, f32) | | | [`grid_sample_2d`] |
//!
//! Each of the heavy kernels has a `*_par` twin ([`par`](mod@par)) that splits it into
//! independent tasks for a [`Parallel`] (several threads, each with its own scratch), with
//! results bit-identical to the single-threaded kernel.
//!
//! [`Cpu::detect`] runs `cpuid`, which is slow under a hypervisor: detect once at load. One
//! scratch buffer sized by the largest `*_len` of a model serves every call (kernels do not
//! keep anything in it between calls).
//!
//! Packed weights are ISA-independent and versioned ([`PACK_FORMAT_VERSION`]; layouts in
//! [`gemm`](mod@gemm) and [`conv_pack_weights`]): store the version with them and repack when it
//! changes. `MR`/`NR` are part of the format.

pub mod activation;
pub mod blocked;
pub mod conv;
mod conv_direct;
pub mod conv_transpose;
pub mod cpu;
pub mod depthwise;
pub mod elementwise;
pub mod fft;
pub mod gemm;
pub mod int8;
pub mod matvec;
pub mod norm;
pub mod par;
pub mod pool;
pub mod qgemm;
pub mod reduce;
pub mod sample;
pub(crate) mod simd;
pub mod softmax;
pub mod sparse;
pub mod widen;
mod window;

pub use activation::{Activation, activation, activation_in_place};
pub use blocked::{
    BLOCK, BLOCKED_FORMAT_VERSION, STEM_MAX_CHANNELS, blocked_conv2d, blocked_conv2d_scratch_len, blocked_pack_weights,
    blocked_pack_weights_len, blocked_reads_nchw, blocked_supported, reorder_from_blocked, reorder_to_blocked,
};
pub use conv::{Conv2d, GeometryError, conv_pack_weights, conv_pack_weights_len, conv2d, conv2d_scratch_len};
pub use conv_transpose::{
    conv_transpose_pack_weights, conv_transpose_pack_weights_len, conv_transpose_validate, conv_transpose2d,
    conv_transpose2d_scratch_len,
};
pub use cpu::{Cpu, Isa, Q8Path};
pub use depthwise::{depthwise2d, depthwise2d_scratch_len};
pub use elementwise::{BinaryOp, Rhs, binary, binary_in_place};
pub use gemm::{
    Bias, MR, NR, Operand, PACK_FORMAT_VERSION, gemm, gemm_scratch_len, pack_a, pack_a_len, pack_b, pack_b_len,
};
pub use matvec::matvec_add;
pub use norm::{layer_norm, rms_norm};
pub use par::{
    Parallel, Sequential, TaskFault, binary_par, blocked_conv2d_par, conv_transpose2d_par, conv2d_par, depthwise2d_par,
    gemm_par, global_avg_pool_par, pool2d_par,
};
pub use pool::{Pool2d, PoolKind, global_avg_pool, pool2d, pool2d_scratch_len};
pub use reduce::reduce_middle;
pub use sample::grid_sample_2d;
pub use softmax::softmax;
pub use sparse::{Csr, SPARSE_CHUNK, csr_nnz, csr_pack, csr_panels, spmm};

#[cfg(test)]
mod tests;
