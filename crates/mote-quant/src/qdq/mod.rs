//! QDQ insertion: a float graph rewritten into the QDQ form Mote runs in int8.
//!
//! - activations: `QuantizeLinear(x, scale, zp: i8) -> DequantizeLinear` per tensor, asymmetric,
//!   inserted after the producer (graph inputs: before the first node); every consumer reads the
//!   dequantized value, and a graph output stays f32 (the dequantized value takes its name);
//! - weights of Conv / Gemm / MatMul: constant int8 symmetric (±127) per output channel (or per
//!   tensor) behind `DequantizeLinear(w_i8, scales, zeros, axis)`; bias: int32 with scale
//!   `s_x * s_w[c]` behind `DequantizeLinear(axis 0)`;
//! - a Relu or Clip with constant bounds that is the only consumer of a Conv/Gemm/MatMul/Add/Mul
//!   is fused: the quantization comes after it;
//! - views (Reshape, Flatten, Transpose, Squeeze, Unsqueeze) and MaxPool reuse their input's
//!   parameters; Sigmoid, HardSigmoid and Softmax outputs get TFLite's fixed `1/256, -128`, Tanh's
//!   `1/128, 0`;
//! - other ops stay float, reading dequantized values.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Context, Result, bail};
use mote_core::DType;
use mote_ir::ops::elementwise::{Binary, ElementwiseOp, Unary};
use mote_ir::ops::nn::{GlobalPool, NnOp, PoolKind, SoftmaxKind};
use mote_ir::ops::quant::QuantOp;
use mote_ir::ops::reduce::{ReduceOp, Reduction};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Graph, Node, Op, Tensor, TensorType, ValueId, ValueType};

use crate::observe::QParams;

/// What to quantize.
#[derive(Clone, Debug)]
pub struct QdqOptions {
    /// Weights per output channel (else per tensor).
    pub per_channel: bool,
    /// Nodes (by name) kept in f32.
    pub keep_float: BTreeSet<String>,
    /// Mean of each channel (axis 1) of float tensors on the calibration data, by name: the
    /// bias of a Conv/Gemm then absorbs the mean error its int8 weights make on its input
    /// (bias correction, Nagel et al. 2019). Empty: no correction.
    pub channel_means: BTreeMap<String, Vec<f32>>,
    /// Mean error of each channel (axis 1) of quantized tensors, by name: `E[dq(q(x))] -
    /// E[x]` (clipping and rounding of skewed values), measured by `crate::bias`. A Conv/Gemm
    /// bias also absorbs what this error makes of its output. Empty: none.
    pub input_error: BTreeMap<String, Vec<f32>>,
}

impl Default for QdqOptions {
    fn default() -> Self {
        QdqOptions {
            per_channel: true,
            keep_float: BTreeSet::new(),
            channel_means: BTreeMap::new(),
            input_error: BTreeMap::new(),
        }
    }
}

/// A quantized activation.
#[derive(Clone, Debug, PartialEq)]
pub struct QTensor {
    /// Its name in the float graph.
    pub name: String,
    /// The name of its dequantized value in the QDQ graph.
    pub dq: String,
    pub params: QParams,
    /// The quantized node whose output it is (`None`: a graph input or an input of a quantized
    /// node produced by a float one).
    pub owner: Option<String>,
}

/// The QDQ graph and what was quantized.
#[derive(Clone, Debug)]
pub struct Quantized {
    pub graph: Graph,
    /// Quantized nodes (name, op), in graph order.
    pub nodes: Vec<(String, &'static str)>,
    /// Nodes left in float (name, op), in graph order (views and fused activations not listed).
    pub float_nodes: Vec<(String, &'static str)>,
    pub tensors: Vec<QTensor>,
}

/// How a node takes part.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    /// Conv, Gemm, MatMul: activation input 0, constant weight (quantized along `axis`), bias.
    Weighted { weight: usize, axis: usize, bias: Option<usize> },
    /// Inputs and output quantized; `fixed` output parameters, or `shared` with input 0's.
    Plain { fixed: Option<QParams>, shared: bool, fuses: bool },
    /// A view: its output reuses its input's parameters when both are quantized.
    View,
    /// Stays float.
    Float,
}

fn is_const(g: &Graph, id: ValueId) -> bool {
    g.value(id).init.is_some() && !g.inputs.contains(&id)
}

fn dtype(g: &Graph, id: ValueId) -> Option<DType> {
    g.value(id).ty.as_tensor().and_then(|t| t.dtype)
}

fn const_of(g: &Graph, n: &Node, i: usize) -> Option<Tensor> {
    n.input(i).filter(|&id| is_const(g, id)).and_then(|id| g.value(id).init.clone())
}

fn role(g: &Graph, n: &Node) -> Role {
    // The main input: a float activation (a constant one would have been folded).
    let f32_in = n.input(0).is_some_and(|x| dtype(g, x) == Some(DType::F32) && !is_const(g, x));
    if !f32_in {
        return Role::Float;
    }
    let plain = Role::Plain { fixed: None, shared: false, fuses: false };
    let fixed = |scale: f32, zero_point: i8| Role::Plain {
        fixed: Some(QParams { scale, zero_point }),
        shared: false,
        fuses: false,
    };
    let w_f32 = |i: usize| const_of(g, n, i).filter(|t| t.dtype() == DType::F32);
    match &n.op {
        Op::Nn(NnOp::Conv(_)) => match w_f32(1) {
            Some(w) if w.rank() >= 3 => {
                let bias = w_f32(2).filter(|b| b.shape() == [w.shape()[0]]).map(|_| 2);
                if n.input(2).is_some() && bias.is_none() {
                    return Role::Float;
                }
                Role::Weighted { weight: 1, axis: 0, bias }
            }
            _ => Role::Float,
        },
        Op::Nn(NnOp::Gemm { alpha, beta, trans_a: false, trans_b }) if *alpha == 1.0 => match w_f32(1) {
            Some(w) if w.rank() == 2 => {
                let axis = if *trans_b { 0 } else { 1 };
                let n_out = w.shape()[axis];
                let bias = w_f32(2).filter(|b| b.shape() == [n_out] && *beta == 1.0).map(|_| 2);
                if n.input(2).is_some() && bias.is_none() {
                    return Role::Float;
                }
                Role::Weighted { weight: 1, axis, bias }
            }
            _ => Role::Float,
        },
        Op::Nn(NnOp::MatMul) => match w_f32(1) {
            Some(w) if w.rank() == 2 => Role::Weighted { weight: 1, axis: 1, bias: None },
            _ => Role::Float,
        },
        Op::Elementwise(ElementwiseOp::Binary(Binary::Add | Binary::Mul)) => {
            Role::Plain { fixed: None, shared: false, fuses: true }
        }
        Op::Nn(NnOp::Pool(p)) => match p.kind {
            PoolKind::Average { .. } => plain,
            PoolKind::Max { .. } if n.outputs.get(1).copied().flatten().is_none() => {
                Role::Plain { fixed: None, shared: true, fuses: false }
            }
            _ => Role::Float,
        },
        Op::Nn(NnOp::GlobalPool(GlobalPool::Average)) => plain,
        Op::Reduce(ReduceOp::Reduce { kind: Reduction::Mean, .. }) => {
            let rank = g.value(n.inputs[0].unwrap_or(ValueId(0))).ty.as_tensor().and_then(|t| t.rank());
            let axes = const_of(g, n, 1).and_then(|t| t.to_i64_vec().ok());
            match (rank, axes) {
                (Some(4), Some(a)) if !a.is_empty() && a.iter().all(|&x| matches!(x, 2 | 3 | -1 | -2)) => plain,
                _ => Role::Float,
            }
        }
        Op::Shape(ShapeOp::Concat { .. }) => plain,
        Op::Nn(NnOp::Softmax(s)) if s.kind == SoftmaxKind::Softmax => fixed(1.0 / 256.0, -128),
        Op::Elementwise(ElementwiseOp::Unary(u)) => match u {
            Unary::Sigmoid | Unary::HardSigmoid { .. } => fixed(1.0 / 256.0, -128),
            Unary::Tanh => fixed(1.0 / 128.0, 0),
            Unary::HardSwish => plain,
            _ => Role::Float,
        },
        Op::Shape(
            ShapeOp::Reshape { .. }
            | ShapeOp::Flatten { .. }
            | ShapeOp::Transpose { .. }
            | ShapeOp::Squeeze
            | ShapeOp::Unsqueeze,
        ) => Role::View,
        _ => Role::Float,
    }
}

/// A Relu, or a Clip whose bounds are constant or absent.
fn is_fusable_activation(g: &Graph, n: &Node) -> bool {
    match &n.op {
        Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)) => true,
        Op::Elementwise(ElementwiseOp::Clip) => (1..3).all(|i| n.input(i).is_none_or(|id| is_const(g, id))),
        _ => false,
    }
}

/// The float data inputs of a quantized node that get quantized (constant ones included).
fn data_inputs(g: &Graph, n: &Node, r: Role) -> Vec<usize> {
    match r {
        Role::Weighted { .. } => vec![0],
        Role::Plain { .. } => match &n.op {
            Op::Elementwise(_) | Op::Shape(ShapeOp::Concat { .. }) => {
                (0..n.inputs.len()).filter(|&i| n.input(i).is_some_and(|id| dtype(g, id) == Some(DType::F32))).collect()
            }
            _ => vec![0],
        },
        _ => vec![],
    }
}

/// Rewrites `g` (float, BatchNorm already folded) into QDQ form with the observed `ranges`
/// (value name -> `[lo, hi]`).
pub fn quantize(g: &Graph, ranges: &BTreeMap<String, (f32, f32)>, opts: &QdqOptions) -> Result<Quantized> {
    let roles: Vec<Role> =
        g.nodes.iter().map(|n| if opts.keep_float.contains(&n.name) { Role::Float } else { role(g, n) }).collect();
    let mut consumers: HashMap<ValueId, Vec<usize>> = HashMap::new();
    for (k, n) in g.nodes.iter().enumerate() {
        for id in n.inputs.iter().flatten() {
            consumers.entry(*id).or_default().push(k);
        }
    }
    let producers = g.producers();
    let is_output = |id: ValueId| g.outputs.contains(&id);

    // Which values get quantized, who owns them, and their parameters' origin.
    enum Origin {
        Range,
        Fixed(QParams),
        Shared(ValueId),
    }
    let mut quant: BTreeMap<ValueId, (Option<String>, Origin)> = BTreeMap::new();
    let mut fused_acts = BTreeSet::new();
    let mut const_inputs: Vec<(usize, usize)> = Vec::new();
    for (k, n) in g.nodes.iter().enumerate() {
        let r = roles[k];
        if matches!(r, Role::Float | Role::View) {
            continue;
        }
        for i in data_inputs(g, n, r) {
            let Some(id) = n.input(i) else { continue };
            if is_const(g, id) {
                const_inputs.push((k, i));
            } else {
                quant.entry(id).or_insert((None, Origin::Range));
            }
        }
        let Some(out) = n.outputs.first().copied().flatten() else { continue };
        let fuses = matches!(r, Role::Weighted { .. } | Role::Plain { fuses: true, .. });
        let act = match consumers.get(&out).map(Vec::as_slice) {
            Some([c]) if fuses && !is_output(out) && is_fusable_activation(g, &g.nodes[*c]) => Some(*c),
            _ => None,
        };
        let (target, origin) = match (act, r) {
            (Some(c), _) => {
                fused_acts.insert(c);
                match g.nodes[c].outputs.first().copied().flatten() {
                    Some(o) => (o, Origin::Range),
                    None => continue,
                }
            }
            (None, Role::Plain { fixed: Some(p), .. }) => (out, Origin::Fixed(p)),
            (None, Role::Plain { shared: true, .. }) => match n.input(0) {
                Some(x) => (out, Origin::Shared(x)),
                None => (out, Origin::Range),
            },
            _ => (out, Origin::Range),
        };
        quant.insert(target, (Some(n.name.clone()), origin));
    }
    // A view's output that is quantized reuses its quantized input's parameters.
    for (k, n) in g.nodes.iter().enumerate() {
        if roles[k] != Role::View {
            continue;
        }
        if let (Some(x), Some(y)) = (n.input(0), n.outputs.first().copied().flatten())
            && quant.contains_key(&x)
            && let Some(e) = quant.get_mut(&y)
        {
            e.1 = Origin::Shared(x);
        }
    }
    // Parameters, in value order (shared ones follow their source, which comes earlier).
    let mut params: HashMap<ValueId, QParams> = HashMap::new();
    let order: Vec<ValueId> = {
        let pos = |id: &ValueId| producers.get(id).map_or(-1, |n| n.0 as i64);
        let mut v: Vec<ValueId> = quant.keys().copied().collect();
        v.sort_by_key(pos);
        v
    };
    for &id in &order {
        let name = &g.value(id).name;
        let p = match &quant[&id].1 {
            Origin::Fixed(p) => *p,
            Origin::Shared(x) if params.contains_key(x) => params[x],
            _ => {
                let &(lo, hi) = ranges.get(name).with_context(|| {
                    format!(
                        "tensor `{name}` has no calibration range (it was not observed as f32 on the calibration data)"
                    )
                })?;
                QParams::asymmetric(lo, hi)
            }
        };
        params.insert(id, p);
    }

    // Build the new graph.
    let mut out = g.clone();
    out.nodes.clear();
    let mut remap: HashMap<ValueId, ValueId> = HashMap::new();
    let mut tensors = Vec::new();
    let emit_qdq = |out: &mut Graph, id: ValueId, tensors: &mut Vec<QTensor>, remap: &mut HashMap<ValueId, ValueId>| {
        let p = params[&id];
        let name = g.value(id).name.clone();
        let shape = g.value(id).ty.as_tensor().and_then(|t| t.shape.clone());
        let scale = out.add_const(format!("{name}/scale"), Tensor::scalar(p.scale));
        let zp = out.add_const(format!("{name}/zero_point"), Tensor::scalar(p.zero_point));
        let q = out.add_value(
            format!("{name}/q"),
            ValueType::Tensor(TensorType { dtype: Some(DType::I8), shape: shape.clone() }),
        );
        let dq_name = if is_output(id) { name.clone() } else { format!("{name}/dq") };
        let dq = out.add_value(dq_name.clone(), ValueType::Tensor(TensorType { dtype: Some(DType::F32), shape }));
        if is_output(id) {
            out.value_mut(id).name = format!("{name}/float");
            for o in out.outputs.iter_mut().filter(|o| **o == id) {
                *o = dq;
            }
        }
        out.add_node(
            format!("{name}/QuantizeLinear"),
            quantize_op(),
            vec![Some(id), Some(scale), Some(zp)],
            vec![Some(q)],
        );
        out.add_node(
            format!("{name}/DequantizeLinear"),
            dequantize_op(0),
            vec![Some(q), Some(scale), Some(zp)],
            vec![Some(dq)],
        );
        remap.insert(id, dq);
        tensors.push(QTensor { name, dq: dq_name, params: p, owner: quant[&id].0.clone() });
    };
    for &id in &g.inputs {
        if params.contains_key(&id) {
            emit_qdq(&mut out, id, &mut tensors, &mut remap);
        }
    }
    let mut nodes = Vec::new();
    let mut float_nodes = Vec::new();
    for (k, n) in g.nodes.iter().enumerate() {
        let mut node = n.clone();
        for i in node.inputs.iter_mut().flatten() {
            if let Some(&d) = remap.get(i) {
                *i = d;
            }
        }
        match roles[k] {
            Role::Weighted { weight, axis, bias } => {
                let x = n.input(0).context("quantized node without input")?;
                let s_x = params.get(&x).context("the input of a quantized node has no parameters")?.scale;
                let w = const_of(g, n, weight).context("weight is not constant")?;
                let floor = match bias.and_then(|b| const_of(g, n, b)) {
                    Some(b) => b.to_f32_vec()?.iter().map(|&b| bias_scale_floor(b, s_x)).collect(),
                    None => Vec::new(),
                };
                let (wq, s_w) = quantize_weight_floored(&w, axis, opts.per_channel, &floor)?;
                let wname = g.value(n.inputs[weight].unwrap_or(x)).name.clone();
                let scales = if opts.per_channel {
                    Tensor::from_vec(vec![s_w.len()], s_w.clone())?
                } else {
                    Tensor::scalar(s_w[0])
                };
                let zeros = if opts.per_channel {
                    Tensor::from_vec(vec![s_w.len()], vec![0i8; s_w.len()])?
                } else {
                    Tensor::scalar(0i8)
                };
                node.inputs[weight] = Some(dequantized_const(
                    &mut out,
                    &format!("{}/{wname}", n.name),
                    wq.clone(),
                    scales,
                    zeros,
                    axis as i64,
                ));
                let xname = &g.value(x).name;
                let err = opts.input_error.get(xname).map_or(&[][..], Vec::as_slice);
                let shift = opts.channel_means.get(xname).and_then(|m| bias_shift(n, &w, &wq, &s_w, axis, m, err));
                // A correction needs a bias: a Conv, or a Gemm with beta 1, gets a zero one.
                let slot = match (&n.op, bias) {
                    (_, Some(b)) => Some(b),
                    (Op::Nn(NnOp::Conv(_)), None) | (Op::Nn(NnOp::Gemm { beta: 1.0, .. }), None) if shift.is_some() => {
                        Some(2)
                    }
                    _ => None,
                };
                if let Some(b) = slot {
                    let mut bv = match const_of(g, n, b) {
                        Some(bt) => bt.to_f32_vec()?,
                        None => vec![0.0; w.shape()[axis]],
                    };
                    if let Some(d) = &shift {
                        bv.iter_mut().zip(d).for_each(|(b, d)| *b -= d);
                    }
                    if node.inputs.len() <= b {
                        node.inputs.resize(b + 1, None);
                    }
                    let s_b: Vec<f32> =
                        (0..bv.len()).map(|c| s_x * s_w[if opts.per_channel { c } else { 0 }]).collect();
                    let bq: Vec<i32> = bv
                        .iter()
                        .zip(&s_b)
                        .map(|(&v, &s)| {
                            (v as f64 / s as f64).round_ties_even().clamp(i32::MIN as f64, i32::MAX as f64) as i32
                        })
                        .collect();
                    let bname = n.input(b).map_or_else(|| format!("{wname}/bias"), |id| g.value(id).name.clone());
                    let (scales, zeros) = if opts.per_channel {
                        (
                            Tensor::from_vec(vec![bv.len()], s_b)?,
                            Tensor::from_vec(vec![bv.len()], vec![0i32; bv.len()])?,
                        )
                    } else {
                        (Tensor::scalar(s_b[0]), Tensor::scalar(0i32))
                    };
                    node.inputs[b] = Some(dequantized_const(
                        &mut out,
                        &format!("{}/{bname}", n.name),
                        Tensor::from_vec(vec![bq.len()], bq)?,
                        scales,
                        zeros,
                        0,
                    ));
                }
                nodes.push((n.name.clone(), n.op.name()));
            }
            Role::Plain { .. } => {
                for &(kk, i) in const_inputs.iter().filter(|(kk, _)| *kk == k) {
                    let _ = kk;
                    let c = const_of(g, n, i).context("constant input vanished")?;
                    let v = c.to_f32_vec()?;
                    let (lo, hi) = v.iter().fold((0f32, 0f32), |(a, b), &x| (a.min(x), b.max(x)));
                    let p = QParams::asymmetric(lo, hi);
                    let q: Vec<i8> = v.iter().map(|&x| quantize_value(x, p)).collect();
                    let cname = g.value(n.inputs[i].unwrap_or(ValueId(0))).name.clone();
                    node.inputs[i] = Some(dequantized_const(
                        &mut out,
                        &format!("{}/{cname}", n.name),
                        Tensor::from_vec(c.shape().to_vec(), q)?,
                        Tensor::scalar(p.scale),
                        Tensor::scalar(p.zero_point),
                        0,
                    ));
                }
                nodes.push((n.name.clone(), n.op.name()));
            }
            Role::Float if !fused_acts.contains(&k) => float_nodes.push((n.name.clone(), n.op.name())),
            _ => {}
        }
        out.nodes.push(node);
        for o in n.outputs.iter().flatten() {
            if params.contains_key(o) {
                emit_qdq(&mut out, *o, &mut tensors, &mut remap);
            }
        }
    }
    mote_interp::infer(&mut out).map_err(|e| anyhow::anyhow!("the QDQ graph does not infer: {e}"))?;
    mote_ir::verify::verify(&out).map_err(|e| anyhow::anyhow!("the QDQ graph is invalid: {e}"))?;
    Ok(Quantized { graph: out, nodes, float_nodes, tensors })
}

fn quantize_op() -> Op {
    Op::Quant(QuantOp::Quantize { axis: 1, block_size: 0, output_dtype: None, precision: None, saturate: true })
}

fn dequantize_op(axis: i64) -> Op {
    Op::Quant(QuantOp::Dequantize { axis, block_size: 0, output_dtype: None })
}

/// Adds `DequantizeLinear(q, scales, zeros, axis)` of constants; returns its output.
fn dequantized_const(g: &mut Graph, name: &str, q: Tensor, scales: Tensor, zeros: Tensor, axis: i64) -> ValueId {
    let shape = q.shape().to_vec();
    let qv = g.add_const(format!("{name}/quantized"), q);
    let s = g.add_const(format!("{name}/scale"), scales);
    let z = g.add_const(format!("{name}/zero_point"), zeros);
    let out = g.add_value(format!("{name}/dq"), ValueType::Tensor(TensorType::concrete(DType::F32, &shape)));
    g.add_node(
        format!("{name}/DequantizeLinear"),
        dequantize_op(axis),
        vec![Some(qv), Some(s), Some(z)],
        vec![Some(out)],
    );
    out
}

/// `x` in int8 with `p` (round half to even, saturating), as QuantizeLinear.
pub fn quantize_value(x: f32, p: QParams) -> i8 {
    ((x / p.scale).round_ties_even() + p.zero_point as f32).clamp(-128.0, 127.0) as i8
}

/// Symmetric int8 weights (±127): per slice along `axis`, or one scale for the whole tensor.
/// Returns the int8 tensor and the scales.
pub fn quantize_weight(w: &Tensor, axis: usize, per_channel: bool) -> Result<(Tensor, Vec<f32>)> {
    quantize_weight_floored(w, axis, per_channel, &[])
}

/// Bias values are int32 at `s_x * s_w[c]`: a weight scale below this would put `bias` past
/// 2^30 (half the int32 range, leaving room for the bias corrections) and saturate it. BatchNorm
/// folding makes such channels: a near-zero gamma gives tiny weights and a large bias.
fn bias_scale_floor(bias: f32, s_x: f32) -> f32 {
    const LIMIT: f64 = (1u32 << 30) as f64;
    if s_x > 0.0 && bias.is_finite() { (bias.abs() as f64 / (s_x as f64 * LIMIT)) as f32 } else { 0.0 }
}

/// [`quantize_weight`] with a lowest scale per output channel (`floor[c]`; empty: none), for
/// the bias to fit in int32 (`bias_scale_floor`).
pub fn quantize_weight_floored(
    w: &Tensor,
    axis: usize,
    per_channel: bool,
    floor: &[f32],
) -> Result<(Tensor, Vec<f32>)> {
    let v = w.to_f32_vec()?;
    let shape = w.shape();
    if axis >= shape.len() {
        bail!("weight axis {axis} out of range for shape {shape:?}");
    }
    let (c, inner) = (shape[axis], shape[axis + 1..].iter().product::<usize>());
    let chan = |i: usize| if per_channel { (i / inner) % c } else { 0 };
    let mut maxes = vec![0f32; if per_channel { c } else { 1 }];
    for (i, &x) in v.iter().enumerate() {
        let m = &mut maxes[chan(i)];
        *m = m.max(x.abs());
    }
    let lowest = |c: usize| if per_channel { floor.get(c).copied() } else { floor.iter().copied().reduce(f32::max) };
    let scales: Vec<f32> = maxes
        .iter()
        .enumerate()
        .map(|(c, &m)| {
            let s = if m > 0.0 && m.is_finite() { m / 127.0 } else { 1.0 };
            s.max(lowest(c).unwrap_or(0.0))
        })
        .collect();
    let q: Vec<i8> = v
        .iter()
        .enumerate()
        .map(|(i, &x)| (x / scales[chan(i)]).round_ties_even().clamp(-127.0, 127.0) as i8)
        .collect();
    Ok((Tensor::from_vec(shape.to_vec(), q)?, scales))
}

#[cfg(test)]
mod tests;

/// Per output channel, the mean output error of the int8 weights `wq` (scales `s_w`) on an input
/// whose channels have means `mean` and quantized means `mean + err` (`err` empty: zero):
/// `sum_k (wq * s_w - w)[m, k] * mean[c(k)] + (wq * s_w)[m, k] * err[c(k)]`. `None` when the
/// shapes do not match (the correction is skipped).
fn bias_shift(
    n: &Node,
    w: &Tensor,
    wq: &Tensor,
    s_w: &[f32],
    axis: usize,
    mean: &[f32],
    err: &[f32],
) -> Option<Vec<f32>> {
    let (wf, q) = (w.to_f32_vec().ok()?, wq.as_slice::<i8>()?);
    if !err.is_empty() && err.len() != mean.len() {
        return None;
    }
    let e = |c: usize| err.get(c).map_or(0.0, |&e| e as f64);
    let shape = w.shape();
    let m = shape[axis];
    let scale = |c: usize| if s_w.len() == 1 { s_w[0] } else { s_w[c] };
    let mut d = vec![0f64; m];
    match &n.op {
        Op::Nn(NnOp::Conv(a)) => {
            // W [M, C/g, k..]: output channel o reads input channels (o / (M/g)) * C/g + c.
            let (cg, k) = (shape[1], shape[2..].iter().product::<usize>());
            let per_group = m / a.group.max(1);
            if per_group == 0 || mean.len() != cg * a.group {
                return None;
            }
            for o in 0..m {
                let base = (o / per_group) * cg;
                for c in 0..cg {
                    for j in 0..k {
                        let i = (o * cg + c) * k + j;
                        let qw = q[i] as f64 * scale(o) as f64;
                        d[o] += (qw - wf[i] as f64) * mean[base + c] as f64 + qw * e(base + c);
                    }
                }
            }
        }
        Op::Nn(NnOp::Gemm { .. } | NnOp::MatMul) => {
            // W [N, K] (axis 0) or [K, N] (axis 1).
            let kdim = shape[1 - axis];
            if mean.len() != kdim {
                return None;
            }
            for o in 0..m {
                for k in 0..kdim {
                    let i = if axis == 0 { o * kdim + k } else { k * m + o };
                    let qw = q[i] as f64 * scale(o) as f64;
                    d[o] += (qw - wf[i] as f64) * mean[k] as f64 + qw * e(k);
                }
            }
        }
        _ => return None,
    }
    Some(d.into_iter().map(|x| x as f32).collect())
}
