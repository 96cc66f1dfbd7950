//! Time of one inference in SysTick ticks of the processor clock, widened past the 24-bit
//! counter by counting wraps. Under QEMU `-icount shift=0` the virtual clock advances 1 ns per
//! guest instruction and the mps2 boards clock the SysTick at 25 MHz, so one tick is 40
//! instructions: an instruction count, not a cycle count of real silicon.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::{SYST, syst::SystClkSource};
use cortex_m_rt::exception;

/// Instructions per tick: 1e9 ns/s / 25e6 Hz / 2^shift (shift 0).
pub const INSTRUCTIONS_PER_TICK: u64 = 40;

const RELOAD: u32 = 0x00ff_ffff;

static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

pub struct Clock;

impl Clock {
    /// Starts the SysTick from zero, counting the processor clock.
    pub fn start() -> Clock {
        // SAFETY: nothing else in this program uses the SysTick.
        let mut syst = unsafe { cortex_m::Peripherals::steal() }.SYST;
        syst.disable_counter();
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        WRAPS.store(0, Ordering::Relaxed);
        syst.enable_interrupt();
        syst.enable_counter();
        Clock
    }

    /// Ticks since [`Clock::start`].
    pub fn ticks(&self) -> u64 {
        loop {
            let before = WRAPS.load(Ordering::Relaxed);
            let value = SYST::get_current();
            if WRAPS.load(Ordering::Relaxed) == before {
                return u64::from(before) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - value);
            }
        }
    }
}
