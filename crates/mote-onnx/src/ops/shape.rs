//! Shape and data-movement ops: ONNX attributes -> [`ShapeOp`].
//!
//! Older opsets carried some inputs as attributes; they become constant inputs here (Reshape-1
//! `shape`, Squeeze/Unsqueeze-1/11 `axes`, Split-2/11 `split`, Slice-1 `starts`/`ends`/`axes`,
//! Pad-2 `pads`/`value`).

use mote_ir::ops::shape::{BlockMode, PadMode, Reduction, ShapeOp};
use mote_ir::{DType, Op, Tensor};

use super::{NodeCtx, NodeError, invalid, unsupported};

pub const OPS: &[(&str, &str)] = &[
    ("", "Identity"),
    ("", "Reshape"),
    ("", "Flatten"),
    ("", "Squeeze"),
    ("", "Unsqueeze"),
    ("", "Transpose"),
    ("", "Concat"),
    ("", "Split"),
    ("", "Slice"),
    ("", "Gather"),
    ("", "GatherElements"),
    ("", "GatherND"),
    ("", "Scatter"),
    ("", "ScatterElements"),
    ("", "ScatterND"),
    ("", "Expand"),
    ("", "Tile"),
    ("", "Pad"),
    ("", "Shape"),
    ("", "Size"),
    ("", "ConstantOfShape"),
    ("", "Range"),
    ("", "EyeLike"),
    ("", "OneHot"),
    ("", "Trilu"),
    ("", "Compress"),
    ("", "NonZero"),
    ("", "Unique"),
    ("", "DepthToSpace"),
    ("", "SpaceToDepth"),
    ("", "ReverseSequence"),
    ("", "CenterCropPad"),
    ("", "BitCast"),
];

fn ints_tensor(v: Vec<i64>) -> Tensor {
    Tensor::from_vec(vec![v.len()], v).expect("length matches")
}

/// Moves an ints attribute that a later opset made an input to input position `i`.
fn attr_to_input(cx: &mut NodeCtx<'_>, name: &str, i: usize) -> Result<bool, NodeError> {
    match cx.ints(name)? {
        Some(v) => {
            if cx.inputs.get(i).is_some_and(Option::is_some) {
                return Err(invalid!("`{name}` is given both as an attribute and as input {i}"));
            }
            cx.const_input(i, name, ints_tensor(v));
            Ok(true)
        }
        None => Ok(false),
    }
}

fn reduction(cx: &NodeCtx<'_>) -> Result<Reduction, NodeError> {
    Ok(match cx.string("reduction", "none")?.as_str() {
        "none" => Reduction::None,
        "add" => Reduction::Add,
        "mul" => Reduction::Mul,
        "max" => Reduction::Max,
        "min" => Reduction::Min,
        other => return Err(invalid!("attribute `reduction` must be none, add, mul, max or min, got {other:?}")),
    })
}

fn block(cx: &NodeCtx<'_>) -> Result<(usize, BlockMode), NodeError> {
    cx.expect_inputs(1, 1)?;
    let bs = cx.req_int("blocksize")?;
    if bs < 1 || bs > u32::MAX as i64 {
        return Err(invalid!("attribute `blocksize` must be positive, got {bs}"));
    }
    let mode = match cx.string("mode", "DCR")?.as_str() {
        "DCR" => BlockMode::Dcr,
        "CRD" => BlockMode::Crd,
        other => return Err(invalid!("attribute `mode` must be DCR or CRD, got {other:?}")),
    };
    Ok((bs as usize, mode))
}

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    let op = match cx.op_type {
        "Identity" => {
            cx.expect_inputs(1, 1)?;
            ShapeOp::Identity
        }
        "Reshape" => {
            // Reshape-1: `shape` attribute; `consumed_inputs` is a memory hint.
            cx.ignore(&["consumed_inputs"]);
            attr_to_input(cx, "shape", 1)?;
            cx.expect_inputs(2, 2)?;
            ShapeOp::Reshape { allowzero: cx.int("allowzero", 0)? != 0 }
        }
        "Flatten" => {
            cx.expect_inputs(1, 1)?;
            ShapeOp::Flatten { axis: cx.int("axis", 1)? }
        }
        "Squeeze" => {
            attr_to_input(cx, "axes", 1)?;
            cx.expect_inputs(1, 2)?;
            ShapeOp::Squeeze
        }
        "Unsqueeze" => {
            attr_to_input(cx, "axes", 1)?;
            cx.expect_inputs(2, 2)?;
            ShapeOp::Unsqueeze
        }
        "Transpose" => {
            cx.expect_inputs(1, 1)?;
            ShapeOp::Transpose { perm: cx.usizes("perm")? }
        }
        "Concat" => {
            cx.expect_inputs(1, usize::MAX)?;
            let axis = if cx.opset < 4 { cx.int("axis", 1)? } else { cx.req_int("axis")? };
            ShapeOp::Concat { axis }
        }
        "Split" => {
            let n = cx.node.output.len();
            attr_to_input(cx, "split", 1)?;
            if let Some(k) = cx.int_opt("num_outputs")? {
                if cx.inputs.get(1).is_some_and(Option::is_some) {
                    return Err(invalid!("Split takes `split` or `num_outputs`, not both"));
                }
                if k != n as i64 {
                    return Err(invalid!("attribute `num_outputs` is {k} but the node has {n} outputs"));
                }
            }
            cx.expect_inputs(1, 2)?;
            if n == 0 {
                return Err(invalid!("Split needs at least one output"));
            }
            ShapeOp::Split { axis: cx.int("axis", 0)? }
        }
        "Slice" => {
            if cx.opset < 10 {
                cx.expect_inputs(1, 1)?;
                let starts = cx.ints("starts")?.ok_or_else(|| invalid!("required attribute `starts` is missing"))?;
                let ends = cx.ints("ends")?.ok_or_else(|| invalid!("required attribute `ends` is missing"))?;
                cx.const_input(1, "starts", ints_tensor(starts));
                cx.const_input(2, "ends", ints_tensor(ends));
                attr_to_input(cx, "axes", 3)?;
            }
            cx.expect_inputs(3, 5)?;
            ShapeOp::Slice
        }
        "Gather" => {
            cx.expect_inputs(2, 2)?;
            ShapeOp::Gather { axis: cx.int("axis", 0)? }
        }
        "GatherElements" => {
            cx.expect_inputs(2, 2)?;
            ShapeOp::GatherElements { axis: cx.int("axis", 0)? }
        }
        "GatherND" => {
            cx.expect_inputs(2, 2)?;
            let b = cx.int("batch_dims", 0)?;
            let batch_dims = usize::try_from(b).map_err(|_| invalid!("attribute `batch_dims` is negative: {b}"))?;
            ShapeOp::GatherND { batch_dims }
        }
        "Scatter" | "ScatterElements" => {
            cx.expect_inputs(3, 3)?;
            ShapeOp::ScatterElements { axis: cx.int("axis", 0)?, reduction: reduction(cx)? }
        }
        "ScatterND" => {
            cx.expect_inputs(3, 3)?;
            ShapeOp::ScatterND { reduction: reduction(cx)? }
        }
        "Expand" => {
            cx.expect_inputs(2, 2)?;
            ShapeOp::Expand
        }
        "Tile" => {
            if cx.opset < 6 {
                return Err(unsupported!("Tile-1 (tiles and axis inputs) is not supported"));
            }
            cx.expect_inputs(2, 2)?;
            ShapeOp::Tile
        }
        "Pad" => pad(cx)?,
        "Shape" => {
            cx.expect_inputs(1, 1)?;
            ShapeOp::Shape { start: cx.int("start", 0)?, end: cx.int_opt("end")? }
        }
        "Size" => {
            cx.expect_inputs(1, 1)?;
            ShapeOp::Size
        }
        "ConstantOfShape" => {
            cx.expect_inputs(1, 1)?;
            let value = match cx.tensor("value")? {
                Some(t) if t.len() == 1 => t.reshape(vec![]).expect("one element"),
                Some(t) => return Err(invalid!("attribute `value` must hold one element, got shape {:?}", t.shape())),
                None => Tensor::scalar(0.0f32),
            };
            ShapeOp::ConstantOfShape { value }
        }
        "Range" => {
            cx.expect_inputs(3, 3)?;
            let stash = match cx.dtype("stash_type")? {
                None | Some(DType::F32) => DType::F32,
                Some(DType::F64) => DType::F64,
                Some(d) => return Err(invalid!("attribute `stash_type` must be float or double, got {d}")),
            };
            ShapeOp::Range { stash }
        }
        "EyeLike" => {
            cx.expect_inputs(1, 1)?;
            ShapeOp::EyeLike { k: cx.int("k", 0)?, dtype: cx.dtype("dtype")? }
        }
        "OneHot" => {
            cx.expect_inputs(3, 3)?;
            ShapeOp::OneHot { axis: cx.int("axis", -1)? }
        }
        "Trilu" => {
            cx.expect_inputs(1, 2)?;
            ShapeOp::Trilu { upper: cx.int("upper", 1)? != 0 }
        }
        "Compress" => {
            cx.expect_inputs(2, 2)?;
            ShapeOp::Compress { axis: cx.int_opt("axis")? }
        }
        "NonZero" => {
            cx.expect_inputs(1, 1)?;
            ShapeOp::NonZero
        }
        "Unique" => {
            cx.expect_inputs(1, 1)?;
            ShapeOp::Unique { sorted: cx.int("sorted", 1)? != 0, axis: cx.int_opt("axis")? }
        }
        "DepthToSpace" => {
            let (blocksize, mode) = block(cx)?;
            ShapeOp::DepthToSpace { blocksize, mode }
        }
        "SpaceToDepth" => {
            let (blocksize, mode) = block(cx)?;
            ShapeOp::SpaceToDepth { blocksize, mode }
        }
        "ReverseSequence" => {
            cx.expect_inputs(2, 2)?;
            ShapeOp::ReverseSequence { batch_axis: cx.int("batch_axis", 1)?, time_axis: cx.int("time_axis", 0)? }
        }
        "CenterCropPad" => {
            cx.expect_inputs(2, 2)?;
            ShapeOp::CenterCropPad { axes: cx.ints("axes")? }
        }
        "BitCast" => {
            cx.expect_inputs(1, 1)?;
            let to = cx.dtype("to")?.ok_or_else(|| invalid!("required attribute `to` is missing"))?;
            if to == DType::String {
                return Err(invalid!("BitCast to string is not defined"));
            }
            ShapeOp::BitCast { to }
        }
        _ => return Ok(None),
    };
    Ok(Some(Op::Shape(op)))
}

fn pad(cx: &mut NodeCtx<'_>) -> Result<ShapeOp, NodeError> {
    let mode = match cx.string("mode", "constant")?.as_str() {
        "constant" => PadMode::Constant,
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        "wrap" => PadMode::Wrap,
        other => return Err(invalid!("attribute `mode` must be constant, reflect, edge or wrap, got {other:?}")),
    };
    if cx.opset < 11 {
        // Pad-1 `paddings` / Pad-2 `pads` and the float `value` attribute.
        cx.expect_inputs(1, 1)?;
        let name = if cx.opset < 2 { "paddings" } else { "pads" };
        if !attr_to_input(cx, name, 1)? {
            return Err(invalid!("required attribute `{name}` is missing"));
        }
        let value = cx.float("value", 0.0)?;
        cx.const_input(2, "value", Tensor::scalar(value));
    }
    cx.expect_inputs(2, 4)?;
    Ok(ShapeOp::Pad { mode })
}
