//! `BatchNorm` in inference form, as the compiler folds it: `y = x * scale[c] + shift[c]` over
//! `x` viewed as `[outer, channels, inner]`, then a fused activation. In place when y is x.
//!
//! Attributes: `[outer, channels, inner, act(3)]`; inputs `x, scale[channels], shift[channels]`.

use mote_core::DType;
use mote_format::StepRef;

use super::act::Act;
use super::{Io, inp, out, product, same, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Affine {
    channels: usize,
    inner: usize,
    act: Act,
}

impl Affine {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Affine, StepFault> {
        io.arity(3, 3, 1)?;
        let mut w = Words::new(step);
        let (outer, channels, inner) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let act = Act::decode(&mut w)?;
        w.end()?;
        let n = product(&[outer, channels, inner])?;
        for (_, t) in io.inputs() {
            want(&t, DType::F32)?;
        }
        want(&io.output(0)?, DType::F32)?;
        want_numel(&io.input(0)?, n)?;
        want_numel(&io.output(0)?, n)?;
        want_numel(&io.input(1)?, channels)?;
        want_numel(&io.input(2)?, channels)?;
        Ok(Affine { channels, inner, act })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(s), Ok(b), Ok(y)) = (io.input(0), io.input(1), io.input(2), io.output(0)) else { return };
        let (sv, bv) = (inp::<f32>(mem, &s), inp::<f32>(mem, &b));
        let ys = out::<f32>(mem, &y);
        let xs: &[f32] = if same(&x, &y) { &[] } else { inp(mem, &x) };
        let inner = self.inner.max(1);
        for (r, row) in ys.chunks_exact_mut(inner).enumerate() {
            let c = r % self.channels;
            let (k, m) = (sv[c], bv[c]);
            if xs.is_empty() {
                row.iter_mut().for_each(|v| *v = self.act.apply(*v * k + m));
            } else {
                row.iter_mut().zip(&xs[r * inner..]).for_each(|(v, &p)| *v = self.act.apply(p * k + m));
            }
        }
    }
}
