//! Forward evaluation that keeps every value ([`Tape`]), and the reverse walk over it.

use mote_interp::ops::{self, EvalCx, Inputs};
use mote_ir::ops::elementwise::{Binary, ElementwiseOp};
use mote_ir::ops::nn::NnOp;
use mote_ir::{DType, Graph, Op, Tensor, Value, ValueId};

use crate::error::TrainError;
use crate::grad::{self, Aux, Ctx};

/// How BatchNormalization and Dropout behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Inference: running statistics, no dropout.
    Eval,
    /// Training: batch statistics, dropout masks drawn from `seed` (and the node's index).
    Train { seed: u64 },
}

/// Every value of one forward pass (by value index) and what the backward pass needs besides.
#[derive(Clone, Debug)]
pub struct Tape {
    /// Values by `ValueId` index: constants, inputs and node outputs.
    pub values: Vec<Option<Value>>,
    aux: Vec<Option<Aux>>,
}

impl Tape {
    /// The tensor of value `id`, if it has one.
    pub fn tensor(&self, id: ValueId) -> Option<&Tensor> {
        match self.values.get(id.index())? {
            Some(Value::Tensor(t)) => Some(t),
            _ => None,
        }
    }

    /// The batch mean and variance a training-mode BatchNormalization node saw, for updating
    /// its running statistics.
    pub fn batch_stats(&self, node: usize) -> Option<(&[f32], &[f32])> {
        match self.aux.get(node)? {
            Some(Aux::BatchNorm { mean, var, .. }) => Some((mean, var)),
            _ => None,
        }
    }
}

/// The float constants a graph learns: the weights and biases of Conv, ConvTranspose, Gemm and
/// MatMul, BatchNormalization's scale and bias (not its running statistics), PRelu slopes,
/// constant operands of Add/Sub with more than one element (biases), and the float master
/// weights of fake-quantized constants (QuantizeLinear input 0, see `qat`).
pub fn params(g: &Graph) -> Vec<ValueId> {
    let mut out: Vec<ValueId> = Vec::new();
    for n in &g.nodes {
        let slots: &[usize] = match &n.op {
            Op::Nn(NnOp::Conv(_) | NnOp::ConvTranspose(_)) => &[1, 2],
            Op::Nn(NnOp::Gemm { .. }) => &[0, 1, 2],
            Op::Nn(NnOp::MatMul) => &[0, 1],
            Op::Nn(NnOp::BatchNorm { .. }) => &[1, 2],
            Op::Elementwise(ElementwiseOp::Binary(Binary::PRelu)) => &[1],
            Op::Elementwise(ElementwiseOp::Binary(Binary::Add | Binary::Sub)) => &[0, 1],
            Op::Quant(mote_ir::ops::quant::QuantOp::Quantize { .. }) => &[0],
            // W, R, B and the LSTM peepholes.
            Op::Rnn(_) => &[1, 2, 3, 7],
            _ => &[],
        };
        for &k in slots {
            let Some(Some(id)) = n.inputs.get(k) else { continue };
            let Some(t) = &g.value(*id).init else { continue };
            let bias_like = matches!(&n.op, Op::Elementwise(ElementwiseOp::Binary(Binary::Add | Binary::Sub)));
            if t.dtype() == DType::F32 && !(bias_like && t.len() < 2) && !out.contains(id) {
                out.push(*id);
            }
        }
    }
    out
}

/// Evaluates `g` on its runtime `inputs` (in order), keeping every value.
pub fn forward(g: &Graph, inputs: Vec<Value>, mode: Mode) -> Result<Tape, TrainError> {
    let runtime = g.runtime_inputs();
    if inputs.len() != runtime.len() {
        return Err(TrainError::Input(format!("the graph takes {} input(s), got {}", runtime.len(), inputs.len())));
    }
    let mut values: Vec<Option<Value>> = g.values.iter().map(|v| v.init.clone().map(Value::Tensor)).collect();
    for (id, v) in runtime.into_iter().zip(inputs) {
        values[id.index()] = Some(v);
    }
    let mut aux = vec![None; g.nodes.len()];
    // int8 units run in integers, as compiled (`qat::int8`); constant quantizers ran already.
    let mut done = vec![false; g.nodes.len()];
    let units = crate::qat::int8::Units::find(g, &mut values, &mut done).map_err(TrainError::Input)?;
    let cx = EvalCx::standalone(g);
    for (k, n) in g.nodes.iter().enumerate() {
        if done[k] {
            continue;
        }
        let err = |msg: String| TrainError::Forward { node: n.name.clone(), op: n.op.name(), msg };
        if let Some(y) = units.as_ref().and_then(|u| u.run(g, k, &values)) {
            if let Some(Some(id)) = n.outputs.first() {
                values[id.index()] = Some(Value::Tensor(y.map_err(err)?));
            }
            continue;
        }
        let ins: Vec<Option<&Value>> = n.inputs.iter().map(|i| i.and_then(|id| values[id.index()].as_ref())).collect();
        let special = match (&n.op, mode) {
            (Op::Nn(op @ (NnOp::BatchNorm { .. } | NnOp::Dropout { .. })), Mode::Train { seed }) => {
                let tensors: Vec<Option<&Tensor>> = ins.iter().map(|v| v.and_then(as_tensor)).collect();
                let (y, a) = grad::train_forward(op, &tensors, seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
                    .map_err(err)?;
                aux[k] = Some(a);
                Some(vec![Value::Tensor(y)])
            }
            _ => None,
        };
        let outs = match special {
            Some(o) => o,
            None => ops::eval(&n.op, &Inputs::new(ins), &cx, n.outputs.len()).map_err(|e| err(e.0))?,
        };
        for (slot, v) in n.outputs.iter().zip(outs) {
            if let Some(id) = slot {
                values[id.index()] = Some(v);
            }
        }
    }
    Ok(Tape { values, aux })
}

fn as_tensor(v: &Value) -> Option<&Tensor> {
    match v {
        Value::Tensor(t) => Some(t),
        _ => None,
    }
}

/// The gradient of every value, given the gradients of some values (`seeds`, usually the loss's
/// gradient with respect to the graph outputs). A value no seed depends on has `None`.
pub fn backward(g: &Graph, tape: &Tape, seeds: Vec<(ValueId, Vec<f32>)>) -> Result<Vec<Option<Vec<f32>>>, TrainError> {
    let mut grads: Vec<Option<Vec<f32>>> = vec![None; g.values.len()];
    for (id, gy) in seeds {
        let n = tape.tensor(id).map_or(0, Tensor::len);
        if gy.len() != n {
            return Err(TrainError::Input(format!(
                "the gradient of `{}` has {} values, the value has {n}",
                g.value(id).name,
                gy.len()
            )));
        }
        accumulate(&mut grads[id.index()], gy);
    }
    for (k, n) in g.nodes.iter().enumerate().rev() {
        let gy: Vec<Option<Vec<f32>>> = n.outputs.iter().map(|o| o.and_then(|id| grads[id.index()].take())).collect();
        if gy.iter().all(Option::is_none) {
            continue;
        }
        let cx = Ctx {
            ins: n.inputs.iter().map(|i| i.and_then(|id| tape.tensor(id))).collect(),
            outs: n.outputs.iter().map(|o| o.and_then(|id| tape.tensor(id))).collect(),
            aux: tape.aux[k].as_ref(),
        };
        let gx = grad::backward(&n.op, &cx, &gy).map_err(|msg| TrainError::NotDifferentiable {
            node: n.name.clone(),
            op: n.op.name(),
            msg,
        })?;
        for (slot, gx) in n.inputs.iter().zip(gx) {
            if let (Some(id), Some(gx)) = (slot, gx) {
                accumulate(&mut grads[id.index()], gx);
            }
        }
        // Keep the outputs' gradients readable after the walk.
        for (slot, gy) in n.outputs.iter().zip(gy) {
            if let (Some(id), Some(gy)) = (slot, gy) {
                grads[id.index()] = Some(gy);
            }
        }
    }
    Ok(grads)
}

fn accumulate(slot: &mut Option<Vec<f32>>, g: Vec<f32>) {
    match slot {
        Some(acc) => acc.iter_mut().zip(&g).for_each(|(a, b)| *a += b),
        None => *slot = Some(g),
    }
}
