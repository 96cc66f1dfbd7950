//! Signal ops: ONNX attributes -> [`SignalOp`].

use mote_ir::ops::signal::{SignalOp, WindowKind};
use mote_ir::{DType, Op, Tensor};

use super::{NodeCtx, NodeError, invalid};

pub const OPS: &[(&str, &str)] = &[
    ("", "DFT"),
    ("", "STFT"),
    ("", "HannWindow"),
    ("", "HammingWindow"),
    ("", "BlackmanWindow"),
    ("", "MelWeightMatrix"),
];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    let op = match cx.op_type {
        "DFT" => {
            if cx.opset < 20 {
                // DFT-17: `axis` attribute (default 1); DFT-20 made it an input (default -2).
                cx.expect_inputs(1, 2)?;
                let axis = cx.int("axis", 1)?;
                cx.const_input(2, "axis", Tensor::scalar(axis));
            } else {
                cx.expect_inputs(1, 3)?;
            }
            SignalOp::Dft { inverse: flag(cx, "inverse", 0)?, onesided: flag(cx, "onesided", 0)? }
        }
        "STFT" => {
            cx.expect_inputs(2, 4)?;
            SignalOp::Stft { onesided: flag(cx, "onesided", 1)? }
        }
        "HannWindow" => window(cx, WindowKind::Hann)?,
        "HammingWindow" => window(cx, WindowKind::Hamming)?,
        "BlackmanWindow" => window(cx, WindowKind::Blackman)?,
        "MelWeightMatrix" => {
            cx.expect_inputs(5, 5)?;
            SignalOp::MelWeightMatrix { dtype: output_datatype(cx)? }
        }
        _ => return Ok(None),
    };
    Ok(Some(Op::Signal(op)))
}

fn flag(cx: &NodeCtx<'_>, name: &str, default: i64) -> Result<bool, NodeError> {
    match cx.int(name, default)? {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(invalid!("attribute `{name}` must be 0 or 1, got {v}")),
    }
}

fn output_datatype(cx: &NodeCtx<'_>) -> Result<DType, NodeError> {
    let dtype = cx.dtype("output_datatype")?.unwrap_or(DType::F32);
    if !dtype.is_numeric() {
        return Err(invalid!("attribute `output_datatype` must be a numeric type, got {dtype}"));
    }
    Ok(dtype)
}

fn window(cx: &NodeCtx<'_>, kind: WindowKind) -> Result<SignalOp, NodeError> {
    cx.expect_inputs(1, 1)?;
    Ok(SignalOp::Window { kind, periodic: flag(cx, "periodic", 1)?, dtype: output_datatype(cx)? })
}
