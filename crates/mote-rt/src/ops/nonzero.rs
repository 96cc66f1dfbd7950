//! `NonZero` (79): the coordinates of the non-zero elements, an output whose length depends on
//! the data.
//!
//! Input `x` (any numeric type or bool, rank 1 to 8). Outputs `indices [rank, numel]` (i64) and
//! `count [1]` (i64). The first `rank * count` values of `indices` are the `[rank, count]`
//! result (row `r` holds axis `r`'s coordinate of each non-zero element, in C order); the
//! compiler marks it Bounded (axis 1, `count`). No attributes.

use mote_core::DType;
use mote_format::StepRef;

use super::elem_order::{is_zero, supported};
use super::{Io, inp, out, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct NonZero {
    dtype: DType,
}

impl NonZero {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<NonZero, StepFault> {
        io.arity(1, 1, 2)?;
        Words::new(step).end()?;
        let (x, idx, count) = (io.input(0)?, io.output(0)?, io.output(1)?);
        if !supported(x.dtype) {
            return Err(StepFault::DType);
        }
        want(&idx, DType::I64)?;
        want(&count, DType::I64)?;
        want_numel(&x, x.numel())?;
        want_numel(&count, 1)?;
        let n = x.numel();
        if x.rank == 0 || idx.rank != 2 || idx.dims()[0] as usize != x.rank || idx.dims()[1] as usize != n {
            return Err(StepFault::Shape);
        }
        want_numel(&idx, idx.numel())?;
        Ok(NonZero { dtype: x.dtype })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(idx), Ok(count)) = (io.input(0), io.output(0), io.output(1)) else { return };
        let (xb, dims) = (inp::<u8>(mem, &x), x.dims());
        let n = x.numel();
        let c = (0..n).filter(|&i| !is_zero(self.dtype, xb, i)).count();
        let o = out::<i64>(mem, &idx);
        for (k, i) in (0..n).filter(|&i| !is_zero(self.dtype, xb, i)).enumerate() {
            // The coordinates of flat index `i`, last axis fastest.
            let mut rest = i;
            for r in (0..dims.len()).rev() {
                let d = dims[r] as usize;
                o[r * c + k] = (rest % d) as i64;
                rest /= d;
            }
        }
        out::<i64>(mem, &count)[0] = c as i64;
    }
}
