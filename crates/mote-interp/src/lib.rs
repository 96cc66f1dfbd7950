//! The reference interpreter: runs a `mote-ir` graph with plain, obviously correct kernels.
//!
//! It is the oracle for everything downstream (fast kernels, optimization passes, the compiled
//! runtime), so clarity beats speed; it still runs real models in seconds. Numeric kernels come
//! from `mote-kernels::reference`; ops that only the host needs (strings, sequences, control
//! flow) live here. Depends on `mote-ir` and `mote-kernels`; never on importers or the runtime.
//!
//! Invariant: no input, model or value makes the interpreter panic; errors name the node.

pub mod error;
pub mod fold;
pub mod ops;
pub mod session;

pub use error::{EvalError, OpError};
pub use fold::{Folder, infer};
pub use session::Session;

use mote_ir::{Graph, Value};

/// Runs `graph` once on its runtime inputs (in order).
pub fn run(graph: &Graph, inputs: Vec<Value>) -> Result<Vec<Value>, EvalError> {
    Session::new(graph)?.run(inputs)
}
