//! Sequences and optionals as compile-time lists of tensors.
//!
//! The runtime has tensors only. A sequence value of the graph is a list of tensor values fixed
//! at compile time, an optional either one value or nothing: the length of a sequence input and
//! the presence of an optional input are bound when compiling ([`Structure`], like `--dim` binds
//! a dimension), and every sequence op with compile-time positions becomes list manipulation
//! plus ordinary ops.
//!
//! The rewrite works on the IR graph in a canonical form, so it can run again after each round
//! of optimization and unrolling (a position, a trip count or an `If` condition may only become
//! constant once an earlier rewrite was folded): every sequence value is made by a
//! `SequenceConstruct` of its tensors (no inputs for an empty one), every optional by an
//! `Optional` of its value or of nothing. [`rewrite`] turns the other sequence and optional ops
//! into that form: SequenceEmpty / Insert / Erase / Identity into a new `SequenceConstruct`,
//! SequenceAt and OptionalGetElement into an `Identity` of the element, SequenceLength and
//! OptionalHasElement into constants, SplitToSequence into `Split` (or one `Gather` per part
//! when the axis is dropped), ConcatFromSequence into `Concat` (after `Unsqueeze` for a new
//! axis), and SequenceMap into one copy of its body per position. The canonical nodes produce no
//! runtime step (the lowering skips them); a node that still reads a sequence at lowering is
//! refused there, named.
//!
//! At the graph's edges, [`bind_inputs`] replaces a sequence or optional input by its tensors
//! (`x[0]`, `x[1]`, ...) and [`expand_outputs`] a sequence or optional output by its tensors;
//! both record a [`Group`] that becomes a SIGNATURE group record (format 1.3), so the host
//! presents and accepts the value as the interpreter does.

use std::collections::{BTreeMap, HashMap, VecDeque};

use mote_core::DType;
use mote_format::GroupShape;
use mote_ir::ops::control::ControlOp;
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Graph, Node, Op, Tensor, TensorType, Value, ValueId, ValueType};

use super::unroll::{MAX_UNROLLED_NODES, copy_nodes};

/// Most tensors one sequence may hold in the compiled path.
pub const MAX_LIST_LEN: usize = 4096;

/// How a sequence or optional graph input is bound when compiling: its length, its presence,
/// and the element types the model does not declare.
#[derive(Clone, Debug, PartialEq)]
pub enum Structure {
    /// A tensor: its element type and shape (`None`: as the model declares them, with `--shape
    /// NAME[i]=..` / `--dim` for symbolic dims).
    Tensor(Option<(DType, Vec<usize>)>),
    /// A sequence of these elements.
    Sequence(Vec<Structure>),
    /// An optional: absent, or holding this value.
    Optional(Option<Box<Structure>>),
}

impl Structure {
    /// The structure of a run-time value (the conformance harness binds inputs from the test data,
    /// as it binds shapes). `None` for maps.
    pub fn of(v: &Value) -> Option<Structure> {
        Some(match v {
            Value::Tensor(t) => Structure::Tensor(Some((t.dtype(), t.shape().to_vec()))),
            Value::Sequence(items) => Structure::Sequence(items.iter().map(Structure::of).collect::<Option<_>>()?),
            Value::Optional(None) => Structure::Optional(None),
            Value::Optional(Some(v)) => Structure::Optional(Some(Box::new(Structure::of(v)?))),
            Value::Map { .. } => return None,
        })
    }

    /// A sequence of `n` tensors typed as the model declares its elements (`mote compile --seq`).
    pub fn sequence(n: usize) -> Structure {
        Structure::Sequence(vec![Structure::Tensor(None); n])
    }
}

/// A graph input or output that is a sequence or optional, compiled to a group of tensors.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub shape: GroupShape,
    /// The value's name.
    pub name: String,
    /// The names of its tensors (inputs) in order.
    pub elems: Vec<String>,
    /// Inputs: the names of the graph inputs from its first tensor on (where an empty group
    /// sits among the inputs that stay).
    pub following: Vec<String>,
    /// Outputs: its position among the expanded outputs.
    pub first: usize,
    /// Number of tensors.
    pub count: usize,
}

fn unknown() -> ValueType {
    ValueType::Tensor(TensorType { dtype: None, shape: None })
}

/// Replaces every sequence or optional input of `g` by its tensors, bound by `bound` (by input
/// name); an optional tensor input not in `bound` is present. Returns the input groups.
pub fn bind_inputs(g: &mut Graph, bound: &BTreeMap<String, Structure>) -> Result<Vec<Group>, String> {
    for name in bound.keys() {
        if !g.inputs.iter().any(|&i| &g.value(i).name == name) {
            let names: Vec<&str> = g.runtime_inputs().iter().map(|&i| g.value(i).name.as_str()).collect();
            return Err(format!("`{name}` is not an input; inputs: {}", names.join(", ")));
        }
    }
    let mut groups = Vec::new();
    let mut prologue = Vec::new();
    let mut inputs = Vec::with_capacity(g.inputs.len());
    let mut starts = Vec::new();
    for id in std::mem::take(&mut g.inputs) {
        let info = g.value(id).clone();
        let st = match (&info.ty, bound.get(&info.name)) {
            (_, Some(Structure::Tensor(_))) | (ValueType::Tensor(_) | ValueType::Map(..), None) => None,
            (ValueType::Unknown, None) => None,
            (ValueType::Optional(inner), None) if matches!(**inner, ValueType::Tensor(_)) => {
                Some(Structure::Optional(Some(Box::new(Structure::Tensor(None)))))
            }
            (ValueType::Sequence(_) | ValueType::Optional(_), None) => {
                return Err(format!(
                    "input `{}` is a {}: give its length when compiling (--seq {}=LEN{})",
                    info.name,
                    info.ty,
                    info.name,
                    if matches!(info.ty, ValueType::Optional(_)) { ", or --absent for an empty optional" } else { "" }
                ));
            }
            (_, Some(s)) => Some(s.clone()),
        };
        let Some(st) = st else {
            inputs.push(id);
            continue;
        };
        let mut elems = Vec::new();
        let shape = build(g, id, &info.ty, &st, &info.name, &mut elems, &mut prologue)?;
        starts.push((groups.len(), inputs.len()));
        groups.push(Group {
            shape,
            name: info.name.clone(),
            elems: elems.iter().map(|&e| g.value(e).name.clone()).collect(),
            following: Vec::new(),
            first: 0,
            count: elems.len(),
        });
        inputs.extend(elems);
    }
    for (k, at) in starts {
        groups[k].following = inputs[at..].iter().map(|&i| g.value(i).name.clone()).collect();
    }
    g.inputs = inputs;
    prologue.append(&mut g.nodes);
    g.nodes = prologue;
    Ok(groups)
}

/// The tensor type of an element: bound, else declared.
fn elem_type(declared: &ValueType, st: &Structure, name: &str) -> Result<ValueType, String> {
    match (st, declared) {
        (Structure::Tensor(Some((d, s))), _) => Ok(ValueType::Tensor(TensorType::concrete(*d, s))),
        (Structure::Tensor(None), ValueType::Tensor(t)) => Ok(ValueType::Tensor(t.clone())),
        (Structure::Tensor(None), _) => Err(format!("the element type of input `{name}` is not declared")),
        _ => Err(format!("input `{name}`: sequences of sequences or optionals are not supported by the compiled path")),
    }
}

/// The nodes making input `id` (type `ty`, bound `st`) of fresh element inputs (appended to
/// `elems`); returns the group's shape.
fn build(
    g: &mut Graph,
    id: ValueId,
    ty: &ValueType,
    st: &Structure,
    name: &str,
    elems: &mut Vec<ValueId>,
    nodes: &mut Vec<Node>,
) -> Result<GroupShape, String> {
    let inner = |t: &ValueType| match t {
        ValueType::Sequence(e) | ValueType::Optional(e) => (**e).clone(),
        _ => ValueType::Unknown,
    };
    let mut sequence = |g: &mut Graph, ty: &ValueType, items: &[Structure], out: ValueId| -> Result<(), String> {
        if items.len() > MAX_LIST_LEN {
            return Err(format!("input `{name}`: a sequence of {} tensors (at most {MAX_LIST_LEN})", items.len()));
        }
        let mut xs = Vec::with_capacity(items.len());
        for item in items {
            let t = elem_type(&inner(ty), item, name)?;
            let x = g.add_value(format!("{name}[{}]", elems.len()), t);
            elems.push(x);
            xs.push(Some(x));
        }
        nodes.push(Node {
            name: format!("{name}/sequence"),
            op: Op::Control(ControlOp::SequenceConstruct),
            inputs: xs,
            outputs: vec![Some(out)],
        });
        Ok(())
    };
    match st {
        Structure::Sequence(items) => {
            if matches!(ty, ValueType::Optional(_)) {
                let s = g.add_value(format!("{name}/sequence"), inner(ty));
                sequence(g, &inner(ty), items, s)?;
                nodes.push(optional(name, Some(s), id, None));
                return Ok(GroupShape::OptionalSequence);
            }
            sequence(g, ty, items, id)?;
            Ok(GroupShape::Sequence)
        }
        Structure::Optional(None) => {
            nodes.push(optional(name, None, id, Some(inner(ty))));
            Ok(GroupShape::Optional)
        }
        Structure::Optional(Some(v)) => match &**v {
            Structure::Sequence(items) => {
                let s = g.add_value(format!("{name}/sequence"), inner(ty));
                sequence(g, &inner(ty), items, s)?;
                nodes.push(optional(name, Some(s), id, None));
                Ok(GroupShape::OptionalSequence)
            }
            Structure::Tensor(_) => {
                let t = elem_type(&inner(ty), v, name)?;
                let x = g.add_value(format!("{name}[0]"), t);
                elems.push(x);
                nodes.push(optional(name, Some(x), id, None));
                Ok(GroupShape::Optional)
            }
            Structure::Optional(_) => Err(format!("input `{name}`: an optional of an optional")),
        },
        Structure::Tensor(_) => Err(format!("input `{name}` is bound as a tensor")),
    }
}

fn optional(name: &str, x: Option<ValueId>, out: ValueId, elem: Option<ValueType>) -> Node {
    Node {
        name: format!("{name}/optional"),
        op: Op::Control(ControlOp::Optional { elem }),
        inputs: vec![x],
        outputs: vec![Some(out)],
    }
}

/// What a sequence or optional value holds (from its canonical producer).
#[derive(Clone, Debug, PartialEq)]
enum List {
    Seq(Vec<ValueId>),
    Opt(Option<ValueId>),
}

/// The list a canonical node makes, if it is one.
fn canonical(n: &Node) -> Option<(ValueId, List)> {
    let out = n.outputs.first().copied().flatten()?;
    match &n.op {
        Op::Control(ControlOp::SequenceConstruct) => {
            Some((out, List::Seq(n.inputs.iter().copied().collect::<Option<Vec<_>>>()?)))
        }
        Op::Control(ControlOp::Optional { .. }) => Some((out, List::Opt(n.input(0)))),
        _ => None,
    }
}

/// Whether the node only builds a compile-time list (no runtime step).
pub fn is_list_node(n: &Node) -> bool {
    canonical(n).is_some()
}

/// One round of rewriting sequence and optional ops into the canonical form (see the module
/// doc); returns how many nodes were rewritten.
pub fn rewrite(g: &mut Graph) -> usize {
    let mut lists: HashMap<ValueId, List> = HashMap::new();
    let mut queue: VecDeque<Node> = std::mem::take(&mut g.nodes).into();
    let mut out = Vec::with_capacity(queue.len());
    let mut count = 0;
    while let Some(n) = queue.pop_front() {
        if let Some((v, l)) = canonical(&n) {
            lists.insert(v, l);
            out.push(n);
            continue;
        }
        match resolve(g, &lists, &n) {
            Ok(Some(new)) => {
                count += 1;
                for m in new.into_iter().rev() {
                    queue.push_front(m);
                }
            }
            Ok(None) | Err(_) => out.push(n),
        }
    }
    g.nodes = out;
    count
}

/// Why each sequence or optional op left in `g` cannot be compiled, by node.
pub fn leftovers(g: &Graph) -> Vec<crate::Unsupported> {
    let mut lists = HashMap::new();
    let mut scratch = g.clone();
    let mut v = Vec::new();
    for n in &g.nodes {
        if let Some((x, l)) = canonical(n) {
            lists.insert(x, l);
            continue;
        }
        if let Err(reason) = resolve(&mut scratch, &lists, n) {
            v.push(crate::Unsupported { node: n.name.clone(), op: n.op.name().to_string(), reason });
        }
    }
    v
}

/// The constant tensor of `v`, if any.
fn konst(g: &Graph, v: ValueId) -> Option<&Tensor> {
    g.value(v).init.as_ref()
}

/// A constant position for a list of `len` (`end`: `len` itself is allowed, for an insert).
fn position(g: &Graph, v: Option<ValueId>, len: usize, default: usize, end: bool) -> Result<usize, String> {
    let Some(v) = v else { return Ok(default) };
    let t = konst(g, v).ok_or_else(|| format!("position '{}' is not a compile-time constant", g.value(v).name))?;
    let p = match t.to_i64_vec().ok().as_deref() {
        Some(&[p]) => p,
        _ => return Err("the position must be one integer".into()),
    };
    let n = len as i64;
    let hi = if end { n } else { n - 1 };
    if p < -n || p > hi {
        return Err(format!("position {p} is out of range for a sequence of {len}"));
    }
    Ok(if p < 0 { (p + n) as usize } else { p as usize })
}

/// A node named after `n`.
fn node(n: &Node, what: &str, op: Op, inputs: Vec<ValueId>, outputs: Vec<ValueId>) -> Node {
    Node {
        name: format!("{}/{what}", n.name),
        op,
        inputs: inputs.into_iter().map(Some).collect(),
        outputs: outputs.into_iter().map(Some).collect(),
    }
}

fn construct(n: &Node, items: Vec<ValueId>, out: ValueId) -> Node {
    node(n, "list", Op::Control(ControlOp::SequenceConstruct), items, vec![out])
}

/// Makes `out` the constant `t` (no node).
fn set_const(g: &mut Graph, out: ValueId, t: Tensor) {
    let info = g.value_mut(out);
    info.ty = ValueType::Tensor(TensorType::concrete(t.dtype(), t.shape()));
    info.init = Some(t);
}

/// The static dims of `v`.
fn static_dims(g: &Graph, v: ValueId) -> Option<Vec<usize>> {
    if let Some(t) = konst(g, v) {
        return Some(t.shape().to_vec());
    }
    g.value(v).ty.as_tensor()?.known_shape()
}

/// The nodes replacing `n` (`None`: nothing to rewrite; an error: why it cannot be compiled).
fn resolve(g: &mut Graph, lists: &HashMap<ValueId, List>, n: &Node) -> Result<Option<Vec<Node>>, String> {
    let seq = |i: usize| -> Result<Vec<ValueId>, String> {
        let v = n.input(i).ok_or_else(|| format!("input {i} is missing"))?;
        match lists.get(&v) {
            Some(List::Seq(s)) => Ok(s.clone()),
            _ => Err(format!("sequence '{}' is not known at compile time", g.value(v).name)),
        }
    };
    let Some(out) = n.outputs.first().copied().flatten() else { return Ok(None) };
    let Op::Control(op) = &n.op else {
        // Identity of a list: the same list.
        if matches!(n.op, Op::Shape(ShapeOp::Identity))
            && let Some(l) = n.input(0).and_then(|x| lists.get(&x))
        {
            return Ok(Some(vec![remake(n, l, out)]));
        }
        return Ok(None);
    };
    Ok(Some(match op {
        ControlOp::SequenceEmpty { .. } => vec![construct(n, Vec::new(), out)],
        ControlOp::SequenceInsert => {
            let mut s = seq(0)?;
            let t = n.input(1).ok_or("the tensor to insert is missing")?;
            if s.len() >= MAX_LIST_LEN {
                return Err(format!("a sequence of more than {MAX_LIST_LEN} tensors"));
            }
            let at = position(g, n.input(2), s.len(), s.len(), true)?;
            s.insert(at, t);
            vec![construct(n, s, out)]
        }
        ControlOp::SequenceErase => {
            let mut s = seq(0)?;
            if s.is_empty() {
                return Err("erasing from an empty sequence".into());
            }
            let at = position(g, n.input(1), s.len(), s.len() - 1, false)?;
            s.remove(at);
            vec![construct(n, s, out)]
        }
        ControlOp::SequenceAt => {
            let s = seq(0)?;
            let at = position(g, Some(n.input(1).ok_or("the position is missing")?), s.len(), 0, false)?;
            vec![node(n, "at", Op::Shape(ShapeOp::Identity), vec![s[at]], vec![out])]
        }
        ControlOp::SequenceLength => {
            let s = seq(0)?;
            set_const(g, out, Tensor::scalar(s.len() as i64));
            Vec::new()
        }
        ControlOp::SplitToSequence { axis, keepdims } => split(g, n, *axis, *keepdims, out)?,
        ControlOp::ConcatFromSequence { axis, new_axis } => {
            let s = seq(0)?;
            if s.is_empty() {
                return Err("ConcatFromSequence of an empty sequence".into());
            }
            let mut nodes = Vec::new();
            let parts = if *new_axis {
                let axes =
                    g.add_const(format!("{}/axes", n.name), Tensor::from_vec(vec![1], vec![*axis]).expect("axes"));
                s.iter()
                    .enumerate()
                    .map(|(i, &x)| {
                        let y = g.add_value(format!("{}/part{i}", n.name), unknown());
                        nodes.push(node(
                            n,
                            &format!("unsqueeze{i}"),
                            Op::Shape(ShapeOp::Unsqueeze),
                            vec![x, axes],
                            vec![y],
                        ));
                        y
                    })
                    .collect()
            } else {
                s
            };
            nodes.push(node(n, "concat", Op::Shape(ShapeOp::Concat { axis: *axis }), parts, vec![out]));
            nodes
        }
        ControlOp::SequenceMap { body } => sequence_map(g, lists, n, body)?,
        ControlOp::OptionalHasElement => {
            let has = match n.input(0) {
                None => false,
                Some(v) => match lists.get(&v) {
                    Some(List::Opt(x)) => x.is_some(),
                    Some(List::Seq(_)) => true,
                    None if matches!(g.value(v).ty, ValueType::Tensor(_)) => true,
                    None => return Err(format!("optional '{}' is not known at compile time", g.value(v).name)),
                },
            };
            set_const(g, out, Tensor::scalar(has));
            Vec::new()
        }
        ControlOp::OptionalGetElement => {
            let v = n.input(0).ok_or("the optional is missing")?;
            match lists.get(&v) {
                Some(List::Opt(None)) => return Err(format!("optional '{}' is empty", g.value(v).name)),
                Some(List::Opt(Some(x))) => match lists.get(x) {
                    Some(l) => vec![remake(n, l, out)],
                    None => vec![node(n, "get", Op::Shape(ShapeOp::Identity), vec![*x], vec![out])],
                },
                Some(l @ List::Seq(_)) => vec![remake(n, l, out)],
                None if matches!(g.value(v).ty, ValueType::Tensor(_)) => {
                    vec![node(n, "get", Op::Shape(ShapeOp::Identity), vec![v], vec![out])]
                }
                None => return Err(format!("optional '{}' is not known at compile time", g.value(v).name)),
            }
        }
        _ => return Ok(None),
    }))
}

/// A canonical node making `out` the same list as `l`.
fn remake(n: &Node, l: &List, out: ValueId) -> Node {
    match l {
        List::Seq(s) => construct(n, s.clone(), out),
        List::Opt(x) => Node {
            name: format!("{}/optional", n.name),
            op: Op::Control(ControlOp::Optional { elem: None }),
            inputs: vec![*x],
            outputs: vec![Some(out)],
        },
    }
}

/// SplitToSequence: `Split` into the parts (keeping the axis), or one `Gather` per index when
/// the parts are single slices whose axis is dropped.
fn split(g: &mut Graph, n: &Node, axis: i64, keepdims: bool, out: ValueId) -> Result<Vec<Node>, String> {
    let x = n.input(0).ok_or("the input is missing")?;
    let dims = static_dims(g, x).ok_or_else(|| format!("'{}' has no static shape", g.value(x).name))?;
    let r = dims.len() as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..r).contains(&a) {
        return Err(format!("axis {axis} is out of range for rank {r}"));
    }
    let dim = dims[a as usize];
    let sizes: Option<Vec<usize>> = match n.input(1) {
        None => None,
        Some(s) => {
            let t = konst(g, s).ok_or_else(|| format!("split '{}' is not a compile-time constant", g.value(s).name))?;
            let v = t.to_i64_vec().map_err(|e| e.to_string())?;
            Some(if t.rank() == 0 {
                let k = v[0];
                if k <= 0 {
                    return Err(format!("split size must be positive, got {k}"));
                }
                let k = k as usize;
                (0..dim.div_ceil(k)).map(|i| k.min(dim - i * k)).collect()
            } else {
                if v.iter().any(|&s| s < 0) || v.iter().sum::<i64>() != dim as i64 {
                    return Err(format!("split sizes {v:?} must be non-negative and sum to {dim}"));
                }
                v.into_iter().map(|s| s as usize).collect()
            })
        }
    };
    let parts = sizes.as_ref().map_or(dim, Vec::len);
    if parts > MAX_LIST_LEN {
        return Err(format!("{parts} parts (at most {MAX_LIST_LEN})"));
    }
    let ys: Vec<ValueId> = (0..parts).map(|i| g.add_value(format!("{}/part{i}", n.name), unknown())).collect();
    let mut nodes = Vec::new();
    match sizes {
        None if !keepdims => {
            for (i, &y) in ys.iter().enumerate() {
                let at = g.add_const(format!("{}/index{i}", n.name), Tensor::scalar(i as i64));
                nodes.push(node(
                    n,
                    &format!("gather{i}"),
                    Op::Shape(ShapeOp::Gather { axis: a }),
                    vec![x, at],
                    vec![y],
                ));
            }
        }
        _ if parts > 0 => {
            let sizes: Vec<i64> = sizes.unwrap_or_else(|| vec![1; dim]).into_iter().map(|s| s as i64).collect();
            let s =
                g.add_const(format!("{}/sizes", n.name), Tensor::from_vec(vec![sizes.len()], sizes).expect("sizes"));
            nodes.push(node(n, "split", Op::Shape(ShapeOp::Split { axis: a }), vec![x, s], ys.clone()));
        }
        _ => {}
    }
    nodes.push(construct(n, ys, out));
    Ok(nodes)
}

/// SequenceMap: one copy of the body per position, sequence inputs read at that position and
/// tensor inputs whole; each body output is collected into a sequence.
fn sequence_map(g: &mut Graph, lists: &HashMap<ValueId, List>, n: &Node, body: &Graph) -> Result<Vec<Node>, String> {
    let mut len = None;
    let mut ins: Vec<Result<Vec<ValueId>, ValueId>> = Vec::new();
    for (i, v) in n.inputs.iter().enumerate() {
        let v = v.ok_or_else(|| format!("input {i} is missing"))?;
        match lists.get(&v) {
            Some(List::Seq(s)) => {
                if len.is_some_and(|l| l != s.len()) {
                    return Err("the input sequences differ in length".into());
                }
                len = Some(s.len());
                ins.push(Ok(s.clone()));
            }
            Some(List::Opt(_)) => return Err("an optional input".into()),
            None if i == 0 => return Err(format!("sequence '{}' is not known at compile time", g.value(v).name)),
            None => ins.push(Err(v)),
        }
    }
    let len = len.unwrap_or(0);
    if body.inputs.len() != ins.len() || body.outputs.len() != n.outputs.len() {
        return Err("the body does not match the node's inputs and outputs".into());
    }
    if len.saturating_mul(body.nodes.len() + 1) > MAX_UNROLLED_NODES {
        return Err(format!("{len} positions of a {}-node body is too much to unroll", body.nodes.len()));
    }
    let mut shared: Vec<Option<ValueId>> = vec![None; body.values.len()];
    for (i, v) in body.values.iter().enumerate() {
        if let Some(t) = &v.init {
            shared[i] = Some(g.add_const(format!("{}/{}", n.name, v.name), t.clone()));
        }
    }
    for c in &body.outer_refs {
        if let Some(m) = shared.get_mut(c.inner.index()) {
            *m = Some(c.outer);
        }
    }
    let mut nodes = Vec::new();
    let mut collected: Vec<Vec<ValueId>> = vec![Vec::with_capacity(len); body.outputs.len()];
    for p in 0..len {
        let mut map = shared.clone();
        for (&b, x) in body.inputs.iter().zip(&ins) {
            map[b.index()] = Some(match x {
                Ok(s) => s[p],
                Err(t) => *t,
            });
        }
        for (i, v) in body.values.iter().enumerate() {
            if map[i].is_none() {
                map[i] = Some(g.add_value(format!("{}/{p}/{}", n.name, v.name), unknown()));
            }
        }
        copy_nodes(&body.nodes, &map, &format!("{}/{p}", n.name), &mut nodes)
            .ok_or("the body reads an unknown value")?;
        for (k, &o) in body.outputs.iter().enumerate() {
            collected[k].push(map[o.index()].ok_or("the body output is unknown")?);
        }
    }
    for (k, items) in collected.into_iter().enumerate() {
        if let Some(y) = n.outputs[k] {
            nodes.push(construct(n, items, y));
        }
    }
    Ok(nodes)
}

/// Replaces every sequence or optional output of `g` by its tensors; returns the output groups
/// (with `first` their position among the new outputs), or the outputs that are not lists of
/// tensors known at compile time.
pub fn expand_outputs(g: &mut Graph) -> Result<Vec<Group>, Vec<crate::Unsupported>> {
    let lists: HashMap<ValueId, List> = g.nodes.iter().filter_map(canonical).collect();
    let mut outputs = Vec::with_capacity(g.outputs.len());
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    let tensors = |s: &[ValueId]| -> Result<Vec<ValueId>, String> {
        s.iter()
            .map(|x| match lists.get(x) {
                None => Ok(*x),
                Some(_) => Err("sequences of sequences or optionals are not supported by the compiled path".into()),
            })
            .collect()
    };
    for &o in &g.outputs.clone() {
        let name = g.value(o).name.clone();
        let r = match lists.get(&o) {
            // (A ZipMap's sequence of maps is the ML lowering's: an output signature.)
            None if matches!(&g.value(o).ty, ValueType::Sequence(e) if !matches!(**e, ValueType::Map(..)))
                || matches!(g.value(o).ty, ValueType::Optional(_)) =>
            {
                Err(format!("'{name}' is not a list of tensors known at compile time"))
            }
            None => {
                outputs.push(o);
                continue;
            }
            Some(List::Seq(s)) => tensors(s).map(|t| (GroupShape::Sequence, t)),
            Some(List::Opt(None)) => Ok((GroupShape::Optional, Vec::new())),
            Some(List::Opt(Some(x))) => match lists.get(x) {
                Some(List::Seq(s)) => tensors(s).map(|t| (GroupShape::OptionalSequence, t)),
                Some(List::Opt(_)) => Err("an optional of an optional".into()),
                None => Ok((GroupShape::Optional, vec![*x])),
            },
        };
        match r {
            Ok((shape, elems)) => {
                let (first, count) = (outputs.len(), elems.len());
                groups.push(Group { shape, name, elems: Vec::new(), following: Vec::new(), first, count });
                outputs.extend(elems);
            }
            Err(reason) => {
                errors.push(crate::Unsupported { node: format!("output {name}"), op: "output".into(), reason })
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    g.outputs = outputs;
    Ok(groups)
}

#[cfg(test)]
mod tests;
