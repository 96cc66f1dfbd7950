//! Unary element-wise functions: their parameters and float math, shared by the interpreter and
//! the runtime.

use num_traits::Float;

/// Unary element-wise functions. Parameters are ONNX attributes with their defaults applied.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    Abs,
    Neg,
    Floor,
    Ceil,
    /// Round half to even.
    Round,
    Sqrt,
    Reciprocal,
    Exp,
    Log,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Sigmoid,
    Relu,
    Softplus,
    Softsign,
    Erf,
    Sign,
    Mish,
    HardSwish,
    /// Logical not (bool).
    Not,
    BitwiseNot,
    IsNaN,
    IsInf {
        detect_positive: bool,
        detect_negative: bool,
    },
    LeakyRelu {
        alpha: f32,
    },
    Elu {
        alpha: f32,
    },
    Selu {
        alpha: f32,
        gamma: f32,
    },
    Celu {
        alpha: f32,
    },
    HardSigmoid {
        alpha: f32,
        beta: f32,
    },
    ThresholdedRelu {
        alpha: f32,
    },
    Shrink {
        bias: f32,
        lambd: f32,
    },
    /// `tanh` selects the tanh approximation.
    Gelu {
        tanh: bool,
    },
    Swish {
        alpha: f32,
    },
}

impl Unary {
    pub fn name(self) -> &'static str {
        use Unary::*;
        match self {
            Abs => "Abs",
            Neg => "Neg",
            Floor => "Floor",
            Ceil => "Ceil",
            Round => "Round",
            Sqrt => "Sqrt",
            Reciprocal => "Reciprocal",
            Exp => "Exp",
            Log => "Log",
            Sin => "Sin",
            Cos => "Cos",
            Tan => "Tan",
            Asin => "Asin",
            Acos => "Acos",
            Atan => "Atan",
            Sinh => "Sinh",
            Cosh => "Cosh",
            Tanh => "Tanh",
            Asinh => "Asinh",
            Acosh => "Acosh",
            Atanh => "Atanh",
            Sigmoid => "Sigmoid",
            Relu => "Relu",
            Softplus => "Softplus",
            Softsign => "Softsign",
            Erf => "Erf",
            Sign => "Sign",
            Mish => "Mish",
            HardSwish => "HardSwish",
            Not => "Not",
            BitwiseNot => "BitwiseNot",
            IsNaN => "IsNaN",
            IsInf { .. } => "IsInf",
            LeakyRelu { .. } => "LeakyRelu",
            Elu { .. } => "Elu",
            Selu { .. } => "Selu",
            Celu { .. } => "Celu",
            HardSigmoid { .. } => "HardSigmoid",
            ThresholdedRelu { .. } => "ThresholdedRelu",
            Shrink { .. } => "Shrink",
            Gelu { .. } => "Gelu",
            Swish { .. } => "Swish",
        }
    }

    /// True when the result is bool whatever the input dtype.
    pub fn returns_bool(self) -> bool {
        matches!(self, Unary::IsNaN | Unary::IsInf { .. } | Unary::Not)
    }
}

/// Float functions `num_traits::Float` lacks.
pub trait Special: Float {
    fn erf(self) -> Self;
}

impl Special for f32 {
    fn erf(self) -> f32 {
        libm::erff(self)
    }
}

impl Special for f64 {
    fn erf(self) -> f64 {
        libm::erf(self)
    }
}

fn c<T: Float>(x: f64) -> T {
    T::from(x).expect("constant fits every float type")
}

/// `u` applied to `x`. Bool-valued functions (`Not`, `IsNaN`, `IsInf`) and `BitwiseNot` are the
/// caller's (they are not float to float): they return `x` unchanged here.
pub fn unary_float<T: Float + Special>(u: Unary, x: T) -> T {
    let zero = T::zero();
    let one = T::one();
    match u {
        Unary::Abs => x.abs(),
        Unary::Neg => -x,
        Unary::Floor => x.floor(),
        Unary::Ceil => x.ceil(),
        Unary::Round => {
            let r = x.round();
            if (x - x.trunc()).abs() == c(0.5) { c::<T>(2.0) * (x / c(2.0)).round() } else { r }
        }
        Unary::Sqrt => x.sqrt(),
        Unary::Reciprocal => one / x,
        Unary::Exp => x.exp(),
        Unary::Log => x.ln(),
        Unary::Sin => x.sin(),
        Unary::Cos => x.cos(),
        Unary::Tan => x.tan(),
        Unary::Asin => x.asin(),
        Unary::Acos => x.acos(),
        Unary::Atan => x.atan(),
        Unary::Sinh => x.sinh(),
        Unary::Cosh => x.cosh(),
        Unary::Tanh => x.tanh(),
        Unary::Asinh => x.asinh(),
        Unary::Acosh => x.acosh(),
        Unary::Atanh => x.atanh(),
        Unary::Sigmoid => sigmoid(x),
        Unary::Relu => {
            if x < zero {
                zero
            } else {
                x
            }
        }
        Unary::Softplus => softplus(x),
        Unary::Softsign => x / (one + x.abs()),
        Unary::Erf => x.erf(),
        Unary::Sign => {
            if x > zero {
                one
            } else if x < zero {
                -one
            } else {
                x
            }
        }
        Unary::Mish => x * softplus(x).tanh(),
        Unary::HardSwish => x * (x / c(6.0) + c(0.5)).max(zero).min(one),
        Unary::LeakyRelu { alpha } => {
            if x < zero {
                c::<T>(alpha as f64) * x
            } else {
                x
            }
        }
        Unary::Elu { alpha } => {
            if x < zero {
                c::<T>(alpha as f64) * (x.exp() - one)
            } else {
                x
            }
        }
        Unary::Selu { alpha, gamma } => {
            let (a, g) = (c::<T>(alpha as f64), c::<T>(gamma as f64));
            if x > zero { g * x } else { g * (a * x.exp() - a) }
        }
        Unary::Celu { alpha } => {
            let a = c::<T>(alpha as f64);
            x.max(zero) + (a * ((x / a).exp() - one)).min(zero)
        }
        Unary::HardSigmoid { alpha, beta } => (c::<T>(alpha as f64) * x + c(beta as f64)).max(zero).min(one),
        Unary::ThresholdedRelu { alpha } => {
            if x > c(alpha as f64) {
                x
            } else {
                zero
            }
        }
        Unary::Shrink { bias, lambd } => {
            let (b, l) = (c::<T>(bias as f64), c::<T>(lambd as f64));
            if x < -l {
                x + b
            } else if x > l {
                x - b
            } else {
                zero
            }
        }
        Unary::Gelu { tanh: false } => c::<T>(0.5) * x * (one + (x / c(core::f64::consts::SQRT_2)).erf()),
        Unary::Gelu { tanh: true } => {
            let k = c::<T>((2.0 / core::f64::consts::PI).sqrt());
            c::<T>(0.5) * x * (one + (k * (x + c::<T>(0.044715) * x * x * x)).tanh())
        }
        Unary::Swish { alpha } => x * sigmoid(c::<T>(alpha as f64) * x),
        Unary::Not | Unary::BitwiseNot | Unary::IsNaN | Unary::IsInf { .. } => x,
    }
}

fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

fn softplus<T: Float>(x: T) -> T {
    // log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
    x.max(T::zero()) + (-x.abs()).exp().ln_1p()
}
