use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary, Variadic};
use mote_ir::{Op, Tensor};

use super::{Rng, run_cases, vals};

fn unary(rng: &Rng) -> Unary {
    use Unary::*;
    let f = rng.float();
    let g = rng.float();
    let all = [
        Abs,
        Neg,
        Floor,
        Ceil,
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
        Not,
        BitwiseNot,
        IsNaN,
        IsInf { detect_positive: rng.coin(), detect_negative: rng.coin() },
        LeakyRelu { alpha: f },
        Elu { alpha: f },
        Selu { alpha: f, gamma: g },
        Celu { alpha: f },
        HardSigmoid { alpha: f, beta: g },
        ThresholdedRelu { alpha: f },
        Shrink { bias: f, lambd: g },
        Gelu { tanh: rng.coin() },
        Swish { alpha: f },
    ];
    rng.pick(&all)
}

fn binary(rng: &Rng) -> Binary {
    use Binary::*;
    let all = [
        Add,
        Sub,
        Mul,
        Div,
        Pow,
        Mod { fmod: rng.coin() },
        And,
        Or,
        Xor,
        Equal,
        Less,
        LessOrEqual,
        Greater,
        GreaterOrEqual,
        BitShift { left: rng.coin() },
        BitwiseAnd,
        BitwiseOr,
        BitwiseXor,
        PRelu,
    ];
    rng.pick(&all)
}

/// A shape that often broadcasts with `s`: a suffix of it with some dims set to 1.
fn broadcastable(rng: &Rng, s: &[usize]) -> Vec<usize> {
    if rng.one_in(5) {
        return rng.shape(4);
    }
    let skip = rng.below(s.len() + 1);
    let mut v: Vec<usize> = s[skip..].iter().map(|&d| if rng.one_in(3) { 1 } else { d }).collect();
    if rng.one_in(4) {
        v.insert(0, 1 + rng.below(2));
    }
    v
}

#[test]
fn elementwise_random_cases() {
    let names = [
        "Abs", "Add", "Pow", "Mod", "BitShift", "PRelu", "Sum", "Mean", "Max", "Where", "Clip", "Less", "Cast",
        "CastLike",
    ];
    run_cases(0xe1e3_0001, 24000, 5, &names, |rng| {
        let dt = rng.dtype();
        let s = rng.shape(4);
        let x = rng.tensor(dt, &s);
        let other_dt = if rng.one_in(6) { rng.dtype() } else { dt };
        let b = broadcastable(rng, &s);
        let y = rng.tensor(other_dt, &b);
        let (op, inputs): (ElementwiseOp, Vec<Option<Tensor>>) = match rng.below(6) {
            0 | 1 => (ElementwiseOp::Unary(unary(rng)), vec![Some(x)]),
            2 | 3 => (ElementwiseOp::Binary(binary(rng)), vec![Some(x), Some(y)]),
            4 => {
                let v = rng.pick(&[Variadic::Sum, Variadic::Mean, Variadic::Max, Variadic::Min]);
                let n = rng.below(4);
                let mut ins: Vec<Option<Tensor>> = vec![Some(x), Some(y)];
                ins.truncate(n);
                if n == 3 {
                    let c = broadcastable(rng, &s);
                    ins.push(Some(rng.tensor(other_dt, &c)));
                }
                (ElementwiseOp::Variadic(v), ins)
            }
            _ => match rng.below(5) {
                3 => (
                    ElementwiseOp::Cast { to: rng.dtype(), saturate: rng.coin(), round_mode: round_mode(rng) },
                    vec![Some(x)],
                ),
                4 => (
                    ElementwiseOp::CastLike { saturate: rng.coin(), round_mode: round_mode(rng) },
                    vec![Some(x), Some(y)],
                ),
                0 => {
                    let c = broadcastable(rng, &s);
                    let cd = if rng.one_in(5) { rng.dtype() } else { mote_ir::DType::Bool };
                    let cond = rng.tensor(cd, &c);
                    (ElementwiseOp::Where, vec![Some(cond), Some(x), Some(y)])
                }
                _ => {
                    let lo = (!rng.one_in(3)).then(|| {
                        let sh = if rng.one_in(4) { rng.shape(2) } else { vec![] };
                        rng.tensor(other_dt, &sh)
                    });
                    let hi = (!rng.one_in(3)).then(|| rng.tensor(other_dt, &[]));
                    (ElementwiseOp::Clip, vec![Some(x), lo, hi])
                }
            },
        };
        (Op::Elementwise(op), vals(inputs), 1)
    });
}

fn round_mode(rng: &Rng) -> mote_core::lowp::RoundMode {
    use mote_core::lowp::RoundMode;
    rng.pick(&[RoundMode::Up, RoundMode::Down, RoundMode::Nearest])
}
