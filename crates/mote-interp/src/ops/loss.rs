//! Evaluation of this op family (no ops yet).

use mote_ir::Value;
use mote_ir::ops::loss::LossOp;

use super::{EvalCx, Inputs};
use crate::error::OpError;

pub fn eval(op: &LossOp, _inputs: &Inputs<'_>, _cx: &EvalCx<'_>, _n: usize) -> Result<Vec<Value>, OpError> {
    match *op {}
}
