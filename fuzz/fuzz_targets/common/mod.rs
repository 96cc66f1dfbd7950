//! The checks every importer's fuzz target runs on a graph it imported.
//!
//! A panic is a bug, and so is a node output that contradicts what static inference claimed
//! about it: declared types of node outputs are dropped before inference so that every claim
//! checked here is the ops' own.

use mote_interp::Session;
use mote_ir::{Dim, Graph, Node, Tensor, Value, ValueType};

/// Inputs bigger than this (elements) are not built: the run would only measure allocation.
const MAX_INPUT_ELEMENTS: usize = 4096;

/// verify -> stats/dump -> inference (also on absurdly enlarged inputs) -> a run on zero inputs
/// with every node output checked against inference.
pub fn check_graph(graph: Graph) {
    let mut g = graph;
    if mote_ir::verify::verify(&g).is_err() {
        return;
    }
    let _ = mote_ir::stats::stats(&g);
    let _ = mote_ir::dump::dump(&g);
    forget_node_types(&mut g);
    // Declared input dims can be absurd: inference and stats must not overflow on them.
    let mut huge = g.clone();
    enlarge_inputs(&mut huge);
    let _ = mote_interp::infer(&mut huge);
    let _ = mote_ir::stats::stats(&huge);
    if mote_interp::infer(&mut g).is_err() {
        return;
    }
    let _ = mote_ir::stats::stats(&g);
    let _ = mote_ir::dump::dump(&g);
    // A mutated trip count can legitimately loop for hours: leave Loop to the unit tests.
    let mut has_loop = false;
    g.walk(&mut |sub| has_loop |= sub.nodes.iter().any(|n| n.op.name() == "Loop"));
    if has_loop {
        return;
    }
    let Some(inputs) = g.runtime_inputs().iter().map(|&id| default_value(&g.value(id).ty)).collect() else {
        return;
    };
    let Ok(session) = Session::new(&g) else { return };
    let result = session.run_observed(inputs, &mut |node: &Node, outputs: &[Option<Value>], _| {
        for (slot, v) in node.outputs.iter().zip(outputs) {
            if let (Some(id), Some(v)) = (slot, v) {
                check_claim(&g.value(*id).ty, v, &node.name, node.op.name());
            }
        }
    });
    if debug() {
        eprintln!("ran: {:?}", result.map(|o| o.len()));
    }
}

/// `MOTE_FUZZ_DEBUG=1` reports how far each input got (to check that runs happen).
fn debug() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("MOTE_FUZZ_DEBUG").is_some())
}

/// Drops the declared types of node outputs (in every subgraph), keeping those of inputs,
/// initializers and outer references, which the interpreter enforces or knows.
fn forget_node_types(g: &mut Graph) {
    let outputs: Vec<usize> = g.nodes.iter().flat_map(|n| n.outputs.iter().flatten().map(|id| id.index())).collect();
    for i in outputs {
        if let Some(v) = g.values.get_mut(i) {
            v.ty = ValueType::Unknown;
        }
    }
    for node in &mut g.nodes {
        for sub in node.op.subgraphs_mut() {
            forget_node_types(sub);
        }
    }
}

/// Multiplies every known dim of the runtime inputs by 2^40 (saturating).
fn enlarge_inputs(g: &mut Graph) {
    for id in g.runtime_inputs() {
        if let ValueType::Tensor(t) = &mut g.value_mut(id).ty
            && let Some(shape) = &mut t.shape
        {
            for d in shape.iter_mut() {
                if let Dim::Known(k) = d {
                    *k = k.saturating_mul(1 << 40);
                }
            }
        }
    }
}

/// A default (zero) value of a declared type, when it is small and fully determined.
fn default_value(ty: &ValueType) -> Option<Value> {
    match ty {
        ValueType::Tensor(tt) => {
            let shape: Vec<usize> = tt
                .shape
                .as_ref()?
                .iter()
                .map(|d| match d {
                    Dim::Known(k) => *k,
                    _ => 1,
                })
                .collect();
            let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
            if n > MAX_INPUT_ELEMENTS || shape.iter().any(|&d| d > MAX_INPUT_ELEMENTS) {
                return None;
            }
            Tensor::zeros(tt.dtype?, shape).ok().map(Value::Tensor)
        }
        ValueType::Sequence(_) => Some(Value::Sequence(Vec::new())),
        ValueType::Optional(_) => Some(Value::Optional(None)),
        _ => None,
    }
}

/// Panics when `v` contradicts what inference claimed (`ty`).
fn check_claim(ty: &ValueType, v: &Value, node: &str, op: &str) {
    let kind_ok = match ty {
        _ if ty.is_unknown() => true,
        ValueType::Tensor(_) => matches!(v, Value::Tensor(_)),
        ValueType::Sequence(_) => matches!(v, Value::Sequence(_)),
        ValueType::Map(..) => matches!(v, Value::Map { .. }),
        ValueType::Optional(_) => matches!(v, Value::Optional(_)),
        ValueType::Unknown => true,
    };
    assert!(kind_ok, "node `{node}` ({op}): inferred {ty}, got a {}", v.kind());
    let (ValueType::Tensor(tt), Value::Tensor(t)) = (ty, v) else { return };
    if let Some(d) = tt.dtype {
        assert_eq!(d, t.dtype(), "node `{node}` ({op}): inferred {ty}, got {t:?}");
    }
    if let Some(s) = &tt.shape {
        let ok = s.len() == t.rank() && s.iter().zip(t.shape()).all(|(d, &a)| d.known().is_none_or(|k| k == a));
        assert!(ok, "node `{node}` ({op}): inferred {ty}, got shape {:?}", t.shape());
    }
}
