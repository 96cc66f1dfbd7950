//! Reference kernels, one file per op family (same stems as `mote-ir/src/ops/`).

pub mod elementwise;
pub mod image;
