//! Op evaluation, one file per family (same stems as `mote-ir/src/ops/`).
//!
//! Each family exposes `eval(op, inputs, cx, num_outputs) -> Result<Vec<Value>, OpError>`.
//! Kernels check everything they rely on (dtypes, shapes, attribute ranges) and return an
//! [`OpError`] instead of panicking; output sizes go through `Tensor::zeros`/`check_numel`,
//! which refuse absurd allocations.

use mote_ir::tensor::check_numel;
use mote_ir::{DType, Data, Graph, Op, Tensor, Value};

use crate::error::OpError;
use crate::session::{Binding, run_graph};
use crate::{bail, op_err};

pub mod attention;
pub mod control;
pub mod elementwise;
pub mod image;
pub mod loss;
pub mod ml;
pub mod nn;
pub mod optim;
pub mod quant;
pub mod random;
pub mod reduce;
pub mod rnn;
pub mod shape;
pub mod signal;
pub mod text;

#[cfg(test)]
mod randomized;

/// Evaluates one op.
pub fn eval(op: &Op, inputs: &Inputs<'_>, cx: &EvalCx<'_>, num_outputs: usize) -> Result<Vec<Value>, OpError> {
    match op {
        Op::Elementwise(op) => elementwise::eval(op, inputs, cx, num_outputs),
        Op::Reduce(op) => reduce::eval(op, inputs, cx, num_outputs),
        Op::Shape(op) => shape::eval(op, inputs, cx, num_outputs),
        Op::Nn(op) => nn::eval(op, inputs, cx, num_outputs),
        Op::Rnn(op) => rnn::eval(op, inputs, cx, num_outputs),
        Op::Quant(op) => quant::eval(op, inputs, cx, num_outputs),
        Op::Image(op) => image::eval(op, inputs, cx, num_outputs),
        Op::Signal(op) => signal::eval(op, inputs, cx, num_outputs),
        Op::Control(op) => control::eval(op, inputs, cx, num_outputs),
        Op::Loss(op) => loss::eval(op, inputs, cx, num_outputs),
        Op::Attention(op) => attention::eval(op, inputs, cx, num_outputs),
        Op::Ml(op) => ml::eval(op, inputs, cx, num_outputs),
        Op::Text(op) => text::eval(op, inputs, cx, num_outputs),
        Op::Random(op) => random::eval(op, inputs, cx, num_outputs),
        Op::Optim(op) => optim::eval(op, inputs, cx, num_outputs),
    }
}

/// Ops whose results differ between runs; never constant-folded.
pub fn is_nondeterministic(op: &Op) -> bool {
    matches!(op, Op::Random(_))
}

/// The inputs of one node.
#[derive(Debug)]
pub struct Inputs<'a> {
    values: Vec<Option<&'a Value>>,
}

impl<'a> Inputs<'a> {
    pub fn new(values: Vec<Option<&'a Value>>) -> Inputs<'a> {
        Inputs { values }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Input `i`, or `None` if omitted.
    pub fn opt(&self, i: usize) -> Option<&'a Value> {
        self.values.get(i).copied().flatten()
    }

    pub fn value(&self, i: usize) -> Result<&'a Value, OpError> {
        self.opt(i).ok_or_else(|| op_err!("input {i} is required but missing"))
    }

    /// Input `i` as a tensor.
    pub fn tensor(&self, i: usize) -> Result<&'a Tensor, OpError> {
        match self.value(i)? {
            Value::Tensor(t) => Ok(t),
            other => Err(op_err!("input {i} must be a tensor, got a {}", other.kind())),
        }
    }

    /// Optional input `i` as a tensor (`None` if omitted).
    pub fn opt_tensor(&self, i: usize) -> Result<Option<&'a Tensor>, OpError> {
        match self.opt(i) {
            None => Ok(None),
            Some(Value::Tensor(t)) => Ok(Some(t)),
            Some(other) => Err(op_err!("input {i} must be a tensor, got a {}", other.kind())),
        }
    }

    /// All present inputs as tensors.
    pub fn tensors(&self) -> Result<Vec<&'a Tensor>, OpError> {
        (0..self.len()).filter(|&i| self.opt(i).is_some()).map(|i| self.tensor(i)).collect()
    }
}

/// What an op may need beyond its inputs: running subgraphs that capture values of the
/// enclosing graph.
#[derive(Debug)]
pub struct EvalCx<'a> {
    pub(crate) graph: &'a Graph,
    pub(crate) env: &'a [Option<Value>],
}

impl<'a> EvalCx<'a> {
    /// A context for one op evaluated outside a session (e.g. by the training engine): it can
    /// run subgraphs that capture nothing from `graph`.
    pub fn standalone(graph: &'a Graph) -> EvalCx<'a> {
        EvalCx { graph, env: &[] }
    }

    /// Runs subgraph `g` with `inputs` bound to its inputs in order; outer references are read
    /// from the enclosing graph's current values.
    pub fn run_subgraph(&self, g: &Graph, inputs: Vec<Value>) -> Result<Vec<Value>, OpError> {
        if inputs.len() != g.inputs.len() {
            bail!("subgraph `{}` takes {} input(s), got {}", g.name, g.inputs.len(), inputs.len());
        }
        let mut outer = Vec::with_capacity(g.outer_refs.len());
        for r in &g.outer_refs {
            let v = self.env.get(r.outer.index()).and_then(|v| v.clone()).ok_or_else(|| {
                op_err!(
                    "subgraph `{}` reads `{}` of the enclosing graph, which has no value",
                    g.name,
                    self.graph.value(r.outer).name
                )
            })?;
            outer.push(v);
        }
        let last_use = g.last_uses();
        run_graph(g, &last_use, Binding::All(inputs.into_iter().map(Some).collect()), &outer, &mut |_, _, _| {})
            .map_err(|e| op_err!("in subgraph `{}`: {e}", g.name))
    }
}

/// One tensor output.
pub fn one(t: Tensor) -> Result<Vec<Value>, OpError> {
    Ok(vec![Value::Tensor(t)])
}

/// A tensor of `dtype` and `shape` filled with defaults, after the size check.
pub fn alloc(dtype: DType, shape: &[usize]) -> Result<Tensor, OpError> {
    check_extent(shape)?;
    Ok(Tensor::zeros(dtype, shape.to_vec())?)
}

/// The element count of `shape`, after the size check.
pub fn numel(shape: &[usize]) -> Result<usize, OpError> {
    check_extent(shape)?;
    Ok(check_numel(shape)?)
}

/// Checks that the extent of `shape` (the product of its non-zero dims) is within the tensor
/// size limit. Kernels size loops and scratch buffers from single dims, so an empty tensor of
/// shape `[0, 2^40]` must be refused like a full one.
pub fn check_extent(shape: &[usize]) -> Result<(), OpError> {
    check_numel(shape)?;
    Ok(())
}

/// [`check_extent`] for every tensor in `v`.
pub fn check_value_extent(v: &Value) -> Result<(), OpError> {
    match v {
        Value::Tensor(t) => check_extent(t.shape()),
        Value::Sequence(items) => items.iter().try_for_each(check_value_extent),
        Value::Map { keys, values } => check_extent(keys.shape()).and_then(|_| check_extent(values.shape())),
        Value::Optional(v) => v.as_deref().map_or(Ok(()), check_value_extent),
    }
}

/// Normalizes a possibly negative axis against `rank`.
pub fn axis(a: i64, rank: usize) -> Result<usize, OpError> {
    let r = rank as i64;
    let x = if a < 0 { a + r } else { a };
    if x < 0 || x >= r {
        bail!("axis {a} is out of range for rank {rank}");
    }
    Ok(x as usize)
}

/// Converts f16/bf16 tensors to f32 (others are returned unchanged). Half-precision ops compute
/// in f32 and round once at the end, as onnxruntime does for most of them.
pub fn upcast(t: &Tensor) -> Result<Tensor, OpError> {
    match t.data() {
        Data::F16(_) | Data::BF16(_) => Ok(Tensor::from_vec(t.shape().to_vec(), t.to_f32_vec()?)?),
        _ => Ok(t.clone()),
    }
}

/// Casts an f32 result back to `dtype` when that is f16 or bf16 (others unchanged).
pub fn downcast(t: Tensor, dtype: DType) -> Result<Tensor, OpError> {
    match dtype {
        DType::F16 | DType::BF16 if t.dtype() == DType::F32 => Ok(crate::ops::elementwise::cast(&t, dtype)?),
        _ => Ok(t),
    }
}

/// A shape input (1-D int64 tensor) as `i64`s.
pub fn shape_input(t: &Tensor, what: &str) -> Result<Vec<i64>, OpError> {
    if t.rank() > 1 {
        bail!("{what} must be a 1-D tensor, got shape {:?}", t.shape());
    }
    t.to_i64_vec().map_err(|e| op_err!("{what}: {e}"))
}
