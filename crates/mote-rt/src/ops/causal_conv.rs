//! `CausalConvWithState`: depthwise causal 1-D convolution over `[b, c, l]` whose left context
//! comes from a carried state (state in, state out), optionally followed by SiLU.
//!
//! Inputs `x [b, c, l]`, `w [c, k]` (the `[c, 1, k]` weight), `bias? [c]`, `past? [b, c, k - 1]`
//! (zeros when omitted), all f32. Outputs `y [b, c, l]` and `state [b, c, k - 1]`: the last
//! `k - 1` values of the past state followed by the input.
//!
//! Attributes: `[b, c, l, k (>= 1), silu]`. `y[t] = bias + sum_j w[j] * p[t + j]` over
//! `p = past ++ x`, then `y * sigmoid(y)` when `silu`.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::attention::causal_conv_channel;

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct CausalConv {
    b: usize,
    c: usize,
    l: usize,
    k: usize,
    silu: bool,
}

impl CausalConv {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<CausalConv, StepFault> {
        io.arity(2, 4, 2)?;
        let mut w = Words::new(step);
        let mut d = [0usize; 4];
        w.usizes(&mut d, u32::MAX)?;
        let [b, c, l, k] = d;
        let silu = w.bool()?;
        w.end()?;
        if k == 0 {
            return Err(StepFault::Attrs);
        }
        let (x, wt, y, s) = (io.input(0)?, io.input(1)?, io.output(0)?, io.output(1)?);
        for t in [x, wt, y, s] {
            want(&t, DType::F32)?;
        }
        let n = product(&[b, c, l])?;
        want_numel(&x, n)?;
        want_numel(&y, n)?;
        want_numel(&wt, product(&[c, k])?)?;
        let state = product(&[b, c, k - 1])?;
        want_numel(&s, state)?;
        if let Some(bias) = io.opt(2) {
            want(&bias, DType::F32)?;
            want_numel(&bias, c)?;
        }
        if let Some(p) = io.opt(3) {
            want(&p, DType::F32)?;
            want_numel(&p, state)?;
        }
        // The padded row `k - 1 + l` is indexed in scratch.
        l.checked_add(k - 1).and_then(|n| n.checked_mul(4)).ok_or(StepFault::Shape)?;
        Ok(CausalConv { b, c, l, k, silu })
    }

    /// One channel's padded row (state then input).
    pub fn scratch_bytes(&self) -> usize {
        4 * (self.l + self.k - 1)
    }

    pub fn macs(&self) -> u64 {
        [self.b, self.c, self.l, self.k].iter().fold(1u64, |a, &x| a.saturating_mul(x as u64))
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) {
        let (Ok(x), Ok(wt), Ok(y), Ok(s)) = (io.input(0), io.input(1), io.output(0), io.output(1)) else {
            return;
        };
        let CausalConv { b, c, l, k, silu } = *self;
        let (xs, ws, ys, state) = (inp::<f32>(mem, &x), inp::<f32>(mem, &wt), out::<f32>(mem, &y), out::<f32>(mem, &s));
        let bias = io.opt(2).map(|t| inp::<f32>(mem, &t));
        let past = io.opt(3).map(|t| inp::<f32>(mem, &t));
        let padded = &mut scratch[..l + k - 1];
        for bi in 0..b {
            for ci in 0..c {
                let r = bi * c + ci;
                match past {
                    Some(p) => padded[..k - 1].copy_from_slice(&p[r * (k - 1)..][..k - 1]),
                    None => padded[..k - 1].fill(0.0),
                }
                padded[k - 1..].copy_from_slice(&xs[r * l..][..l]);
                let bv = bias.map_or(0.0, |v| v[ci]);
                causal_conv_channel(padded, &ws[ci * k..][..k], bv, silu, &mut ys[r * l..][..l]);
                state[r * (k - 1)..][..k - 1].copy_from_slice(&padded[l..]);
            }
        }
    }
}
