//! Data files on the host: `.npy` arrays and ONNX `.pb` value files, read into `mote-ir`
//! tensors and values and written back atomically. Used by the CLI, the conformance harness and
//! (later) calibration and training data loaders. Never used on the device.

pub mod npy;

pub use npy::{read_npy, read_value, write_npy};
