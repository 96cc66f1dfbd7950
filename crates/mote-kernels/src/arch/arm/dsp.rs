//! The DSP-extension instructions the int8 kernels use, as `asm!` (the `core::arch::arm`
//! intrinsics are unstable). Each is a pure register operation.

use core::arch::asm;

/// `SXTB16`: bytes 0 and 2 of `v`, sign-extended to the low and high halfwords.
#[inline(always)]
pub(super) fn sxtb16(v: u32) -> u32 {
    let r: u32;
    // SAFETY: a register-to-register instruction of the DSP extension, which every target
    // compiling this module has (`build.rs`); no memory, stack or flags are touched.
    unsafe {
        asm!("sxtb16 {r}, {v}", r = lateout(reg) r, v = in(reg) v, options(pure, nomem, nostack, preserves_flags))
    };
    r
}

/// `SXTB16 ROR #8`: bytes 1 and 3 of `v`, sign-extended to the low and high halfwords.
#[inline(always)]
pub(super) fn sxtb16_ror8(v: u32) -> u32 {
    let r: u32;
    // SAFETY: as in `sxtb16`.
    unsafe {
        asm!("sxtb16 {r}, {v}, ror #8", r = lateout(reg) r, v = in(reg) v, options(pure, nomem, nostack, preserves_flags))
    };
    r
}

/// `SMLAD`: `acc + a.lo * b.lo + a.hi * b.hi` (signed halfwords), wrapping in i32 (it only sets
/// the sticky Q flag on overflow, which nothing reads).
#[inline(always)]
pub(super) fn smlad(a: u32, b: u32, mut acc: i32) -> i32 {
    // SAFETY: a register-to-register instruction of the DSP extension (see `sxtb16`); it may
    // set the Q flag, so the flags are not declared preserved.
    unsafe {
        asm!("smlad {c}, {a}, {b}, {c}", c = inout(reg) acc, a = in(reg) a, b = in(reg) b, options(pure, nomem, nostack))
    };
    acc
}

/// `SMLABB`: `acc + a.lo * b.lo` (signed halfwords), wrapping in i32 (sets only the Q flag).
#[inline(always)]
pub(super) fn smlabb(a: u32, b: u32, mut acc: i32) -> i32 {
    // SAFETY: as in `smlad`.
    unsafe {
        asm!("smlabb {c}, {a}, {b}, {c}", c = inout(reg) acc, a = in(reg) a, b = in(reg) b, options(pure, nomem, nostack))
    };
    acc
}

/// `SMLATT`: `acc + a.hi * b.hi` (signed halfwords), wrapping in i32 (sets only the Q flag).
#[inline(always)]
pub(super) fn smlatt(a: u32, b: u32, mut acc: i32) -> i32 {
    // SAFETY: as in `smlad`.
    unsafe {
        asm!("smlatt {c}, {a}, {b}, {c}", c = inout(reg) acc, a = in(reg) a, b = in(reg) b, options(pure, nomem, nostack))
    };
    acc
}

/// `SSUB16`: the two halfwords of `a` minus those of `b`, each wrapping in 16 bits (sets the
/// GE flags).
#[inline(always)]
pub(super) fn ssub16(a: u32, b: u32) -> u32 {
    let r: u32;
    // SAFETY: a register-to-register instruction of the DSP extension (see `sxtb16`); it sets
    // the GE flags, so the flags are not declared preserved.
    unsafe {
        asm!("ssub16 {r}, {a}, {b}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, options(pure, nomem, nostack))
    };
    r
}
