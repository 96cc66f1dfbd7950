//! Core types shared by every Mote crate: element types ([`DType`]), shapes ([`Shape`]),
//! strided tensor views ([`TensorView`]) and quantization parameters ([`QuantParams`]).
//!
//! This crate is `no_std` and never allocates, so the device runtime can use it on a
//! microcontroller. It depends on nothing of ours; everything else depends on it.

#![no_std]

pub mod dtype;
pub mod lowp;
pub mod quant;
pub mod rng;
pub mod shape;
pub mod view;

pub use dtype::DType;
pub use half::{bf16, f16};
pub use lowp::{F4E2M1, F8E4M3Fn, F8E4M3Fnuz, F8E5M2, F8E5M2Fnuz, F8E8M0, I2, I4, MiniFloat, RoundMode, U2, U4};
pub use quant::QuantParams;
pub use shape::{MAX_RANK, Shape, ShapeError};
pub use view::TensorView;
