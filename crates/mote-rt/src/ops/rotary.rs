//! `RotaryEmbedding`: rotates the first `rot` values of every head vector by per-position angles.
//!
//! Inputs `x` (f32, `[b, h, s, d]` or `[b, s, h, d]`), `cos`, `sin` (f32: `[max_pos, rot / 2]`
//! with `pos`, else `[b, s, rot / 2]`), `pos? [b, s]` (i64 or i32 position ids: data, checked at
//! run time); output `y` shaped as `x`.
//!
//! Attributes: `[b, s, h, d, heads_first (x is [b, h, s, d]), rot (even, <= d), interleaved]`.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::attention::rotary;

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Rotary {
    b: usize,
    s: usize,
    h: usize,
    d: usize,
    heads_first: bool,
    rot: usize,
    interleaved: bool,
    /// Rows of the cos/sin tables.
    rows: usize,
    pos_wide: Option<bool>,
}

impl Rotary {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Rotary, StepFault> {
        io.arity(3, 4, 1)?;
        let mut w = Words::new(step);
        let (b, s, h, d) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let heads_first = w.bool()?;
        let rot = w.upto(u32::MAX)?;
        let interleaved = w.bool()?;
        w.end()?;
        if rot == 0 || rot % 2 != 0 || rot > d {
            return Err(StepFault::Attrs);
        }
        let (x, c, sn, y) = (io.input(0)?, io.input(1)?, io.input(2)?, io.output(0)?);
        for t in [x, c, sn, y] {
            want(&t, DType::F32)?;
        }
        let n = product(&[b, s, h, d])?;
        want_numel(&x, n)?;
        want_numel(&y, n)?;
        let half = rot / 2;
        let pos_wide = match io.opt(3) {
            None => None,
            Some(p) => {
                want_numel(&p, product(&[b, s])?)?;
                match p.dtype {
                    DType::I64 => Some(true),
                    DType::I32 => Some(false),
                    _ => return Err(StepFault::DType),
                }
            }
        };
        let rows = match pos_wide {
            Some(_) => c.numel() / half,
            None => product(&[b, s])?,
        };
        want_numel(&c, product(&[rows, half])?)?;
        want_numel(&sn, product(&[rows, half])?)?;
        Ok(Rotary { b, s, h, d, heads_first, rot, interleaved, rows, pos_wide })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), &'static str> {
        let (Ok(x), Ok(c), Ok(sn), Ok(y)) = (io.input(0), io.input(1), io.input(2), io.output(0)) else {
            return Ok(());
        };
        let Rotary { b, s, h, d, rot, .. } = *self;
        let half = rot / 2;
        let (xs, cs, ss, ys) = (inp::<f32>(mem, &x), inp::<f32>(mem, &c), inp::<f32>(mem, &sn), out::<f32>(mem, &y));
        // Element strides of batch, sequence and head.
        let strides = if self.heads_first { [h * s * d, d, s * d] } else { [s * h * d, h * d, d] };
        for bi in 0..b {
            for si in 0..s {
                let row = match (io.opt(3), self.pos_wide) {
                    (Some(p), Some(wide)) => {
                        let r = if wide {
                            inp::<i64>(mem, &p)[bi * s + si]
                        } else {
                            inp::<i32>(mem, &p)[bi * s + si] as i64
                        };
                        match usize::try_from(r) {
                            Ok(r) if r < self.rows => r,
                            _ => return Err("RotaryEmbedding position id outside the cos/sin cache"),
                        }
                    }
                    _ => bi * s + si,
                };
                let (cr, sr) = (&cs[row * half..][..half], &ss[row * half..][..half]);
                for hi in 0..h {
                    let off = bi * strides[0] + si * strides[1] + hi * strides[2];
                    let yv = &mut ys[off..off + d];
                    yv.copy_from_slice(&xs[off..off + d]);
                    rotary(yv, cr, sr, rot, self.interleaved);
                }
            }
        }
        Ok(())
    }
}
