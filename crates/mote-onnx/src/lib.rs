//! ONNX importer and writer: reads `.onnx` models into `mote-ir` graphs (and writes graphs of
//! the common ops back, [`export`]), and ONNX tensor files (`.pb`) into tensors and values.
//!
//! Uses `prost` with the generated code checked in (`src/proto/onnx.rs`, made by
//! `scripts/gen-onnx-proto.sh`), so building needs no `protoc`. Depends on `mote-ir` and
//! `mote-core` only; nothing downstream of the IR.
//!
//! Import guarantees: unsupported ops, attributes and types are all reported in one error
//! ([`ImportError::Nodes`]) with op type, domain, opset and node name; a corrupt or truncated
//! file is an error naming the problem; no input bytes can make it panic.

pub mod error;
pub mod export;
pub mod import;
pub mod ops;
pub mod proto;
pub mod tensor;

pub use error::{ImportError, NodeProblem, ProblemKind};
pub use import::{Model, from_bytes, from_bytes_lenient, load, load_lenient};
pub use ops::supported_ops;
pub use tensor::{decode_tensor, decode_value, encode_value, tensor_from_proto, tensor_to_proto};
