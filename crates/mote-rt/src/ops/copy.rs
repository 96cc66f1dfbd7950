//! Data movement: `Copy` (any strided view to any strided view: transposes, slices, broadcasts,
//! concatenation and split pieces), `Fill` (every element set to one bit pattern) and `Pad`
//! (edge and reflect modes; constant padding is a Fill then a Copy).
//!
//! Copy attributes: `[src_offset, dst_offset, rank, dims[rank], src_strides[rank],
//! dst_strides[rank]]` in elements; Fill: `[lo, hi]` (the value's bits, little-endian, truncated
//! to the element size); Pad: `[mode (1 edge, 2 reflect), rank, begin[rank] (i32)]`.

use mote_format::StepRef;
use mote_kernels::reference::shape::{PadMode, pad};

use super::strided::View;
use super::{Io, MAX_VIEW_RANK, inp, out, want_numel};
use crate::error::StepFault;
use crate::mem::{Elem, Mem, elem_size};
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Copy {
    view: View<2>,
    size: usize,
}

impl Copy {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Copy, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let (src, dst) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let mut view = View::<2>::decode(&mut w)?;
        w.end()?;
        view.offsets = [src, dst];
        view.collapse();
        view.unit_run_last();
        let (x, y) = (io.input(0)?, io.output(0)?);
        if x.dtype != y.dtype || x.layout != mote_format::Layout::Plain || y.layout != mote_format::Layout::Plain {
            return Err(StepFault::DType);
        }
        view.check(0, x.numel())?;
        view.check(1, y.numel())?;
        // Work is bounded by the destination: a copy writes each element at most once.
        if view.numel()? > y.numel() {
            return Err(StepFault::Shape);
        }
        Ok(Copy { view, size: elem_size(x.dtype) })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        fn go<T: Elem>(v: &View<2>, src: &[T], dst: &mut [T]) {
            v.for_runs(|[s, d], n, [ss, ds]| {
                if ss == 1 && ds == 1 {
                    dst[d..d + n].copy_from_slice(&src[s..s + n]);
                } else if ss == 1 && ds > 0 {
                    // Iterators over the two runs: no bounds check per element.
                    for (y, &x) in dst[d..].iter_mut().step_by(ds as usize).zip(&src[s..s + n]) {
                        *y = x;
                    }
                } else if ds == 1 && ss > 0 {
                    for (y, &x) in dst[d..d + n].iter_mut().zip(src[s..].iter().step_by(ss as usize)) {
                        *y = x;
                    }
                } else {
                    for i in 0..n as isize {
                        dst[(d as isize + i * ds) as usize] = src[(s as isize + i * ss) as usize];
                    }
                }
            });
        }
        match self.size {
            1 => go::<u8>(&self.view, inp(mem, &x), out(mem, &y)),
            2 => go::<u16>(&self.view, inp(mem, &x), out(mem, &y)),
            4 => go::<u32>(&self.view, inp(mem, &x), out(mem, &y)),
            _ => go::<u64>(&self.view, inp(mem, &x), out(mem, &y)),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Fill {
    bits: u64,
    size: usize,
}

impl Fill {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Fill, StepFault> {
        io.arity(0, 0, 1)?;
        let mut w = Words::new(step);
        let bits = w.u32()? as u64 | (w.u32()? as u64) << 32;
        w.end()?;
        let y = io.output(0)?;
        want_numel(&y, y.numel())?;
        Ok(Fill { bits, size: elem_size(y.dtype) })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let Ok(y) = io.output(0) else { return };
        match self.size {
            1 => out::<u8>(mem, &y).fill(self.bits as u8),
            2 => out::<u16>(mem, &y).fill(self.bits as u16),
            4 => out::<u32>(mem, &y).fill(self.bits as u32),
            _ => out::<u64>(mem, &y).fill(self.bits),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Pad {
    mode: PadMode,
    rank: usize,
    begin: [isize; MAX_VIEW_RANK],
    size: usize,
}

impl Pad {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Pad, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let mode = match w.u32()? {
            1 => PadMode::Edge,
            2 => PadMode::Reflect,
            _ => return Err(StepFault::Attrs),
        };
        let (x, y) = (io.input(0)?, io.output(0)?);
        let rank = w.upto(mote_format::MAX_RANK as u32)?;
        let mut begin = [0isize; MAX_VIEW_RANK];
        for b in &mut begin[..rank] {
            *b = w.i32()? as isize;
        }
        w.end()?;
        if x.dtype != y.dtype || x.rank != rank || y.rank != rank {
            return Err(StepFault::Shape);
        }
        want_numel(&x, x.numel())?;
        want_numel(&y, y.numel())?;
        let (xd, yd) = (x.dims(), y.dims());
        for d in 0..rank {
            // Edge and reflect read the input modulo its extent: an empty axis is refused.
            if yd[d] > 0 && xd[d] == 0 {
                return Err(StepFault::Shape);
            }
            if begin[d].unsigned_abs() > u32::MAX as usize {
                return Err(StepFault::Attrs);
            }
        }
        Ok(Pad { mode, rank, begin, size: elem_size(x.dtype) })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        let (xs, ys) = (x.shape(), y.shape());
        let (xd, yd, b) = (&xs[..self.rank], &ys[..self.rank], &self.begin[..self.rank]);
        match self.size {
            1 => pad::<u8>(inp(mem, &x), xd, b, yd, self.mode, 0, out(mem, &y)),
            2 => pad::<u16>(inp(mem, &x), xd, b, yd, self.mode, 0, out(mem, &y)),
            4 => pad::<u32>(inp(mem, &x), xd, b, yd, self.mode, 0, out(mem, &y)),
            _ => pad::<u64>(inp(mem, &x), xd, b, yd, self.mode, 0, out(mem, &y)),
        }
    }
}
