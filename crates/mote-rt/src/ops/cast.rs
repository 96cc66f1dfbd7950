//! `Cast`: element type conversion between f32, f64, the integers and bool. Floats to integers
//! truncate toward zero and saturate (NaN becomes 0); integers to integers wrap; anything
//! non-zero becomes true.
//!
//! No attributes: the element types are the tensors'.

use mote_core::DType;
use mote_format::StepRef;

use super::{Io, inp, out, want_numel};
use crate::error::StepFault;
use crate::mem::Mem;
use crate::words::Words;

#[derive(Clone, Copy, Debug)]
pub struct Cast {
    from: DType,
    to: DType,
}

fn supported(d: DType) -> bool {
    use DType::*;
    matches!(d, F32 | F64 | I8 | U8 | I16 | U16 | I32 | U32 | I64 | U64 | Bool)
}

#[derive(Clone, Copy)]
enum Num {
    F(f64),
    I(i128),
}

fn load(d: DType, b: &[u8]) -> Num {
    let a = |n: usize| -> [u8; 8] { core::array::from_fn(|i| if i < n { b[i] } else { 0 }) };
    use DType::*;
    match d {
        F32 => Num::F(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64),
        F64 => Num::F(f64::from_le_bytes(a(8))),
        Bool => Num::I((b[0] != 0) as i128),
        I8 => Num::I(b[0] as i8 as i128),
        U8 => Num::I(b[0] as i128),
        I16 => Num::I(i16::from_le_bytes([b[0], b[1]]) as i128),
        U16 => Num::I(u16::from_le_bytes([b[0], b[1]]) as i128),
        I32 => Num::I(i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i128),
        U32 => Num::I(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i128),
        I64 => Num::I(i64::from_le_bytes(a(8)) as i128),
        _ => Num::I(u64::from_le_bytes(a(8)) as i128),
    }
}

fn store(d: DType, v: Num, o: &mut [u8]) {
    // Float to int: `as` truncates and saturates (NaN to 0); int to int wraps.
    let int = |v: Num| -> i128 {
        match v {
            Num::I(i) => i,
            Num::F(f) => f as i128,
        }
    };
    let float = |v: Num| -> f64 {
        match v {
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    };
    use DType::*;
    let sat = |f: f64, lo: f64, hi: f64| f.clamp(lo, hi);
    match (d, v) {
        (F32, v) => o[..4].copy_from_slice(&(float(v) as f32).to_le_bytes()),
        (F64, v) => o[..8].copy_from_slice(&float(v).to_le_bytes()),
        (Bool, Num::F(f)) => o[0] = (f != 0.0) as u8,
        (Bool, Num::I(i)) => o[0] = (i != 0) as u8,
        (I8, Num::F(f)) => o[0] = sat(f, -128.0, 127.0) as i8 as u8,
        (U8, Num::F(f)) => o[0] = sat(f, 0.0, 255.0) as u8,
        (I8 | U8, v) => o[0] = int(v) as u8,
        (I16 | U16, v) => o[..2].copy_from_slice(&(int(v) as u16).to_le_bytes()),
        (I32, Num::F(f)) => o[..4].copy_from_slice(&(f as i32).to_le_bytes()),
        (U32, Num::F(f)) => o[..4].copy_from_slice(&(f as u32).to_le_bytes()),
        (I32 | U32, v) => o[..4].copy_from_slice(&(int(v) as u32).to_le_bytes()),
        (I64, Num::F(f)) => o[..8].copy_from_slice(&(f as i64).to_le_bytes()),
        (_, Num::F(f)) => o[..8].copy_from_slice(&(f as u64).to_le_bytes()),
        (_, v) => o[..8].copy_from_slice(&(int(v) as u64).to_le_bytes()),
    }
}

impl Cast {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Cast, StepFault> {
        io.arity(1, 1, 1)?;
        Words::new(step).end()?;
        let (x, y) = (io.input(0)?, io.output(0)?);
        if !supported(x.dtype) || !supported(y.dtype) {
            return Err(StepFault::DType);
        }
        want_numel(x, y.numel())?;
        want_numel(y, y.numel())?;
        Ok(Cast { from: x.dtype, to: y.dtype })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        let (sx, sy) = (self.from.size().unwrap_or(1), self.to.size().unwrap_or(1));
        let (xs, ys) = (inp::<u8>(mem, x), out::<u8>(mem, y));
        for (i, o) in ys.chunks_exact_mut(sy).enumerate() {
            store(self.to, load(self.from, &xs[i * sx..]), o);
        }
    }
}
