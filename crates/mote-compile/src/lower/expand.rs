//! Rewrites into element-wise graph ops, before lowering, with static shapes:
//! - ops whose operands the lowering takes as constants, when those operands are run-time
//!   values: Clip's bounds (f32), Trilu's `k`, Pad's constant value, ReverseSequence's lengths,
//!   BatchNormalization's parameters (inference), TensorScatter's write indices;
//! - Bernoulli (`u < p`) and training-mode Dropout (`keep = u >= ratio`, kept values scaled
//!   by `1 / (1 - ratio)`) on RandomUniformLike draws;
//! - f64 MatMul (broadcasting Mul, then ReduceSum over k) and f64 Softmax/LogSoftmax
//!   (ReduceMax, Exp, ReduceSum): the runtime's Gemm and Softmax are f32;
//! - IsNaN and IsInf as comparisons (`x != x`, `x == ±inf`); Pow of mixed or integer types in
//!   f64;
//! - the training optimizers Adagrad, Momentum and Adam, in f64 like the interpreter, rounded
//!   once to the tensors' type.
//!
//! Nodes whose shapes are not static stay as they are (the lowering then says why).

use mote_core::DType;
use mote_ir::ops::attention::AttentionOp;
use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary, Variadic};
use mote_ir::ops::nn::{NnOp, SoftmaxAttrs, SoftmaxKind};
use mote_ir::ops::optim::OptimOp;
use mote_ir::ops::random::{Distribution, RandomOp};
use mote_ir::ops::reduce::{ReduceOp, Reduction as Reduce};
use mote_ir::ops::shape::{PadMode, Reduction, ShapeOp};
use mote_ir::{Graph, Node, Op, Tensor, ValueId};

use super::build::{Builder, rewrite_nodes, typed};

/// Rewrites every node of `g` that fits (see the module doc); returns how many.
pub fn expand(g: &mut Graph) -> usize {
    rewrite_nodes(g, expand_node)
}

fn is_const(g: &Graph, v: ValueId) -> bool {
    g.value(v).init.is_some() && !g.inputs.contains(&v)
}

/// Input `i` of `n` when it is given and not a constant.
fn runtime_input(g: &Graph, n: &Node, i: usize) -> Option<ValueId> {
    n.input(i).filter(|&v| !is_const(g, v))
}

fn expand_node(g: &mut Graph, n: &Node) -> Option<Vec<Node>> {
    match &n.op {
        Op::Elementwise(ElementwiseOp::Clip) => clip(g, n),
        Op::Elementwise(ElementwiseOp::Binary(Binary::Pow)) => pow(g, n),
        Op::Elementwise(ElementwiseOp::Unary(u @ (Unary::IsNaN | Unary::IsInf { .. }))) => non_finite(g, n, *u),
        Op::Shape(ShapeOp::Trilu { upper }) => trilu(g, n, *upper),
        Op::Shape(ShapeOp::Pad { mode: PadMode::Constant }) => pad(g, n),
        Op::Shape(ShapeOp::ReverseSequence { batch_axis, time_axis }) => reverse(g, n, *batch_axis, *time_axis),
        Op::Nn(NnOp::BatchNorm { epsilon, training: false, .. }) => batch_norm(g, n, *epsilon),
        Op::Optim(o) => optim(g, n, o),
        Op::Random(RandomOp::Bernoulli { dtype, seed }) => bernoulli(g, n, *dtype, *seed),
        Op::Nn(NnOp::Dropout { seed }) => dropout(g, n, *seed),
        Op::Nn(NnOp::MatMul) => matmul_f64(g, n),
        Op::Nn(NnOp::Softmax(a)) => softmax_f64(g, n, a),
        Op::Attention(AttentionOp::TensorScatter { circular, axis }) => tensor_scatter(g, n, *circular, *axis),
        _ => None,
    }
}

/// Clip (f32) with a run-time bound: `Min(Max(x, lo), hi)`, as ONNX defines it.
fn clip(g: &mut Graph, n: &Node) -> Option<Vec<Node>> {
    let x = n.input(0)?;
    let y = n.outputs.first().copied().flatten()?;
    if typed(g, x)?.0 != DType::F32 || (runtime_input(g, n, 1).is_none() && runtime_input(g, n, 2).is_none()) {
        return None;
    }
    let mut b = Builder::new(g, &n.name);
    let mut v = x;
    for (i, op, what) in [(1, Variadic::Max, "lower"), (2, Variadic::Min, "upper")] {
        if let Some(bound) = n.input(i) {
            v = b.node(what, Op::Elementwise(ElementwiseOp::Variadic(op)), &[v, bound]);
        }
    }
    Some(b.finish(v, y))
}

/// A reduction of `x` over `axis`, keeping it.
fn reduce(b: &mut Builder<'_>, what: &str, kind: Reduce, x: ValueId, axis: i64, keepdims: bool) -> Option<ValueId> {
    let axes = b.konst(&format!("{what}_axes"), Tensor::from_vec(vec![1], vec![axis]).ok()?);
    let op = Op::Reduce(ReduceOp::Reduce { kind, keepdims, noop_with_empty_axes: false });
    Some(b.node(what, op, &[x, axes]))
}

/// f64 MatMul of operands of rank >= 2: `ReduceSum(A[.., m, k, 1] * B[.., 1, k, n], k)`.
fn matmul_f64(g: &mut Graph, n: &Node) -> Option<Vec<Node>> {
    let (a, b_) = (n.input(0)?, n.input(1)?);
    let y = n.outputs.first().copied().flatten()?;
    let ((at, mut ad), (bt, mut bd)) = (typed(g, a)?, typed(g, b_)?);
    if at != DType::F64 || bt != DType::F64 || ad.len() < 2 || bd.len() < 2 {
        return None;
    }
    ad.push(1);
    bd.insert(bd.len() - 2, 1);
    let mut b = Builder::new(g, &n.name);
    let (a3, b3) = (b.reshape("a_mk1", a, &ad), b.reshape("b_1kn", b_, &bd));
    let p = b.binary("products", Binary::Mul, a3, b3);
    let v = reduce(&mut b, "sum_k", Reduce::Sum, p, -2, false)?;
    Some(b.finish(v, y))
}

/// f64 Softmax / LogSoftmax over one axis: `e = exp(x - max)`, then `e / sum(e)` or
/// `x - max - log(sum(e))`.
fn softmax_f64(g: &mut Graph, n: &Node, a: &SoftmaxAttrs) -> Option<Vec<Node>> {
    let x = n.input(0)?;
    let y = n.outputs.first().copied().flatten()?;
    let (dt, dims) = typed(g, x)?;
    if dt != DType::F64 || a.coerce_2d || a.kind == SoftmaxKind::Hardmax || dims.is_empty() {
        return None;
    }
    let unary = |u: Unary| Op::Elementwise(ElementwiseOp::Unary(u));
    let mut b = Builder::new(g, &n.name);
    let m = reduce(&mut b, "max", Reduce::Max, x, a.axis, true)?;
    let d = b.binary("shifted", Binary::Sub, x, m);
    let e = b.node("exp", unary(Unary::Exp), &[d]);
    let s = reduce(&mut b, "sum", Reduce::Sum, e, a.axis, true)?;
    let v = if a.kind == SoftmaxKind::Softmax {
        b.binary("softmax", Binary::Div, e, s)
    } else {
        let ls = b.node("log_sum", unary(Unary::Log), &[s]);
        b.binary("log_softmax", Binary::Sub, d, ls)
    };
    Some(b.finish(v, y))
}

/// A RandomUniformLike node: `[0, 1)` draws of `like`'s shape, as `dt`.
fn uniform_like(b: &mut Builder<'_>, like: ValueId, dt: DType, seed: Option<f32>) -> ValueId {
    let dist = Distribution::Uniform { low: 0.0, high: 1.0 };
    b.node("uniform", Op::Random(RandomOp::Sample { dist, shape: None, dtype: Some(dt), seed }), &[like])
}

/// Bernoulli: `Cast(u < p)` with `u` uniform on `[0, 1)`.
fn bernoulli(g: &mut Graph, n: &Node, dtype: Option<DType>, seed: Option<f32>) -> Option<Vec<Node>> {
    let p = n.input(0)?;
    let y = n.outputs.first().copied().flatten()?;
    let (pt, _) = typed(g, p)?;
    if !pt.is_float() {
        return None;
    }
    let mut b = Builder::new(g, &n.name);
    let (p, wt) =
        if matches!(pt, DType::F32 | DType::F64) { (p, pt) } else { (b.cast("p_f32", p, DType::F32), DType::F32) };
    let u = uniform_like(&mut b, p, wt, seed);
    let hit = b.binary("hit", Binary::Less, u, p);
    let v = b.cast("draw", hit, dtype.unwrap_or(pt));
    Some(b.finish(v, y))
}

/// Dropout in training mode (the lowering compiles inference and a constant ratio of 0):
/// `mask = !training || u >= ratio`, `y = mask ? x * scale : 0` with `scale = 1 / (1 - ratio)`
/// when training (1 otherwise). The ratio and the mode may be run-time values.
fn dropout(g: &mut Graph, n: &Node, seed: Option<i64>) -> Option<Vec<Node>> {
    let x = n.input(0)?;
    let training = n.input(2)?;
    let konst =
        |g: &Graph, i: usize| n.input(i).and_then(|v| g.value(v).init.as_ref().filter(|_| is_const(g, v)).cloned());
    let as_f64 = |t: Option<Tensor>| t.and_then(|t| t.to_f64_vec().ok());
    if as_f64(konst(g, 2)) == Some(vec![0.0]) || as_f64(konst(g, 1)) == Some(vec![0.0]) {
        return None; // inference, or nothing dropped: the lowering's alias
    }
    let y = n.outputs.first().copied().flatten()?;
    let (xt, _) = typed(g, x)?;
    if !matches!(xt, DType::F32 | DType::F64) {
        return None;
    }
    let always = konst(g, 2).is_some();
    let mut b = Builder::new(g, &n.name);
    let u = uniform_like(&mut b, x, xt, seed.map(|s| s as f32));
    let ratio = match n.input(1) {
        Some(r) => b.cast("ratio", r, xt),
        None => b.konst("ratio", if xt == DType::F64 { Tensor::scalar(0.5f64) } else { Tensor::scalar(0.5f32) }),
    };
    let one = b.konst("one", if xt == DType::F64 { Tensor::scalar(1.0f64) } else { Tensor::scalar(1.0f32) });
    let zero = b.konst("zero", Tensor::zeros(xt, vec![]).ok()?);
    let keep = b.binary("keep", Binary::GreaterOrEqual, u, ratio);
    let kept = b.binary("kept_share", Binary::Sub, one, ratio);
    let mut scale = b.binary("scale", Binary::Div, one, kept);
    let mut mask = keep;
    if !always {
        let off = b.node("inference", Op::Elementwise(ElementwiseOp::Unary(Unary::Not)), &[training]);
        mask = b.binary("mask", Binary::Or, off, keep);
        scale = b.node("mode_scale", Op::Elementwise(ElementwiseOp::Where), &[training, scale, one]);
    }
    let scaled = b.binary("scaled", Binary::Mul, x, scale);
    let v = b.node("dropped", Op::Elementwise(ElementwiseOp::Where), &[mask, scaled, zero]);
    if let Some(m) = n.outputs.get(1).copied().flatten() {
        b.assign(mask, m);
    }
    Some(b.finish(v, y))
}

/// Pow other than f32^f32 and f64^f64: in f64, converted to the base's type (as the
/// interpreter does).
fn pow(g: &mut Graph, n: &Node) -> Option<Vec<Node>> {
    let (x, e) = (n.input(0)?, n.input(1)?);
    let y = n.outputs.first().copied().flatten()?;
    let ((xt, _), (et, _)) = (typed(g, x)?, typed(g, e)?);
    if (xt == et && matches!(xt, DType::F32 | DType::F64)) || !xt.is_numeric() || !et.is_numeric() {
        return None;
    }
    let mut b = Builder::new(g, &n.name);
    let (x64, e64) = (b.cast("base_f64", x, DType::F64), b.cast("exponent_f64", e, DType::F64));
    let p = b.binary("pow_f64", Binary::Pow, x64, e64);
    let v = b.cast("pow", p, xt);
    Some(b.finish(v, y))
}

/// IsNaN: `x != x`; IsInf: `x == +inf` and/or `x == -inf`. Half-precision inputs are widened
/// to f32 first (exact for NaN and infinities).
fn non_finite(g: &mut Graph, n: &Node, u: Unary) -> Option<Vec<Node>> {
    let x = n.input(0)?;
    let y = n.outputs.first().copied().flatten()?;
    let (dt, _) = typed(g, x)?;
    if !dt.is_float() {
        return None;
    }
    let mut b = Builder::new(g, &n.name);
    let (x, dt) =
        if matches!(dt, DType::F32 | DType::F64) { (x, dt) } else { (b.cast("x_f32", x, DType::F32), DType::F32) };
    let inf = |b: &mut Builder<'_>, what: &str, v: f64| {
        let t = if dt == DType::F64 { Tensor::scalar(v) } else { Tensor::scalar(v as f32) };
        b.konst(what, t)
    };
    let v = match u {
        Unary::IsNaN => {
            let same = b.binary("same", Binary::Equal, x, x);
            b.node("nan", Op::Elementwise(ElementwiseOp::Unary(Unary::Not)), &[same])
        }
        Unary::IsInf { detect_positive, detect_negative } => {
            let pos = detect_positive.then(|| {
                let c = inf(&mut b, "pos_inf", f64::INFINITY);
                b.binary("is_pos_inf", Binary::Equal, x, c)
            });
            let neg = detect_negative.then(|| {
                let c = inf(&mut b, "neg_inf", f64::NEG_INFINITY);
                b.binary("is_neg_inf", Binary::Equal, x, c)
            });
            match (pos, neg) {
                (Some(p), Some(m)) => b.binary("inf", Binary::Or, p, m),
                (Some(v), None) | (None, Some(v)) => v,
                // Nothing to detect: all false (`x < x`, false for NaN too).
                (None, None) => b.binary("none", Binary::Less, x, x),
            }
        }
        _ => return None,
    };
    Some(b.finish(v, y))
}

/// Trilu with a run-time `k`: `Where(j - i >= k, x, 0)` (upper) or `j - i <= k` (lower).
fn trilu(g: &mut Graph, n: &Node, upper: bool) -> Option<Vec<Node>> {
    let (x, k) = (n.input(0)?, runtime_input(g, n, 1)?);
    let y = n.outputs.first().copied().flatten()?;
    let (dt, dims) = typed(g, x)?;
    let r = dims.len();
    if r < 2 {
        return None;
    }
    let (rows, cols) = (dims[r - 2], dims[r - 1]);
    let diag: Vec<i64> = (0..rows).flat_map(|i| (0..cols).map(move |j| j as i64 - i as i64)).collect();
    let mut b = Builder::new(g, &n.name);
    let d = b.konst("diagonal", Tensor::from_vec(vec![rows, cols], diag).ok()?);
    let cmp = if upper { Binary::GreaterOrEqual } else { Binary::LessOrEqual };
    let keep = b.binary("keep", cmp, d, k);
    let zero = b.konst("zero", Tensor::zeros(dt, vec![]).ok()?);
    let v = b.node("select", Op::Elementwise(ElementwiseOp::Where), &[keep, x, zero]);
    Some(b.finish(v, y))
}

/// Constant-mode Pad with a run-time value: `Where(inside, Pad(x), value)`, where `inside` is
/// the padding of an all-true tensor (constant once folded).
fn pad(g: &mut Graph, n: &Node) -> Option<Vec<Node>> {
    let (x, pads, value) = (n.input(0)?, n.input(1)?, runtime_input(g, n, 2)?);
    let y = n.outputs.first().copied().flatten()?;
    let (_, dims) = typed(g, x)?;
    let mut b = Builder::new(g, &n.name);
    let ones = b.konst("ones", Tensor::from_vec(dims.clone(), vec![true; dims.iter().product()]).ok()?);
    let op = Op::Shape(ShapeOp::Pad { mode: PadMode::Constant });
    let axes = n.input(3);
    let inside = b.node_opt("inside", op.clone(), &[Some(ones), Some(pads), None, axes]);
    let padded = b.node_opt("padded", op, &[Some(x), Some(pads), None, axes]);
    let v = b.node("fill", Op::Elementwise(ElementwiseOp::Where), &[inside, padded, value]);
    Some(b.finish(v, y))
}

/// ReverseSequence with run-time lengths: a GatherElements along the time axis with indices
/// `t < len[b] ? len[b] - 1 - t : t`, broadcast over the trailing axes.
fn reverse(g: &mut Graph, n: &Node, batch_axis: i64, time_axis: i64) -> Option<Vec<Node>> {
    let (x, lens) = (n.input(0)?, runtime_input(g, n, 1)?);
    let y = n.outputs.first().copied().flatten()?;
    let (_, dims) = typed(g, x)?;
    let (time_first, r) = ((time_axis, batch_axis) == (0, 1), dims.len());
    if r < 2 || !(time_first || (time_axis, batch_axis) == (1, 0)) {
        return None;
    }
    let (t_len, b_len) = if time_first { (dims[0], dims[1]) } else { (dims[1], dims[0]) };
    let (t_shape, b_shape) = if time_first { ([t_len, 1], [1, b_len]) } else { ([1, t_len], [b_len, 1]) };
    let mut b = Builder::new(g, &n.name);
    let t = b.konst("t", Tensor::from_vec(t_shape.to_vec(), (0..t_len as i64).collect::<Vec<_>>()).ok()?);
    let lens = b.cast("lens_i64", lens, DType::I64);
    let len = b.reshape("len", lens, &b_shape);
    let one = b.konst("one", Tensor::scalar(1i64));
    let last = b.binary("last", Binary::Sub, len, one);
    let rev = b.binary("reversed", Binary::Sub, last, t);
    let inside = b.binary("inside", Binary::Less, t, len);
    let idx = b.node("index", Op::Elementwise(ElementwiseOp::Where), &[inside, rev, t]);
    let mut lead = dims[..2].to_vec();
    lead.extend(std::iter::repeat_n(1, r - 2));
    let idx = b.reshape("index_nd", idx, &lead);
    let full =
        b.konst("full_shape", Tensor::from_vec(vec![r], dims.iter().map(|&d| d as i64).collect::<Vec<_>>()).ok()?);
    let idx = b.node("index_full", Op::Shape(ShapeOp::Expand), &[idx, full]);
    let v = b.node("gather", Op::Shape(ShapeOp::GatherElements { axis: time_axis }), &[x, idx]);
    Some(b.finish(v, y))
}

/// TensorScatter with run-time write indices: a ScatterElements along `axis` at
/// `w[b] + s` (modulo the cache length when circular). Positions outside the cache become an
/// out-of-range index, so the run stops with an error as in the interpreter.
fn tensor_scatter(g: &mut Graph, n: &Node, circular: bool, axis: i64) -> Option<Vec<Node>> {
    let (past, upd, w) = (n.input(0)?, n.input(1)?, runtime_input(g, n, 2)?);
    let y = n.outputs.first().copied().flatten()?;
    let ((_, pd), (_, ud)) = (typed(g, past)?, typed(g, upd)?);
    let r = pd.len();
    let ax = usize::try_from(if axis < 0 { axis + r as i64 } else { axis }).ok().filter(|&a| a > 0 && a < r)?;
    if ud.len() != r || ud[ax] > pd[ax] {
        return None;
    }
    let (max_s, upd_s) = (pd[ax] as i64, ud[ax]);
    let mut b = Builder::new(g, &n.name);
    let w = b.cast("write_i64", w, DType::I64);
    let mut w_shape = vec![1; r];
    w_shape[0] = pd[0];
    let w = b.reshape("write", w, &w_shape);
    let mut s_shape = vec![1; r];
    s_shape[ax] = upd_s;
    let s = b.konst("steps", Tensor::from_vec(s_shape, (0..upd_s as i64).collect::<Vec<_>>()).ok()?);
    let len = b.konst("cache_len", Tensor::scalar(max_s));
    let at = if circular {
        let wm = b.binary("write_mod", Binary::Mod { fmod: false }, w, len);
        let t = b.binary("target", Binary::Add, wm, s);
        b.binary("target_mod", Binary::Mod { fmod: false }, t, len)
    } else {
        let t = b.binary("target", Binary::Add, w, s);
        let zero = b.konst("zero", Tensor::scalar(0i64));
        let before = b.binary("before_start", Binary::Less, t, zero);
        b.node("target_checked", Op::Elementwise(ElementwiseOp::Where), &[before, len, t])
    };
    let full =
        b.konst("update_shape", Tensor::from_vec(vec![r], ud.iter().map(|&d| d as i64).collect::<Vec<_>>()).ok()?);
    let idx = b.node("index", Op::Shape(ShapeOp::Expand), &[at, full]);
    let op = Op::Shape(ShapeOp::ScatterElements { axis: ax as i64, reduction: Reduction::None });
    let v = b.node("scatter", op, &[past, idx, upd]);
    Some(b.finish(v, y))
}

/// BatchNormalization (inference) with run-time parameters:
/// `(x - mean) * (scale / sqrt(var + eps)) + B`, parameters reshaped to `[C, 1, ...]`.
fn batch_norm(g: &mut Graph, n: &Node, eps: f32) -> Option<Vec<Node>> {
    let x = n.input(0)?;
    if (1..5).all(|i| runtime_input(g, n, i).is_none()) {
        return None;
    }
    let y = n.outputs.first().copied().flatten()?;
    let (dt, dims) = typed(g, x)?;
    if dt != DType::F32 || dims.len() < 2 || n.outputs.iter().skip(1).any(Option::is_some) {
        return None;
    }
    let mut shape = vec![dims[1]];
    shape.extend(std::iter::repeat_n(1, dims.len() - 2));
    let mut b = Builder::new(g, &n.name);
    let mut p = Vec::new();
    for (i, what) in [(1, "scale"), (2, "bias"), (3, "mean"), (4, "var")] {
        let v = n.input(i)?;
        p.push(b.reshape(what, v, &shape));
    }
    let e = b.konst("epsilon", Tensor::scalar(eps));
    let ve = b.binary("var_eps", Binary::Add, p[3], e);
    let sd = b.node("std", Op::Elementwise(ElementwiseOp::Unary(Unary::Sqrt)), &[ve]);
    let gain = b.binary("gain", Binary::Div, p[0], sd);
    let c = b.binary("centered", Binary::Sub, x, p[2]);
    let s = b.binary("scaled", Binary::Mul, c, gain);
    let v = b.binary("shifted", Binary::Add, s, p[1]);
    Some(b.finish(v, y))
}

/// One optimizer step over each of the `n` tensors, in f64 (see `mote-interp`'s `optim.rs`).
fn optim(g: &mut Graph, n: &Node, op: &OptimOp) -> Option<Vec<Node>> {
    let blocks = op.input_blocks();
    let count = n.inputs.len().checked_sub(2)? / blocks;
    if count == 0 || n.inputs.len() != 2 + count * blocks || n.outputs.len() != count * (blocks - 1) {
        return None;
    }
    let ins: Vec<ValueId> = n.inputs.iter().copied().collect::<Option<_>>()?;
    let mut b = Builder::new(g, &n.name);
    let f64c = |b: &mut Builder<'_>, what: &str, v: f64| b.konst(what, Tensor::scalar(v));
    let r = b.cast("r", ins[0], DType::F64);
    let t = b.cast("t", ins[1], DType::F64);
    let zero = f64c(&mut b, "zero", 0.0);
    let started = b.binary("started", Binary::Greater, t, zero);
    let one = f64c(&mut b, "one", 1.0);
    // Per-step scalars shared by every tensor.
    let (rate, beta_t) = match *op {
        OptimOp::Adagrad { decay_factor, .. } => {
            let d = f64c(&mut b, "decay", decay_factor as f64);
            let td = b.binary("t_decay", Binary::Mul, t, d);
            let den = b.binary("decay_den", Binary::Add, one, td);
            (b.binary("rate", Binary::Div, r, den), None)
        }
        OptimOp::Momentum { beta, .. } => {
            let bt = f64c(&mut b, "beta", beta as f64);
            (r, Some(b.node("beta_t", Op::Elementwise(ElementwiseOp::Where), &[started, bt, one])))
        }
        OptimOp::Adam { alpha, beta, .. } => {
            let (a, bb) = (f64c(&mut b, "alpha", alpha as f64), f64c(&mut b, "beta", beta as f64));
            let at = b.binary("alpha_t", Binary::Pow, a, t);
            let bt = b.binary("beta_t", Binary::Pow, bb, t);
            let one_at = b.binary("one_alpha_t", Binary::Sub, one, at);
            let one_bt = b.binary("one_beta_t", Binary::Sub, one, bt);
            let root = b.node("sqrt_one_beta_t", Op::Elementwise(ElementwiseOp::Unary(Unary::Sqrt)), &[one_bt]);
            let num = b.binary("rate_num", Binary::Mul, r, root);
            let corrected = b.binary("rate_corrected", Binary::Div, num, one_at);
            (b.node("rate", Op::Elementwise(ElementwiseOp::Where), &[started, corrected, r]), None)
        }
    };
    let mut results: Vec<(ValueId, ValueId, DType)> = Vec::new(); // (computed f64, output, dtype)
    for i in 0..count {
        let block = |k: usize| ins[2 + k * count + i];
        let (dt, _) = typed(b.g, block(0))?;
        if !dt.is_float() {
            return None;
        }
        let w = |b: &mut Builder<'_>, k: usize, what: &str| b.cast(&format!("{what}{i}"), block(k), DType::F64);
        let (x, gr0) = (w(&mut b, 0, "x"), w(&mut b, 1, "g"));
        let out = |k: usize| n.outputs[k * count + i];
        let nc = match *op {
            OptimOp::Adagrad { norm_coefficient, .. }
            | OptimOp::Momentum { norm_coefficient, .. }
            | OptimOp::Adam { norm_coefficient, .. } => norm_coefficient,
        };
        let ncv = f64c(&mut b, &format!("norm{i}"), nc as f64);
        let nx = b.binary(&format!("norm_x{i}"), Binary::Mul, ncv, x);
        let gr = b.binary(&format!("grad{i}"), Binary::Add, nx, gr0);
        let sqrt = |b: &mut Builder<'_>, v: ValueId, what: &str| {
            b.node(what, Op::Elementwise(ElementwiseOp::Unary(Unary::Sqrt)), &[v])
        };
        match *op {
            OptimOp::Adagrad { epsilon, .. } => {
                let h = w(&mut b, 2, "h");
                let g2 = b.binary(&format!("grad_sq{i}"), Binary::Mul, gr, gr);
                let h2 = b.binary(&format!("h_new{i}"), Binary::Add, h, g2);
                let sd = sqrt(&mut b, h2, &format!("h_sqrt{i}"));
                let e = f64c(&mut b, &format!("eps{i}"), epsilon as f64);
                let den = b.binary(&format!("den{i}"), Binary::Add, sd, e);
                let rg = b.binary(&format!("rate_grad{i}"), Binary::Mul, rate, gr);
                let step = b.binary(&format!("step{i}"), Binary::Div, rg, den);
                let x2 = b.binary(&format!("x_new{i}"), Binary::Sub, x, step);
                results.extend([(x2, out(0)?, dt), (h2, out(1)?, dt)]);
            }
            OptimOp::Momentum { alpha, nesterov, .. } => {
                let v = w(&mut b, 2, "v");
                let a = f64c(&mut b, &format!("alpha{i}"), alpha as f64);
                let av = b.binary(&format!("alpha_v{i}"), Binary::Mul, a, v);
                let bg = b.binary(&format!("beta_grad{i}"), Binary::Mul, beta_t?, gr);
                let v2 = b.binary(&format!("v_new{i}"), Binary::Add, av, bg);
                let step = if nesterov {
                    let av2 = b.binary(&format!("alpha_v_new{i}"), Binary::Mul, a, v2);
                    b.binary(&format!("step{i}"), Binary::Add, gr, av2)
                } else {
                    v2
                };
                let rs = b.binary(&format!("rate_step{i}"), Binary::Mul, rate, step);
                let x2 = b.binary(&format!("x_new{i}"), Binary::Sub, x, rs);
                results.extend([(x2, out(0)?, dt), (v2, out(1)?, dt)]);
            }
            OptimOp::Adam { alpha, beta, epsilon, norm_coefficient_post, .. } => {
                let (v, h) = (w(&mut b, 2, "v"), w(&mut b, 3, "h"));
                let k = |b: &mut Builder<'_>, what: &str, c: f64| f64c(b, &format!("{what}{i}"), c);
                let (a, one_a) = (k(&mut b, "alpha", alpha as f64), k(&mut b, "one_alpha", 1.0 - alpha as f64));
                let (bb, one_b) = (k(&mut b, "beta", beta as f64), k(&mut b, "one_beta", 1.0 - beta as f64));
                let av = b.binary(&format!("alpha_v{i}"), Binary::Mul, a, v);
                let ag = b.binary(&format!("one_alpha_g{i}"), Binary::Mul, one_a, gr);
                let v2 = b.binary(&format!("v_new{i}"), Binary::Add, av, ag);
                let bh = b.binary(&format!("beta_h{i}"), Binary::Mul, bb, h);
                let g2 = b.binary(&format!("grad_sq{i}"), Binary::Mul, gr, gr);
                let bg = b.binary(&format!("one_beta_g2{i}"), Binary::Mul, one_b, g2);
                let h2 = b.binary(&format!("h_new{i}"), Binary::Add, bh, bg);
                let sd = sqrt(&mut b, h2, &format!("h_sqrt{i}"));
                let e = k(&mut b, "eps", epsilon as f64);
                let den = b.binary(&format!("den{i}"), Binary::Add, sd, e);
                let q = b.binary(&format!("ratio{i}"), Binary::Div, v2, den);
                let step = b.binary(&format!("step{i}"), Binary::Mul, rate, q);
                let x2 = b.binary(&format!("x_step{i}"), Binary::Sub, x, step);
                let post = k(&mut b, "post", 1.0 - norm_coefficient_post as f64);
                let x3 = b.binary(&format!("x_new{i}"), Binary::Mul, post, x2);
                results.extend([(x3, out(0)?, dt), (v2, out(1)?, dt), (h2, out(2)?, dt)]);
            }
        }
    }
    for (k, (v, y, dt)) in results.into_iter().enumerate() {
        let c = b.cast(&format!("out{k}"), v, dt);
        b.assign(c, y);
    }
    Some(b.out)
}
