//! Normalizations computed by one step each (f32):
//!
//! - `LayerNorm` (14) / `RmsNorm` (43) over the rows of `x [rows, cols]`:
//!   attributes `[rows, cols, epsilon (f32)]`. LayerNorm: inputs `x, scale [cols], bias? [cols]`,
//!   outputs `y, mean [rows], inv_std [rows]`. RmsNorm: inputs `x, scale [cols]`, output `y`.
//! - `InstanceNorm` (24) / `GroupNorm` (44) of `x [batch, channels, plane]` with statistics per
//!   (batch, group of channels), then a per-channel affine: inputs `x, scale [channels],
//!   bias [channels]`, output `y`. Attributes InstanceNorm `[batch, channels, plane, epsilon]`,
//!   GroupNorm `[batch, channels, groups (divides channels), plane, epsilon]`.
//! - `LpNorm` (45): `x / ||x||_p` along the middle axis of `[outer, len, inner]`;
//!   attributes `[p (1 or 2), outer, len, inner]`.
//! - `Lrn` (46): local response normalization across channels of `[batch, channels, plane]`;
//!   attributes `[batch, channels, plane, size (>= 1), alpha, beta, bias (f32 each)]`.

use mote_core::DType;
use mote_format::{OpCode, StepRef};
use mote_kernels::fast::{self, Cpu};
use mote_kernels::reference::nn::norm as k;

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

fn all_f32(io: &Io<'_>) -> Result<(), StepFault> {
    for (_, t) in io.inputs() {
        want(&t, DType::F32)?;
    }
    io.outputs().try_for_each(|t| want(&t, DType::F32))
}

/// LayerNorm or RmsNorm over rows.
#[derive(Clone, Copy, Debug)]
pub struct RowNorm {
    rms: bool,
    rows: usize,
    cols: usize,
    eps: f32,
}

impl RowNorm {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<RowNorm, StepFault> {
        let rms = step.op == OpCode::RmsNorm;
        if rms {
            io.arity(2, 2, 1)?
        } else {
            io.arity(2, 3, 3)?
        }
        let mut w = Words::new(step);
        let (rows, cols, eps) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.f32()?);
        w.end()?;
        all_f32(io)?;
        let n = product(&[rows, cols])?;
        want_numel(&io.input(0)?, n)?;
        want_numel(&io.output(0)?, n)?;
        want_numel(&io.input(1)?, cols)?;
        if let Some(b) = io.opt(2) {
            want_numel(&b, cols)?;
        }
        if !rms {
            want_numel(&io.output(1)?, rows)?;
            want_numel(&io.output(2)?, rows)?;
        }
        Ok(RowNorm { rms, rows, cols, eps })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, cpu: Cpu) {
        let (Ok(x), Ok(s), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let (xs, ss, ys) = (inp::<f32>(mem, &x), inp::<f32>(mem, &s), out::<f32>(mem, &y));
        let bs = io.opt(2).map(|t| inp::<f32>(mem, &t));
        if self.rms {
            fast::rms_norm(cpu, self.cols, self.eps, xs, ss, ys);
            return;
        }
        let (Ok(m), Ok(v)) = (io.output(1), io.output(2)) else { return };
        fast::layer_norm(cpu, self.cols, self.eps, xs, ss, bs, ys, out::<f32>(mem, &m), out::<f32>(mem, &v));
        let _ = self.rows;
    }
}

/// InstanceNorm or GroupNorm.
#[derive(Clone, Copy, Debug)]
pub struct ChannelNorm {
    channels: usize,
    groups: usize,
    plane: usize,
    eps: f32,
}

impl ChannelNorm {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<ChannelNorm, StepFault> {
        io.arity(3, 3, 1)?;
        let mut w = Words::new(step);
        let (batch, channels) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let groups = if step.op == OpCode::GroupNorm { w.upto(u32::MAX)? } else { channels };
        let (plane, eps) = (w.upto(u32::MAX)?, w.f32()?);
        w.end()?;
        if groups == 0 || channels % groups != 0 {
            return Err(StepFault::Attrs);
        }
        all_f32(io)?;
        let n = product(&[batch, channels, plane])?;
        want_numel(&io.input(0)?, n)?;
        want_numel(&io.output(0)?, n)?;
        want_numel(&io.input(1)?, channels)?;
        want_numel(&io.input(2)?, channels)?;
        Ok(ChannelNorm { channels, groups, plane, eps })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(s), Ok(b), Ok(y)) = (io.input(0), io.input(1), io.input(2), io.output(0)) else { return };
        let ys = out::<f32>(mem, &y);
        k::standardize_rows(self.channels / self.groups * self.plane, self.eps, inp::<f32>(mem, &x), ys, None, None);
        k::affine_channels(self.channels, self.plane, inp(mem, &s), inp(mem, &b), ys);
    }
}

/// LpNormalization.
#[derive(Clone, Copy, Debug)]
pub struct LpNorm {
    p: u8,
    outer: usize,
    len: usize,
    inner: usize,
}

impl LpNorm {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<LpNorm, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let p = w.upto(2)? as u8;
        let (outer, len, inner) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        w.end()?;
        if p == 0 {
            return Err(StepFault::Attrs);
        }
        all_f32(io)?;
        let n = product(&[outer, len, inner])?;
        want_numel(&io.input(0)?, n)?;
        want_numel(&io.output(0)?, n)?;
        Ok(LpNorm { p, outer, len, inner })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        k::lp_normalize(self.p, self.outer, self.len, self.inner, inp::<f32>(mem, &x), out(mem, &y));
    }
}

/// LRN.
#[derive(Clone, Copy, Debug)]
pub struct Lrn {
    channels: usize,
    plane: usize,
    size: usize,
    alpha: f32,
    beta: f32,
    bias: f32,
}

impl Lrn {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Lrn, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let (batch, channels, plane, size) =
            (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let (alpha, beta, bias) = (w.f32()?, w.f32()?, w.f32()?);
        w.end()?;
        if size == 0 {
            return Err(StepFault::Attrs);
        }
        all_f32(io)?;
        let n = product(&[batch, channels, plane])?;
        want_numel(&io.input(0)?, n)?;
        want_numel(&io.output(0)?, n)?;
        Ok(Lrn { channels, plane, size, alpha, beta, bias })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        let Lrn { channels, plane, size, alpha, beta, bias } = *self;
        k::lrn(channels, plane, size, alpha, beta, bias, inp::<f32>(mem, &x), out(mem, &y));
    }
}
