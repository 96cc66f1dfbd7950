//! Shape and data-movement ops: Reshape, Transpose, Concat, Slice, Gather, Pad, ...

use crate::infer::{InferCx, InferError};
use crate::ops::OpFamily;
use crate::types::ValueType;

#[derive(Clone, Debug, PartialEq)]
pub enum ShapeOp {}

impl OpFamily for ShapeOp {
    fn name(&self) -> &'static str {
        match *self {}
    }

    fn infer(&self, _cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        match *self {}
    }
}
