//! Lowering: every graph node becomes runtime steps over tensors with static shapes. Views
//! (Reshape, Flatten, Squeeze, Unsqueeze, Identity, inference Dropout) become aliases of their
//! input's bytes; data movement (Transpose, Slice, Concat, Split, Expand, Tile, Pad) becomes
//! strided copies; activations following a Conv, Gemm, BatchNorm or binary op are fused into
//! it; single-use element-wise ops work in place when their input dies there.

mod attention;
pub(crate) mod branch;
pub(crate) mod build;
mod dfa;
mod distinct;
mod elementwise;
pub(crate) mod expand;
pub(crate) mod flex;
mod fuse;
mod geo;
mod index;
mod layout;
mod linalg;
mod loss;
mod misc;
mod ml;
mod nn;
mod norm;
mod q8;
mod quant;
mod random;
mod rearrange;
mod recurrent;
mod select;
pub mod seqlist;
mod sequence;
mod shape;
mod signal;
mod sliding;
mod sparse;
mod strmap;
mod text;
mod train;
pub(crate) mod unroll;
mod widen;

use std::collections::{HashMap, HashSet};

use mote_core::DType;
use mote_ir::infer::KnownValues;
use mote_ir::{Graph, Node, Tensor, ValueId, ValueType};
use mote_rt::ops::Act;

use crate::error::Unsupported;
use crate::lir::Program;

pub use text::StringLimits;

pub(crate) type R<T> = Result<T, String>;

macro_rules! bail {
    ($($t:tt)*) => { return Err(format!($($t)*)) };
}
pub(crate) use bail;

/// Little-endian bytes of a numeric tensor as the arena holds it (bool as 0/1 bytes; the
/// low-precision types one byte per element, their bit pattern in the low bits).
pub fn tensor_bytes(t: &Tensor) -> R<Vec<u8>> {
    let d = t.data();
    d.to_le_bytes()
        .or_else(|| mote_ir::dispatch_low_precision!(d, v => Some(v.iter().map(|x| x.to_bits()).collect()), else None))
        .ok_or_else(|| format!("{} constants are not supported by the compiled path", t.dtype()))
}

/// The inverse of [`tensor_bytes`]: `None` for strings or a length that is not a whole number
/// of elements.
pub fn data_from_bytes(dtype: DType, b: &[u8]) -> Option<mote_ir::Data> {
    if !dtype.is_low_precision() {
        return mote_ir::Data::from_le_bytes(dtype, b);
    }
    let z = mote_ir::Data::zeros(dtype, 0);
    mote_ir::dispatch_low_precision!(z, _v => Some(<T as mote_ir::Elem>::wrap(b.iter().map(|&c| T::from_bits(c)).collect())), else None)
}

#[derive(Debug)]
pub struct Lowerer<'g> {
    pub g: &'g Graph,
    pub known: KnownValues,
    pub p: Program,
    vals: HashMap<ValueId, usize>,
    /// While a node is lowered through f32 ([`widen`]): its constant inputs widened to f32, and
    /// the element type its other widened values have meanwhile.
    widened: HashMap<ValueId, Tensor>,
    retype: HashMap<ValueId, DType>,
    /// Producer node -> the activation fused into it, and the consumer node absorbed.
    fused: HashMap<usize, (Act, usize)>,
    absorbed: HashSet<usize>,
    /// Values kept in the channel-blocked layout ([`layout`]).
    blocked: HashSet<ValueId>,
    /// Node index currently lowered.
    pub at: usize,
    /// Per value: the last node reading it (graph outputs: `usize::MAX`), merged over views.
    last_use: HashMap<ValueId, usize>,
    pub in_place: usize,
    pub n_fused: usize,
    /// Graph outputs the host presents beyond a tensor (ZipMap, string labels; [`ml`]).
    pub signatures: HashMap<ValueId, (mote_format::OutputKind, crate::lir::Keys)>,
    /// Run-time `If`s ([`branch`]): the marks, the next one to act on, and the open ones
    /// (`If` -> its `Branch` and `Jump` steps).
    branches: branch::Branches,
    next_mark: usize,
    open_ifs: HashMap<usize, (usize, usize)>,
    /// Sizes of string tensors ([`text`]).
    pub strings: text::StringLimits,
    /// The int8 units of a QDQ graph and the channels-last int8 values ([`q8`]).
    q8: q8::State,
    /// Pruned weights may run on the sparse kernel ([`sparse`]).
    pub sparse: bool,
}

impl<'g> Lowerer<'g> {
    /// A lowerer for `g`; `blocked_layout` lets convolutions run in the channel-blocked layout,
    /// `sparse` lets pruned weights run on the sparse kernel.
    pub fn new(g: &'g Graph, known: KnownValues, blocked_layout: bool, sparse: bool) -> Lowerer<'g> {
        let mut l = Lowerer {
            g,
            known,
            p: Program::default(),
            vals: HashMap::new(),
            widened: HashMap::new(),
            retype: HashMap::new(),
            fused: HashMap::new(),
            absorbed: HashSet::new(),
            blocked: HashSet::new(),
            at: 0,
            last_use: HashMap::new(),
            in_place: 0,
            n_fused: 0,
            signatures: HashMap::new(),
            branches: branch::Branches::default(),
            next_mark: 0,
            open_ifs: HashMap::new(),
            strings: text::StringLimits::default(),
            q8: q8::State::default(),
            sparse,
        };
        l.last_use = fuse::last_uses(g);
        let (fused, absorbed) = fuse::plan(&l);
        l.n_fused = fused.len();
        (l.fused, l.absorbed) = (fused, absorbed);
        q8::setup(&mut l);
        // int8 units keep their own (channels-last) layout; the blocked f32 layout is not
        // mixed with them.
        if blocked_layout && !q8::active(&l) {
            l.blocked = layout::plan(&l);
        }
        l
    }

    /// The run-time `If`s [`branch::inline`] made of the graph (lowered as conditional steps).
    pub fn with_branches(mut self, b: branch::Branches) -> Self {
        self.branches = b;
        self
    }

    /// Lowers the whole graph; returns every node that could not be lowered.
    pub fn run(&mut self) -> Result<(), Vec<Unsupported>> {
        let mut errors = Vec::new();
        let g = self.g;
        for &id in &g.inputs {
            if self.konst(id).is_some() {
                continue;
            }
            match self.value_shape(id) {
                Ok((dtype, dims)) => {
                    let t = if dtype == DType::String {
                        let pool = self.strings.input_pool(&dims);
                        self.p.string_arena(dims, pool, &g.value(id).name)
                    } else {
                        self.p.arena(dtype, dims, &g.value(id).name)
                    };
                    self.pin(t);
                    self.vals.insert(id, t);
                    self.p.inputs.push((t, g.value(id).name.clone()));
                }
                Err(e) => errors.push(Unsupported {
                    node: format!("input {}", g.value(id).name),
                    op: "input".into(),
                    reason: e,
                }),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        for (i, node) in g.nodes.iter().enumerate() {
            self.at = i;
            if let Err((node, reason)) = self.branch_events(i) {
                errors.push(Unsupported { node, op: "If".into(), reason });
            }
            if self.branches.merges.contains(&i) {
                continue;
            }
            if self.absorbed.contains(&i) || node.outputs.iter().flatten().all(|&v| self.konst(v).is_some()) {
                continue;
            }
            if let Err(reason) = self.node(node) {
                errors.push(Unsupported { node: node.name.clone(), op: node.op.name().to_string(), reason });
            }
        }
        if let Err((node, reason)) = self.branch_events(g.nodes.len()) {
            errors.push(Unsupported { node, op: "If".into(), reason });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        for &id in &g.outputs {
            let name = g.value(id).name.clone();
            match self.tensor_of(id) {
                Ok(t) => {
                    self.pin(t);
                    if let Some((kind, keys)) = self.signatures.get(&id) {
                        self.p.signatures.push((self.p.outputs.len(), *kind, keys.clone()));
                    }
                    self.p.outputs.push((t, name));
                }
                Err(reason) => errors.push(Unsupported { node: format!("output {name}"), op: "output".into(), reason }),
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// The int8 units' nodes (name, op) and the float nodes between Dequantize and Quantize
    /// (name, op, why).
    pub fn int8_summary(&self) -> (Vec<(String, String)>, Vec<(String, String, String)>) {
        let mut units: Vec<usize> =
            self.q8.plan.units.keys().copied().filter(|i| !self.q8.plan.skip.contains(i)).collect();
        units.sort_unstable();
        let node = |i: usize| (self.g.nodes[i].name.clone(), self.g.nodes[i].op.name().to_string());
        let int8 = units.into_iter().map(node).collect();
        let float = self.q8.plan.float.iter().map(|&(i, why)| (node(i).0, node(i).1, why.to_string())).collect();
        (int8, float)
    }

    pub fn pin(&mut self, t: usize) {
        if let Some(b) = self.p.tensors[t].buf() {
            self.p.bufs[b].pinned = true;
        }
    }

    fn node(&mut self, n: &Node) -> R<()> {
        if let Some(u) = self.q8.plan.units.get(&self.at).cloned() {
            return q8::lower_unit(self, &u);
        }
        if q8::active(self) && q8::transpose(self, n)? {
            return Ok(());
        }
        if let mote_ir::Op::Text(op) = &n.op {
            return text::lower(self, n, op);
        }
        let first = self.p.steps.len();
        if widen::applies(self, n) { widen::lower(self, n) } else { self.node_native(n) }?;
        text::refuse_strings_in(self, first)
    }

    /// Lowers `n` with the element types its values have now.
    fn node_native(&mut self, n: &Node) -> R<()> {
        use mote_ir::Op;
        match &n.op {
            Op::Elementwise(op) => elementwise::lower(self, n, op),
            Op::Shape(op) => shape::lower(self, n, op),
            Op::Nn(op) => nn::lower(self, n, op),
            Op::Reduce(op) => misc::reduce(self, n, op),
            Op::Quant(op) => quant::lower(self, n, op),
            Op::Rnn(op) => misc::rnn(self, n, op),
            Op::Image(op) => misc::image(self, n, op),
            Op::Attention(mote_ir::ops::attention::AttentionOp::TensorScatter { circular, axis }) => {
                select::tensor_scatter(self, n, *circular, *axis)
            }
            Op::Attention(op) => attention::lower(self, n, op),
            Op::Loss(op) => loss::lower(self, n, op),
            Op::Signal(op) => signal::lower(self, n, op),
            Op::Ml(op) => ml::lower(self, n, op),
            Op::Random(op) => random::lower(self, n, op),
            // Compile-time lists (sequences, optionals) are read by the ops they feed.
            Op::Control(_) if seqlist::is_list_node(n) => Ok(()),
            Op::Control(mote_ir::ops::control::ControlOp::If { .. }) => bail!(
                "an If whose condition is known only at run time compiles when both branches give tensors of the \
                 same element type and shape (these differ, or are sequences or optionals)"
            ),
            Op::Control(_) => bail!("control flow must fold away (a constant If condition) to be compiled"),
            other => bail!("{} is not supported by the compiled path yet", other.name()),
        }
    }

    /// The constant value of `v` (initializer or folded), if any.
    pub fn konst(&self, v: ValueId) -> Option<&Tensor> {
        self.widened.get(&v).or_else(|| self.g.value(v).init.as_ref()).or_else(|| self.known.get(&v))
    }

    /// `v`'s element type and static shape as stored: `[N, C/8, H, W, 8]` for a value kept in
    /// the channel-blocked layout.
    pub fn value_shape(&self, v: ValueId) -> R<(DType, Vec<usize>)> {
        let (dtype, dims) = self.logical_shape(v)?;
        Ok((dtype, if self.blocked.contains(&v) { layout::blocked_dims(&dims) } else { dims }))
    }

    /// `v`'s element type and static shape (as in the graph, whatever its layout).
    pub fn logical_shape(&self, v: ValueId) -> R<(DType, Vec<usize>)> {
        if let Some(t) = self.konst(v) {
            return Ok((t.dtype(), t.shape().to_vec()));
        }
        let info = self.g.value(v);
        let ValueType::Tensor(tt) = &info.ty else { bail!("value '{}' is not a tensor", info.name) };
        let dtype = match self.retype.get(&v) {
            Some(&d) => d,
            None => tt.dtype.ok_or_else(|| format!("value '{}' has no inferred element type", info.name))?,
        };
        let shape = tt.shape.as_ref().ok_or_else(|| format!("value '{}' has no inferred shape", info.name))?;
        let dims = shape
            .iter()
            .map(|d| d.known())
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| format!("value '{}' has a symbolic shape {shape:?}: give it with --shape", info.name))?;
        Ok((dtype, dims))
    }

    pub fn dims(&self, v: ValueId) -> R<Vec<usize>> {
        Ok(self.value_shape(v)?.1)
    }

    pub fn dtype(&self, v: ValueId) -> R<DType> {
        Ok(self.value_shape(v)?.0)
    }

    /// The tensor holding `v` (a weight for constants, created on first use).
    pub fn tensor_of(&mut self, v: ValueId) -> R<usize> {
        if q8::converted(self, v) {
            return q8::view(self, v, false, false);
        }
        if let Some(&t) = self.vals.get(&v) {
            return Ok(t);
        }
        let Some(c) = self.konst(v) else { bail!("value '{}' is used before it is computed", self.g.value(v).name) };
        if let Some(strings) = c.strings() {
            let (dims, strings) = (c.shape().to_vec(), strings.to_vec());
            let t = self.p.string_weight(dims, &strings, &self.g.value(v).name);
            self.vals.insert(v, t);
            return Ok(t);
        }
        let (dtype, dims, bytes) = (c.dtype(), c.shape().to_vec(), tensor_bytes(c)?);
        let t = self.p.weight(dtype, dims, bytes, &self.g.value(v).name);
        self.vals.insert(v, t);
        Ok(t)
    }

    /// Input `i` of `n` (required).
    pub fn input(&mut self, n: &Node, i: usize) -> R<usize> {
        let v = n.input(i).ok_or_else(|| format!("input {i} is missing"))?;
        self.tensor_of(v)
    }

    pub fn in_value(&self, n: &Node, i: usize) -> R<ValueId> {
        n.input(i).ok_or_else(|| format!("input {i} is missing"))
    }

    /// A weight tensor made of `data`.
    pub fn weight_f32(&mut self, dims: Vec<usize>, data: &[f32], name: &str) -> usize {
        self.p.weight(DType::F32, dims, data.iter().flat_map(|x| x.to_le_bytes()).collect(), name)
    }

    /// The arena tensor for output `i` of `n` (its inferred type).
    pub fn output(&mut self, n: &Node, i: usize) -> R<usize> {
        let v = n.outputs.get(i).copied().flatten().ok_or_else(|| format!("output {i} is missing"))?;
        let (dtype, dims) = self.value_shape(v)?;
        let t = self.p.arena(dtype, dims, &self.g.value(v).name);
        self.vals.insert(v, t);
        Ok(t)
    }

    /// Output `i` of `n`, but reusing input tensor `x`'s bytes when it dies at this node, is not
    /// pinned and has the same size (element-wise ops that run in place).
    pub fn output_in_place(&mut self, n: &Node, i: usize, input: usize) -> R<usize> {
        let v = n.outputs.get(i).copied().flatten().ok_or_else(|| format!("output {i} is missing"))?;
        let (dtype, dims) = self.value_shape(v)?;
        if let Some(xv) = n.input(input)
            && let Some(&xt) = self.vals.get(&xv)
            && let Some(b) = self.p.tensors[xt].buf()
            && !self.p.bufs[b].pinned
            && self.last_use.get(&xv) == Some(&self.at)
            && n.inputs
                .iter()
                .flatten()
                .filter(|&&u| self.vals.get(&u).and_then(|&t| self.p.tensors[t].buf()) == Some(b))
                .count()
                == 1
            && self.p.tensors[xt].dtype == dtype
            && self.p.tensors[xt].nbytes() == self.p.bufs[b].bytes
            && self.p.tensors[xt].numel() == dims.iter().product::<usize>()
        {
            let t = self.p.alias(xt, dims, &self.g.value(v).name);
            self.vals.insert(v, t);
            self.in_place += 1;
            return Ok(t);
        }
        self.output(n, i)
    }

    /// Binds output `i` of `n` to an existing tensor (views).
    pub fn bind(&mut self, n: &Node, i: usize, t: usize) -> R<()> {
        let v = n.outputs.get(i).copied().flatten().ok_or_else(|| format!("output {i} is missing"))?;
        self.vals.insert(v, t);
        Ok(())
    }

    /// For a node about to be lowered: whether its input 0 and its (effective) output are kept
    /// blocked, when at least one is.
    pub fn blocked_sides(&self, n: &Node) -> Option<(bool, bool)> {
        let x = n.input(0).is_some_and(|v| self.blocked.contains(&v));
        let y = layout::effective_output(self, self.at).is_some_and(|v| self.blocked.contains(&v));
        (x || y).then_some((x, y))
    }

    /// Operand `t` of an element-wise op with result `y`: when `y` is blocked and `t` is a
    /// per-channel operand, its view that broadcasts in the blocked layout; else `t`.
    pub fn blocked_operand(&mut self, t: usize, y: usize) -> usize {
        // A rank-5 result is not necessarily blocked: ask the layout.
        let y_blocked = layout::effective_output(self, self.at).is_some_and(|v| self.blocked.contains(&v));
        let (td, yd) = (&self.p.tensors[t].dims, &self.p.tensors[y].dims);
        if !y_blocked || yd.len() != 5 || td.len() == 5 {
            return t;
        }
        match layout::small_operand_view(td) {
            Some(view) => {
                let name = format!("{}.blocked_view", self.p.tensors[t].name);
                self.p.alias(t, view, name)
            }
            None => t,
        }
    }

    /// The activation fused into this node, binding the absorbed activation's output to the same
    /// tensor as this node's output 0.
    pub fn fused_act(&mut self, out: usize) -> Act {
        match self.fused.get(&self.at).copied() {
            Some((act, consumer)) => {
                if let Some(v) = self.g.nodes[consumer].outputs.first().copied().flatten() {
                    self.vals.insert(v, out);
                }
                act
            }
            None => Act::NONE,
        }
    }
}
