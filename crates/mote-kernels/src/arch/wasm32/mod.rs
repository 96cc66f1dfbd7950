//! wasm32: simd128, present when the crate is compiled with `-C target-feature=+simd128`
//! (WebAssembly has no run-time detection; a module using it fails validation where
//! unsupported).

pub(crate) mod int8;
mod simd;

pub(crate) use simd::Simd128;

use crate::fast::simd::SimdOp;

/// Runs `op` with simd128.
#[inline]
pub(crate) fn run<Op: SimdOp>(op: Op) -> Op::Output {
    op.run(Simd128::new())
}
