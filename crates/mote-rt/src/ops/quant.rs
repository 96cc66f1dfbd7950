//! `Quantize` (f32 to int8/uint8: round half to even, add the zero point, saturate) and
//! `Dequantize` (int8/uint8/int32 to f32), per tensor or per axis.
//!
//! Attributes: `[outer, axis_len, inner, per_axis]`; inputs `x, scale (f32), zero_point?` (the
//! zero point has the integer type; one value, or `axis_len` when per axis).

use mote_core::DType;
use mote_format::{StepRef, TensorRef};
use mote_kernels::reference::quant::saturate;

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// The layout shared by both directions.
#[derive(Clone, Copy, Debug)]
struct Layout {
    outer: usize,
    axis_len: usize,
    inner: usize,
    per_axis: bool,
}

impl Layout {
    fn decode(step: &StepRef<'_>, io: &Io<'_>, int: &TensorRef<'_>) -> Result<Layout, StepFault> {
        io.arity(2, 3, 1)?;
        let mut w = Words::new(step);
        let l = Layout {
            outer: w.upto(u32::MAX)?,
            axis_len: w.upto(u32::MAX)?,
            inner: w.upto(u32::MAX)?,
            per_axis: w.bool()?,
        };
        w.end()?;
        let n = product(&[l.outer, l.axis_len, l.inner])?;
        want_numel(io.input(0)?, n)?;
        want_numel(io.output(0)?, n)?;
        let scales = if l.per_axis { l.axis_len } else { 1 };
        want(io.input(1)?, DType::F32)?;
        want_numel(io.input(1)?, scales)?;
        if let Some(z) = io.opt(2) {
            want(z, int.dtype)?;
            want_numel(z, scales)?;
        }
        Ok(l)
    }

    /// Calls `f(scale index, element range)` for each run sharing a scale.
    fn for_runs(&self, mut f: impl FnMut(usize, core::ops::Range<usize>)) {
        if !self.per_axis {
            return f(0, 0..self.outer * self.axis_len * self.inner);
        }
        for o in 0..self.outer {
            for a in 0..self.axis_len {
                let s = (o * self.axis_len + a) * self.inner;
                f(a, s..s + self.inner);
            }
        }
    }
}

fn zero_point(mem: &Mem<'_>, io: &Io<'_>, dtype: DType, k: usize) -> i32 {
    match (io.opt(2), dtype) {
        (None, _) => 0,
        (Some(z), DType::I8) => inp::<i8>(mem, z)[k] as i32,
        (Some(z), DType::U8) => inp::<u8>(mem, z)[k] as i32,
        (Some(z), _) => inp::<i32>(mem, z)[k],
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Quantize {
    l: Layout,
    to: DType,
}

impl Quantize {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Quantize, StepFault> {
        let y = io.output(0)?;
        want(io.input(0)?, DType::F32)?;
        if !matches!(y.dtype, DType::I8 | DType::U8) {
            return Err(StepFault::DType);
        }
        Ok(Quantize { l: Layout::decode(step, io, y)?, to: y.dtype })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(s), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let (xs, ss) = (inp::<f32>(mem, x), inp::<f32>(mem, s));
        match self.to {
            DType::I8 => {
                let ys = out::<i8>(mem, y);
                self.l.for_runs(|k, r| {
                    let (sc, zp) = (ss[k], zero_point(mem, io, self.to, k));
                    r.for_each(|i| ys[i] = saturate(xs[i] / sc, zp));
                });
            }
            _ => {
                let ys = out::<u8>(mem, y);
                self.l.for_runs(|k, r| {
                    let (sc, zp) = (ss[k], zero_point(mem, io, self.to, k));
                    r.for_each(|i| ys[i] = saturate(xs[i] / sc, zp));
                });
            }
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Dequantize {
    l: Layout,
    from: DType,
}

impl Dequantize {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Dequantize, StepFault> {
        let x = io.input(0)?;
        want(io.output(0)?, DType::F32)?;
        if !matches!(x.dtype, DType::I8 | DType::U8 | DType::I32) {
            return Err(StepFault::DType);
        }
        Ok(Dequantize { l: Layout::decode(step, io, x)?, from: x.dtype })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(s), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let (ss, ys) = (inp::<f32>(mem, s), out::<f32>(mem, y));
        let get: &dyn Fn(usize) -> i64 = match self.from {
            DType::I8 => &|i| inp::<i8>(mem, x)[i] as i64,
            DType::U8 => &|i| inp::<u8>(mem, x)[i] as i64,
            _ => &|i| inp::<i32>(mem, x)[i] as i64,
        };
        self.l.for_runs(|k, r| {
            let (sc, zp) = (ss[k], zero_point(mem, io, self.from, k) as i64);
            r.for_each(|i| ys[i] = (get(i) - zp) as f32 * sc);
        });
    }
}
