//! Reference kernels, one file per op family (same stems as `mote-ir/src/ops/`).

pub mod attention;
pub mod elementwise;
pub mod fixed;
pub mod image;
pub mod int8;
pub mod nn;
pub mod quant;
pub mod reduce;
pub mod rnn;
pub mod shape;
pub mod signal;
pub mod unary;
