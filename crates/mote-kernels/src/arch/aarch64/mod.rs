//! aarch64: Advanced SIMD (NEON), part of the base architecture (always available).

pub(crate) mod int8;
mod simd;

pub(crate) use simd::Neon;

use crate::fast::simd::SimdOp;

/// Runs `op` with NEON.
#[inline]
pub(crate) fn run<Op: SimdOp>(op: Op) -> Op::Output {
    op.run(Neon::new())
}

/// Whether the CPU has the dot-product extension (`sdot`): the kernel's `AT_HWCAP` on Linux and
/// Android (`HWCAP_ASIMDDP`), else whether the build targets it (`-C target-feature=+dotprod`,
/// on by default for Apple targets).
pub(crate) fn has_dotprod() -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        unsafe extern "C" {
            fn getauxval(kind: core::ffi::c_ulong) -> core::ffi::c_ulong;
        }
        const AT_HWCAP: core::ffi::c_ulong = 16;
        const HWCAP_ASIMDDP: core::ffi::c_ulong = 1 << 20;
        // SAFETY: `getauxval` is part of the C library every Linux/Android program links and
        // has no preconditions; it only reads the auxiliary vector.
        let hwcap = unsafe { getauxval(AT_HWCAP) };
        hwcap & HWCAP_ASIMDDP != 0 || cfg!(target_feature = "dotprod")
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        cfg!(target_feature = "dotprod")
    }
}
