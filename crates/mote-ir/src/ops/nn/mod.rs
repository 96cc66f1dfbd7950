//! Neural-network ops: convolution, pooling, normalization, matrix products, softmax.
//!
//! Spatial ops take `[N, C, spatial...]` inputs. Window attributes (strides, dilations, pads,
//! `auto_pad`, `ceil_mode`) live in [`Window`]; [`geom`] resolves them against concrete sizes for
//! both static inference and evaluation.

use mote_core::DType;

use crate::infer::{InferCx, InferError, broadcast, normalize_axis};
use crate::infer_err;
use crate::ops::OpFamily;
use crate::types::{Dim, TensorType, ValueType};

/// Einsum equation parsing.
pub mod einsum;
/// Window geometry (padding modes, output sizes).
pub mod geom;
mod infer;

pub use einsum::{Equation, Label};
pub use geom::{AutoPad, Resolved, Window};

/// Neural-network ops. Attribute defaults are applied by the importer.
#[derive(Clone, Debug, PartialEq)]
pub enum NnOp {
    /// `Conv(X, W, B?)`: `W` is `[M, C/group, k...]`.
    Conv(ConvAttrs),
    /// `ConvTranspose(X, W, B?)`: `W` is `[C, M/group, k...]`.
    ConvTranspose(ConvTransposeAttrs),
    /// `DeformConv(X, W, offset, B?, mask?)`.
    DeformConv(DeformConvAttrs),
    /// `Col2Im(input, image_shape, block_shape)`: the window's kernel is `block_shape`.
    Col2Im(Window),
    /// `MaxPool`, `AveragePool`, `LpPool`.
    Pool(PoolAttrs),
    /// `GlobalAveragePool`, `GlobalMaxPool`, `GlobalLpPool`.
    GlobalPool(GlobalPool),
    /// `MaxUnpool(X, I, output_shape?)`.
    MaxUnpool(Window),
    /// `BatchNormalization(X, scale, B, mean, var)`. In training mode, normalizes with the
    /// batch statistics and also outputs the updated running mean and variance.
    BatchNorm {
        epsilon: f32,
        momentum: f32,
        training: bool,
    },
    /// `InstanceNormalization(X, scale, B)`.
    InstanceNorm {
        epsilon: f32,
    },
    /// `LayerNormalization(X, scale, B?)` over axes `axis..`; outputs Y, Mean, InvStdDev.
    LayerNorm {
        axis: i64,
        epsilon: f32,
    },
    /// `GroupNormalization(X, scale, B)`. `per_group_affine`: opset 18's scale and bias of shape
    /// `[num_groups]` instead of `[C]`.
    GroupNorm {
        epsilon: f32,
        num_groups: usize,
        per_group_affine: bool,
    },
    /// `RMSNormalization(X, scale)` over axes `axis..`.
    RmsNorm {
        axis: i64,
        epsilon: f32,
    },
    /// Local response normalization across channels.
    Lrn {
        alpha: f32,
        beta: f32,
        bias: f32,
        size: usize,
    },
    /// `LpNormalization`: x / ||x||_p along `axis` (p is 1 or 2).
    LpNorm {
        axis: i64,
        p: u8,
    },
    /// `MeanVarianceNormalization` over `axes`.
    MeanVarianceNorm {
        axes: Vec<i64>,
    },
    /// `Gemm(A, B, C?)`: `alpha * A' * B' + beta * C`.
    Gemm {
        alpha: f32,
        beta: f32,
        trans_a: bool,
        trans_b: bool,
    },
    /// Numpy `matmul`.
    MatMul,
    Einsum(Equation),
    /// `Dropout(data, ratio?, training_mode?)` -> (output, mask?).
    Dropout {
        seed: Option<i64>,
    },
    /// `Softmax`, `LogSoftmax`, `Hardmax`.
    Softmax(SoftmaxAttrs),
    /// Determinant of the last two (square) axes.
    Det,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvAttrs {
    pub window: Window,
    pub group: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvTransposeAttrs {
    pub window: Window,
    pub group: usize,
    /// Per spatial axis; empty = zeros.
    pub output_padding: Vec<usize>,
    /// Spatial output shape; wins over `pads`.
    pub output_shape: Option<Vec<usize>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeformConvAttrs {
    pub window: Window,
    pub group: usize,
    pub offset_group: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PoolKind {
    /// `col_major`: `storage_order = 1` for the Indices output.
    Max {
        col_major: bool,
    },
    Average {
        count_include_pad: bool,
    },
    Lp {
        p: f32,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct PoolAttrs {
    pub kind: PoolKind,
    /// `kernel_shape` is always set.
    pub window: Window,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GlobalPool {
    Average,
    Max,
    Lp { p: f32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftmaxKind {
    Softmax,
    LogSoftmax,
    Hardmax,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftmaxAttrs {
    pub kind: SoftmaxKind,
    pub axis: i64,
    /// Opset < 13: the input is viewed as 2-D `[prod(dims[..axis]), prod(dims[axis..])]` and
    /// normalized along the second axis.
    pub coerce_2d: bool,
}

impl OpFamily for NnOp {
    fn name(&self) -> &'static str {
        match self {
            NnOp::Conv(_) => "Conv",
            NnOp::ConvTranspose(_) => "ConvTranspose",
            NnOp::DeformConv(_) => "DeformConv",
            NnOp::Col2Im(_) => "Col2Im",
            NnOp::Pool(p) => match p.kind {
                PoolKind::Max { .. } => "MaxPool",
                PoolKind::Average { .. } => "AveragePool",
                PoolKind::Lp { .. } => "LpPool",
            },
            NnOp::GlobalPool(GlobalPool::Average) => "GlobalAveragePool",
            NnOp::GlobalPool(GlobalPool::Max) => "GlobalMaxPool",
            NnOp::GlobalPool(GlobalPool::Lp { .. }) => "GlobalLpPool",
            NnOp::MaxUnpool(_) => "MaxUnpool",
            NnOp::BatchNorm { .. } => "BatchNormalization",
            NnOp::InstanceNorm { .. } => "InstanceNormalization",
            NnOp::LayerNorm { .. } => "LayerNormalization",
            NnOp::GroupNorm { .. } => "GroupNormalization",
            NnOp::RmsNorm { .. } => "RMSNormalization",
            NnOp::Lrn { .. } => "LRN",
            NnOp::LpNorm { .. } => "LpNormalization",
            NnOp::MeanVarianceNorm { .. } => "MeanVarianceNormalization",
            NnOp::Gemm { .. } => "Gemm",
            NnOp::MatMul => "MatMul",
            NnOp::Einsum(_) => "Einsum",
            NnOp::Dropout { .. } => "Dropout",
            NnOp::Softmax(s) => match s.kind {
                SoftmaxKind::Softmax => "Softmax",
                SoftmaxKind::LogSoftmax => "LogSoftmax",
                SoftmaxKind::Hardmax => "Hardmax",
            },
            NnOp::Det => "Det",
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        infer::infer(self, cx)
    }

    fn macs(&self, cx: &InferCx<'_>, outputs: &[ValueType]) -> Option<u64> {
        infer::macs(self, cx, outputs)
    }
}

/// The dtype of LayerNormalization's Mean and InvStdDev outputs for input dtype `x`
/// (statistics are stashed in f32, or f64 for f64 inputs).
pub fn layer_norm_stat_dtype(x: DType) -> DType {
    if x == DType::F64 { DType::F64 } else { DType::F32 }
}

/// Numpy `matmul` output shape of static shapes (1-D operands are promoted and the added axis
/// dropped).
pub fn matmul_shape(a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>, InferError> {
    if a.is_empty() || b.is_empty() {
        return Err(infer_err!("MatMul operands must have rank >= 1"));
    }
    let a2: Vec<Dim> = if a.len() == 1 { vec![Dim::Known(1), a[0].clone()] } else { a.to_vec() };
    let b2: Vec<Dim> = if b.len() == 1 { vec![b[0].clone(), Dim::Known(1)] } else { b.to_vec() };
    let (ra, rb) = (a2.len(), b2.len());
    if let (Dim::Known(ka), Dim::Known(kb)) = (&a2[ra - 1], &b2[rb - 2])
        && ka != kb
    {
        return Err(infer_err!("MatMul: inner dimensions differ ({ka} vs {kb})"));
    }
    let mut out = broadcast(&a2[..ra - 2], &b2[..rb - 2])?;
    if a.len() > 1 {
        out.push(a2[ra - 2].clone());
    }
    if b.len() > 1 {
        out.push(b2[rb - 1].clone());
    }
    Ok(out)
}

fn tensor(dtype: Option<DType>, shape: Option<Vec<Dim>>) -> ValueType {
    ValueType::Tensor(TensorType { dtype, shape })
}

fn axis_of(axis: i64, rank: usize) -> Result<usize, InferError> {
    normalize_axis(axis, rank)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::Fact;

    fn fact(shape: &[usize]) -> Option<Fact> {
        Some(Fact::of_type(ValueType::Tensor(TensorType::concrete(DType::F32, shape))))
    }

    fn run(op: &NnOp, inputs: &[Option<Fact>], n: usize) -> (Vec<ValueType>, Option<u64>) {
        let cx = InferCx::new(inputs, n);
        let out = op.infer(&cx).unwrap();
        let macs = op.macs(&cx, &out);
        (out, macs)
    }

    #[test]
    fn conv_shape_and_macs() {
        let op = NnOp::Conv(ConvAttrs {
            window: Window { strides: vec![2, 2], auto_pad: AutoPad::SameUpper, ..Window::default() },
            group: 1,
        });
        let (out, macs) = run(&op, &[fact(&[1, 3, 224, 224]), fact(&[32, 3, 3, 3])], 1);
        assert_eq!(out[0], ValueType::Tensor(TensorType::concrete(DType::F32, &[1, 32, 112, 112])));
        assert_eq!(macs, Some(32 * 112 * 112 * 27));
    }

    #[test]
    fn matmul_and_einsum_shapes() {
        let (out, macs) = run(&NnOp::MatMul, &[fact(&[2, 1, 3, 4]), fact(&[5, 4, 6])], 1);
        assert_eq!(out[0], ValueType::Tensor(TensorType::concrete(DType::F32, &[2, 5, 3, 6])));
        assert_eq!(macs, Some(2 * 5 * 3 * 6 * 4));
        let (_, vec_out) = run(&NnOp::MatMul, &[fact(&[4]), fact(&[4])], 1);
        assert_eq!(vec_out, Some(4));
        let eq = NnOp::Einsum(Equation::parse("...ij,jk->...ik").unwrap());
        let (out, macs) = run(&eq, &[fact(&[7, 2, 3]), fact(&[3, 5])], 1);
        assert_eq!(out[0], ValueType::Tensor(TensorType::concrete(DType::F32, &[7, 2, 5])));
        assert_eq!(macs, Some(7 * 2 * 3 * 5));
        assert!(NnOp::MatMul.infer(&InferCx::new(&[fact(&[2, 3]), fact(&[4, 5])], 1)).is_err());
    }

    #[test]
    fn layer_norm_statistics_keep_rank() {
        let op = NnOp::LayerNorm { axis: -2, epsilon: 1e-5 };
        let (out, _) = run(&op, &[fact(&[2, 3, 4]), fact(&[3, 4])], 3);
        assert_eq!(out[1], ValueType::Tensor(TensorType::concrete(DType::F32, &[2, 1, 1])));
    }
}
