//! Stack high-water mark: the free stack below the current frame is painted with a pattern
//! before the run; the lowest word no longer holding it is the deepest the stack reached.

use core::ptr::{addr_of, read_volatile, write_volatile};

const PAINT: u32 = 0xdead_beef;

// SAFETY: cortex-m-rt's linker script defines both symbols; only their addresses are taken,
// never their values.
unsafe extern "C" {
    /// cortex-m-rt: the end of .bss/.data (the stack grows down towards it).
    static __sheap: u32;
    /// cortex-m-rt: the initial stack pointer (the top of RAM).
    static _stack_start: u32;
}

fn bottom() -> usize {
    addr_of!(__sheap) as usize
}

fn top() -> usize {
    addr_of!(_stack_start) as usize
}

/// Paints from the end of the static data up to 256 bytes below the current stack pointer.
pub fn paint() {
    let sp = cortex_m::register::msp::read() as usize - 256;
    let mut p = (bottom() + 3) & !3;
    while p < sp {
        // SAFETY: [bottom, sp) is RAM no static or live frame uses (below the stack pointer).
        unsafe { write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Bytes of stack used at the deepest point since [`paint`] (counted from the top of RAM).
pub fn high_water() -> usize {
    let mut p = (bottom() + 3) & !3;
    // SAFETY: reads words of RAM between the static data and the stack top.
    while p < top() && unsafe { read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    top() - p
}
