//! `Unary`: y = f(x) element-wise on f32 or f64 (y of x's type), in place when y is x.
//!
//! Attributes: `[code, p0, p1]` with [`UnaryCode`] or [`CLIP`] (parameters as f32 bits, unused
//! ones 0).

use mote_core::DType;
use mote_format::StepRef;
use mote_kernels::reference::unary::{Unary as U, unary_float};

use super::{Io, inp, out, want, want_numel};
use crate::error::StepFault;
use crate::words::Words;

/// Stable codes of the unary functions (never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnaryCode;

/// Every function by code; index = code - 1.
const TABLE: &[fn(f32, f32) -> U] = &[
    |_, _| U::Abs,
    |_, _| U::Neg,
    |_, _| U::Floor,
    |_, _| U::Ceil,
    |_, _| U::Round,
    |_, _| U::Sqrt,
    |_, _| U::Reciprocal,
    |_, _| U::Exp,
    |_, _| U::Log,
    |_, _| U::Sin,
    |_, _| U::Cos,
    |_, _| U::Tan,
    |_, _| U::Asin,
    |_, _| U::Acos,
    |_, _| U::Atan,
    |_, _| U::Sinh,
    |_, _| U::Cosh,
    |_, _| U::Tanh,
    |_, _| U::Asinh,
    |_, _| U::Acosh,
    |_, _| U::Atanh,
    |_, _| U::Sigmoid,
    |_, _| U::Relu,
    |_, _| U::Softplus,
    |_, _| U::Softsign,
    |_, _| U::Erf,
    |_, _| U::Sign,
    |_, _| U::Mish,
    |_, _| U::HardSwish,
    |a, _| U::LeakyRelu { alpha: a },
    |a, _| U::Elu { alpha: a },
    |a, g| U::Selu { alpha: a, gamma: g },
    |a, _| U::Celu { alpha: a },
    |a, b| U::HardSigmoid { alpha: a, beta: b },
    |a, _| U::ThresholdedRelu { alpha: a },
    |b, l| U::Shrink { bias: b, lambd: l },
    |_, _| U::Gelu { tanh: false },
    |_, _| U::Gelu { tanh: true },
    |a, _| U::Swish { alpha: a },
];

impl UnaryCode {
    /// The code and parameters of a float-to-float unary function, if it has one.
    pub fn of(u: U) -> Option<(u32, f32, f32)> {
        let (p0, p1) = match u {
            U::LeakyRelu { alpha }
            | U::Elu { alpha }
            | U::Celu { alpha }
            | U::ThresholdedRelu { alpha }
            | U::Swish { alpha } => (alpha, 0.0),
            U::Selu { alpha, gamma } => (alpha, gamma),
            U::HardSigmoid { alpha, beta } => (alpha, beta),
            U::Shrink { bias, lambd } => (bias, lambd),
            _ => (0.0, 0.0),
        };
        let code = TABLE.iter().position(|f| f(p0, p1) == u)?;
        Some((code as u32 + 1, p0, p1))
    }

    fn decode(code: u32, p0: f32, p1: f32) -> Option<U> {
        TABLE.get((code as usize).checked_sub(1)?).map(|f| f(p0, p1))
    }
}

/// `Clip(p0, p1)`: `min(max(x, p0), p1)` (not a [`U`] function: ONNX gives its bounds as inputs).
pub const CLIP: u32 = 40;

#[derive(Clone, Copy, Debug)]
pub struct Unary {
    f: U,
    clip: Option<(f32, f32)>,
    f64: bool,
}

impl Unary {
    pub fn decode(step: &StepRef<'_>, io: &Io<'_>) -> Result<Unary, StepFault> {
        io.arity(1, 1, 1)?;
        let mut w = Words::new(step);
        let (code, p0, p1) = (w.u32()?, w.f32()?, w.f32()?);
        w.end()?;
        let clip = (code == CLIP).then_some((p0, p1));
        let f = if code == CLIP { U::Relu } else { UnaryCode::decode(code, p0, p1).ok_or(StepFault::Attrs)? };
        let (x, y) = (io.input(0)?, io.output(0)?);
        if !matches!(x.dtype, DType::F32 | DType::F64) {
            return Err(StepFault::DType);
        }
        want(&y, x.dtype)?;
        want_numel(&x, y.numel())?;
        Ok(Unary { f, clip, f64: x.dtype == DType::F64 })
    }

    pub fn run(&self, mem: &crate::mem::Mem<'_>, io: &Io<'_>) {
        let (Ok(x), Ok(y)) = (io.input(0), io.output(0)) else { return };
        if self.f64 {
            let ys = out::<f64>(mem, &y);
            let f = |v: f64| match self.clip {
                Some((lo, hi)) => v.max(lo as f64).min(hi as f64),
                None => unary_float(self.f, v),
            };
            if super::same(&x, &y) {
                ys.iter_mut().for_each(|o| *o = f(*o));
            } else {
                ys.iter_mut().zip(inp::<f64>(mem, &x)).for_each(|(o, &v)| *o = f(v));
            }
            return;
        }
        let ys = out::<f32>(mem, &y);
        let f = self.f;
        macro_rules! map {
            ($v:ident => $e:expr) => {
                if super::same(&x, &y) {
                    ys.iter_mut().for_each(|o| {
                        let $v = *o;
                        *o = $e;
                    });
                } else {
                    ys.iter_mut().zip(inp::<f32>(mem, &x)).for_each(|(o, &$v)| *o = $e);
                }
            };
        }
        if let Some((lo, hi)) = self.clip {
            map!(v => v.max(lo).min(hi));
            return;
        }
        match f {
            U::Relu => map!(v => v.max(0.0)),
            U::Sigmoid => map!(v => unary_float(U::Sigmoid, v)),
            U::Tanh => map!(v => unary_float(U::Tanh, v)),
            U::HardSwish => map!(v => v * (v * (1.0 / 6.0) + 0.5).clamp(0.0, 1.0)),
            // Inline forms of the cheap functions (the generic path calls libm per element).
            U::Abs => map!(v => v.abs()),
            U::Neg => map!(v => -v),
            U::Sign => map!(v => sign(v)),
            U::Floor => map!(v => floor(v)),
            _ => map!(v => unary_float(f, v)),
        }
    }
}

/// `signum` with 0 for ±0 and NaN for NaN, as ONNX Sign.
#[inline]
fn sign(v: f32) -> f32 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        v * 0.0
    }
}

/// `floor`, exactly as libm: values of magnitude 2^23 or more (and ±0, ±inf, NaN) are already
/// integral; below that the truncation through `i32` is exact.
#[inline]
fn floor(v: f32) -> f32 {
    if v.is_nan() || v.abs() >= 8_388_608.0 || v == 0.0 {
        return v;
    }
    let t = (v as i32) as f32;
    if t > v { t - 1.0 } else { t }
}

#[cfg(test)]
mod tests {
    use super::{floor, sign};
    use mote_kernels::reference::unary::{Unary as U, unary_float};

    #[test]
    fn inline_floor_and_sign_equal_the_reference_bit_for_bit() {
        let mut vals = std::vec![0.0f32, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 8_388_607.5, -8_388_607.5, 8_388_608.0];
        vals.extend([f32::MAX, f32::MIN, f32::INFINITY, f32::NEG_INFINITY, f32::MIN_POSITIVE, -1e-30, 2.5e9, -2.5e9]);
        let mut s = 1u32;
        for _ in 0..100_000 {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            vals.push(f32::from_bits(s));
        }
        for v in vals {
            let (f, g) = (floor(v), unary_float(U::Floor, v));
            assert!(f.to_bits() == g.to_bits() || (f.is_nan() && g.is_nan()), "floor({v:e}): {f:e} vs {g:e}");
            let (f, g) = (sign(v), unary_float(U::Sign, v));
            assert!(f.to_bits() == g.to_bits() || (f.is_nan() && g.is_nan()), "sign({v:e}): {f:e} vs {g:e}");
        }
    }
}
