//! `Gather` along one axis: data `[outer, axis_len, inner]`, indices (i64 or i32, negative
//! counts from the end) `[n]`, output `[outer, n, inner]`. Indices are data: an out-of-range one
//! is a run error, not a load error.
//!
//! Attributes: `[outer, axis_len, inner]`.

use mote_core::DType;
use mote_format::StepRef;

use super::{Io, inp, out, product, want_numel};
use crate::error::StepFault;
use crate::mem::{Elem, Mem, elem_size};
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Gather {
    outer: usize,
    axis_len: usize,
    inner: usize,
    size: usize,
    wide: bool,
}

impl Gather {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Gather, StepFault> {
        io.arity(2, 2, 1)?;
        let mut w = Words::new(step);
        let (outer, axis_len, inner) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        w.end()?;
        let (x, i, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        let wide = match i.dtype {
            DType::I64 => true,
            DType::I32 => false,
            _ => return Err(StepFault::DType),
        };
        if x.dtype != y.dtype {
            return Err(StepFault::DType);
        }
        want_numel(&x, product(&[outer, axis_len, inner])?)?;
        want_numel(&i, i.numel())?;
        want_numel(&y, product(&[outer, i.numel(), inner])?)?;
        Ok(Gather { outer, axis_len, inner, size: elem_size(x.dtype), wide })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), &'static str> {
        let (Ok(x), Ok(i), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return Ok(()) };
        let idx = |j: usize| -> Result<usize, &'static str> {
            let v = if self.wide { inp::<i64>(mem, &i)[j] } else { inp::<i32>(mem, &i)[j] as i64 };
            let len = self.axis_len as i64;
            let v = if v < 0 { v + len } else { v };
            if (0..len).contains(&v) { Ok(v as usize) } else { Err("Gather index out of range") }
        };
        let n = i.numel();
        fn go<T: Elem>(
            g: &Gather,
            n: usize,
            idx: &dyn Fn(usize) -> Result<usize, &'static str>,
            src: &[T],
            dst: &mut [T],
        ) -> Result<(), &'static str> {
            let inner = g.inner;
            for o in 0..g.outer {
                for j in 0..n {
                    let k = idx(j)?;
                    let s = (o * g.axis_len + k) * inner;
                    let d = (o * n + j) * inner;
                    dst[d..d + inner].copy_from_slice(&src[s..s + inner]);
                }
            }
            Ok(())
        }
        match self.size {
            1 => go::<u8>(self, n, &idx, inp(mem, &x), out(mem, &y)),
            2 => go::<u16>(self, n, &idx, inp(mem, &x), out(mem, &y)),
            4 => go::<u32>(self, n, &idx, inp(mem, &x), out(mem, &y)),
            _ => go::<u64>(self, n, &idx, inp(mem, &x), out(mem, &y)),
        }
    }
}
