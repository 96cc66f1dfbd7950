//! Numpy broadcasting of two operands to an output's dims, derived from the shapes (the
//! element-wise string steps carry no attribute words for it).

use mote_format::{MAX_RANK, TensorRef};

use crate::error::StepFault;
use crate::ops::RunFault;

/// How two operands are read over an output's dims.
#[derive(Clone, Copy, Debug)]
pub struct Broadcast {
    rank: usize,
    dims: [usize; MAX_RANK],
    /// Element strides of `a` and `b` over the output's dims (0 where broadcast).
    strides: [[usize; MAX_RANK]; 2],
}

impl Broadcast {
    /// `a` and `b` read over `y`'s dims: each operand's dims, aligned to the right, must equal
    /// `y`'s or be 1.
    pub fn of(a: &TensorRef<'_>, b: &TensorRef<'_>, y: &TensorRef<'_>) -> Result<Broadcast, StepFault> {
        let rank = y.rank;
        let mut c = Broadcast { rank, dims: y.shape(), strides: [[0; MAX_RANK]; 2] };
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

    /// Calls `f(k, ia, ib)` for the first `n` output elements `k` in row-major order, with
    /// the positions of the operand elements they read.
    pub fn each(
        &self,
        n: usize,
        mut f: impl FnMut(usize, usize, usize) -> Result<(), RunFault>,
    ) -> Result<(), RunFault> {
        let mut idx = [0usize; MAX_RANK];
        for k in 0..n {
            let (mut ia, mut ib) = (0, 0);
            for d in 0..self.rank {
                ia += idx[d] * self.strides[0][d];
                ib += idx[d] * self.strides[1][d];
            }
            f(k, ia, ib)?;
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
