//! Ops along one axis of `[outer, n, inner]` with the reference kernels: `Cumulate` (CumSum /
//! CumProd, exclusive and reverse) and `TopK` (values and i64 indices, largest or smallest
//! first, ties by lower index, NaN the largest).
//!
//! Attributes: Cumulate `[prod, exclusive, reverse, outer, n, inner]` (f32, f64, integers
//! wrapping); TopK `[largest, outer, n, inner, k (<= n)]` (f32, f64, integers; scratch: `n`
//! indices).

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::reduce::{ref_cumulate, ref_topk};

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// The element types these ops compute on.
fn numeric(d: DType) -> bool {
    matches!(d, DType::F32 | DType::F64) || d.is_int()
}

/// `CumSum` / `CumProd`.
#[derive(Clone, Copy, Debug)]
pub struct Cumulate {
    prod: bool,
    exclusive: bool,
    reverse: bool,
    outer: usize,
    n: usize,
    inner: usize,
    dtype: DType,
}

impl Cumulate {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Cumulate, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let (prod, exclusive, reverse) = (w.bool()?, w.bool()?, w.bool()?);
        let (outer, n, inner) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        w.end()?;
        let (x, y) = (io.input(0)?, io.output(0)?);
        if !numeric(x.dtype) {
            return Err(StepFault::DType);
        }
        want(&y, x.dtype)?;
        let len = product(&[outer, n, inner])?;
        want_numel(&x, len)?;
        want_numel(&y, len)?;
        Ok(Cumulate { prod, exclusive, reverse, outer, n, inner, dtype: x.dtype })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        let c = self;
        macro_rules! go {
            ($t:ty, $zero:expr, $one:expr, $add:expr, $mul:expr) => {{
                let (xs, ys) = (inp::<$t>(mem, &x), out::<$t>(mem, &y));
                let (add, mul): (fn($t, $t) -> $t, fn($t, $t) -> $t) = ($add, $mul);
                if c.prod {
                    ref_cumulate(xs, c.outer, c.n, c.inner, ys, c.exclusive, c.reverse, $one, mul);
                } else {
                    ref_cumulate(xs, c.outer, c.n, c.inner, ys, c.exclusive, c.reverse, $zero, add);
                }
            }};
        }
        macro_rules! int {
            ($t:ty) => {
                go!($t, 0, 1, |p, q| p.wrapping_add(q), |p, q| p.wrapping_mul(q))
            };
        }
        match self.dtype {
            DType::F32 => go!(f32, 0.0, 1.0, |p, q| p + q, |p, q| p * q),
            DType::F64 => go!(f64, 0.0, 1.0, |p, q| p + q, |p, q| p * q),
            DType::I8 => int!(i8),
            DType::U8 => int!(u8),
            DType::I16 => int!(i16),
            DType::U16 => int!(u16),
            DType::I32 => int!(i32),
            DType::U32 => int!(u32),
            DType::I64 => int!(i64),
            _ => int!(u64),
        }
    }
}

/// `TopK`.
#[derive(Clone, Copy, Debug)]
pub struct TopK {
    largest: bool,
    outer: usize,
    n: usize,
    inner: usize,
    k: usize,
    dtype: DType,
}

impl TopK {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<TopK, StepFault> {
        io.arity(1, 1, 2)?;
        let mut w = Words::new(step);
        let largest = w.bool()?;
        let (outer, n, inner, k) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        w.end()?;
        if k > n {
            return Err(StepFault::Attrs);
        }
        let (x, v, i) = (io.input(0)?, io.output(0)?, io.output(1)?);
        if !numeric(x.dtype) {
            return Err(StepFault::DType);
        }
        want(&v, x.dtype)?;
        want(&i, DType::I64)?;
        want_numel(&x, product(&[outer, n, inner])?)?;
        let kept = product(&[outer, k, inner])?;
        want_numel(&v, kept)?;
        want_numel(&i, kept)?;
        Ok(TopK { largest, outer, n, inner, k, dtype: x.dtype })
    }

    pub fn scratch_bytes(&self) -> usize {
        self.n.saturating_mul(core::mem::size_of::<usize>())
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) {
        let (Ok(x), Ok(v), Ok(i)) = (io.input(0), io.output(0), io.output(1)) else { return };
        // SAFETY: usize is plain old data; `align_to_mut` only yields aligned usizes (the plan's
        // scratch is 8-byte aligned, so the prefix is empty and `n` fit, as load checked).
        let (_, scratch, _) = unsafe { scratch.align_to_mut::<usize>() };
        if scratch.len() < self.n {
            return;
        }
        let t = self;
        macro_rules! go {
            ($t:ty) => {
                ref_topk(
                    inp::<$t>(mem, &x),
                    t.outer,
                    t.n,
                    t.inner,
                    t.k,
                    t.largest,
                    out::<$t>(mem, &v),
                    out::<i64>(mem, &i),
                    scratch,
                )
            };
        }
        match self.dtype {
            DType::F32 => go!(f32),
            DType::F64 => go!(f64),
            DType::I8 => go!(i8),
            DType::U8 => go!(u8),
            DType::I16 => go!(i16),
            DType::U16 => go!(u16),
            DType::I32 => go!(i32),
            DType::U32 => go!(u32),
            DType::I64 => go!(i64),
            _ => go!(u64),
        }
    }
}
