//! Quantization ops: ONNX attributes -> [`QuantOp`].

use mote_ir::ops::nn::ConvAttrs;
use mote_ir::ops::quant::{QuantOp, is_quant_dtype};
use mote_ir::{DType, Op};

use super::{NodeCtx, NodeError, invalid, unsupported};
use crate::tensor::onnx_type_name;

pub const OPS: &[(&str, &str)] = &[
    ("", "QuantizeLinear"),
    ("", "DequantizeLinear"),
    ("", "DynamicQuantizeLinear"),
    ("", "QLinearConv"),
    ("", "QLinearMatMul"),
    ("", "ConvInteger"),
    ("", "MatMulInteger"),
];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    let op = match cx.op_type {
        "QuantizeLinear" => {
            cx.expect_inputs(2, 3)?;
            let output_dtype = dtype_attr(cx, "output_dtype", is_quant_dtype, "a quantized type")?;
            let precision = dtype_attr(cx, "precision", |d| d.is_float(), "a float type")?;
            QuantOp::Quantize {
                axis: cx.int("axis", 1)?,
                block_size: block_size(cx)?,
                output_dtype,
                precision,
                saturate: cx.int("saturate", 1)? != 0,
            }
        }
        "DequantizeLinear" => {
            cx.expect_inputs(2, 3)?;
            let output_dtype = dtype_attr(cx, "output_dtype", |d| d.is_float(), "a float type")?;
            QuantOp::Dequantize { axis: cx.int("axis", 1)?, block_size: block_size(cx)?, output_dtype }
        }
        "DynamicQuantizeLinear" => {
            cx.expect_inputs(1, 1)?;
            QuantOp::DynamicQuantize
        }
        "QLinearConv" => {
            cx.expect_inputs(8, 9)?;
            QuantOp::QLinearConv(conv_attrs(cx)?)
        }
        "ConvInteger" => {
            cx.expect_inputs(2, 4)?;
            QuantOp::ConvInteger(conv_attrs(cx)?)
        }
        "QLinearMatMul" => {
            cx.expect_inputs(8, 8)?;
            QuantOp::QLinearMatMul
        }
        "MatMulInteger" => {
            cx.expect_inputs(2, 4)?;
            QuantOp::MatMulInteger
        }
        _ => return Ok(None),
    };
    Ok(Some(Op::Quant(op)))
}

/// A dtype-code attribute where 0 (or absence) means "not set".
fn dtype_attr(
    cx: &NodeCtx<'_>,
    name: &str,
    ok: impl Fn(DType) -> bool,
    what: &str,
) -> Result<Option<DType>, NodeError> {
    match cx.int_opt(name)? {
        None | Some(0) => Ok(None),
        Some(code) => match DType::from_code(code) {
            Some(d) if ok(d) => Ok(Some(d)),
            Some(d) => Err(invalid!("attribute `{name}` must be {what}, got {d}")),
            None => {
                Err(unsupported!("attribute `{name}`: element type {} is not supported", onnx_type_name(code as i32)))
            }
        },
    }
}

fn block_size(cx: &NodeCtx<'_>) -> Result<usize, NodeError> {
    let b = cx.int("block_size", 0)?;
    usize::try_from(b).map_err(|_| invalid!("attribute `block_size` must be non-negative, got {b}"))
}

/// Reads the convolution attributes shared with `Conv`.
pub fn conv_attrs(cx: &NodeCtx<'_>) -> Result<ConvAttrs, NodeError> {
    Ok(ConvAttrs { window: super::nn::window(cx, false)?, group: super::nn::group(cx, "group")? })
}
