//! `Lstm`: ONNX LSTM (gate order i, o, f, c), forward, reverse or bidirectional, sequence-major,
//! with optional bias, sequence lengths, initial states and peepholes.
//!
//! Inputs `x [seq, batch, input], w [dirs, 4h, input], r [dirs, 4h, h], b? [dirs, 8h],
//! seq_lens? [batch] (i64 or i32, each in `[0, seq]`, checked while running), h0? [dirs, batch, h], c0? [dirs, batch, h], p? [dirs, 3h]`; outputs `y [seq, dirs, batch, h],
//! y_h [dirs, batch, h], y_c [dirs, batch, h]`. Attributes: `[dirs, reverse (when dirs is 1),
//! act f, act g, act h (code, p0, p1 each), has_clip, clip, input_forget]`.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::fast::{Cpu, matvec_add};
use mote_kernels::reference::rnn::{Act, LstmCfg, RnnDims, lstm};

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// Largest batch (sequence lengths live on the stack).
pub const MAX_BATCH: usize = 64;

/// Activation codes (stable).
#[cfg(feature = "alloc")]
pub fn act_code(a: Act) -> (u32, f32, f32) {
    match a {
        Act::Relu => (1, 0.0, 0.0),
        Act::Tanh => (2, 0.0, 0.0),
        Act::Sigmoid => (3, 0.0, 0.0),
        Act::Affine(p, q) => (4, p, q),
        Act::LeakyRelu(p) => (5, p, 0.0),
        Act::ThresholdedRelu(p) => (6, p, 0.0),
        Act::ScaledTanh(p, q) => (7, p, q),
        Act::HardSigmoid(p, q) => (8, p, q),
        Act::Elu(p) => (9, p, 0.0),
        Act::Softsign => (10, 0.0, 0.0),
        Act::Softplus => (11, 0.0, 0.0),
    }
}

pub(super) fn decode_act(w: &mut Words<'_, '_>) -> Result<Act, StepFault> {
    let (c, p, q) = (w.u32()?, w.f32()?, w.f32()?);
    Ok(match c {
        1 => Act::Relu,
        2 => Act::Tanh,
        3 => Act::Sigmoid,
        4 => Act::Affine(p, q),
        5 => Act::LeakyRelu(p),
        6 => Act::ThresholdedRelu(p),
        7 => Act::ScaledTanh(p, q),
        8 => Act::HardSigmoid(p, q),
        9 => Act::Elu(p),
        10 => Act::Softsign,
        11 => Act::Softplus,
        _ => return Err(StepFault::Attrs),
    })
}

#[derive(Clone, Copy, Debug)]
pub struct Lstm {
    d: RnnDims,
    dirs: usize,
    reverse: bool,
    acts: [Act; 3],
    clip: Option<f32>,
    input_forget: bool,
    /// `sequence_lens` given: i64 (true) or i32 (false).
    lens_wide: Option<bool>,
}

/// The dtype of a `sequence_lens` input (`[batch]`, i64 or i32): `Some(wide)`, or `None` when absent.
pub(super) fn decode_lens(io: &Io<'_>, batch: usize) -> Result<Option<bool>, StepFault> {
    let Some(t) = io.opt(4) else { return Ok(None) };
    want_numel(&t, batch)?;
    match t.dtype {
        DType::I64 => Ok(Some(true)),
        DType::I32 => Ok(Some(false)),
        _ => Err(StepFault::DType),
    }
}

/// The sequence length of each batch entry: `sequence_lens` (data, each checked to be in
/// `[0, seq]`), or `seq` for all.
pub(super) fn read_lens(
    mem: &Mem<'_>,
    io: &Io<'_>,
    wide: Option<bool>,
    seq: usize,
    batch: usize,
) -> Result<[usize; MAX_BATCH], &'static str> {
    let mut lens = [seq; MAX_BATCH];
    if let (Some(t), Some(wide)) = (io.opt(4), wide) {
        for (b, l) in lens.iter_mut().enumerate().take(batch) {
            let v = if wide { inp::<i64>(mem, &t)[b] } else { inp::<i32>(mem, &t)[b] as i64 };
            *l = usize::try_from(v).ok().filter(|&v| v <= seq).ok_or("sequence_lens value outside [0, seq]")?;
        }
    }
    Ok(lens)
}

impl Lstm {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Lstm, StepFault> {
        io.arity(3, 8, 3)?;
        let mut w = Words::new(step);
        let dirs = w.upto(2)?;
        let reverse = w.bool()?;
        let acts = [decode_act(&mut w)?, decode_act(&mut w)?, decode_act(&mut w)?];
        let has_clip = w.bool()?;
        let clip = w.f32()?;
        let input_forget = w.bool()?;
        w.end()?;
        if dirs == 0 {
            return Err(StepFault::Attrs);
        }
        let (x, wt) = (io.input(0)?, io.input(1)?);
        for (i, t) in io.inputs() {
            if i != 4 {
                want(&t, DType::F32)?;
            }
        }
        let xd = x.dims();
        if x.rank != 3 || wt.rank != 3 {
            return Err(StepFault::Shape);
        }
        let (seq, batch, input) = (xd[0] as usize, xd[1] as usize, xd[2] as usize);
        let hidden = (wt.dims()[1] / 4) as usize;
        if batch > MAX_BATCH {
            return Err(StepFault::Shape);
        }
        let g = product(&[4, hidden])?;
        want_numel(&x, product(&[seq, batch, input])?)?;
        want_numel(&wt, product(&[dirs, g, input])?)?;
        want_numel(&io.input(2)?, product(&[dirs, g, hidden])?)?;
        let state = product(&[dirs, batch, hidden])?;
        for (i, len) in [(3, product(&[dirs, 2, g])?), (5, state), (6, state), (7, product(&[dirs, 3, hidden])?)] {
            if let Some(t) = io.opt(i) {
                want_numel(&t, len)?;
            }
        }
        let lens_wide = decode_lens(io, batch)?;
        want_numel(&io.output(0)?, product(&[seq, dirs, batch, hidden])?)?;
        for o in 0..3 {
            want(&io.output(o)?, DType::F32)?;
        }
        want_numel(&io.output(1)?, state)?;
        want_numel(&io.output(2)?, state)?;
        let clip = has_clip.then_some(clip);
        Ok(Lstm { d: RnnDims { seq, batch, input, hidden }, dirs, reverse, acts, clip, input_forget, lens_wide })
    }

    pub fn scratch_bytes(&self) -> usize {
        let RnnDims { seq, batch, hidden, .. } = self.d;
        4 * (seq * batch * 4 * hidden + 4 * hidden + seq * batch * hidden + 4 * hidden)
    }

    pub fn macs(&self) -> u64 {
        let RnnDims { seq, batch, input, hidden } = self.d;
        (self.dirs * seq * batch * 4 * hidden * (input + hidden)) as u64
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32], cpu: Cpu) -> Result<(), &'static str> {
        let (Ok(x), Ok(w), Ok(r), Ok(y), Ok(yh), Ok(yc)) =
            (io.input(0), io.input(1), io.input(2), io.output(0), io.output(1), io.output(2))
        else {
            return Ok(());
        };
        let RnnDims { seq, batch, input, hidden: hs } = self.d;
        let lens = read_lens(mem, io, self.lens_wide, seq, batch)?;
        let g = 4 * hs;
        let (xs, ws, rs) = (inp::<f32>(mem, &x), inp::<f32>(mem, &w), inp::<f32>(mem, &r));
        let (ys, hs_out, cs_out) = (out::<f32>(mem, &y), out::<f32>(mem, &yh), out::<f32>(mem, &yc));
        let (pre, rest) = scratch.split_at_mut(seq * batch * g);
        let (gates, rest) = rest.split_at_mut(g);
        let (ydir, rest) = rest.split_at_mut(seq * batch * hs);
        let bias = &mut rest[..g];
        for d in 0..self.dirs {
            let b = io.opt(3).map(|t| &inp::<f32>(mem, &t)[d * 2 * g..(d + 1) * 2 * g]);
            if let Some(b) = b {
                for k in 0..g {
                    bias[k] = b[k] + b[g + k];
                }
            }
            // The input projection of every step at once, then the recurrence with the same
            // vector products (`fast::matvec_add`).
            let wd = &ws[d * g * input..(d + 1) * g * input];
            project(cpu, xs, wd, b.map(|_| &*bias), input, g, &mut pre[..seq * batch * g]);
            let st = d * batch * hs..(d + 1) * batch * hs;
            let (h, c) = (&mut hs_out[st.clone()], &mut cs_out[st.clone()]);
            match io.opt(5) {
                Some(t) => h.copy_from_slice(&inp::<f32>(mem, &t)[st.clone()]),
                None => h.fill(0.0),
            }
            match io.opt(6) {
                Some(t) => c.copy_from_slice(&inp::<f32>(mem, &t)[st.clone()]),
                None => c.fill(0.0),
            }
            let p = io.opt(7).map(|t| &inp::<f32>(mem, &t)[d * 3 * hs..(d + 1) * 3 * hs]);
            let reverse = if self.dirs == 2 { d == 1 } else { self.reverse };
            let cfg = LstmCfg { reverse, acts: self.acts, clip: self.clip, input_forget: self.input_forget };
            let rd = &rs[d * g * hs..(d + 1) * g * hs];
            let recur = |hb: &[f32], gates: &mut [f32]| matvec_add(cpu, rd, hs, hb, gates);
            lstm(self.d, cfg, pre, p, &lens[..batch], h, c, ydir, gates, recur);
            for t in 0..seq {
                let dst = &mut ys[((t * self.dirs + d) * batch) * hs..][..batch * hs];
                dst.copy_from_slice(&ydir[t * batch * hs..][..batch * hs]);
            }
        }
        Ok(())
    }
}

/// `pre[i] = bias + W x_i` for each row `x_i` of `xs` (`input` values) and each `g`-value row of
/// `pre`, with `W [g x input]` row-major: the input projection of a recurrent step.
pub(super) fn project(cpu: Cpu, xs: &[f32], w: &[f32], bias: Option<&[f32]>, input: usize, g: usize, pre: &mut [f32]) {
    for (i, pr) in pre.chunks_exact_mut(g).enumerate() {
        match bias {
            Some(b) => pr.copy_from_slice(&b[..g]),
            None => pr.fill(0.0),
        }
        if input > 0 {
            matvec_add(cpu, w, input, &xs[i * input..][..input], pr);
        }
    }
}

/// `out[j] = v . w[j]` through [`matvec_add`] (the recurrences' product).
pub(super) fn matvec_set(cpu: Cpu, w: &[f32], cols: usize, v: &[f32], out: &mut [f32]) {
    out.fill(0.0);
    matvec_add(cpu, w, cols, v, out);
}
