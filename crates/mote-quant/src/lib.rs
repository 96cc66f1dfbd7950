//! Post-training int8 quantization for Mote (`mote quantize`).
//!
//! 1. [`calib`]: calibration files -> model input samples;
//! 2. [`observe`]: the f32 graph runs on them in the reference interpreter; every f32 tensor's
//!    values are histogrammed and a [`Method`] picks its range;
//! 3. [`qdq`]: the graph (BatchNorm folded) is rewritten into the QDQ form Mote runs in int8;
//! 4. [`report`]: per-tensor SQNR and cosine similarity of the fake-quantized graph against f32,
//!    end-to-end agreement, HTML and JSON; [`budget`] keeps the layers that hurt most in f32.

pub mod bias;
pub mod budget;
pub mod calib;
pub mod observe;
pub mod pipeline;
pub mod qdq;
pub mod report;
pub mod rng;

pub use calib::{CalibConfig, CalibSet};
pub use observe::{Method, QParams};
pub use qdq::{QdqOptions, Quantized, quantize};
