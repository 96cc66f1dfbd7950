//! A small builder of graph nodes for rewrites that run before lowering (FlexAttention's
//! expansion, run-time operands of ops the lowering wants constant: `expand.rs`).

use mote_core::DType;
use mote_core::lowp::RoundMode;
use mote_ir::ops::elementwise::{Binary, ElementwiseOp};
use mote_ir::ops::shape::ShapeOp;
use mote_ir::{Graph, Node, Op, Tensor, TensorType, ValueId, ValueType};

/// Replaces each node of `g` for which `f` gives new nodes by those nodes; returns how many
/// were replaced.
pub fn rewrite_nodes(g: &mut Graph, mut f: impl FnMut(&mut Graph, &Node) -> Option<Vec<Node>>) -> usize {
    let nodes = std::mem::take(&mut g.nodes);
    let mut out = Vec::with_capacity(nodes.len());
    let mut count = 0;
    for n in nodes {
        match f(g, &n) {
            Some(new) => {
                out.extend(new);
                count += 1;
            }
            None => out.push(n),
        }
    }
    g.nodes = out;
    count
}

/// Static dtype and shape of `v`.
pub fn typed(g: &Graph, v: ValueId) -> Option<(DType, Vec<usize>)> {
    let ValueType::Tensor(t) = &g.value(v).ty else { return None };
    let dims = t.shape.as_ref()?.iter().map(|d| d.known()).collect::<Option<Vec<usize>>>()?;
    Some((t.dtype?, dims))
}

/// Appends nodes to `out`, naming values after the expanded node.
pub struct Builder<'a> {
    pub g: &'a mut Graph,
    pub out: Vec<Node>,
    name: String,
}

impl<'a> Builder<'a> {
    pub fn new(g: &'a mut Graph, name: &str) -> Builder<'a> {
        Builder { g, out: Vec::new(), name: name.to_string() }
    }

    /// A binary element-wise node.
    pub fn binary(&mut self, what: &str, op: Binary, a: ValueId, b: ValueId) -> ValueId {
        self.node(what, Op::Elementwise(ElementwiseOp::Binary(op)), &[a, b])
    }

    /// A node with optional (omitted) inputs.
    pub fn node_opt(&mut self, what: &str, op: Op, inputs: &[Option<ValueId>]) -> ValueId {
        let y = self.value(what);
        self.out.push(Node {
            name: format!("{}/{what}", self.name),
            op,
            inputs: inputs.to_vec(),
            outputs: vec![Some(y)],
        });
        y
    }

    /// Copies `from` into the existing value `y` (an output of the rewritten node).
    pub fn assign(&mut self, from: ValueId, y: ValueId) {
        let name = format!("{}/{}", self.name, self.g.value(y).name);
        self.out.push(Node {
            name,
            op: Op::Shape(ShapeOp::Identity),
            inputs: vec![Some(from)],
            outputs: vec![Some(y)],
        });
    }

    /// The nodes built so far, the last one writing `y` (the rewritten node's output).
    pub fn finish(mut self, last: ValueId, y: ValueId) -> Vec<Node> {
        self.assign(last, y);
        self.out
    }

    pub fn value(&mut self, what: &str) -> ValueId {
        let name = format!("{}/{what}", self.name);
        self.g.add_value(name, ValueType::Tensor(TensorType { dtype: None, shape: None }))
    }

    pub fn konst(&mut self, what: &str, t: Tensor) -> ValueId {
        self.g.add_const(format!("{}/{what}", self.name), t)
    }

    pub fn node(&mut self, what: &str, op: Op, inputs: &[ValueId]) -> ValueId {
        let y = self.value(what);
        self.out.push(Node {
            name: format!("{}/{what}", self.name),
            op,
            inputs: inputs.iter().map(|&v| Some(v)).collect(),
            outputs: vec![Some(y)],
        });
        y
    }

    pub fn cast(&mut self, what: &str, x: ValueId, to: DType) -> ValueId {
        let op = ElementwiseOp::Cast { to, saturate: true, round_mode: RoundMode::default() };
        self.node(what, Op::Elementwise(op), &[x])
    }

    pub fn reshape(&mut self, what: &str, x: ValueId, dims: &[usize]) -> ValueId {
        let shape = Tensor::from_vec(vec![dims.len()], dims.iter().map(|&d| d as i64).collect::<Vec<i64>>())
            .expect("shape vector");
        let s = self.konst(&format!("{what}_shape"), shape);
        self.node(what, Op::Shape(ShapeOp::Reshape { allowzero: false }), &[x, s])
    }

    /// Inlines the one-input, one-output modifier graph `m` applied to `x`.
    pub fn inline(&mut self, what: &str, m: &Graph, x: ValueId) -> Option<ValueId> {
        if m.inputs.len() != 1 || m.outputs.len() != 1 {
            return None;
        }
        let mut map: Vec<Option<ValueId>> = vec![None; m.values.len()];
        map[m.inputs[0].index()] = Some(x);
        for c in &m.outer_refs {
            *map.get_mut(c.inner.index())? = Some(c.outer);
        }
        for (i, v) in m.values.iter().enumerate() {
            if map[i].is_none() {
                let name = format!("{}/{what}/{}", self.name, v.name);
                let id = match &v.init {
                    Some(t) => self.g.add_const(name, t.clone()),
                    None => self.g.add_value(name, ValueType::Tensor(TensorType { dtype: None, shape: None })),
                };
                map[i] = Some(id);
            }
        }
        super::unroll::copy_nodes(&m.nodes, &map, &format!("{}/{what}", self.name), &mut self.out)?;
        map.get(m.outputs[0].index()).copied().flatten()
    }
}
