//! `Attention`: scaled dot-product attention over 4-D heads (ONNX opset 23/24 semantics), with
//! grouped KV heads, an optional bool or additive float mask, causal and sliding-window masks,
//! per-batch valid KV lengths, softcap, and the optional `QK` output.
//!
//! Inputs `q [b, hq, sq, dk], k [b, hk, total, dk], v [b, hk, total, dv]` (f32; the compiler
//! splits 3-D inputs into heads and concatenates past keys and values), `mask? [mb, mh, mq, mk]`
//! (bool: true attends; or f32 added to the scores; each of `mb, mh, mq` is 1 or full,
//! `mk <= total`, keys past `mk` are masked), `nonpad? [b]` (i64 or i32: valid KV length per
//! batch entry, data checked at run time). Outputs `y [b, hq, sq, dv]` and optionally
//! `qk [b, hq, sq, total]`.
//!
//! Attributes: `[past, is_causal, left_window (i32, -1 unbounded), right_window (i32),
//! sqrt_scale (f32: the square root of the scale, applied to Q and K), softcap (f32), qk_mode (0 raw, 1 softcapped, 2 plus mask, 3 probabilities),
//! softmax_round? (0 none, 1 f16, 2 bf16: the softmax's inputs, exponentials, sum and quotients
//! are rounded to that type, as a model of that type computes it; omitted means 0)]`.
//! `past` is the query position offset (past sequence length) when `nonpad` is omitted.

use mote_core::{DType, bf16, f16};
use mote_format::{StepRef, TensorRef};
use mote_kernels::reference::attention::{HeadCfg, attention_head};

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// The mask's element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MaskKind {
    Bool,
    F32,
}

#[derive(Clone, Copy, Debug)]
pub struct Attention {
    b: usize,
    hq: usize,
    hk: usize,
    sq: usize,
    total: usize,
    dk: usize,
    dv: usize,
    past: usize,
    causal: bool,
    left: i64,
    right: i64,
    sqrt_scale: f32,
    softcap: f32,
    qk_mode: u8,
    softmax_round: u8,
    mask: Option<(MaskKind, [usize; 4])>,
    nonpad_wide: Option<bool>,
}

fn dims4(t: &TensorRef<'_>) -> Result<[usize; 4], StepFault> {
    if t.rank != 4 {
        return Err(StepFault::Shape);
    }
    let d = t.dims();
    Ok([d[0] as usize, d[1] as usize, d[2] as usize, d[3] as usize])
}

fn round_f16(x: f32) -> f32 {
    f16::from_f32(x).to_f32()
}

fn round_bf16(x: f32) -> f32 {
    bf16::from_f32(x).to_f32()
}

impl Attention {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Attention, StepFault> {
        io.arity(3, 5, io.n_outputs().clamp(1, 2))?;
        let mut w = Words::new(step);
        let past = w.upto(u32::MAX)?;
        let causal = w.bool()?;
        let (left, right) = (w.i32()? as i64, w.i32()? as i64);
        let (sqrt_scale, softcap) = (w.f32()?, w.f32()?);
        let qk_mode = w.upto(3)? as u8;
        let softmax_round = if step.attr_len() > 7 { w.upto(2)? as u8 } else { 0 };
        w.end()?;
        let (q, k, v, y) = (io.input(0)?, io.input(1)?, io.input(2)?, io.output(0)?);
        for t in [q, k, v, y] {
            want(&t, DType::F32)?;
        }
        let [b, hq, sq, dk] = dims4(&q)?;
        let [kb, hk, total, kdk] = dims4(&k)?;
        let [vb, vh, vt, dv] = dims4(&v)?;
        if kb != b || vb != b || vh != hk || vt != total || kdk != dk || hk == 0 || hq % hk != 0 {
            return Err(StepFault::Shape);
        }
        for t in [q, k, v] {
            want_numel(&t, t.numel())?;
        }
        want_numel(&y, product(&[b, hq, sq, dv])?)?;
        if let Ok(qk) = io.output(1) {
            want(&qk, DType::F32)?;
            want_numel(&qk, product(&[b, hq, sq, total])?)?;
        }
        let mask = match io.opt(3) {
            None => None,
            Some(m) => {
                let kind = match m.dtype {
                    DType::Bool => MaskKind::Bool,
                    DType::F32 => MaskKind::F32,
                    _ => return Err(StepFault::DType),
                };
                let md = dims4(&m)?;
                want_numel(&m, product(&md)?)?;
                let full = [b, hq, sq];
                if (0..3).any(|i| md[i] != 1 && md[i] != full[i]) || md[3] > total {
                    return Err(StepFault::Shape);
                }
                Some((kind, md))
            }
        };
        let nonpad_wide = match io.opt(4) {
            None => None,
            Some(t) => {
                want_numel(&t, b)?;
                match t.dtype {
                    DType::I64 => Some(true),
                    DType::I32 => Some(false),
                    _ => return Err(StepFault::DType),
                }
            }
        };
        // Scratch and the QK output are indexed by `sq * total` per head.
        product(&[b, hq, sq, total])?;
        Ok(Attention {
            b,
            hq,
            hk,
            sq,
            total,
            dk,
            dv,
            past,
            causal,
            left,
            right,
            sqrt_scale,
            softcap,
            qk_mode,
            softmax_round,
            mask,
            nonpad_wide,
        })
    }

    /// Bias and probability rows of one head.
    pub fn scratch_bytes(&self) -> usize {
        2 * 4 * self.sq * self.total
    }

    pub fn macs(&self) -> u64 {
        (self.b * self.hq * self.sq * self.total * (self.dk + self.dv)) as u64
    }

    /// The additive mask value at `(b, h, i, j)`.
    fn mask_at(&self, mem: &Mem<'_>, io: &Io<'_>, b: usize, h: usize, i: usize, j: usize) -> f32 {
        let (Some((kind, [mb, mh, mq, mk])), Some(t)) = (self.mask, io.opt(3)) else { return 0.0 };
        if j >= mk {
            return f32::NEG_INFINITY;
        }
        let at = (((if mb == 1 { 0 } else { b }) * mh + if mh == 1 { 0 } else { h }) * mq
            + if mq == 1 { 0 } else { i })
            * mk
            + j;
        match kind {
            MaskKind::Bool => {
                if inp::<u8>(mem, &t)[at] != 0 {
                    0.0
                } else {
                    f32::NEG_INFINITY
                }
            }
            MaskKind::F32 => inp::<f32>(mem, &t)[at],
        }
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) -> Result<(), &'static str> {
        let (Ok(q), Ok(k), Ok(v), Ok(y)) = (io.input(0), io.input(1), io.input(2), io.output(0)) else {
            return Ok(());
        };
        let (qs, ks, vs, ys) = (inp::<f32>(mem, &q), inp::<f32>(mem, &k), inp::<f32>(mem, &v), out::<f32>(mem, &y));
        let mut qk = io.output(1).ok().map(|t| out::<f32>(mem, &t));
        let Attention { b, hq, hk, sq, total, dk, dv, .. } = *self;
        let (bias, probs) = scratch.split_at_mut(sq * total);
        let cfg = HeadCfg {
            sq,
            skv: total,
            dk,
            dv,
            sqrt_scale: self.sqrt_scale,
            softcap: self.softcap,
            qk_mode: self.qk_mode,
            softmax_round: match self.softmax_round {
                1 => Some(round_f16),
                2 => Some(round_bf16),
                _ => None,
            },
        };
        for bi in 0..b {
            let valid = match (io.opt(4), self.nonpad_wide) {
                (Some(t), Some(wide)) => {
                    let l = if wide { inp::<i64>(mem, &t)[bi] } else { inp::<i32>(mem, &t)[bi] as i64 };
                    if l < 0 || l > total as i64 {
                        return Err("Attention nonpad_kv_seqlen outside [0, total sequence length]");
                    }
                    Some(l)
                }
                _ => None,
            };
            let offset = match valid {
                Some(l) => l - sq as i64,
                None => self.past as i64,
            };
            for h in 0..hq {
                for i in 0..sq {
                    let pos = i as i64 + offset;
                    for j in 0..total {
                        let jj = j as i64;
                        let masked = (self.causal && jj > pos)
                            || (self.left >= 0 && pos - jj > self.left)
                            || (self.right >= 0 && jj - pos > self.right)
                            || valid.is_some_and(|l| jj >= l);
                        bias[i * total + j] =
                            if masked { f32::NEG_INFINITY } else { self.mask_at(mem, io, bi, h, i, j) };
                    }
                }
                let kh = h / (hq / hk);
                let qh = &qs[(bi * hq + h) * sq * dk..][..sq * dk];
                let kv = &ks[(bi * hk + kh) * total * dk..][..total * dk];
                let vv = &vs[(bi * hk + kh) * total * dv..][..total * dv];
                let yh = &mut ys[(bi * hq + h) * sq * dv..][..sq * dv];
                let qko = qk.as_deref_mut().map(|o| &mut o[(bi * hq + h) * sq * total..][..sq * total]);
                attention_head(cfg, qh, kv, vv, bias, &mut probs[..sq * total], qko, yh);
            }
        }
        Ok(())
    }
}
