//! `Q8Pool` (86): int8 pooling over H and W of a channels-last tensor with TFLite's integer
//! semantics (`mote_kernels::reference::int8`): average (input and output share scale and zero
//! point; the sum over the taps inside the image divided by their count, rounded half away from
//! zero), max, or TFLite Micro's Mean over all of H and W (requantized by `(m0, shift)` from the
//! input to the output scale).
//!
//! Words `[kind (0 average, 1 max, 2 mean), kh, kw, sh, sw, pad_top, pad_left, lo, hi, x_zp,
//! m0, shift, y_zp]` (average and max read the window and the clamp; mean reads `x_zp, m0,
//! shift, y_zp` and needs `y [N, 1, 1, C]`). Input `x [N, H, W, C] (i8)`; output
//! `y [N, OH, OW, C] (i8)`.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::fast::Cpu;
use mote_kernels::fast::int8::{avg_pool, max_pool, mean_hw};
use mote_kernels::reference::int8::Pool2d;

use super::q8conv::{clamp_words, nhwc, q8};
use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

const MAX_GEOM: u32 = 1 << 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Average,
    Max,
    Mean { x_zp: i32, mult: (i32, i32), y_zp: i32 },
}

/// A decoded Q8Pool step.
#[derive(Clone, Copy, Debug)]
pub struct Q8Pool {
    kind: Kind,
    g: Pool2d,
    lo: i32,
    hi: i32,
}

impl Q8Pool {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Q8Pool, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let kind = w.upto(2)?;
        let (kh, kw) = (w.upto(MAX_GEOM)?, w.upto(MAX_GEOM)?);
        let (sh, sw) = (w.upto(MAX_GEOM)?, w.upto(MAX_GEOM)?);
        let (pad_top, pad_left) = (w.upto(MAX_GEOM)?, w.upto(MAX_GEOM)?);
        let (lo, hi) = clamp_words(&mut w)?;
        let x_zp = q8(&mut w)?;
        let mult = (w.i32()?, w.i32()?);
        let y_zp = q8(&mut w)?;
        w.end()?;
        let (x, y) = (io.input(0)?, io.output(0)?);
        want(&x, DType::I8)?;
        want(&y, DType::I8)?;
        let [n, h, wd, c] = nhwc(&x)?;
        let [yn, oh, ow, yc] = nhwc(&y)?;
        if yn != n || yc != c || kh == 0 || kw == 0 || sh == 0 || sw == 0 {
            return Err(StepFault::Shape);
        }
        want_numel(&x, product(&[n, h, wd, c])?)?;
        want_numel(&y, product(&[n, oh, ow, c])?)?;
        let kind = match kind {
            0 => Kind::Average,
            1 => Kind::Max,
            _ if oh == 1 && ow == 1 && h * wd > 0 => Kind::Mean { x_zp, mult, y_zp },
            _ => return Err(StepFault::Shape),
        };
        let reach = |o: usize, s: usize, k: usize| (o as u64) * (s as u64) + k as u64;
        if reach(oh, sh, kh) > i32::MAX as u64 / 2 || reach(ow, sw, kw) > i32::MAX as u64 / 2 {
            return Err(StepFault::Shape);
        }
        let g = Pool2d { n, h, w: wd, c, m: c, groups: c, kh, kw, sh, sw, dh: 1, dw: 1, pad_top, pad_left, oh, ow };
        Ok(Q8Pool { kind, g, lo, hi })
    }

    /// Window taps (for the profiler and work bounds).
    pub fn taps(&self) -> u64 {
        let g = &self.g;
        let (kh, kw) = match self.kind {
            Kind::Mean { .. } => (g.h, g.w),
            _ => (g.kh, g.kw),
        };
        [g.n, g.oh, g.ow, g.c, kh, kw].iter().fold(1u64, |a, &d| a.saturating_mul(d as u64))
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, cpu: Cpu) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        let (x, y) = (inp::<i8>(mem, &x), out::<i8>(mem, &y));
        let g = &self.g;
        match self.kind {
            Kind::Average => avg_pool(cpu, g, x, self.lo, self.hi, y),
            Kind::Max => max_pool(cpu, g, x, self.lo, self.hi, y),
            Kind::Mean { x_zp, mult, y_zp } => mean_hw(cpu, g.n, g.h * g.w, g.c, x, x_zp, mult, y_zp, y),
        }
    }
}

/// What a Q8Pool step computes (host side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Q8PoolKind {
    /// Average of the taps inside the image (same scale and zero point in and out).
    Average,
    Max,
    /// Mean over all of H and W: input zero point, multiplier `(m0, shift)`, output zero point.
    Mean(i32, (i32, i32), i32),
}

/// The Q8Pool words (`g`'s window; the mean ignores it).
#[cfg(feature = "alloc")]
pub fn encode_q8pool(kind: Q8PoolKind, g: &Pool2d, lo: i32, hi: i32) -> alloc::vec::Vec<u32> {
    let mut w = crate::words::WordsOut::default();
    let (k, x_zp, mult, y_zp) = match kind {
        Q8PoolKind::Average => (0, 0, (0, 0), 0),
        Q8PoolKind::Max => (1, 0, (0, 0), 0),
        Q8PoolKind::Mean(x, m, y) => (2, x, m, y),
    };
    w.u32(k).usize(g.kh).usize(g.kw).usize(g.sh).usize(g.sw).usize(g.pad_top).usize(g.pad_left);
    w.i32(lo).i32(hi).i32(x_zp).i32(mult.0).i32(mult.1).i32(y_zp);
    w.0
}
