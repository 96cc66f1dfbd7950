//! `Det` (53): determinants of `x [*, M, M]` into `y [*]` (f32), by LU decomposition with
//! partial pivoting in a scratch copy of each matrix (`M * M` floats). No attributes.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::nn::gemm::det_in_place;

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// A decoded Det step.
#[derive(Clone, Copy, Debug)]
pub struct Det {
    batch: usize,
    m: usize,
}

impl Det {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Det, StepFault> {
        io.arity(1, 1, 1)?;
        Words::new(step).end()?;
        let (x, y) = (io.input(0)?, io.output(0)?);
        want(&x, DType::F32)?;
        want(&y, DType::F32)?;
        want_numel(&x, x.numel())?;
        want_numel(&y, y.numel())?;
        let r = x.rank;
        let (xd, yd) = (x.dims(), y.dims());
        if r < 2 || xd[r - 1] != xd[r - 2] || yd != &xd[..r - 2] {
            return Err(StepFault::Shape);
        }
        let m = xd[r - 1] as usize;
        // The scratch matrix must be addressable in bytes.
        product(&[m, m, 4])?;
        Ok(Det { batch: y.numel(), m })
    }

    pub fn scratch_bytes(&self) -> usize {
        if self.batch == 0 { 0 } else { 4 * self.m * self.m }
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        let (xs, ys) = (inp::<f32>(mem, &x), out::<f32>(mem, &y));
        let mm = self.m * self.m;
        let Some(a) = scratch.get_mut(..mm) else { return };
        for (i, o) in ys.iter_mut().enumerate() {
            a.copy_from_slice(&xs[i * mm..][..mm]);
            *o = det_in_place(self.m, a);
        }
    }
}
