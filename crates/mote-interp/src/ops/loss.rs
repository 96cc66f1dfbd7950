//! Loss ops. They compute in f64 and round once to the input's float dtype.

use mote_ir::Tensor;
use mote_ir::Value;
use mote_ir::ops::loss::{LossOp, LossReduction};

use super::elementwise::cast;
use super::{EvalCx, Inputs};
use crate::bail;
use crate::error::OpError;

pub fn eval(op: &LossOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, n: usize) -> Result<Vec<Value>, OpError> {
    let x = inputs.tensor(0)?;
    let target = inputs.tensor(1)?;
    let weight = inputs.opt_tensor(2)?;
    let dtype = x.dtype();
    if !dtype.is_float() {
        bail!("scores must be a float tensor, got {dtype}");
    }
    let geo = geometry(x, target, weight)?;
    let xs = x.to_f64_vec()?;
    let w = weight.map(|w| w.to_f64_vec()).transpose()?;
    let t = target.to_i64_vec()?;
    let (reduction, ignore, lp) = match op {
        LossOp::Nll { reduction, ignore_index } => (*reduction, *ignore_index, None),
        LossOp::SoftmaxCrossEntropy { reduction, ignore_index } => {
            (*reduction, *ignore_index, Some(log_softmax_axis1(&xs, geo)))
        }
    };
    let loss = nll(lp.as_deref().unwrap_or(&xs), geo, &t, w.as_deref(), ignore, reduction)?;
    let shape = if reduction == LossReduction::None { target.shape().to_vec() } else { Vec::new() };
    let mut out = vec![Value::Tensor(cast(&Tensor::from_vec(shape, loss)?, dtype)?)];
    if let Some(lp) = lp
        && n > 1
    {
        out.push(Value::Tensor(cast(&Tensor::from_vec(x.shape().to_vec(), lp)?, dtype)?));
    }
    Ok(out)
}

/// `(N, C, D)` with `D` the product of the trailing dims, after checking the input shapes.
fn geometry(x: &Tensor, target: &Tensor, weight: Option<&Tensor>) -> Result<(usize, usize, usize), OpError> {
    let s = x.shape();
    if s.len() < 2 {
        bail!("scores must have rank >= 2 ([N, C, ...]), got shape {s:?}");
    }
    let want: Vec<usize> = [s[0]].into_iter().chain(s[2..].iter().copied()).collect();
    if target.shape() != want {
        bail!("target must have shape {want:?} for scores of shape {s:?}, got {:?}", target.shape());
    }
    if !matches!(target.dtype(), mote_ir::DType::I32 | mote_ir::DType::I64) {
        bail!("target must be int32 or int64, got {}", target.dtype());
    }
    if let Some(w) = weight {
        if w.shape() != [s[1]] {
            bail!("weight must have shape [{}], got {:?}", s[1], w.shape());
        }
        if w.dtype() != x.dtype() {
            bail!("weight must have the scores' dtype {}, got {}", x.dtype(), w.dtype());
        }
    }
    Ok((s[0], s[1], s[2..].iter().product()))
}

/// Log-softmax over the class axis of `[N, C, D]`.
fn log_softmax_axis1(x: &[f64], (n, c, d): (usize, usize, usize)) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for i in 0..n {
        for j in 0..d {
            let at = |k: usize| (i * c + k) * d + j;
            let mx = (0..c).map(|k| x[at(k)]).fold(f64::NEG_INFINITY, f64::max);
            let lse = mx + (0..c).map(|k| (x[at(k)] - mx).exp()).sum::<f64>().ln();
            for k in 0..c {
                out[at(k)] = x[at(k)] - lse;
            }
        }
    }
    out
}

/// Weighted negative log-likelihood of `x` (`[N, C, D]` log-probabilities) for the targets
/// (`[N, D]`), reduced.
fn nll(
    x: &[f64],
    (n, c, d): (usize, usize, usize),
    target: &[i64],
    weight: Option<&[f64]>,
    ignore: Option<i64>,
    reduction: LossReduction,
) -> Result<Vec<f64>, OpError> {
    let mut loss = vec![0.0; n * d];
    let mut wsum = 0.0;
    for i in 0..n {
        for j in 0..d {
            let t = target[i * d + j];
            if Some(t) == ignore {
                continue;
            }
            if t < 0 || t as usize >= c {
                bail!("target {t} is out of range for {c} classes");
            }
            let t = t as usize;
            let w = weight.map_or(1.0, |w| w[t]);
            loss[i * d + j] = -x[(i * c + t) * d + j] * w;
            wsum += w;
        }
    }
    Ok(match reduction {
        LossReduction::None => loss,
        LossReduction::Sum => vec![loss.iter().sum()],
        LossReduction::Mean => vec![loss.iter().sum::<f64>() / wsum],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nll_weighted_mean_ignores_index() {
        // N = 3, C = 2; the last target is ignored.
        let x = [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0];
        let t = [0, 1, 1];
        let w = [1.0, 3.0];
        let r = nll(&x, (3, 2, 1), &t, Some(&w), Some(1), LossReduction::Mean).unwrap();
        assert_eq!(r, vec![1.0]);
        let r = nll(&x, (3, 2, 1), &t, Some(&w), None, LossReduction::Mean).unwrap();
        assert!((r[0] - (1.0 + 12.0 + 18.0) / 7.0).abs() < 1e-12);
        let r = nll(&x, (3, 2, 1), &t, None, None, LossReduction::None).unwrap();
        assert_eq!(r, vec![1.0, 4.0, 6.0]);
        assert!(nll(&x, (3, 2, 1), &[0, 2, 1], None, None, LossReduction::Sum).is_err());
    }

    #[test]
    fn log_softmax_rows_normalize() {
        let lp = log_softmax_axis1(&[1.0, 2.0, 1000.0, 1000.0], (2, 2, 1));
        assert!((lp[0].exp() + lp[1].exp() - 1.0).abs() < 1e-12);
        assert!((lp[2] - (-(2f64.ln()))).abs() < 1e-12);
    }
}
