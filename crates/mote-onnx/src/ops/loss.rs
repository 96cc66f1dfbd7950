//! Loss ops: ONNX attributes -> [`LossOp`].

use mote_ir::Op;
use mote_ir::ops::loss::{LossOp, LossReduction};

use super::{NodeCtx, NodeError, invalid};

pub const OPS: &[(&str, &str)] = &[("", "NegativeLogLikelihoodLoss"), ("", "SoftmaxCrossEntropyLoss")];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    let nll = match cx.op_type {
        "NegativeLogLikelihoodLoss" => true,
        "SoftmaxCrossEntropyLoss" => false,
        _ => return Ok(None),
    };
    cx.expect_inputs(2, 3)?;
    let reduction = match cx.string("reduction", "mean")?.as_str() {
        "none" => LossReduction::None,
        "sum" => LossReduction::Sum,
        "mean" => LossReduction::Mean,
        other => return Err(invalid!("attribute `reduction` must be \"none\", \"sum\" or \"mean\", got {other:?}")),
    };
    let ignore_index = cx.int_opt("ignore_index")?;
    let op = if nll {
        LossOp::Nll { reduction, ignore_index }
    } else {
        LossOp::SoftmaxCrossEntropy { reduction, ignore_index }
    };
    Ok(Some(Op::Loss(op)))
}
