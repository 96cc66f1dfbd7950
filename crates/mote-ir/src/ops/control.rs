//! Control flow (`If`, `Loop`, `Scan`, `SequenceMap`) and container ops (sequences, optionals).
//!
//! Bodies are [`Graph`]s that may read values of the enclosing graph through `outer_refs`.

use mote_core::DType;

use crate::graph::Graph;
use crate::infer::{InferCx, InferError, merge};
use crate::ops::OpFamily;
use crate::types::{Dim, TensorType, ValueType};

/// Control-flow and container ops.
#[derive(Clone, Debug, PartialEq)]
pub enum ControlOp {
    /// `If(cond)`: runs one branch; both branches produce the node's outputs.
    If {
        then_branch: Box<Graph>,
        else_branch: Box<Graph>,
    },
    /// `Loop(M?, cond?, v...)`: body inputs `(iter, cond, v...)`, body outputs
    /// `(cond, v..., scan...)`; node outputs are the final `v...` then the stacked `scan...`.
    Loop {
        body: Box<Graph>,
    },
    /// `Scan` (opset 9+ semantics unless `batch_axis_v8`).
    Scan(ScanAttrs),
    /// Applies `body` to every position of its sequence inputs (tensors are broadcast).
    SequenceMap {
        body: Box<Graph>,
    },
    SequenceEmpty {
        dtype: DType,
    },
    SequenceConstruct,
    /// `SequenceInsert(seq, tensor, position?)`.
    SequenceInsert,
    /// `SequenceAt(seq, position)`.
    SequenceAt,
    /// `SequenceErase(seq, position?)`.
    SequenceErase,
    SequenceLength,
    /// `SplitToSequence(x, split?)`.
    SplitToSequence {
        axis: i64,
        keepdims: bool,
    },
    ConcatFromSequence {
        axis: i64,
        new_axis: bool,
    },
    /// `Optional(x?)`; without an input, an empty optional of `elem`.
    Optional {
        elem: Option<ValueType>,
    },
    OptionalHasElement,
    OptionalGetElement,
}

/// Attributes of `Scan`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanAttrs {
    pub body: Box<Graph>,
    pub num_scan_inputs: usize,
    /// Per scan input: the axis scanned (negative counts from the end).
    pub input_axes: Vec<i64>,
    /// Per scan input: true to scan in reverse.
    pub input_reverse: Vec<bool>,
    /// Per scan output: the axis the per-iteration values are stacked on.
    pub output_axes: Vec<i64>,
    /// Per scan output: true to stack in reverse order.
    pub output_reverse: Vec<bool>,
    /// Scan-8: the first input is `sequence_lens` and every tensor has a leading batch axis.
    pub batch_axis_v8: bool,
}

impl OpFamily for ControlOp {
    fn name(&self) -> &'static str {
        match self {
            ControlOp::If { .. } => "If",
            ControlOp::Loop { .. } => "Loop",
            ControlOp::Scan(_) => "Scan",
            ControlOp::SequenceMap { .. } => "SequenceMap",
            ControlOp::SequenceEmpty { .. } => "SequenceEmpty",
            ControlOp::SequenceConstruct => "SequenceConstruct",
            ControlOp::SequenceInsert => "SequenceInsert",
            ControlOp::SequenceAt => "SequenceAt",
            ControlOp::SequenceErase => "SequenceErase",
            ControlOp::SequenceLength => "SequenceLength",
            ControlOp::SplitToSequence { .. } => "SplitToSequence",
            ControlOp::ConcatFromSequence { .. } => "ConcatFromSequence",
            ControlOp::Optional { .. } => "Optional",
            ControlOp::OptionalHasElement => "OptionalHasElement",
            ControlOp::OptionalGetElement => "OptionalGetElement",
        }
    }

    fn infer(&self, cx: &InferCx<'_>) -> Result<Vec<ValueType>, InferError> {
        let seq_elem = |i: usize| match cx.opt(i).map(|f| &f.ty) {
            Some(ValueType::Sequence(e)) => (**e).clone(),
            _ => ValueType::Unknown,
        };
        Ok(match self {
            ControlOp::If { then_branch, else_branch } => {
                let out = |g: &Graph, k: usize| g.outputs.get(k).map(|&o| g.value(o).ty.clone()).unwrap_or_default();
                (0..cx.num_outputs)
                    .map(|k| {
                        let (a, b) = (out(then_branch, k), out(else_branch, k));
                        // The condition decides a shape when the branches differ or give
                        // sequences or optionals (whose structure the compiled path fixes);
                        // asking for its data marks it so. Otherwise it may stay a run-time value.
                        let tensors = matches!(a, ValueType::Tensor(_));
                        let cond = if a == b && tensors { None } else { cx.value(0) };
                        match cond.and_then(|t| t.to_i64_vec().ok()).and_then(|v| v.first().copied()) {
                            Some(c) => {
                                if c != 0 {
                                    a
                                } else {
                                    b
                                }
                            }
                            None => join(&a, &b),
                        }
                    })
                    .collect()
            }
            ControlOp::Loop { body } => {
                // The trip count and the initial condition decide how many iterations run: the
                // length of the scan outputs, and the compiled path's unrolled steps.
                let _ = (cx.value(0), cx.value(1));
                let n_carried = cx.len().saturating_sub(2);
                let mut v = Vec::with_capacity(cx.num_outputs);
                for k in 0..cx.num_outputs {
                    let from_body = body.outputs.get(k + 1).map(|&o| body.value(o).ty.clone()).unwrap_or_default();
                    if k < n_carried {
                        let init = cx.opt(k + 2).map(|f| f.ty.clone()).unwrap_or_default();
                        v.push(join(&init, &from_body));
                    } else {
                        v.push(stacked(&from_body, 0));
                    }
                }
                v
            }
            // Scan-8 adds a batch axis to every value: leave its outputs to the run.
            ControlOp::Scan(s) if s.batch_axis_v8 => cx.unknown(),
            ControlOp::Scan(s) => {
                let n_state = cx.len().saturating_sub(s.num_scan_inputs);
                let body = &s.body;
                (0..cx.num_outputs)
                    .map(|k| {
                        let from_body = body.outputs.get(k).map(|&o| body.value(o).ty.clone()).unwrap_or_default();
                        if k < n_state {
                            // Zero iterations return the initial state.
                            let init = cx.opt(k).map(|f| f.ty.clone()).unwrap_or_default();
                            join(&init, &from_body)
                        } else {
                            let axis = s.output_axes.get(k - n_state).copied().unwrap_or(0);
                            stacked(&from_body, axis)
                        }
                    })
                    .collect()
            }
            ControlOp::SequenceMap { body } => {
                body.outputs.iter().map(|&o| ValueType::Sequence(Box::new(body.value(o).ty.clone()))).collect()
            }
            ControlOp::SequenceEmpty { dtype } => {
                vec![ValueType::Sequence(Box::new(ValueType::Tensor(TensorType::of_dtype(*dtype))))]
            }
            ControlOp::SequenceConstruct => {
                let mut t = cx.opt(0).map(|f| f.ty.clone()).unwrap_or_default();
                for i in 1..cx.len() {
                    t = join(&t, &cx.opt(i).map(|f| f.ty.clone()).unwrap_or_default());
                }
                vec![ValueType::Sequence(Box::new(t))]
            }
            ControlOp::SequenceInsert => {
                // Positions and split sizes are structural: they decide which tensor is where.
                let _ = cx.value(2);
                let t = join(&seq_elem(0), &cx.opt(1).map(|f| f.ty.clone()).unwrap_or_default());
                vec![ValueType::Sequence(Box::new(t))]
            }
            ControlOp::SequenceErase => {
                let _ = cx.value(1);
                vec![ValueType::Sequence(Box::new(seq_elem(0)))]
            }
            ControlOp::SequenceAt => {
                let _ = cx.value(1);
                vec![seq_elem(0)]
            }
            ControlOp::SequenceLength => vec![ValueType::tensor(DType::I64, vec![])],
            ControlOp::SplitToSequence { .. } => {
                let _ = cx.value(1);
                let elem = ValueType::Tensor(TensorType { dtype: cx.dtype(0), shape: None });
                vec![ValueType::Sequence(Box::new(elem))]
            }
            ControlOp::ConcatFromSequence { .. } => {
                let dtype = seq_elem(0).as_tensor().and_then(|t| t.dtype);
                vec![ValueType::Tensor(TensorType { dtype, shape: None })]
            }
            ControlOp::Optional { elem } => {
                let inner = match cx.opt(0) {
                    Some(f) => f.ty.clone(),
                    None => elem.clone().unwrap_or_default(),
                };
                vec![ValueType::Optional(Box::new(inner))]
            }
            ControlOp::OptionalHasElement => vec![ValueType::tensor(DType::Bool, vec![])],
            ControlOp::OptionalGetElement => vec![match cx.opt(0).map(|f| &f.ty) {
                Some(ValueType::Optional(e)) => (**e).clone(),
                Some(other) => other.clone(),
                None => ValueType::Unknown,
            }],
        })
    }

    fn subgraphs(&self) -> Vec<&Graph> {
        match self {
            ControlOp::If { then_branch, else_branch } => vec![then_branch, else_branch],
            ControlOp::Loop { body } | ControlOp::SequenceMap { body } => vec![body],
            ControlOp::Scan(s) => vec![&s.body],
            _ => Vec::new(),
        }
    }

    fn subgraphs_mut(&mut self) -> Vec<&mut Graph> {
        match self {
            ControlOp::If { then_branch, else_branch } => vec![then_branch, else_branch],
            ControlOp::Loop { body } | ControlOp::SequenceMap { body } => vec![body],
            ControlOp::Scan(s) => vec![&mut s.body],
            _ => Vec::new(),
        }
    }

    fn describe(&self) -> String {
        match self {
            ControlOp::Scan(s) => format!(
                "{{ num_scan_inputs: {}, input_axes: {:?}, output_axes: {:?} }}",
                s.num_scan_inputs, s.input_axes, s.output_axes
            ),
            ControlOp::If { .. } | ControlOp::Loop { .. } | ControlOp::SequenceMap { .. } => String::new(),
            other => {
                let s = format!("{other:?}");
                s.find('{').map(|i| s[i..].to_string()).unwrap_or_default()
            }
        }
    }
}

/// The type two alternatives share: what both agree on, unknown where they differ.
fn join(a: &ValueType, b: &ValueType) -> ValueType {
    match (a, b) {
        (ValueType::Unknown, _) | (_, ValueType::Unknown) => ValueType::Unknown,
        (ValueType::Tensor(x), ValueType::Tensor(y)) => {
            let dtype = if x.dtype == y.dtype { x.dtype } else { None };
            let shape = match (&x.shape, &y.shape) {
                (Some(p), Some(q)) if p.len() == q.len() => {
                    Some(p.iter().zip(q).map(|(u, v)| if u == v { u.clone() } else { Dim::Unknown }).collect())
                }
                _ => None,
            };
            ValueType::Tensor(TensorType { dtype, shape })
        }
        (x, y) => merge(x, y).ok().filter(|m| m == x && m == y).unwrap_or(ValueType::Unknown),
    }
}

/// The type of per-iteration values of type `t` stacked along a new `axis` of unknown length.
fn stacked(t: &ValueType, axis: i64) -> ValueType {
    match t {
        ValueType::Tensor(tt) => {
            let shape = tt.shape.as_ref().and_then(|s| {
                let r = s.len() as i64 + 1;
                let a = if axis < 0 { axis + r } else { axis };
                (0..r).contains(&a).then(|| {
                    let mut v = s.clone();
                    v.insert(a as usize, Dim::Unknown);
                    v
                })
            });
            ValueType::Tensor(TensorType { dtype: tt.dtype, shape })
        }
        _ => ValueType::Unknown,
    }
}
