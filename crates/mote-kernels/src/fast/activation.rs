//! Fused activations: applied where results are stored, and on their own in place.

use super::cpu::Cpu;
use super::simd::{self, Scalar, Simd, SimdOp, dispatch};

/// An activation applied element-wise after the bias (the fused epilogue of GEMM, convolution,
/// depthwise convolution and binary ops). Semantics are ONNX's.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Activation {
    /// Identity.
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, lo), hi)` (ReLU6 is `Clip { lo: 0, hi: 6 }`).
    Clip { lo: f32, hi: f32 },
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `max(0, min(1, alpha x + beta))`.
    HardSigmoid { alpha: f32, beta: f32 },
    /// `x * max(0, min(1, x / 6 + 1/2))`.
    HardSwish,
    /// `x` if `x >= 0`, else `alpha x`.
    LeakyRelu { alpha: f32 },
    /// `tanh x`.
    Tanh,
    /// `scale * hardswish(x) + shift`: HardSwish followed by a scalar affine (PP-LCNetV3's
    /// learnable affine blocks).
    HardSwishAffine { scale: f32, shift: f32 },
}

impl Activation {
    /// The activation of one value, exactly as the portable path computes it.
    pub fn apply(self, x: f32) -> f32 {
        apply_v(Scalar, self, x)
    }
}

/// The activation of one vector. `Sigmoid` and `Tanh` use the polynomial `exp` of
/// [`simd::exp`]; NaN inputs give NaN outputs.
#[inline(always)]
pub(crate) fn apply_v<S: Simd>(s: S, act: Activation, x: S::V) -> S::V {
    match act {
        Activation::None => x,
        Activation::Relu => s.max(s.splat(0.0), x),
        Activation::Clip { lo, hi } => s.min(s.splat(hi), s.max(s.splat(lo), x)),
        Activation::Sigmoid => simd::sigmoid(s, x),
        Activation::HardSigmoid { alpha, beta } => hard_sigmoid(s, alpha, beta, x),
        Activation::HardSwish => s.mul(x, hard_sigmoid(s, 1.0 / 6.0, 0.5, x)),
        Activation::LeakyRelu { alpha } => {
            let zero = s.splat(0.0);
            s.mul_add(s.splat(alpha), s.min(zero, x), s.max(zero, x))
        }
        Activation::Tanh => simd::tanh(s, x),
        Activation::HardSwishAffine { scale, shift } => {
            let h = s.mul(x, hard_sigmoid(s, 1.0 / 6.0, 0.5, x));
            s.mul_add(s.splat(scale), h, s.splat(shift))
        }
    }
}

#[inline(always)]
fn hard_sigmoid<S: Simd>(s: S, alpha: f32, beta: f32, x: S::V) -> S::V {
    let y = s.mul_add(s.splat(alpha), x, s.splat(beta));
    s.min(s.splat(1.0), s.max(s.splat(0.0), y))
}

/// Applies `act` to every element of `x` with vectors, the tail one by one.
#[inline(always)]
pub(crate) fn apply_slice<S: Simd>(s: S, act: Activation, x: &mut [f32]) {
    if act == Activation::None {
        return;
    }
    let mut chunks = x.chunks_exact_mut(S::LANES);
    for c in &mut chunks {
        let v = apply_v(s, act, s.load(c));
        s.store(c, v);
    }
    for v in chunks.into_remainder() {
        *v = apply_v(Scalar, act, *v);
    }
}

struct InPlace<'a> {
    act: Activation,
    x: &'a mut [f32],
}

impl SimdOp for InPlace<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        apply_slice(s, self.act, self.x);
    }
}

/// Applies `act` to every element of `x` in place.
pub fn activation_in_place(cpu: Cpu, act: Activation, x: &mut [f32]) {
    dispatch(cpu, InPlace { act, x });
}

struct OutOfPlace<'a> {
    act: Activation,
    x: &'a [f32],
    y: &'a mut [f32],
}

impl SimdOp for OutOfPlace<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let (x, y) = (self.x, self.y);
        let n = x.len();
        let split = n - n % S::LANES;
        for (xc, yc) in x[..split].chunks_exact(S::LANES).zip(y[..split].chunks_exact_mut(S::LANES)) {
            s.store(yc, apply_v(s, self.act, s.load(xc)));
        }
        for (xv, yv) in x[split..].iter().zip(&mut y[split..]) {
            *yv = apply_v(Scalar, self.act, *xv);
        }
    }
}

/// `y[i] = act(x[i])`. Panics if the lengths differ.
pub fn activation(cpu: Cpu, act: Activation, x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "activation: x and y lengths differ");
    dispatch(cpu, OutOfPlace { act, x, y });
}
