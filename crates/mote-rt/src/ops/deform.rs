//! `DeformConv` (51): 2-D deformable convolution (f32), each tap sampled bilinearly at its
//! position plus a learned offset (zero outside the image), optionally scaled by a mask.
//!
//! Inputs `x [N, C, H, W]`, `w [M, C / group, kh, kw]`, `offset [N, og * kh * kw * 2, oH, oW]`
//! (y then x per tap), `bias? [M]`, `mask? [N, og * kh * kw, oH, oW]`; output
//! `y [N, M, oH, oW]`. Attributes: `[group, offset_group, 2, kernel[2], strides[2],
//! dilations[2], pads_begin[2] (i32), pads_end[2] (i32)]`. The kernel is the weight's spatial
//! shape; the output size follows from the window.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::nn::Spatial;
use mote_kernels::reference::nn::conv::{Channels, deform_conv2d};

use super::col2im::positions;
use super::pool::window;
use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// A decoded DeformConv step.
#[derive(Clone, Copy, Debug)]
pub struct DeformConv {
    c: Channels,
    sp: Spatial,
    offset_group: usize,
}

impl DeformConv {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<DeformConv, StepFault> {
        io.arity(3, 5, 1)?;
        let mut w = Words::new(step);
        let (group, offset_group) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        if w.upto(2)? != 2 {
            return Err(StepFault::Attrs);
        }
        let (mut sp, pads_end) = window(&mut w, 2)?;
        w.end()?;
        for (_, t) in io.inputs() {
            want(&t, DType::F32)?;
            want_numel(&t, t.numel())?;
        }
        let (x, wt, off, y) = (io.input(0)?, io.input(1)?, io.input(2)?, io.output(0)?);
        want(&y, DType::F32)?;
        want_numel(&y, y.numel())?;
        if x.rank != 4 || wt.rank != 4 || off.rank != 4 || y.rank != 4 {
            return Err(StepFault::Shape);
        }
        let (xd, wd, yd) = (x.shape(), wt.shape(), y.shape());
        let (n, ch, m) = (xd[0], xd[1], wd[0]);
        let fits = group > 0
            && offset_group > 0
            && ch % offset_group == 0
            && m % group == 0
            && wd[1].checked_mul(group) == Some(ch)
            && [wd[2], wd[3]] == [sp.kernel[1], sp.kernel[2]];
        if !fits {
            return Err(StepFault::Shape);
        }
        for a in 1..3 {
            sp.input[a] = xd[a + 1];
            sp.output[a] = positions(&sp, &pads_end, a)?;
        }
        if yd[..4] != [n, m, sp.output[1], sp.output[2]] {
            return Err(StepFault::Shape);
        }
        let kvol = product(&sp.kernel)?;
        let taps = product(&[offset_group, kvol])?;
        if off.shape()[..4] != [n, product(&[taps, 2])?, yd[2], yd[3]] {
            return Err(StepFault::Shape);
        }
        if let Some(b) = io.opt(3)
            && (b.rank != 1 || b.shape()[0] != m)
        {
            return Err(StepFault::Shape);
        }
        if let Some(mk) = io.opt(4)
            && (mk.rank != 4 || mk.shape()[..4] != [n, taps, yd[2], yd[3]])
        {
            return Err(StepFault::Shape);
        }
        Ok(DeformConv { c: Channels { batch: n, in_channels: ch, out_channels: m, group }, sp, offset_group })
    }

    /// Multiply-accumulates: every output times its input channels per group and taps.
    pub fn macs(&self) -> u64 {
        let c = &self.c;
        [c.batch, c.out_channels, c.in_channels / c.group.max(1), self.sp.kernel_size(), self.sp.out_plane()]
            .iter()
            .fold(1u64, |a, &x| a.saturating_mul(x as u64))
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(w), Ok(off), Ok(y)) = (io.input(0), io.input(1), io.input(2), io.output(0)) else { return };
        let ys = out::<f32>(mem, &y);
        if ys.is_empty() {
            return;
        }
        let (b, mk) = (io.opt(3).map(|t| inp::<f32>(mem, &t)), io.opt(4).map(|t| inp::<f32>(mem, &t)));
        let (xs, ws, os) = (inp::<f32>(mem, &x), inp::<f32>(mem, &w), inp::<f32>(mem, &off));
        deform_conv2d(&self.c, &self.sp, self.offset_group, xs, ws, os, mk, b, ys);
    }
}

/// DeformConv attributes.
#[cfg(feature = "alloc")]
pub fn encode_deform_conv(
    group: usize,
    offset_group: usize,
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
    begin: &[isize],
    end: &[isize],
) -> alloc::vec::Vec<u32> {
    let mut w = alloc::vec![group as u32, offset_group as u32];
    w.extend(super::col2im::encode_window(kernel, strides, dilations, begin, end));
    w
}
