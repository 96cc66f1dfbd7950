//! Ops that build tensors: Shape, ConstantOfShape, Range, EyeLike, BitCast.

use mote_ir::ops::shape::shape_range;
use mote_ir::{
    DType, Data, Elem, F4E2M1, F8E4M3Fn, F8E4M3Fnuz, F8E5M2, F8E5M2Fnuz, F8E8M0, I2, I4, Tensor, U2, U4, bf16,
    dispatch_elem, f16,
};

use super::build;
use crate::error::OpError;
use crate::ops::{alloc, numel, shape_input};
use crate::{bail, op_err};

pub(super) fn shape(x: &Tensor, start: i64, end: Option<i64>) -> Tensor {
    let (s, e) = shape_range(start, end, x.rank());
    let dims: Vec<i64> = x.shape()[s..e].iter().map(|&d| d as i64).collect();
    Tensor::from_vec(vec![dims.len()], dims).expect("length matches")
}

pub(super) fn constant_of_shape(shape: &Tensor, value: &Tensor) -> Result<Tensor, OpError> {
    let dims = shape_input(shape, "ConstantOfShape's input")?;
    if let Some(d) = dims.iter().find(|&&d| d < 0) {
        bail!("ConstantOfShape: negative dimension {d} in {dims:?}");
    }
    if value.len() != 1 {
        bail!("ConstantOfShape's value must hold one element, got shape {:?}", value.shape());
    }
    let dims: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
    let n = numel(&dims)?;
    let data = match value.data() {
        Data::String(s) => Data::String(vec![s[0].clone(); n]),
        d => dispatch_elem!(d, v => T::wrap(vec![v[0]; n]), else unreachable!()),
    };
    build(dims, data)
}

pub(super) fn range(start: &Tensor, limit: &Tensor, delta: &Tensor, stash: DType) -> Result<Tensor, OpError> {
    let dtype = start.dtype();
    if limit.dtype() != dtype || delta.dtype() != dtype {
        bail!("Range needs start, limit and delta of one dtype, got {dtype}, {} and {}", limit.dtype(), delta.dtype());
    }
    for (t, what) in [(start, "start"), (limit, "limit"), (delta, "delta")] {
        if t.len() != 1 {
            bail!("Range's {what} must be a scalar, got shape {:?}", t.shape());
        }
    }
    if dtype.is_int() {
        let (s, l, d) = (start.scalar_i64()? as i128, limit.scalar_i64()? as i128, delta.scalar_i64()? as i128);
        if d == 0 {
            bail!("Range's delta is 0");
        }
        // ceil((l - s) / d) for either sign of d.
        let n = ((l - s) + d - d.signum()) / d;
        let n = usize::try_from(n.max(0)).map_err(|_| op_err!("Range has too many elements"))?;
        let mut out = alloc(dtype, &[n])?;
        mote_ir::dispatch_int!(out.data_mut(), v => {
            for (i, e) in v.iter_mut().enumerate() {
                *e = (s + i as i128 * d) as T;
            }
        }, else bail!("Range is not defined for {dtype}"));
        return Ok(out);
    }
    let (s, l, d) = (start.scalar_f64()?, limit.scalar_f64()?, delta.scalar_f64()?);
    if d == 0.0 || !(s.is_finite() && l.is_finite() && d.is_finite()) {
        bail!("Range needs finite bounds and a non-zero delta, got {s}, {l}, {d}");
    }
    let n = ((l - s) / d).ceil().max(0.0);
    if n > u32::MAX as f64 {
        bail!("Range has too many elements ({n})");
    }
    let n = n as usize;
    numel(&[n])?;
    let vals = (0..n).map(|i| s + i as f64 * d);
    let data = match dtype {
        DType::F32 => Data::F32(vals.map(|x| x as f32).collect()),
        DType::F64 => Data::F64(vals.collect()),
        // Half types compute in the stash type and round once.
        DType::F16 if stash == DType::F32 => Data::F16(vals.map(|x| f16::from_f32(x as f32)).collect()),
        DType::BF16 if stash == DType::F32 => Data::BF16(vals.map(|x| bf16::from_f32(x as f32)).collect()),
        DType::F16 => Data::F16(vals.map(f16::from_f64).collect()),
        DType::BF16 => Data::BF16(vals.map(bf16::from_f64).collect()),
        _ => bail!("Range is not defined for {dtype}"),
    };
    build(vec![n], data)
}

pub(super) fn eye_like(x: &Tensor, k: i64, dtype: Option<DType>) -> Result<Tensor, OpError> {
    let &[n, m] = x.shape() else { bail!("EyeLike needs a 2-D input, got shape {:?}", x.shape()) };
    let dtype = dtype.unwrap_or(x.dtype());
    let mut out = alloc(dtype, &[n, m])?;
    dispatch_elem!(out.data_mut(), v => {
        for i in 0..n {
            let j = (i as i64).saturating_add(k);
            if (0..m as i64).contains(&j) {
                v[i * m + j as usize] = T::from_f64(1.0);
            }
        }
    }, else bail!("EyeLike is not defined for {dtype}"));
    Ok(out)
}

/// Element types as little-endian bit patterns.
trait Bits: Elem {
    fn to_bits64(self) -> u64;
    fn from_bits64(b: u64) -> Self;
}

macro_rules! impl_bits {
    ($($t:ty => |$x:ident| $to:expr, |$b:ident| $from:expr;)*) => {$(
        impl Bits for $t {
            fn to_bits64(self) -> u64 { let $x = self; $to }
            fn from_bits64($b: u64) -> Self { $from }
        }
    )*};
}

impl_bits! {
    u8 => |x| x as u64, |b| b as u8;
    i8 => |x| x as u8 as u64, |b| b as u8 as i8;
    u16 => |x| x as u64, |b| b as u16;
    i16 => |x| x as u16 as u64, |b| b as u16 as i16;
    u32 => |x| x as u64, |b| b as u32;
    i32 => |x| x as u32 as u64, |b| b as u32 as i32;
    u64 => |x| x, |b| b;
    i64 => |x| x as u64, |b| b as i64;
    f16 => |x| x.to_bits() as u64, |b| f16::from_bits(b as u16);
    bf16 => |x| x.to_bits() as u64, |b| bf16::from_bits(b as u16);
    f32 => |x| x.to_bits() as u64, |b| f32::from_bits(b as u32);
    f64 => |x| x.to_bits(), |b| f64::from_bits(b);
    bool => |x| x as u64, |b| b != 0;
    F8E4M3Fn => |x| x.to_bits() as u64, |b| F8E4M3Fn::from_bits(b as u8);
    F8E4M3Fnuz => |x| x.to_bits() as u64, |b| F8E4M3Fnuz::from_bits(b as u8);
    F8E5M2 => |x| x.to_bits() as u64, |b| F8E5M2::from_bits(b as u8);
    F8E5M2Fnuz => |x| x.to_bits() as u64, |b| F8E5M2Fnuz::from_bits(b as u8);
    F8E8M0 => |x| x.to_bits() as u64, |b| F8E8M0::from_bits(b as u8);
    F4E2M1 => |x| x.to_bits() as u64, |b| F4E2M1::from_bits(b as u8);
    I4 => |x| x.to_bits() as u64, |b| I4::from_bits(b as u8);
    U4 => |x| x.to_bits() as u64, |b| U4::from_bits(b as u8);
    I2 => |x| x.to_bits() as u64, |b| I2::from_bits(b as u8);
    U2 => |x| x.to_bits() as u64, |b| U2::from_bits(b as u8);
}

pub(super) fn bitcast(x: &Tensor, to: DType) -> Result<Tensor, OpError> {
    let from = x.dtype();
    match (from.bits(), to.bits()) {
        (Some(a), Some(b)) if a == b => {}
        _ => bail!("BitCast needs element types of one bit width, got {from} and {to}"),
    }
    let bits: Vec<u64> = dispatch_elem!(x.data(), v => v.iter().map(|e| e.to_bits64()).collect(), else unreachable!());
    let zero = Data::zeros(to, 0);
    let data =
        dispatch_elem!(zero, _v => T::wrap(bits.iter().map(|&b| T::from_bits64(b)).collect()), else unreachable!());
    build(x.shape().to_vec(), data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_counts() {
        let r = range(&Tensor::scalar(10i32), &Tensor::scalar(4i32), &Tensor::scalar(-3i32), DType::F32).unwrap();
        assert_eq!(r.typed::<i32>().unwrap(), &[10, 7]);
        let r = range(&Tensor::scalar(1.0f32), &Tensor::scalar(2.0f32), &Tensor::scalar(0.25f32), DType::F32).unwrap();
        assert_eq!(r.typed::<f32>().unwrap(), &[1.0, 1.25, 1.5, 1.75]);
        assert!(range(&Tensor::scalar(0i64), &Tensor::scalar(5i64), &Tensor::scalar(0i64), DType::F32).is_err());
    }

    #[test]
    fn bitcast_round_trips_bits() {
        let x = Tensor::from_vec(vec![2], vec![1.0f32, -0.0]).unwrap();
        let y = bitcast(&x, DType::I32).unwrap();
        assert_eq!(y.typed::<i32>().unwrap(), &[0x3f80_0000, i32::MIN]);
        assert_eq!(bitcast(&y, DType::F32).unwrap(), x);
        assert!(bitcast(&x, DType::I64).is_err());
    }
}
