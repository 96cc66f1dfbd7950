//! Attention-style ops: Attention, RotaryEmbedding, and related.

use crate::infer::{InferCx, InferError};
use crate::ops::OpFamily;
use crate::types::ValueType;

#[derive(Clone, Debug, PartialEq)]
pub enum AttentionOp {}

impl OpFamily for AttentionOp {
    fn name(&self) -> &'static str {
        match *self {}
    }

    fn infer(&self, _cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        match *self {}
    }
}
