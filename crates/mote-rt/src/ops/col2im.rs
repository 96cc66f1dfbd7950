//! `Col2Im` (52): sums sliding blocks `x [N, C * prod(block), L]` back into images
//! `y [N, C, I1..Ir]` (f32), `r` from 1 to 3.
//!
//! Attributes: `[r, block[r], strides[r], dilations[r], pads_begin[r] (i32), pads_end[r] (i32)]`
//! (the window words of the pooling ops); the runtime derives the block grid from the image size
//! and checks that it has `L` positions.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::nn::Spatial;
use mote_kernels::reference::nn::conv::col2im;

use super::pool::window;
use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// A decoded Col2Im step.
#[derive(Clone, Copy, Debug)]
pub struct Col2Im {
    planes: usize,
    sp: Spatial,
}

/// Positions of a window on axis `a` of `sp` (its input size set): `(in + pads - span) / stride
/// + 1`, an error when the window does not fit once, or for an empty kernel.
pub(super) fn positions(sp: &Spatial, pads_end: &[isize; 3], a: usize) -> Result<usize, StepFault> {
    if sp.kernel[a] == 0 {
        return Err(StepFault::Attrs);
    }
    let span = (sp.kernel[a] as i64 - 1) * sp.dilations[a] as i64 + 1;
    let room = sp.input[a] as i64 + sp.pads[a] as i64 + pads_end[a] as i64;
    if room < span {
        return Err(StepFault::Shape);
    }
    Ok(((room - span) / sp.strides[a] as i64 + 1) as usize)
}

impl Col2Im {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Col2Im, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let r = w.upto(3)?;
        let (mut sp, pads_end) = window(&mut w, r)?;
        w.end()?;
        let (x, y) = (io.input(0)?, io.output(0)?);
        for t in [x, y] {
            want(&t, DType::F32)?;
            want_numel(&t, t.numel())?;
        }
        let (xd, yd) = (x.dims(), y.dims());
        if x.rank != 3 || y.rank != r + 2 || xd[0] != yd[0] {
            return Err(StepFault::Shape);
        }
        let o = 3 - r;
        for a in 0..r {
            sp.input[o + a] = yd[2 + a] as usize;
            sp.output[o + a] = positions(&sp, &pads_end, o + a)?;
        }
        let kvol = product(&sp.kernel)?;
        if product(&[yd[1] as usize, kvol])? != xd[1] as usize || product(&sp.output)? != xd[2] as usize {
            return Err(StepFault::Shape);
        }
        Ok(Col2Im { planes: yd[0] as usize * yd[1] as usize, sp })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        let ys = out::<f32>(mem, &y);
        if ys.is_empty() {
            return;
        }
        col2im(self.planes, &self.sp, inp::<f32>(mem, &x), ys);
    }
}

/// The window words `[r, kernel[r], strides[r], dilations[r], pads_begin[r], pads_end[r]]`.
#[cfg(feature = "alloc")]
pub fn encode_window(
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
    begin: &[isize],
    end: &[isize],
) -> alloc::vec::Vec<u32> {
    let mut w = crate::words::WordsOut::default();
    w.usize(kernel.len()).usizes(kernel).usizes(strides).usizes(dilations);
    for &p in begin.iter().chain(end) {
        w.i32(p as i32);
    }
    w.0
}
