//! Reductions, arg-reductions, scans and TopK: ONNX attributes -> [`ReduceOp`].

use mote_ir::Op;
use mote_ir::Tensor;
use mote_ir::ops::reduce::{ReduceOp, Reduction};

use super::{NodeCtx, NodeError, invalid};

pub const OPS: &[(&str, &str)] = &[
    ("", "ReduceSum"),
    ("", "ReduceMean"),
    ("", "ReduceMax"),
    ("", "ReduceMin"),
    ("", "ReduceProd"),
    ("", "ReduceL1"),
    ("", "ReduceL2"),
    ("", "ReduceLogSum"),
    ("", "ReduceLogSumExp"),
    ("", "ReduceSumSquare"),
    ("", "ArgMax"),
    ("", "ArgMin"),
    ("", "CumSum"),
    ("", "CumProd"),
    ("", "TopK"),
];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    let op = match cx.op_type {
        // ReduceSum took `axes` as an input from opset 13, the others from 18.
        "ReduceSum" => reduce(cx, Reduction::Sum, 13)?,
        "ReduceMean" => reduce(cx, Reduction::Mean, 18)?,
        "ReduceMax" => reduce(cx, Reduction::Max, 18)?,
        "ReduceMin" => reduce(cx, Reduction::Min, 18)?,
        "ReduceProd" => reduce(cx, Reduction::Prod, 18)?,
        "ReduceL1" => reduce(cx, Reduction::L1, 18)?,
        "ReduceL2" => reduce(cx, Reduction::L2, 18)?,
        "ReduceLogSum" => reduce(cx, Reduction::LogSum, 18)?,
        "ReduceLogSumExp" => reduce(cx, Reduction::LogSumExp, 18)?,
        "ReduceSumSquare" => reduce(cx, Reduction::SumSquare, 18)?,
        "ArgMax" | "ArgMin" => {
            cx.expect_inputs(1, 1)?;
            ReduceOp::Arg {
                max: cx.op_type == "ArgMax",
                axis: cx.int("axis", 0)?,
                keepdims: flag(cx, "keepdims", 1)?,
                select_last_index: flag(cx, "select_last_index", 0)?,
            }
        }
        "CumSum" | "CumProd" => {
            cx.expect_inputs(2, 2)?;
            ReduceOp::Cumulative {
                prod: cx.op_type == "CumProd",
                exclusive: flag(cx, "exclusive", 0)?,
                reverse: flag(cx, "reverse", 0)?,
            }
        }
        "TopK" => {
            if cx.opset < 10 {
                // TopK-1: `k` is an attribute; TopK-10 made it an input.
                cx.expect_inputs(1, 1)?;
                let k = cx.req_int("k")?;
                cx.const_input(1, "k", Tensor::from_vec(vec![1], vec![k]).expect("one element"));
            } else {
                cx.expect_inputs(2, 2)?;
            }
            ReduceOp::TopK {
                axis: cx.int("axis", -1)?,
                largest: flag(cx, "largest", 1)?,
                sorted: flag(cx, "sorted", 1)?,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(Op::Reduce(op)))
}

/// A 0/1 attribute.
fn flag(cx: &NodeCtx<'_>, name: &str, default: i64) -> Result<bool, NodeError> {
    match cx.int(name, default)? {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(invalid!("attribute `{name}` must be 0 or 1, got {v}")),
    }
}

fn reduce(cx: &mut NodeCtx<'_>, kind: Reduction, axes_input_since: i64) -> Result<ReduceOp, NodeError> {
    let keepdims = flag(cx, "keepdims", 1)?;
    let noop_with_empty_axes = if cx.opset < axes_input_since {
        // Older opsets: `axes` attribute; omitted or empty reduces all axes.
        cx.expect_inputs(1, 1)?;
        if let Some(axes) = cx.ints("axes")?
            && !axes.is_empty()
        {
            let n = axes.len();
            cx.const_input(1, "axes", Tensor::from_vec(vec![n], axes).expect("length matches"));
        }
        false
    } else {
        cx.expect_inputs(1, 2)?;
        flag(cx, "noop_with_empty_axes", 0)?
    };
    Ok(ReduceOp::Reduce { kind, keepdims, noop_with_empty_axes })
}
