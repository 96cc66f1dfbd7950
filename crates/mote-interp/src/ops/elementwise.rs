//! Element-wise ops.
//!
//! Floats compute in their own precision (f16/bf16 in f32, rounded once); integers wrap like
//! C and numpy; integer division by zero is an error, not a panic.

use mote_ir::ops::elementwise::{Binary, ElementwiseOp, RoundMode, Unary, Variadic};
use mote_ir::{
    DType, Data, Elem, F4E2M1, F8E4M3Fn, F8E4M3Fnuz, F8E5M2, F8E5M2Fnuz, F8E8M0, I2, I4, Tensor, U2, U4, Value, bf16,
    dispatch, f16,
};
use mote_kernels::reference::elementwise::{broadcast_dims, ref_binary, ref_map, ref_ternary};
use mote_kernels::reference::unary::unary_float;
use num_traits::Float;

use super::{EvalCx, Inputs, downcast, one, upcast};
use crate::error::OpError;
use crate::{bail, op_err};

pub fn eval(op: &ElementwiseOp, inputs: &Inputs<'_>, _cx: &EvalCx<'_>, _n: usize) -> Result<Vec<Value>, OpError> {
    match op {
        ElementwiseOp::Unary(u) => one(unary(*u, inputs.tensor(0)?)?),
        ElementwiseOp::Binary(b) => one(binary(*b, inputs.tensor(0)?, inputs.tensor(1)?)?),
        ElementwiseOp::Variadic(v) => {
            let ts = inputs.tensors()?;
            let Some((first, rest)) = ts.split_first() else { bail!("needs at least one input") };
            let mut acc = (*first).clone();
            for t in rest {
                acc = variadic_step(*v, &acc, t)?;
            }
            if *v == Variadic::Mean {
                let n = Tensor::scalar(ts.len() as f64);
                let n = cast(&n, acc.dtype())?;
                acc = binary(Binary::Div, &acc, &n)?;
            }
            one(acc)
        }
        ElementwiseOp::Where => one(where_(inputs.tensor(0)?, inputs.tensor(1)?, inputs.tensor(2)?)?),
        ElementwiseOp::Clip => one(clip(inputs.tensor(0)?, inputs.opt_tensor(1)?, inputs.opt_tensor(2)?)?),
        ElementwiseOp::Cast { to, saturate, round_mode } => {
            one(cast_with(inputs.tensor(0)?, *to, *saturate, *round_mode)?)
        }
        ElementwiseOp::CastLike { saturate, round_mode } => {
            one(cast_with(inputs.tensor(0)?, inputs.tensor(1)?.dtype(), *saturate, *round_mode)?)
        }
    }
}

fn same_shape(t: &Tensor, data: Data) -> Result<Tensor, OpError> {
    Ok(Tensor::new(t.shape().to_vec(), data)?)
}

fn map<A: Elem, O: Elem>(x: &[A], f: impl Fn(A) -> O) -> Vec<O> {
    let mut out = vec![O::default(); x.len()];
    ref_map(x, &mut out, f);
    out
}

/// Unary ops.
pub fn unary(u: Unary, t: &Tensor) -> Result<Tensor, OpError> {
    let dtype = t.dtype();
    match u {
        Unary::Not => return same_shape(t, Data::Bool(map(t.typed::<bool>()?, |x| !x))),
        Unary::BitwiseNot => {
            return dispatch!(t.data(), [I8, U8, I16, U16, I32, U32, I64, U64], v => same_shape(t, T::wrap(map(v, |x| !x))),
                else Err(op_err!("BitwiseNot needs an integer tensor, got {dtype}")));
        }
        Unary::IsNaN | Unary::IsInf { .. } => {
            let x = upcast(t)?;
            let out = dispatch!(x.data(), [F32, F64], v => map(v, |x| float_predicate(u, x)),
                else bail!("{} needs a float tensor, got {dtype}", u.name()));
            return same_shape(t, Data::Bool(out));
        }
        _ => {}
    }
    if dtype.is_float() {
        let x = upcast(t)?;
        let y = dispatch!(x.data(), [F32, F64], v => same_shape(t, T::wrap(map(v, |x| unary_float(u, x))))?,
            else unreachable!("upcast yields f32 or f64"));
        return downcast(y, dtype);
    }
    if dtype.is_int() {
        return dispatch!(t.data(), [I8, U8, I16, U16, I32, U32, I64, U64], v => {
            let f = int_unary::<T>(u).ok_or_else(|| op_err!("{} is not defined for {dtype}", u.name()))?;
            same_shape(t, T::wrap(map(v, f)))
        }, else unreachable!());
    }
    bail!("{} is not defined for {dtype}", u.name())
}

fn float_predicate<T: Float>(u: Unary, x: T) -> bool {
    match u {
        Unary::IsNaN => x.is_nan(),
        Unary::IsInf { detect_positive, detect_negative } => {
            x.is_infinite() && ((x > T::zero() && detect_positive) || (x < T::zero() && detect_negative))
        }
        _ => false,
    }
}

/// Integer arithmetic with C/numpy semantics (wrapping).
pub trait Int: Elem {
    const SIGNED: bool;
    fn to_i128(self) -> i128;
    fn from_i128(x: i128) -> Self;
}

macro_rules! impl_int {
    ($($t:ty: $s:expr),*) => {$(
        impl Int for $t {
            const SIGNED: bool = $s;
            fn to_i128(self) -> i128 { self as i128 }
            fn from_i128(x: i128) -> Self { x as $t }
        }
    )*};
}
impl_int!(i8: true, u8: false, i16: true, u16: false, i32: true, u32: false, i64: true, u64: false);

fn int_unary<T: Int>(u: Unary) -> Option<fn(T) -> T> {
    Some(match u {
        Unary::Abs => |x: T| T::from_i128(x.to_i128().abs()),
        Unary::Neg => |x: T| T::from_i128(-x.to_i128()),
        Unary::Sign => |x: T| T::from_i128(x.to_i128().signum()),
        Unary::Relu => |x: T| T::from_i128(x.to_i128().max(0)),
        Unary::Shrink { .. } => return None,
        _ => return None,
    })
}

/// The broadcast output shape of two tensors, with a clear error.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, OpError> {
    let mut out = [0usize; mote_core::MAX_RANK];
    let r =
        broadcast_dims(a, b, &mut out).ok_or_else(|| op_err!("shapes {a:?} and {b:?} cannot be broadcast together"))?;
    let shape = out[..r].to_vec();
    super::numel(&shape)?;
    Ok(shape)
}

fn bin<A: Copy, B: Copy, O: Elem>(
    a: &[A],
    ad: &[usize],
    b: &[B],
    bd: &[usize],
    out_dims: &[usize],
    f: impl Fn(A, B) -> O,
) -> Vec<O> {
    let n = out_dims.iter().product();
    let mut out = vec![O::default(); n];
    ref_binary(a, ad, b, bd, &mut out, out_dims, f);
    out
}

/// Broadcasting binary ops.
pub fn binary(op: Binary, a: &Tensor, b: &Tensor) -> Result<Tensor, OpError> {
    let (ad, bd) = (a.shape(), b.shape());
    if op == Binary::PRelu {
        // Unidirectional: the slope broadcasts to x.
        let out = broadcast_shape(ad, bd)?;
        if out != ad {
            bail!("PRelu slope of shape {bd:?} does not broadcast to x of shape {ad:?}");
        }
        let (x, s) = (upcast(a)?, upcast(b)?);
        let y = match (x.data(), s.data()) {
            (Data::F32(x), Data::F32(s)) => Data::F32(bin(x, ad, s, bd, &out, |x, s| if x < 0.0 { s * x } else { x })),
            (Data::F64(x), Data::F64(s)) => Data::F64(bin(x, ad, s, bd, &out, |x, s| if x < 0.0 { s * x } else { x })),
            _ => dispatch!(x.data(), [I8, I16, I32, I64, U8, U16, U32, U64], xv => {
                let sv = s.typed::<T>()?;
                T::wrap(bin(xv, ad, sv, bd, &out, |x: T, s: T| if x.to_i128() < 0 { T::from_i128(s.to_i128() * x.to_i128()) } else { x }))
            }, else bail!("PRelu needs numeric inputs of one dtype, got {} and {}", a.dtype(), b.dtype())),
        };
        return downcast(Tensor::new(out, y)?, a.dtype());
    }
    if op == Binary::Pow {
        return pow(a, b);
    }
    if let Binary::BitShift { left } = op {
        return bitshift(a, b, left);
    }
    if a.dtype() != b.dtype() {
        bail!("{} needs inputs of one dtype, got {} and {}", op.name(), a.dtype(), b.dtype());
    }
    let out = broadcast_shape(ad, bd)?;
    let dtype = a.dtype();
    let bad = || op_err!("{} is not defined for {dtype}", op.name());
    let data = match op {
        Binary::And | Binary::Or | Binary::Xor => {
            let (x, y) = (a.typed::<bool>().map_err(|_| bad())?, b.typed::<bool>()?);
            Data::Bool(match op {
                Binary::And => bin(x, ad, y, bd, &out, |p, q| p && q),
                Binary::Or => bin(x, ad, y, bd, &out, |p, q| p || q),
                _ => bin(x, ad, y, bd, &out, |p, q| p != q),
            })
        }
        Binary::Equal | Binary::Less | Binary::LessOrEqual | Binary::Greater | Binary::GreaterOrEqual => {
            Data::Bool(compare(op, a, b, &out)?)
        }
        Binary::BitwiseAnd | Binary::BitwiseOr | Binary::BitwiseXor => {
            dispatch!(a.data(), [I8, U8, I16, U16, I32, U32, I64, U64, Bool], x => {
                let y = b.typed::<T>()?;
                T::wrap(match op {
                    Binary::BitwiseAnd => bin(x, ad, y, bd, &out, |p, q| p & q),
                    Binary::BitwiseOr => bin(x, ad, y, bd, &out, |p, q| p | q),
                    _ => bin(x, ad, y, bd, &out, |p, q| p ^ q),
                })
            }, else return Err(bad()))
        }
        Binary::Add | Binary::Sub | Binary::Mul | Binary::Div | Binary::Mod { .. } => {
            if dtype.is_float() {
                let (x, y) = (upcast(a)?, upcast(b)?);
                let r = dispatch!(x.data(), [F32, F64], xv => {
                    let yv = y.typed::<T>()?;
                    T::wrap(bin(xv, ad, yv, bd, &out, |p, q| float_arith(op, p, q)))
                }, else unreachable!());
                return downcast(Tensor::new(out, r)?, dtype);
            }
            dispatch!(a.data(), [I8, U8, I16, U16, I32, U32, I64, U64], xv => {
                let yv = b.typed::<T>()?;
                if matches!(op, Binary::Div | Binary::Mod { .. }) && yv.iter().any(|q| q.to_i128() == 0) {
                    bail!("integer {} by zero", op.name());
                }
                T::wrap(bin(xv, ad, yv, bd, &out, |p: T, q: T| T::from_i128(int_arith(op, p.to_i128(), q.to_i128()))))
            }, else return Err(bad()))
        }
        Binary::Pow | Binary::BitShift { .. } | Binary::PRelu => unreachable!("handled above"),
    };
    Ok(Tensor::new(out, data)?)
}

fn float_arith<T: Float>(op: Binary, p: T, q: T) -> T {
    match op {
        Binary::Add => p + q,
        Binary::Sub => p - q,
        Binary::Mul => p * q,
        Binary::Div => p / q,
        Binary::Mod { fmod: true } => p % q,
        Binary::Mod { fmod: false } => {
            // Python semantics: the result has the divisor's sign.
            let r = p % q;
            if r != T::zero() && ((r < T::zero()) != (q < T::zero())) { r + q } else { r }
        }
        _ => unreachable!("arithmetic ops only"),
    }
}

fn int_arith(op: Binary, p: i128, q: i128) -> i128 {
    match op {
        Binary::Add => p + q,
        Binary::Sub => p - q,
        Binary::Mul => p.wrapping_mul(q),
        Binary::Div => p / q,
        Binary::Mod { fmod: true } => p % q,
        Binary::Mod { fmod: false } => p.rem_euclid(q) + if q < 0 && p.rem_euclid(q) != 0 { q } else { 0 },
        _ => unreachable!("arithmetic ops only"),
    }
}

fn compare(op: Binary, a: &Tensor, b: &Tensor, out: &[usize]) -> Result<Vec<bool>, OpError> {
    let (ad, bd) = (a.shape(), b.shape());
    fn cmp<T: PartialOrd>(op: Binary, p: &T, q: &T) -> bool {
        match op {
            Binary::Equal => p == q,
            Binary::Less => p < q,
            Binary::LessOrEqual => p <= q,
            Binary::Greater => p > q,
            _ => p >= q,
        }
    }
    if let (Some(x), Some(y)) = (a.strings(), b.strings()) {
        let xr: Vec<&String> = x.iter().collect();
        let yr: Vec<&String> = y.iter().collect();
        return Ok(bin(&xr, ad, &yr, bd, out, |p, q| cmp(op, p, q)));
    }
    Ok(dispatch!(a.data(), [F32, F64, F16, BF16, I8, U8, I16, U16, I32, U32, I64, U64, Bool], x => {
        let y = b.typed::<T>()?;
        bin(x, ad, y, bd, out, |p, q| cmp(op, &p, &q))
    }, else bail!("{} is not defined for {}", op.name(), a.dtype())))
}

fn pow(a: &Tensor, b: &Tensor) -> Result<Tensor, OpError> {
    let out = broadcast_shape(a.shape(), b.shape())?;
    let dtype = a.dtype();
    if !dtype.is_numeric() || !b.dtype().is_numeric() {
        bail!("Pow needs numeric inputs, got {} and {}", dtype, b.dtype());
    }
    if dtype == DType::F32 && b.dtype() == DType::F32 {
        let r = bin(a.typed::<f32>()?, a.shape(), b.typed::<f32>()?, b.shape(), &out, |x: f32, y: f32| x.powf(y));
        return Ok(Tensor::from_vec(out, r)?);
    }
    // Mixed or other dtypes: compute in f64, convert to the base's dtype.
    let x = a.to_f64_vec()?;
    let y = b.to_f64_vec()?;
    let r: Vec<f64> = bin(&x, a.shape(), &y, b.shape(), &out, |x: f64, y: f64| x.powf(y));
    let t = Tensor::from_vec(out, r)?;
    cast(&t, dtype)
}

fn bitshift(a: &Tensor, b: &Tensor, left: bool) -> Result<Tensor, OpError> {
    if a.dtype() != b.dtype() {
        bail!("BitShift needs inputs of one dtype, got {} and {}", a.dtype(), b.dtype());
    }
    let out = broadcast_shape(a.shape(), b.shape())?;
    let bits = a.dtype().size().unwrap_or(0) as u32 * 8;
    let data = dispatch!(a.data(), [U8, U16, U32, U64], x => {
        let y = b.typed::<T>()?;
        T::wrap(bin(x, a.shape(), y, b.shape(), &out, |p: T, q: T| {
            let (p, q) = (p.to_i128() as u128, q.to_i128() as u128);
            if q >= bits as u128 { T::from_i128(0) } else if left { T::from_i128((p << q) as i128) } else { T::from_i128((p >> q) as i128) }
        }))
    }, else bail!("BitShift needs an unsigned integer tensor, got {}", a.dtype()));
    Ok(Tensor::new(out, data)?)
}

fn variadic_step(v: Variadic, a: &Tensor, b: &Tensor) -> Result<Tensor, OpError> {
    match v {
        Variadic::Sum | Variadic::Mean => binary(Binary::Add, a, b),
        Variadic::Max | Variadic::Min => {
            if a.dtype() != b.dtype() {
                bail!("{} needs inputs of one dtype, got {} and {}", v.name(), a.dtype(), b.dtype());
            }
            let out = broadcast_shape(a.shape(), b.shape())?;
            let max = v == Variadic::Max;
            let pick = move |p: f64, q: f64| {
                if p.is_nan() || q.is_nan() {
                    f64::NAN
                } else if (p > q) == max {
                    p
                } else {
                    q
                }
            };
            let data = match (a.data(), b.data()) {
                (Data::F32(x), Data::F32(y)) => {
                    Data::F32(bin(x, a.shape(), y, b.shape(), &out, |p, q| pick(p as f64, q as f64) as f32))
                }
                (Data::F64(x), Data::F64(y)) => Data::F64(bin(x, a.shape(), y, b.shape(), &out, pick)),
                (Data::F16(x), Data::F16(y)) => {
                    Data::F16(bin(x, a.shape(), y, b.shape(), &out, |p, q| f16::from_f64(pick(p.to_f64(), q.to_f64()))))
                }
                (Data::BF16(x), Data::BF16(y)) => Data::BF16(bin(x, a.shape(), y, b.shape(), &out, |p, q| {
                    bf16::from_f64(pick(p.to_f64(), q.to_f64()))
                })),
                _ => dispatch!(a.data(), [I8, U8, I16, U16, I32, U32, I64, U64], x => {
                    let y = b.typed::<T>()?;
                    T::wrap(bin(x, a.shape(), y, b.shape(), &out, |p: T, q: T| if (p > q) == max { p } else { q }))
                }, else bail!("{} is not defined for {}", v.name(), a.dtype())),
            };
            Ok(Tensor::new(out, data)?)
        }
    }
}

fn where_(cond: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor, OpError> {
    if x.dtype() != y.dtype() {
        bail!("Where needs X and Y of one dtype, got {} and {}", x.dtype(), y.dtype());
    }
    let c = cond.typed::<bool>().map_err(|_| op_err!("Where's condition must be bool, got {}", cond.dtype()))?;
    let out = broadcast_shape(&broadcast_shape(cond.shape(), x.shape())?, y.shape())?;
    let n = super::numel(&out)?;
    let data = if let (Some(xs), Some(ys)) = (x.strings(), y.strings()) {
        // Select indices, then strings.
        let xi: Vec<usize> = (0..xs.len()).collect();
        let yi: Vec<usize> = (0..ys.len()).collect();
        let mut pick = vec![(false, 0usize); n];
        ref_ternary((c, cond.shape()), (&xi, x.shape()), (&yi, y.shape()), &mut pick, &out, |c, p, q| {
            if c { (true, p) } else { (false, q) }
        });
        Data::String(pick.into_iter().map(|(from_x, i)| if from_x { xs[i].clone() } else { ys[i].clone() }).collect())
    } else {
        mote_ir::dispatch_elem!(x.data(), xv => {
            let yv = y.typed::<T>()?;
            let mut o = vec![T::default(); n];
            ref_ternary((c, cond.shape()), (xv, x.shape()), (yv, y.shape()), &mut o, &out, |c, p, q| if c { p } else { q });
            T::wrap(o)
        }, else unreachable!("strings handled above"))
    };
    Ok(Tensor::new(out, data)?)
}

fn clip(x: &Tensor, lo: Option<&Tensor>, hi: Option<&Tensor>) -> Result<Tensor, OpError> {
    let bound = |t: Option<&Tensor>, what: &str| -> Result<Option<Tensor>, OpError> {
        match t {
            None => Ok(None),
            Some(t) if t.is_empty() => Ok(None),
            Some(t) if t.len() == 1 => Ok(Some(cast(t, x.dtype())?)),
            Some(t) => Err(op_err!("Clip's {what} must be a scalar, got shape {:?}", t.shape())),
        }
    };
    let (lo, hi) = (bound(lo, "min")?, bound(hi, "max")?);
    let data = dispatch!(x.data(), [F32, F64, F16, BF16, I8, U8, I16, U16, I32, U32, I64, U64], v => {
        let l = lo.as_ref().map(|t| t.typed::<T>().map(|s| s[0])).transpose()?;
        let h = hi.as_ref().map(|t| t.typed::<T>().map(|s| s[0])).transpose()?;
        T::wrap(map(v, |mut e: T| {
            if let Some(l) = l && e < l { e = l; }
            if let Some(h) = h && e > h { e = h; }
            e
        }))
    }, else bail!("Clip is not defined for {}", x.dtype()));
    same_shape(x, data)
}

/// ONNX `Cast` with the default attributes (`saturate=1`, `round_mode="up"`).
pub fn cast(t: &Tensor, to: DType) -> Result<Tensor, OpError> {
    cast_with(t, to, true, RoundMode::Up)
}

/// ONNX `Cast`: numeric conversions truncate toward zero and wrap like numpy (int4/int2
/// included); bool is `x != 0`; strings parse and print numbers. Conversions to float8/float4
/// round to nearest even and, with `saturate`, clamp out-of-range values to the largest finite
/// value (else Inf/NaN); float8 E8M0 rounds per `round_mode`.
pub fn cast_with(t: &Tensor, to: DType, saturate: bool, round_mode: RoundMode) -> Result<Tensor, OpError> {
    let from = t.dtype();
    if from == to {
        return Ok(t.clone());
    }
    let data = if let Some(strings) = t.strings() {
        let mut vals = Vec::with_capacity(strings.len());
        for s in strings {
            vals.push(parse_number(s).ok_or_else(|| op_err!("cannot cast string {s:?} to {to}"))?);
        }
        let f = Tensor::from_vec(t.shape().to_vec(), vals)?;
        return cast_with(&f, to, saturate, round_mode);
    } else if to == DType::String {
        let v: Vec<String> =
            mote_ir::dispatch_elem!(t.data(), v => v.iter().map(|x| format_number(*x)).collect(), else unreachable!());
        Data::String(v)
    } else if from.is_int() || from == DType::Bool {
        let ints: Vec<i128> = match t.data() {
            Data::Bool(v) => v.iter().map(|&b| b as i128).collect(),
            d => {
                mote_ir::dispatch_int!(d, v => v.iter().map(|x| x.to_i128()).collect(), else unreachable!())
            }
        };
        match to {
            DType::Bool => Data::Bool(ints.iter().map(|&x| x != 0).collect()),
            DType::F32 => Data::F32(ints.iter().map(|&x| x as f32).collect()),
            DType::F64 => Data::F64(ints.iter().map(|&x| x as f64).collect()),
            DType::F16 => Data::F16(ints.iter().map(|&x| f16::from_f64(x as f64)).collect()),
            DType::BF16 => Data::BF16(ints.iter().map(|&x| bf16::from_f64(x as f64)).collect()),
            DType::I4 => Data::I4(ints.iter().map(|&x| I4::wrapping_from(x as i64)).collect()),
            DType::U4 => Data::U4(ints.iter().map(|&x| U4::wrapping_from(x as i64)).collect()),
            DType::I2 => Data::I2(ints.iter().map(|&x| I2::wrapping_from(x as i64)).collect()),
            DType::U2 => Data::U2(ints.iter().map(|&x| U2::wrapping_from(x as i64)).collect()),
            d if d.is_low_precision_float() => {
                let f: Vec<f64> = ints.iter().map(|&x| x as f64).collect();
                to_low_precision_float(&f, to, saturate, round_mode)?
            }
            _ => {
                let z = Data::zeros(to, 0);
                mote_ir::dispatch_int!(z, _v => T::wrap(ints.iter().map(|&x| T::from_i128(x)).collect()), else unreachable!())
            }
        }
    } else {
        let f = t.to_f64_vec()?;
        match to {
            DType::F32 if from == DType::F64 => Data::F32(f.iter().map(|&x| x as f32).collect()),
            DType::F16 if from == DType::F32 => {
                Data::F16(t.typed::<f32>()?.iter().map(|&x| f16::from_f32(x)).collect())
            }
            DType::BF16 if from == DType::F32 => {
                Data::BF16(t.typed::<f32>()?.iter().map(|&x| bf16::from_f32(x)).collect())
            }
            d if d.is_low_precision_float() => to_low_precision_float(&f, to, saturate, round_mode)?,
            _ => {
                let z = Data::zeros(to, 0);
                mote_ir::dispatch_elem!(z, _v => T::wrap(f.iter().map(|&x| T::from_f64(x)).collect()), else unreachable!())
            }
        }
    };
    same_shape(t, data)
}

/// Values (exact as f64) converted to a float8/float4 dtype.
fn to_low_precision_float(f: &[f64], to: DType, saturate: bool, mode: RoundMode) -> Result<Data, OpError> {
    macro_rules! conv {
        ($t:ident) => {
            Data::$t(f.iter().map(|&x| $t::from_f64_with(x, saturate)).collect())
        };
    }
    Ok(match to {
        DType::F8E4M3Fn => conv!(F8E4M3Fn),
        DType::F8E4M3Fnuz => conv!(F8E4M3Fnuz),
        DType::F8E5M2 => conv!(F8E5M2),
        DType::F8E5M2Fnuz => conv!(F8E5M2Fnuz),
        DType::F4E2M1 => conv!(F4E2M1),
        DType::F8E8M0 => Data::F8E8M0(f.iter().map(|&x| F8E8M0::from_f64_with(x, saturate, mode)).collect()),
        _ => bail!("{to} is not a float8/float4 type"),
    })
}

fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        "true" => Some(1.0),
        "false" => Some(0.0),
        _ => s.parse::<f64>().ok(),
    }
}

fn format_number<T: Elem>(x: T) -> String {
    let s = format!("{x:?}");
    match s.as_str() {
        "inf" => "INF".into(),
        "-inf" => "-INF".into(),
        "NaN" => "NaN".into(),
        _ => s.strip_suffix(".0").map(str::to_string).unwrap_or(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t32(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
    }

    #[test]
    fn add_broadcasts() {
        let a = t32(&[2, 1], &[1.0, 2.0]);
        let b = t32(&[3], &[10.0, 20.0, 30.0]);
        let c = binary(Binary::Add, &a, &b).unwrap();
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(c.typed::<f32>().unwrap(), &[11.0, 21.0, 31.0, 12.0, 22.0, 32.0]);
        assert!(binary(Binary::Add, &t32(&[2], &[1.0, 2.0]), &t32(&[3], &[1.0, 2.0, 3.0])).is_err());
    }

    #[test]
    fn integer_division_by_zero_is_an_error() {
        let a = Tensor::from_vec(vec![2], vec![4i32, 5]).unwrap();
        let b = Tensor::from_vec(vec![2], vec![2i32, 0]).unwrap();
        assert!(binary(Binary::Div, &a, &b).unwrap_err().0.contains("by zero"));
    }

    #[test]
    fn python_and_c_modulo() {
        let a = Tensor::from_vec(vec![2], vec![-7i64, 7]).unwrap();
        let b = Tensor::from_vec(vec![2], vec![3i64, -3]).unwrap();
        let py = binary(Binary::Mod { fmod: false }, &a, &b).unwrap();
        assert_eq!(py.typed::<i64>().unwrap(), &[2, -2]);
        let c = binary(Binary::Mod { fmod: true }, &a, &b).unwrap();
        assert_eq!(c.typed::<i64>().unwrap(), &[-1, 1]);
    }

    #[test]
    fn round_half_even_and_f16_path() {
        let r = unary(Unary::Round, &t32(&[4], &[0.5, 1.5, 2.5, -2.5])).unwrap();
        assert_eq!(r.typed::<f32>().unwrap(), &[0.0, 2.0, 2.0, -2.0]);
        let h = cast(&t32(&[2], &[1.0, -4.0]), DType::F16).unwrap();
        let s = unary(Unary::Sqrt, &unary(Unary::Abs, &h).unwrap()).unwrap();
        assert_eq!(s.dtype(), DType::F16);
        assert_eq!(s.to_f32_vec().unwrap(), vec![1.0, 2.0]);
    }

    #[test]
    fn cast_wraps_and_truncates() {
        let x = t32(&[3], &[-1.7, 300.2, 2.9]);
        assert_eq!(cast(&x, DType::I32).unwrap().typed::<i32>().unwrap(), &[-1, 300, 2]);
        assert_eq!(cast(&x, DType::U8).unwrap().typed::<u8>().unwrap(), &[255, 44, 2]);
        let i = Tensor::from_vec(vec![2], vec![256i64, -1]).unwrap();
        assert_eq!(cast(&i, DType::U8).unwrap().typed::<u8>().unwrap(), &[0, 255]);
        let s = cast(&t32(&[2], &[1.5, 2.0]), DType::String).unwrap();
        assert_eq!(s.strings().unwrap(), &["1.5".to_string(), "2".to_string()]);
        assert_eq!(cast(&s, DType::F64).unwrap().typed::<f64>().unwrap(), &[1.5, 2.0]);
    }

    #[test]
    fn cast_to_and_from_low_precision() {
        let x = t32(&[4], &[0.48, 1e6, f32::INFINITY, -1e-7]);
        let sat = cast(&x, DType::F8E4M3Fn).unwrap();
        assert_eq!(sat.to_f32_vec().unwrap(), vec![0.46875, 448.0, 448.0, -0.0]);
        let raw = cast_with(&x, DType::F8E4M3Fn, false, RoundMode::Up).unwrap();
        let v = raw.to_f32_vec().unwrap();
        assert!(v[0] == 0.46875 && v[1].is_nan() && v[2].is_nan());
        let e5 = cast_with(&x, DType::F8E5M2, false, RoundMode::Up).unwrap();
        assert_eq!(e5.to_f32_vec().unwrap()[1..3], [f32::INFINITY, f32::INFINITY]);
        // float8 -> float8 goes through the exact value.
        let back = cast(&cast(&t32(&[1], &[57344.0]), DType::F8E5M2).unwrap(), DType::F8E4M3Fnuz).unwrap();
        assert_eq!(back.to_f32_vec().unwrap(), vec![240.0]);
        // E8M0 rounding modes.
        let e8 = |m| cast_with(&t32(&[2], &[1.1, 1.6]), DType::F8E8M0, true, m).unwrap().to_f32_vec().unwrap();
        assert_eq!(e8(RoundMode::Up), vec![2.0, 2.0]);
        assert_eq!(e8(RoundMode::Down), vec![1.0, 1.0]);
        assert_eq!(e8(RoundMode::Nearest), vec![1.0, 2.0]);
        // Integers wrap into int4/int2 and sign-extend out of them.
        let i = Tensor::from_vec(vec![3], vec![200i64, -9, 7]).unwrap();
        assert_eq!(cast(&i, DType::I4).unwrap().to_f64_vec().unwrap(), vec![-8.0, 7.0, 7.0]);
        assert_eq!(cast(&i, DType::U2).unwrap().to_f64_vec().unwrap(), vec![0.0, 3.0, 3.0]);
        let i4 = cast(&i, DType::I4).unwrap();
        assert_eq!(cast(&i4, DType::U8).unwrap().typed::<u8>().unwrap(), &[248, 7, 7]);
        assert_eq!(cast(&t32(&[2], &[-2.7, 9.0]), DType::I4).unwrap().to_f64_vec().unwrap(), vec![-2.0, -7.0]);
        assert_eq!(cast(&i4, DType::F4E2M1).unwrap().to_f32_vec().unwrap(), vec![-6.0, 6.0, 6.0]);
        // Strings in and out.
        let s = cast(&sat, DType::String).unwrap();
        assert_eq!(s.strings().unwrap(), &["0.46875", "448", "448", "-0"]);
        let nan = cast(&cast(&t32(&[1], &[f32::NAN]), DType::F8E5M2).unwrap(), DType::String).unwrap();
        assert_eq!(nan.strings().unwrap(), &["NaN"]);
        let from_s = Tensor::from_strings(vec![2], vec!["1000".into(), "-0.3".into()]).unwrap();
        assert_eq!(cast(&from_s, DType::F8E4M3Fn).unwrap().to_f32_vec().unwrap(), vec![448.0, -0.3125]);
        assert_eq!(cast(&from_s, DType::I4).unwrap().to_f64_vec().unwrap(), vec![-8.0, 0.0]);
        // Low-precision inputs to bool: non-zero (NaN included) is true.
        let b = cast(&nan.clone(), DType::F8E4M3Fn).and_then(|t| cast(&t, DType::Bool)).unwrap();
        assert_eq!(b.typed::<bool>().unwrap(), &[true]);
        // Arithmetic refuses them instead of panicking.
        assert!(binary(Binary::Add, &sat, &sat).is_err());
        assert!(unary(Unary::Abs, &i4).is_err());
    }

    #[test]
    fn where_selects_with_broadcast() {
        let c = Tensor::from_vec(vec![2], vec![true, false]).unwrap();
        let x = t32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let y = t32(&[], &[0.0]);
        let w = where_(&c, &x, &y).unwrap();
        assert_eq!(w.typed::<f32>().unwrap(), &[1.0, 0.0, 3.0, 0.0]);
    }
}
