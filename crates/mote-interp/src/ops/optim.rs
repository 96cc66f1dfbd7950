//! One optimizer step (Adagrad, Momentum, Adam) over each of `n` tensors. Computes in f64 and
//! rounds once to the tensors' dtype.

use mote_ir::ops::optim::OptimOp;
use mote_ir::{Tensor, Value};

use super::{EvalCx, Inputs};
use crate::bail;
use crate::error::OpError;
use crate::ops::elementwise::cast;

pub fn eval(op: &OptimOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, _n: usize) -> Result<Vec<Value>, OpError> {
    let r = inputs.tensor(0)?.scalar_f64()?;
    let t = inputs.tensor(1)?.scalar_i64()?;
    let blocks = op.input_blocks();
    let n = inputs.len().saturating_sub(2) / blocks;
    let block = |b: usize, i: usize| inputs.tensor(2 + b * n + i);
    let mut outs: Vec<Vec<Value>> = vec![Vec::new(); blocks - 1];
    for i in 0..n {
        let x = block(0, i)?;
        if !x.dtype().is_float() {
            bail!("tensors must be floats, got {}", x.dtype());
        }
        let xs = x.to_f64_vec()?;
        let read = |b: usize| -> Result<Vec<f64>, OpError> {
            let t = block(b, i)?;
            if t.shape() != x.shape() {
                bail!("tensor {i} of block {b} has shape {:?}, X has {:?}", t.shape(), x.shape());
            }
            Ok(t.to_f64_vec()?)
        };
        let g = read(1)?;
        let results: Vec<Vec<f64>> = match *op {
            OptimOp::Adagrad { decay_factor, epsilon, norm_coefficient } => {
                let h = read(2)?;
                let rate = r / (1.0 + t as f64 * decay_factor as f64);
                let mut xn = Vec::with_capacity(xs.len());
                let mut hn = Vec::with_capacity(xs.len());
                for k in 0..xs.len() {
                    let gr = norm_coefficient as f64 * xs[k] + g[k];
                    let h2 = h[k] + gr * gr;
                    hn.push(h2);
                    xn.push(xs[k] - rate * gr / (h2.sqrt() + epsilon as f64));
                }
                vec![xn, hn]
            }
            OptimOp::Momentum { alpha, beta, nesterov, norm_coefficient } => {
                let v = read(2)?;
                let beta = if t > 0 { beta as f64 } else { 1.0 };
                let mut xn = Vec::with_capacity(xs.len());
                let mut vn = Vec::with_capacity(xs.len());
                for k in 0..xs.len() {
                    let gr = norm_coefficient as f64 * xs[k] + g[k];
                    let v2 = alpha as f64 * v[k] + beta * gr;
                    vn.push(v2);
                    let step = if nesterov { gr + alpha as f64 * v2 } else { v2 };
                    xn.push(xs[k] - r * step);
                }
                vec![xn, vn]
            }
            OptimOp::Adam { alpha, beta, epsilon, norm_coefficient, norm_coefficient_post } => {
                let (v, h) = (read(2)?, read(3)?);
                let (a, b) = (alpha as f64, beta as f64);
                let rate = if t > 0 {
                    r * (1.0 - b.powi(t.min(i32::MAX as i64) as i32)).sqrt()
                        / (1.0 - a.powi(t.min(i32::MAX as i64) as i32))
                } else {
                    r
                };
                let (mut xn, mut vn, mut hn) = (Vec::new(), Vec::new(), Vec::new());
                for k in 0..xs.len() {
                    let gr = norm_coefficient as f64 * xs[k] + g[k];
                    let v2 = a * v[k] + (1.0 - a) * gr;
                    let h2 = b * h[k] + (1.0 - b) * gr * gr;
                    let x2 = xs[k] - rate * (v2 / (h2.sqrt() + epsilon as f64));
                    xn.push((1.0 - norm_coefficient_post as f64) * x2);
                    vn.push(v2);
                    hn.push(h2);
                }
                vec![xn, vn, hn]
            }
        };
        for (slot, vals) in outs.iter_mut().zip(results) {
            let t64 = Tensor::from_vec(x.shape().to_vec(), vals)?;
            slot.push(Value::Tensor(cast(&t64, x.dtype())?));
        }
    }
    Ok(outs.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::EvalCx;

    fn run(op: OptimOp, tensors: Vec<Tensor>) -> Vec<f32> {
        let mut vals = vec![Value::Tensor(Tensor::scalar(0.1f32)), Value::Tensor(Tensor::scalar(1i64))];
        vals.extend(tensors.into_iter().map(Value::Tensor));
        let refs: Vec<Option<&Value>> = vals.iter().map(Some).collect();
        let g = mote_ir::Graph::default();
        let out = eval(&op, &Inputs::new(refs), &EvalCx { graph: &g, env: &[] }, 0).unwrap();
        out[0].as_tensor().unwrap().to_f32_vec().unwrap()
    }

    fn t(v: f32) -> Tensor {
        Tensor::from_vec(vec![1], vec![v]).unwrap()
    }

    #[test]
    fn one_step_by_hand() {
        // Adagrad: H' = 0 + 4 = 4; X' = 1 - 0.1 * 2 / (2 + eps) ~= 0.9.
        let x = run(
            OptimOp::Adagrad { decay_factor: 0.0, epsilon: 0.0, norm_coefficient: 0.0 },
            vec![t(1.0), t(2.0), t(0.0)],
        );
        assert!((x[0] - 0.9).abs() < 1e-6);
        // Momentum (standard, T > 0): V' = 0.9 * 1 + 0.5 * 2 = 1.9; X' = 1 - 0.1 * 1.9 = 0.81.
        let m = OptimOp::Momentum { alpha: 0.9, beta: 0.5, nesterov: false, norm_coefficient: 0.0 };
        assert!((run(m, vec![t(1.0), t(2.0), t(1.0)])[0] - 0.81).abs() < 1e-6);
        // Adam, T = 1: V' = 0.2, H' = 0.004, rate = 0.1 * sqrt(0.001) / 0.1; X' = 1 - sqrt(0.001) * 0.2 / sqrt(0.004).
        let a =
            OptimOp::Adam { alpha: 0.9, beta: 0.999, epsilon: 0.0, norm_coefficient: 0.0, norm_coefficient_post: 0.0 };
        assert!((run(a, vec![t(1.0), t(2.0), t(0.0), t(0.0)])[0] - 0.9).abs() < 1e-5);
    }
}
