//! Mote kernels.
//!
//! `reference/` holds plain scalar kernels: obviously correct, generic over element types, and
//! the oracle every fast kernel and pipeline stage is tested against. `fast/` holds the fast
//! f32 kernels the runtime calls (runtime ISA dispatch), with their per-ISA vector code in
//! `arch/<isa>/`.
//!
//! `no_std`, no allocation: kernels read input slices and write caller-provided output slices;
//! scratch space is passed in. Shapes are validated by the caller (the interpreter or the
//! runtime's loader); kernels may panic on inconsistent shapes, which is a caller bug.

#![no_std]

#[cfg(test)]
extern crate std;

mod arch;
pub mod fast;
pub mod reference;
