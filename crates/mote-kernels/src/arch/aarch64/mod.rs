//! aarch64: Advanced SIMD (NEON), part of the base architecture (always available).

mod simd;

pub(crate) use simd::Neon;

use crate::fast::simd::SimdOp;

/// Runs `op` with NEON.
#[inline]
pub(crate) fn run<Op: SimdOp>(op: Op) -> Op::Output {
    op.run(Neon::new())
}
