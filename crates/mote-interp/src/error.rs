//! Evaluation errors.

/// Why a graph could not be evaluated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("{0}")]
    Invalid(String),
    #[error("the model takes {expected} input(s) ({names}), got {got}")]
    InputCount { expected: usize, got: usize, names: String },
    #[error("input `{name}` is missing")]
    MissingInput { name: String },
    #[error("`{name}` is not an input of the model (inputs: {expected})")]
    UnknownInput { name: String, expected: String },
    #[error("input `{name}` must be {expected}: {msg}")]
    InputType { name: String, expected: String, msg: String },
    #[error("node `{node}` ({op}): {msg}")]
    Node { node: String, op: &'static str, msg: String },
    #[error("constant `{name}`: {msg}")]
    Constant { name: String, msg: String },
    #[error("output `{name}` was not computed")]
    Output { name: String },
}

/// A failure inside one op, before the session adds which node it was.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct OpError(pub String);

impl From<mote_ir::TensorError> for OpError {
    fn from(e: mote_ir::TensorError) -> Self {
        OpError(e.to_string())
    }
}

/// Builds an [`OpError`] with `format!` syntax.
#[macro_export]
macro_rules! op_err {
    ($($t:tt)*) => { $crate::error::OpError(format!($($t)*)) };
}

/// Returns early with an [`OpError`].
#[macro_export]
macro_rules! bail {
    ($($t:tt)*) => { return Err($crate::op_err!($($t)*)) };
}
