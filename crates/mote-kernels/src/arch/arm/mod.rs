//! 32-bit Arm with the DSP extension (ARMv7E-M: Cortex-M4, M7; ARMv7-A/R), compiled in when
//! `cfg(mote_arm_dsp)` is set (`build.rs`). There is no run-time detection on a
//! microcontroller: the target decides.

mod dsp;
pub(crate) mod int8;
mod requant;
