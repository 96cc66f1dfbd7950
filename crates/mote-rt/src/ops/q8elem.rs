//! The element-wise int8 steps with TFLite's integer semantics
//! (`mote_kernels::reference::int8`):
//!
//! - `Q8Binary` (83): Add or Mul. Words `[kind (0 add, 1 mul), a_zp, b_zp, y_zp, left_shift
//!   (<= 30), a_m0, a_shift, b_m0, b_shift, y_m0, y_shift, lo, hi]` (Mul reads only the zero
//!   points, `y_m0`/`y_shift` and the clamp). Inputs `a, b (i8, y's element count or one
//!   value)`; output `y (i8)`.
//! - `Q8Softmax` (84): softmax of each row of the last axis, output scale 1/256 and zero point
//!   -128. Words `[input_multiplier, input_left_shift (<= 31), diff_min]`. Input `x (i8)`,
//!   output `y (i8, x's dims)`.
//! - `Q8Lut` (85): `y = table[x + 128]`. No words. Inputs `x (i8), table (i8 [256])`; output
//!   `y (i8, x's element count)`.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::fast::Cpu;
use mote_kernels::fast::int8::{add, lut, mul, softmax};
use mote_kernels::reference::int8::{AddParams, MulParams, SoftmaxParams};

use super::q8conv::{clamp_words, q8};
use super::{Io, inp, out, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// A decoded Q8Binary step.
#[derive(Clone, Copy, Debug)]
pub enum Q8Binary {
    Add(AddParams),
    Mul(MulParams),
}

impl Q8Binary {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Q8Binary, StepFault> {
        io.arity(2, 2, 1)?;
        let mut w = Words::new(step);
        let kind = w.upto(1)?;
        let (a_zp, b_zp, y_zp) = (q8(&mut w)?, q8(&mut w)?, q8(&mut w)?);
        let left_shift = w.upto(30)? as u32;
        let mut pair = || -> Result<(i32, i32), StepFault> { Ok((w.i32()?, w.i32()?)) };
        let (a_mult, b_mult, y_mult) = (pair()?, pair()?, pair()?);
        let (lo, hi) = clamp_words(&mut w)?;
        w.end()?;
        let (a, b, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        for t in [a, b, y] {
            want(&t, DType::I8)?;
        }
        for t in [a, b] {
            let n = if t.numel() == 1 { 1 } else { y.numel() };
            want_numel(&t, n)?;
        }
        want_numel(&y, y.numel())?;
        Ok(if kind == 0 {
            Q8Binary::Add(AddParams { a_zp, b_zp, y_zp, left_shift, a_mult, b_mult, y_mult, lo, hi })
        } else {
            Q8Binary::Mul(MulParams { a_zp, b_zp, y_zp, mult: y_mult, lo, hi })
        })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, cpu: Cpu) {
        let (Ok(a), Ok(b), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let (a, b, y) = (inp::<i8>(mem, &a), inp::<i8>(mem, &b), out::<i8>(mem, &y));
        match self {
            Q8Binary::Add(p) => add(cpu, p, a, b, y),
            Q8Binary::Mul(p) => mul(cpu, p, a, b, y),
        }
    }
}

/// The Q8Binary words for an Add.
#[cfg(feature = "alloc")]
pub fn encode_q8add(p: &AddParams) -> alloc::vec::Vec<u32> {
    let mut w = crate::words::WordsOut::default();
    w.u32(0).i32(p.a_zp).i32(p.b_zp).i32(p.y_zp).u32(p.left_shift);
    for (m, s) in [p.a_mult, p.b_mult, p.y_mult] {
        w.i32(m).i32(s);
    }
    w.i32(p.lo).i32(p.hi);
    w.0
}

/// The Q8Binary words for a Mul.
#[cfg(feature = "alloc")]
pub fn encode_q8mul(p: &MulParams) -> alloc::vec::Vec<u32> {
    let mut w = crate::words::WordsOut::default();
    w.u32(1).i32(p.a_zp).i32(p.b_zp).i32(p.y_zp).u32(0).i32(0).i32(0).i32(0).i32(0);
    w.i32(p.mult.0).i32(p.mult.1).i32(p.lo).i32(p.hi);
    w.0
}

/// A decoded Q8Softmax step.
#[derive(Clone, Copy, Debug)]
pub struct Q8Softmax {
    p: SoftmaxParams,
    depth: usize,
}

impl Q8Softmax {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Q8Softmax, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let input_multiplier = w.i32()?;
        let input_left_shift = w.upto(31)? as i32;
        let diff_min = w.i32()?;
        w.end()?;
        let (x, y) = (io.input(0)?, io.output(0)?);
        want(&x, DType::I8)?;
        want(&y, DType::I8)?;
        want_numel(&x, x.numel())?;
        if x.dims() != y.dims() || x.rank == 0 {
            return Err(StepFault::Shape);
        }
        want_numel(&y, x.numel())?;
        let depth = x.dims()[x.rank - 1] as usize;
        Ok(Q8Softmax { p: SoftmaxParams { input_multiplier, input_left_shift, diff_min }, depth })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, cpu: Cpu) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        softmax(cpu, &self.p, self.depth, inp::<i8>(mem, &x), out::<i8>(mem, &y));
    }
}

/// The Q8Softmax words.
#[cfg(feature = "alloc")]
pub fn encode_q8softmax(p: &SoftmaxParams) -> alloc::vec::Vec<u32> {
    let mut w = crate::words::WordsOut::default();
    w.i32(p.input_multiplier).u32(p.input_left_shift as u32).i32(p.diff_min);
    w.0
}

/// A decoded Q8Lut step.
#[derive(Clone, Copy, Debug)]
pub struct Q8Lut;

impl Q8Lut {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Q8Lut, StepFault> {
        io.arity(2, 2, 1)?;
        Words::new(step).end()?;
        let (x, t, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        for v in [x, t, y] {
            want(&v, DType::I8)?;
        }
        want_numel(&t, 256)?;
        want_numel(&x, x.numel())?;
        want_numel(&y, x.numel())?;
        Ok(Q8Lut)
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, cpu: Cpu) {
        let (Ok(x), Ok(t), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let Ok(table) = <&[i8; 256]>::try_from(inp::<i8>(mem, &t)) else { return };
        lut(cpu, table, inp::<i8>(mem, &x), out::<i8>(mem, &y));
    }
}
