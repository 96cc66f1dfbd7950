//! Strided views: dims with per-operand element strides, checked against the tensors they index
//! and walked with an odometer whose innermost dim is a tight loop.

use super::MAX_VIEW_RANK;
use crate::error::StepFault;
use crate::words::Words;

/// Dims and the element strides of up to three operands over them.
#[derive(Clone, Copy, Debug)]
pub struct View<const N: usize> {
    pub rank: usize,
    pub dims: [usize; MAX_VIEW_RANK],
    pub strides: [[isize; MAX_VIEW_RANK]; N],
    pub offsets: [usize; N],
}

impl<const N: usize> View<N> {
    /// Reads `rank, dims[rank], then per operand: strides[rank]` (offsets zero).
    pub fn decode(w: &mut Words<'_, '_>) -> Result<View<N>, StepFault> {
        let rank = w.upto(MAX_VIEW_RANK as u32)?;
        let mut v = View { rank, dims: [1; MAX_VIEW_RANK], strides: [[0; MAX_VIEW_RANK]; N], offsets: [0; N] };
        w.usizes(&mut v.dims[..rank], u32::MAX)?;
        for s in &mut v.strides {
            for x in &mut s[..rank] {
                *x = w.i32()? as isize;
            }
        }
        Ok(v)
    }

    /// Merges adjacent dims that every operand walks contiguously (longer inner loops).
    pub fn collapse(&mut self) {
        let mut r = 0;
        for d in 0..self.rank {
            if self.dims[d] == 1 && self.rank > 1 {
                continue;
            }
            let merge = r > 0 && (0..N).all(|k| self.strides[k][r - 1] == self.strides[k][d] * self.dims[d] as isize);
            if merge {
                self.dims[r - 1] *= self.dims[d];
                for k in 0..N {
                    self.strides[k][r - 1] = self.strides[k][d];
                }
            } else {
                self.dims[r] = self.dims[d];
                for k in 0..N {
                    self.strides[k][r] = self.strides[k][d];
                }
                r += 1;
            }
        }
        if self.rank > 0 && r == 0 {
            // Every dim was 1.
            self.dims[0] = 1;
            r = 1;
        }
        self.rank = r;
    }

    /// Moves innermost the longest dim that some operand walks with stride 1, when the inner
    /// dim is shorter (an NCHW -> NHWC copy of 3 channels then runs along W, not C). Only for
    /// views where every operand but the first (the destination of a copy) is written at most
    /// once per element: the visiting order changes, the set of index tuples does not.
    pub fn unit_run_last(&mut self) {
        let r = self.rank;
        if r < 2 || (1..N).any(|k| self.strides[k][..r].contains(&0)) {
            return;
        }
        let unit = |d: usize| (0..N).any(|k| self.strides[k][d] == 1);
        let best = (0..r).filter(|&d| unit(d)).max_by_key(|&d| self.dims[d]);
        if let Some(d) = best.filter(|&d| self.dims[d] > self.dims[r - 1]) {
            self.dims.swap(d, r - 1);
            for k in 0..N {
                self.strides[k].swap(d, r - 1);
            }
        }
    }

    pub fn numel(&self) -> Result<usize, StepFault> {
        super::product(&self.dims[..self.rank])
    }

    /// Checks that operand `k` reads or writes only indices `< len`.
    pub fn check(&self, k: usize, len: usize) -> Result<(), StepFault> {
        if self.numel()? == 0 {
            return Ok(());
        }
        let (mut lo, mut hi) = (self.offsets[k] as i128, self.offsets[k] as i128);
        for d in 0..self.rank {
            let span = (self.dims[d] as i128 - 1) * self.strides[k][d] as i128;
            if span < 0 { lo += span } else { hi += span }
        }
        if lo < 0 || hi >= len as i128 {
            return Err(StepFault::Shape);
        }
        Ok(())
    }

    /// Calls `f(offsets, n, inner strides)` for every run of the innermost dim, in order.
    #[inline]
    pub fn for_runs(&self, mut f: impl FnMut([usize; N], usize, [isize; N])) {
        let r = self.rank;
        if r == 0 {
            f(self.offsets, 1, [0; N]);
            return;
        }
        if self.dims[..r].contains(&0) {
            return;
        }
        let inner = self.dims[r - 1];
        let inner_s: [isize; N] = core::array::from_fn(|k| self.strides[k][r - 1]);
        let mut idx = [0usize; MAX_VIEW_RANK];
        let mut off: [isize; N] = core::array::from_fn(|k| self.offsets[k] as isize);
        loop {
            f(core::array::from_fn(|k| off[k] as usize), inner, inner_s);
            // Advance the odometer over dims 0..r-1.
            let mut d = r - 1;
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                idx[d] += 1;
                for k in 0..N {
                    off[k] += self.strides[k][d];
                }
                if idx[d] < self.dims[d] {
                    break;
                }
                for k in 0..N {
                    off[k] -= self.strides[k][d] * self.dims[d] as isize;
                }
                idx[d] = 0;
            }
        }
    }
}
