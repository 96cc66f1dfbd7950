//! Static shape and dtype inference.
//!
//! Each op family infers its output types from [`Fact`]s about its inputs (static type, plus
//! the data when it is constant). [`infer_graph`] walks a graph in order, merges what the ops
//! infer with the types the model file declared, and recurses into subgraphs. When given a
//! [`ConstEval`], it also evaluates nodes whose inputs are all constant, so shape computations
//! (`Shape -> Gather -> Concat -> Reshape`) resolve to concrete shapes.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use mote_core::DType;

use crate::graph::{Graph, ValueId};
use crate::ops::Op;
use crate::tensor::Tensor;
use crate::types::{Dim, TensorType, ValueType};

/// An inference failure inside one op.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct InferError(pub String);

impl InferError {
    pub fn new(msg: impl Into<String>) -> InferError {
        InferError(msg.into())
    }
}

/// Builds an [`InferError`] with `format!` syntax.
#[macro_export]
macro_rules! infer_err {
    ($($t:tt)*) => { $crate::infer::InferError(format!($($t)*)) };
}

/// What is known about one input: its static type and, if constant, its data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fact {
    pub ty: ValueType,
    pub value: Option<Tensor>,
}

impl Fact {
    pub fn of_type(ty: ValueType) -> Fact {
        Fact { ty, value: None }
    }

    pub fn of_value(t: Tensor) -> Fact {
        Fact { ty: ValueType::Tensor(TensorType::concrete(t.dtype(), t.shape())), value: Some(t) }
    }
}

/// The inputs of one node, as seen by an op's `infer`.
#[derive(Debug)]
pub struct InferCx<'a> {
    pub inputs: &'a [Option<Fact>],
    pub num_outputs: usize,
    /// Bit `i` set: the op asked for input `i`'s data and it was not known (a shape operand).
    demanded: Cell<u64>,
}

static UNKNOWN_TENSOR: TensorType = TensorType { dtype: None, shape: None };

impl<'a> InferCx<'a> {
    pub fn new(inputs: &'a [Option<Fact>], num_outputs: usize) -> InferCx<'a> {
        InferCx { inputs, num_outputs, demanded: Cell::new(0) }
    }

    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The fact of optional input `i` (`None` when omitted).
    pub fn opt(&self, i: usize) -> Option<&Fact> {
        self.inputs.get(i).and_then(|f| f.as_ref())
    }

    /// The fact of required input `i`.
    pub fn input(&self, i: usize) -> Result<&Fact, InferError> {
        self.opt(i).ok_or_else(|| infer_err!("input {i} is required but missing"))
    }

    /// The tensor type of input `i` (all-unknown if the input is not a tensor type or missing).
    pub fn tensor(&self, i: usize) -> &TensorType {
        match self.opt(i).map(|f| &f.ty) {
            Some(ValueType::Tensor(t)) => t,
            _ => &UNKNOWN_TENSOR,
        }
    }

    pub fn dtype(&self, i: usize) -> Option<DType> {
        self.tensor(i).dtype
    }

    pub fn shape(&self, i: usize) -> Option<&[Dim]> {
        self.tensor(i).shape.as_deref()
    }

    pub fn rank(&self, i: usize) -> Option<usize> {
        self.tensor(i).rank()
    }

    /// The constant data of input `i`, if known.
    pub fn value(&self, i: usize) -> Option<&Tensor> {
        let f = self.opt(i)?;
        if f.value.is_none() && i < 64 {
            self.demanded.set(self.demanded.get() | 1 << i);
        }
        f.value.as_ref()
    }

    /// The inputs whose data [`InferCx::value`] asked for and did not find, as a bit set.
    pub fn demanded(&self) -> u64 {
        self.demanded.get()
    }

    /// The constant data of input `i` as i64s (integer tensors only).
    pub fn const_i64s(&self, i: usize) -> Option<Vec<i64>> {
        self.value(i).and_then(|t| t.to_i64_vec().ok())
    }

    /// A tensor type with input `i`'s dtype and the given shape.
    pub fn like(&self, i: usize, shape: Option<Vec<Dim>>) -> ValueType {
        ValueType::Tensor(TensorType { dtype: self.dtype(i), shape })
    }

    /// The type of input `i`, unchanged (element-wise unary ops).
    pub fn same_as(&self, i: usize) -> ValueType {
        ValueType::Tensor(self.tensor(i).clone())
    }

    /// `n` unknown outputs: the honest answer when nothing can be inferred statically.
    pub fn unknown(&self) -> Vec<ValueType> {
        vec![ValueType::Unknown; self.num_outputs]
    }
}

/// Normalizes a possibly negative axis against `rank`.
pub fn normalize_axis(axis: i64, rank: usize) -> Result<usize, InferError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return Err(infer_err!("axis {axis} is out of range for rank {rank}"));
    }
    Ok(a as usize)
}

/// Numpy broadcasting of two static shapes.
pub fn broadcast(a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>, InferError> {
    let r = a.len().max(b.len());
    let mut out = Vec::with_capacity(r);
    for o in 0..r {
        let da = if o + a.len() >= r { &a[o + a.len() - r] } else { &Dim::Known(1) };
        let db = if o + b.len() >= r { &b[o + b.len() - r] } else { &Dim::Known(1) };
        out.push(match (da, db) {
            (x, y) if x == y => x.clone(),
            (Dim::Known(1), y) => y.clone(),
            (x, Dim::Known(1)) => x.clone(),
            (Dim::Known(x), Dim::Known(y)) => {
                return Err(infer_err!("shapes cannot broadcast: dimension {o} is {x} vs {y}"));
            }
            (Dim::Known(x), _) => Dim::Known(*x),
            (_, Dim::Known(y)) => Dim::Known(*y),
            _ => Dim::Unknown,
        });
    }
    Ok(out)
}

/// Broadcast of several optional shapes (`None` when any rank is unknown).
pub fn broadcast_all<'s>(shapes: impl IntoIterator<Item = Option<&'s [Dim]>>) -> Result<Option<Vec<Dim>>, InferError> {
    let mut acc: Vec<Dim> = Vec::new();
    for s in shapes {
        match s {
            Some(s) => acc = broadcast(&acc, s)?,
            None => return Ok(None),
        }
    }
    Ok(Some(acc))
}

/// Evaluates one op on constant inputs (provided by the interpreter, which mote-ir cannot
/// depend on).
pub trait ConstEval {
    /// The outputs, or `None` if the op cannot or should not be evaluated now.
    fn eval(&self, op: &Op, inputs: &[Option<Tensor>], num_outputs: usize) -> Option<Vec<Tensor>>;
}

/// A node whose inference failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("shape inference failed at node `{node}` ({op}): {msg}")]
pub struct GraphInferError {
    pub node: String,
    pub op: &'static str,
    pub msg: String,
}

/// Constant data discovered during inference, by value id.
pub type KnownValues = HashMap<ValueId, Tensor>;

/// Largest constant that inference will compute or keep (elements).
const MAX_FOLD_ELEMENTS: usize = 1 << 16;

/// Infers the type of every value of `g` (and its subgraphs) in place. Declared types are kept
/// where the op cannot do better; conflicts between declared and inferred types are errors.
/// Returns the constants it discovered.
pub fn infer_graph(g: &mut Graph, eval: Option<&dyn ConstEval>) -> Result<KnownValues, GraphInferError> {
    infer_with_outer(g, eval, &HashMap::new(), &mut HashSet::new())
}

/// [`infer_graph`], also returning the values of `g` (top level) whose data an op needed to
/// know a shape and did not find: shape operands that are not constant (e.g. Reshape's
/// `shape` computed from a graph input).
pub fn infer_graph_demands(
    g: &mut Graph,
    eval: Option<&dyn ConstEval>,
) -> Result<(KnownValues, HashSet<ValueId>), GraphInferError> {
    let mut demands = HashSet::new();
    let known = infer_with_outer(g, eval, &HashMap::new(), &mut demands)?;
    Ok((known, demands))
}

fn infer_with_outer(
    g: &mut Graph,
    eval: Option<&dyn ConstEval>,
    outer_types: &HashMap<ValueId, ValueType>,
    demands: &mut HashSet<ValueId>,
) -> Result<KnownValues, GraphInferError> {
    let mut known: KnownValues = HashMap::new();
    for r in g.outer_refs.clone() {
        if let Some(t) = outer_types.get(&r.outer) {
            let merged = merge(&g.values[r.inner.index()].ty, t).unwrap_or_else(|_| t.clone());
            g.values[r.inner.index()].ty = merged;
        }
    }
    for (i, v) in g.values.iter().enumerate() {
        let id = ValueId(i as u32);
        if let Some(t) = &v.init
            && !g.inputs.contains(&id)
        {
            known.insert(id, t.clone());
        }
    }
    for n in 0..g.nodes.len() {
        // Subgraphs first: their outer references see the types known so far.
        let types: HashMap<ValueId, ValueType> =
            g.nodes[n].reads().into_iter().map(|id| (id, g.values[id.index()].ty.clone())).collect();
        let node_name = g.nodes[n].name.clone();
        let op_name = g.nodes[n].op.name();
        for sub in g.nodes[n].op.subgraphs_mut() {
            infer_with_outer(sub, eval, &types, &mut HashSet::new()).map_err(|e| GraphInferError {
                node: format!("{node_name}/{}", e.node),
                op: e.op,
                msg: e.msg,
            })?;
        }

        let node = &g.nodes[n];
        let facts: Vec<Option<Fact>> = node
            .inputs
            .iter()
            .map(|i| i.map(|id| Fact { ty: g.values[id.index()].ty.clone(), value: known.get(&id).cloned() }))
            .collect();
        let cx = InferCx::new(&facts, node.outputs.len());
        let fail = |msg: String| GraphInferError { node: node.name.clone(), op: op_name, msg };
        let mut inferred = node.op.infer(&cx).map_err(|e| fail(e.0))?;
        let bits = cx.demanded();
        let wanted = node.inputs.iter().take(64).enumerate().filter(|(i, _)| bits >> i & 1 == 1);
        demands.extend(wanted.filter_map(|(_, id)| *id));
        inferred.resize(node.outputs.len(), ValueType::Unknown);

        // Constant folding for inference: all inputs constant and small, and no output known to
        // be too large to keep (folding it would only cost time and memory).
        let small = |t: &ValueType| {
            t.as_tensor().and_then(TensorType::numel).and_then(|n| n.known()).is_none_or(|n| n <= MAX_FOLD_ELEMENTS)
        };
        let all_const = facts.iter().all(|f| f.as_ref().is_none_or(|f| f.value.is_some()))
            && node.op.subgraphs().is_empty()
            && facts.iter().flatten().all(|f| f.value.as_ref().is_some_and(|t| t.len() <= MAX_FOLD_ELEMENTS))
            && inferred.iter().all(small);
        let mut folded = None;
        if all_const && let Some(ev) = eval {
            let inputs: Vec<Option<Tensor>> = facts.iter().map(|f| f.as_ref().and_then(|f| f.value.clone())).collect();
            folded = ev.eval(&node.op, &inputs, node.outputs.len());
        }
        if folded.is_none() {
            folded = node.op.infer_value(&cx);
        }

        let outputs = node.outputs.clone();
        for (k, out) in outputs.iter().enumerate() {
            let Some(out) = out else { continue };
            let mut ty = inferred[k].clone();
            if let Some(vals) = &folded
                && let Some(t) = vals.get(k)
            {
                ty = ValueType::Tensor(TensorType::concrete(t.dtype(), t.shape()));
                if t.len() <= MAX_FOLD_ELEMENTS {
                    known.insert(*out, t.clone());
                }
            }
            let declared = &g.values[out.index()].ty;
            let merged = merge(declared, &ty).map_err(|m| {
                fail(format!(
                    "output {k} (`{}`): declared {declared} but inferred {ty}: {m}",
                    g.values[out.index()].name
                ))
            })?;
            g.values[out.index()].ty = merged;
        }
    }
    Ok(known)
}

/// Combines two types of the same value, keeping the more precise information.
pub fn merge(a: &ValueType, b: &ValueType) -> Result<ValueType, String> {
    Ok(match (a, b) {
        (ValueType::Unknown, x) | (x, ValueType::Unknown) => x.clone(),
        (ValueType::Tensor(x), ValueType::Tensor(y)) => {
            let dtype = match (x.dtype, y.dtype) {
                (Some(p), Some(q)) if p != q => return Err(format!("dtype {p} vs {q}")),
                (p, q) => p.or(q),
            };
            let shape = match (&x.shape, &y.shape) {
                (Some(p), Some(q)) => {
                    if p.len() != q.len() {
                        return Err(format!("rank {} vs {}", p.len(), q.len()));
                    }
                    let mut s = Vec::with_capacity(p.len());
                    for (i, (dp, dq)) in p.iter().zip(q).enumerate() {
                        s.push(match (dp, dq) {
                            (Dim::Known(u), Dim::Known(v)) if u != v => {
                                return Err(format!("dimension {i} is {u} vs {v}"));
                            }
                            (Dim::Known(u), _) | (_, Dim::Known(u)) => Dim::Known(*u),
                            (Dim::Sym(u), _) => Dim::Sym(u.clone()),
                            (_, Dim::Sym(v)) => Dim::Sym(v.clone()),
                            _ => Dim::Unknown,
                        });
                    }
                    Some(s)
                }
                (p, q) => p.clone().or(q.clone()),
            };
            ValueType::Tensor(TensorType { dtype, shape })
        }
        (ValueType::Sequence(x), ValueType::Sequence(y)) => ValueType::Sequence(Box::new(merge(x, y)?)),
        (ValueType::Optional(x), ValueType::Optional(y)) => ValueType::Optional(Box::new(merge(x, y)?)),
        (ValueType::Map(k, x), ValueType::Map(_, y)) => ValueType::Map(*k, Box::new(merge(x, y)?)),
        (x, _) => x.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_with_symbols() {
        let n = Dim::Sym("N".into());
        let a = vec![n.clone(), Dim::Known(1), Dim::Known(4)];
        let b = vec![Dim::Known(3), Dim::Known(1)];
        assert_eq!(broadcast(&a, &b).unwrap(), vec![n, Dim::Known(3), Dim::Known(4)]);
        assert!(broadcast(&[Dim::Known(2)], &[Dim::Known(3)]).is_err());
    }

    #[test]
    fn merge_prefers_known() {
        let a = ValueType::tensor(DType::F32, vec![Dim::Sym("N".into()), Dim::Known(3)]);
        let b = ValueType::tensor(DType::F32, vec![Dim::Known(2), Dim::Unknown]);
        assert_eq!(merge(&a, &b).unwrap(), ValueType::tensor(DType::F32, vec![Dim::Known(2), Dim::Known(3)]));
        let c = ValueType::tensor(DType::I64, vec![]);
        assert!(merge(&a, &c).is_err());
    }

    /// Audit: folding a constant `Expand` to 2^40 elements allocated it (or failed) only to
    /// drop it; outputs known to be too large are not folded.
    #[test]
    fn huge_constant_outputs_are_not_folded() {
        struct Refuse;
        impl ConstEval for Refuse {
            fn eval(&self, _: &Op, _: &[Option<Tensor>], _: usize) -> Option<Vec<Tensor>> {
                panic!("folded a node whose output is known to be huge")
            }
        }
        let mut g = Graph::new("g");
        let x = g.add_const("x", Tensor::scalar(1.0f32));
        let shape = g.add_const("shape", Tensor::from_vec(vec![2], vec![1i64 << 20, 1 << 20]).unwrap());
        let y = g.add_value("y", ValueType::Unknown);
        g.add_node("expand", Op::Shape(crate::ops::shape::ShapeOp::Expand), vec![Some(x), Some(shape)], vec![Some(y)]);
        g.outputs = vec![y];
        infer_graph(&mut g, Some(&Refuse)).unwrap();
        assert_eq!(g.value(y).ty, ValueType::tensor(DType::F32, vec![Dim::Known(1 << 20), Dim::Known(1 << 20)]));
    }

    #[test]
    fn axis_normalization() {
        assert_eq!(normalize_axis(-1, 3).unwrap(), 2);
        assert!(normalize_axis(3, 3).is_err());
        assert!(normalize_axis(-4, 3).is_err());
    }
}
