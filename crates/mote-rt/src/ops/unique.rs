//! `Unique` (80): the distinct elements (or slices along an axis), with first indices, inverse
//! indices and counts; the number of distinct values depends on the data.
//!
//! Input `x` (any numeric type or bool) seen as `[outer, len, inner]` (the axis in the middle;
//! without an axis, `[1, numel, 1]`). Outputs `y` (x's type, `[outer, len, inner]` elements),
//! `indices [len]`, `inverse [len]`, `counts [len]` (i64) and `count [1]` (i64). The first
//! `outer * count * inner` values of `y` are the result in x's shape with `count` along the
//! axis; `indices` and `counts` hold `count` values (all three Bounded outputs); `inverse` is
//! complete. Attributes `[sorted, outer, len, inner]`. Scratch: `5 len` u32.
//!
//! Slices compare element by element in C order (numerically; `-0.0 == 0.0`, NaN last). Sorted:
//! ascending; otherwise in order of first occurrence.

use core::cmp::Ordering;

use mote_core::DType;
use mote_format::StepRef;

use super::elem_order::{order, supported};
use super::{Io, inp, out, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Unique {
    dtype: DType,
    sorted: bool,
    outer: usize,
    len: usize,
    inner: usize,
}

impl Unique {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Unique, StepFault> {
        io.arity(1, 1, 5)?;
        let mut w = Words::new(step);
        let sorted = w.bool()?;
        let (outer, len, inner) = (w.u32()? as usize, w.u32()? as usize, w.u32()? as usize);
        w.end()?;
        let x = io.input(0)?;
        if !supported(x.dtype) || len >= u32::MAX as usize {
            return Err(StepFault::DType);
        }
        let n = outer.checked_mul(len).and_then(|v| v.checked_mul(inner)).ok_or(StepFault::Shape)?;
        want_numel(&x, n)?;
        let y = io.output(0)?;
        want(&y, x.dtype)?;
        want_numel(&y, n)?;
        for o in 1..4 {
            want(&io.output(o)?, DType::I64)?;
            want_numel(&io.output(o)?, len)?;
        }
        want(&io.output(4)?, DType::I64)?;
        want_numel(&io.output(4)?, 1)?;
        Ok(Unique { dtype: x.dtype, sorted, outer, len, inner })
    }

    pub fn scratch_bytes(&self) -> usize {
        5 * 4 * self.len
    }

    /// Orders slices `a` and `b` of `x`'s bytes.
    fn cmp(&self, xb: &[u8], a: usize, b: usize) -> Ordering {
        for o in 0..self.outer {
            for k in 0..self.inner {
                let at = |s: usize| (o * self.len + s) * self.inner + k;
                match order(self.dtype, xb, at(a), at(b)) {
                    Ordering::Equal => {}
                    c => return c,
                }
            }
        }
        Ordering::Equal
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, scratch: &mut [f32]) {
        let outs = (io.output(0), io.output(1), io.output(2), io.output(3), io.output(4));
        let (Ok(x), (Ok(y), Ok(first), Ok(inverse), Ok(counts), Ok(count))) = (io.input(0), outs) else { return };
        let (xb, len) = (inp::<u8>(mem, &x), self.len);
        // SAFETY: u32 and f32 have the same size and alignment, and every bit pattern is a u32.
        let (_, s, _) = unsafe { scratch.align_to_mut::<u32>() };
        let (perm, s) = s.split_at_mut(len);
        let (firsts, s) = s.split_at_mut(len);
        let (sizes, s) = s.split_at_mut(len);
        let (ord, s) = s.split_at_mut(len);
        let pos = &mut s[..len];
        // Equal slices next to each other, each group by index: its first is its first occurrence.
        for (i, p) in perm.iter_mut().enumerate() {
            *p = i as u32;
        }
        perm.sort_unstable_by(|&a, &b| self.cmp(xb, a as usize, b as usize).then(a.cmp(&b)));
        let mut groups = 0;
        for j in 0..len {
            if j == 0 || self.cmp(xb, perm[j - 1] as usize, perm[j] as usize) != Ordering::Equal {
                firsts[groups] = perm[j];
                sizes[groups] = 0;
                groups += 1;
            }
            sizes[groups - 1] += 1;
        }
        // Output position of each group: its rank (sorted) or its first occurrence's rank.
        for (g, o) in ord[..groups].iter_mut().enumerate() {
            *o = g as u32;
        }
        if !self.sorted {
            ord[..groups].sort_unstable_by_key(|&g| firsts[g as usize]);
        }
        for (p, &g) in ord[..groups].iter().enumerate() {
            pos[g as usize] = p as u32;
        }
        let inv = out::<i64>(mem, &inverse);
        let (mut g, mut left) = (0, sizes.first().copied().unwrap_or(0));
        for &i in perm.iter() {
            if left == 0 {
                g += 1;
                left = sizes[g];
            }
            inv[i as usize] = pos[g] as i64;
            left -= 1;
        }
        let size = x.nbytes as usize / (self.outer * len * self.inner).max(1);
        let yb = out::<u8>(mem, &y);
        let (fo, co) = (out::<i64>(mem, &first), out::<i64>(mem, &counts));
        for (p, &g) in ord[..groups].iter().enumerate() {
            let f = firsts[g as usize] as usize;
            fo[p] = f as i64;
            co[p] = sizes[g as usize] as i64;
            for o in 0..self.outer {
                let src = (o * len + f) * self.inner * size;
                let dst = (o * groups + p) * self.inner * size;
                yb[dst..dst + self.inner * size].copy_from_slice(&xb[src..src + self.inner * size]);
            }
        }
        out::<i64>(mem, &count)[0] = groups as i64;
    }
}

/// Attribute words of [`Unique`].
#[cfg(feature = "alloc")]
pub fn encode_unique(sorted: bool, outer: usize, len: usize, inner: usize) -> alloc::vec::Vec<u32> {
    alloc::vec![sorted as u32, outer as u32, len as u32, inner as u32]
}
