//! Control flow and container ops: ONNX attributes -> [`ControlOp`].

use mote_ir::Op;
use mote_ir::ops::control::{ControlOp, ScanAttrs};

use super::{NodeCtx, NodeError, invalid, unsupported};
use crate::import::convert_type;
use crate::proto::attribute_proto::AttributeType;

pub const OPS: &[(&str, &str)] = &[
    ("", "If"),
    ("", "Loop"),
    ("", "Scan"),
    ("", "SequenceMap"),
    ("", "SequenceEmpty"),
    ("", "SequenceConstruct"),
    ("", "SequenceInsert"),
    ("", "SequenceAt"),
    ("", "SequenceErase"),
    ("", "SequenceLength"),
    ("", "SplitToSequence"),
    ("", "ConcatFromSequence"),
    ("", "Optional"),
    ("", "OptionalHasElement"),
    ("", "OptionalGetElement"),
];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    let op = match cx.op_type {
        "If" => {
            cx.expect_inputs(1, 1)?;
            let then_branch = Box::new(cx.req_graph("then_branch")?);
            let else_branch = Box::new(cx.req_graph("else_branch")?);
            let n = cx.node.output.len();
            if then_branch.outputs.len() != n || else_branch.outputs.len() != n {
                return Err(invalid!(
                    "the node has {n} outputs but then_branch has {} and else_branch {}",
                    then_branch.outputs.len(),
                    else_branch.outputs.len()
                ));
            }
            ControlOp::If { then_branch, else_branch }
        }
        "Loop" => {
            // M and cond are optional (either may be empty); the loop-carried values are not.
            if cx.inputs.len() < 2 {
                return Err(invalid!("expects M and cond (either may be empty) before the loop-carried values"));
            }
            if let Some(k) = cx.inputs[2..].iter().position(Option::is_none) {
                return Err(invalid!("loop-carried input {k} is empty"));
            }
            let body = Box::new(cx.req_graph("body")?);
            let carried = cx.inputs.len() - 2;
            if body.inputs.len() != carried + 2 {
                return Err(invalid!("body takes {} inputs, expected 2 + {carried} loop-carried", body.inputs.len()));
            }
            if body.outputs.len() < carried + 1 || cx.node.output.len() != body.outputs.len() - 1 {
                return Err(invalid!(
                    "body has {} outputs and the node {}; expected body = 1 + node outputs, with {carried} loop-carried",
                    body.outputs.len(),
                    cx.node.output.len()
                ));
            }
            ControlOp::Loop { body }
        }
        "Scan" => scan(cx)?,
        "SequenceMap" => {
            cx.expect_inputs(1, usize::MAX)?;
            let body = Box::new(cx.req_graph("body")?);
            if body.inputs.len() != cx.inputs.len() || body.outputs.len() != cx.node.output.len() {
                return Err(invalid!("body's inputs/outputs must match the node's"));
            }
            ControlOp::SequenceMap { body }
        }
        "SequenceEmpty" => {
            cx.expect_inputs(0, 0)?;
            ControlOp::SequenceEmpty { dtype: cx.dtype("dtype")?.unwrap_or(mote_ir::DType::F32) }
        }
        "SequenceConstruct" => {
            cx.expect_inputs(1, usize::MAX)?;
            ControlOp::SequenceConstruct
        }
        "SequenceInsert" => {
            cx.expect_inputs(2, 3)?;
            ControlOp::SequenceInsert
        }
        "SequenceAt" => {
            cx.expect_inputs(2, 2)?;
            ControlOp::SequenceAt
        }
        "SequenceErase" => {
            cx.expect_inputs(1, 2)?;
            ControlOp::SequenceErase
        }
        "SequenceLength" => {
            cx.expect_inputs(1, 1)?;
            ControlOp::SequenceLength
        }
        "SplitToSequence" => {
            cx.expect_inputs(1, 2)?;
            ControlOp::SplitToSequence { axis: cx.int("axis", 0)?, keepdims: cx.int("keepdims", 1)? != 0 }
        }
        "ConcatFromSequence" => {
            cx.expect_inputs(1, 1)?;
            let axis = cx.int_opt("axis")?.ok_or_else(|| invalid!("required attribute `axis` is missing"))?;
            ControlOp::ConcatFromSequence { axis, new_axis: cx.int("new_axis", 0)? != 0 }
        }
        "Optional" => {
            cx.expect_inputs(0, 1)?;
            let elem = match cx.node.attribute.iter().find(|a| a.name() == "type") {
                Some(a) if a.r#type() == AttributeType::TypeProto => {
                    cx.ignore(&["type"]);
                    let tp = a.tp.as_ref().ok_or_else(|| invalid!("attribute `type` has no type"))?;
                    Some(convert_type(tp).map_err(|m| unsupported!("attribute `type`: {m}"))?)
                }
                Some(_) => return Err(invalid!("attribute `type` must be a TYPE_PROTO")),
                None => None,
            };
            ControlOp::Optional { elem }
        }
        "OptionalHasElement" => {
            cx.expect_inputs(0, 1)?;
            ControlOp::OptionalHasElement
        }
        "OptionalGetElement" => {
            cx.expect_inputs(1, 1)?;
            ControlOp::OptionalGetElement
        }
        _ => return Ok(None),
    };
    Ok(Some(Op::Control(op)))
}

fn scan(cx: &mut NodeCtx<'_>) -> Result<ControlOp, NodeError> {
    let body = Box::new(cx.req_graph("body")?);
    let num_scan_inputs =
        cx.int_opt("num_scan_inputs")?.ok_or_else(|| invalid!("required attribute `num_scan_inputs` is missing"))?;
    let num_scan_inputs = usize::try_from(num_scan_inputs).map_err(|_| invalid!("`num_scan_inputs` must be >= 0"))?;
    let batch_axis_v8 = cx.opset < 9;
    let lead = usize::from(batch_axis_v8);
    if cx.inputs.len() < lead + num_scan_inputs {
        return Err(invalid!("{} inputs, fewer than the {num_scan_inputs} scan inputs", cx.inputs.len()));
    }
    let n_state = cx.inputs.len() - lead - num_scan_inputs;
    let n_scan_out =
        cx.node.output.len().checked_sub(n_state).ok_or_else(|| invalid!("fewer outputs than state variables"))?;
    if body.inputs.len() != n_state + num_scan_inputs || body.outputs.len() != cx.node.output.len() {
        return Err(invalid!("body signature does not match the node's inputs and outputs"));
    }
    let dirs = |name: &str, n: usize| -> Result<Vec<bool>, NodeError> {
        match cx.ints(name)? {
            None => Ok(vec![false; n]),
            Some(v) if v.len() == n => Ok(v.iter().map(|&d| d != 0).collect()),
            Some(v) => Err(invalid!("`{name}` has {} entries, expected {n}", v.len())),
        }
    };
    let axes = |name: &str, n: usize| -> Result<Vec<i64>, NodeError> {
        match cx.ints(name)? {
            None => Ok(vec![0; n]),
            Some(v) if v.len() == n => Ok(v),
            Some(v) => Err(invalid!("`{name}` has {} entries, expected {n}", v.len())),
        }
    };
    let (input_reverse, input_axes, output_axes, output_reverse) = if batch_axis_v8 {
        (dirs("directions", num_scan_inputs)?, vec![0; num_scan_inputs], vec![0; n_scan_out], vec![false; n_scan_out])
    } else {
        (
            dirs("scan_input_directions", num_scan_inputs)?,
            axes("scan_input_axes", num_scan_inputs)?,
            axes("scan_output_axes", n_scan_out)?,
            dirs("scan_output_directions", n_scan_out)?,
        )
    };
    Ok(ControlOp::Scan(ScanAttrs {
        body,
        num_scan_inputs,
        input_axes,
        input_reverse,
        output_axes,
        output_reverse,
        batch_axis_v8,
    }))
}
