//! Per-ISA implementations of the fast kernels' vector abstraction (`fast::simd::Simd`).
//!
//! Each module holds the only `unsafe` code of the fast kernels: intrinsics behind a token type
//! that exists only where the ISA is available.

#[cfg(target_arch = "aarch64")]
pub(crate) mod aarch64;
#[cfg(all(target_arch = "arm", mote_arm_dsp))]
pub(crate) mod arm;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) mod wasm32;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86_64;
