//! `Where(cond, x, y)`: broadcasting select of any element type.
//!
//! Attributes: `[rank, dims[rank], cond_strides, x_strides, y_strides, out_strides]`.

use mote_core::DType;
use mote_format::StepRef;

use super::strided::View;
use super::{Io, inp, out, want};
use crate::error::StepFault;
use crate::mem::{Elem, Mem, elem_size};
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Where {
    view: View<4>,
    size: usize,
}

impl Where {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Where, StepFault> {
        io.arity(3, 3, 1)?;
        let mut w = Words::new(step);
        let mut view = View::<4>::decode(&mut w)?;
        w.end()?;
        let (c, x, y, o) = (io.input(0)?, io.input(1)?, io.input(2)?, io.output(0)?);
        want(&c, DType::Bool)?;
        if x.dtype != o.dtype || y.dtype != o.dtype {
            return Err(StepFault::DType);
        }
        for (k, t) in [c, x, y, o].into_iter().enumerate() {
            view.check(k, t.numel())?;
        }
        if view.numel()? != o.numel() {
            return Err(StepFault::Shape);
        }
        view.collapse();
        Ok(Where { view, size: elem_size(o.dtype) })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(c), Ok(x), Ok(y), Ok(o)) = (io.input(0), io.input(1), io.input(2), io.output(0)) else { return };
        fn go<T: Elem>(v: &View<4>, c: &[u8], x: &[T], y: &[T], o: &mut [T]) {
            v.for_runs(|[co, xo, yo, oo], n, [sc, sx, sy, so]| {
                for i in 0..n as isize {
                    let at = |base: usize, s: isize| (base as isize + i * s) as usize;
                    o[at(oo, so)] = if c[at(co, sc)] != 0 { x[at(xo, sx)] } else { y[at(yo, sy)] };
                }
            });
        }
        let cv = inp::<u8>(mem, &c);
        match self.size {
            1 => go::<u8>(&self.view, cv, inp(mem, &x), inp(mem, &y), out(mem, &o)),
            2 => go::<u16>(&self.view, cv, inp(mem, &x), inp(mem, &y), out(mem, &o)),
            4 => go::<u32>(&self.view, cv, inp(mem, &x), inp(mem, &y), out(mem, &o)),
            _ => go::<u64>(&self.view, cv, inp(mem, &x), inp(mem, &y), out(mem, &o)),
        }
    }
}
