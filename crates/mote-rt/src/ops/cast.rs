//! `Cast`: element type conversion between every dtype but strings, with ONNX `Cast` semantics
//! as the reference interpreter implements them (see [`super::scalar`]): floats to integers
//! truncate toward zero and wrap like numpy (NaN becomes 0); integers wrap; anything non-zero
//! becomes true; float8 / float4 targets round to nearest even and saturate unless told not to.
//!
//! Attributes: none (saturate, round up), or `[saturate, round_mode]` with round modes 0 up,
//! 1 down, 2 nearest (they only matter for float8 / float4 targets).

use mote_core::DType;
use mote_core::lowp::RoundMode;
use mote_format::StepRef;

use super::scalar::{self, LowpMode};
use super::{Io, inp, out, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

/// Stable codes of `round_mode`.
pub const ROUND_MODES: [RoundMode; 3] = [RoundMode::Up, RoundMode::Down, RoundMode::Nearest];

#[derive(Clone, Copy, Debug)]
pub struct Cast {
    from: DType,
    to: DType,
    mode: LowpMode,
}

impl Cast {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Cast, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let mode = if step.attr_len() == 0 {
            LowpMode::DEFAULT
        } else {
            let saturate = w.bool()?;
            LowpMode { saturate, round: ROUND_MODES[w.upto(ROUND_MODES.len() as u32 - 1)?] }
        };
        w.end()?;
        let (x, y) = (io.input(0)?, io.output(0)?);
        if !scalar::storable(x.dtype) || !scalar::storable(y.dtype) {
            return Err(StepFault::DType);
        }
        want_numel(&x, y.numel())?;
        want_numel(&y, y.numel())?;
        Ok(Cast { from: x.dtype, to: y.dtype, mode })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        if (self.from, self.to) == (DType::F16, DType::F32) {
            // Weights stored as f16 (`mote compile --weights f16`) widen on every run.
            mote_kernels::fast::widen::f16_to_f32(inp::<u16>(mem, &x), out::<f32>(mem, &y));
            return;
        }
        let (sx, sy) = (self.from.size().unwrap_or(1), self.to.size().unwrap_or(1));
        let (xs, ys) = (inp::<u8>(mem, &x), out::<u8>(mem, &y));
        for (xe, o) in xs.chunks_exact(sx).zip(ys.chunks_exact_mut(sy)) {
            if self.from == self.to {
                scalar::copy(self.to, xe, o);
            } else {
                scalar::store(self.to, scalar::load(self.from, xe), self.from, self.mode, o);
            }
        }
    }
}
