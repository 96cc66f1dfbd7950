//! Evaluation of this op family (no ops yet).

use mote_ir::Value;
use mote_ir::ops::shape::ShapeOp;

use super::{EvalCx, Inputs};
use crate::error::OpError;

pub fn eval(op: &ShapeOp, _inputs: &Inputs<'_>, _cx: &EvalCx<'_>, _n: usize) -> Result<Vec<Value>, OpError> {
    match *op {}
}
