//! `fold_batchnorm`: per-channel affine maps after a linear op with constant weights are folded
//! into its weights and bias; a lone inference BatchNormalization becomes Mul + Add.

use mote_ir::ops::elementwise::{Binary, ElementwiseOp};
use mote_ir::ops::nn::NnOp;
use mote_ir::{Graph, Node, Op, Tensor, ValueId, ValueType};

use crate::affine::{Affine, affine_of, batchnorm_params, foldable_dtype, from_f64};
use crate::edit::{add_const, const_of, fresh_name, producers, rank, tensor_type, use_counts};
use crate::report::Rewrites;

/// Folds, in `g` and its subgraphs:
/// - an inference BatchNormalization (constant parameters, only `Y` used) after a Conv,
///   ConvTranspose, Gemm or 2-D MatMul with constant weights into those weights and bias
///   (`bn_folded`);
/// - Mul/Div/Add/Sub by a constant that varies only along the output channel axis (scalars
///   included) after the same ops (`mul_folded`, `div_folded`, `add_folded`, `sub_folded`); a
///   2-D MatMul that gains a bias becomes a Gemm with `C` (`matmul_to_gemm`);
/// - any other inference BatchNormalization with constant parameters and known input rank into
///   `Mul` + `Add` by constant per-channel tensors (`bn_to_mul_add`);
/// - a Mul or Div by a constant scalar on the data input of those ops into their weights
///   (`scale_into_weights`).
///
/// Folding happens only when the linear op's output has no other reader, and weights are f32 or
/// f64 (computed in f64, rounded once).
pub fn fold_batchnorm(g: &mut Graph) -> Rewrites {
    let mut r = Rewrites::default();
    fold_graph(g, &mut r);
    r
}

fn fold_graph(g: &mut Graph, r: &mut Rewrites) {
    for node in &mut g.nodes {
        for sub in node.op.subgraphs_mut() {
            fold_graph(sub, r);
        }
    }
    while fold_one(g, r) || fold_input_scale(g, r) {}
    let mut n = 0;
    while n < g.nodes.len() {
        if let Some(nodes) = lone_batchnorm(g, n) {
            let k = nodes.len();
            g.nodes.splice(n..=n, nodes);
            r.add("bn_to_mul_add", 1);
            n += k;
        } else {
            n += 1;
        }
    }
}

/// The linear ops that take a per-channel affine map into their weights.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Conv,
    ConvTranspose { group: usize },
    Gemm { alpha: f32, beta: f32, trans_b: bool },
    MatMul,
}

/// A linear node's output layout: rank, channel axis and channel count.
struct Linear {
    kind: Kind,
    rank: usize,
    axis: usize,
    channels: usize,
    weight: Tensor,
}

fn linear_of(g: &Graph, node: &Node) -> Option<Linear> {
    let w = const_of(g, node.input(1)?)?.clone();
    let y = node.outputs.first().copied().flatten()?;
    if node.outputs.len() != 1 || !foldable_dtype(Some(w.dtype())) || tensor_type(g, y).dtype != Some(w.dtype()) {
        return None;
    }
    let ws = w.shape().to_vec();
    let (kind, rank, axis, channels) = match &node.op {
        Op::Nn(NnOp::Conv(_)) if ws.len() >= 3 => (Kind::Conv, ws.len(), 1, ws[0]),
        Op::Nn(NnOp::ConvTranspose(a)) if ws.len() >= 3 && a.group > 0 && ws[0] % a.group == 0 => {
            (Kind::ConvTranspose { group: a.group }, ws.len(), 1, ws[1].checked_mul(a.group)?)
        }
        Op::Nn(NnOp::Gemm { alpha, beta, trans_b, .. }) if ws.len() == 2 => {
            let n = if *trans_b { ws[0] } else { ws[1] };
            (Kind::Gemm { alpha: *alpha, beta: *beta, trans_b: *trans_b }, 2, 1, n)
        }
        Op::Nn(NnOp::MatMul) if ws.len() == 2 => {
            let r = rank(g, y)?;
            if r < 2 {
                return None;
            }
            (Kind::MatMul, r, r - 1, ws[1])
        }
        _ => return None,
    };
    if node.inputs.len() > 2 && node.input(2).is_some_and(|b| const_of(g, b).is_none()) {
        return None;
    }
    Some(Linear { kind, rank, axis, channels, weight: w })
}

/// Finds one linear node followed by a foldable affine map and folds it.
fn fold_one(g: &mut Graph, r: &mut Rewrites) -> bool {
    let uses = use_counts(g);
    let prod = producers(g);
    for n in 0..g.nodes.len() {
        let Some(y) = g.nodes[n].outputs.first().copied().flatten() else { continue };
        let xs: Vec<ValueId> = g.nodes[n].inputs.iter().flatten().copied().collect();
        for x in xs {
            let Some(&p) = prod.get(&x) else { continue };
            if uses.get(x.index()).copied() != Some(1) || g.outputs.contains(&x) {
                continue;
            }
            let Some(lin) = linear_of(g, &g.nodes[p]) else { continue };
            let Some(aff) = affine_of(g, &g.nodes[n], x, lin.rank, lin.axis, lin.channels) else { continue };
            if let Some(what) = apply(g, p, &lin, &aff) {
                g.nodes[p].outputs[0] = Some(y);
                g.nodes.remove(n);
                r.add(aff.what, 1);
                if !what.is_empty() {
                    r.add(what, 1);
                }
                return true;
            }
        }
    }
    false
}

/// Finds one Mul/Div of a linear op's data input by a constant scalar and moves the scalar
/// into the weights: `W * (c * x) = (c * W) * x` (zero padding stays zero).
fn fold_input_scale(g: &mut Graph, r: &mut Rewrites) -> bool {
    let uses = use_counts(g);
    let prod = producers(g);
    for n in 0..g.nodes.len() {
        let Some(v) = g.nodes[n].input(0) else { continue };
        let Some(&p) = prod.get(&v) else { continue };
        if uses.get(v.index()).copied() != Some(1) || g.outputs.contains(&v) {
            continue;
        }
        let Some(lin) = linear_of(g, &g.nodes[n]) else { continue };
        let Some((x, c)) = input_scale(g, &g.nodes[p], lin.weight.dtype()) else { continue };
        let scale = vec![c; lin.channels];
        let Some(w) = scaled_weight(&lin, &scale) else { continue };
        let Some(wid) = g.nodes[n].input(1) else { continue };
        let name = fresh_name(g, &format!("{}_scaled", g.value(wid).name));
        let new_w = add_const(g, name, w);
        let node = &mut g.nodes[n];
        node.inputs[0] = Some(x);
        node.inputs[1] = Some(new_w);
        g.nodes.remove(p);
        r.add("scale_into_weights", 1);
        return true;
    }
    false
}

/// `(x, c)` when `node` is `x * c`, `c * x` or `x / c` with `c` a constant scalar of `dtype` that
/// does not broadcast `x` to a higher rank.
fn input_scale(g: &Graph, node: &Node, dtype: mote_ir::DType) -> Option<(ValueId, f64)> {
    let Op::Elementwise(ElementwiseOp::Binary(op)) = &node.op else { return None };
    let (a, b) = (node.input(0)?, node.input(1)?);
    let (x, c, div) = match (op, const_of(g, a), const_of(g, b)) {
        (Binary::Mul, None, Some(c)) => (a, c, false),
        (Binary::Mul, Some(c), None) => (b, c, false),
        (Binary::Div, None, Some(c)) => (a, c, true),
        _ => return None,
    };
    let xt = tensor_type(g, x);
    if c.len() != 1 || c.dtype() != dtype || xt.dtype != Some(dtype) || c.rank() > xt.rank()? {
        return None;
    }
    let v = c.to_f64_vec().ok()?[0];
    let k = if div { 1.0 / v } else { v };
    (k.is_finite() && k != 0.0).then_some((x, k))
}

/// Scales every output channel of the weights.
fn scaled_weight(lin: &Linear, scale: &[f64]) -> Option<Tensor> {
    let w = &lin.weight;
    let s = w.shape();
    let mut v = w.to_f64_vec().ok()?;
    let m = lin.channels;
    match lin.kind {
        Kind::Conv => {
            let inner = v.len() / m.max(1);
            for (k, x) in v.iter_mut().enumerate() {
                *x *= scale[k / inner.max(1)];
            }
        }
        Kind::ConvTranspose { group } => {
            let (cin, mg) = (s[0], s[1]);
            let inner: usize = s[2..].iter().product();
            let cg = cin / group;
            if cg == 0 || mg == 0 || inner == 0 {
                return Some(w.clone());
            }
            for (k, x) in v.iter_mut().enumerate() {
                let (c, j) = (k / (mg * inner), (k / inner) % mg);
                *x *= scale[(c / cg) * mg + j];
            }
        }
        Kind::Gemm { trans_b: true, .. } => {
            let inner = s[1].max(1);
            for (k, x) in v.iter_mut().enumerate() {
                *x *= scale[k / inner];
            }
        }
        Kind::Gemm { trans_b: false, .. } | Kind::MatMul => {
            for (k, x) in v.iter_mut().enumerate() {
                *x *= scale[k % m.max(1)];
            }
        }
    }
    from_f64(w.dtype(), s.to_vec(), v)
}

/// Rewrites node `p` to compute `affine(p(x))`; returns the extra rewrite's name (or "").
fn apply(g: &mut Graph, p: usize, lin: &Linear, aff: &Affine) -> Option<&'static str> {
    let m = lin.channels;
    let dtype = lin.weight.dtype();
    let w = scaled_weight(lin, &aff.scale)?;
    let bias = g.nodes[p].input(2).and_then(|b| const_of(g, b)).cloned();
    let mut what = "";
    let (op, new_bias): (Option<Op>, Option<Tensor>) = match lin.kind {
        Kind::Conv | Kind::ConvTranspose { .. } => {
            let b = match &bias {
                Some(b) if b.len() == m => b.to_f64_vec().ok()?,
                Some(_) => return None,
                None => vec![0.0; m],
            };
            let nb: Vec<f64> = (0..m).map(|c| b[c] * aff.scale[c] + aff.shift[c]).collect();
            let keep = bias.is_some() || aff.has_shift();
            (None, if keep { Some(from_f64(dtype, vec![m], nb)?) } else { None })
        }
        Kind::Gemm { alpha, beta, trans_b } => {
            let c = match &bias {
                None => None,
                Some(b) => Some(gemm_bias(b, m, f64::from(beta), aff)?),
            };
            let c = match c {
                Some(c) => Some(c),
                None if aff.has_shift() => Some(from_f64(dtype, vec![m], aff.shift.clone())?),
                None => None,
            };
            let op = Op::Nn(NnOp::Gemm { alpha, beta: 1.0, trans_a: gemm_trans_a(&g.nodes[p].op), trans_b });
            (Some(op), c)
        }
        Kind::MatMul => {
            if !aff.has_shift() {
                (None, None)
            } else {
                if rank(g, g.nodes[p].input(0)?) != Some(2) || lin.rank != 2 {
                    return None;
                }
                what = "matmul_to_gemm";
                let op = Op::Nn(NnOp::Gemm { alpha: 1.0, beta: 1.0, trans_a: false, trans_b: false });
                (Some(op), Some(from_f64(dtype, vec![m], aff.shift.clone())?))
            }
        }
    };
    let wname = fresh_name(g, &format!("{}_folded", g.value(g.nodes[p].input(1)?).name));
    let wid = add_const(g, wname, w);
    let bid = match new_bias {
        Some(b) => {
            let name = fresh_name(g, &format!("{}_bias_folded", g.nodes[p].name));
            Some(add_const(g, name, b))
        }
        None => None,
    };
    let node = &mut g.nodes[p];
    if let Some(op) = op {
        node.op = op;
    }
    node.inputs.truncate(2);
    node.inputs[1] = Some(wid);
    if let Some(b) = bid {
        node.inputs.push(Some(b));
    }
    Some(what)
}

fn gemm_trans_a(op: &Op) -> bool {
    matches!(op, Op::Nn(NnOp::Gemm { trans_a: true, .. }))
}

/// Gemm's new `C` (with `beta = 1`): `beta * C * scale + shift`, for `C` per channel (`[N]`,
/// `[1, N]`, scalar) or a full `[M, N]` matrix.
fn gemm_bias(c: &Tensor, n: usize, beta: f64, aff: &Affine) -> Option<Tensor> {
    let v = c.to_f64_vec().ok()?;
    let s = c.shape();
    let per_channel = v.len() == 1 || (v.len() == n && s.last() == Some(&n));
    if per_channel {
        let nb: Vec<f64> =
            (0..n).map(|k| beta * v[if v.len() == 1 { 0 } else { k }] * aff.scale[k] + aff.shift[k]).collect();
        return from_f64(c.dtype(), vec![n], nb);
    }
    if s.len() == 2 && s[1] == n {
        let nb: Vec<f64> = v.iter().enumerate().map(|(k, x)| beta * x * aff.scale[k % n] + aff.shift[k % n]).collect();
        return from_f64(c.dtype(), s.to_vec(), nb);
    }
    None
}

/// An inference BatchNormalization at `n` that did not fold, as Mul + Add nodes.
fn lone_batchnorm(g: &mut Graph, n: usize) -> Option<Vec<Node>> {
    let node = &g.nodes[n];
    let (a, b) = batchnorm_params(g, node)?;
    let x = node.input(0)?;
    let y = node.outputs.first().copied().flatten()?;
    let xt = tensor_type(g, x);
    let r = xt.rank()?;
    if r < 2 || !foldable_dtype(xt.dtype) {
        return None;
    }
    let dtype = xt.dtype?;
    let mut shape = vec![a.len()];
    shape.resize(r - 1, 1);
    let name = node.name.clone();
    let at = from_f64(dtype, shape.clone(), a)?;
    let bt = from_f64(dtype, shape, b)?;
    let an = fresh_name(g, &format!("{name}_scale"));
    let aid = add_const(g, an, at);
    let bn = fresh_name(g, &format!("{name}_shift"));
    let bid = add_const(g, bn, bt);
    let tn = fresh_name(g, &format!("{name}_scaled"));
    let ty = g.value(y).ty.clone();
    let tmp = g.add_value(tn, if ty.is_unknown() { ValueType::Tensor(xt) } else { ty });
    let bin = |op: Binary| Op::Elementwise(ElementwiseOp::Binary(op));
    Some(vec![
        Node {
            name: format!("{name}/mul"),
            op: bin(Binary::Mul),
            inputs: vec![Some(x), Some(aid)],
            outputs: vec![Some(tmp)],
        },
        Node {
            name: format!("{name}/add"),
            op: bin(Binary::Add),
            inputs: vec![Some(tmp), Some(bid)],
            outputs: vec![Some(y)],
        },
    ])
}

#[cfg(test)]
mod tests;
