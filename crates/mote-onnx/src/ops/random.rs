//! Random number ops: ONNX attributes -> [`RandomOp`].

use mote_ir::ops::random::{Distribution, RandomOp};
use mote_ir::{DType, Op};

use super::{NodeCtx, NodeError, invalid};

pub const OPS: &[(&str, &str)] = &[
    ("", "RandomUniform"),
    ("", "RandomNormal"),
    ("", "RandomUniformLike"),
    ("", "RandomNormalLike"),
    ("", "Bernoulli"),
    ("", "Multinomial"),
];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    if !OPS.iter().any(|(_, name)| *name == cx.op_type) {
        return Ok(None);
    }
    let seed = cx.float_opt("seed")?;
    let op = match cx.op_type {
        "RandomUniform" | "RandomNormal" => {
            cx.expect_inputs(0, 0)?;
            let shape = cx.usizes("shape")?.ok_or_else(|| invalid!("required attribute `shape` is missing"))?;
            let dtype = float_dtype(cx, Some(DType::F32))?;
            RandomOp::Sample { dist: distribution(cx)?, shape: Some(shape), dtype, seed }
        }
        "RandomUniformLike" | "RandomNormalLike" => {
            cx.expect_inputs(1, 1)?;
            RandomOp::Sample { dist: distribution(cx)?, shape: None, dtype: float_dtype(cx, None)?, seed }
        }
        "Bernoulli" => {
            cx.expect_inputs(1, 1)?;
            let dtype = cx.dtype("dtype")?;
            if let Some(d) = dtype
                && !(d.is_numeric() || d == DType::Bool)
            {
                return Err(invalid!("attribute `dtype` must be numeric or bool, got {d}"));
            }
            RandomOp::Bernoulli { dtype, seed }
        }
        "Multinomial" => {
            cx.expect_inputs(1, 1)?;
            let dtype = cx.dtype("dtype")?.unwrap_or(DType::I32);
            if !matches!(dtype, DType::I32 | DType::I64) {
                return Err(invalid!("attribute `dtype` must be int32 or int64, got {dtype}"));
            }
            let n = cx.int("sample_size", 1)?;
            let sample_size =
                usize::try_from(n).map_err(|_| invalid!("attribute `sample_size` must be non-negative, got {n}"))?;
            RandomOp::Multinomial { dtype, sample_size, seed }
        }
        _ => unreachable!("checked against OPS above"),
    };
    Ok(Some(Op::Random(op)))
}

fn distribution(cx: &NodeCtx<'_>) -> Result<Distribution, NodeError> {
    Ok(if cx.op_type.starts_with("RandomUniform") {
        Distribution::Uniform { low: cx.float("low", 0.0)?, high: cx.float("high", 1.0)? }
    } else {
        Distribution::Normal { mean: cx.float("mean", 0.0)?, scale: cx.float("scale", 1.0)? }
    })
}

/// The `dtype` attribute, which must be a float type when given.
fn float_dtype(cx: &NodeCtx<'_>, default: Option<DType>) -> Result<Option<DType>, NodeError> {
    match cx.dtype("dtype")?.or(default) {
        Some(d) if !d.is_float() => Err(invalid!("attribute `dtype` must be a float type, got {d}")),
        d => Ok(d),
    }
}
