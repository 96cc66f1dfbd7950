//! Element-wise ops: ONNX attributes -> [`ElementwiseOp`].

use mote_ir::Op;
use mote_ir::Tensor;
use mote_ir::ops::elementwise::{Binary, ElementwiseOp, RoundMode, Unary, Variadic};

use super::{NodeCtx, NodeError, invalid, unsupported};

pub const OPS: &[(&str, &str)] = &[
    ("", "Abs"),
    ("", "Neg"),
    ("", "Floor"),
    ("", "Ceil"),
    ("", "Round"),
    ("", "Sqrt"),
    ("", "Reciprocal"),
    ("", "Exp"),
    ("", "Log"),
    ("", "Sin"),
    ("", "Cos"),
    ("", "Tan"),
    ("", "Asin"),
    ("", "Acos"),
    ("", "Atan"),
    ("", "Sinh"),
    ("", "Cosh"),
    ("", "Tanh"),
    ("", "Asinh"),
    ("", "Acosh"),
    ("", "Atanh"),
    ("", "Sigmoid"),
    ("", "Relu"),
    ("", "Softplus"),
    ("", "Softsign"),
    ("", "Erf"),
    ("", "Sign"),
    ("", "Mish"),
    ("", "HardSwish"),
    ("", "Not"),
    ("", "BitwiseNot"),
    ("", "IsNaN"),
    ("", "IsInf"),
    ("", "LeakyRelu"),
    ("", "Elu"),
    ("", "Selu"),
    ("", "Celu"),
    ("", "HardSigmoid"),
    ("", "ThresholdedRelu"),
    ("", "Shrink"),
    ("", "Gelu"),
    ("", "Swish"),
    ("", "Add"),
    ("", "Sub"),
    ("", "Mul"),
    ("", "Div"),
    ("", "Pow"),
    ("", "Mod"),
    ("", "And"),
    ("", "Or"),
    ("", "Xor"),
    ("", "Equal"),
    ("", "Less"),
    ("", "LessOrEqual"),
    ("", "Greater"),
    ("", "GreaterOrEqual"),
    ("", "BitShift"),
    ("", "BitwiseAnd"),
    ("", "BitwiseOr"),
    ("", "BitwiseXor"),
    ("", "PRelu"),
    ("", "Sum"),
    ("", "Mean"),
    ("", "Max"),
    ("", "Min"),
    ("", "Where"),
    ("", "Clip"),
    ("", "Cast"),
    ("", "CastLike"),
];

pub fn import(cx: &mut NodeCtx<'_>) -> Result<Option<Op>, NodeError> {
    if !cx.domain.is_empty() {
        return Ok(None);
    }
    // Opsets before 6 carry `consumed_inputs`, a memory hint with no effect on results.
    cx.ignore(&["consumed_inputs"]);
    let op = match cx.op_type {
        "Abs" => unary(cx, Unary::Abs)?,
        "Neg" => unary(cx, Unary::Neg)?,
        "Floor" => unary(cx, Unary::Floor)?,
        "Ceil" => unary(cx, Unary::Ceil)?,
        "Round" => unary(cx, Unary::Round)?,
        "Sqrt" => unary(cx, Unary::Sqrt)?,
        "Reciprocal" => unary(cx, Unary::Reciprocal)?,
        "Exp" => unary(cx, Unary::Exp)?,
        "Log" => unary(cx, Unary::Log)?,
        "Sin" => unary(cx, Unary::Sin)?,
        "Cos" => unary(cx, Unary::Cos)?,
        "Tan" => unary(cx, Unary::Tan)?,
        "Asin" => unary(cx, Unary::Asin)?,
        "Acos" => unary(cx, Unary::Acos)?,
        "Atan" => unary(cx, Unary::Atan)?,
        "Sinh" => unary(cx, Unary::Sinh)?,
        "Cosh" => unary(cx, Unary::Cosh)?,
        "Tanh" => unary(cx, Unary::Tanh)?,
        "Asinh" => unary(cx, Unary::Asinh)?,
        "Acosh" => unary(cx, Unary::Acosh)?,
        "Atanh" => unary(cx, Unary::Atanh)?,
        "Sigmoid" => unary(cx, Unary::Sigmoid)?,
        "Relu" => unary(cx, Unary::Relu)?,
        "Softplus" => unary(cx, Unary::Softplus)?,
        "Softsign" => unary(cx, Unary::Softsign)?,
        "Erf" => unary(cx, Unary::Erf)?,
        "Sign" => unary(cx, Unary::Sign)?,
        "Mish" => unary(cx, Unary::Mish)?,
        "HardSwish" => unary(cx, Unary::HardSwish)?,
        "Not" => unary(cx, Unary::Not)?,
        "BitwiseNot" => unary(cx, Unary::BitwiseNot)?,
        "IsNaN" => unary(cx, Unary::IsNaN)?,
        "IsInf" => {
            let u = Unary::IsInf {
                detect_positive: cx.int("detect_positive", 1)? != 0,
                detect_negative: cx.int("detect_negative", 1)? != 0,
            };
            unary(cx, u)?
        }
        "LeakyRelu" => unary(cx, Unary::LeakyRelu { alpha: cx.float("alpha", 0.01)? })?,
        "Elu" => unary(cx, Unary::Elu { alpha: cx.float("alpha", 1.0)? })?,
        "Selu" => {
            let u = Unary::Selu { alpha: cx.float("alpha", 1.673_263_2)?, gamma: cx.float("gamma", 1.050_701)? };
            unary(cx, u)?
        }
        "Celu" => unary(cx, Unary::Celu { alpha: cx.float("alpha", 1.0)? })?,
        "HardSigmoid" => {
            let u = Unary::HardSigmoid { alpha: cx.float("alpha", 0.2)?, beta: cx.float("beta", 0.5)? };
            unary(cx, u)?
        }
        "ThresholdedRelu" => unary(cx, Unary::ThresholdedRelu { alpha: cx.float("alpha", 1.0)? })?,
        "Shrink" => unary(cx, Unary::Shrink { bias: cx.float("bias", 0.0)?, lambd: cx.float("lambd", 0.5)? })?,
        "Gelu" => {
            let tanh = match cx.string("approximate", "none")?.as_str() {
                "none" => false,
                "tanh" => true,
                other => {
                    return Err(invalid!("attribute `approximate` must be \"none\" or \"tanh\", got {other:?}"));
                }
            };
            unary(cx, Unary::Gelu { tanh })?
        }
        "Swish" => unary(cx, Unary::Swish { alpha: cx.float("alpha", 1.0)? })?,

        "Add" => binary(cx, Binary::Add)?,
        "Sub" => binary(cx, Binary::Sub)?,
        "Mul" => binary(cx, Binary::Mul)?,
        "Div" => binary(cx, Binary::Div)?,
        "Pow" => binary(cx, Binary::Pow)?,
        "Mod" => binary(cx, Binary::Mod { fmod: cx.int("fmod", 0)? != 0 })?,
        "And" => binary(cx, Binary::And)?,
        "Or" => binary(cx, Binary::Or)?,
        "Xor" => binary(cx, Binary::Xor)?,
        "Equal" => binary(cx, Binary::Equal)?,
        "Less" => binary(cx, Binary::Less)?,
        "LessOrEqual" => binary(cx, Binary::LessOrEqual)?,
        "Greater" => binary(cx, Binary::Greater)?,
        "GreaterOrEqual" => binary(cx, Binary::GreaterOrEqual)?,
        "BitShift" => {
            let left = match cx.string_opt("direction")?.as_deref() {
                Some("LEFT") => true,
                Some("RIGHT") => false,
                Some(other) => {
                    return Err(invalid!("attribute `direction` must be \"LEFT\" or \"RIGHT\", got {other:?}"));
                }
                None => return Err(invalid!("required attribute `direction` is missing")),
            };
            binary(cx, Binary::BitShift { left })?
        }
        "BitwiseAnd" => binary(cx, Binary::BitwiseAnd)?,
        "BitwiseOr" => binary(cx, Binary::BitwiseOr)?,
        "BitwiseXor" => binary(cx, Binary::BitwiseXor)?,
        "PRelu" => binary(cx, Binary::PRelu)?,

        "Sum" => variadic(cx, Variadic::Sum)?,
        "Mean" => variadic(cx, Variadic::Mean)?,
        "Max" => variadic(cx, Variadic::Max)?,
        "Min" => variadic(cx, Variadic::Min)?,

        "Where" => {
            cx.expect_inputs(3, 3)?;
            ElementwiseOp::Where
        }
        "Clip" => {
            if cx.opset < 11 {
                // Clip-6: bounds are attributes; Clip-11 made them optional inputs.
                cx.expect_inputs(1, 1)?;
                let lo = cx.float("min", f32::MIN)?;
                let hi = cx.float("max", f32::MAX)?;
                cx.const_input(1, "min", Tensor::scalar(lo));
                cx.const_input(2, "max", Tensor::scalar(hi));
            } else {
                cx.expect_inputs(1, 3)?;
            }
            ElementwiseOp::Clip
        }
        "Cast" => {
            cx.expect_inputs(1, 1)?;
            let to = cx.dtype("to")?.ok_or_else(|| invalid!("required attribute `to` is missing"))?;
            ElementwiseOp::Cast { to, saturate: cx.int("saturate", 1)? != 0, round_mode: round_mode(cx)? }
        }
        "CastLike" => {
            cx.expect_inputs(2, 2)?;
            ElementwiseOp::CastLike { saturate: cx.int("saturate", 1)? != 0, round_mode: round_mode(cx)? }
        }
        _ => return Ok(None),
    };
    Ok(Some(Op::Elementwise(op)))
}

/// `Cast`'s `round_mode` (for float8 E8M0 targets): `up` (default), `down` or `nearest`.
fn round_mode(cx: &NodeCtx<'_>) -> Result<RoundMode, NodeError> {
    match cx.string("round_mode", "up")?.as_str() {
        "up" => Ok(RoundMode::Up),
        "down" => Ok(RoundMode::Down),
        "nearest" => Ok(RoundMode::Nearest),
        other => Err(invalid!("attribute `round_mode` must be up, down or nearest, got {other:?}")),
    }
}

fn unary(cx: &NodeCtx<'_>, u: Unary) -> Result<ElementwiseOp, NodeError> {
    cx.expect_inputs(1, 1)?;
    Ok(ElementwiseOp::Unary(u))
}

fn binary(cx: &NodeCtx<'_>, b: Binary) -> Result<ElementwiseOp, NodeError> {
    cx.expect_inputs(2, 2)?;
    // Opsets before 7 broadcast only with `broadcast=1` and an `axis`.
    if cx.int("broadcast", 0)? != 0 && cx.has("axis") {
        return Err(unsupported!("legacy broadcasting with `axis` (opset < 7) is not supported"));
    }
    Ok(ElementwiseOp::Binary(b))
}

fn variadic(cx: &NodeCtx<'_>, v: Variadic) -> Result<ElementwiseOp, NodeError> {
    cx.expect_inputs(1, usize::MAX)?;
    Ok(ElementwiseOp::Variadic(v))
}
