//! The int8 identity check: every int8 path of the machine on the shared deterministic cases
//! (`../tests/common/int8_cases.rs`), hashed, against the reference.

#[path = "../../tests/common/int8_cases.rs"]
mod int8_cases;

use mote_kernels::fast::{Cpu, Q8Path};

/// Seed and case count of the check (the native test uses the same).
pub const SEED: u64 = 42;
/// Cases per path.
pub const CASES: usize = 300;

/// `(path, hash of its outputs, hash of the reference's)` for every path this machine runs.
pub fn check() -> Vec<(&'static str, u64, u64)> {
    Q8Path::ALL
        .iter()
        .filter_map(|&p| Cpu::with_q8(p))
        .map(|cpu| {
            let (fast, reference) = int8_cases::digest(cpu, SEED, CASES);
            (cpu.q8().name(), fast, reference)
        })
        .collect()
}

/// For the wasm module: runs the check on the best path (`simd128` when the module is built
/// with it) and the portable one; returns how many paths ran, negated if any differed from the
/// reference.
#[unsafe(no_mangle)]
pub extern "C" fn int8_identity() -> i32 {
    let results = check();
    let bad = results.iter().any(|(_, f, r)| f != r);
    let n = results.len() as i32;
    if bad { -n } else { n }
}

/// For the wasm module: the hash of the best path's outputs (to print next to the native ones).
#[unsafe(no_mangle)]
pub extern "C" fn int8_identity_hash() -> u64 {
    int8_cases::digest(Cpu::detect(), SEED, CASES).0
}

/// For the wasm module: 1 when the best path is simd128.
#[unsafe(no_mangle)]
pub extern "C" fn int8_identity_is_simd128() -> i32 {
    i32::from(Cpu::detect().q8() == Q8Path::Simd128)
}
