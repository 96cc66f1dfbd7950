//! `Reduce`: sum, mean, max, min, prod, L1, L2, log-sum, log-sum-exp, sum of squares over a set
//! of axes, on f32 (accumulating in f32) or f64.
//!
//! Attributes: `[kind (Reduction order: sum, mean, max, min, prod, l1, l2, log_sum,
//! log_sum_exp, sum_square), rank, dims[rank], reduced_mask (bit d set: axis d reduced)]`.

use mote_core::DType;
use mote_format::{MAX_RANK, StepRef};
use mote_kernels::fast::Cpu;
use mote_kernels::reference::reduce::{Reduction, ref_reduce_float};

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// Reductions by code.
pub const REDUCTIONS: [Reduction; 10] = [
    Reduction::Sum,
    Reduction::Mean,
    Reduction::Max,
    Reduction::Min,
    Reduction::Prod,
    Reduction::L1,
    Reduction::L2,
    Reduction::LogSum,
    Reduction::LogSumExp,
    Reduction::SumSquare,
];

#[derive(Clone, Copy, Debug)]
pub struct Reduce {
    kind: Reduction,
    rank: usize,
    dims: [usize; MAX_RANK],
    reduced: [bool; MAX_RANK],
    n_out: usize,
    f64: bool,
    /// `[outer, n, inner]` when the reduced axes are one contiguous run (sum, mean, max on f32
    /// then take a direct loop, same order as the reference: `n` in increasing order).
    middle: Option<[usize; 3]>,
}

impl Reduce {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Reduce, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let kind = REDUCTIONS[w.upto(9)?];
        let rank = w.upto(MAX_RANK as u32)?;
        let mut dims = [1usize; MAX_RANK];
        w.usizes(&mut dims[..rank], u32::MAX)?;
        let mask = w.upto((1 << MAX_RANK) - 1)?;
        w.end()?;
        let reduced: [bool; MAX_RANK] = core::array::from_fn(|d| d < rank && mask & (1 << d) != 0);
        let (x, y) = (io.input(0)?, io.output(0)?);
        if !matches!(x.dtype, DType::F32 | DType::F64) {
            return Err(StepFault::DType);
        }
        want(&y, x.dtype)?;
        want_numel(&x, product(&dims[..rank])?)?;
        let kept: usize = (0..rank).filter(|&d| !reduced[d]).map(|d| dims[d]).product();
        want_numel(&y, kept)?;
        let first = (0..rank).find(|&d| reduced[d]);
        let last = (0..rank).rev().find(|&d| reduced[d]);
        let middle = match (first, last) {
            (Some(a), Some(b))
                if (a..=b).all(|d| reduced[d])
                    && x.dtype == DType::F32
                    && matches!(kind, Reduction::Sum | Reduction::Mean | Reduction::Max) =>
            {
                let p = |r: core::ops::Range<usize>| dims[r].iter().product::<usize>();
                Some([p(0..a), p(a..b + 1), p(b + 1..rank)])
            }
            _ => None,
        }
        .filter(|m| m.iter().all(|&d| d > 0));
        Ok(Reduce { kind, rank, dims, reduced, n_out: kept, f64: x.dtype == DType::F64, middle })
    }

    pub fn scratch_bytes(&self) -> usize {
        if self.kind == Reduction::LogSumExp { self.n_out * if self.f64 { 8 } else { 4 } } else { 0 }
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32], cpu: Cpu) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        let r = self.rank;
        if self.f64 {
            // SAFETY: f64 is plain old data; `align_to_mut` only yields correctly aligned f64s
            // (the plan's scratch offset is 8-byte aligned, so the prefix is empty).
            let (_, scratch, _) = unsafe { scratch.align_to_mut::<f64>() };
            let scratch = if scratch.len() >= self.n_out { scratch } else { &mut [] };
            if self.kind == Reduction::LogSumExp && scratch.is_empty() && self.n_out > 0 {
                return;
            }
            ref_reduce_float(
                self.kind,
                inp::<f64>(mem, &x),
                &self.dims[..r],
                &self.reduced[..r],
                out::<f64>(mem, &y),
                scratch,
            );
            return;
        }
        if let Some([outer, n, inner]) = self.middle {
            middle(cpu, self.kind, inp::<f32>(mem, &x), [outer, n, inner], out::<f32>(mem, &y));
            return;
        }
        ref_reduce_float(
            self.kind,
            inp::<f32>(mem, &x),
            &self.dims[..r],
            &self.reduced[..r],
            out::<f32>(mem, &y),
            scratch,
        );
    }
}

/// Sum, mean (the vector kernel) or max of `x [outer, n, inner]` (no zero dim) over `n` into `y [outer, inner]`
/// (`n` in increasing order, as the reference; max lets a NaN win as the reference does).
fn middle(cpu: Cpu, kind: Reduction, x: &[f32], [outer, n, inner]: [usize; 3], y: &mut [f32]) {
    if kind != Reduction::Max {
        return mote_kernels::fast::reduce_middle(cpu, kind == Reduction::Mean, x, [outer, n, inner], y);
    }
    let (x, y) = (&x[..outer * n * inner], &mut y[..outer * inner]);
    for (xo, yo) in x.chunks_exact(n * inner).zip(y.chunks_exact_mut(inner)) {
        match kind {
            Reduction::Max => {
                yo.fill(f32::NEG_INFINITY);
                for row in xo.chunks_exact(inner) {
                    for (a, &v) in yo.iter_mut().zip(row) {
                        if v > *a || v.is_nan() {
                            *a = v;
                        }
                    }
                }
            }
            _ => {
                yo.fill(0.0);
                for row in xo.chunks_exact(inner) {
                    for (a, &v) in yo.iter_mut().zip(row) {
                        *a += v;
                    }
                }
                if kind == Reduction::Mean {
                    yo.iter_mut().for_each(|a| *a /= n as f32);
                }
            }
        }
    }
}
