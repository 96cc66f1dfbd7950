//! Evaluation of the nn family: shape checks and dtype dispatch around the reference kernels
//! in `mote_kernels::reference::nn`. Float ops compute f16/bf16 in f32 and round once.

use mote_ir::ops::nn::{NnOp, Resolved};
use mote_ir::{Tensor, Value};
use mote_kernels::reference::nn::Spatial;

use super::{EvalCx, Inputs, one};
use crate::error::OpError;
use crate::{bail, op_err};

mod conv;
mod matmul;
mod norm;
mod pool;
mod softmax;

/// Runs `$body` with `$T` bound to the compute type of float dtype `$dtype` (f32 for
/// f16/bf16/f32, f64 for f64); other dtypes are an error naming `$op`.
macro_rules! float_kernel {
    ($dtype:expr, $op:expr, |$T:ident| $body:expr) => {
        match $dtype {
            mote_ir::DType::F32 | mote_ir::DType::F16 | mote_ir::DType::BF16 => {
                #[allow(dead_code)]
                type $T = f32;
                $body
            }
            mote_ir::DType::F64 => {
                #[allow(dead_code)]
                type $T = f64;
                $body
            }
            d => $crate::bail!("{} is not defined for {d} inputs", $op),
        }
    };
}
pub(crate) use float_kernel;

/// Evaluates one nn op.
pub fn eval(op: &NnOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, n: usize) -> Result<Vec<Value>, OpError> {
    let x = || inputs.tensor(0);
    match op {
        NnOp::Conv(a) => one(conv::conv(a, x()?, inputs.tensor(1)?, inputs.opt_tensor(2)?)?),
        NnOp::ConvTranspose(a) => one(conv::conv_transpose(a, x()?, inputs.tensor(1)?, inputs.opt_tensor(2)?)?),
        NnOp::DeformConv(a) => one(conv::deform_conv(a, inputs)?),
        NnOp::Col2Im(w) => one(conv::col2im(w, x()?, inputs.tensor(1)?, inputs.tensor(2)?)?),
        NnOp::Pool(a) => pool::pool(a, x()?, n),
        NnOp::GlobalPool(g) => one(pool::global_pool(*g, x()?)?),
        NnOp::MaxUnpool(w) => one(pool::max_unpool(w, x()?, inputs.tensor(1)?, inputs.opt_tensor(2)?)?),
        NnOp::BatchNorm { .. }
        | NnOp::InstanceNorm { .. }
        | NnOp::LayerNorm { .. }
        | NnOp::GroupNorm { .. }
        | NnOp::RmsNorm { .. }
        | NnOp::Lrn { .. }
        | NnOp::LpNorm { .. }
        | NnOp::MeanVarianceNorm { .. } => norm::eval(op, inputs, n),
        NnOp::Gemm { alpha, beta, trans_a, trans_b } => {
            one(matmul::gemm(x()?, inputs.tensor(1)?, inputs.opt_tensor(2)?, *alpha, *beta, *trans_a, *trans_b)?)
        }
        NnOp::MatMul => one(matmul::matmul(x()?, inputs.tensor(1)?)?),
        NnOp::Einsum(eq) => one(matmul::einsum(eq, &inputs.tensors()?)?),
        NnOp::Det => one(matmul::det(x()?)?),
        NnOp::Softmax(a) => one(softmax::softmax(a, x()?)?),
        NnOp::Dropout { seed } => softmax::dropout(*seed, x()?, inputs.opt_tensor(1)?, inputs.opt_tensor(2)?, n),
    }
}

/// `[N, C, spatial...]` split into `(N, C, spatial)`, with the op name in errors.
fn split_nc<'a>(t: &'a Tensor, op: &str) -> Result<(usize, usize, &'a [usize]), OpError> {
    match t.shape() {
        [n, c, rest @ ..] => Ok((*n, *c, rest)),
        s => Err(op_err!("{op}: input must be [N, C, ...], got shape {s:?}")),
    }
}

/// Pads a resolved N-d window (N <= 3) to the kernels' three spatial axes.
fn spatial(input: &[usize], r: &Resolved) -> Result<(Spatial, [isize; 3]), OpError> {
    let d = input.len();
    if d > 3 {
        bail!("{d} spatial dimensions are not supported (at most 3)");
    }
    let mut s =
        Spatial { input: [1; 3], output: [1; 3], kernel: [1; 3], strides: [1; 3], dilations: [1; 3], pads: [0; 3] };
    let mut pads_end = [0; 3];
    let o = 3 - d;
    for i in 0..d {
        s.input[o + i] = input[i];
        s.output[o + i] = r.out[i];
        s.kernel[o + i] = r.kernel[i];
        s.strides[o + i] = r.strides[i];
        s.dilations[o + i] = r.dilations[i];
        s.pads[o + i] = r.pads_begin[i];
        pads_end[o + i] = r.pads_end[i];
    }
    Ok((s, pads_end))
}

/// A typed output buffer of `shape`'s size, after the size check.
fn buffer<T: Default + Clone>(shape: &[usize]) -> Result<Vec<T>, OpError> {
    Ok(vec![T::default(); super::numel(shape)?])
}

/// The typed data of an optional tensor.
fn opt_typed<T: mote_ir::Elem>(t: Option<&Tensor>) -> Result<Option<&[T]>, OpError> {
    Ok(t.map(|t| t.typed::<T>()).transpose()?)
}

/// For every position of `target`, the flat index of the element of a tensor of shape `dims`
/// that numpy broadcasting maps there (`dims` must broadcast to `target`).
fn broadcast_index(dims: &[usize], target: &[usize]) -> Result<Vec<usize>, OpError> {
    let off = target.len().checked_sub(dims.len()).ok_or_else(|| op_err!("cannot broadcast {dims:?} to {target:?}"))?;
    let mut strides = vec![0usize; target.len()];
    let mut acc = 1;
    for i in (0..dims.len()).rev() {
        if dims[i] != 1 {
            if dims[i] != target[off + i] {
                bail!("cannot broadcast {dims:?} to {target:?}");
            }
            strides[off + i] = acc;
        }
        acc *= dims[i];
    }
    let mut out = Vec::with_capacity(super::numel(target)?);
    let mut idx = vec![0usize; target.len()];
    for _ in 0..out.capacity() {
        out.push(idx.iter().zip(&strides).map(|(i, s)| i * s).sum());
        mote_core::shape::next_index(&mut idx, target);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
