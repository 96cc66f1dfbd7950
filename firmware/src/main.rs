//! Runs the model embedded by build.rs once on the emulated Cortex-M4F and prints, over
//! semihosting: each output's bytes in hex, the SysTick ticks of the inference, the arena, the
//! runtime state and the stack high-water mark; then exits QEMU with the run's status. Built
//! with cfg `mote_fw_bare` (`MOTE_FW_BARE=1`) it is the harness alone: the same start-up, clock
//! and output lines around no runtime, the baseline scripts/footprint.sh subtracts.

#![no_std]
#![no_main]

mod clock;
mod out;
mod stack;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
#[cfg(not(mote_fw_bare))]
use mote_kernels::fast::Cpu;
#[cfg(not(mote_fw_bare))]
use mote_rt::{ARENA_ALIGN, RtError, Runtime};

#[cfg(not(mote_fw_bare))]
mod model {
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
}

#[cfg(not(mote_fw_bare))]
use model::{ARENA_SIZE, INPUTS, MODEL, ModelOps};

#[cfg(not(mote_fw_bare))]
#[repr(C, align(64))]
struct Arena([u8; ARENA_SIZE]);

#[cfg(not(mote_fw_bare))]
static mut ARENA: Arena = Arena([0; ARENA_SIZE]);

#[cfg(not(mote_fw_bare))]
const _: () = assert!(ARENA_ALIGN == 64);

#[entry]
fn main() -> ! {
    stack::paint();
    let ok = run();
    out::line("stack_high_water", stack::high_water() as u64);
    debug::exit(if ok { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    loop {
        cortex_m::asm::wfi();
    }
}

#[cfg(not(mote_fw_bare))]
fn run() -> bool {
    // SAFETY: `run` is called once, so this is the only reference to the arena.
    let arena: &mut [u8] = unsafe { &mut (*core::ptr::addr_of_mut!(ARENA)).0 };
    let rt = match load() {
        Ok(rt) => rt,
        Err(e) => return error("load", &e),
    };
    for (i, bytes) in INPUTS.iter().enumerate() {
        match rt.input_mut(arena, i) {
            Ok(dst) if dst.len() == bytes.len() => dst.copy_from_slice(bytes),
            Ok(_) => return out::fail("input length differs from the model's"),
            Err(e) => return error("input", &e),
        }
    }
    let clock = clock::Clock::start();
    let ran = invoke(&rt, arena);
    let ticks = clock.ticks();
    if let Err(e) = ran {
        return error("invoke", &e);
    }
    for i in 0..rt.outputs().count() {
        match rt.output(arena, i) {
            Ok(bytes) => out::hex("output", i, bytes),
            Err(e) => return error("output", &e),
        }
    }
    out::line("ticks", ticks);
    out::line("instructions", ticks * clock::INSTRUCTIONS_PER_TICK);
    out::line("arena", ARENA_SIZE as u64);
    out::line("runtime_state", core::mem::size_of::<Runtime<'static, ModelOps>>() as u64);
    out::line("model_bytes", MODEL.0.len() as u64);
    true
}

/// The harness without the runtime: every kind of line `run` prints, on values the optimizer
/// cannot see through (`black_box`), so the same output code is linked.
#[cfg(mote_fw_bare)]
fn run() -> bool {
    use core::hint::black_box;
    static BYTES: [u8; 16] = *b"mote bare output";
    let clock = clock::Clock::start();
    let bytes: &[u8] = black_box(&BYTES);
    let ticks = clock.ticks();
    if black_box(bytes.is_empty()) {
        return out::error("invoke", black_box(0), black_box(None));
    }
    for i in 0..black_box(1) {
        out::hex("output", i, bytes);
    }
    out::line("ticks", ticks);
    out::line("instructions", ticks * clock::INSTRUCTIONS_PER_TICK);
    out::line("arena", black_box(0));
    out::line("runtime_state", black_box(0));
    out::line("model_bytes", black_box(0));
    true
}

/// `error at: code c [step s]`: the error's stable code, no message text (no `core::fmt`).
#[cfg(not(mote_fw_bare))]
fn error(at: &str, e: &RtError) -> bool {
    out::error(at, e.code(), e.step())
}

// Load and invoke each decode steps on the stack (a `Step` is about 2.6 KB): kept out of line so
// their frames are not added up in `run`'s.
#[cfg(not(mote_fw_bare))]
#[inline(never)]
fn load() -> Result<Runtime<'static, ModelOps>, RtError> {
    // Hidden from the optimizer: the core is measured as it would load any model, not this one.
    Runtime::load_ops(core::hint::black_box(&MODEL.0[..]), Cpu::detect())
}

#[cfg(not(mote_fw_bare))]
#[inline(never)]
fn invoke(rt: &Runtime<'static, ModelOps>, arena: &mut [u8]) -> Result<(), RtError> {
    rt.invoke(arena)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    out::fail("panic");
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
