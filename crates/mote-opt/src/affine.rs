//! Per-channel affine maps (`y = x * scale[c] + shift[c]`) that a node applies to one of its
//! inputs: inference BatchNormalization, and Mul/Div/Add/Sub by a constant that varies only
//! along the channel axis.

use mote_ir::ops::elementwise::{Binary, ElementwiseOp};
use mote_ir::ops::nn::NnOp;
use mote_ir::{DType, Graph, Node, Op, Tensor, ValueId};

use crate::edit::{const_of, use_counts};

/// `y = x * scale[c] + shift[c]` along one axis; both vectors have one entry per channel.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Affine {
    pub scale: Vec<f64>,
    pub shift: Vec<f64>,
    /// The rewrite's name for the report.
    pub what: &'static str,
}

impl Affine {
    pub fn has_shift(&self) -> bool {
        self.shift.iter().any(|&b| b != 0.0)
    }
}

/// `t` as one value per channel, when it broadcasts against a rank-`rank` tensor without growing
/// it and varies at most along `axis` (its length there is 1 or `channels`).
pub(crate) fn per_channel(t: &Tensor, rank: usize, axis: usize, channels: usize) -> Option<Vec<f64>> {
    let s = t.shape();
    if s.len() > rank {
        return None;
    }
    let offset = rank - s.len();
    for (i, &d) in s.iter().enumerate() {
        let ok = d == 1 || (i + offset == axis && d == channels);
        if !ok {
            return None;
        }
    }
    let v = t.to_f64_vec().ok()?;
    match v.len() {
        1 => Some(vec![v[0]; channels]),
        n if n == channels => Some(v),
        _ => None,
    }
}

/// Whether a value of this dtype can take folded weights (computed in f64, stored back).
pub(crate) fn foldable_dtype(d: Option<DType>) -> bool {
    matches!(d, Some(DType::F32 | DType::F64))
}

/// A tensor of `dtype` (f32 or f64) from f64 values.
pub(crate) fn from_f64(dtype: DType, shape: Vec<usize>, v: Vec<f64>) -> Option<Tensor> {
    match dtype {
        DType::F32 => Tensor::from_vec(shape, v.into_iter().map(|x| x as f32).collect::<Vec<f32>>()).ok(),
        DType::F64 => Tensor::from_vec(shape, v).ok(),
        _ => None,
    }
}

/// Whether only output 0 of `node` is read.
fn only_first_output_used(g: &Graph, node: &Node) -> bool {
    let extra: Vec<ValueId> = node.outputs.iter().skip(1).flatten().copied().collect();
    if extra.is_empty() {
        return true;
    }
    let uses = use_counts(g);
    extra.iter().all(|v| uses.get(v.index()).copied().unwrap_or(1) == 0 && !g.outputs.contains(v))
}

/// The per-channel scale and shift of an inference BatchNormalization with constant
/// parameters.
pub(crate) fn batchnorm_params(g: &Graph, node: &Node) -> Option<(Vec<f64>, Vec<f64>)> {
    let Op::Nn(NnOp::BatchNorm { epsilon, training: false, .. }) = &node.op else { return None };
    if !only_first_output_used(g, node) {
        return None;
    }
    let p = |i: usize| const_of(g, node.input(i)?)?.to_f64_vec().ok();
    let (scale, bias, mean, var) = (p(1)?, p(2)?, p(3)?, p(4)?);
    let c = scale.len();
    if [bias.len(), mean.len(), var.len()].iter().any(|&n| n != c) {
        return None;
    }
    let eps = f64::from(*epsilon);
    let a: Vec<f64> = scale.iter().zip(&var).map(|(s, v)| s / (v + eps).sqrt()).collect();
    let b: Vec<f64> = bias.iter().zip(&mean).zip(&a).map(|((b, m), a)| b - m * a).collect();
    if a.iter().chain(&b).any(|x| !x.is_finite()) {
        return None;
    }
    Some((a, b))
}

/// The affine map `node` applies to `x` (one of its inputs), as seen on a rank-`rank` tensor
/// whose channels (`channels` of them) are along `axis`.
pub(crate) fn affine_of(
    g: &Graph,
    node: &Node,
    x: ValueId,
    rank: usize,
    axis: usize,
    channels: usize,
) -> Option<Affine> {
    if let Op::Nn(NnOp::BatchNorm { .. }) = &node.op {
        if node.input(0)? != x || axis != 1 {
            return None;
        }
        let (scale, shift) = batchnorm_params(g, node)?;
        if scale.len() != channels {
            return None;
        }
        return Some(Affine { scale, shift, what: "bn_folded" });
    }
    let Op::Elementwise(ElementwiseOp::Binary(op)) = &node.op else { return None };
    if node.inputs.len() != 2 {
        return None;
    }
    let (a, b) = (node.input(0)?, node.input(1)?);
    let x_first = a == x;
    let other = if x_first { b } else { a };
    if other == x || (a != x && b != x) {
        return None;
    }
    let c = per_channel(const_of(g, other)?, rank, axis, channels)?;
    let ones = vec![1.0; channels];
    let zeros = vec![0.0; channels];
    let affine = match (op, x_first) {
        (Binary::Mul, _) => Affine { scale: c, shift: zeros, what: "mul_folded" },
        (Binary::Div, true) => {
            if c.contains(&0.0) {
                return None;
            }
            Affine { scale: c.iter().map(|v| 1.0 / v).collect(), shift: zeros, what: "div_folded" }
        }
        (Binary::Add, _) => Affine { scale: ones, shift: c, what: "add_folded" },
        (Binary::Sub, true) => Affine { scale: ones, shift: c.iter().map(|v| -v).collect(), what: "sub_folded" },
        (Binary::Sub, false) => Affine { scale: vec![-1.0; channels], shift: c, what: "sub_folded" },
        _ => return None,
    };
    affine.scale.iter().chain(&affine.shift).all(|v| v.is_finite()).then_some(affine)
}
