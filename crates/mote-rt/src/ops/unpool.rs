//! `MaxUnpool` (54): scatters `x [N, C, in...]` (any element type) to the flat positions
//! `indices` (i64, same shape) of the default output shape `[N, C, full...]`, zero elsewhere;
//! a larger output `y` (same rank, each dim at least the default) receives that result in its
//! leading corner. Attributes: `[rank, full dims[rank]]` (the default shape, N and C included).
//!
//! Indices are data: one outside `[0, prod(full))` is a run error.

use mote_core::DType;
use mote_format::{MAX_RANK, StepRef};

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::{Elem, Mem, elem_size};
use crate::words::Words;

/// A decoded MaxUnpool step.
#[derive(Clone, Copy, Debug)]
pub struct MaxUnpool {
    rank: usize,
    full: [usize; MAX_RANK],
    total: usize,
    /// Strides of the output for each axis of the default shape.
    y_strides: [usize; MAX_RANK],
    size: usize,
}

impl MaxUnpool {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<MaxUnpool, StepFault> {
        io.arity(2, 2, 1)?;
        let mut w = Words::new(step);
        let rank = w.upto(MAX_RANK as u32)?;
        let mut full = [1usize; MAX_RANK];
        w.usizes(&mut full[..rank], u32::MAX)?;
        w.end()?;
        let (x, i, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        want(&i, DType::I64)?;
        if x.dtype != y.dtype {
            return Err(StepFault::DType);
        }
        for t in [x, i, y] {
            want_numel(&t, t.numel())?;
        }
        if x.rank != rank || y.rank != rank || rank < 2 || i.dims() != x.dims() {
            return Err(StepFault::Shape);
        }
        let yd = y.shape();
        if (0..rank).any(|a| yd[a] < full[a]) || x.shape()[..2] != full[..2] {
            return Err(StepFault::Shape);
        }
        let total = product(&full[..rank])?;
        let mut y_strides = [0usize; MAX_RANK];
        let mut acc = 1usize;
        for a in (0..rank).rev() {
            y_strides[a] = acc;
            acc *= yd[a];
        }
        Ok(MaxUnpool { rank, full, total, y_strides, size: elem_size(x.dtype) })
    }

    /// The output offset of flat position `t` of the default shape.
    fn target(&self, mut t: usize) -> usize {
        let mut o = 0;
        for a in (0..self.rank).rev() {
            o += (t % self.full[a]) * self.y_strides[a];
            t /= self.full[a];
        }
        o
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), &'static str> {
        let (Ok(x), Ok(i), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return Ok(()) };
        fn go<T: Elem + Default>(u: &MaxUnpool, idx: &[i64], src: &[T], dst: &mut [T]) -> Result<(), &'static str> {
            dst.fill(T::default());
            for (&t, &v) in idx.iter().zip(src) {
                if t < 0 || t as u64 >= u.total as u64 {
                    return Err("MaxUnpool index out of range");
                }
                dst[u.target(t as usize)] = v;
            }
            Ok(())
        }
        let idx = inp::<i64>(mem, &i);
        match self.size {
            1 => go::<u8>(self, idx, inp(mem, &x), out(mem, &y)),
            2 => go::<u16>(self, idx, inp(mem, &x), out(mem, &y)),
            4 => go::<u32>(self, idx, inp(mem, &x), out(mem, &y)),
            _ => go::<u64>(self, idx, inp(mem, &x), out(mem, &y)),
        }
    }
}

/// MaxUnpool attributes: the default output shape.
#[cfg(feature = "alloc")]
pub fn encode_max_unpool(full: &[usize]) -> alloc::vec::Vec<u32> {
    let mut w = crate::words::WordsOut::default();
    w.usize(full.len()).usizes(full);
    w.0
}
