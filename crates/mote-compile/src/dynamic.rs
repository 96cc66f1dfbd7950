//! Dynamic int8 quantization (`Options::dynamic_int8`, `mote compile --dynamic-int8`): a graph
//! rewrite run before lowering, once shapes are static and constants folded, into ONNX
//! Runtime's dynamic form made of ops that already compile.
//!
//! - `Conv(x, W, B?)`, `MatMul(x, W)` and `Gemm(x, W, C?)` with a constant f32 `W` become
//!   `DynamicQuantizeLinear(x) -> (xq u8, xs, xz)`, `ConvInteger(xq, Wq, xz)` or
//!   `MatMulInteger(xq, Wq, xz)` (exact i32), `Cast` to f32, `Mul` by `xs * ws[c]` and `Add` of
//!   the bias. `Wq` is i8, symmetric per output channel (`ws[c] = max |W[c]| / 127`, values in
//!   `[-127, 127]`, zero point 0), computed here once.
//! - `LSTM` over one time step (silero_vad calls it once per chunk) is unrolled: the gates are
//!   `x Wᵀ + h₀ Rᵀ + b`, each product in the dynamic form above (`x` and `h₀` quantized apart,
//!   since their ranges differ), then the cell's element-wise ops. Longer sequences, peepholes,
//!   clipping, `input_forget`, sequence lengths and non-default activations stay f32.
//!
//! Weights below [`DynamicInt8::min_weights`] values and nodes named in [`DynamicInt8::keep`]
//! stay f32. Nodes inside subgraphs (an `If` on a run-time condition) are not rewritten.

use mote_core::DType;
use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::ops::nn::NnOp;
use mote_ir::ops::quant::QuantOp;
use mote_ir::ops::rnn::{Activation, RnnOp};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Graph, Node, Op, Tensor, ValueId};

use crate::lower::build::{Builder, rewrite_nodes, typed};

/// What to quantize.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamicInt8 {
    /// Weights with fewer values stay f32 (their products are too small to gain).
    pub min_weights: usize,
    /// Nodes whose name contains one of these stay f32 (e.g. a first or last layer).
    pub keep: Vec<String>,
}

impl Default for DynamicInt8 {
    fn default() -> DynamicInt8 {
        DynamicInt8 { min_weights: DEFAULT_MIN_WEIGHTS, keep: Vec::new() }
    }
}

/// Default of [`DynamicInt8::min_weights`].
pub const DEFAULT_MIN_WEIGHTS: usize = 1024;

/// What the rewrite did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DynamicReport {
    /// Nodes now computed with int8 weights.
    pub quantized: Vec<String>,
    /// Candidate nodes left f32, with the reason.
    pub kept: Vec<(String, String)>,
}

/// Rewrites every Conv, MatMul, Gemm and one-step LSTM of `g` with constant f32 weights (see
/// the module doc).
pub fn rewrite(g: &mut Graph, o: &DynamicInt8) -> DynamicReport {
    let mut r = DynamicReport::default();
    rewrite_nodes(g, |g, n| {
        let candidate =
            matches!(n.op, Op::Nn(NnOp::Conv(_) | NnOp::MatMul | NnOp::Gemm { .. }) | Op::Rnn(RnnOp::Lstm { .. }));
        if !candidate {
            return None;
        }
        if o.keep.iter().any(|k| n.name.contains(k.as_str())) {
            r.kept.push((n.name.clone(), "kept f32 by request".into()));
            return None;
        }
        match node(g, n, o) {
            Ok(nodes) => {
                r.quantized.push(n.name.clone());
                Some(nodes)
            }
            Err(why) => {
                r.kept.push((n.name.clone(), why));
                None
            }
        }
    });
    r
}

type Why = String;

fn node(g: &mut Graph, n: &Node, o: &DynamicInt8) -> Result<Vec<Node>, Why> {
    match &n.op {
        Op::Nn(NnOp::Conv(a)) => {
            let (x, w) = (need(n, 0)?, need(n, 1)?);
            let wt = weight(g, w, o)?;
            let (m, dims) = (wt.shape()[0], wt.shape().to_vec());
            if dims.len() < 3 {
                return Err(format!("weight of rank {}", dims.len()));
            }
            let (q, scales) = quantize_rows(&wt.to_f32_vec().map_err(|e| e.to_string())?, m);
            let y = out(n, 0)?;
            let mut b = Builder::new(g, &n.name);
            let wq = b.konst("w_i8", Tensor::from_vec(dims.clone(), q).map_err(|e| e.to_string())?);
            let (xq, xs, xz) = dynamic_quantize(&mut b, "x_", x);
            let op = Op::Quant(QuantOp::ConvInteger(a.clone()));
            let acc = b.node_opt("acc", op, &[Some(xq), Some(wq), Some(xz)]);
            // Per-channel values broadcast as `[M, 1, ..]` against `[N, M, spatial..]`.
            let mut col = vec![m];
            col.resize(dims.len() - 1, 1);
            let mut last =
                dequantize(&mut b, "", acc, xs, Tensor::from_vec(col.clone(), scales).map_err(|e| e.to_string())?);
            if let Some(bias) = n.input(2) {
                let bias = reshape_value(&mut b, "bias", bias, &col)?;
                last = b.binary("biased", Binary::Add, last, bias);
            }
            Ok(b.finish(last, y))
        }
        Op::Nn(NnOp::MatMul) => {
            let (x, w) = (need(n, 0)?, need(n, 1)?);
            let wt = weight(g, w, o)?;
            if wt.rank() != 2 {
                return Err(format!("weight of rank {} (2-D only)", wt.rank()));
            }
            let (k, nn) = (wt.shape()[0], wt.shape()[1]);
            let y = out(n, 0)?;
            let mut b = Builder::new(g, &n.name);
            let last = dynamic_matmul(&mut b, "", x, &wt.to_f32_vec().map_err(|e| e.to_string())?, k, nn, 1.0)?;
            Ok(b.finish(last, y))
        }
        Op::Nn(NnOp::Gemm { alpha, beta, trans_a, trans_b }) => {
            if *trans_a {
                return Err("transA = 1".into());
            }
            let (x, w) = (need(n, 0)?, need(n, 1)?);
            let wt = weight(g, w, o)?;
            if wt.rank() != 2 {
                return Err(format!("weight of rank {}", wt.rank()));
            }
            let v = wt.to_f32_vec().map_err(|e| e.to_string())?;
            let (r0, c0) = (wt.shape()[0], wt.shape()[1]);
            // B' as [K, N].
            let (k, nn, kn) = if *trans_b { (c0, r0, transpose(&v, r0, c0)) } else { (r0, c0, v) };
            let y = out(n, 0)?;
            let mut b = Builder::new(g, &n.name);
            let mut last = dynamic_matmul(&mut b, "", x, &kn, k, nn, *alpha)?;
            if let Some(c) = n.input(2).filter(|_| *beta != 0.0) {
                let c = match b.g.value(c).init.clone().filter(|_| !b.g.inputs.contains(&c)) {
                    Some(t) if *beta != 1.0 => {
                        let v: Vec<f32> = t.to_f32_vec().map_err(|e| e.to_string())?.iter().map(|x| x * beta).collect();
                        b.konst("c_scaled", Tensor::from_vec(t.shape().to_vec(), v).map_err(|e| e.to_string())?)
                    }
                    _ if *beta != 1.0 => {
                        let s = b.konst("beta", Tensor::scalar(*beta));
                        b.binary("c_scaled", Binary::Mul, c, s)
                    }
                    _ => c,
                };
                last = b.binary("biased", Binary::Add, last, c);
            }
            Ok(b.finish(last, y))
        }
        Op::Rnn(RnnOp::Lstm { attrs, input_forget }) => lstm(g, n, attrs, *input_forget, o),
        _ => Err("not a candidate".into()),
    }
}

fn need(n: &Node, i: usize) -> Result<ValueId, Why> {
    n.input(i).ok_or_else(|| format!("input {i} is absent"))
}

fn out(n: &Node, i: usize) -> Result<ValueId, Why> {
    n.outputs.get(i).copied().flatten().ok_or_else(|| format!("output {i} is unused"))
}

/// The constant f32 weight `w` with at least `o.min_weights` values.
fn weight(g: &Graph, w: ValueId, o: &DynamicInt8) -> Result<Tensor, Why> {
    let t = match &g.value(w).init {
        Some(t) if !g.inputs.contains(&w) => t,
        _ => return Err("weight is not a constant".into()),
    };
    if t.dtype() != DType::F32 {
        return Err(format!("weight is {}, not f32", t.dtype()));
    }
    if t.len() < o.min_weights {
        return Err(format!("weight has {} values (< {})", t.len(), o.min_weights));
    }
    Ok(t.clone())
}

/// Symmetric int8 quantization of each of the `rows` rows of `w`: the values in `[-127, 127]`
/// (round half to even) and each row's scale `max |w| / 127` (1 for a row of zeros).
pub fn quantize_rows(w: &[f32], rows: usize) -> (Vec<i8>, Vec<f32>) {
    let len = w.len() / rows.max(1);
    let mut q = Vec::with_capacity(w.len());
    let mut scales = Vec::with_capacity(rows);
    for row in w.chunks(len.max(1)).take(rows) {
        let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let s = if max > 0.0 && max.is_finite() { max / 127.0 } else { 1.0 };
        q.extend(row.iter().map(|v| (v / s).round_ties_even().clamp(-127.0, 127.0) as i8));
        scales.push(s);
    }
    (q, scales)
}

fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols * rows).map(|i| v[(i % rows) * cols + i / rows]).collect()
}

/// `DynamicQuantizeLinear(x)`: the u8 values, the scale and the zero point.
fn dynamic_quantize(b: &mut Builder<'_>, what: &str, x: ValueId) -> (ValueId, ValueId, ValueId) {
    let (q, s, z) =
        (b.value(&format!("{what}u8")), b.value(&format!("{what}scale")), b.value(&format!("{what}zero_point")));
    b.out.push(Node {
        name: format!("{}.quantize", b.g.value(q).name),
        op: Op::Quant(QuantOp::DynamicQuantize),
        inputs: vec![Some(x)],
        outputs: vec![Some(q), Some(s), Some(z)],
    });
    (q, s, z)
}

/// `Cast(acc, f32) * (x_scale * w_scales)`; `what` prefixes the new values' names.
fn dequantize(b: &mut Builder<'_>, what: &str, acc: ValueId, x_scale: ValueId, w_scales: Tensor) -> ValueId {
    let f = b.cast(&format!("{what}acc_f32"), acc, DType::F32);
    let ws = b.konst(&format!("{what}w_scale"), w_scales);
    let s = b.binary(&format!("{what}scale"), Binary::Mul, x_scale, ws);
    b.binary(&format!("{what}dequantized"), Binary::Mul, f, s)
}

/// `x [.., K] @ W [K, N] * alpha` in the dynamic form; `w` row-major `[K, N]`, quantized per
/// column. `what` prefixes the new values' names.
fn dynamic_matmul(
    b: &mut Builder<'_>,
    what: &str,
    x: ValueId,
    w: &[f32],
    k: usize,
    n: usize,
    alpha: f32,
) -> Result<ValueId, Why> {
    let (q, mut scales) = quantize_rows(&transpose(w, k, n), n);
    scales.iter_mut().for_each(|s| *s *= alpha);
    let q = transpose_i8(&q, n, k);
    let wq = b.konst(&format!("{what}w_i8"), Tensor::from_vec(vec![k, n], q).map_err(|e| e.to_string())?);
    let (xq, xs, xz) = dynamic_quantize(b, what, x);
    let acc = b.node_opt(&format!("{what}acc"), Op::Quant(QuantOp::MatMulInteger), &[Some(xq), Some(wq), Some(xz)]);
    Ok(dequantize(b, what, acc, xs, Tensor::from_vec(vec![n], scales).map_err(|e| e.to_string())?))
}

fn transpose_i8(v: &[i8], rows: usize, cols: usize) -> Vec<i8> {
    (0..cols * rows).map(|i| v[(i % rows) * cols + i / rows]).collect()
}

/// `v` reshaped to `dims` (a constant stays a constant).
fn reshape_value(b: &mut Builder<'_>, what: &str, v: ValueId, dims: &[usize]) -> Result<ValueId, Why> {
    match b.g.value(v).init.clone().filter(|_| !b.g.inputs.contains(&v)) {
        Some(t) => Ok(b.konst(what, t.reshape(dims.to_vec()).map_err(|e| e.to_string())?)),
        None => Ok(b.reshape(what, v, dims)),
    }
}

/// Reshapes `x` into the existing value `y`.
fn reshape_into(b: &mut Builder<'_>, what: &str, x: ValueId, dims: &[usize], y: ValueId) {
    let r = b.reshape(what, x, dims);
    b.assign(r, y);
}

/// One-step, one-direction LSTM with default activations, unrolled (see the module doc).
fn lstm(
    g: &mut Graph,
    n: &Node,
    a: &mote_ir::ops::rnn::RnnAttrs,
    input_forget: bool,
    o: &DynamicInt8,
) -> Result<Vec<Node>, Why> {
    if a.direction.num_directions() != 1 {
        return Err("bidirectional".into());
    }
    if a.clip.is_some() || input_forget {
        return Err("clip or input_forget".into());
    }
    let default = [Activation::Sigmoid, Activation::Tanh, Activation::Tanh];
    if a.activations.len() != 3 || a.activations.iter().zip(&default).any(|(x, y)| x != y) {
        return Err("non-default activations".into());
    }
    if n.input(4).is_some() || n.input(7).is_some() {
        return Err("sequence_lens or peepholes".into());
    }
    let x = need(n, 0)?;
    let (xt, xd) = typed(g, x).ok_or("input shape is not static")?;
    if xt != DType::F32 || xd.len() != 3 {
        return Err("input is not a 3-D f32 tensor".into());
    }
    let (seq, batch, input) = if a.batch_first { (xd[1], xd[0], xd[2]) } else { (xd[0], xd[1], xd[2]) };
    if seq != 1 {
        return Err(format!("sequence length {seq} (1 only)"));
    }
    let h = a.hidden_size;
    let w = weight(g, need(n, 1)?, o)?;
    let r = weight(g, need(n, 2)?, o)?;
    if w.shape() != [1, 4 * h, input] || r.shape() != [1, 4 * h, h] {
        return Err("W or R has an unexpected shape".into());
    }
    let bias: Option<Vec<f32>> = match n.input(3) {
        None => None,
        Some(bv) => match &g.value(bv).init {
            Some(t) if !g.inputs.contains(&bv) && t.len() == 8 * h => {
                let v = t.to_f32_vec().map_err(|e| e.to_string())?;
                Some((0..4 * h).map(|i| v[i] + v[4 * h + i]).collect())
            }
            _ => return Err("bias is not a constant [1, 8h]".into()),
        },
    };
    // W [4h, input] is Wᵀ [input, 4h] read column-wise: the product wants [input, 4h].
    let wt = transpose(&w.to_f32_vec().map_err(|e| e.to_string())?, 4 * h, input);
    let rt = transpose(&r.to_f32_vec().map_err(|e| e.to_string())?, 4 * h, h);
    let mut b = Builder::new(g, &n.name);
    let state = |b: &mut Builder<'_>, i: usize, what: &str| n.input(i).map(|v| b.reshape(what, v, &[batch, h]));
    let (h0, c0) = (state(&mut b, 5, "h0"), state(&mut b, 6, "c0"));
    let x2 = b.reshape("x", x, &[batch, input]);
    let mut gates = dynamic_matmul(&mut b, "x_", x2, &wt, input, 4 * h, 1.0)?;
    if let Some(h0) = h0 {
        let rh = dynamic_matmul(&mut b, "h_", h0, &rt, h, 4 * h, 1.0)?;
        gates = b.binary("gates", Binary::Add, gates, rh);
    }
    if let Some(bias) = bias {
        let bc = b.konst("bias", Tensor::from_vec(vec![4 * h], bias).map_err(|e| e.to_string())?);
        gates = b.binary("gates_biased", Binary::Add, gates, bc);
    }
    // Gate order i, o, f, c.
    let parts: Vec<ValueId> = ["i_pre", "o_pre", "f_pre", "c_pre"].iter().map(|w| b.value(w)).collect();
    let name = format!("{}/split", n.name);
    b.out.push(Node {
        name,
        op: Op::Shape(ShapeOp::Split { axis: 1 }),
        inputs: vec![Some(gates)],
        outputs: parts.iter().map(|&p| Some(p)).collect(),
    });
    let unary = |b: &mut Builder<'_>, what: &str, u: Unary, x: ValueId| {
        b.node(what, Op::Elementwise(ElementwiseOp::Unary(u)), &[x])
    };
    let i = unary(&mut b, "i", Unary::Sigmoid, parts[0]);
    let og = unary(&mut b, "o", Unary::Sigmoid, parts[1]);
    let c_new = unary(&mut b, "c_candidate", Unary::Tanh, parts[3]);
    let mut c = b.binary("ic", Binary::Mul, i, c_new);
    if let Some(c0) = c0 {
        let f = unary(&mut b, "f", Unary::Sigmoid, parts[2]);
        let fc = b.binary("fc", Binary::Mul, f, c0);
        c = b.binary("c", Binary::Add, fc, c);
    }
    let tc = unary(&mut b, "tanh_c", Unary::Tanh, c);
    let hh = b.binary("h", Binary::Mul, og, tc);
    let y_dims = if a.batch_first { vec![batch, 1, 1, h] } else { vec![1, 1, batch, h] };
    let s_dims = if a.batch_first { vec![batch, 1, h] } else { vec![1, batch, h] };
    for (k, (v, dims)) in [(hh, &y_dims), (hh, &s_dims), (c, &s_dims)].into_iter().enumerate() {
        if let Some(y) = n.outputs.get(k).copied().flatten() {
            reshape_into(&mut b, &format!("out{k}"), v, dims, y);
        }
    }
    Ok(b.out)
}
