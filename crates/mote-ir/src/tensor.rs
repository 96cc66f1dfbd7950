//! Owned host tensors.
//!
//! A [`Tensor`] is a shape plus typed, reference-counted storage ([`Data`]): cloning is cheap,
//! and a reshape shares the storage. Writing goes through [`Tensor::data_mut`] (copy on write).

use std::fmt;
use std::sync::Arc;

use mote_core::lowp::{F4E2M1, F8E4M3Fn, F8E4M3Fnuz, F8E5M2, F8E5M2Fnuz, F8E8M0, I2, I4, RoundMode, U2, U4};
use mote_core::shape::checked_numel;
use mote_core::{DType, bf16, f16};

use crate::error::TensorError;

/// The largest element count a tensor may have (2^28, 1 GiB of f32). Bigger requests are
/// errors, so a hostile shape cannot make the host abort on allocation.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// Typed tensor storage, row-major. The low-precision types (float8, float4, int4, int2) hold one
/// value per element, unpacked.
#[derive(Clone, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    F16(Vec<f16>),
    BF16(Vec<bf16>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    U16(Vec<u16>),
    I32(Vec<i32>),
    U32(Vec<u32>),
    I64(Vec<i64>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
    String(Vec<String>),
    F8E4M3Fn(Vec<F8E4M3Fn>),
    F8E4M3Fnuz(Vec<F8E4M3Fnuz>),
    F8E5M2(Vec<F8E5M2>),
    F8E5M2Fnuz(Vec<F8E5M2Fnuz>),
    F8E8M0(Vec<F8E8M0>),
    F4E2M1(Vec<F4E2M1>),
    I4(Vec<I4>),
    U4(Vec<U4>),
    I2(Vec<I2>),
    U2(Vec<U2>),
}

/// An element type with a fixed size: every [`DType`] except strings.
pub trait Elem: Copy + Default + PartialEq + PartialOrd + fmt::Debug + Send + Sync + 'static {
    const DTYPE: DType;
    fn slice(data: &Data) -> Option<&[Self]>;
    fn vec_mut(data: &mut Data) -> Option<&mut Vec<Self>>;
    fn wrap(v: Vec<Self>) -> Data;
    /// Lossy conversion through f64 (bool is 0/1; exact for every type but i64/u64).
    fn to_f64(self) -> f64;
    /// Conversion from f64 with ONNX `Cast` semantics: floats round, integers truncate toward
    /// zero and wrap like numpy's `astype`, bool is `x != 0`. float8/float4 saturate (`Cast`'s
    /// default `saturate=1`); E8M0 rounds up (the default `round_mode`).
    fn from_f64(x: f64) -> Self;
}

macro_rules! impl_elem {
    ($t:ty, $variant:ident, $dt:expr, |$x:ident| $to:expr, |$y:ident| $from:expr) => {
        impl Elem for $t {
            const DTYPE: DType = $dt;
            fn slice(data: &Data) -> Option<&[Self]> {
                match data {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn vec_mut(data: &mut Data) -> Option<&mut Vec<Self>> {
                match data {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> Data {
                Data::$variant(v)
            }
            fn to_f64(self) -> f64 {
                let $x = self;
                $to
            }
            fn from_f64($y: f64) -> Self {
                $from
            }
        }
    };
}

/// float -> int as numpy does on x86: truncate, and wrap through i64 for in-range values.
fn f64_to_int_bits(y: f64) -> i64 {
    if y.is_nan() {
        return 0;
    }
    // 2^63: the first f64 outside i64's range.
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&y) {
        return i64::MIN;
    }
    y as i64
}

impl_elem!(f32, F32, DType::F32, |x| x as f64, |y| y as f32);
impl_elem!(f64, F64, DType::F64, |x| x, |y| y);
impl_elem!(f16, F16, DType::F16, |x| x.to_f64(), |y| f16::from_f64(y));
impl_elem!(bf16, BF16, DType::BF16, |x| x.to_f64(), |y| bf16::from_f64(y));
impl_elem!(i8, I8, DType::I8, |x| x as f64, |y| f64_to_int_bits(y) as i8);
impl_elem!(u8, U8, DType::U8, |x| x as f64, |y| f64_to_int_bits(y) as u8);
impl_elem!(i16, I16, DType::I16, |x| x as f64, |y| f64_to_int_bits(y) as i16);
impl_elem!(u16, U16, DType::U16, |x| x as f64, |y| f64_to_int_bits(y) as u16);
impl_elem!(i32, I32, DType::I32, |x| x as f64, |y| f64_to_int_bits(y) as i32);
impl_elem!(u32, U32, DType::U32, |x| x as f64, |y| f64_to_int_bits(y) as u32);
impl_elem!(i64, I64, DType::I64, |x| x as f64, |y| f64_to_int_bits(y));
impl_elem!(u64, U64, DType::U64, |x| x as f64, |y| if y >= 0.0 { y as u64 } else { f64_to_int_bits(y) as u64 });
impl_elem!(bool, Bool, DType::Bool, |x| if x { 1.0 } else { 0.0 }, |y| y != 0.0);
impl_elem!(F8E4M3Fn, F8E4M3Fn, DType::F8E4M3Fn, |x| x.to_f64(), |y| F8E4M3Fn::from_f64_with(y, true));
impl_elem!(F8E4M3Fnuz, F8E4M3Fnuz, DType::F8E4M3Fnuz, |x| x.to_f64(), |y| F8E4M3Fnuz::from_f64_with(y, true));
impl_elem!(F8E5M2, F8E5M2, DType::F8E5M2, |x| x.to_f64(), |y| F8E5M2::from_f64_with(y, true));
impl_elem!(F8E5M2Fnuz, F8E5M2Fnuz, DType::F8E5M2Fnuz, |x| x.to_f64(), |y| F8E5M2Fnuz::from_f64_with(y, true));
impl_elem!(F8E8M0, F8E8M0, DType::F8E8M0, |x| x.to_f64(), |y| F8E8M0::from_f64_with(y, true, RoundMode::Up));
impl_elem!(F4E2M1, F4E2M1, DType::F4E2M1, |x| x.to_f64(), |y| F4E2M1::from_f64_with(y, true));
impl_elem!(I4, I4, DType::I4, |x| x.get() as f64, |y| I4::wrapping_from(f64_to_int_bits(y)));
impl_elem!(U4, U4, DType::U4, |x| x.get() as f64, |y| U4::wrapping_from(f64_to_int_bits(y)));
impl_elem!(I2, I2, DType::I2, |x| x.get() as f64, |y| I2::wrapping_from(f64_to_int_bits(y)));
impl_elem!(U2, U2, DType::U2, |x| x.get() as f64, |y| U2::wrapping_from(f64_to_int_bits(y)));

/// Matches a [`Data`] and runs `$body` with `$v: &Vec<T>` for each listed variant, where `T` is
/// the element type. The `else` arm runs for the variants not listed.
///
/// ```
/// use mote_ir::{Tensor, dispatch};
/// let t = Tensor::from_vec(vec![3], vec![1i64, 2, 3]).unwrap();
/// let n = dispatch!(t.data(), [F32, F64, I64], v => v.len(), else 0);
/// assert_eq!(n, 3);
/// let s = Tensor::from_strings(vec![1], vec!["a".into()]).unwrap();
/// assert_eq!(dispatch!(s.data(), [F32, F64, I64], v => v.len(), else 0), 0);
/// ```
#[macro_export]
macro_rules! dispatch {
    ($data:expr, [$($variant:ident),* $(,)?], $v:ident => $body:expr, else $other:expr) => {
        match $data {
            $( $crate::tensor::Data::$variant($v) => {
                #[allow(unused)]
                type T = $crate::dispatch!(@ty $variant);
                $body
            } )*
            #[allow(unreachable_patterns)]
            _ => $other,
        }
    };
    (@ty F32) => { f32 };
    (@ty F64) => { f64 };
    (@ty F16) => { $crate::f16 };
    (@ty BF16) => { $crate::bf16 };
    (@ty I8) => { i8 };
    (@ty U8) => { u8 };
    (@ty I16) => { i16 };
    (@ty U16) => { u16 };
    (@ty I32) => { i32 };
    (@ty U32) => { u32 };
    (@ty I64) => { i64 };
    (@ty U64) => { u64 };
    (@ty Bool) => { bool };
    (@ty String) => { String };
    (@ty F8E4M3Fn) => { $crate::F8E4M3Fn };
    (@ty F8E4M3Fnuz) => { $crate::F8E4M3Fnuz };
    (@ty F8E5M2) => { $crate::F8E5M2 };
    (@ty F8E5M2Fnuz) => { $crate::F8E5M2Fnuz };
    (@ty F8E8M0) => { $crate::F8E8M0 };
    (@ty F4E2M1) => { $crate::F4E2M1 };
    (@ty I4) => { $crate::I4 };
    (@ty U4) => { $crate::U4 };
    (@ty I2) => { $crate::I2 };
    (@ty U2) => { $crate::U2 };
}

/// [`dispatch!`] over every fixed-size dtype (all but strings), including the low-precision
/// storage types (for data movement: their `T` is only [`Elem`]).
#[macro_export]
macro_rules! dispatch_elem {
    ($data:expr, $v:ident => $body:expr, else $other:expr) => {
        $crate::dispatch!($data, [
            F32, F64, F16, BF16, I8, U8, I16, U16, I32, U32, I64, U64, Bool,
            F8E4M3Fn, F8E4M3Fnuz, F8E5M2, F8E5M2Fnuz, F8E8M0, F4E2M1, I4, U4, I2, U2
        ], $v => $body, else $other)
    };
}

/// [`dispatch!`] over the low-precision storage types (float8, float4, int4, int2).
#[macro_export]
macro_rules! dispatch_low_precision {
    ($data:expr, $v:ident => $body:expr, else $other:expr) => {
        $crate::dispatch!($data, [F8E4M3Fn, F8E4M3Fnuz, F8E5M2, F8E5M2Fnuz, F8E8M0, F4E2M1, I4, U4, I2, U2],
            $v => $body, else $other)
    };
}

/// [`dispatch!`] over the arithmetic dtypes (floats and integers, not bool, string or the
/// low-precision storage types).
#[macro_export]
macro_rules! dispatch_numeric {
    ($data:expr, $v:ident => $body:expr, else $other:expr) => {
        $crate::dispatch!($data, [F32, F64, F16, BF16, I8, U8, I16, U16, I32, U32, I64, U64], $v => $body, else $other)
    };
}

/// [`dispatch!`] over the arithmetic integer dtypes (not int4/int2).
#[macro_export]
macro_rules! dispatch_int {
    ($data:expr, $v:ident => $body:expr, else $other:expr) => {
        $crate::dispatch!($data, [I8, U8, I16, U16, I32, U32, I64, U64], $v => $body, else $other)
    };
}

impl Data {
    pub fn dtype(&self) -> DType {
        match self {
            Data::String(_) => DType::String,
            d => dispatch_elem!(d, _v => T::DTYPE, else unreachable!()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Data::String(v) => v.len(),
            d => dispatch_elem!(d, v => v.len(), else unreachable!()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `n` default elements (zero, false, empty string; 2^-127 for E8M0) of `dtype`.
    pub fn zeros(dtype: DType, n: usize) -> Data {
        match dtype {
            DType::F32 => Data::F32(vec![0.0; n]),
            DType::F64 => Data::F64(vec![0.0; n]),
            DType::F16 => Data::F16(vec![f16::ZERO; n]),
            DType::BF16 => Data::BF16(vec![bf16::ZERO; n]),
            DType::I8 => Data::I8(vec![0; n]),
            DType::U8 => Data::U8(vec![0; n]),
            DType::I16 => Data::I16(vec![0; n]),
            DType::U16 => Data::U16(vec![0; n]),
            DType::I32 => Data::I32(vec![0; n]),
            DType::U32 => Data::U32(vec![0; n]),
            DType::I64 => Data::I64(vec![0; n]),
            DType::U64 => Data::U64(vec![0; n]),
            DType::Bool => Data::Bool(vec![false; n]),
            DType::String => Data::String(vec![String::new(); n]),
            DType::F8E4M3Fn => Data::F8E4M3Fn(vec![F8E4M3Fn::default(); n]),
            DType::F8E4M3Fnuz => Data::F8E4M3Fnuz(vec![F8E4M3Fnuz::default(); n]),
            DType::F8E5M2 => Data::F8E5M2(vec![F8E5M2::default(); n]),
            DType::F8E5M2Fnuz => Data::F8E5M2Fnuz(vec![F8E5M2Fnuz::default(); n]),
            // E8M0 has no zero: bits 0 (2^-127).
            DType::F8E8M0 => Data::F8E8M0(vec![F8E8M0::default(); n]),
            DType::F4E2M1 => Data::F4E2M1(vec![F4E2M1::default(); n]),
            DType::I4 => Data::I4(vec![I4::default(); n]),
            DType::U4 => Data::U4(vec![U4::default(); n]),
            DType::I2 => Data::I2(vec![I2::default(); n]),
            DType::U2 => Data::U2(vec![U2::default(); n]),
        }
    }

    /// The values as little-endian bytes (bool as 0 or 1), for the fixed-width types; `None`
    /// for strings and the low-precision types (whose files pack several values per byte).
    pub fn to_le_bytes(&self) -> Option<Vec<u8>> {
        macro_rules! le {
            ($v:expr) => {
                Some($v.iter().flat_map(|x| x.to_le_bytes()).collect())
            };
        }
        match self {
            Data::F32(v) => le!(v),
            Data::F64(v) => le!(v),
            Data::F16(v) => le!(v),
            Data::BF16(v) => le!(v),
            Data::I8(v) => le!(v),
            Data::U8(v) => Some(v.clone()),
            Data::I16(v) => le!(v),
            Data::U16(v) => le!(v),
            Data::I32(v) => le!(v),
            Data::U32(v) => le!(v),
            Data::I64(v) => le!(v),
            Data::U64(v) => le!(v),
            Data::Bool(v) => Some(v.iter().map(|&b| b as u8).collect()),
            _ => None,
        }
    }

    /// The inverse of [`Data::to_le_bytes`]: `None` for strings, the low-precision types, or a
    /// length that is not a whole number of elements (any non-zero byte is `true`).
    pub fn from_le_bytes(dtype: DType, b: &[u8]) -> Option<Data> {
        macro_rules! le {
            ($t:ty, $w:expr) => {{
                if b.len() % $w != 0 {
                    return None;
                }
                b.chunks_exact($w).map(|c| <$t>::from_le_bytes(c.try_into().unwrap_or([0; $w]))).collect()
            }};
        }
        Some(match dtype {
            DType::F32 => Data::F32(le!(f32, 4)),
            DType::F64 => Data::F64(le!(f64, 8)),
            DType::F16 => Data::F16(le!(f16, 2)),
            DType::BF16 => Data::BF16(le!(bf16, 2)),
            DType::I8 => Data::I8(b.iter().map(|&x| x as i8).collect()),
            DType::U8 => Data::U8(b.to_vec()),
            DType::I16 => Data::I16(le!(i16, 2)),
            DType::U16 => Data::U16(le!(u16, 2)),
            DType::I32 => Data::I32(le!(i32, 4)),
            DType::U32 => Data::U32(le!(u32, 4)),
            DType::I64 => Data::I64(le!(i64, 8)),
            DType::U64 => Data::U64(le!(u64, 8)),
            DType::Bool => Data::Bool(b.iter().map(|&x| x != 0).collect()),
            _ => return None,
        })
    }

    /// The elements at `indices`, in order (a gather over the flat storage).
    pub fn gather(&self, indices: &[usize]) -> Data {
        match self {
            Data::String(v) => Data::String(indices.iter().map(|&i| v[i].clone()).collect()),
            d => {
                dispatch_elem!(d, v => T::wrap(indices.iter().map(|&i| v[i]).collect()), else unreachable!())
            }
        }
    }
}

/// An owned tensor: a shape and row-major data of `shape.iter().product()` elements.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Arc<Data>,
}

impl Tensor {
    /// Builds a tensor; fails when the data length does not match the shape.
    pub fn new(shape: Vec<usize>, data: Data) -> Result<Tensor, TensorError> {
        let n = checked_numel(&shape).ok_or_else(|| TensorError::TooLarge { shape: shape.clone() })?;
        if n != data.len() {
            return Err(TensorError::LengthMismatch { shape, len: data.len() });
        }
        Ok(Tensor { shape, data: Arc::new(data) })
    }

    /// A tensor from a typed vector.
    pub fn from_vec<T: Elem>(shape: Vec<usize>, v: Vec<T>) -> Result<Tensor, TensorError> {
        Tensor::new(shape, T::wrap(v))
    }

    /// A rank-0 tensor.
    pub fn scalar<T: Elem>(x: T) -> Tensor {
        Tensor { shape: vec![], data: Arc::new(T::wrap(vec![x])) }
    }

    /// A string tensor.
    pub fn from_strings(shape: Vec<usize>, v: Vec<String>) -> Result<Tensor, TensorError> {
        Tensor::new(shape, Data::String(v))
    }

    /// A tensor of default values (zero, false, ""), checking the size limit first.
    pub fn zeros(dtype: DType, shape: Vec<usize>) -> Result<Tensor, TensorError> {
        let n = check_numel(&shape)?;
        Ok(Tensor { shape, data: Arc::new(Data::zeros(dtype, n)) })
    }

    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn data(&self) -> &Data {
        &self.data
    }

    /// Mutable storage, copied first if it is shared.
    pub fn data_mut(&mut self) -> &mut Data {
        Arc::make_mut(&mut self.data)
    }

    /// The typed elements, or `None` if `T` is not this tensor's dtype.
    pub fn as_slice<T: Elem>(&self) -> Option<&[T]> {
        T::slice(&self.data)
    }

    /// The typed elements, or an error naming both dtypes.
    pub fn typed<T: Elem>(&self) -> Result<&[T], TensorError> {
        T::slice(&self.data).ok_or(TensorError::DType { expected: T::DTYPE, got: self.dtype() })
    }

    /// Mutable typed elements (copy on write).
    pub fn typed_mut<T: Elem>(&mut self) -> Result<&mut [T], TensorError> {
        let got = self.dtype();
        T::vec_mut(self.data_mut()).map(|v| v.as_mut_slice()).ok_or(TensorError::DType { expected: T::DTYPE, got })
    }

    pub fn strings(&self) -> Option<&[String]> {
        match &*self.data {
            Data::String(v) => Some(v),
            _ => None,
        }
    }

    /// The same data with another shape of equal element count (shares storage).
    pub fn reshape(&self, shape: Vec<usize>) -> Result<Tensor, TensorError> {
        let n = checked_numel(&shape).ok_or_else(|| TensorError::TooLarge { shape: shape.clone() })?;
        if n != self.len() {
            return Err(TensorError::LengthMismatch { shape, len: self.len() });
        }
        Ok(Tensor { shape, data: self.data.clone() })
    }

    /// Every element as f64 (strings are an error).
    pub fn to_f64_vec(&self) -> Result<Vec<f64>, TensorError> {
        dispatch_elem!(&*self.data, v => Ok(v.iter().map(|x| x.to_f64()).collect()),
            else Err(TensorError::NotNumeric(self.dtype())))
    }

    /// Every element as f32 (strings are an error).
    pub fn to_f32_vec(&self) -> Result<Vec<f32>, TensorError> {
        match &*self.data {
            Data::F32(v) => Ok(v.clone()),
            Data::F16(v) => Ok(v.iter().map(|x| x.to_f32()).collect()),
            Data::BF16(v) => Ok(v.iter().map(|x| x.to_f32()).collect()),
            _ => Ok(self.to_f64_vec()?.into_iter().map(|x| x as f32).collect()),
        }
    }

    /// Every element as i64; integer and bool tensors only (shape and index inputs).
    #[allow(clippy::unnecessary_cast)] // the macro also expands an (unreachable) i64 arm
    pub fn to_i64_vec(&self) -> Result<Vec<i64>, TensorError> {
        match &*self.data {
            Data::I64(v) => Ok(v.clone()),
            Data::U64(v) => Ok(v.iter().map(|&x| x as i64).collect()),
            Data::Bool(v) => Ok(v.iter().map(|&x| x as i64).collect()),
            d => dispatch_int!(d, v => Ok(v.iter().map(|&x| x as i64).collect()),
                else Err(TensorError::NotInteger(self.dtype()))),
        }
    }

    /// The single element of a one-element tensor as f64.
    pub fn scalar_f64(&self) -> Result<f64, TensorError> {
        if self.len() != 1 {
            return Err(TensorError::NotScalar { shape: self.shape.clone() });
        }
        Ok(self.to_f64_vec()?[0])
    }

    /// The single element of a one-element integer tensor.
    pub fn scalar_i64(&self) -> Result<i64, TensorError> {
        if self.len() != 1 {
            return Err(TensorError::NotScalar { shape: self.shape.clone() });
        }
        Ok(self.to_i64_vec()?[0])
    }
}

/// Checks `shape` against [`MAX_ELEMENTS`] and returns its element count. The limit applies to
/// the shape's extent (empty dims counted as 1): kernels size loops and scratch space from
/// single dims, so an empty `[0, 2^40]` is refused like a full tensor.
pub fn check_numel(shape: &[usize]) -> Result<usize, TensorError> {
    let extent = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d.max(1)));
    match (extent, checked_numel(shape)) {
        (Some(e), Some(n)) if e <= MAX_ELEMENTS => Ok(n),
        _ => Err(TensorError::TooLarge { shape: shape.to_vec() }),
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Data({}, {} elements)", self.dtype(), self.len())
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:?}", self.dtype(), self.shape)?;
        const SHOW: usize = 8;
        let n = self.len();
        let shown = n.min(SHOW);
        let items: Vec<String> = match &*self.data {
            Data::String(v) => v[..shown].iter().map(|s| format!("{s:?}")).collect(),
            d => {
                dispatch_elem!(d, v => v[..shown].iter().map(|x| format!("{x:?}")).collect(), else vec![])
            }
        };
        write!(f, " [{}{}]", items.join(", "), if n > SHOW { ", ..." } else { "" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn construct_and_read() {
        let t = Tensor::from_vec(vec![2, 2], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(t.dtype(), DType::F32);
        assert_eq!(t.typed::<f32>().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
        assert!(t.typed::<i64>().is_err());
        assert!(Tensor::from_vec(vec![3], vec![1i64, 2]).is_err());
    }

    #[test]
    fn reshape_shares_and_write_copies() {
        let a = Tensor::from_vec(vec![4], vec![1i32, 2, 3, 4]).unwrap();
        let mut b = a.reshape(vec![2, 2]).unwrap();
        b.typed_mut::<i32>().unwrap()[0] = 9;
        assert_eq!(a.typed::<i32>().unwrap()[0], 1);
        assert_eq!(b.typed::<i32>().unwrap()[0], 9);
        assert!(a.reshape(vec![3]).is_err());
    }

    #[test]
    fn size_limit() {
        assert!(Tensor::zeros(DType::F32, vec![1 << 20, 1 << 20]).is_err());
        assert!(Tensor::zeros(DType::F32, vec![0, 1 << 40]).is_err(), "empty but huge extent");
        assert_eq!(check_numel(&[0, 1 << 20]).unwrap(), 0);
        assert!(Tensor::zeros(DType::F32, vec![usize::MAX, 2]).is_err());
    }

    #[test]
    fn elem_casts_follow_numpy() {
        assert_eq!(i8::from_f64(-1.9), -1);
        assert_eq!(u8::from_f64(300.0), 44);
        assert!(bool::from_f64(0.5));
        assert_eq!(i32::from_f64(f64::NAN), 0);
    }

    #[test]
    fn low_precision_elements() {
        // Cast semantics: int4 truncates then wraps like int8; float8 saturates; E8M0 rounds up.
        assert_eq!(I4::from_f64(-9.7).get(), 7);
        assert_eq!(U2::from_f64(-3.0).get(), 1);
        assert_eq!(I4::from_f64(f64::NAN).get(), 0);
        assert_eq!(F8E4M3Fn::from_f64(1e6).to_f64(), 448.0);
        assert_eq!(F8E8M0::from_f64(1.1).to_f64(), 2.0);
        let t = Tensor::from_vec(vec![3], vec![I4::from_f64(-8.0), I4::from_f64(0.0), I4::from_f64(7.0)]).unwrap();
        assert_eq!(t.dtype(), DType::I4);
        assert_eq!(t.to_f64_vec().unwrap(), vec![-8.0, 0.0, 7.0]);
        assert!(t.to_i64_vec().is_err(), "int4 is not an index type");
        for d in DType::ALL {
            assert_eq!(Data::zeros(d, 2).dtype(), d);
        }
        let z = Tensor::zeros(DType::F8E5M2, vec![2]).unwrap();
        assert_eq!(z.to_f32_vec().unwrap(), vec![0.0, 0.0]);
        assert_eq!(format!("{:?}", Tensor::scalar(F8E5M2::from_f64(-1.5))), "f8e5m2[] [-1.5]");
    }
}
