//! `DynamicQuantize` (66): ONNX `DynamicQuantizeLinear`, asymmetric u8 quantization of an f32
//! tensor over the range `[min(x, 0), max(x, 0)]` (NaN ignored): `scale = (hi - lo) / 255` (1 /
//! 255 when the range is empty), `zero_point = round_half_even(clamp(-lo / scale, 0, 255))`,
//! `y = saturate(round_half_even(x / scale) + zero_point)`, exactly as the reference interpreter.
//!
//! No attributes. Inputs `x (f32)`; outputs `y (u8, x's element count), scale (f32, one value),
//! zero_point (u8, one value)`.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::quant::{round_half_even_f64, saturate};

use super::{Io, inp, out, want, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// A decoded DynamicQuantize step.
#[derive(Clone, Copy, Debug)]
pub struct DynamicQuantize;

impl DynamicQuantize {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<DynamicQuantize, StepFault> {
        io.arity(1, 1, 3)?;
        Words::new(step).end()?;
        let (x, y, s, z) = (io.input(0)?, io.output(0)?, io.output(1)?, io.output(2)?);
        want(&x, DType::F32)?;
        want(&y, DType::U8)?;
        want(&s, DType::F32)?;
        want(&z, DType::U8)?;
        want_numel(&x, x.numel())?;
        want_numel(&y, x.numel())?;
        want_numel(&s, 1)?;
        want_numel(&z, 1)?;
        Ok(DynamicQuantize)
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y), Ok(s), Ok(z)) = (io.input(0), io.output(0), io.output(1), io.output(2)) else { return };
        let xs = inp::<f32>(mem, &x);
        let (lo, hi) = xs.iter().fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let scale = (if hi == lo { 1.0 } else { hi - lo }) / 255.0;
        let zp = round_half_even_f64((0.0 - lo / scale).clamp(0.0, 255.0) as f64) as i32;
        for (o, &v) in out::<u8>(mem, &y).iter_mut().zip(xs) {
            *o = saturate::<u8>(v / scale, zp);
        }
        out::<f32>(mem, &s)[0] = scale;
        out::<u8>(mem, &z)[0] = zp as u8;
    }
}
