//! The int8 units of a QDQ graph (what `mote-compile` lowers to `Q8*` steps, and what
//! `mote-train`'s forward computes with the integer reference kernels): an op whose activation inputs come
//! from `DequantizeLinear` of int8 tensors (per-tensor scale and zero point), whose weights are
//! constant int8 behind `DequantizeLinear` (symmetric, per output channel or per tensor), whose
//! output, after an optional Relu/Clip, goes only to a per-tensor int8 `QuantizeLinear`. Such a
//! unit runs as one integer step reading and writing the int8 tensors; the Dequantize and
//! Quantize nodes it makes unnecessary are not lowered at all.

use std::collections::{HashMap, HashSet};

use mote_core::DType;
use mote_kernels::reference::reduce::Reduction;
use mote_kernels::reference::shape::PadMode;
use mote_kernels::reference::unary::Unary;

use crate::ops::elementwise::{Binary, ElementwiseOp};
use crate::ops::nn::{ConvAttrs, GlobalPool, NnOp, PoolKind, SoftmaxKind};
use crate::ops::quant::QuantOp;
use crate::ops::reduce::ReduceOp;
use crate::ops::shape::ShapeOp;
use crate::{Graph, Op, Tensor, ValueId};

pub mod params;

/// Whether `op` only reinterprets its input's bytes (a view: Identity, Reshape, Flatten,
/// Squeeze, Unsqueeze, BitCast, Dropout in inference).
pub fn is_view(op: &Op) -> bool {
    matches!(
        op,
        Op::Shape(
            ShapeOp::Identity
                | ShapeOp::Reshape { .. }
                | ShapeOp::Flatten { .. }
                | ShapeOp::Squeeze
                | ShapeOp::Unsqueeze
                | ShapeOp::BitCast { .. }
        ) | Op::Nn(NnOp::Dropout { .. })
    )
}

/// An int8 activation operand: the int8 value, its scale and zero point.
#[derive(Clone, Copy, Debug)]
pub struct QIn {
    pub src: ValueId,
    pub scale: f32,
    /// The zero point of the int8 representation (a uint8 value's minus 128).
    pub zp: i32,
    /// A uint8 value in the graph: stored as int8 `q - 128` (the same reals).
    pub flip: bool,
}

/// Constant int8 weights: the tensor, one scale per output channel (or one), the axis.
#[derive(Clone, Debug)]
pub struct QWeight {
    pub data: Tensor,
    pub scales: Vec<f32>,
    pub axis: usize,
}

/// A bias: int32 with its scales, or float.
#[derive(Clone, Debug)]
pub enum QBias {
    Int { data: Tensor, scales: Vec<f32> },
    Float(Tensor),
}

/// What the unit computes.
#[derive(Clone, Debug)]
pub enum Kind {
    Conv(ConvAttrs),
    /// Gemm / MatMul: weights `[M, K]` when `trans_b`, else `[K, M]`.
    Dense {
        trans_b: bool,
    },
    Add,
    Mul,
    AvgPool(crate::ops::nn::Window),
    MaxPool(crate::ops::nn::Window),
    /// Mean over H and W of an NCHW tensor (GlobalAveragePool, ReduceMean over axes 2 and 3).
    Mean,
    Softmax,
    /// A one-input element-wise function as a 256-entry table.
    Lut,
    /// Concat along `axis` (inputs with other scales requantized by a table).
    Concat(i64),
}

/// One int8 unit.
#[derive(Clone, Debug)]
pub struct Unit {
    pub kind: Kind,
    pub main: usize,
    pub inputs: Vec<QIn>,
    pub weight: Option<QWeight>,
    pub bias: Option<QBias>,
    /// The fused activation's real bounds.
    pub clamp: (Option<f32>, Option<f32>),
    pub y: QIn,
    /// Zero-point padding of a `Pad` folded into a convolution: `[top, left, bottom, right]`.
    pub pad: [usize; 4],
    /// The nodes the unit replaces besides `main` (activation, Quantize).
    pub absorbed: Vec<usize>,
}

/// The int8 units of a graph and the nodes that need not be lowered.
#[derive(Debug, Default)]
pub struct Plan {
    pub units: HashMap<usize, Unit>,
    pub skip: HashSet<usize>,
    /// Nodes that read dequantized int8 activations but stay float (no int8 kernel, or the
    /// pattern around them is not a unit), with the reason.
    pub float: Vec<(usize, &'static str)>,
}

struct Finder<'g> {
    g: &'g Graph,
    known: &'g crate::infer::KnownValues,
    producer: HashMap<ValueId, usize>,
    readers: HashMap<ValueId, Vec<usize>>,
}

impl<'g> Finder<'g> {
    fn konst(&self, v: ValueId) -> Option<&'g Tensor> {
        self.g.value(v).init.as_ref().or_else(|| self.known.get(&v))
    }

    fn node_of(&self, v: ValueId) -> Option<(usize, &'g crate::Node)> {
        let i = *self.producer.get(&v)?;
        Some((i, &self.g.nodes[i]))
    }

    /// A scalar f32 scale and an i8 zero point (absent: 0) of a Q/DQ node.
    fn scale_zp(&self, n: &crate::Node) -> Option<(f32, i32)> {
        let s = self.konst(n.input(1)?)?;
        if s.dtype() != DType::F32 || s.len() != 1 {
            return None;
        }
        let zp = match n.input(2) {
            Some(z) => {
                let z = self.konst(z)?;
                if !matches!(z.dtype(), DType::I8 | DType::U8) || z.len() != 1 {
                    return None;
                }
                z.to_i64_vec().ok()?[0] as i32
            }
            None => 0,
        };
        Some((s.to_f64_vec().ok()?[0] as f32, zp))
    }

    /// The single node reading `v`, unless `v` is a graph output.
    fn sole_reader(&self, v: ValueId) -> Option<usize> {
        if self.g.outputs.contains(&v) {
            return None;
        }
        match self.readers.get(&v).map(Vec::as_slice) {
            Some([r]) => Some(*r),
            _ => None,
        }
    }

    /// `v` as an int8 activation: a per-tensor DequantizeLinear of a run-time i8 value, maybe
    /// behind views.
    fn act(&self, mut v: ValueId) -> Option<QIn> {
        loop {
            let (_, n) = self.node_of(v)?;
            match &n.op {
                op if is_view(op) => v = n.input(0)?,
                Op::Quant(QuantOp::Dequantize { block_size: 0, .. }) => {
                    let src = n.input(0)?;
                    let flip = match self.dtype(src) {
                        Some(DType::I8) => false,
                        Some(DType::U8) => true,
                        _ => return None,
                    };
                    if self.konst(src).is_some() {
                        return None;
                    }
                    let (scale, zp) = self.scale_zp(n)?;
                    return Some(QIn { src, scale, zp: zp - 128 * i32::from(flip), flip });
                }
                _ => return None,
            }
        }
    }

    fn dtype(&self, v: ValueId) -> Option<DType> {
        match &self.g.value(v).ty {
            crate::ValueType::Tensor(t) => t.dtype,
            _ => None,
        }
    }

    fn rank(&self, v: ValueId) -> Option<usize> {
        match &self.g.value(v).ty {
            crate::ValueType::Tensor(t) => t.shape.as_ref().map(|s| s.len()),
            _ => None,
        }
    }

    /// `v` as constant symmetric int8 weights behind a DequantizeLinear.
    fn weight(&self, v: ValueId) -> Option<QWeight> {
        let (_, n) = self.node_of(v)?;
        let Op::Quant(QuantOp::Dequantize { axis, block_size: 0, .. }) = &n.op else { return None };
        let data = self.konst(n.input(0)?)?;
        if data.dtype() != DType::I8 {
            return None;
        }
        let s = self.konst(n.input(1)?)?;
        if s.dtype() != DType::F32 || s.shape().len() > 1 {
            return None;
        }
        if let Some(z) = n.input(2) {
            let z = self.konst(z)?;
            if z.to_i64_vec().ok()?.iter().any(|&x| x != 0) {
                return None;
            }
        }
        let r = data.shape().len() as i64;
        let axis = if *axis < 0 { axis + r } else { *axis };
        if !(0..r).contains(&axis) || (s.len() != 1 && s.len() != data.shape()[axis as usize]) {
            return None;
        }
        let scales = s.to_f64_vec().ok()?.into_iter().map(|x| x as f32).collect();
        Some(QWeight { data: data.clone(), scales, axis: axis as usize })
    }

    fn bias(&self, v: ValueId) -> Option<QBias> {
        if let Some(t) = self.konst(v) {
            return (t.dtype() == DType::F32).then(|| QBias::Float(t.clone()));
        }
        let (_, n) = self.node_of(v)?;
        let Op::Quant(QuantOp::Dequantize { block_size: 0, .. }) = &n.op else { return None };
        let data = self.konst(n.input(0)?)?;
        let s = self.konst(n.input(1)?)?;
        if data.dtype() != DType::I32 || s.dtype() != DType::F32 {
            return None;
        }
        if let Some(z) = n.input(2)
            && self.konst(z)?.to_i64_vec().ok()?.iter().any(|&x| x != 0)
        {
            return None;
        }
        let scales = s.to_f64_vec().ok()?.into_iter().map(|x| x as f32).collect();
        Some(QBias::Int { data: data.clone(), scales })
    }

    /// The output side: `main`'s only output, an optional Relu/Clip with constant bounds, and a
    /// per-tensor int8 QuantizeLinear.
    fn output(&self, main: usize) -> Option<((Option<f32>, Option<f32>), QIn, Vec<usize>)> {
        let n = &self.g.nodes[main];
        let [Some(o)] = n.outputs.as_slice() else { return None };
        let mut r = self.sole_reader(*o)?;
        let mut clamp = (None, None);
        let mut absorbed = Vec::new();
        let rn = &self.g.nodes[r];
        let act = match &rn.op {
            Op::Elementwise(ElementwiseOp::Unary(Unary::Relu)) => Some((Some(0.0), None)),
            Op::Elementwise(ElementwiseOp::Clip) => {
                let b = |i| -> Option<Option<f32>> {
                    match rn.input(i) {
                        None => Some(None),
                        Some(v) => Some(Some(self.konst(v)?.to_f64_vec().ok()?.first().copied()? as f32)),
                    }
                };
                Some((b(1)?, b(2)?))
            }
            _ => None,
        };
        if let Some(c) = act {
            if rn.input(0) != Some(*o) {
                return None;
            }
            clamp = c;
            absorbed.push(r);
            let [Some(ao)] = rn.outputs.as_slice() else { return None };
            r = self.sole_reader(*ao)?;
        }
        let q = &self.g.nodes[r];
        let Op::Quant(QuantOp::Quantize { block_size: 0, .. }) = &q.op else { return None };
        let [Some(y)] = q.outputs.as_slice() else { return None };
        let flip = match self.dtype(*y) {
            Some(DType::I8) => false,
            Some(DType::U8) => true,
            _ => return None,
        };
        let (scale, zp) = self.scale_zp(q)?;
        absorbed.push(r);
        Some((clamp, QIn { src: *y, scale, zp: zp - 128 * i32::from(flip), flip }, absorbed))
    }

    /// A constant-mode Pad of H and W only, by the zero point, in front of `x`: its input and
    /// `[top, left, bottom, right]`.
    fn zp_pad(&self, x: &QIn) -> Option<(ValueId, [usize; 4])> {
        let (_, n) = self.node_of(x.src)?;
        let Op::Shape(ShapeOp::Pad { mode: PadMode::Constant }) = &n.op else { return None };
        if n.input(3).is_some() {
            return None;
        }
        let pads = self.konst(n.input(1)?)?.to_i64_vec().ok()?;
        let value = match n.input(2) {
            Some(v) => self.konst(v)?.to_i64_vec().ok()?.first().copied()?,
            None => 0,
        };
        let graph_zp = x.zp as i64 + 128 * i64::from(x.flip);
        if pads.len() != 8 || value != graph_zp || pads.iter().any(|&p| p < 0) {
            return None;
        }
        if pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
            return None;
        }
        Some((n.input(0)?, [pads[2] as usize, pads[3] as usize, pads[6] as usize, pads[7] as usize]))
    }

    /// Whether `op` has an int8 unit form at all.
    fn unit_op(&self, op: &Op) -> bool {
        matches!(
            op,
            Op::Nn(
                NnOp::Conv(_)
                    | NnOp::Gemm { .. }
                    | NnOp::MatMul
                    | NnOp::Pool(_)
                    | NnOp::GlobalPool(GlobalPool::Average)
                    | NnOp::Softmax(_)
            ) | Op::Elementwise(ElementwiseOp::Binary(Binary::Add | Binary::Mul) | ElementwiseOp::Unary(_))
                | Op::Shape(ShapeOp::Concat { .. })
                | Op::Reduce(ReduceOp::Reduce { kind: Reduction::Mean, .. })
        )
    }

    fn unit(&self, main: usize) -> Option<Unit> {
        let n = &self.g.nodes[main];
        let one = |k: Kind, x: QIn| Some((k, vec![x]));
        let (kind, mut inputs) = match &n.op {
            Op::Nn(NnOp::Conv(a)) if self.rank(n.input(0)?) == Some(4) => {
                one(Kind::Conv(a.clone()), self.act(n.input(0)?)?)?
            }
            Op::Nn(NnOp::Gemm { alpha, beta, trans_a: false, trans_b })
                if *alpha == 1.0 && *beta == 1.0 && self.rank(n.input(0)?) == Some(2) =>
            {
                one(Kind::Dense { trans_b: *trans_b }, self.act(n.input(0)?)?)?
            }
            Op::Nn(NnOp::MatMul) if self.rank(n.input(0)?) == Some(2) => {
                one(Kind::Dense { trans_b: false }, self.act(n.input(0)?)?)?
            }
            Op::Elementwise(ElementwiseOp::Binary(b @ (Binary::Add | Binary::Mul))) => {
                let (a, c) = (self.act(n.input(0)?)?, self.act(n.input(1)?)?);
                (if *b == Binary::Add { Kind::Add } else { Kind::Mul }, vec![a, c])
            }
            Op::Nn(NnOp::Pool(p)) if self.rank(n.input(0)?) == Some(4) && n.outputs.len() == 1 => match p.kind {
                PoolKind::Average { count_include_pad: false } => {
                    one(Kind::AvgPool(p.window.clone()), self.act(n.input(0)?)?)?
                }
                PoolKind::Max { .. } => one(Kind::MaxPool(p.window.clone()), self.act(n.input(0)?)?)?,
                _ => return None,
            },
            Op::Nn(NnOp::GlobalPool(GlobalPool::Average)) if self.rank(n.input(0)?) == Some(4) => {
                one(Kind::Mean, self.act(n.input(0)?)?)?
            }
            Op::Reduce(ReduceOp::Reduce { kind: Reduction::Mean, .. }) if self.rank(n.input(0)?) == Some(4) => {
                let axes = self.konst(n.input(1)?)?.to_i64_vec().ok()?;
                let mut axes: Vec<i64> = axes.iter().map(|&a| if a < 0 { a + 4 } else { a }).collect();
                axes.sort_unstable();
                if axes != [2, 3] {
                    return None;
                }
                one(Kind::Mean, self.act(n.input(0)?)?)?
            }
            Op::Elementwise(ElementwiseOp::Unary(_)) => one(Kind::Lut, self.act(n.input(0)?)?)?,
            Op::Shape(ShapeOp::Concat { axis }) if !n.inputs.is_empty() => {
                let ins = n.inputs.iter().map(|v| self.act((*v)?)).collect::<Option<Vec<_>>>()?;
                (Kind::Concat(*axis), ins)
            }
            Op::Nn(NnOp::Softmax(s)) if s.kind == SoftmaxKind::Softmax => {
                let r = self.rank(n.input(0)?)? as i64;
                if s.axis != -1 && s.axis != r - 1 {
                    return None;
                }
                one(Kind::Softmax, self.act(n.input(0)?)?)?
            }
            _ => return None,
        };
        let (clamp, y, absorbed) = self.output(main)?;
        let (weight, bias) = match &kind {
            Kind::Conv(_) | Kind::Dense { .. } => {
                let w = self.weight(n.input(1)?)?;
                let b = match n.input(2) {
                    Some(b) => Some(self.bias(b)?),
                    None => None,
                };
                (Some(w), b)
            }
            _ => (None, None),
        };
        let same = |a: &QIn| a.scale == y.scale && a.zp == y.zp;
        match &kind {
            Kind::AvgPool(_) | Kind::MaxPool(_) if !same(&inputs[0]) => return None,
            Kind::Softmax if y.scale != 1.0 / 256.0 || y.zp != -128 => return None,
            _ => {}
        }
        let mut pad = [0; 4];
        if let Kind::Conv(_) = kind
            && let Some((src, p)) = self.zp_pad(&inputs[0])
        {
            inputs[0].src = src;
            pad = p;
        }
        Some(Unit { kind, main, inputs, weight, bias, clamp, y, pad, absorbed })
    }
}

/// Finds the int8 units of `g` and the nodes that then need not be lowered.
pub fn plan(g: &Graph, known: &crate::infer::KnownValues) -> Plan {
    let mut f = Finder { g, known, producer: HashMap::new(), readers: HashMap::new() };
    for (i, n) in g.nodes.iter().enumerate() {
        for v in n.outputs.iter().flatten() {
            f.producer.insert(*v, i);
        }
        for v in n.reads() {
            f.readers.entry(v).or_default().push(i);
        }
    }
    let mut plan = Plan::default();
    let mut taken = HashSet::new();
    for i in 0..g.nodes.len() {
        if taken.contains(&i) {
            continue;
        }
        if let Some(u) = f.unit(i) {
            taken.extend(u.absorbed.iter().copied());
            plan.skip.extend(u.absorbed.iter().copied());
            plan.units.insert(i, u);
        }
    }
    for (i, n) in g.nodes.iter().enumerate() {
        let qdq = matches!(n.op, Op::Quant(QuantOp::Dequantize { .. } | QuantOp::Quantize { .. }));
        if plan.units.contains_key(&i) || plan.skip.contains(&i) || qdq || is_view(&n.op) {
            continue;
        }
        if n.inputs.iter().flatten().any(|&v| f.act(v).is_some()) {
            let why = if f.unit_op(&n.op) {
                "its weights, zero points, activation or output quantization are not the int8 pattern"
            } else {
                "no int8 kernel for this op"
            };
            plan.float.push((i, why));
        }
    }
    if plan.units.is_empty() {
        return plan;
    }
    // Nodes nobody needs any more: walk back from the outputs; a unit needs only its int8
    // sources. Only data movement and Q/DQ nodes are left out.
    let mut needed: HashSet<ValueId> = g.outputs.iter().copied().collect();
    for i in (0..g.nodes.len()).rev() {
        let n = &g.nodes[i];
        if plan.skip.contains(&i) {
            continue;
        }
        if let Some(u) = plan.units.get(&i) {
            if needed.contains(&u.y.src) {
                needed.extend(u.inputs.iter().map(|x| x.src));
            } else {
                plan.skip.insert(i);
            }
            continue;
        }
        let live = n.outputs.iter().flatten().any(|v| needed.contains(v));
        let removable = is_view(&n.op)
            || matches!(
                n.op,
                Op::Quant(QuantOp::Dequantize { .. } | QuantOp::Quantize { .. })
                    | Op::Shape(ShapeOp::Pad { .. } | ShapeOp::Transpose { .. })
            );
        if !live && removable {
            plan.skip.insert(i);
        } else {
            needed.extend(n.reads());
        }
    }
    plan
}
