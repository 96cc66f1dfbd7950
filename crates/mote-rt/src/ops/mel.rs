//! `MelWeightMatrix` (81): the mel filter bank of a spectrogram, from a sample rate and band
//! edges known at run time (the reference kernel `ref_mel_weight_matrix`).
//!
//! Inputs `sample_rate` (i32 or i64), `lower_edge_hertz`, `upper_edge_hertz` (f32 or f64), one
//! value each. Output `y [dft / 2 + 1, mels]` (f32 or f64). Attributes `[mels, dft]`. A band edge
//! outside the spectrogram is a run-time data error.

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::signal::ref_mel_weight_matrix;

use super::{Io, inp, out, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Mel {
    mels: usize,
    dft: usize,
}

/// One value of a scalar input as f64 (integers and floats).
fn scalar(mem: &Mem<'_>, t: &mote_format::TensorRef<'_>) -> f64 {
    match t.dtype {
        DType::I32 => inp::<i32>(mem, t)[0] as f64,
        DType::I64 => inp::<i64>(mem, t)[0] as f64,
        DType::F64 => inp::<f64>(mem, t)[0],
        _ => inp::<f32>(mem, t)[0] as f64,
    }
}

impl Mel {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Mel, StepFault> {
        io.arity(3, 3, 1)?;
        let mut w = Words::new(step);
        let (mels, dft) = (w.u32()? as usize, w.u32()? as usize);
        w.end()?;
        for (i, ok) in [(0, [DType::I32, DType::I64]), (1, [DType::F32, DType::F64]), (2, [DType::F32, DType::F64])] {
            let t = io.input(i)?;
            if !ok.contains(&t.dtype) {
                return Err(StepFault::DType);
            }
            want_numel(&t, 1)?;
        }
        let y = io.output(0)?;
        if !matches!(y.dtype, DType::F32 | DType::F64) {
            return Err(StepFault::DType);
        }
        let spec = dft / 2 + 1;
        if dft == 0 || y.rank != 2 || y.dims()[0] as usize != spec || y.dims()[1] as usize != mels {
            return Err(StepFault::Shape);
        }
        want_numel(&y, spec.checked_mul(mels).ok_or(StepFault::Shape)?)?;
        Ok(Mel { mels, dft })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) -> Result<(), &'static str> {
        let (Ok(sr), Ok(lo), Ok(hi), Ok(y)) = (io.input(0), io.input(1), io.input(2), io.output(0)) else {
            return Ok(());
        };
        let (sr, lo, hi) = (scalar(mem, &sr), scalar(mem, &lo), scalar(mem, &hi));
        let mels = self.mels;
        if y.dtype == DType::F64 {
            let o = out::<f64>(mem, &y);
            o.fill(0.0);
            ref_mel_weight_matrix(mels, self.dft, sr, lo, hi, &mut |j, i, v| o[j * mels + i] = v)
        } else {
            let o = out::<f32>(mem, &y);
            o.fill(0.0);
            ref_mel_weight_matrix(mels, self.dft, sr, lo, hi, &mut |j, i, v| o[j * mels + i] = v as f32)
        }
    }
}

/// Attribute words of [`Mel`].
#[cfg(feature = "alloc")]
pub fn encode_mel(mels: usize, dft: usize) -> alloc::vec::Vec<u32> {
    alloc::vec![mels as u32, dft as u32]
}
