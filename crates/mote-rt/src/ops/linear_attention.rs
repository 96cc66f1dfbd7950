//! `LinearAttention`: recurrent linear attention with a `[dk, dv]` state per key/value head
//! (state in, state out), the linear, gated, delta and gated-delta update rules, and grouped query
//! heads.
//!
//! Inputs `q [b, t, hq * dk]`, `k [b, t, hk * dk]`, `v [b, t, hk * dv]`, `past? [b, hk, dk, dv]`
//! (zeros when omitted), `decay? [b, t, hk * dw]` (`dw` 1 or `dk`: the log of the factor the
//! state is multiplied by), `beta? [b, t, bw]` (`bw` 1 or `hk`), all f32. Outputs
//! `y [b, t, hq * dv]` and `state [b, hk, dk, dv]`.
//!
//! Attributes: `[b, t, hq, hk (divides hq), dk, dv, decay (0 none, 1 per head, 2 per key),
//! beta (0 none, 1 one per step, 2 per head), scale (f32)]`.
//!
//! Per step and key/value head: `state *= exp(decay)`, with beta `v <- beta * (v - state^T k)`,
//! then `state += k v^T`; each query head of the group reads `y = scale * q^T state`.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::attention::{linear_attention_read, linear_attention_update};

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct LinearAttention {
    b: usize,
    t: usize,
    hq: usize,
    hk: usize,
    dk: usize,
    dv: usize,
    /// Decay values per key/value head: 0 (none), 1 or `dk`.
    dw: usize,
    /// Beta values per step: 0 (none), 1 or `hk`.
    bw: usize,
    scale: f32,
}

impl LinearAttention {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<LinearAttention, StepFault> {
        io.arity(3, 6, 2)?;
        let mut w = Words::new(step);
        let mut d = [0usize; 6];
        w.usizes(&mut d, u32::MAX)?;
        let [b, t, hq, hk, dk, dv] = d;
        let (decay, beta) = (w.upto(2)?, w.upto(2)?);
        let scale = w.f32()?;
        w.end()?;
        if hk == 0 || hq % hk != 0 {
            return Err(StepFault::Attrs);
        }
        let dw = [0, 1, dk][decay];
        let bw = [0, 1, hk][beta];
        let (q, k, v, y, s) = (io.input(0)?, io.input(1)?, io.input(2)?, io.output(0)?, io.output(1)?);
        for x in [q, k, v, y, s] {
            want(&x, DType::F32)?;
        }
        want_numel(&q, product(&[b, t, hq, dk])?)?;
        want_numel(&k, product(&[b, t, hk, dk])?)?;
        want_numel(&v, product(&[b, t, hk, dv])?)?;
        want_numel(&y, product(&[b, t, hq, dv])?)?;
        let state = product(&[b, hk, dk, dv])?;
        want_numel(&s, state)?;
        if let Some(p) = io.opt(3) {
            want(&p, DType::F32)?;
            want_numel(&p, state)?;
        }
        for (i, per) in [(4, dw), (5, bw)] {
            match (io.opt(i), per) {
                (None, 0) => {}
                (Some(x), n) if n > 0 => {
                    want(&x, DType::F32)?;
                    let heads = if i == 4 { hk } else { 1 };
                    want_numel(&x, product(&[b, t, heads, n])?)?;
                }
                _ => return Err(StepFault::Arity),
            }
        }
        // Scratch holds one value row.
        product(&[dv, 4])?;
        Ok(LinearAttention { b, t, hq, hk, dk, dv, dw, bw, scale })
    }

    /// The value row the update overwrites.
    pub fn scratch_bytes(&self) -> usize {
        4 * self.dv
    }

    pub fn macs(&self) -> u64 {
        let m = |xs: &[usize]| xs.iter().fold(1u64, |a, &x| a.saturating_mul(x as u64));
        let per_head = (2 + u64::from(self.bw > 0) + (self.hq / self.hk) as u64).saturating_mul(m(&[self.dk, self.dv]));
        m(&[self.b, self.t, self.hk]).saturating_mul(per_head)
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) {
        let (Ok(q), Ok(k), Ok(v), Ok(y), Ok(s)) = (io.input(0), io.input(1), io.input(2), io.output(0), io.output(1))
        else {
            return;
        };
        let LinearAttention { b, t, hq, hk, dk, dv, dw, bw, scale } = *self;
        let (qs, ks, vs) = (inp::<f32>(mem, &q), inp::<f32>(mem, &k), inp::<f32>(mem, &v));
        let (ys, state) = (out::<f32>(mem, &y), out::<f32>(mem, &s));
        match io.opt(3) {
            Some(p) => state.copy_from_slice(inp::<f32>(mem, &p)),
            None => state.fill(0.0),
        }
        let decay = io.opt(4).map(|x| inp::<f32>(mem, &x));
        let beta = io.opt(5).map(|x| inp::<f32>(mem, &x));
        let vbuf = &mut scratch[..dv];
        let group = hq / hk;
        for bi in 0..b {
            for ti in 0..t {
                let row = bi * t + ti;
                for h in 0..hk {
                    let st = &mut state[(bi * hk + h) * dk * dv..][..dk * dv];
                    vbuf.copy_from_slice(&vs[(row * hk + h) * dv..][..dv]);
                    let g = decay.map(|d| &d[(row * hk + h) * dw..][..dw]);
                    let be = beta.map(|x| x[row * bw + if bw == 1 { 0 } else { h }]);
                    linear_attention_update(st, &ks[(row * hk + h) * dk..][..dk], vbuf, g, be);
                    for gq in 0..group {
                        let hi = h * group + gq;
                        let o = &mut ys[(row * hq + hi) * dv..][..dv];
                        linear_attention_read(st, &qs[(row * hq + hi) * dk..][..dk], scale, o);
                    }
                }
            }
        }
    }
}
