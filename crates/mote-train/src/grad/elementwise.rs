//! Element-wise ops: unary activations and math, broadcasting binary arithmetic, Sum/Mean/Max/Min,
//! Clip and Where.

use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary, Variadic};

use super::{Ctx, broadcast, unbroadcast};

/// `dy/dx` of a unary op at `x` with output `y`.
fn derivative(u: Unary, x: f32, y: f32) -> Result<f32, String> {
    Ok(match u {
        Unary::Relu => f32::from(x > 0.0),
        Unary::LeakyRelu { alpha } => {
            if x > 0.0 {
                1.0
            } else {
                alpha
            }
        }
        Unary::Elu { alpha } => {
            if x > 0.0 {
                1.0
            } else {
                y + alpha
            }
        }
        Unary::Sigmoid => y * (1.0 - y),
        Unary::Tanh => 1.0 - y * y,
        Unary::HardSigmoid { alpha, beta } => {
            let v = alpha * x + beta;
            if v > 0.0 && v < 1.0 { alpha } else { 0.0 }
        }
        // x * relu6(x + 3) / 6
        Unary::HardSwish => {
            if x <= -3.0 {
                0.0
            } else if x >= 3.0 {
                1.0
            } else {
                (2.0 * x + 3.0) / 6.0
            }
        }
        Unary::Softplus => 1.0 / (1.0 + (-x).exp()),
        Unary::Abs => x.signum() * f32::from(x != 0.0),
        Unary::Neg => -1.0,
        Unary::Exp => y,
        Unary::Log => 1.0 / x,
        Unary::Sqrt => 0.5 / y,
        Unary::Reciprocal => -y * y,
        Unary::Sin => x.cos(),
        Unary::Cos => -x.sin(),
        Unary::Softsign => 1.0 / ((1.0 + x.abs()) * (1.0 + x.abs())),
        Unary::Erf => std::f32::consts::FRAC_2_SQRT_PI * (-x * x).exp(),
        other => return Err(format!("no gradient for {}", other.name())),
    })
}

pub fn backward(op: &ElementwiseOp, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    match op {
        ElementwiseOp::Unary(u) => {
            let (x, _) = cx.input(0)?;
            let (y, _) = cx.output(0)?;
            let g = x.iter().zip(y).zip(gy).map(|((&x, &y), &g)| derivative(*u, x, y).map(|d| d * g));
            Ok(vec![Some(g.collect::<Result<_, _>>()?)])
        }
        ElementwiseOp::Binary(b) => binary(*b, cx, gy),
        ElementwiseOp::Variadic(v) => variadic(*v, cx, gy),
        ElementwiseOp::Clip => {
            let (x, _) = cx.input(0)?;
            let bound = |i: usize| cx.input(i).ok().and_then(|(v, _)| v.first().copied());
            let (lo, hi) = (bound(1).unwrap_or(f32::NEG_INFINITY), bound(2).unwrap_or(f32::INFINITY));
            Ok(vec![Some(x.iter().zip(gy).map(|(&x, &g)| if x >= lo && x <= hi { g } else { 0.0 }).collect())])
        }
        ElementwiseOp::Where => {
            let c = cx.ins.first().copied().flatten().ok_or("condition is missing")?;
            let c = c.as_slice::<bool>().ok_or("condition is not bool")?;
            let (_, out) = cx.output(0)?;
            let cb = broadcast_bool(c, cx.ins[0].map_or(&[][..], |t| t.shape()), out);
            let pick = |i: usize, want: bool| -> Result<Option<Vec<f32>>, String> {
                let (_, s) = cx.input(i)?;
                let g: Vec<f32> = gy.iter().zip(&cb).map(|(&g, &c)| if c == want { g } else { 0.0 }).collect();
                Ok(Some(unbroadcast(&g, out, s)))
            };
            Ok(vec![None, pick(1, true)?, pick(2, false)?])
        }
        _ => Err("no gradient for this element-wise op".into()),
    }
}

fn broadcast_bool(c: &[bool], shape: &[usize], out: &[usize]) -> Vec<bool> {
    let f: Vec<f32> = c.iter().map(|&b| f32::from(u8::from(b))).collect();
    broadcast(&f, shape, out).into_iter().map(|v| v != 0.0).collect()
}

fn binary(b: Binary, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    let (a, sa) = cx.input(0)?;
    let (c, sc) = cx.input(1)?;
    let (_, out) = cx.output(0)?;
    let (ab, cb) = (broadcast(a, sa, out), broadcast(c, sc, out));
    let each = |f: &dyn Fn(f32, f32, f32) -> f32, other: bool| -> Vec<f32> {
        let g: Vec<f32> = gy.iter().enumerate().map(|(i, &g)| f(ab[i], cb[i], g)).collect();
        unbroadcast(&g, out, if other { sc } else { sa })
    };
    let (ga, gc) = match b {
        Binary::Add => (each(&|_, _, g| g, false), each(&|_, _, g| g, true)),
        Binary::Sub => (each(&|_, _, g| g, false), each(&|_, _, g| -g, true)),
        Binary::Mul => (each(&|_, c, g| g * c, false), each(&|a, _, g| g * a, true)),
        Binary::Div => (each(&|_, c, g| g / c, false), each(&|a, c, g| -g * a / (c * c), true)),
        Binary::PRelu => (
            each(&|a, s, g| if a >= 0.0 { g } else { g * s }, false),
            each(&|a, _, g| if a >= 0.0 { 0.0 } else { g * a }, true),
        ),
        Binary::Pow => (
            each(&|a, c, g| g * c * a.powf(c - 1.0), false),
            each(&|a, c, g| if a > 0.0 { g * a.powf(c) * a.ln() } else { 0.0 }, true),
        ),
        other => return Err(format!("no gradient for {}", other.name())),
    };
    Ok(vec![Some(ga), Some(gc)])
}

fn variadic(v: Variadic, cx: &Ctx<'_>, gy: &[f32]) -> Result<Vec<Option<Vec<f32>>>, String> {
    let (y, out) = cx.output(0)?;
    let n = cx.ins.len();
    let mut gx = Vec::with_capacity(n);
    // Max/Min: the gradient goes to the first input holding the extreme value.
    let mut taken = vec![false; y.len()];
    for i in 0..n {
        let (x, s) = cx.input(i)?;
        let xb = broadcast(x, s, out);
        let g: Vec<f32> = match v {
            Variadic::Sum => gy.to_vec(),
            Variadic::Mean => gy.iter().map(|g| g / n as f32).collect(),
            Variadic::Max | Variadic::Min => gy
                .iter()
                .enumerate()
                .map(|(k, &g)| {
                    if !taken[k] && xb[k] == y[k] {
                        taken[k] = true;
                        g
                    } else {
                        0.0
                    }
                })
                .collect(),
        };
        gx.push(Some(unbroadcast(&g, out, s)));
    }
    Ok(gx)
}
