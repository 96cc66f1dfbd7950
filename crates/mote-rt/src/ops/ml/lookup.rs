//! `Lookup`: the position of each element of `x` in a key table (LabelEncoder, OneHotEncoder).
//!
//! Attributes: `[strict]`. Inputs `x` (f32, f64, i32, i64) and `keys [k]`: int64 keys compare
//! with integer `x`, or with float `x` truncated toward zero (OneHotEncoder's rule); f64 keys
//! compare with float `x` by value (`-0 == 0`, NaN matches NaN). Output `y` int64 of `x`'s
//! element count: the first matching position, or `k` for a miss (a data error when `strict`).

use mote_core::DType;
use mote_format::StepRef;

use super::Features;
use crate::error::StepFault;
use crate::mem::Mem;
use crate::ops::{Io, inp, out, want, want_numel};
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Lookup {
    strict: bool,
    x: Features,
    float_keys: bool,
}

impl Lookup {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Lookup, StepFault> {
        io.arity(2, 2, 1)?;
        let mut w = Words::new(step);
        let strict = w.bool()?;
        w.end()?;
        let (xt, keys, y) = (io.input(0)?, io.input(1)?, io.output(0)?);
        let x = Features::of(&xt, xt.numel())?;
        let float_keys = keys.dtype == DType::F64;
        if !float_keys {
            want(&keys, DType::I64)?;
        } else if !matches!(x, Features::F32 | Features::F64) {
            return Err(StepFault::DType);
        }
        want_numel(&keys, keys.numel())?;
        want(&y, DType::I64)?;
        want_numel(&y, xt.numel())?;
        Ok(Lookup { strict, x, float_keys })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), &'static str> {
        let (Ok(x), Ok(kt), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return Ok(()) };
        let y = out::<i64>(mem, &y);
        for (i, o) in y.iter_mut().enumerate() {
            let hit = if self.float_keys {
                let keys = inp::<f64>(mem, &kt);
                let v = self.x.at(mem, &x, i);
                keys.iter().position(|&k| k == v || (k.is_nan() && v.is_nan()))
            } else {
                let keys = inp::<i64>(mem, &kt);
                let v = match self.x {
                    Features::I32 => inp::<i32>(mem, &x)[i] as i64,
                    Features::I64 => inp::<i64>(mem, &x)[i],
                    // Truncated toward zero (saturating; NaN is 0), as `as` does.
                    _ => self.x.at(mem, &x, i) as i64,
                };
                keys.iter().position(|&k| k == v)
            };
            *o = match hit {
                Some(p) => p as i64,
                None if self.strict => return Err("value is not a known category"),
                None => match self.float_keys {
                    true => inp::<f64>(mem, &kt).len() as i64,
                    false => inp::<i64>(mem, &kt).len() as i64,
                },
            };
        }
        Ok(())
    }
}
