//! Backward rules, one file per op family: each takes the node's forward inputs and outputs
//! and the gradients of its outputs, and returns the gradients of its float inputs (`None` for
//! integer inputs such as shapes and axes, and for inputs nothing flows to).

mod elementwise;
mod nn;
mod norm;
mod pool;
mod quant;
mod rnn;
mod shape;

use mote_ir::ops::nn::NnOp;
use mote_ir::{Op, Tensor};

pub(crate) use norm::train_forward;

/// What a node's forward pass in training mode left for its backward pass.
#[derive(Clone, Debug)]
pub enum Aux {
    /// Batch statistics per channel: mean, (biased) variance and `1 / sqrt(var + eps)`.
    BatchNorm { mean: Vec<f32>, var: Vec<f32>, inv_std: Vec<f32> },
    /// Dropout's mask, already scaled by `1 / (1 - ratio)` (0 where dropped).
    Dropout { mask: Vec<f32> },
}

/// A node's forward values.
pub struct Ctx<'a> {
    pub ins: Vec<Option<&'a Tensor>>,
    pub outs: Vec<Option<&'a Tensor>>,
    pub aux: Option<&'a Aux>,
}

impl<'a> Ctx<'a> {
    /// Input `i` as f32 data with its shape.
    pub fn input(&self, i: usize) -> Result<(&'a [f32], &'a [usize]), String> {
        f32_of(self.ins.get(i).copied().flatten(), "input", i)
    }

    /// Output `i` as f32 data with its shape.
    pub fn output(&self, i: usize) -> Result<(&'a [f32], &'a [usize]), String> {
        f32_of(self.outs.get(i).copied().flatten(), "output", i)
    }

    /// Whether input `i` is present and float (so it gets a gradient).
    pub fn is_float(&self, i: usize) -> bool {
        self.ins.get(i).copied().flatten().is_some_and(|t| t.dtype() == mote_ir::DType::F32)
    }
}

fn f32_of<'a>(t: Option<&'a Tensor>, what: &str, i: usize) -> Result<(&'a [f32], &'a [usize]), String> {
    let t = t.ok_or_else(|| format!("{what} {i} is missing"))?;
    let d = t.as_slice::<f32>().ok_or_else(|| format!("{what} {i} is {}, gradients need f32", t.dtype()))?;
    Ok((d, t.shape()))
}

/// The gradient of output 0 (present whenever the node is visited for a one-output op).
fn gy0(gy: &[Option<Vec<f32>>]) -> Result<&[f32], String> {
    gy.first().and_then(Option::as_deref).ok_or_else(|| "no gradient for output 0".to_string())
}

/// The gradients of `op`'s inputs.
pub fn backward(op: &Op, cx: &Ctx<'_>, gy: &[Option<Vec<f32>>]) -> Result<Vec<Option<Vec<f32>>>, String> {
    let mut gx = match op {
        Op::Elementwise(e) => elementwise::backward(e, cx, gy0(gy)?)?,
        Op::Nn(NnOp::Pool(_) | NnOp::GlobalPool(_)) => pool::backward(op, cx, gy0(gy)?)?,
        Op::Nn(NnOp::BatchNorm { .. } | NnOp::Dropout { .. }) => norm::backward(op, cx, gy0(gy)?)?,
        Op::Nn(n) => nn::backward(n, cx, gy0(gy)?)?,
        Op::Shape(s) => shape::backward(s, cx, gy0(gy)?)?,
        Op::Reduce(r) => shape::reduce_backward(r, cx, gy0(gy)?)?,
        Op::Rnn(r) => rnn::backward(r, cx, gy)?,
        Op::Quant(q) => {
            // The integer side of a Q/DQ pair carries the straight-through gradient.
            let mut gx = quant::backward(q, cx, gy0(gy)?)?;
            gx.resize(cx.ins.len(), None);
            return Ok(gx);
        }
        _ => return Err("no backward rule for this op".into()),
    };
    gx.resize(cx.ins.len(), None);
    // Only float inputs carry gradients.
    for (i, g) in gx.iter_mut().enumerate() {
        if !cx.is_float(i) {
            *g = None;
        }
    }
    Ok(gx)
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * shape[a + 1];
    }
    s
}

/// For every index of the broadcast shape `out` (row-major), the offset of the element of
/// `input` that numpy broadcasting reads there.
fn broadcast_offsets(input: &[usize], out: &[usize]) -> Vec<usize> {
    let r = out.len();
    // Stride of each output axis in the input (0 where broadcast).
    let in_strides = strides(input);
    let mut map = vec![0usize; r];
    for a in 0..r {
        let k = a as isize - (r - input.len()) as isize;
        if k >= 0 && input[k as usize] != 1 {
            map[a] = in_strides[k as usize];
        }
    }
    let n: usize = out.iter().product();
    let mut offs = Vec::with_capacity(n);
    let mut idx = vec![0usize; r];
    let mut off = 0usize;
    for _ in 0..n {
        offs.push(off);
        for a in (0..r).rev() {
            idx[a] += 1;
            off += map[a];
            if idx[a] < out[a] {
                break;
            }
            off -= map[a] * idx[a];
            idx[a] = 0;
        }
    }
    offs
}

/// `g` (shaped `out`) summed over the dims that numpy broadcasting added or stretched to make
/// `input` into `out`.
pub fn unbroadcast(g: &[f32], out: &[usize], input: &[usize]) -> Vec<f32> {
    if out == input {
        return g.to_vec();
    }
    let mut acc = vec![0.0f32; input.iter().product()];
    for (&v, o) in g.iter().zip(broadcast_offsets(input, out)) {
        acc[o] += v;
    }
    acc
}

/// `x` (shaped `input`) read at every index of the broadcast shape `out`.
pub fn broadcast(x: &[f32], input: &[usize], out: &[usize]) -> Vec<f32> {
    if input == out {
        return x.to_vec();
    }
    broadcast_offsets(input, out).into_iter().map(|o| x[o]).collect()
}
