//! Signed model packages.
//!
//! A package carries a payload (a manifest and a compiled `.mote`, [`payload`]) with
//! TUF-style metadata ([`meta`]): a **root** naming the keys and thresholds of every role,
//! **targets** signing each model's name, version, target, length and SHA-256, a **snapshot**
//! signing the targets file, a **timestamp** signing the snapshot, each with a version and an
//! expiry. [`verify::verify`] checks the chain from the device's pinned root down to the
//! payload's hash before the payload is read, and refuses each attack with its own
//! [`VerifyError`]: tampered payload or metadata, unknown keys, signatures below threshold,
//! rollback, freeze (expired metadata), mix-and-match, endless data, wrong target.
//!
//! The verifier is `no_std` without an allocator (a device reads the package in place); the
//! `std` feature adds building and signing ([`make`]), the manifest type ([`manifest`]) and
//! tensor-aware deltas between payloads ([`delta`]).

#![no_std]

#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "std")]
pub mod delta;
pub mod error;
#[cfg(feature = "std")]
pub mod make;
#[cfg(feature = "std")]
pub mod manifest;
pub mod meta;
pub mod payload;
pub mod verify;
mod wire;

pub use error::{Label, Role, VerifyError};
pub use verify::{Device, Trusted, Verified, verify};
