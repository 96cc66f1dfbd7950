//! `MaxPoolIndices` (47): max pooling that also writes the flat input index of each maximum
//! (ONNX MaxPool's `Indices` output), over 1 to 3 spatial dims.
//!
//! Attributes: `[spatial_rank (1..3), kernel[r], strides[r], dilations[r], pads_begin[r] (i32),
//! pads_end[r] (i32), col_major (storage_order 1: spatial indices column-major)]`;
//! `x [N, C, in...]` (f32) -> `y [N, C, out...]` (f32), `indices [N, C, out...]` (i64).

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::nn::Spatial;
use mote_kernels::reference::nn::pool::max_pool;

use super::pool::{fit, window};
use super::{Io, inp, out, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct MaxPoolIndices {
    planes: usize,
    sp: Spatial,
    col_major: bool,
}

impl MaxPoolIndices {
    /// Window taps visited: planes x outputs x kernel taps.
    pub fn taps(&self) -> u64 {
        (self.planes as u64).saturating_mul(self.sp.out_plane() as u64).saturating_mul(self.sp.kernel_size() as u64)
    }

    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<MaxPoolIndices, StepFault> {
        io.arity(1, 1, 2)?;
        let mut w = Words::new(step);
        let r = w.upto(3)?;
        let (mut sp, pads_end) = window(&mut w, r)?;
        let col_major = w.bool()?;
        w.end()?;
        let (x, y, ind) = (io.input(0)?, io.output(0)?, io.output(1)?);
        want(&x, DType::F32)?;
        want(&y, DType::F32)?;
        want(&ind, DType::I64)?;
        if x.rank != r + 2 || y.rank != r + 2 || ind.dims() != y.dims() {
            return Err(StepFault::Shape);
        }
        for t in [x, y, ind] {
            want_numel(&t, t.numel())?;
        }
        let (xd, yd) = (x.dims(), y.dims());
        fit(&mut sp, &pads_end, r, xd, yd)?;
        Ok(MaxPoolIndices { planes: xd[0] as usize * xd[1] as usize, sp, col_major })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y), Ok(ind)) = (io.input(0), io.output(0), io.output(1)) else { return };
        let (xs, ys, is) = (inp::<f32>(mem, &x), out::<f32>(mem, &y), out::<i64>(mem, &ind));
        if ys.is_empty() {
            return;
        }
        max_pool(self.planes, &self.sp, f32::NEG_INFINITY, xs, ys, Some(is), self.col_major);
    }
}
