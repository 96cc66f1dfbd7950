//! Element-wise ops: unary math and activations, broadcasting binary arithmetic, comparison and
//! logic, variadic reductions across inputs, `Where`, `Clip` and casts.

use mote_core::DType;
pub use mote_core::lowp::RoundMode;
pub use mote_kernels::reference::unary::Unary;

use crate::infer::{InferCx, InferError, broadcast, broadcast_all};
use crate::ops::OpFamily;
use crate::types::{TensorType, ValueType};

/// Element-wise ops.
#[derive(Clone, Debug, PartialEq)]
pub enum ElementwiseOp {
    Unary(Unary),
    /// Numpy-broadcasting binary op.
    Binary(Binary),
    /// `Sum`, `Mean`, `Max`, `Min` over any number of broadcasting inputs.
    Variadic(Variadic),
    /// `Where(cond, x, y)`, broadcasting.
    Where,
    /// `Clip(x, min?, max?)`: bounds are optional scalar inputs.
    Clip,
    /// `Cast(x)` to `to`. `saturate` applies to float8 targets (out-of-range values clamp to the
    /// largest finite value instead of becoming Inf/NaN); `round_mode` to float8 E8M0 targets.
    Cast {
        to: DType,
        saturate: bool,
        round_mode: RoundMode,
    },
    /// `CastLike(x, like)`: cast to the dtype of `like` (attributes as for `Cast`).
    CastLike {
        saturate: bool,
        round_mode: RoundMode,
    },
}

/// Broadcasting binary ops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    /// `fmod`: sign of the dividend (C `fmod`) instead of the divisor (Python `%`).
    Mod {
        fmod: bool,
    },
    And,
    Or,
    Xor,
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    BitShift {
        left: bool,
    },
    BitwiseAnd,
    BitwiseOr,
    BitwiseXor,
    /// `PRelu(x, slope)`: slope broadcasts to x.
    PRelu,
}

/// Ops that fold any number of broadcasting inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variadic {
    Sum,
    Mean,
    Max,
    Min,
}

impl Binary {
    pub fn name(self) -> &'static str {
        use Binary::*;
        match self {
            Add => "Add",
            Sub => "Sub",
            Mul => "Mul",
            Div => "Div",
            Pow => "Pow",
            Mod { .. } => "Mod",
            And => "And",
            Or => "Or",
            Xor => "Xor",
            Equal => "Equal",
            Less => "Less",
            LessOrEqual => "LessOrEqual",
            Greater => "Greater",
            GreaterOrEqual => "GreaterOrEqual",
            BitShift { .. } => "BitShift",
            BitwiseAnd => "BitwiseAnd",
            BitwiseOr => "BitwiseOr",
            BitwiseXor => "BitwiseXor",
            PRelu => "PRelu",
        }
    }

    /// True for comparisons and logic, whose result is bool.
    pub fn returns_bool(self) -> bool {
        use Binary::*;
        matches!(self, And | Or | Xor | Equal | Less | LessOrEqual | Greater | GreaterOrEqual)
    }
}

impl Variadic {
    pub fn name(self) -> &'static str {
        match self {
            Variadic::Sum => "Sum",
            Variadic::Mean => "Mean",
            Variadic::Max => "Max",
            Variadic::Min => "Min",
        }
    }
}

impl OpFamily for ElementwiseOp {
    fn name(&self) -> &'static str {
        match self {
            ElementwiseOp::Unary(u) => u.name(),
            ElementwiseOp::Binary(b) => b.name(),
            ElementwiseOp::Variadic(v) => v.name(),
            ElementwiseOp::Where => "Where",
            ElementwiseOp::Clip => "Clip",
            ElementwiseOp::Cast { .. } => "Cast",
            ElementwiseOp::CastLike { .. } => "CastLike",
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        let t = match self {
            ElementwiseOp::Unary(u) if u.returns_bool() => {
                ValueType::Tensor(TensorType { dtype: Some(DType::Bool), shape: cx.tensor(0).shape.clone() })
            }
            ElementwiseOp::Unary(_) | ElementwiseOp::Clip => cx.same_as(0),
            ElementwiseOp::Binary(Binary::PRelu) => cx.same_as(0),
            ElementwiseOp::Binary(b) => {
                let shape = match (cx.shape(0), cx.shape(1)) {
                    (Some(a), Some(c)) => Some(broadcast(a, c)?),
                    _ => None,
                };
                // Pow's exponent may have another dtype than its base; the others take one dtype.
                let dtype = match b {
                    _ if b.returns_bool() => Some(DType::Bool),
                    Binary::Pow => cx.dtype(0),
                    _ => cx.dtype(0).or(cx.dtype(1)),
                };
                ValueType::Tensor(TensorType { dtype, shape })
            }
            ElementwiseOp::Variadic(_) => {
                let shape = broadcast_all((0..cx.len()).map(|i| cx.shape(i)))?;
                ValueType::Tensor(TensorType { dtype: cx.dtype(0), shape })
            }
            ElementwiseOp::Where => {
                let shape = broadcast_all((0..3).map(|i| cx.shape(i)))?;
                ValueType::Tensor(TensorType { dtype: cx.dtype(1).or(cx.dtype(2)), shape })
            }
            ElementwiseOp::Cast { to, .. } => {
                ValueType::Tensor(TensorType { dtype: Some(*to), shape: cx.tensor(0).shape.clone() })
            }
            ElementwiseOp::CastLike { .. } => {
                ValueType::Tensor(TensorType { dtype: cx.dtype(1), shape: cx.tensor(0).shape.clone() })
            }
        };
        Ok(vec![t])
    }
}
