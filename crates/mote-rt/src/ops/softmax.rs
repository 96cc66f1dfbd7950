//! `Softmax`, `LogSoftmax`, `Hardmax` along the middle axis of `[outer, len, inner]`.
//!
//! Attributes: `[kind (0 softmax, 1 log-softmax, 2 hardmax), outer, len, inner]`.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::fast::{self, Cpu};
use mote_kernels::reference::nn::softmax::{SoftmaxKind, softmax};

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Softmax {
    kind: SoftmaxKind,
    outer: usize,
    len: usize,
    inner: usize,
}

impl Softmax {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Softmax, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let kind = [SoftmaxKind::Softmax, SoftmaxKind::LogSoftmax, SoftmaxKind::Hardmax][w.upto(2)?];
        let (outer, len, inner) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        w.end()?;
        let n = product(&[outer, len, inner])?;
        let (x, y) = (io.input(0)?, io.output(0)?);
        want(&x, DType::F32)?;
        want(&y, DType::F32)?;
        want_numel(&x, n)?;
        want_numel(&y, n)?;
        Ok(Softmax { kind, outer, len, inner })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, cpu: Cpu) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        if self.kind == SoftmaxKind::Softmax && self.inner == 1 {
            return fast::softmax(cpu, self.outer, self.len, inp::<f32>(mem, &x), out::<f32>(mem, &y));
        }
        softmax(self.kind, self.outer, self.len, self.inner, inp::<f32>(mem, &x), out::<f32>(mem, &y));
    }
}
