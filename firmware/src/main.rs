//! Runs the model embedded by build.rs once on the emulated Cortex-M4F and prints, over
//! semihosting: each output's bytes in hex, the SysTick ticks of the inference, the arena, the
//! runtime state and the stack high-water mark; then exits QEMU with the run's status.

#![no_std]
#![no_main]

mod clock;
mod out;
mod stack;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use mote_kernels::fast::Cpu;
use mote_rt::{ARENA_ALIGN, RtError, Runtime};

mod model {
    include!(concat!(env!("OUT_DIR"), "/model.rs"));
}

use model::{ARENA_SIZE, INPUTS, MODEL, ModelOps};

#[repr(C, align(64))]
struct Arena([u8; ARENA_SIZE]);

static mut ARENA: Arena = Arena([0; ARENA_SIZE]);

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

fn run() -> bool {
    // SAFETY: `run` is called once, so this is the only reference to the arena.
    let arena: &mut [u8] = unsafe { &mut (*core::ptr::addr_of_mut!(ARENA)).0 };
    let rt = match load() {
        Ok(rt) => rt,
        Err(e) => return out::error("load", &e),
    };
    for (i, bytes) in INPUTS.iter().enumerate() {
        match rt.input_mut(arena, i) {
            Ok(dst) if dst.len() == bytes.len() => dst.copy_from_slice(bytes),
            Ok(_) => return out::fail("input length differs from the model's"),
            Err(e) => return out::error("input", &e),
        }
    }
    let clock = clock::Clock::start();
    let ran = invoke(&rt, arena);
    let ticks = clock.ticks();
    if let Err(e) = ran {
        return out::error("invoke", &e);
    }
    for i in 0..rt.outputs().count() {
        match rt.output(arena, i) {
            Ok(bytes) => out::hex("output", i, bytes),
            Err(e) => return out::error("output", &e),
        }
    }
    out::line("ticks", ticks);
    out::line("instructions", ticks * clock::INSTRUCTIONS_PER_TICK);
    out::line("arena", ARENA_SIZE as u64);
    out::line("runtime_state", core::mem::size_of::<Runtime<'static, ModelOps>>() as u64);
    out::line("model_bytes", MODEL.0.len() as u64);
    true
}

// Load and invoke each decode steps on the stack (a `Step` is about 2.6 KB): kept out of line so
// their frames are not added up in `run`'s.
#[inline(never)]
fn load() -> Result<Runtime<'static, ModelOps>, RtError> {
    Runtime::load_ops(&MODEL.0, Cpu::detect())
}

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
