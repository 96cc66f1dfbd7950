//! Data files on the host: `.npy` arrays, ONNX `.pb` value files and images (with a declared
//! preprocessing spec), read into `mote-ir`
//! tensors and values and written back atomically. Used by the CLI, the conformance harness and
//! (later) calibration and training data loaders. Never used on the device.

pub mod image;
pub mod npy;

pub use image::{ImageSpec, read_image};
pub use npy::{read_npy, read_npy_from, read_value, write_npy};
