//! The channel-blocked layout NCHWc8 (see `mote_kernels::fast::blocked`): `ConvBlocked` runs a
//! pointwise or depthwise 2-D convolution on tensors stored as `[N, C/8, H, W, 8]`, and
//! `Reorder` converts between `[N, C, H, W]` and that layout.
//!
//! ConvBlocked attributes: the Conv words (`group, 2, kernel[2], strides[2], dilations[2],
//! pads_begin[2], act(3)`); `x [N, C/8, H, W, 8]` (a stem convolution, group 1 with at most 4
//! input channels, reads `x [N, C, H, W]` instead: the rank says which), `w` packed by
//! `fast::blocked_pack_weights` (`Layout::Packed`, `layout_param = BLOCKED_FORMAT_VERSION`,
//! logical dims `[M, C/group, kh, kw]`), bias `[M]` optional, `y [N, M/8, OH, OW, 8]`.
//! Reorder attributes: `[direction]`, 0 = to the blocked layout, 1 = back.

use mote_core::DType;
use mote_format::{Layout, StepRef, TensorRef};
use mote_kernels::fast::{self, BLOCK, BLOCKED_FORMAT_VERSION, Conv2d, Cpu, Parallel};

use super::act::Act;
use super::{Io, inp, out, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// Dims of a blocked rank-5 tensor: `[N, C, H, W]` with `C` the channel count.
fn blocked_dims(t: &TensorRef<'_>) -> Result<[usize; 4], StepFault> {
    want(t, DType::F32)?;
    let d = t.dims();
    if t.rank != 5 || d[4] as usize != BLOCK {
        return Err(StepFault::Shape);
    }
    want_numel(t, t.numel())?;
    let c = (d[1] as usize).checked_mul(BLOCK).ok_or(StepFault::Shape)?;
    Ok([d[0] as usize, c, d[2] as usize, d[3] as usize])
}

/// Dims of an NCHW f32 tensor.
fn nchw_dims(t: &TensorRef<'_>) -> Result<[usize; 4], StepFault> {
    want(t, DType::F32)?;
    want_numel(t, t.numel())?;
    let d = t.dims();
    Ok([d[0] as usize, d[1] as usize, d[2] as usize, d[3] as usize])
}

#[derive(Clone, Copy, Debug)]
pub struct ConvBlocked {
    g: Conv2d,
    act: Act,
}

impl ConvBlocked {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<ConvBlocked, StepFault> {
        io.arity(2, 3, 1)?;
        let (group, r, sp, act) = super::conv::attrs(step)?;
        if r != 2 || sp.pads[1] < 0 || sp.pads[2] < 0 {
            return Err(StepFault::Attrs);
        }
        let (x, w, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        let nchw = x.rank == 4;
        let xd = if nchw { nchw_dims(&x)? } else { blocked_dims(&x)? };
        let ([n, c, h, iw], [yn, m, oh, ow]) = (xd, blocked_dims(&y)?);
        let g = Conv2d {
            batch: n,
            in_channels: c,
            out_channels: m,
            group,
            input: [h, iw],
            output: [oh, ow],
            kernel: [sp.kernel[1], sp.kernel[2]],
            strides: [sp.strides[1], sp.strides[2]],
            dilations: [sp.dilations[1], sp.dilations[2]],
            pads: [sp.pads[1] as usize, sp.pads[2] as usize],
        };
        if yn != n || !fast::blocked_supported(&g) || fast::blocked_reads_nchw(&g) != nchw {
            return Err(StepFault::Shape);
        }
        want(&w, DType::F32)?;
        let wd = w.dims();
        let logical = [m, c / group, g.kernel[0], g.kernel[1]];
        if w.layout != Layout::Packed
            || w.layout_param != BLOCKED_FORMAT_VERSION
            || w.rank != 4
            || wd.iter().zip(logical).any(|(&a, b)| a as usize != b)
            || w.nbytes != fast::blocked_pack_weights_len(&g) as u64 * 4
        {
            return Err(StepFault::Shape);
        }
        if let Some(b) = io.opt(2) {
            want(&b, DType::F32)?;
            want_numel(&b, m)?;
        }
        Ok(ConvBlocked { g, act })
    }

    pub fn scratch_bytes(&self) -> usize {
        4 * fast::blocked_conv2d_scratch_len(&self.g)
    }

    pub fn macs(&self) -> u64 {
        let g = &self.g;
        (g.batch * g.out_channels * g.out_plane() * g.k()) as u64
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32], cpu: Cpu, par: &dyn Parallel) {
        let (Ok(x), Ok(w), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let bias = io.opt(2).map(|b| inp::<f32>(mem, &b));
        let (xs, ws, ys) = (inp(mem, &x), inp(mem, &w), out(mem, &y));
        fast::blocked_conv2d_par(par, cpu, &self.g, xs, ws, bias, self.act.fast(), ys, scratch);
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Reorder {
    to_blocked: bool,
    /// `[N, C, H * W]`.
    dims: [usize; 3],
}

impl Reorder {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Reorder, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let to_blocked = w.upto(1)? == 0;
        w.end()?;
        let (x, y) = (io.input(0)?, io.output(0)?);
        let (plain, blocked) = if to_blocked { (x, y) } else { (y, x) };
        let [n, c, h, wd] = blocked_dims(&blocked)?;
        want(&plain, DType::F32)?;
        let p = plain.dims();
        if plain.rank != 4 || [p[0], p[1], p[2], p[3]].map(|d| d as usize) != [n, c, h, wd] {
            return Err(StepFault::Shape);
        }
        want_numel(&plain, plain.numel())?;
        Ok(Reorder { to_blocked, dims: [n, c, h * wd] })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        let [n, c, hw] = self.dims;
        if self.to_blocked {
            fast::reorder_to_blocked(n, c, hw, inp(mem, &x), out(mem, &y));
        } else {
            fast::reorder_from_blocked(n, c, hw, inp(mem, &x), out(mem, &y));
        }
    }
}
