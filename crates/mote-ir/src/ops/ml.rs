//! Classical ML ops of the ai.onnx.ml domain.

use crate::infer::{InferCx, InferError};
use crate::ops::OpFamily;
use crate::types::ValueType;

#[derive(Clone, Debug, PartialEq)]
pub enum MlOp {}

impl OpFamily for MlOp {
    fn name(&self) -> &'static str {
        match *self {}
    }

    fn infer(&self, _cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        match *self {}
    }
}
