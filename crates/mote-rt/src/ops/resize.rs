//! `Resize`, one axis per step: the compiler turns every resized axis into a table of source
//! indices and weights (nearest: one tap of weight 1; linear, cubic, antialiased: several), so
//! one kernel serves every mode and coordinate transform.
//!
//! `y[o, j, i] = sum_t w[j, t] * x[o, idx[j, t], i]`, or `fill` when `idx[j, 0] == -1`
//! (outside the crop of `tf_crop_and_resize`). Inputs `x (f32), idx (i32 [out_len * width]),
//! w (f32 [out_len * width])`. Attributes: `[outer, in_len, out_len, inner, width, fill]`.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::fast::{self, Parallel};

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Resize {
    outer: usize,
    in_len: usize,
    out_len: usize,
    inner: usize,
    width: usize,
    fill: f32,
}

impl Resize {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Resize, StepFault> {
        io.arity(3, 3, 1)?;
        let mut w = Words::new(step);
        let r = Resize {
            outer: w.upto(u32::MAX)?,
            in_len: w.upto(i32::MAX as u32)?,
            out_len: w.upto(u32::MAX)?,
            inner: w.upto(u32::MAX)?,
            width: w.upto(u32::MAX)?,
            fill: w.f32()?,
        };
        w.end()?;
        let (x, idx, wt, y) = (io.input(0)?, io.input(1)?, io.input(2)?, io.output(0)?);
        want(&x, DType::F32)?;
        want(&y, DType::F32)?;
        want(&idx, DType::I32)?;
        want(&wt, DType::F32)?;
        if r.width == 0 {
            return Err(StepFault::Attrs);
        }
        want_numel(&x, product(&[r.outer, r.in_len, r.inner])?)?;
        want_numel(&y, product(&[r.outer, r.out_len, r.inner])?)?;
        let taps = product(&[r.out_len, r.width])?;
        want_numel(&idx, taps)?;
        want_numel(&wt, taps)?;
        Ok(r)
    }

    /// Checks the index table (little-endian i32 bytes; constant data is read once at load).
    pub fn check_indices(&self, idx: &[u8]) -> Result<(), StepFault> {
        let at = |k: usize| i32::from_le_bytes([idx[4 * k], idx[4 * k + 1], idx[4 * k + 2], idx[4 * k + 3]]);
        let n = idx.len() / 4;
        let ok = (0..n)
            .step_by(self.width)
            .all(|j| at(j) == -1 || (j..(j + self.width).min(n)).all(|k| at(k) >= 0 && (at(k) as usize) < self.in_len));
        if ok { Ok(()) } else { Err(StepFault::Shape) }
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>, par: &dyn Parallel) -> Result<(), &'static str> {
        let (Ok(x), Ok(it), Ok(wt), Ok(y)) = (io.input(0), io.input(1), io.input(2), io.output(0)) else {
            return Ok(());
        };
        let (xs, idx, ws, ys) = (inp::<f32>(mem, &x), inp::<i32>(mem, &it), inp::<f32>(mem, &wt), out::<f32>(mem, &y));
        if it.storage != mote_format::Storage::Weights {
            // A computed table was not checked at load.
            let bad = |&i: &i32| i < -1 || i >= self.in_len as i32;
            if idx.iter().any(bad) || idx.chunks_exact(self.width.max(1)).any(|r| r[0] != -1 && r.contains(&-1)) {
                return Err("Resize index out of range");
            }
        }
        if self.in_len == 0 {
            // Validation left only fill rows.
            ys.fill(self.fill);
            return Ok(());
        }
        // Blocks of the outer axes are independent: split them over the threads.
        let work = ys.len().saturating_mul(self.width).saturating_mul(fast::par::ELEMENT_WORK);
        fast::par::for_each_part(par, ys, self.outer, 1, work, &mut [], &|r, part, _| {
            self.blocks(xs, idx, ws, r, part);
        });
        Ok(())
    }

    /// `Some(f)` when the table repeats every source index `f` times in order with weight 1
    /// (nearest upsampling by an integer factor).
    fn repeat(&self, idx: &[i32], ws: &[f32]) -> Option<usize> {
        let f = self.out_len / self.in_len.max(1);
        let exact = self.width == 1 && f > 1 && self.in_len > 0 && f * self.in_len == self.out_len;
        (exact && idx.iter().enumerate().all(|(j, &i)| i as usize == j / f) && ws.iter().all(|&w| w == 1.0))
            .then_some(f)
    }

    /// Outer blocks `r` of the output (`part` holds exactly those) from `xs` with the table.
    fn blocks(&self, xs: &[f32], idx: &[i32], ws: &[f32], r: core::ops::Range<usize>, part: &mut [f32]) {
        let (inner, width) = (self.inner, self.width);
        if inner == 1
            && let Some(f) = self.repeat(idx, ws)
        {
            // Nearest upsampling by an integer factor: every source element repeated `f` times.
            let src = xs[r.start * self.in_len..].chunks_exact(self.in_len);
            for (s, d) in src.zip(part.chunks_exact_mut(self.out_len)).take(r.len()) {
                match f {
                    2 => repeat::<2>(s, d),
                    4 => repeat::<4>(s, d),
                    _ => d.chunks_exact_mut(f).zip(s).for_each(|(c, &v)| c.fill(v)),
                }
            }
            return;
        }
        if inner == 1 {
            // Resizing the innermost axis: one gather per output element.
            let src = xs[r.start * self.in_len..].chunks_exact(self.in_len.max(1));
            for (s, d) in src.zip(part.chunks_exact_mut(self.out_len.max(1))).take(r.len()) {
                for (j, o) in d.iter_mut().enumerate() {
                    let (ti, tw) = (&idx[j * width..(j + 1) * width], &ws[j * width..(j + 1) * width]);
                    *o = if ti[0] == -1 {
                        self.fill
                    } else if width == 1 {
                        s[ti[0] as usize] * tw[0]
                    } else {
                        ti.iter().zip(tw).map(|(&i, &w)| w * s[i as usize]).sum()
                    };
                }
            }
            return;
        }
        for o in r.clone() {
            let s = &xs[o * self.in_len * inner..][..self.in_len * inner];
            let d = &mut part[(o - r.start) * self.out_len * inner..][..self.out_len * inner];
            for j in 0..self.out_len {
                let row = &mut d[j * inner..(j + 1) * inner];
                let (ti, tw) = (&idx[j * width..(j + 1) * width], &ws[j * width..(j + 1) * width]);
                if ti[0] == -1 {
                    row.fill(self.fill);
                } else if width == 1 && tw[0] == 1.0 {
                    row.copy_from_slice(&s[ti[0] as usize * inner..][..inner]);
                } else {
                    row.fill(0.0);
                    for (&i, &wk) in ti.iter().zip(tw) {
                        for (r, &v) in row.iter_mut().zip(&s[i as usize * inner..][..inner]) {
                            *r += wk * v;
                        }
                    }
                }
            }
        }
    }
}

/// `d[F k + t] = s[k]` for `t < F`.
#[inline(always)]
fn repeat<const F: usize>(s: &[f32], d: &mut [f32]) {
    for (c, &v) in d.as_chunks_mut::<F>().0.iter_mut().zip(s) {
        *c = [v; F];
    }
}
