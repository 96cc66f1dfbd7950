//! Errors of the IR crate.

use mote_core::DType;

/// A tensor could not be built or read as asked.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TensorError {
    #[error("shape {shape:?} needs a different element count than the {len} elements given")]
    LengthMismatch { shape: Vec<usize>, len: usize },
    #[error("shape {shape:?} is too large (more than 2^28 elements, or overflowing)")]
    TooLarge { shape: Vec<usize> },
    #[error("expected a {expected} tensor, got {got}")]
    DType { expected: DType, got: DType },
    #[error("expected a numeric tensor, got {0}")]
    NotNumeric(DType),
    #[error("expected an integer tensor, got {0}")]
    NotInteger(DType),
    #[error("expected a one-element tensor, got shape {shape:?}")]
    NotScalar { shape: Vec<usize> },
}
