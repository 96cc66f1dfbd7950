//! Graph evaluation: bind inputs, run nodes in order, free values after their last use.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use mote_ir::{Dim, Graph, Node, Value, ValueType};

use crate::error::EvalError;
use crate::ops::{self, EvalCx, Inputs};

/// Called after every node with the node, its outputs and the time it took.
pub type Observer<'o> = dyn FnMut(&Node, &[Option<Value>], Duration) + 'o;

/// A graph ready to run.
#[derive(Debug)]
pub struct Session<'g> {
    graph: &'g Graph,
    last_use: Vec<Option<usize>>,
}

impl<'g> Session<'g> {
    /// Prepares `graph` for running; fails if it is structurally invalid (see
    /// [`mote_ir::verify::verify`]), so a run never indexes a value that does not exist.
    pub fn new(graph: &'g Graph) -> Result<Session<'g>, EvalError> {
        mote_ir::verify::verify(graph).map_err(|e| EvalError::Invalid(e.to_string()))?;
        Ok(Session { graph, last_use: graph.last_uses() })
    }

    pub fn graph(&self) -> &'g Graph {
        self.graph
    }

    /// Runs with the runtime inputs (graph inputs without initializer), in graph order.
    pub fn run(&self, inputs: Vec<Value>) -> Result<Vec<Value>, EvalError> {
        self.run_observed(inputs, &mut |_, _, _| {})
    }

    /// Runs with inputs given by name; graph inputs with an initializer may be overridden.
    pub fn run_named(&self, inputs: Vec<(String, Value)>) -> Result<Vec<Value>, EvalError> {
        self.run_named_observed(inputs, &mut |_, _, _| {})
    }

    /// [`Session::run_named`], calling `observer` after every node of the main graph.
    pub fn run_named_observed(
        &self,
        inputs: Vec<(String, Value)>,
        observer: &mut Observer<'_>,
    ) -> Result<Vec<Value>, EvalError> {
        let g = self.graph;
        let mut by_name: HashMap<String, Value> = inputs.into_iter().collect();
        let mut bound = Vec::new();
        for &id in &g.inputs {
            let v = g.value(id);
            match by_name.remove(&v.name) {
                Some(x) => bound.push(Some(x)),
                None if v.init.is_some() => bound.push(None),
                None => {
                    return Err(EvalError::MissingInput { name: v.name.clone() });
                }
            }
        }
        if let Some(extra) = by_name.keys().next() {
            let names: Vec<&str> = g.inputs.iter().map(|&i| g.value(i).name.as_str()).collect();
            return Err(EvalError::UnknownInput { name: extra.clone(), expected: names.join(", ") });
        }
        run_graph(g, &self.last_use, Binding::All(bound), &[], observer)
    }

    /// [`Session::run`], calling `observer` after every node.
    pub fn run_observed(&self, inputs: Vec<Value>, observer: &mut Observer<'_>) -> Result<Vec<Value>, EvalError> {
        let want = self.graph.runtime_inputs().len();
        if inputs.len() != want {
            let names: Vec<&str> =
                self.graph.runtime_inputs().iter().map(|&i| self.graph.value(i).name.as_str()).collect();
            return Err(EvalError::InputCount { expected: want, got: inputs.len(), names: names.join(", ") });
        }
        run_graph(self.graph, &self.last_use, Binding::Runtime(inputs), &[], observer)
    }
}

/// How graph inputs are bound.
pub(crate) enum Binding {
    /// Values for the runtime inputs only, in order.
    Runtime(Vec<Value>),
    /// One entry per graph input; `None` uses the initializer.
    All(Vec<Option<Value>>),
}

/// Runs `g`. `outer` holds the values of `g.outer_refs`, in order (subgraphs only).
pub(crate) fn run_graph(
    g: &Graph,
    last_use: &[Option<usize>],
    inputs: Binding,
    outer: &[Value],
    observer: &mut Observer<'_>,
) -> Result<Vec<Value>, EvalError> {
    let mut env: Vec<Option<Value>> = vec![None; g.values.len()];
    for (i, v) in g.values.iter().enumerate() {
        if let Some(t) = &v.init {
            ops::check_extent(t.shape()).map_err(|e| EvalError::Constant { name: v.name.clone(), msg: e.0 })?;
            env[i] = Some(Value::Tensor(t.clone()));
        }
    }
    for (r, v) in g.outer_refs.iter().zip(outer) {
        env[r.inner.index()] = Some(v.clone());
    }
    match inputs {
        Binding::Runtime(values) => {
            let mut symbols = HashMap::new();
            for (id, v) in g.runtime_inputs().into_iter().zip(values) {
                let info = g.value(id);
                check_input(&info.name, &info.ty, &v, &mut symbols)?;
                env[id.index()] = Some(as_declared(&info.ty, v));
            }
        }
        Binding::All(values) => {
            let mut symbols = HashMap::new();
            for (&id, v) in g.inputs.iter().zip(values) {
                if let Some(v) = v {
                    let info = g.value(id);
                    check_input(&info.name, &info.ty, &v, &mut symbols)?;
                    env[id.index()] = Some(as_declared(&info.ty, v));
                }
            }
        }
    }

    for (n, node) in g.nodes.iter().enumerate() {
        let start = Instant::now();
        let values: Vec<Option<&Value>> =
            node.inputs.iter().map(|i| i.and_then(|id| env[id.index()].as_ref())).collect();
        for (k, (id, v)) in node.inputs.iter().zip(&values).enumerate() {
            if let (Some(id), None) = (id, v) {
                return Err(EvalError::Node {
                    node: node.name.clone(),
                    op: node.op.name(),
                    msg: format!("input {k} `{}` has no value", g.value(*id).name),
                });
            }
        }
        let cx = EvalCx { graph: g, env: &env };
        let inputs = Inputs::new(values);
        let outputs = ops::eval(&node.op, &inputs, &cx, node.outputs.len())
            .and_then(|outs| outs.iter().try_for_each(ops::check_value_extent).map(|_| outs))
            .map_err(|e| EvalError::Node { node: node.name.clone(), op: node.op.name(), msg: e.0 })?;
        // Ops may omit trailing outputs that nobody uses.
        let needed = node.outputs.iter().rposition(|o| o.is_some()).map_or(0, |p| p + 1);
        if outputs.len() < needed {
            return Err(EvalError::Node {
                node: node.name.clone(),
                op: node.op.name(),
                msg: format!("produced {} output(s) but {needed} are used", outputs.len()),
            });
        }
        let mut produced: Vec<Option<Value>> = outputs.into_iter().map(Some).collect();
        produced.resize(node.outputs.len(), None);
        observer(node, &produced, start.elapsed());
        for (slot, v) in node.outputs.iter().zip(produced) {
            if let Some(id) = slot {
                env[id.index()] = v;
            }
        }
        // Free what no later node reads.
        for id in node.reads() {
            if last_use.get(id.index()).copied().flatten() == Some(n) && g.value(id).init.is_none() {
                env[id.index()] = None;
            }
        }
    }

    g.outputs
        .iter()
        .map(|&id| env[id.index()].clone().ok_or_else(|| EvalError::Output { name: g.value(id).name.clone() }))
        .collect()
}

/// A plain value bound to an input declared optional becomes a present optional.
fn as_declared(ty: &ValueType, v: Value) -> Value {
    match (ty, v) {
        (ValueType::Optional(_), v @ Value::Optional(_)) => v,
        (ValueType::Optional(_), v) => Value::Optional(Some(Box::new(v))),
        (_, v) => v,
    }
}

/// Checks a caller's input against the declared type; symbolic dims must agree across inputs.
fn check_input(name: &str, ty: &ValueType, v: &Value, symbols: &mut HashMap<String, usize>) -> Result<(), EvalError> {
    let bad = |msg: String| EvalError::InputType { name: name.to_string(), expected: ty.to_string(), msg };
    ops::check_value_extent(v).map_err(|e| bad(e.0))?;
    match (ty, v) {
        (ValueType::Optional(inner), v) if !matches!(v, Value::Optional(_)) => check_input(name, inner, v, symbols),
        (ValueType::Tensor(tt), Value::Tensor(t)) => {
            if let Some(d) = tt.dtype
                && d != t.dtype()
            {
                return Err(bad(format!("got dtype {}", t.dtype())));
            }
            if let Some(shape) = &tt.shape {
                if shape.len() != t.rank() {
                    return Err(bad(format!(
                        "got shape {:?} (rank {}, expected rank {})",
                        t.shape(),
                        t.rank(),
                        shape.len()
                    )));
                }
                for (i, (d, &actual)) in shape.iter().zip(t.shape()).enumerate() {
                    match d {
                        Dim::Known(k) if *k != actual => {
                            return Err(bad(format!(
                                "got shape {:?}: dimension {i} is {actual}, expected {k}",
                                t.shape()
                            )));
                        }
                        Dim::Sym(s) => {
                            let prev = *symbols.entry(s.clone()).or_insert(actual);
                            if prev != actual {
                                return Err(bad(format!(
                                    "got shape {:?}: dimension {i} (`{s}`) is {actual}, but another input set `{s}` = {prev}",
                                    t.shape()
                                )));
                            }
                        }
                        _ => {}
                    }
                }
            }
            Ok(())
        }
        (ValueType::Tensor(_), other) => Err(bad(format!("got a {}", other.kind()))),
        (ValueType::Sequence(_), Value::Sequence(_))
        | (ValueType::Map(..), Value::Map { .. })
        | (ValueType::Optional(_), Value::Optional(_))
        | (ValueType::Unknown, _) => Ok(()),
        (_, other) => Err(bad(format!("got a {}", other.kind()))),
    }
}
