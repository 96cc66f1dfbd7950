//! Constant evaluation for static inference.

use mote_ir::infer::{ConstEval, GraphInferError, KnownValues, infer_graph};
use mote_ir::{Graph, Op, Tensor, Value};

use crate::ops::{self, EvalCx, Inputs};

/// Evaluates ops on constant inputs with the reference kernels.
#[derive(Clone, Copy, Debug, Default)]
pub struct Folder;

impl ConstEval for Folder {
    fn eval(&self, op: &Op, inputs: &[Option<Tensor>], num_outputs: usize) -> Option<Vec<Tensor>> {
        if ops::is_nondeterministic(op) || inputs.iter().flatten().any(|t| ops::check_extent(t.shape()).is_err()) {
            return None;
        }
        let values: Vec<Option<Value>> = inputs.iter().map(|t| t.clone().map(Value::Tensor)).collect();
        let refs: Vec<Option<&Value>> = values.iter().map(|v| v.as_ref()).collect();
        let empty = Graph::default();
        let cx = EvalCx { graph: &empty, env: &[] };
        let out = ops::eval(op, &Inputs::new(refs), &cx, num_outputs).ok()?;
        out.iter().try_for_each(ops::check_value_extent).ok()?;
        out.into_iter().map(Value::into_tensor).collect()
    }
}

/// Infers every value's type in `graph`, folding constant subexpressions with the interpreter.
pub fn infer(graph: &mut Graph) -> Result<KnownValues, GraphInferError> {
    infer_graph(graph, Some(&Folder))
}
