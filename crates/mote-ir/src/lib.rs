//! Mote's graph intermediate representation.
//!
//! Owns the host-side model: [`Tensor`]s and runtime [`Value`]s, the [`Graph`] of [`Node`]s over
//! values, the closed operator set ([`ops::Op`]), static shape and dtype inference
//! ([`infer::infer_graph`]), a structural [`verify::verify`]er and a text [`dump::dump`].
//!
//! Importers (ONNX, TFLite) produce this IR; the reference interpreter, optimizer and compiler
//! consume it. It depends only on `mote-core`; it never depends on the runtime or importers.

pub mod dump;
pub mod error;
pub mod graph;
pub mod infer;
pub mod ops;
pub mod q8;
pub mod stats;
pub mod tensor;
pub mod types;
pub mod value;
pub mod verify;

pub use error::TensorError;
pub use graph::{Graph, Node, NodeId, OuterRef, ValueId, ValueInfo};
pub use infer::{Fact, InferCx, InferError};
pub use mote_core::lowp::{F4E2M1, F8E4M3Fn, F8E4M3Fnuz, F8E5M2, F8E5M2Fnuz, F8E8M0, I2, I4, U2, U4};
pub use mote_core::{DType, bf16, f16};
pub use ops::Op;
pub use tensor::{Data, Elem, Tensor};
pub use types::{Dim, TensorType, ValueType};
pub use value::Value;
