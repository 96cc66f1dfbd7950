//! `Quantize` (f32 to an integer type: round half to even, add the zero point, saturate; or to
//! float8/float4: add the zero point, round to nearest even, saturate unless told not to) and
//! `Dequantize` (back to f32: `(x - zero_point) * scale`), per tensor, per axis or blocked.
//!
//! Attributes: `[outer, axis_len, inner, granularity, block?, saturate?]`: the tensor viewed as
//! `[outer, axis_len, inner]`; granularity 0 (one scale), 1 (per axis: `axis_len` scales) or 2
//! (blocked, format 1.3: `[outer, ceil(axis_len / block), inner]` scales, the `block` word
//! follows, >= 1); `saturate` (format 1.3, Quantize only, 0 or 1; absent means 1) matters for
//! float8 outputs. Inputs `x, scale (f32), zero_point?` (the quantized type; one value per
//! scale). Quantized types: i8, u8, i16, u16, i32 and (format 1.3) int4, uint4, int2, uint2 (one
//! byte per value, the bits in the low bits), float8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ) and float4
//! E2M1.

use mote_core::DType;
use mote_core::lowp::{F4E2M1, F8E4M3Fn, F8E4M3Fnuz, F8E5M2, F8E5M2Fnuz, I2, I4, MiniFloat, U2, U4};
use mote_format::StepRef;
use mote_kernels::reference::quant::{Granularity, QInt, QuantLayout, saturate};

use super::{Io, inp, out, product, want, want_numel};
use crate::error::StepFault;
use crate::mem::{Elem, Mem};
use crate::words::Words;

/// An integer quantized type and how the arena stores it.
trait Stored: QInt {
    type S: Elem + Copy;
    fn load(s: Self::S) -> Self;
    fn store(self) -> Self::S;
}

macro_rules! stored_self {
    ($($t:ty),*) => {$(
        impl Stored for $t {
            type S = $t;
            fn load(s: $t) -> $t {
                s
            }
            fn store(self) -> $t {
                self
            }
        }
    )*};
}
stored_self!(i8, u8, i16, u16, i32);

macro_rules! stored_bits {
    ($($t:ty),*) => {$(
        impl Stored for $t {
            type S = u8;
            fn load(s: u8) -> $t {
                <$t>::from_bits(s)
            }
            fn store(self) -> u8 {
                self.to_bits()
            }
        }
    )*};
}
stored_bits!(I4, U4, I2, U2);

/// A float8/float4 type as the arena stores it (one byte of bits).
trait Bits: MiniFloat {
    fn from_bits(b: u8) -> Self;
    fn to_bits(self) -> u8;
}

macro_rules! bits {
    ($($t:ty),*) => {$(
        impl Bits for $t {
            fn from_bits(b: u8) -> $t {
                <$t>::from_bits(b)
            }
            fn to_bits(self) -> u8 {
                <$t>::to_bits(self)
            }
        }
    )*};
}
bits!(F8E4M3Fn, F8E4M3Fnuz, F8E5M2, F8E5M2Fnuz, F4E2M1);

/// Whether `d` is a quantized type of these steps.
fn quantized(d: DType) -> bool {
    matches!(
        d,
        DType::I8
            | DType::U8
            | DType::I16
            | DType::U16
            | DType::I32
            | DType::I4
            | DType::U4
            | DType::I2
            | DType::U2
            | DType::F8E4M3Fn
            | DType::F8E4M3Fnuz
            | DType::F8E5M2
            | DType::F8E5M2Fnuz
            | DType::F4E2M1
    )
}

/// `$s.int::<T>(mem, io)` or `$s.float::<T>(mem, io)` for the quantized type `$dt` (validated
/// at load; float4 E2M1 last).
macro_rules! by_quant_type {
    ($dt:expr, $s:ident, $mem:ident, $io:ident) => {
        match $dt {
            DType::I8 => $s.int::<i8>($mem, $io),
            DType::U8 => $s.int::<u8>($mem, $io),
            DType::I16 => $s.int::<i16>($mem, $io),
            DType::U16 => $s.int::<u16>($mem, $io),
            DType::I32 => $s.int::<i32>($mem, $io),
            DType::I4 => $s.int::<I4>($mem, $io),
            DType::U4 => $s.int::<U4>($mem, $io),
            DType::I2 => $s.int::<I2>($mem, $io),
            DType::U2 => $s.int::<U2>($mem, $io),
            DType::F8E4M3Fn => $s.float::<F8E4M3Fn>($mem, $io),
            DType::F8E4M3Fnuz => $s.float::<F8E4M3Fnuz>($mem, $io),
            DType::F8E5M2 => $s.float::<F8E5M2>($mem, $io),
            DType::F8E5M2Fnuz => $s.float::<F8E5M2Fnuz>($mem, $io),
            _ => $s.float::<F4E2M1>($mem, $io),
        }
    };
}

/// The layout shared by both directions, and Quantize's `saturate`.
#[derive(Clone, Copy, Debug)]
struct Layout {
    q: QuantLayout,
    saturate: bool,
}

impl Layout {
    fn decode(step: &StepRef<'_>, io: &Io<'_>, qdt: DType, quantize: bool) -> Result<Layout, StepFault> {
        io.arity(2, 3, 1)?;
        if !quantized(qdt) {
            return Err(StepFault::DType);
        }
        let mut w = Words::new(step);
        let (outer, axis_len, inner) = (w.upto(u32::MAX)?, w.upto(u32::MAX)?, w.upto(u32::MAX)?);
        let granularity = match w.upto(2)? {
            0 => Granularity::PerTensor,
            1 => Granularity::PerAxis,
            _ => {
                let block = w.upto(u32::MAX)?;
                if block == 0 {
                    return Err(StepFault::Attrs);
                }
                Granularity::Blocked { block }
            }
        };
        let mut saturate = true;
        let fixed = if matches!(granularity, Granularity::Blocked { .. }) { 5 } else { 4 };
        if quantize && step.attr_len() > fixed {
            saturate = w.bool()?;
        }
        w.end()?;
        let n = product(&[outer, axis_len, inner])?;
        want_numel(&io.input(0)?, n)?;
        want_numel(&io.output(0)?, n)?;
        let scales = match granularity {
            Granularity::PerTensor => 1,
            Granularity::PerAxis => axis_len,
            Granularity::Blocked { block } => product(&[outer, axis_len.div_ceil(block), inner])?,
        };
        want(&io.input(1)?, DType::F32)?;
        want_numel(&io.input(1)?, scales)?;
        if let Some(z) = io.opt(2) {
            want(&z, qdt)?;
            want_numel(&z, scales)?;
        }
        Ok(Layout { q: QuantLayout { outer, axis_len, inner, granularity }, saturate })
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Quantize {
    l: Layout,
    to: DType,
}

impl Quantize {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Quantize, StepFault> {
        let y = io.output(0)?;
        want(&io.input(0)?, DType::F32)?;
        Ok(Quantize { l: Layout::decode(step, io, y.dtype, true)?, to: y.dtype })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        by_quant_type!(self.to, self, mem, io)
    }

    fn int<Q: Stored>(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(s), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let (xs, ss, ys) = (inp::<f32>(mem, &x), inp::<f32>(mem, &s), out::<Q::S>(mem, &y));
        let zs: &[Q::S] = io.opt(2).map_or(&[], |z| inp(mem, &z));
        self.l.q.for_runs(|k, r| {
            let (sc, zp) = (ss[k], zs.get(k).map_or(0, |&z| Q::load(z).to_i32()));
            if Q::MAX - Q::MIN <= u16::MAX as i32 {
                // Clamped first (rounding is monotonic and the bounds are integers, so the result
                // is `saturate`'s), then rounded in f32 exactly, branch-free: this vectorises.
                let (lo, hi) = ((Q::MIN - zp) as f32, (Q::MAX - zp) as f32);
                for (y, &x) in ys[r.clone()].iter_mut().zip(&xs[r]) {
                    let v = x / sc;
                    let v = if v.is_nan() { 0.0 } else { v.max(lo).min(hi) };
                    // |v| <= 2^16: `v + 1.5 * 2^23` rounds half to even (`round_half_even_int`) and
                    // its bits minus the constant's are that integer: no float-to-int conversion.
                    let r = (v + 12_582_912.0).to_bits() as i32 - 12_582_912f32.to_bits() as i32;
                    *y = Q::from_i32(r + zp).store();
                }
            } else {
                r.for_each(|i| ys[i] = saturate::<Q>(xs[i] / sc, zp).store());
            }
        });
    }

    fn float<F: Bits>(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(s), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let (xs, ss, ys) = (inp::<f32>(mem, &x), inp::<f32>(mem, &s), out::<u8>(mem, &y));
        let zs: &[u8] = io.opt(2).map_or(&[], |z| inp(mem, &z));
        let sat = self.l.saturate;
        self.l.q.for_runs(|k, r| {
            let (sc, zp) = (ss[k], zs.get(k).map_or(0.0, |&z| F::from_bits(z).to_f32()));
            r.for_each(|i| {
                // As the reference: a zero zero point is not added (so -0 keeps its sign).
                let v = xs[i] / sc;
                ys[i] = F::from_f32_with(if zp == 0.0 { v } else { v + zp }, sat).to_bits();
            });
        });
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Dequantize {
    l: Layout,
    from: DType,
}

impl Dequantize {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Dequantize, StepFault> {
        let x = io.input(0)?;
        want(&io.output(0)?, DType::F32)?;
        Ok(Dequantize { l: Layout::decode(step, io, x.dtype, false)?, from: x.dtype })
    }

    pub fn run(&self, mem: &Mem<'_>, io: &Io<'_>) {
        by_quant_type!(self.from, self, mem, io)
    }

    fn int<Q: Stored>(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(s), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let (xs, ss, ys) = (inp::<Q::S>(mem, &x), inp::<f32>(mem, &s), out::<f32>(mem, &y));
        let zs: &[Q::S] = io.opt(2).map_or(&[], |z| inp(mem, &z));
        self.l.q.for_runs(|k, r| {
            let (sc, zp) = (ss[k], zs.get(k).map_or(0, |&z| Q::load(z).to_i32()) as i64);
            r.for_each(|i| ys[i] = (Q::load(xs[i]).to_i32() as i64 - zp) as f32 * sc);
        });
    }

    fn float<F: Bits>(&self, mem: &Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(s), Ok(y)) = (io.input(0), io.input(1), io.output(0)) else { return };
        let (xs, ss, ys) = (inp::<u8>(mem, &x), inp::<f32>(mem, &s), out::<f32>(mem, &y));
        let zs: &[u8] = io.opt(2).map_or(&[], |z| inp(mem, &z));
        self.l.q.for_runs(|k, r| {
            let (sc, zp) = (ss[k], zs.get(k).map_or(0.0, |&z| F::from_bits(z).to_f32()));
            r.for_each(|i| ys[i] = (F::from_bits(xs[i]).to_f32() - zp) * sc);
        });
    }
}

/// The Quantize / Dequantize words: `block` 0 for per tensor or per axis; `saturate` is written
/// only when false (older files stay byte-identical).
#[cfg(feature = "alloc")]
pub fn encode_quant(
    outer: usize,
    axis_len: usize,
    inner: usize,
    per_axis: bool,
    block: usize,
    saturate: bool,
) -> alloc::vec::Vec<u32> {
    let mut w = crate::words::WordsOut::default();
    w.usize(outer).usize(axis_len).usize(inner);
    if block > 0 {
        w.u32(2).usize(block);
    } else {
        w.bool(per_axis);
    }
    if !saturate {
        w.bool(false);
    }
    w.0
}
