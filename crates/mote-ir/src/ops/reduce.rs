//! Reductions along axes, arg-reductions, scans (CumSum), TopK.

use crate::infer::{InferCx, InferError};
use crate::ops::OpFamily;
use crate::types::ValueType;

#[derive(Clone, Debug, PartialEq)]
pub enum ReduceOp {}

impl OpFamily for ReduceOp {
    fn name(&self) -> &'static str {
        match *self {}
    }

    fn infer(&self, _cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        match *self {}
    }
}
