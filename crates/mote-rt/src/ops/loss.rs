//! `NllLoss`: NegativeLogLikelihoodLoss, and SoftmaxCrossEntropyLoss when `softmax` is set (the
//! NLL of the log-softmax over the class axis, which is the optional second output). Computes in
//! f64 and rounds once, as the reference.
//!
//! Inputs `x [n, c, d]` (f32 log-probabilities, or scores with `softmax`), `target [n, d]`
//! (i64 or i32 class indices: data, checked at run time; `ignore_index` entries contribute
//! nothing), `weight? [c]` (f32). Outputs `loss` (`[n, d]` for reduction none, else one value),
//! and with `softmax` optionally `log_prob [n, c, d]`.
//!
//! Attributes: `[n, c, d, reduction (0 none, 1 sum, 2 weighted mean), softmax, has_ignore,
//! ignore_index low word, high word]`.

use mote_core::DType;
use mote_format::StepRef;
use num_traits::Float;

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// How per-element losses are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossReduction {
    None = 0,
    Sum = 1,
    Mean = 2,
}

#[derive(Clone, Copy, Debug)]
pub struct NllLoss {
    n: usize,
    c: usize,
    d: usize,
    reduction: LossReduction,
    softmax: bool,
    ignore: Option<i64>,
    wide: bool,
}

impl NllLoss {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<NllLoss, StepFault> {
        io.arity(2, 3, io.n_outputs().clamp(1, 2))?;
        let mut w = Words::new(step);
        let (n, c, d) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let reduction = [LossReduction::None, LossReduction::Sum, LossReduction::Mean][w.upto(2)?];
        let softmax = w.bool()?;
        let has_ignore = w.bool()?;
        let (lo, hi) = (w.u32()?, w.u32()?);
        w.end()?;
        let ignore = has_ignore.then_some(((hi as u64) << 32 | lo as u64) as i64);
        let (x, t, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        want(&x, DType::F32)?;
        want(&y, DType::F32)?;
        let wide = match t.dtype {
            DType::I64 => true,
            DType::I32 => false,
            _ => return Err(StepFault::DType),
        };
        let nd = product(&[n, d])?;
        want_numel(&x, product(&[n, c, d])?)?;
        want_numel(&t, nd)?;
        want_numel(&y, if reduction == LossReduction::None { nd } else { 1 })?;
        if let Some(wt) = io.opt(2) {
            want(&wt, DType::F32)?;
            want_numel(&wt, c)?;
        }
        if let Ok(lp) = io.output(1) {
            if !softmax {
                return Err(StepFault::Arity);
            }
            want(&lp, DType::F32)?;
            want_numel(&lp, x.numel())?;
        }
        Ok(NllLoss { n, c, d, reduction, softmax, ignore, wide })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), &'static str> {
        let (Ok(x), Ok(t), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return Ok(()) };
        let NllLoss { n, c, d, .. } = *self;
        let xs = inp::<f32>(mem, &x);
        let ws = io.opt(2).map(|t| inp::<f32>(mem, &t));
        let ys = out::<f32>(mem, &y);
        let mut lp = io.output(1).ok().map(|t| out::<f32>(mem, &t));
        let (mut sum, mut wsum) = (0.0f64, 0.0f64);
        for i in 0..n {
            for j in 0..d {
                let at = |k: usize| (i * c + k) * d + j;
                // The log-sum-exp of this column (softmax), else 0.
                let lse = if self.softmax {
                    let mx = (0..c).map(|k| xs[at(k)] as f64).fold(f64::NEG_INFINITY, f64::max);
                    let lse = mx + Float::ln((0..c).map(|k| Float::exp(xs[at(k)] as f64 - mx)).sum::<f64>());
                    if let Some(lp) = lp.as_deref_mut() {
                        for k in 0..c {
                            lp[at(k)] = (xs[at(k)] as f64 - lse) as f32;
                        }
                    }
                    lse
                } else {
                    0.0
                };
                let tv = if self.wide { inp::<i64>(mem, &t)[i * d + j] } else { inp::<i32>(mem, &t)[i * d + j] as i64 };
                let mut loss = 0.0f64;
                if Some(tv) != self.ignore {
                    if tv < 0 || tv as u64 >= c as u64 {
                        return Err("loss target outside [0, classes)");
                    }
                    let k = tv as usize;
                    let wv = ws.map_or(1.0, |w| w[k] as f64);
                    loss = -(xs[at(k)] as f64 - lse) * wv;
                    wsum += wv;
                }
                if self.reduction == LossReduction::None {
                    ys[i * d + j] = loss as f32;
                } else {
                    sum += loss;
                }
            }
        }
        match self.reduction {
            LossReduction::None => {}
            LossReduction::Sum => ys[0] = sum as f32,
            LossReduction::Mean => ys[0] = (sum / wsum) as f32,
        }
        Ok(())
    }
}
