//! `Gru` (19) and `Rnn` (20): ONNX GRU (gate order z, r, h) and simple RNN, forward, reverse or
//! bidirectional, sequence-major, with optional bias, per-entry sequence lengths and initial
//! state.
//!
//! Inputs `x [seq, batch, input], w [dirs, g*h, input], r [dirs, g*h, h], b? [dirs, 2*g*h],
//! seq_lens? [batch]` (i64 or i32: data, each in `[0, seq]`, checked at run time),
//! `h0? [dirs, batch, h]` (g = 3 for GRU, 1 for RNN); outputs `y [seq, dirs, batch, h]` (zero past
//! each entry's length) and `y_h [dirs, batch, h]`. Attributes: `[dirs, reverse (when dirs is
//! 1), activations (GRU: f, g; RNN: f; per direction, code, p0, p1 each), has_clip, clip]`, then
//! for GRU `linear_before_reset`.

use mote_core::DType;
use mote_format::{OpCode, StepRef};
use mote_kernels::fast::Cpu;
use mote_kernels::reference::rnn::{Act, GruCfg, RnnDims, gru, rnn};

use super::rnn::{matvec_set, project};

use super::rnn::{MAX_BATCH, decode_act};
use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Recurrent {
    gru: bool,
    d: RnnDims,
    dirs: usize,
    reverse: bool,
    /// Per direction: GRU f, g; RNN f (the second unused).
    acts: [[Act; 2]; 2],
    clip: Option<f32>,
    linear_before_reset: bool,
    lens_wide: Option<bool>,
}

impl Recurrent {
    /// Gates per hidden unit.
    fn gates(&self) -> usize {
        if self.gru { 3 } else { 1 }
    }

    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Recurrent, StepFault> {
        let gru = step.op == OpCode::Gru;
        io.arity(3, 6, 2)?;
        let mut w = Words::new(step);
        let dirs = w.upto(2)?;
        if dirs == 0 {
            return Err(StepFault::Attrs);
        }
        let reverse = w.bool()?;
        let mut acts = [[Act::Tanh; 2]; 2];
        for dir in acts.iter_mut().take(dirs) {
            for a in dir.iter_mut().take(if gru { 2 } else { 1 }) {
                *a = decode_act(&mut w)?;
            }
        }
        let has_clip = w.bool()?;
        let clip = w.f32()?;
        let linear_before_reset = if gru { w.bool()? } else { false };
        w.end()?;
        let g = if gru { 3 } else { 1 };
        let (x, wt) = (io.input(0)?, io.input(1)?);
        for (i, t) in io.inputs() {
            if i != 4 {
                want(&t, DType::F32)?;
            }
        }
        if x.rank != 3 || wt.rank != 3 {
            return Err(StepFault::Shape);
        }
        let xd = x.dims();
        let (seq, batch, input) = (xd[0] as usize, xd[1] as usize, xd[2] as usize);
        let hidden = wt.dims()[1] as usize / g;
        if batch > MAX_BATCH {
            return Err(StepFault::Shape);
        }
        let gh = product(&[g, hidden])?;
        want_numel(&x, product(&[seq, batch, input])?)?;
        want_numel(&wt, product(&[dirs, gh, input])?)?;
        want_numel(&io.input(2)?, product(&[dirs, gh, hidden])?)?;
        let state = product(&[dirs, batch, hidden])?;
        if let Some(b) = io.opt(3) {
            want_numel(&b, product(&[dirs, 2, gh])?)?;
        }
        if let Some(h0) = io.opt(5) {
            want_numel(&h0, state)?;
        }
        let lens_wide = super::rnn::decode_lens(io, batch)?;
        for o in 0..2 {
            want(&io.output(o)?, DType::F32)?;
        }
        want_numel(&io.output(0)?, product(&[seq, dirs, batch, hidden])?)?;
        want_numel(&io.output(1)?, state)?;
        // The scratch size below must not overflow.
        product(&[seq, batch, gh + hidden, 4])?;
        let clip = has_clip.then_some(clip);
        let d = RnnDims { seq, batch, input, hidden };
        Ok(Recurrent { gru, d, dirs, reverse, acts, clip, linear_before_reset, lens_wide })
    }

    /// Pre-activations of every step, one direction's outputs, the bias, GRU's recurrent hidden
    /// bias and the cell scratch.
    pub fn scratch_bytes(&self) -> usize {
        let RnnDims { seq, batch, hidden, .. } = self.d;
        let gh = self.gates() * hidden;
        4 * (seq * batch * gh + seq * batch * hidden + gh + hidden + 4 * hidden)
    }

    pub fn macs(&self) -> u64 {
        let RnnDims { seq, batch, input, hidden } = self.d;
        (self.dirs * seq * batch * self.gates() * hidden * (input + hidden)) as u64
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32], cpu: Cpu) -> Result<(), &'static str> {
        let (Ok(x), Ok(w), Ok(r), Ok(y), Ok(yh)) = (io.input(0), io.input(1), io.input(2), io.output(0), io.output(1))
        else {
            return Ok(());
        };
        let RnnDims { seq, batch, input, hidden: hs } = self.d;
        let gh = self.gates() * hs;
        let lens = super::rnn::read_lens(mem, io, self.lens_wide, seq, batch)?;
        let (xs, ws, rs) = (inp::<f32>(mem, &x), inp::<f32>(mem, &w), inp::<f32>(mem, &r));
        let (ys, hs_out) = (out::<f32>(mem, &y), out::<f32>(mem, &yh));
        let (pre, rest) = scratch.split_at_mut(seq * batch * gh);
        let (ydir, rest) = rest.split_at_mut(seq * batch * hs);
        let (bias, rest) = rest.split_at_mut(gh);
        let (rbh, cell) = rest.split_at_mut(hs);
        for d in 0..self.dirs {
            bias.fill(0.0);
            rbh.fill(0.0);
            if let Some(t) = io.opt(3) {
                let b = &inp::<f32>(mem, &t)[d * 2 * gh..(d + 1) * 2 * gh];
                for k in 0..gh {
                    // GRU keeps the hidden gate's recurrent bias apart.
                    if self.gru && k >= 2 * hs {
                        bias[k] = b[k];
                        rbh[k - 2 * hs] = b[gh + k];
                    } else {
                        bias[k] = b[k] + b[gh + k];
                    }
                }
            }
            project(
                cpu,
                xs,
                &ws[d * gh * input..(d + 1) * gh * input],
                Some(bias),
                input,
                gh,
                &mut pre[..seq * batch * gh],
            );
            let st = d * batch * hs..(d + 1) * batch * hs;
            let h = &mut hs_out[st.clone()];
            match io.opt(5) {
                Some(t) => h.copy_from_slice(&inp::<f32>(mem, &t)[st]),
                None => h.fill(0.0),
            }
            ydir.fill(0.0);
            let reverse = if self.dirs == 2 { d == 1 } else { self.reverse };
            let rd = &rs[d * gh * hs..(d + 1) * gh * hs];
            let [f, g] = self.acts[d];
            if self.gru {
                let cfg =
                    GruCfg { reverse, acts: [f, g], clip: self.clip, linear_before_reset: self.linear_before_reset };
                let mv = |w: &[f32], cols: usize, v: &[f32], o: &mut [f32]| matvec_set(cpu, w, cols, v, o);
                gru(self.d, cfg, pre, rd, rbh, &lens[..batch], h, ydir, cell, mv);
            } else {
                let mv = |w: &[f32], cols: usize, v: &[f32], o: &mut [f32]| matvec_set(cpu, w, cols, v, o);
                rnn(self.d, reverse, f, self.clip, pre, rd, &lens[..batch], h, ydir, cell, mv);
            }
            for t in 0..seq {
                let dst = &mut ys[((t * self.dirs + d) * batch) * hs..][..batch * hs];
                dst.copy_from_slice(&ydir[t * batch * hs..][..batch * hs]);
            }
        }
        Ok(())
    }
}
