//! The graph: values (edges), nodes in topological order, inputs, outputs and initializers.

use std::collections::HashMap;
use std::fmt;

use crate::ops::Op;
use crate::tensor::Tensor;
use crate::types::ValueType;

/// Index of a value in [`Graph::values`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

impl ValueId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Debug for ValueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%{}", self.0)
    }
}

/// Index of a node in [`Graph::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// A value: a named graph edge with its static type, and its data if it is constant.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueInfo {
    pub name: String,
    pub ty: ValueType,
    /// Initializer or constant data. A graph input with an initializer is a default the caller
    /// may override; any other value with data is a constant.
    pub init: Option<Tensor>,
}

/// A node: an op applied to input values, producing output values.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: String,
    pub op: Op,
    /// `None` is an omitted optional input.
    pub inputs: Vec<Option<ValueId>>,
    /// `None` is an optional output nobody asked for.
    pub outputs: Vec<Option<ValueId>>,
}

impl Node {
    /// The input at `i`, if present.
    pub fn input(&self, i: usize) -> Option<ValueId> {
        self.inputs.get(i).copied().flatten()
    }

    /// Every value of the enclosing graph this node reads: its inputs and the outer values its
    /// subgraphs capture.
    pub fn reads(&self) -> Vec<ValueId> {
        let mut v: Vec<ValueId> = self.inputs.iter().flatten().copied().collect();
        for g in self.op.subgraphs() {
            v.extend(g.outer_refs.iter().map(|r| r.outer));
        }
        v
    }
}

/// A subgraph's reference to a value of its enclosing graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OuterRef {
    /// The value inside the subgraph that is bound on entry.
    pub inner: ValueId,
    /// The value of the enclosing graph it is bound from.
    pub outer: ValueId,
}

/// A dataflow graph. Nodes are stored in a topological order; every value is produced at most
/// once (by a node, or as an input, initializer or outer reference).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub name: String,
    pub values: Vec<ValueInfo>,
    pub nodes: Vec<Node>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
    /// Values bound from the enclosing graph (subgraphs only).
    pub outer_refs: Vec<OuterRef>,
    /// Free-form metadata (producer, model version, doc string, ...).
    pub metadata: Vec<(String, String)>,
}

impl Graph {
    pub fn new(name: impl Into<String>) -> Graph {
        Graph { name: name.into(), ..Graph::default() }
    }

    /// Adds a value and returns its id.
    pub fn add_value(&mut self, name: impl Into<String>, ty: ValueType) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.values.push(ValueInfo { name: name.into(), ty, init: None });
        id
    }

    /// Adds a constant value with data.
    pub fn add_const(&mut self, name: impl Into<String>, t: Tensor) -> ValueId {
        let ty = ValueType::Tensor(crate::types::TensorType::concrete(t.dtype(), t.shape()));
        let id = self.add_value(name, ty);
        self.values[id.index()].init = Some(t);
        id
    }

    /// Appends a node.
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<Option<ValueId>>,
        outputs: Vec<Option<ValueId>>,
    ) -> NodeId {
        self.nodes.push(Node { name: name.into(), op, inputs, outputs });
        NodeId(self.nodes.len() as u32 - 1)
    }

    pub fn value(&self, id: ValueId) -> &ValueInfo {
        &self.values[id.index()]
    }

    pub fn value_mut(&mut self, id: ValueId) -> &mut ValueInfo {
        &mut self.values[id.index()]
    }

    /// The graph inputs a caller must feed: inputs that have no initializer.
    pub fn runtime_inputs(&self) -> Vec<ValueId> {
        self.inputs.iter().copied().filter(|&i| self.value(i).init.is_none()).collect()
    }

    /// Constant values that are not graph inputs (weights).
    pub fn constants(&self) -> impl Iterator<Item = (ValueId, &Tensor)> {
        self.values.iter().enumerate().filter_map(|(i, v)| {
            let id = ValueId(i as u32);
            match &v.init {
                Some(t) if !self.inputs.contains(&id) => Some((id, t)),
                _ => None,
            }
        })
    }

    /// The id of the value with this name (first match).
    pub fn find_value(&self, name: &str) -> Option<ValueId> {
        self.values.iter().position(|v| v.name == name).map(|i| ValueId(i as u32))
    }

    /// For each value, the node that produces it.
    pub fn producers(&self) -> HashMap<ValueId, NodeId> {
        let mut m = HashMap::new();
        for (n, node) in self.nodes.iter().enumerate() {
            for o in node.outputs.iter().flatten() {
                m.insert(*o, NodeId(n as u32));
            }
        }
        m
    }

    /// For each value, the index of the last node that reads it (`nodes.len()` for graph outputs).
    pub fn last_uses(&self) -> Vec<Option<usize>> {
        let mut last = vec![None; self.values.len()];
        for (n, node) in self.nodes.iter().enumerate() {
            for v in node.reads() {
                if let Some(slot) = last.get_mut(v.index()) {
                    *slot = Some(n);
                }
            }
        }
        for o in &self.outputs {
            if let Some(slot) = last.get_mut(o.index()) {
                *slot = Some(self.nodes.len());
            }
        }
        last
    }

    /// Visits this graph and every nested subgraph, depth first.
    pub fn walk(&self, f: &mut dyn FnMut(&Graph)) {
        f(self);
        for node in &self.nodes {
            for g in node.op.subgraphs() {
                g.walk(f);
            }
        }
    }
}
