//! Quantization ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, QLinearConv,
//! QLinearMatMul, ConvInteger, MatMulInteger.
//!
//! Affine quantization: `real = scale * (q - zero_point)`. Quantizing rounds half to even and
//! saturates to the integer type's range. Integer ops accumulate exactly in i32.

use mote_core::DType;

use crate::infer::{InferCx, InferError, broadcast};
use crate::infer_err;
use crate::ops::OpFamily;
use crate::ops::nn::ConvAttrs;
use crate::types::{Dim, TensorType, ValueType};

/// Quantization ops.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantOp {
    /// `QuantizeLinear(x, scale, zero_point?)`. The output dtype is the zero point's, else
    /// `output_dtype`, else u8. `precision` is the dtype of the division (default: the scale's).
    /// `saturate` applies to float8 outputs (out-of-range values clamp instead of becoming
    /// Inf/NaN).
    Quantize { axis: i64, block_size: usize, output_dtype: Option<DType>, precision: Option<DType>, saturate: bool },
    /// `DequantizeLinear(x, scale, zero_point?)`. The output dtype is `output_dtype`, else the
    /// scale's.
    Dequantize { axis: i64, block_size: usize, output_dtype: Option<DType> },
    /// `DynamicQuantizeLinear(x) -> (y: u8, scale: f32, zero_point: u8)`.
    DynamicQuantize,
    /// `QLinearConv(x, xs, xz, w, ws, wz, ys, yz, B?)`.
    QLinearConv(ConvAttrs),
    /// `QLinearMatMul(a, as, az, b, bs, bz, ys, yz)`.
    QLinearMatMul,
    /// `ConvInteger(x, w, xz?, wz?) -> i32`.
    ConvInteger(ConvAttrs),
    /// `MatMulInteger(a, b, az?, bz?) -> i32`.
    MatMulInteger,
}

/// Dtypes that the Q/DQ ops accept as quantized values: 2- to 32-bit integers, float8 (but not
/// E8M0, a scale type) and float4.
pub fn is_quant_dtype(d: DType) -> bool {
    matches!(d, DType::I8 | DType::U8 | DType::I16 | DType::U16 | DType::I32)
        || d.is_small_int()
        || (d.is_low_precision_float() && d != DType::F8E8M0)
}

/// Numpy matmul shape rule on static shapes (1-D operands are promoted and the axis removed).
pub fn matmul_shape(a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>, InferError> {
    if a.is_empty() || b.is_empty() {
        return Err(infer_err!("matmul operands must have rank >= 1"));
    }
    let a2: Vec<Dim> = if a.len() == 1 { vec![Dim::Known(1), a[0].clone()] } else { a.to_vec() };
    let b2: Vec<Dim> = if b.len() == 1 { vec![b[0].clone(), Dim::Known(1)] } else { b.to_vec() };
    let (ka, kb) = (&a2[a2.len() - 1], &b2[b2.len() - 2]);
    if let (Dim::Known(x), Dim::Known(y)) = (ka, kb)
        && x != y
    {
        return Err(infer_err!("matmul inner dimensions differ: {x} vs {y}"));
    }
    let mut out = broadcast(&a2[..a2.len() - 2], &b2[..b2.len() - 2])?;
    if a.len() > 1 {
        out.push(a2[a2.len() - 2].clone());
    }
    if b.len() > 1 {
        out.push(b2[b2.len() - 1].clone());
    }
    Ok(out)
}

fn conv_shape(attrs: &ConvAttrs, cx: &InferCx<'_>, x: usize, w: usize) -> Result<Option<Vec<Dim>>, InferError> {
    let (Some(xs), Some(ws)) = (cx.shape(x), cx.shape(w)) else {
        return Ok(cx.rank(x).map(|r| vec![Dim::Unknown; r]));
    };
    if xs.len() < 3 || xs.len() != ws.len() {
        return Err(infer_err!("X (rank {}) and W (rank {}) must have the same rank >= 3", xs.len(), ws.len()));
    }
    let mut out = vec![xs[0].clone(), ws[0].clone()];
    match ws[2..].iter().map(Dim::known).collect::<Option<Vec<usize>>>() {
        Some(k) => {
            if let Some(ks) = &attrs.window.kernel_shape
                && *ks != k
            {
                return Err(infer_err!("kernel_shape {ks:?} differs from the weight's spatial dims {k:?}"));
            }
            out.extend(attrs.window.infer_out(&xs[2..], &k)?);
        }
        None => out.extend(std::iter::repeat_n(Dim::Unknown, xs.len() - 2)),
    }
    Ok(Some(out))
}

fn conv_macs(cx: &InferCx<'_>, outputs: &[ValueType], w: usize) -> Option<u64> {
    let y = outputs.first()?.as_tensor()?.known_shape()?;
    let ws = cx.tensor(w).known_shape()?;
    // Each output element needs (C_in / group) * prod(kernel) MACs; W is [M, C_in/group, k...].
    let per_out = ws.get(1..)?.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))?;
    y.iter().try_fold(per_out, |acc, &d| acc.checked_mul(d as u64))
}

impl OpFamily for QuantOp {
    fn name(&self) -> &'static str {
        match self {
            QuantOp::Quantize { .. } => "QuantizeLinear",
            QuantOp::Dequantize { .. } => "DequantizeLinear",
            QuantOp::DynamicQuantize => "DynamicQuantizeLinear",
            QuantOp::QLinearConv(_) => "QLinearConv",
            QuantOp::QLinearMatMul => "QLinearMatMul",
            QuantOp::ConvInteger(_) => "ConvInteger",
            QuantOp::MatMulInteger => "MatMulInteger",
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        let shape0 = cx.tensor(0).shape.clone();
        Ok(match self {
            QuantOp::Quantize { output_dtype, .. } => {
                let dtype = if cx.opt(2).is_some() { cx.dtype(2) } else { Some(output_dtype.unwrap_or(DType::U8)) };
                vec![ValueType::Tensor(TensorType { dtype, shape: shape0 })]
            }
            QuantOp::Dequantize { output_dtype, .. } => {
                if output_dtype.is_none() && cx.dtype(1) == Some(DType::F8E8M0) {
                    return Err(infer_err!("output_dtype is required when x_scale is float8e8m0"));
                }
                let dtype = output_dtype.or(cx.dtype(1));
                vec![ValueType::Tensor(TensorType { dtype, shape: shape0 })]
            }
            QuantOp::DynamicQuantize => vec![
                ValueType::Tensor(TensorType { dtype: Some(DType::U8), shape: shape0 }),
                ValueType::tensor(DType::F32, vec![]),
                ValueType::tensor(DType::U8, vec![]),
            ],
            QuantOp::QLinearConv(a) => {
                vec![ValueType::Tensor(TensorType { dtype: cx.dtype(7), shape: conv_shape(a, cx, 0, 3)? })]
            }
            QuantOp::ConvInteger(a) => {
                vec![ValueType::Tensor(TensorType { dtype: Some(DType::I32), shape: conv_shape(a, cx, 0, 1)? })]
            }
            QuantOp::QLinearMatMul | QuantOp::MatMulInteger => {
                let b = if *self == QuantOp::QLinearMatMul { 3 } else { 1 };
                let shape = match (cx.shape(0), cx.shape(b)) {
                    (Some(x), Some(y)) => Some(matmul_shape(x, y)?),
                    _ => None,
                };
                let dtype = if *self == QuantOp::QLinearMatMul { cx.dtype(7) } else { Some(DType::I32) };
                vec![ValueType::Tensor(TensorType { dtype, shape })]
            }
        })
    }

    fn macs(&self, cx: &InferCx<'_>, outputs: &[ValueType]) -> Option<u64> {
        match self {
            QuantOp::QLinearConv(_) => conv_macs(cx, outputs, 3),
            QuantOp::ConvInteger(_) => conv_macs(cx, outputs, 1),
            QuantOp::QLinearMatMul | QuantOp::MatMulInteger => {
                let a = cx.tensor(0).known_shape()?;
                let y = outputs.first()?.as_tensor()?.known_shape()?;
                let k = *a.last()?;
                y.iter().try_fold(k as u64, |acc, &d| acc.checked_mul(d as u64))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_shapes() {
        let k = |v: &[usize]| v.iter().map(|&d| Dim::Known(d)).collect::<Vec<_>>();
        assert_eq!(matmul_shape(&k(&[2, 3, 4]), &k(&[4, 5])).unwrap(), k(&[2, 3, 5]));
        assert_eq!(matmul_shape(&k(&[4]), &k(&[4, 5])).unwrap(), k(&[5]));
        assert!(matmul_shape(&k(&[3, 4]), &k(&[5, 2])).is_err());
    }
}
