//! Training errors: each names the node and op it is about.

use thiserror::Error;

/// Why a forward or backward pass failed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TrainError {
    /// The forward evaluation of a node failed.
    #[error("node `{node}` ({op}): {msg}")]
    Forward { node: String, op: &'static str, msg: String },
    /// A node whose op has no gradient here: the graph is not differentiable through it.
    #[error("node `{node}` ({op}) is not differentiable here: {msg}")]
    NotDifferentiable { node: String, op: &'static str, msg: String },
    /// Inputs that do not fit the graph.
    #[error("{0}")]
    Input(String),
}
