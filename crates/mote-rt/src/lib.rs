//! The Mote runtime: runs a compiled `.mote` model in one caller-provided arena.
//!
//! ```text
//!  bytes (flash, mmap, buffer)      arena (caller's, 64-byte aligned, plan.arena_size bytes)
//!  +----------------------+         +---------+-----------+---------+-----------+
//!  | .mote: steps, tensor |  load   | inputs  | activations (offsets fixed at   |
//!  | records, weights     | ------> | outputs | compile time) |  scratch        |
//!  +----------------------+         +---------+-----------+---------+-----------+
//! ```
//!
//! [`Runtime::load`] validates the file once: the container ([`mote_format::Model::parse`]),
//! then every step: op code, arity, element types, shapes against the attributes, that outputs
//! live in the arena and overlap nothing else the step touches (except exact in-place), and that
//! scratch fits the plan. [`Runtime::invoke`] then runs the steps without allocating; data
//! errors (a Gather index out of range) are returned, never panics.
//!
//! [`Runtime::invoke_par`] splits the heavy steps (convolutions, GEMMs, pooling, large
//! element-wise ops) into tasks on a [`Parallel`]; the results are bit-identical for every
//! thread count. The core brings only [`Sequential`]; the `std` layer brings a thread pool.
//!
//! `no_std` without allocation. The `alloc` feature adds the attribute encoders the compiler
//! uses; `std` adds file loading and timing ([`host`]) and the thread pool ([`pool`]). This crate does not depend on the IR or
//! the importers.

#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod error;
pub mod exec;
#[cfg(feature = "std")]
pub mod host;
pub mod mem;
pub mod ops;
#[cfg(feature = "std")]
pub mod pool;
pub mod words;

pub use error::{RtError, StepFault};
pub use exec::{ARENA_ALIGN, Event, Runtime, TensorInfo};
pub use mote_kernels::fast::{Parallel, Sequential, TaskFault};
pub use ops::{AllOps, OpSet};
