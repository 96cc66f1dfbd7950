//! `ArgReduce`: ArgMax / ArgMin along the middle axis of `[outer, n, inner]` (f32 input, i64
//! output `[outer, inner]`). Ties go to the first index, or the last with `select_last`; NaN
//! counts as the extreme.
//!
//! Attributes: `[max, select_last, outer, n (>= 1), inner]`.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::reduce::ref_arg_reduce;

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct ArgReduce {
    max: bool,
    last: bool,
    outer: usize,
    n: usize,
    inner: usize,
}

impl ArgReduce {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<ArgReduce, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let a = ArgReduce {
            max: w.bool()?,
            last: w.bool()?,
            outer: w.upto(u32::MAX)?,
            n: w.upto(u32::MAX)?,
            inner: w.upto(u32::MAX)?,
        };
        w.end()?;
        if a.n == 0 {
            return Err(StepFault::Attrs);
        }
        let (x, y) = (io.input(0)?, io.output(0)?);
        want(&x, DType::F32)?;
        want(&y, DType::I64)?;
        want_numel(&x, product(&[a.outer, a.n, a.inner])?)?;
        want_numel(&y, product(&[a.outer, a.inner])?)?;
        Ok(a)
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        ref_arg_reduce(inp::<f32>(mem, &x), self.outer, self.n, self.inner, out::<i64>(mem, &y), self.max, self.last);
    }
}
