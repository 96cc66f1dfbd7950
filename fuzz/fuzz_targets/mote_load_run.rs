//! `.mote` bytes -> runtime load (full validation) -> run in a fresh arena, with the detected
//! kernels and with the portable ones.
//!
//! The runtime's contract: no sequence of bytes makes load or invoke panic or touch memory out
//! of bounds (run this target with the address sanitizer, the default, since the runtime has
//! `unsafe` slice construction and SIMD kernels). Inputs whose last byte is odd get their
//! structure checksum recomputed first, so mutations reach record and step validation instead
//! of stopping at the checksum.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mote_kernels::fast::Cpu;
use mote_rt::Runtime;
use mote_rt::host::AlignedBuf;

/// Files that would take long to run are only loaded (validation is what is fuzzed; a valid
/// but huge model would just be slow).
const MAX_ARENA: usize = 16 << 20;
const MAX_MACS: u64 = 2_000_000;

fuzz_target!(|data: &[u8]| {
    let mut buf = AlignedBuf::from_bytes(data);
    if data.last().is_some_and(|b| b & 1 == 1) {
        mote_format::crc::reseal(buf.as_mut());
    }
    for cpu in [Cpu::detect(), Cpu::scalar()] {
        let Ok(rt) = Runtime::load_with(buf.as_ref(), cpu) else { return };
        let _ = rt.model().verify_weights();
        let m = rt.model();
        let macs: u64 = (0..m.step_count()).map(|i| mote_rt::exec::step_macs(m, i).unwrap_or(0)).sum();
        if rt.arena_size() > MAX_ARENA || macs > MAX_MACS {
            return;
        }
        let mut arena = AlignedBuf::zeroed(rt.arena_size());
        for i in 0..rt.inputs().count() {
            if let Ok(b) = rt.input_mut(arena.as_mut(), i) {
                b.iter_mut().enumerate().for_each(|(k, x)| *x = k as u8);
            }
        }
        let _ = rt.invoke(arena.as_mut());
        for i in 0..rt.outputs().count() {
            let _ = rt.output(arena.as_ref(), i);
        }
    }
});
