//! `StringConcat` (70): `y = a + b` element-wise with numpy broadcasting. Operands and result
//! are string tensors; the broadcast is derived from the shapes (no attribute words).

use mote_format::{MAX_RANK, StepRef};

use super::{BAD_SLOT, full, strs, want_strings, writer};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, RunFault};
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Concat {
    rank: usize,
    dims: [usize; MAX_RANK],
    /// Element strides of `a` and `b` over `y`'s dims (0 where broadcast).
    strides: [[usize; MAX_RANK]; 2],
}

impl Concat {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Concat, StepFault> {
        io.arity(2, 2, 1)?;
        Words::new(step).end()?;
        let (a, b, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        for t in [a, b, y] {
            want_strings(t)?;
        }
        let rank = y.rank;
        let mut c = Concat { rank, dims: y.shape(), strides: [[0; MAX_RANK]; 2] };
        for (k, t) in [a, b].into_iter().enumerate() {
            if t.rank > rank {
                return Err(StepFault::Shape);
            }
            let lead = rank - t.rank;
            let mut stride = 1usize;
            for d in (0..rank).rev() {
                let n = if d < lead { 1 } else { t.dims()[d - lead] as usize };
                if n == c.dims[d] && n != 1 {
                    c.strides[k][d] = stride;
                } else if n != 1 {
                    return Err(StepFault::Shape);
                }
                stride = stride.checked_mul(n).ok_or(StepFault::Shape)?;
            }
        }
        Ok(c)
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), RunFault> {
        let (a, b, y) = (strs(mem, io.input(0)?)?, strs(mem, io.input(1)?)?, io.output(0)?);
        let mut w = writer(mem, y)?;
        let mut idx = [0usize; MAX_RANK];
        for k in 0..w.len() {
            let (mut ia, mut ib) = (0, 0);
            for d in 0..self.rank {
                ia += idx[d] * self.strides[0][d];
                ib += idx[d] * self.strides[1][d];
            }
            w.push(a.get(ia).ok_or(BAD_SLOT)?).map_err(full(0))?;
            w.push(b.get(ib).ok_or(BAD_SLOT)?).map_err(full(0))?;
            w.finish(k);
            for d in (0..self.rank).rev() {
                idx[d] += 1;
                if idx[d] < self.dims[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        Ok(())
    }
}

/// StringConcat's attribute words (none).
#[cfg(feature = "alloc")]
pub fn encode_concat() -> alloc::vec::Vec<u32> {
    alloc::vec::Vec::new()
}
