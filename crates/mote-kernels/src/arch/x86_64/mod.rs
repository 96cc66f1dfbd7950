//! x86_64: AVX2 + FMA, detected at run time with `cpuid` and `xgetbv` (no `std`).

pub(crate) mod int8;
mod int8_add512;
mod int8_dw;
mod int8_dw4;
pub(crate) mod int8_gemv;
mod int8_rq512;
mod int8_sparse;
mod simd;

pub(crate) use simd::Avx2;

use crate::fast::cpu::{Cpu, Isa};
use crate::fast::simd::SimdOp;
use core::arch::x86_64::{__cpuid, __cpuid_count, _xgetbv};

/// Whether this CPU and OS support AVX2 and FMA (the OS saves the YMM state).
pub(crate) fn has_avx2_fma() -> bool {
    // SAFETY: `cpuid` exists on every x86_64 CPU.
    let leaf0 = __cpuid(0);
    if leaf0.eax < 7 {
        return false;
    }
    // SAFETY: leaf 1 exists on every x86_64 CPU.
    let leaf1 = __cpuid(1);
    let (fma, osxsave, avx) = (leaf1.ecx & (1 << 12) != 0, leaf1.ecx & (1 << 27) != 0, leaf1.ecx & (1 << 28) != 0);
    if !(fma && osxsave && avx) {
        return false;
    }
    // SAFETY: OSXSAVE is set, so `xgetbv` is enabled; XCR0 bits 1 and 2 say the OS saves the
    // XMM and YMM registers.
    let xcr0 = unsafe { xgetbv0() };
    if xcr0 & 0b110 != 0b110 {
        return false;
    }
    // SAFETY: the maximum leaf is at least 7 (checked above).
    let leaf7 = __cpuid_count(7, 0);
    leaf7.ebx & (1 << 5) != 0
}

/// Whether this CPU and OS support AVX-512 VNNI with F, BW, DQ and VL (every CPU with VNNI has
/// them), with the OS saving the opmask and ZMM state that EVEX instructions need.
pub(crate) fn has_avx512_vnni() -> bool {
    if !has_avx2_fma() {
        return false;
    }
    // SAFETY: `has_avx2_fma` checked OSXSAVE, so `xgetbv` is enabled.
    let xcr0 = unsafe { xgetbv0() };
    if xcr0 & 0xe6 != 0xe6 {
        return false;
    }
    // SAFETY: `has_avx2_fma` checked that leaf 7 exists.
    let leaf7 = __cpuid_count(7, 0);
    let (f, vl, vnni) = (leaf7.ebx & (1 << 16) != 0, leaf7.ebx & (1 << 31) != 0, leaf7.ecx & (1 << 11) != 0);
    let (dq, bw) = (leaf7.ebx & (1 << 17) != 0, leaf7.ebx & (1 << 30) != 0);
    f && vl && vnni && dq && bw
}

#[target_feature(enable = "xsave")]
unsafe fn xgetbv0() -> u64 {
    // SAFETY: the caller checked OSXSAVE, so the instruction is available and enabled.
    unsafe { _xgetbv(0) }
}

/// Runs `op` with AVX2 + FMA. Panics unless `cpu` is [`Isa::Avx2Fma`].
#[inline]
pub(crate) fn run<Op: SimdOp>(cpu: Cpu, op: Op) -> Op::Output {
    assert_eq!(cpu.isa(), Isa::Avx2Fma);
    // SAFETY: a `Cpu` naming `Avx2Fma` is only made after `has_avx2_fma()` returned true.
    unsafe { run_avx2(op) }
}

#[target_feature(enable = "avx2,fma")]
fn run_avx2<Op: SimdOp>(op: Op) -> Op::Output {
    // SAFETY: this function is compiled with and only called under AVX2 + FMA.
    op.run(unsafe { Avx2::new() })
}
