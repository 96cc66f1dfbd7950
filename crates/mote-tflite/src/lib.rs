//! TFLite importer: reads `.tflite` flatbuffers into `mote-ir` graphs.
//!
//! Uses the `flatbuffers` crate with the schema's generated code checked in
//! (`src/schema/schema_generated.rs`, made by `scripts/gen-tflite-schema.sh`), so building needs
//! no `flatc`. Depends on `mote-ir` and `mote-core` only.
//!
//! What it produces, from subgraph 0 (see `docs/TFLITE.md`):
//! - **Values**: every tensor with its name, dtype and static shape (`shape_signature` -1 dims
//!   become symbolic). Constant buffers become constants, copied once into the IR's shared (`Arc`) storage.
//! - **Quantization** in the QDQ form the int8 compiler path recognises: a quantized activation
//!   is stored as its integer tensor; float ops read it through `DequantizeLinear` and write
//!   through `QuantizeLinear` (TFLite's scale and zero point); constant int8 weights sit behind
//!   `DequantizeLinear` (per axis where TFLite has `quantized_dimension`), int32 biases too.
//! - **Layout**: TFLite is NHWC with OHWI conv weights; the IR's Conv and pooling are NCHW.
//!   Weights are permuted at import. Activations get a Transpose to NCHW where a Conv or pool
//!   first needs them, and back to NHWC only where a layout-sensitive op (Reshape, Softmax,
//!   graph outputs...) needs that; element-wise ops, Pad, Mean and Concatenation follow the
//!   layout their inputs already have. The compiler's int8 path treats Transposes of int8
//!   tensors as views; `mote-opt` merges Transpose pairs.
//!
//! - **Hybrid** (float activations, int8 weights) CONV_2D and FULLY_CONNECTED become TFLite's
//!   reference computation: run-time row quantization, integer product, rescale (`hybrid`).
//!
//! Import guarantees: every unsupported operator (custom ops by their `custom_code`) is listed
//! in one error with its operator index; the buffer is verified before it is read, and every
//! tensor, buffer and opcode index, shape and buffer size is checked, so a corrupt or truncated
//! file is an error naming the problem, never a panic.

pub mod builder;
pub mod error;
mod hybrid;
pub mod import;
pub mod ops;
pub mod schema;
pub mod tensors;

pub use error::{ImportError, OpProblem, ProblemKind};
pub use import::{from_bytes, from_bytes_named, load};

/// Names of the builtin operators this importer converts.
pub fn supported_ops() -> Vec<&'static str> {
    ops::SUPPORTED.iter().filter_map(|op| op.variant_name()).collect()
}
