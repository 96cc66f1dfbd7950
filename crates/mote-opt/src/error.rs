//! Optimizer errors.

use mote_ir::infer::GraphInferError;
use mote_ir::verify::VerifyError;

/// Why a graph could not be optimized.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OptError {
    /// The graph given to [`crate::optimize`] is structurally invalid.
    #[error("the input graph is invalid: {0}")]
    InvalidInput(VerifyError),
    /// A pass left an invalid graph (a bug in the pass; the message names it).
    #[error("pass `{pass}` left an invalid graph: {source}")]
    InvalidAfter { pass: &'static str, source: VerifyError },
    /// Shape inference failed (after specialization, the bindings may contradict the model).
    #[error("shape inference failed during `{pass}`: {source}")]
    Infer { pass: &'static str, source: GraphInferError },
    /// A binding names an input the graph does not have.
    #[error("`{name}` is not an input of the model (inputs: {inputs})")]
    UnknownInput { name: String, inputs: String },
    /// A dim binding names a symbol no value's shape uses.
    #[error("no shape in the model uses the symbolic dimension `{name}` (symbols: {symbols})")]
    UnknownSymbol { name: String, symbols: String },
    /// A binding does not fit what the model declares.
    #[error("cannot bind input `{name}`: {msg}")]
    Bind { name: String, msg: String },
}
