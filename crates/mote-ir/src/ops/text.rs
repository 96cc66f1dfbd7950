//! String ops.

use crate::infer::{InferCx, InferError};
use crate::ops::OpFamily;
use crate::types::ValueType;

#[derive(Clone, Debug, PartialEq)]
pub enum TextOp {}

impl OpFamily for TextOp {
    fn name(&self) -> &'static str {
        match *self {}
    }

    fn infer(&self, _cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        match *self {}
    }
}
